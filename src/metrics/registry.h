#pragma once
// A small Prometheus client: metric families with labels, rendered in the text exposition
// format 0.0.4. Recording is lock-free once a child is looked up: a child is an atomic, and
// its address is stable, so hot paths may keep the reference WithLabels returns. Families
// sort their children by label values and the registry sorts families by name, so the output
// is stable from scrape to scrape.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crio::metrics {

enum class MetricType { kCounter, kGauge, kHistogram, kSummary };

// One exposed line: `name{labels} value`.
struct Sample {
  std::string name;  // the family name plus a suffix such as "_bucket"
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// What one family exposes at a scrape.
struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<Sample> samples;
};

// A double that threads add to without a lock (a CAS loop on its bits).
class AtomicDouble {
 public:
  double Load() const { return std::bit_cast<double>(bits_.load(std::memory_order_relaxed)); }
  void Store(double v) { bits_.store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed); }
  void Add(double delta) {
    uint64_t old = bits_.load(std::memory_order_relaxed);
    while (!bits_.compare_exchange_weak(old,
                                        std::bit_cast<uint64_t>(std::bit_cast<double>(old) + delta),
                                        std::memory_order_relaxed)) {
    }
  }

 private:
  std::atomic<uint64_t> bits_{0};  // the bits of 0.0
};

class Counter {
 public:
  // `delta` must not be negative: a counter only goes up.
  void Inc(double delta = 1) { value_.Add(delta); }
  double Value() const { return value_.Load(); }

 private:
  AtomicDouble value_;
};

class Gauge {
 public:
  void Set(double v) { value_.Store(v); }
  void Add(double delta) { value_.Add(delta); }
  void Inc() { value_.Add(1); }
  void Dec() { value_.Add(-1); }
  double Value() const { return value_.Load(); }

 private:
  AtomicDouble value_;
};

// Observations counted in fixed buckets (upper bounds, ascending; +Inf is implicit).
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
    double sum = 0;
  };
  Snapshot Take() const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  // Per bucket, not cumulative, so an observation touches one counter. The count is their
  // total, which keeps +Inf and _count equal even while observations race a scrape.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  AtomicDouble sum_;
};

// Sum and count only: what CRI-O's summaries are mostly read for (rate(sum)/rate(count)),
// without the cost of streaming quantiles.
class Summary {
 public:
  void Observe(double v) {
    sum_.Add(v);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  double Sum() const { return sum_.Load(); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }

 private:
  AtomicDouble sum_;
  std::atomic<uint64_t> count_{0};
};

// Orders label-value lists, and lets a list of string_views find a key without allocating.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// Anything the registry renders.
class Collectable {
 public:
  virtual ~Collectable() = default;
  virtual void Collect(std::vector<FamilySnapshot>& out) const = 0;
};

class FamilyBase : public Collectable {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  // Aborts when `values` does not have one value per label name (a programming error).
  void CheckArity(std::size_t values) const;
  std::vector<std::pair<std::string, std::string>> Labels(
      const std::vector<std::string>& values) const;

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// The children of one metric, one per distinct list of label values.
template <typename T>
class Family : public FamilyBase {
 public:
  using MakeChild = std::function<std::unique_ptr<T>()>;
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         MakeChild make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        make_(std::move(make)) {}

  // The child for `values` (one per label name, in order), created on first use. The reference
  // stays valid until Remove or Clear drops that child, or the family goes away.
  T& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  T& WithLabels(std::span<const std::string_view> values) {
    CheckArity(values.size());
    {
      std::shared_lock lock(mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto [it, inserted] =
        children_.try_emplace(std::vector<std::string>(values.begin(), values.end()), nullptr);
    if (inserted) it->second = make_();
    return *it->second;
  }
  // Runs `fn(child)` for the child of `values` (created on first use) while the child cannot
  // be removed: the form to use on families that Remove or Clear series.
  template <typename Fn>
  void Apply(std::initializer_list<std::string_view> values, Fn&& fn) {
    std::span<const std::string_view> key(values.begin(), values.size());
    CheckArity(key.size());
    for (;;) {
      {
        std::shared_lock lock(mu_);
        auto it = children_.find(key);
        if (it != children_.end()) {
          fn(*it->second);
          return;
        }
      }
      WithLabels(key);  // creates it; look again under the shared lock
    }
  }
  // Drops one child (its series leaves the output). References to it become invalid.
  void Remove(std::initializer_list<std::string_view> values) {
    std::unique_lock lock(mu_);
    auto it = children_.find(std::span<const std::string_view>(values.begin(), values.size()));
    if (it != children_.end()) children_.erase(it);
  }
  // Drops every child. References to them become invalid.
  void Clear() {
    std::unique_lock lock(mu_);
    children_.clear();
  }
  std::size_t size() const {
    std::shared_lock lock(mu_);
    return children_.size();
  }

  void Collect(std::vector<FamilySnapshot>& out) const override;

 private:
  MakeChild make_;
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, LabelValuesLess> children_;
};

// Defined per child type in registry.cc.
template <>
void Family<Counter>::Collect(std::vector<FamilySnapshot>& out) const;
template <>
void Family<Gauge>::Collect(std::vector<FamilySnapshot>& out) const;
template <>
void Family<Histogram>::Collect(std::vector<FamilySnapshot>& out) const;
template <>
void Family<Summary>::Collect(std::vector<FamilySnapshot>& out) const;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;
using SummaryFamily = Family<Summary>;

// Computes its families at scrape time (process metrics, counts read from /proc).
using CollectFn = std::function<void(std::vector<FamilySnapshot>& out)>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names and label names must be valid Prometheus names and unique in the registry; breaking
  // that is a programming error and aborts. The returned family lives as long as the registry.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                std::vector<std::string> label_names = {});
  SummaryFamily& AddSummary(std::string name, std::string help,
                            std::vector<std::string> label_names = {});

  // A label-less gauge or counter whose value `fn` computes at each scrape.
  void AddGaugeFunc(std::string name, std::string help, std::function<double()> fn);
  void AddCounterFunc(std::string name, std::string help, std::function<double()> fn);
  // Families computed together at each scrape; the names they emit must not clash with others.
  void AddCollector(CollectFn fn);

  // Every family, sorted by name, in the text exposition format 0.0.4.
  std::string Render() const;

 private:
  template <typename F>
  F& Add(std::unique_ptr<F> family);
  void Reserve(const std::string& name);

  mutable std::mutex mu_;
  std::vector<std::string> names_;  // registered family names, to catch duplicates
  std::vector<std::unique_ptr<Collectable>> collectables_;
};

// The process-wide registry the daemon serves. Never destroyed, so threads may still record
// while the process exits.
Registry& DefaultRegistry();

// The text-format spelling of a sample value or bucket bound: integers without exponent or
// fraction ("3", "1000000"), other numbers in their shortest round-trip form ("0.25",
// "1.5e-05"), and "+Inf", "-Inf", "NaN".
std::string FormatValue(double v);
// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// Renders `families` (already sorted) in the text format.
std::string RenderText(const std::vector<FamilySnapshot>& families);

}  // namespace crio::metrics
