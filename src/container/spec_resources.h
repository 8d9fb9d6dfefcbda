#pragma once
// Cgroup settings and devices of a container's or infra container's spec: linux.resources (cpu,
// memory, hugepage limits, unified, pids and the device cgroup rules), linux.devices and
// linux.cgroupsPath. CpuResourcesJson (spec_builder.h) is defined here too.

#include "container/spec_internal.h"

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace crio::container::spec_internal {

// linux.resources for the CRI resources: cpu (CpuResourcesJson), memory {limit, swap} (swap =
// limit, i.e. no swap, unless the request grants some; left out where swap is not accounted),
// hugepageLimits (where the hugetlb controller exists) and unified. Unset fields are left out.
// InvalidArgument: memory limit below 12 MiB, swap limit below the memory limit, unified on
// cgroup v1.
StatusOr<nlohmann::json> ResourcesJson(const runtime::v1::LinuxContainerResources& r,
                                       bool cgroup_v2, const HostInfo& host);

// The device cgroup of a non-privileged container: deny everything, then allow mknod and the
// standard nodes (null, zero, full, random, urandom, tty, console, ptmx, pts).
nlohmann::json DefaultDeviceRules();

// Adds a container's linux.resources (with crio.conf pids_limit and the device rules),
// linux.devices (the CRI devices; for a privileged container every host device too) and
// linux.cgroupsPath. InvalidArgument: ResourcesJson's errors; a CRI device without host_path or
// container_path, with permissions other than r, w, m, whose host path is missing or not a
// device.
Status AddContainerResources(const ContainerContext& ctx, nlohmann::json& spec);

// The infra container's: cpu shares 2 (and crio.conf infra_ctr_cpuset), the default device rules,
// no devices, linux.cgroupsPath.
void AddSandboxResources(const SandboxContext& ctx, nlohmann::json& spec);

}  // namespace crio::container::spec_internal
