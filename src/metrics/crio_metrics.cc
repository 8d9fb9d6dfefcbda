#include "metrics/crio_metrics.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "os/file.h"
#include "util/log.h"

namespace crio::metrics {
namespace {

// CRI-O's image_pulls_layer_size buckets, in bytes (decimal units).
const std::vector<double> kLayerSizeBuckets = {1e3, 1e6, 1e7, 5e7, 1e8, 2e8,
                                               3e8, 4e8, 5e8, 1e9, 1e10};

std::string FullName(std::string_view collector) {
  return absl::StrCat(std::string(kCrioPrefix), std::string(collector));
}

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The collectors `requested` selects, without prefixes and duplicates; all when empty.
std::vector<std::string> SelectCollectors(const std::vector<std::string>& requested) {
  std::vector<std::string> out;
  if (requested.empty()) {
    for (std::string_view name : config::MetricsCollectorNames()) out.emplace_back(name);
    return out;
  }
  for (const std::string& name : requested) {
    std::string stripped(config::StripMetricsCollectorPrefix(name));
    if (std::find(out.begin(), out.end(), stripped) == out.end()) out.push_back(stripped);
  }
  return out;
}

// /proc/<pid>/stat is one line of about 300 bytes.
constexpr std::size_t kMaxStatSize = 64 << 10;

std::string_view FirstLine(std::string_view text) { return text.substr(0, text.find('\n')); }

// The process state letter of a /proc/<pid>/stat text, or 0. comm (field 2) may contain spaces
// and parentheses, so the state is found after the last ')'.
char StateFromStat(std::string_view stat) {
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

bool IsPid(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Status CrioMetrics::Configure(Registry& registry, const CrioMetricsOptions& options) {
  RETURN_IF_ERROR(
      Annotate(config::ValidateMetricsCollectors(options.collectors), "metrics_collectors"));
  std::lock_guard lock(configure_mu_);
  if (configured()) return FailedPrecondition("CRI-O metrics are already configured");
  std::vector<std::string> enabled = SelectCollectors(options.collectors);
  auto on = [&enabled](std::string_view name) {
    return std::find(enabled.begin(), enabled.end(), name) != enabled.end();
  };
  constexpr auto kRelease = std::memory_order_release;
  const std::vector<std::string> kOperation = {"operation"};
  const std::vector<std::string> kName = {"name"};

  if (on("operations_total")) {
    operations_total_.store(
        &registry.AddCounter(FullName("operations_total"),
                             "Cumulative number of CRI-O operations by operation type.",
                             kOperation),
        kRelease);
  }
  if (on("operations_latency_seconds")) {
    operations_latency_.store(
        &registry.AddGauge(FullName("operations_latency_seconds"),
                           "Latency in seconds of individual CRI calls for CRI-O operations. "
                           "Broken down by operation type.",
                           kOperation),
        kRelease);
  }
  if (on("operations_latency_seconds_total")) {
    operations_latency_total_.store(
        &registry.AddSummary(FullName("operations_latency_seconds_total"),
                             "Latency in seconds of CRI-O operations. Broken down by operation "
                             "type.",
                             kOperation),
        kRelease);
  }
  if (on("operations_errors_total")) {
    operations_errors_.store(
        &registry.AddCounter(FullName("operations_errors_total"),
                             "Cumulative number of CRI-O operation errors by operation type.",
                             kOperation),
        kRelease);
  }
  if (on("image_pulls_bytes_total")) {
    image_pulls_bytes_.store(
        &registry.AddCounter(FullName("image_pulls_bytes_total"),
                             "Bytes transferred by CRI-O image pulls", {"mediatype", "size"}),
        kRelease);
  }
  if (on("image_pulls_skipped_bytes_total")) {
    image_pulls_skipped_bytes_.store(
        &registry.AddCounter(FullName("image_pulls_skipped_bytes_total"),
                             "Bytes skipped by CRI-O image pulls", {"size"}),
        kRelease);
  }
  if (on("image_pulls_layer_size")) {
    image_pulls_layer_size_.store(
        &registry
             .AddHistogram(FullName("image_pulls_layer_size"),
                           "Bytes transferred by CRI-O image pulls per layer", kLayerSizeBuckets)
             .WithLabels({}),
        kRelease);
  }
  if (on("image_pulls_success_total")) {
    image_pulls_success_.store(&registry
                                    .AddCounter(FullName("image_pulls_success_total"),
                                                "Cumulative number of CRI-O image pull successes.")
                                    .WithLabels({}),
                               kRelease);
  }
  if (on("image_pulls_failure_total")) {
    image_pulls_failure_.store(
        &registry.AddCounter(FullName("image_pulls_failure_total"),
                             "Cumulative number of CRI-O image pull failures by error.", {"error"}),
        kRelease);
  }
  if (on("image_layer_reuse_total")) {
    image_layer_reuse_.store(
        &registry.AddCounter(FullName("image_layer_reuse_total"),
                             "Reused (not pulled) local image layer count by name", kName),
        kRelease);
  }
  if (on("containers_events_dropped_total")) {
    events_dropped_.store(&registry
                               .AddCounter(FullName("containers_events_dropped_total"),
                                           "Amount of container events dropped")
                               .WithLabels({}),
                          kRelease);
  }
  if (on("containers_oom_total")) {
    oom_total_.store(&registry
                          .AddCounter(FullName("containers_oom_total"),
                                      "Amount of containers killed because they ran out of "
                                      "memory (OOM)")
                          .WithLabels({}),
                     kRelease);
  }
  if (on("containers_oom_count_total")) {
    oom_count_.store(&registry.AddCounter(FullName("containers_oom_count_total"),
                                          "Amount of containers killed because they ran out of "
                                          "memory (OOM) by their name",
                                          kName),
                     kRelease);
  }
  if (on("containers_seccomp_notifier_count_total")) {
    seccomp_notifier_.store(
        &registry.AddCounter(FullName("containers_seccomp_notifier_count_total"),
                             "Number of forbidden syscalls by syscall and container name",
                             {"name", "syscall"}),
        kRelease);
  }
  if (on("processes_defunct")) {
    registry.AddGaugeFunc(FullName("processes_defunct"),
                          "Total number of defunct processes in the node",
                          [root = options.proc_root]() -> double {
                            StatusOr<int> count = CountDefunctProcesses(root);
                            if (!count.ok()) {
                              CRIO_LOG_WARN("processes_defunct: {}", count.status().ToString());
                              return 0;
                            }
                            return *count;
                          });
  }
  if (on("resources_stalled_at_stage")) {
    stalled_at_stage_.store(
        &registry.AddCounter(FullName("resources_stalled_at_stage"),
                             "Resource creation stage pod or container is stalled at.", {"stage"}),
        kRelease);
  }
  if (on("containers_stopped_monitor_count")) {
    stopped_monitor_.store(
        &registry.AddCounter(FullName("containers_stopped_monitor_count"),
                             "Amount of containers whose monitor process stopped, by name", kName),
        kRelease);
  }
  if (on("default_runtime")) {
    GaugeFamily& family = registry.AddGauge(
        FullName("default_runtime"), "Default container runtime configured in CRI-O", {"runtime"});
    if (!options.default_runtime.empty()) family.WithLabels({options.default_runtime}).Set(1);
    default_runtime_.store(&family, kRelease);
  }
  enabled_ = std::move(enabled);
  configured_.store(true, kRelease);
  return absl::OkStatus();
}

bool CrioMetrics::Enabled(std::string_view name) const {
  if (!configured()) return false;
  std::string_view stripped = config::StripMetricsCollectorPrefix(name);
  return std::find(enabled_.begin(), enabled_.end(), stripped) != enabled_.end();
}

void CrioMetrics::RecordOperation(std::string_view operation, std::chrono::nanoseconds latency,
                                  bool failed) {
  if (CounterFamily* f = Load(operations_total_)) {
    f->Apply({operation}, [](Counter& c) { c.Inc(); });
  }
  if (GaugeFamily* f = Load(operations_latency_)) {
    f->Apply({operation}, [&](Gauge& g) { g.Set(Seconds(latency)); });
  }
  RecordLatency(operation, latency);
  if (!failed) return;
  if (CounterFamily* f = Load(operations_errors_)) {
    f->Apply({operation}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::RecordLatency(std::string_view stage, std::chrono::nanoseconds latency) {
  if (SummaryFamily* f = Load(operations_latency_total_)) {
    f->Apply({stage}, [&](Summary& s) { s.Observe(Seconds(latency)); });
  }
}

void CrioMetrics::RecordImagePullBytes(std::string_view media_type, uint64_t layer_size,
                                       uint64_t bytes) {
  if (CounterFamily* f = Load(image_pulls_bytes_)) {
    f->Apply({media_type, SizeBucket(layer_size)},
             [&](Counter& c) { c.Inc(static_cast<double>(bytes)); });
  }
}

void CrioMetrics::RecordImagePullSkippedBytes(uint64_t bytes) {
  if (CounterFamily* f = Load(image_pulls_skipped_bytes_)) {
    f->Apply({SizeBucket(bytes)}, [&](Counter& c) { c.Inc(static_cast<double>(bytes)); });
  }
}

void CrioMetrics::RecordImagePullLayerSize(uint64_t bytes) {
  if (Histogram* h = Load(image_pulls_layer_size_)) h->Observe(static_cast<double>(bytes));
}

void CrioMetrics::RecordImagePullSuccess() {
  if (Counter* c = Load(image_pulls_success_)) c->Inc();
}

void CrioMetrics::RecordImagePullFailure(std::string_view error) {
  if (CounterFamily* f = Load(image_pulls_failure_)) {
    f->Apply({error}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::RecordImageLayerReuse(std::string_view layer) {
  if (CounterFamily* f = Load(image_layer_reuse_)) {
    f->Apply({layer}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::RecordEventDropped() {
  if (Counter* c = Load(events_dropped_)) c->Inc();
}

void CrioMetrics::RecordOom(std::string_view container_name) {
  if (Counter* c = Load(oom_total_)) c->Inc();
  if (CounterFamily* f = Load(oom_count_)) {
    f->Apply({container_name}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::ForgetOom(std::string_view container_name) {
  if (CounterFamily* f = Load(oom_count_)) f->Remove({container_name});
}

void CrioMetrics::RecordSeccompNotification(std::string_view container_name,
                                            std::string_view syscall) {
  if (CounterFamily* f = Load(seccomp_notifier_)) {
    f->Apply({container_name, syscall}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::RecordStalledAtStage(std::string_view stage) {
  if (CounterFamily* f = Load(stalled_at_stage_)) {
    f->Apply({stage}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::RecordStoppedMonitor(std::string_view container_name) {
  if (CounterFamily* f = Load(stopped_monitor_)) {
    f->Apply({container_name}, [](Counter& c) { c.Inc(); });
  }
}

void CrioMetrics::SetDefaultRuntime(std::string_view runtime) {
  GaugeFamily* f = Load(default_runtime_);
  if (f == nullptr) return;
  std::lock_guard lock(configure_mu_);
  f->Clear();
  f->WithLabels({runtime}).Set(1);
}

CrioMetrics& Crio() {
  static CrioMetrics* instance = new CrioMetrics();
  return *instance;
}

std::string_view SizeBucket(uint64_t bytes) {
  struct Bucket {
    uint64_t above;
    std::string_view label;
  };
  static constexpr Bucket kBuckets[] = {
      {10'000'000'000, ">10 GiB"}, {1'000'000'000, ">1 GiB"}, {500'000'000, ">500 MiB"},
      {400'000'000, ">400 MiB"},   {300'000'000, ">300 MiB"}, {200'000'000, ">200 MiB"},
      {100'000'000, ">100 MiB"},   {50'000'000, ">50 MiB"},   {10'000'000, ">10 MiB"},
      {1'000'000, ">1 MiB"},       {1'000, ">1 KiB"},
  };
  for (const Bucket& bucket : kBuckets) {
    if (bytes > bucket.above) return bucket.label;
  }
  return ">0 B";
}

std::string_view PullFailureLabel(const Status& status) {
  if (absl::StrContains(status.message(), "connection refused")) return "CONNECTION_REFUSED";
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return "NOT_FOUND";
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return "UNAUTHORIZED";
    case absl::StatusCode::kResourceExhausted:
      return "TOOMANYREQUESTS";
    case absl::StatusCode::kDeadlineExceeded:
      return "CONNECTION_TIMEOUT";
    case absl::StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case absl::StatusCode::kUnimplemented:
      return "UNSUPPORTED";
    default:
      return "UNKNOWN";
  }
}

StatusOr<int> CountDefunctProcesses(const std::string& proc_root) {
  std::error_code ec;
  std::filesystem::directory_iterator it(proc_root, ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("read ", proc_root));
  int zombies = 0;
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::filesystem::directory_entry& entry = *it;
    std::string name = entry.path().filename().string();
    if (!IsPid(name)) continue;
    StatusOr<std::string> stat = os::ReadSmallFile((entry.path() / "stat").string(), kMaxStatSize);
    if (!stat.ok()) continue;  // exited meanwhile
    if (StateFromStat(FirstLine(*stat)) == 'Z') ++zombies;
  }
  return zombies;
}

}  // namespace crio::metrics
