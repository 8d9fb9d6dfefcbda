#pragma once
// `mounts` of a container's or infra container's spec: the standard /proc, /dev and /sys mounts,
// /dev/shm, the pod's /etc files, crio.conf read_only scratch tmpfs, the CRI mounts (with their
// propagation and linux.rootfsPropagation) and image volumes. PrepareRootfs and
// ImageVolumeSource (spec_builder.h) are defined here too.

#include "container/spec_internal.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "container/spec_namespaces.h"
#include "util/status.h"

namespace crio::container::spec_internal {

// A mount of the host's mount table.
struct HostMount {
  std::string mount_point;
  std::string tags;  // optional fields, e.g. "shared:1 master:2"
};

// The mount holding `path` in a /proc/<pid>/mountinfo text: the longest mount point that is
// `path` or a parent of it; among equal ones the last (it covers the others). nullopt when no
// line parses.
std::optional<HostMount> MountHolding(const std::string& mountinfo, const std::string& path);

// Sets a container's `mounts`, in CRI-O's order: standard mounts, /dev/shm, pod files and
// read_only scratch (each dropped when a CRI mount takes its place), then the CRI mounts and
// "bind" image volumes, parents before children. Sets linux.rootfsPropagation when a CRI mount
// propagates. InvalidArgument: a CRI mount without container_path or host_path, a bad
// recursive read-only mount, a missing source listed in absent_mount_sources_to_reject, a
// propagation the host mount cannot give. Unimplemented: image volume mounts.
Status AddContainerMounts(const ContainerContext& ctx, const NamespacePlan& plan,
                          nlohmann::json& spec);

// The infra container's mounts: the standard ones, /dev/shm, and the pod's /etc/resolv.conf
// and /etc/hostname read-only.
nlohmann::json SandboxMounts(const PodResources& pod, const NamespacePlan& plan);

}  // namespace crio::container::spec_internal
