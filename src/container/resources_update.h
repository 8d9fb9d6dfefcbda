#pragma once
// CRI LinuxContainerResources -> OCI runtime-spec `linux.resources` for UpdateContainerResources
// (`runc|crun update --resources`), with the request's values checked first so a bad value is
// refused by name instead of half-applied by the runtime.

#include <nlohmann/json.hpp>
#include <string_view>

#include "api.pb.h"
#include "util/status.h"

namespace crio::container {

// Host facts the update depends on (see HostInfo in spec_builder.h).
struct UpdateHost {
  bool cgroup_v2 = false;
  bool memory_swap = true;  // the memory cgroup accounts swap
  bool hugetlb = true;      // the hugetlb controller is available
};

// Lowest memory limit accepted, as at creation (CRI-O's minimum).
inline constexpr int64_t kMinUpdateMemoryLimit = 12 * 1024 * 1024;

// Checks every field of `r`. InvalidArgument naming the field for: negative cpu_period,
// cpu_shares or memory_limit_in_bytes; cpu_quota below -1; a memory limit under 12 MiB;
// memory_swap_limit_in_bytes below -1 or below a set memory limit; cpuset_cpus/cpuset_mems that
// are not CPU lists ("0-3,5"); a hugepage page size that is not <number><KB|MB|GB>; unified
// keys that are not "<controller>.<file>" names; unified on cgroup v1.
Status ValidateUpdateResources(const runtime::v1::LinuxContainerResources& r, bool cgroup_v2);
// The same, with messages naming fields as "<prefix>.<field>" instead of "linux.<field>".
Status ValidateUpdateResources(const runtime::v1::LinuxContainerResources& r, bool cgroup_v2,
                               std::string_view prefix);

// ValidateUpdateResources, then the OCI LinuxResources object: cpu {shares, quota, period, cpus,
// mems}, memory {limit, swap} (swap = limit, i.e. no swap, unless the request grants some; left
// out where swap is not accounted), hugepageLimits (when hugetlb is available) and unified.
// Zero/empty CRI fields are "unset" and left out, so the runtime keeps the current value.
StatusOr<nlohmann::json> UpdateResourcesJson(const runtime::v1::LinuxContainerResources& r,
                                             const UpdateHost& host);

// The container's resources after an update, for ContainerStatus: the request's values, with
// oom_score_adj (not updatable) kept from `current`.
runtime::v1::LinuxContainerResources MergedResources(
    const runtime::v1::LinuxContainerResources& current,
    const runtime::v1::LinuxContainerResources& update);

}  // namespace crio::container
