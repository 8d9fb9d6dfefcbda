#include "metrics/registry.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace crio::metrics {
namespace {

bool IsNameChar(char c, bool first, bool allow_colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  bool digit = c >= '0' && c <= '9';
  return alpha || (!first && digit) || (allow_colon && c == ':');
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, the same without ':' for label names.
bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
  }
  return "untyped";
}

// A family whose single label-less value a callback computes at scrape time.
class FuncMetric : public Collectable {
 public:
  FuncMetric(std::string name, std::string help, MetricType type, std::function<double()> fn)
      : name_(std::move(name)), help_(std::move(help)), type_(type), fn_(std::move(fn)) {}
  void Collect(std::vector<FamilySnapshot>& out) const override {
    out.push_back({.name = name_, .help = help_, .type = type_, .samples = {{name_, {}, fn_()}}});
  }

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::function<double()> fn_;
};

class CollectorAdapter : public Collectable {
 public:
  explicit CollectorAdapter(CollectFn fn) : fn_(std::move(fn)) {}
  void Collect(std::vector<FamilySnapshot>& out) const override { fn_(out); }

 private:
  CollectFn fn_;
};

void AppendLabels(std::string& out,
                  const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, labels[i].first, "=\"", EscapeLabelValue(labels[i].second), "\"");
  }
  out += '}';
}

}  // namespace

// ---- Histogram ----

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Observe(double v) {
  // Few buckets: a linear scan beats a binary search's branches. Bounds are inclusive (le).
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.Add(v);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot snap;
  snap.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snap.cumulative.push_back(total);
  }
  snap.sum = sum_.Load();
  return snap;
}

// ---- Families ----

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  CRIO_CHECK(IsValidName(name_, /*allow_colon=*/true), name_);
  for (const std::string& label : label_names_) {
    CRIO_CHECK(IsValidName(label, /*allow_colon=*/false) && !label.starts_with("__"), label);
    CRIO_CHECK(type_ != MetricType::kHistogram || label != "le", name_);
  }
}

void FamilyBase::CheckArity(std::size_t values) const {
  CRIO_CHECK(values == label_names_.size(), absl::StrCat(name_, ": wrong number of label values"));
}

std::vector<std::pair<std::string, std::string>> FamilyBase::Labels(
    const std::vector<std::string>& values) const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(values.size() + 1);
  for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(label_names_[i], values[i]);
  return out;
}

template <>
void Family<Counter>::Collect(std::vector<FamilySnapshot>& out) const {
  FamilySnapshot& snap = out.emplace_back(FamilySnapshot{name_, help_, type_, {}});
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    snap.samples.push_back({name_, Labels(values), child->Value()});
  }
}

template <>
void Family<Gauge>::Collect(std::vector<FamilySnapshot>& out) const {
  FamilySnapshot& snap = out.emplace_back(FamilySnapshot{name_, help_, type_, {}});
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    snap.samples.push_back({name_, Labels(values), child->Value()});
  }
}

template <>
void Family<Histogram>::Collect(std::vector<FamilySnapshot>& out) const {
  FamilySnapshot& snap = out.emplace_back(FamilySnapshot{name_, help_, type_, {}});
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    Histogram::Snapshot h = child->Take();
    std::span<const double> bounds = child->bounds();
    for (std::size_t i = 0; i < h.cumulative.size(); ++i) {
      auto labels = Labels(values);
      double le = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
      labels.emplace_back("le", FormatValue(le));
      snap.samples.push_back(
          {name_ + "_bucket", std::move(labels), static_cast<double>(h.cumulative[i])});
    }
    snap.samples.push_back({name_ + "_sum", Labels(values), h.sum});
    snap.samples.push_back(
        {name_ + "_count", Labels(values), static_cast<double>(h.cumulative.back())});
  }
}

template <>
void Family<Summary>::Collect(std::vector<FamilySnapshot>& out) const {
  FamilySnapshot& snap = out.emplace_back(FamilySnapshot{name_, help_, type_, {}});
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) {
    snap.samples.push_back({name_ + "_sum", Labels(values), child->Sum()});
    snap.samples.push_back({name_ + "_count", Labels(values), static_cast<double>(child->Count())});
  }
}

// ---- Registry ----

void Registry::Reserve(const std::string& name) {
  CRIO_CHECK(std::find(names_.begin(), names_.end(), name) == names_.end(),
             absl::StrCat("metric registered twice: ", name));
  names_.push_back(name);
}

template <typename F>
F& Registry::Add(std::unique_ptr<F> family) {
  std::lock_guard lock(mu_);
  Reserve(family->name());
  F& ref = *family;
  collectables_.push_back(std::move(family));
  return ref;
}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  return Add(std::make_unique<CounterFamily>(std::move(name), std::move(help), MetricType::kCounter,
                                             std::move(label_names),
                                             [] { return std::make_unique<Counter>(); }));
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names) {
  return Add(std::make_unique<GaugeFamily>(std::move(name), std::move(help), MetricType::kGauge,
                                           std::move(label_names),
                                           [] { return std::make_unique<Gauge>(); }));
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<double> bounds,
                                        std::vector<std::string> label_names) {
  CRIO_CHECK(std::is_sorted(bounds.begin(), bounds.end()) &&
                 std::adjacent_find(bounds.begin(), bounds.end()) == bounds.end(),
             absl::StrCat(name, ": bucket bounds must ascend"));
  if (!bounds.empty() && std::isinf(bounds.back())) bounds.pop_back();  // +Inf is implicit
  auto shared_bounds = std::make_shared<const std::vector<double>>(std::move(bounds));
  return Add(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names),
      [shared_bounds] { return std::make_unique<Histogram>(*shared_bounds); }));
}

SummaryFamily& Registry::AddSummary(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  return Add(std::make_unique<SummaryFamily>(std::move(name), std::move(help), MetricType::kSummary,
                                             std::move(label_names),
                                             [] { return std::make_unique<Summary>(); }));
}

void Registry::AddGaugeFunc(std::string name, std::string help, std::function<double()> fn) {
  CRIO_CHECK(IsValidName(name, /*allow_colon=*/true), name);
  std::lock_guard lock(mu_);
  Reserve(name);
  collectables_.push_back(std::make_unique<FuncMetric>(std::move(name), std::move(help),
                                                       MetricType::kGauge, std::move(fn)));
}

void Registry::AddCounterFunc(std::string name, std::string help, std::function<double()> fn) {
  CRIO_CHECK(IsValidName(name, /*allow_colon=*/true), name);
  std::lock_guard lock(mu_);
  Reserve(name);
  collectables_.push_back(std::make_unique<FuncMetric>(std::move(name), std::move(help),
                                                       MetricType::kCounter, std::move(fn)));
}

void Registry::AddCollector(CollectFn fn) {
  std::lock_guard lock(mu_);
  collectables_.push_back(std::make_unique<CollectorAdapter>(std::move(fn)));
}

std::string Registry::Render() const {
  std::vector<FamilySnapshot> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(collectables_.size());
    for (const auto& c : collectables_) c->Collect(families);
  }
  std::stable_sort(
      families.begin(), families.end(),
      [](const FamilySnapshot& a, const FamilySnapshot& b) { return a.name < b.name; });
  return RenderText(families);
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

// ---- Text format ----

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integral values below 2^53 are exact: print them as integers (byte counts stay readable).
  constexpr double kExactLimit = 9007199254740992.0;
  if (v == std::trunc(v) && std::fabs(v) < kExactLimit) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, end);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderText(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const FamilySnapshot& family : families) {
    if (family.samples.empty()) continue;  // as Prometheus clients do: no series, no family
    absl::StrAppend(&out, "# HELP ", family.name, " ", EscapeHelp(family.help), "\n");
    absl::StrAppend(&out, "# TYPE ", family.name, " ", TypeName(family.type), "\n");
    for (const Sample& sample : family.samples) {
      out += sample.name;
      AppendLabels(out, sample.labels);
      absl::StrAppend(&out, " ", FormatValue(sample.value), "\n");
    }
  }
  return out;
}

}  // namespace crio::metrics
