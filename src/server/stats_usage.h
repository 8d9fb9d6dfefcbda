#pragma once
// What the stats and pod metrics RPCs report, measured once per request: each container's
// cgroup sample and writable layer, each pod's cgroup (or the sum of its containers when pods
// share a parent cgroup) and network interfaces.

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api.pb.h"
#include "server/service_context.h"
#include "stats/collector.h"

namespace crio::server {

namespace v1 = ::runtime::v1;

struct ContainerUsage {
  state::ContainerState container;
  std::optional<stats::CgroupSample> cgroup;  // nullopt when not running
  std::optional<stats::LayerUsage> layer;     // nullopt until first measured
};

struct PodUsage {
  state::PodState pod;
  std::vector<ContainerUsage> containers;
  std::optional<stats::CgroupSample> cgroup;
  std::optional<std::vector<stats::InterfaceCounters>> interfaces;  // nullopt: host network
};

// Collector keys: containers and pods share the collector's maps.
inline std::string ContainerKey(const std::string& id) { return "ctr:" + id; }
inline std::string PodKey(const std::string& id) { return "pod:" + id; }

// What a request reports, so only the cgroup files it needs are read.
enum class UsagePurpose {
  kCriStats,    // ContainerStats / PodSandboxStats: no OOM kills; process counts for pods only
  kPodMetrics,  // ListPodSandboxMetrics: every counter
};

class StatsUsage {
 public:
  explicit StatsUsage(ServiceContext& ctx, UsagePurpose purpose = UsagePurpose::kCriStats);

  std::vector<ContainerUsage> Containers(std::vector<state::ContainerState> containers);
  std::vector<PodUsage> Pods(const std::vector<state::PodState>& pods);
  // Forgets the collector's state for containers and pods not among `usages` (call after a
  // List request without a filter, which saw every one).
  void RetainOnly(const std::vector<ContainerUsage>& usages);
  void RetainOnly(const std::vector<PodUsage>& usages);

  void FillContainerStats(const ContainerUsage& usage, v1::ContainerStats* out);
  void FillPodStats(const PodUsage& usage, v1::PodSandboxStats* out);

 private:
  std::optional<std::vector<stats::InterfaceCounters>> PodInterfaces(const PodUsage& usage);
  const std::string& ContainerFsMountpoint();

  // The cgroup counters to read (cgroups::StatsParts) for a container, a pod, and a container
  // whose pod's counters are summed from its containers.
  unsigned ContainerParts() const;
  unsigned PodParts() const;
  std::vector<ContainerUsage> Measure(std::vector<state::ContainerState> containers,
                                      const std::set<std::string>& summed_pods);

  ServiceContext& ctx_;
  UsagePurpose purpose_;
  std::string mountpoint_;
};

}  // namespace crio::server
