#pragma once
// Security settings of a container's or infra container's spec: process.capabilities,
// process.noNewPrivileges, process.apparmorProfile, linux.maskedPaths, linux.readonlyPaths and
// linux.seccomp.

#include "container/spec_internal.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::container::spec_internal {

// A container's capabilities as numbers (CAP_CHOWN = 0), following CRI-O SpecSetupCapabilities:
// "ALL" in add starts from every capability and "ALL" in drop from none (drop wins over add, but
// explicitly added capabilities survive both); without either `defaults` are the start. Then
// individual adds, then individual drops. Names are case-insensitive, "CAP_" optional.
// InvalidArgument: an unknown name, or an add outside HostInfo::bounding_caps.
StatusOr<std::set<int>> ContainerCaps(const runtime::v1::Capability& caps,
                                      const std::vector<std::string>& defaults,
                                      const HostInfo& host);

// "CAP_..." names of `caps`, in number order.
std::vector<std::string> CapabilityNames(const std::set<int>& caps);

// Adds a container's security settings to `spec` (process and linux objects). Privileged
// containers get every capability the daemon has, no masked or read-only paths, no AppArmor
// profile and no seccomp unless privileged_seccomp_profile is set. InvalidArgument: capability
// errors (ContainerCaps), an unknown legacy profile name, a Localhost AppArmor profile without a
// name, a Localhost seccomp profile that is not absolute, missing or invalid. Other codes from
// reading crio.conf seccomp_profile / privileged_seccomp_profile.
Status AddContainerSecurity(const ContainerContext& ctx, nlohmann::json& spec);

// The same for the infra container: default capabilities, noNewPrivileges, the default masked
// and read-only paths, and the pod's AppArmor and seccomp profiles.
Status AddSandboxSecurity(const SandboxContext& ctx, nlohmann::json& spec);

}  // namespace crio::container::spec_internal
