#pragma once
// Container and pod usage for the CRI stats and metrics RPCs.
//
// Cgroup counters are cheap (a few small reads per container) and are read per request, or by a
// background refresh every `stats_collection_period` seconds when that is set (CRI-O's option:
// 0 means on demand). Writable layers are expensive to measure (a tree walk), so they are never
// walked in the request path: a background thread measures each container's layer when it is
// first seen and then every `layer_interval`, and requests read the last measurement.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cgroups/cgroup_manager.h"
#include "util/status.h"

namespace crio::stats {

// One cgroup's counters at `timestamp_ns` (unix), with the CPU rate since the previous sample.
struct CgroupSample {
  cgroups::CgroupStats counters;
  unsigned parts = cgroups::kAllStats;  // which counters were read (cgroups::StatsParts)
  int64_t timestamp_ns = 0;
  std::optional<uint64_t> usage_nano_cores;
};

struct LayerUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
  int64_t timestamp_ns = 0;
};

// One line of /proc/<pid>/net/dev.
struct InterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

// Parses the text of /proc/<pid>/net/dev (two header lines, then "name: 16 counters"). Pure.
std::vector<InterfaceCounters> ParseNetDev(std::string_view text);

// The interfaces of a network namespace from its net/dev file: /proc/<pid>/net/dev of any
// process inside it, or /proc/thread-self/net/dev on a thread that joined it. No `ip` binary.
// Loopback is left out.
StatusOr<std::vector<InterfaceCounters>> ReadInterfaces(const std::string& net_dev_path);

// The CPU rate between two cumulative readings, in nanoseconds of CPU per second (nano cores).
// nullopt when time did not move forward or the counter went back (a restarted container).
std::optional<uint64_t> NanoCores(uint64_t cpu_before_ns, int64_t t_before_ns,
                                  uint64_t cpu_after_ns, int64_t t_after_ns);

using LayerMeasure = std::function<StatusOr<LayerUsage>(const std::string& dir)>;
using WallClock = std::function<int64_t()>;  // unix ns

struct CollectorOptions {
  // 0: cgroups are read per request. >0: a background refresh this often, requests read it.
  std::chrono::seconds collection_period{0};
  std::chrono::seconds layer_interval{10};
  LayerMeasure measure_layer;  // default: storage::MeasureTree-like walk supplied by the daemon
  WallClock now;               // default: system_clock
};

// A cgroup to sample: `key` names it (a container or pod id), `started_ns` is when the workload
// started (for the CPU rate of the first sample: the average since the start).
struct CgroupTarget {
  std::string key;
  std::string cgroup_path;
  int64_t started_ns = 0;
  unsigned parts = cgroups::kAllStats;  // the counters the caller needs (cgroups::StatsParts)
};

class Collector {
 public:
  Collector(cgroups::CgroupManager* cgroups, CollectorOptions options);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Samples of `targets`, in order; a cgroup that cannot be read (gone, or not created yet)
  // gives nullopt. Reads the cgroups now, or returns the background refresh's samples.
  std::vector<std::optional<CgroupSample>> Sample(const std::vector<CgroupTarget>& targets);

  // The last measurement of container `id`'s writable layer `dir`, or nullopt before the first
  // one. A container seen for the first time is queued for measurement.
  std::optional<LayerUsage> WritableLayer(const std::string& id, const std::string& dir);

  // Forgets the keys starting with `prefix` that are not in `live` (the ids a List* request
  // without a filter saw), so removed containers and pods do not accumulate.
  void Retain(std::string_view prefix, const std::set<std::string>& live);

 private:
  CgroupSample SampleOne(const CgroupTarget& target, const cgroups::CgroupStats& counters,
                         int64_t now_ns);
  std::optional<CgroupSample> ReadOne(const CgroupTarget& target, int64_t now_ns);
  // ReadOne of targets[i] into out[i] for each i in `which`, on two threads for large batches.
  void ReadAll(const std::vector<CgroupTarget>& targets, const std::vector<size_t>& which,
               int64_t now_ns, std::vector<std::optional<CgroupSample>>& out);
  void RefreshAll();
  void Background();
  void MeasureDueLayers();

  struct LayerEntry {
    std::string dir;
    std::optional<LayerUsage> usage;
    std::chrono::steady_clock::time_point due;
  };

  cgroups::CgroupManager* cgroups_;
  CollectorOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                         // guarded by mu_
  std::map<std::string, CgroupSample> previous_;  // guarded by mu_: last sample per key
  std::map<std::string, LayerEntry> layers_;      // guarded by mu_
  // With a collection period: every target a request asked for, refreshed in the background.
  std::map<std::string, CgroupTarget> refresh_targets_;  // guarded by mu_
  std::map<std::string, CgroupSample> refreshed_;        // guarded by mu_: the background's samples
  std::jthread thread_;                                  // last: joined before the members go
};

}  // namespace crio::stats
