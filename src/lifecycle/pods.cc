#include "lifecycle/pods.h"

#include <unistd.h>

#include "container/spec_builder.h"
#include "lifecycle/internal.h"
#include "lifecycle/naming.h"
#include "sandbox/namespaces.h"
#include "sandbox/pod_files.h"
#include "util/log.h"
#include "util/rollback.h"

namespace crio::lifecycle {

using internal::MakeDirs;
using internal::NowNs;
using internal::RemoveAll;
using state::ContainerState;
using state::PodState;

namespace {

constexpr int kSigKill = 9;

// The node's hostname, for host-network pods without one of their own.
std::string NodeHostname() {
  char buf[65] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Status ValidatePodConfig(const v1::PodSandboxConfig& config) {
  if (!config.has_metadata()) return InvalidArgument("config.metadata is required");
  const auto& m = config.metadata();
  if (m.name().empty()) return InvalidArgument("config.metadata.name is required");
  if (m.namespace_().empty()) return InvalidArgument("config.metadata.namespace is required");
  if (m.uid().empty()) return InvalidArgument("config.metadata.uid is required");
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::string> Pods::Run(const v1::PodSandboxConfig& config,
                                const std::string& runtime_handler) {
  RETURN_IF_ERROR(ValidatePodConfig(config));
  const std::string handler = ctx_.deps().handlers->Resolve(runtime_handler);
  RETURN_IF_ERROR(ctx_.RuntimeFor(handler).status());

  PodState pod;
  pod.set_id(NewId());
  pod.set_name(PodName(config.metadata()));
  *pod.mutable_config() = config;
  pod.set_runtime_handler(handler);
  pod.set_created_at(NowNs());
  pod.set_state(v1::SANDBOX_NOTREADY);
  pod.set_pod_dir(ctx_.PodDir(pod.id()));

  const auto& ns_options = config.linux().security_context().namespace_options();
  const bool host_network = ns_options.network() == v1::NODE;
  const bool host_ipc = ns_options.ipc() == v1::NODE;
  // A shared pod PID namespace needs a process to hold it: the infra container.
  auto cfg = ctx_.CurrentConfig();
  const bool needs_infra = ns_options.pid() == v1::POD || !cfg->runtime.drop_infra_ctr;
  if (ns_options.has_userns_options() && ns_options.userns_options().mode() == v1::POD) {
    // Checked on this host (kernel 6.18): runc 1.1 and crun 1.8 run containers in a user
    // namespace, and crun (not runc 1.1) honours idmapped bind mounts, but the pod's pinned
    // net/ipc/uts namespaces belong to the initial user namespace, so the pod's root would not
    // own them; the mappings are refused rather than ignored.
    return FailedPrecondition(
        "user namespaces (userns_options mode POD with uid/gid mappings) are not supported: "
        "the pod's namespaces are not created inside a user namespace and runc 1.1 has no "
        "idmapped mounts for the rootfs");
  }

  RETURN_IF_ERROR(ctx_.state().ReserveName(pod.name(), pod.id()));
  util::Rollback rollback;
  rollback.Add("release pod name", [this, name = pod.name()] {
    ctx_.state().ReleaseName(name);
    return absl::OkStatus();
  });

  auto lock = ctx_.state().LockFor(pod.id());
  std::lock_guard guard(*lock);

  RETURN_IF_ERROR(MakeDirs(pod.pod_dir()));
  rollback.Add("remove pod dir", [dir = pod.pod_dir()] { return RemoveAll(dir); });

  // Pod files: hostname, resolv.conf, hosts.
  std::string hostname =
      sandbox::PodHostname(config.hostname(), pod.id(), host_network, NodeHostname());
  if (Status valid = sandbox::ValidateHostname(hostname); !valid.ok()) {
    return InvalidArgument(absl::StrCat("PodSandboxConfig.hostname: ", valid.message()));
  }
  RETURN_IF_ERROR(sandbox::WriteHostnameFile(pod.pod_dir(), hostname));
  sandbox::DnsConfig dns;
  for (const auto& s : config.dns_config().servers()) dns.servers.push_back(s);
  for (const auto& s : config.dns_config().searches()) dns.searches.push_back(s);
  for (const auto& s : config.dns_config().options()) dns.options.push_back(s);
  RETURN_IF_ERROR(sandbox::WriteResolvConf(pod.pod_dir(), dns));
  RETURN_IF_ERROR(sandbox::WriteHostsFile(pod.pod_dir(), hostname));

  if (!host_ipc) {
    ASSIGN_OR_RETURN(std::string shm, sandbox::MountShm(pod.pod_dir()));
    pod.set_shm_path(shm);
    rollback.Add("unmount shm", [shm] { return sandbox::UnmountShm(shm); });
  }

  // Namespaces, pinned as files so they outlive any process (no infra container needed).
  sandbox::PinRequest pin;
  pin.namespaces_dir = ctx_.deps().config.runtime.namespaces_dir;
  pin.pod_id = pod.id();
  pin.net = !host_network;
  pin.ipc = !host_ipc;
  pin.uts = !host_network;
  // Only namespaced sysctls: anything else would be written to the host.
  ASSIGN_OR_RETURN(auto sysctls,
                   container::PodSysctls(config, cfg->runtime, host_network, host_ipc));
  for (const auto& [k, v] : sysctls) pin.sysctls.emplace_back(k, v);
  if (pin.net || pin.ipc || pin.uts) {
    ASSIGN_OR_RETURN(sandbox::PinnedNamespaces pinned, sandbox::PinNamespaces(pin));
    pod.set_netns_path(pinned.net_path);
    pod.set_ipcns_path(pinned.ipc_path);
    pod.set_utsns_path(pinned.uts_path);
    rollback.Add("unpin namespaces", [pinned] { return sandbox::UnpinNamespaces(pinned); });
  }

  // Pod cgroup.
  ASSIGN_OR_RETURN(std::string cgroup,
                   ctx_.deps().cgroups->CreatePodCgroup(config.linux().cgroup_parent(), pod.id()));
  pod.set_cgroup_path(cgroup);
  rollback.Add("remove pod cgroup",
               [this, cgroup] { return ctx_.deps().cgroups->RemoveCgroup(cgroup); });

  // Network (CNI) once the namespaces exist; host-network pods skip it.
  if (!host_network) {
    ASSIGN_OR_RETURN(std::vector<std::string> ips, ctx_.deps().network->SetUpPod(pod));
    for (const auto& ip : ips) pod.add_ips(ip);
    rollback.Add("tear down network",
                 [this, pod] { return ctx_.deps().network->TearDownPod(pod); });
    if (!ips.empty()) RETURN_IF_ERROR(sandbox::WriteHostsFile(pod.pod_dir(), hostname, ips));
  }

  if (needs_infra) {
    RETURN_IF_ERROR(StartInfraContainer(pod));
    rollback.Add("remove infra container", [this, pod] { return RemoveInfraContainer(pod); });
  }

  pod.set_state(v1::SANDBOX_READY);
  RETURN_IF_ERROR(ctx_.state().PutPod(pod));
  rollback.Dismiss();
  CRIO_LOG_INFO("pod={} name={} handler={} ready", pod.id(), pod.name(), handler);
  // As CRI-O, for the kubelet's evented PLEG: the sandbox as a "container" named by the pod id.
  ctx_.PublishPodEvent(v1::CONTAINER_CREATED_EVENT, pod);
  ctx_.PublishPodEvent(v1::CONTAINER_STARTED_EVENT, pod);
  return pod.id();
}

Status Pods::StopLocked(PodState& pod) {
  for (auto ctr : ctx_.state().ContainersOfPod(pod.id())) {
    auto lock = ctx_.state().LockFor(ctr.id());
    std::lock_guard guard(*lock);
    auto fresh = ctx_.state().GetContainer(ctr.id());
    if (!fresh) continue;
    ContainerState c = *fresh;
    RETURN_IF_ERROR(
        Annotate(containers_.StopLocked(c, 0), absl::StrCat("stop container ", c.id())));
  }
  if (!pod.infra_container_id().empty()) {
    ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(pod.runtime_handler()));
    Status killed = runtime->KillContainer(pod.infra_container_id(), kSigKill, true);
    if (!killed.ok() && !absl::IsNotFound(killed) && !absl::IsFailedPrecondition(killed)) {
      return Annotate(killed, "stop infra container");
    }
  }
  if (!pod.netns_path().empty() || pod.ips_size() > 0) {
    RETURN_IF_ERROR(ctx_.deps().network->TearDownPod(pod));
  }
  sandbox::PinnedNamespaces pins{pod.netns_path(), pod.ipcns_path(), pod.utsns_path(), ""};
  RETURN_IF_ERROR(sandbox::UnpinNamespaces(pins));
  if (!pod.shm_path().empty()) RETURN_IF_ERROR(sandbox::UnmountShm(pod.shm_path()));
  if (pod.state() != v1::SANDBOX_NOTREADY) {
    pod.set_state(v1::SANDBOX_NOTREADY);
    RETURN_IF_ERROR(ctx_.state().PutPod(pod));
    CRIO_LOG_INFO("pod={} stopped", pod.id());
    ctx_.PublishPodEvent(v1::CONTAINER_STOPPED_EVENT, pod);  // once: only on the transition
  }
  return absl::OkStatus();
}

Status Pods::Stop(const std::string& pod_id) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolvePodId(pod_id));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto pod = ctx_.state().GetPod(id);
  if (!pod) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  return StopLocked(*pod);
}

Status Pods::Remove(const std::string& pod_id) {
  auto resolved = ctx_.state().ResolvePodId(pod_id);
  // CRI: removing a pod that is already gone is not an error.
  if (resolved.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(resolved.status());
  const std::string id = *resolved;
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto pod = ctx_.state().GetPod(id);
  if (!pod) return absl::OkStatus();
  RETURN_IF_ERROR(StopLocked(*pod));
  for (const auto& ctr : ctx_.state().ContainersOfPod(id)) {
    auto ctr_lock = ctx_.state().LockFor(ctr.id());
    std::lock_guard ctr_guard(*ctr_lock);
    RETURN_IF_ERROR(containers_.RemoveLocked(ctr));
  }
  RETURN_IF_ERROR(RemoveInfraContainer(*pod));
  if (!pod->cgroup_path().empty()) {
    RETURN_IF_ERROR(ctx_.deps().cgroups->RemoveCgroup(pod->cgroup_path()));
  }
  RETURN_IF_ERROR(RemoveAll(pod->pod_dir()));
  RETURN_IF_ERROR(ctx_.state().DeletePod(id));
  ctx_.state().ReleaseName(pod->name());
  CRIO_LOG_INFO("pod={} removed", id);
  ctx_.PublishPodEvent(v1::CONTAINER_DELETED_EVENT, *pod);
  return absl::OkStatus();
}

StatusOr<PodState> Pods::StatusOf(const std::string& pod_id) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolvePodId(pod_id));
  auto pod = ctx_.state().GetPod(id);
  if (!pod) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  return *pod;
}

std::vector<PodState> Pods::List(const PodFilter& filter) {
  std::vector<PodState> out;
  for (auto& pod : ctx_.state().ListPods()) {
    if (!filter.id.empty() && pod.id().rfind(filter.id, 0) != 0) continue;
    if (filter.state && pod.state() != *filter.state) continue;
    if (!LabelsMatch(pod.config().labels(), filter.labels)) continue;
    out.push_back(std::move(pod));
  }
  return out;
}

void Pods::RecordInfraExit(const std::string& pod_id) {
  auto lock = ctx_.state().LockFor(pod_id);
  std::lock_guard guard(*lock);
  auto pod = ctx_.state().GetPod(pod_id);
  // StopPodSandbox kills the infra container itself, holding this lock; it leaves it NOTREADY.
  if (!pod || pod->state() != v1::SANDBOX_READY || pod->infra_container_id().empty()) return;
  auto runtime = ctx_.RuntimeFor(pod->runtime_handler());
  if (!runtime.ok()) return;
  auto exit = (*runtime)->ReadExit(pod->infra_container_id());
  if (!exit.ok() || !exit->has_value()) return;
  CRIO_LOG_WARN("pod={}: infra container exited with code {}: the pod is not ready", pod_id,
                (*exit)->exit_code);
  pod->set_state(v1::SANDBOX_NOTREADY);
  if (Status st = ctx_.state().PutPod(*pod); !st.ok()) {
    CRIO_LOG_WARN("pod={}: persist infra exit: {}", pod_id, st.message());
  }
  ctx_.PublishPodEvent(v1::CONTAINER_STOPPED_EVENT, *pod);
}

void Pods::TrackInfraContainers() {
  for (const auto& pod : ctx_.state().ListPods()) {
    if (pod.infra_container_id().empty()) continue;
    auto runtime = ctx_.RuntimeFor(pod.runtime_handler());
    if (runtime.ok()) {
      (void)(*runtime)->Track(pod.infra_container_id(),
                              oci::ContainerDirs{pod.infra_bundle(), pod.infra_bundle(), ""});
    }
  }
}

}  // namespace crio::lifecycle
