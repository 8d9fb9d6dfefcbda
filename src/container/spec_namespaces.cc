#include "container/spec_namespaces.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "util/log.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

enum class SysctlKind { kNet, kIpc, kOther };

SysctlKind ClassifySysctl(std::string name) {
  std::replace(name.begin(), name.end(), '/', '.');
  if (absl::StartsWith(name, "net.")) return SysctlKind::kNet;
  if (absl::StartsWith(name, "kernel.shm") || absl::StartsWith(name, "kernel.msg") ||
      name == "kernel.sem" || absl::StartsWith(name, "fs.mqueue.")) {
    return SysctlKind::kIpc;
  }
  return SysctlKind::kOther;
}

Status ValidateSysctl(const std::string& name, bool host_net, bool host_ipc) {
  switch (ClassifySysctl(name)) {
    case SysctlKind::kNet:
      if (host_net) {
        return InvalidArgument(
            absl::StrCat("sysctl \"", name, "\" is not allowed with the host network namespace"));
      }
      return absl::OkStatus();
    case SysctlKind::kIpc:
      if (host_ipc) {
        return InvalidArgument(
            absl::StrCat("sysctl \"", name, "\" is not allowed with the host IPC namespace"));
      }
      return absl::OkStatus();
    case SysctlKind::kOther:
      break;
  }
  return InvalidArgument(
      absl::StrCat("sysctl \"", name, "\" is not namespaced and would change the host"));
}

}  // namespace

StatusOr<std::map<std::string, std::string>> PodSysctls(const v1::PodSandboxConfig& sandbox,
                                                        const config::RuntimeConfig& rc,
                                                        bool host_network, bool host_ipc) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : rc.default_sysctls) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key.empty()) {
      CRIO_LOG_WARN("skipping invalid default sysctl \"{}\": want key=value", kv);
      continue;
    }
    if (Status s = ValidateSysctl(key, host_network, host_ipc); !s.ok()) {
      CRIO_LOG_WARN("skipping default sysctl: {}", Message(s));
      continue;
    }
    out[key] = kv.substr(eq + 1);
  }
  for (const auto& [key, value] : sandbox.linux().sysctls()) {
    if (key.empty()) {
      return InvalidArgument("empty sysctl name");
    }
    RETURN_IF_ERROR(ValidateSysctl(key, host_network, host_ipc));
    out[key] = value;
  }
  return out;
}

namespace spec_internal {
namespace {

bool UsernsRequested(const v1::NamespaceOption& ns) {
  return ns.has_userns_options() && ns.userns_options().mode() == v1::POD;
}

// Host network and IPC come from the pod or the request; UTS follows the host network unless
// the pod pinned its own.
NamespacePlan HostNamespaces(const PodResources& pod, const v1::NamespaceOption& ns) {
  NamespacePlan plan;
  plan.host_net = pod.host_network || ns.network() == v1::NODE;
  plan.host_ipc = pod.host_ipc || ns.ipc() == v1::NODE;
  plan.host_uts = plan.host_net && pod.utsns_path.empty();
  return plan;
}

StatusOr<json> SysctlsJson(const v1::PodSandboxConfig& sandbox, const config::RuntimeConfig& rc,
                           const NamespacePlan& plan) {
  ASSIGN_OR_RETURN(auto merged, PodSysctls(sandbox, rc, plan.host_net, plan.host_ipc));
  json result = json::object();
  for (const auto& [k, v] : merged) {
    result[k] = v;
  }
  return result;
}

// hostname, linux.namespaces and linux.sysctl, common to containers and infra containers.
Status AddNamespaces(const PodResources& pod, const NamespacePlan& plan, bool cgroupns,
                     const v1::PodSandboxConfig& sandbox, const config::RuntimeConfig& rc,
                     json& spec) {
  if (!plan.host_uts) spec["hostname"] = pod.hostname;
  json& linux = spec["linux"];
  linux["namespaces"] = NamespacesJson(pod, plan, cgroupns);
  ASSIGN_OR_RETURN(json sysctls, SysctlsJson(sandbox, rc, plan));
  if (!sysctls.empty()) linux["sysctl"] = std::move(sysctls);
  return absl::OkStatus();
}

}  // namespace

json NamespacesJson(const PodResources& pod, const NamespacePlan& plan, bool cgroupns) {
  json out = json::array();
  auto add = [&out](const char* type, const std::string& path) {
    json ns = {{"type", type}};
    if (!path.empty()) {
      ns["path"] = path;
    }
    out.push_back(std::move(ns));
  };
  if (!plan.pid.empty() || plan.pid_new) {
    add("pid", plan.pid);
  }
  if (!plan.host_net) {
    add("network", pod.netns_path);
  }
  if (!plan.host_ipc) {
    add("ipc", pod.ipcns_path);
  }
  if (!plan.host_uts) {
    add("uts", pod.utsns_path);
  }
  add("mount", "");
  if (cgroupns) {
    add("cgroup", "");
  }
  return out;
}

Status CheckUserns(const v1::PodSandboxConfig& sandbox, const v1::NamespaceOption* ctr_ns) {
  if (UsernsRequested(sandbox.linux().security_context().namespace_options()) ||
      (ctr_ns != nullptr && UsernsRequested(*ctr_ns))) {
    return FailedPrecondition("user namespaces are not supported yet");
  }
  return absl::OkStatus();
}

StatusOr<NamespacePlan> ContainerNamespacePlan(const ContainerContext& ctx) {
  const PodResources& pod = ctx.in.pod;
  const v1::NamespaceOption& ns = ctx.sc.namespace_options();
  NamespacePlan plan = HostNamespaces(pod, ns);
  switch (ns.pid()) {
    case v1::NODE:
      break;
    case v1::TARGET:
      if (ctx.in.target_pidns_path.empty()) {
        return InvalidArgument("pid namespace TARGET needs the target container's namespace");
      }
      plan.pid = ctx.in.target_pidns_path;
      break;
    case v1::POD:
      if (pod.host_pid) break;
      if (!pod.pidns_path.empty()) {
        plan.pid = pod.pidns_path;
        break;
      }
      CRIO_LOG_WARN("container {}: pod {} has no shared PID namespace; using a private one",
                    ctx.in.container_id, pod.pod_id);
      plan.pid_new = true;
      break;
    default:
      plan.pid_new = !pod.host_pid;
      break;
  }
  return plan;
}

StatusOr<NamespacePlan> AddContainerNamespaces(const ContainerContext& ctx, json& spec) {
  ASSIGN_OR_RETURN(NamespacePlan plan, ContainerNamespacePlan(ctx));
  // Privileged containers keep the host's cgroup namespace.
  const bool cgroupns = ctx.in.cgroup_v2 && !ctx.privileged;
  RETURN_IF_ERROR(AddNamespaces(ctx.in.pod, plan, cgroupns, ctx.sandbox, ctx.rc, spec));
  return plan;
}

StatusOr<NamespacePlan> AddSandboxNamespaces(const SandboxContext& ctx, json& spec) {
  const v1::NamespaceOption& ns = ctx.sc.namespace_options();
  NamespacePlan plan = HostNamespaces(ctx.in.pod, ns);
  // The infra process is the pod's PID namespace, unless the pod uses the host's.
  plan.pid_new = !(ctx.in.pod.host_pid || ns.pid() == v1::NODE);
  const bool cgroupns = ctx.in.cgroup_v2 && !ctx.sc.privileged();
  RETURN_IF_ERROR(AddNamespaces(ctx.in.pod, plan, cgroupns, ctx.sandbox, ctx.rc, spec));
  return plan;
}

}  // namespace spec_internal
}  // namespace crio::container
