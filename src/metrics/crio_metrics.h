#pragma once
// CRI-O's own metrics (server/metrics in CRI-O), exposed as container_runtime_crio_<name>.
// Each collector of [crio.metrics] metrics_collectors is one metric; only the selected ones are
// registered, and recording into a collector that is not is a single atomic load. Code anywhere
// in the daemon records through metrics::Crio(), which does nothing until the daemon configures
// it, so unit tests and tools that never configure metrics pay nothing.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.h"
#include "util/status.h"

namespace crio::metrics {

inline constexpr std::string_view kCrioPrefix = "container_runtime_crio_";

struct CrioMetricsOptions {
  // metrics_collectors: names with or without "crio_" / "container_runtime_crio_"; empty: all.
  std::vector<std::string> collectors;
  std::string default_runtime;      // for default_runtime{runtime}; empty: not set yet
  std::string proc_root = "/proc";  // where processes_defunct counts zombies
};

class CrioMetrics {
 public:
  CrioMetrics() = default;
  CrioMetrics(const CrioMetrics&) = delete;
  CrioMetrics& operator=(const CrioMetrics&) = delete;

  // Registers the selected collectors in `registry`, which must outlive this object. Once only.
  // Errors: InvalidArgument naming an unknown collector (nothing is registered then);
  // FailedPrecondition when already configured.
  Status Configure(Registry& registry, const CrioMetricsOptions& options);
  bool configured() const { return configured_.load(std::memory_order_acquire); }
  // Whether the collector `name` (with or without prefix) is registered.
  bool Enabled(std::string_view name) const;

  // Whether any operations_* collector is registered (RecordOperation does something).
  bool RecordsOperations() const {
    return Load(operations_total_) || Load(operations_latency_) ||
           Load(operations_latency_total_) || Load(operations_errors_);
  }

  // One CRI call: operations_total, operations_latency_seconds (the last latency),
  // operations_latency_seconds_total, and operations_errors_total when `failed`.
  void RecordOperation(std::string_view operation, std::chrono::nanoseconds latency, bool failed);
  // A latency that is part of an operation, into operations_latency_seconds_total only (CRI-O
  // records "network_setup_pod" and "network_setup_overall" this way).
  void RecordLatency(std::string_view stage, std::chrono::nanoseconds latency);

  // `bytes` of a layer (blob) of `media_type` transferred; `layer_size` picks the size bucket.
  void RecordImagePullBytes(std::string_view media_type, uint64_t layer_size, uint64_t bytes);
  // Bytes an image pull did not transfer because the layer was present.
  void RecordImagePullSkippedBytes(uint64_t bytes);
  // The size of one pulled layer (image_pulls_layer_size histogram).
  void RecordImagePullLayerSize(uint64_t bytes);
  void RecordImagePullSuccess();
  // `error` is one of CRI-O's labels (UNKNOWN, NOT_FOUND, UNAUTHORIZED, ...): PullFailureLabel.
  void RecordImagePullFailure(std::string_view error);
  // A layer reused from local storage instead of pulled.
  void RecordImageLayerReuse(std::string_view layer);

  void RecordEventDropped();
  // containers_oom_total and containers_oom_count_total{name}.
  void RecordOom(std::string_view container_name);
  // Drops the container's containers_oom_count_total series (as CRI-O does on removal).
  void ForgetOom(std::string_view container_name);
  void RecordSeccompNotification(std::string_view container_name, std::string_view syscall);
  // A pod or container creation the kubelet gave up on, at `stage` (resources_stalled_at_stage).
  void RecordStalledAtStage(std::string_view stage);
  // A container whose monitor (conmon) is gone while the container was thought running.
  void RecordStoppedMonitor(std::string_view container_name);
  // default_runtime{runtime} = 1 for `runtime` only (called again after a reload).
  void SetDefaultRuntime(std::string_view runtime);

 private:
  template <typename F>
  static F* Load(const std::atomic<F*>& family) {
    return family.load(std::memory_order_acquire);
  }

  std::atomic<bool> configured_{false};
  std::mutex configure_mu_;           // serialises Configure and SetDefaultRuntime
  std::vector<std::string> enabled_;  // stripped names, set once before configured_
  std::atomic<CounterFamily*> operations_total_{nullptr};
  std::atomic<GaugeFamily*> operations_latency_{nullptr};
  std::atomic<SummaryFamily*> operations_latency_total_{nullptr};
  std::atomic<CounterFamily*> operations_errors_{nullptr};
  std::atomic<CounterFamily*> image_pulls_bytes_{nullptr};
  std::atomic<CounterFamily*> image_pulls_skipped_bytes_{nullptr};
  std::atomic<Histogram*> image_pulls_layer_size_{nullptr};  // label-less: the child
  std::atomic<Counter*> image_pulls_success_{nullptr};
  std::atomic<CounterFamily*> image_pulls_failure_{nullptr};
  std::atomic<CounterFamily*> image_layer_reuse_{nullptr};
  std::atomic<Counter*> events_dropped_{nullptr};
  std::atomic<Counter*> oom_total_{nullptr};
  std::atomic<CounterFamily*> oom_count_{nullptr};
  std::atomic<CounterFamily*> seccomp_notifier_{nullptr};
  std::atomic<CounterFamily*> stalled_at_stage_{nullptr};
  std::atomic<CounterFamily*> stopped_monitor_{nullptr};
  std::atomic<GaugeFamily*> default_runtime_{nullptr};
};

// The daemon-wide instance; a no-op until Configure. Never destroyed.
CrioMetrics& Crio();

// CRI-O's size bucket label for a layer of `bytes`: ">10 GiB", ">1 GiB", ">500 MiB", ...,
// ">1 MiB", ">1 KiB", ">0 B" (decimal thresholds, as CRI-O).
std::string_view SizeBucket(uint64_t bytes);

// CRI-O's image_pulls_failure_total label for a pull error: NOT_FOUND, UNAUTHORIZED,
// TOOMANYREQUESTS, CONNECTION_TIMEOUT, UNAVAILABLE, UNSUPPORTED or UNKNOWN.
std::string_view PullFailureLabel(const Status& status);

// Zombie (state Z) processes listed in `proc_root` (CRI-O's processes_defunct counts the
// node's). Processes that vanish while counted are skipped.
// Errors: the directory cannot be read.
StatusOr<int> CountDefunctProcesses(const std::string& proc_root = "/proc");

}  // namespace crio::metrics
