#pragma once
// Small file and clock helpers shared by the lifecycle translation units.
#include <cstdint>
#include <string>

#include "container/spec_builder.h"
#include "crio_state.pb.h"
#include "util/status.h"

namespace crio::lifecycle::internal {

// Nanoseconds since the Unix epoch, as CRI timestamps are.
int64_t NowNs();
// The whole file, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);
// mkdir -p. Internal on failure.
Status MakeDirs(const std::string& path);
// rm -rf; OK when absent. Internal on failure.
Status RemoveAll(const std::string& path);
// Whether /sys/fs/cgroup is the unified (v2) hierarchy.
bool IsCgroupV2();
// What the spec builder needs of a pod: its pinned namespaces, pod files, /dev/shm, shared PID
// namespace and host namespace modes. hostname and cgroup_parent are left to the caller.
container::PodResources PodResourcesOf(const state::PodState& pod);

}  // namespace crio::lifecycle::internal
