#pragma once
// Namespaces of a container's or infra container's spec: linux.namespaces, the hostname (only
// with a UTS namespace of its own), the pod's sysctls (linux.sysctl, valid only in the pod's
// namespaces) and the user-namespace check.

#include "container/spec_internal.h"

#include <nlohmann/json.hpp>
#include <string>

#include "util/status.h"

namespace crio::container::spec_internal {

// Which namespaces the process shares with the host or joins. Mounts depend on it too (the
// host's /dev/shm and /etc/hosts).
struct NamespacePlan {
  std::string pid;       // path when joining
  bool pid_new = false;  // new private namespace
  bool host_net = false;
  bool host_ipc = false;
  bool host_uts = false;
};

// linux.namespaces for `plan`: pid (if any), network, ipc and uts unless the host's, joined by
// the pod's pinned paths or new when empty; always a new mount namespace, and a new cgroup
// namespace when `cgroupns`.
nlohmann::json NamespacesJson(const PodResources& pod, const NamespacePlan& plan, bool cgroupns);

// FailedPrecondition when the pod or the container (`ctr_ns`, may be null) asks for a user
// namespace: not supported yet.
Status CheckUserns(const runtime::v1::PodSandboxConfig& sandbox,
                   const runtime::v1::NamespaceOption* ctr_ns);

// A container's plan: host network/IPC from the pod or the request, UTS follows the host network
// unless the pod pinned one; pid per the request's mode (NODE: none, TARGET: the target's, POD:
// the pod's shared one or, without it, a private one, CONTAINER: private).
// InvalidArgument: pid mode TARGET without SpecInputs::target_pidns_path.
StatusOr<NamespacePlan> ContainerNamespacePlan(const ContainerContext& ctx);

// Adds linux.namespaces, hostname and linux.sysctl for a container and returns its plan. Errors:
// ContainerNamespacePlan's, and PodSysctls' for the pod's sysctls.
StatusOr<NamespacePlan> AddContainerNamespaces(const ContainerContext& ctx, nlohmann::json& spec);

// The same for the infra container, which is the pod's PID namespace (none with host PID).
StatusOr<NamespacePlan> AddSandboxNamespaces(const SandboxContext& ctx, nlohmann::json& spec);

}  // namespace crio::container::spec_internal
