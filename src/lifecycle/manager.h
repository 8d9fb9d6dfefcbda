#pragma once
// Pod sandboxes and containers: the RuntimeService's domain, as one facade over the parts that
// do the work (each over the shared Context: state store, dependencies, events):
//   Pods (pods.cc, infra.cc)         run/stop/remove pods, their infra containers
//   Containers (containers.cc)       create/start/stop/remove, exits, pause, resources
//   Exec (exec.cc)                   exec, attach, port-forward lookups, log reopening
//   Recovery (recovery.cc)           reconciling records with the runtimes at start-up
//   ExitWatcher (exit_watcher.cc)    recording exits as conmon reports them
// Thread-safe, with a lock per pod and per container (no global lock on the hot path).
#include "api.pb.h"
#include "crio_state.pb.h"

#include <memory>
#include <string>
#include <vector>

#include "lifecycle/containers.h"
#include "lifecycle/context.h"
#include "lifecycle/exec.h"
#include "lifecycle/exit_watcher.h"
#include "lifecycle/naming.h"
#include "lifecycle/network_hook.h"
#include "lifecycle/pods.h"
#include "util/status.h"

namespace crio::lifecycle {

class Manager {
 public:
  static StatusOr<std::unique_ptr<Manager>> Create(ManagerDeps deps);

  // Reloads pods and containers from disk and reconciles them with the runtimes (Recovery).
  // Call once at startup.
  Status Recover();

  // ---- Pods ----
  StatusOr<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                      const std::string& runtime_handler) {
    return pods_.Run(config, runtime_handler);
  }
  Status StopPodSandbox(const std::string& pod_id) { return pods_.Stop(pod_id); }
  Status RemovePodSandbox(const std::string& pod_id) { return pods_.Remove(pod_id); }
  StatusOr<state::PodState> PodStatus(const std::string& pod_id) { return pods_.StatusOf(pod_id); }
  std::vector<state::PodState> ListPods(const PodFilter& filter) { return pods_.List(filter); }

  // ---- Containers ----
  StatusOr<std::string> CreateContainer(const std::string& pod_id,
                                        const v1::ContainerConfig& config,
                                        const v1::PodSandboxConfig& sandbox_config) {
    return containers_.Create(pod_id, config, sandbox_config);
  }
  Status StartContainer(const std::string& id) { return containers_.Start(id); }
  Status StopContainer(const std::string& id, int64_t timeout_seconds) {
    return containers_.Stop(id, timeout_seconds);
  }
  Status RemoveContainer(const std::string& id) { return containers_.Remove(id); }
  StatusOr<state::ContainerState> ContainerStatus(const std::string& id) {
    return containers_.StatusOf(id);
  }
  std::vector<state::ContainerState> ListContainers(const ContainerFilter& filter) {
    return containers_.List(filter);
  }
  // Freezes or thaws every process of a running container (the inspect endpoints' /pause and
  // /unpause). Errors: NotFound; FailedPrecondition when it is not running, or the runtime
  // finds it not running / not paused.
  Status PauseContainer(const std::string& id) { return containers_.Pause(id); }
  Status ResumeContainer(const std::string& id) { return containers_.Resume(id); }

  // ---- Exec, attach, port-forward, logs ----
  StatusOr<oci::ExecSyncResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                                         int64_t timeout_seconds) {
    return exec_.Sync(id, cmd, timeout_seconds);
  }
  Status ReopenContainerLog(const std::string& id) { return exec_.ReopenLog(id); }
  StatusOr<state::ContainerState> RunningContainer(const std::string& id) {
    return exec_.Running(id);
  }
  StatusOr<std::unique_ptr<oci::ExecProcess>> StartExec(const std::string& id,
                                                        const std::vector<std::string>& cmd,
                                                        bool tty) {
    return exec_.Start(id, cmd, tty);
  }
  StatusOr<oci::AttachEndpoint> AttachEndpoint(const std::string& id) { return exec_.Attach(id); }
  StatusOr<std::string> PodNetworkNamespace(const std::string& pod_id) {
    return exec_.PodNetworkNamespace(pod_id);
  }

  // ---- Resources (lifecycle/resources.cc) ----
  // Applies `resources` to a created or running container through its runtime
  // (`<runtime> update`), then records them (ContainerStatus.resources, config.json).
  // Errors: NotFound (unknown id); InvalidArgument naming the bad field; FailedPrecondition when
  // the container has exited; Internal with the runtime's message.
  Status UpdateContainerResources(const std::string& id,
                                  const v1::LinuxContainerResources& resources) {
    return containers_.UpdateResources(id, resources);
  }
  // Writes `resources` plus `overhead` (cpu shares, quota and memory added up; period and
  // cpusets from `resources`) to the pod's cgroup (its cgroup_parent) and records both in the
  // pod's config. Errors: NotFound (unknown pod); InvalidArgument naming the bad field;
  // FailedPrecondition when the pod is not ready or has no cgroup_parent of its own (the
  // default parent is shared by pods); cgroup write errors.
  Status UpdatePodSandboxResources(const std::string& pod_id,
                                   const v1::LinuxContainerResources& overhead,
                                   const v1::LinuxContainerResources& resources) {
    return pods_.UpdateResources(pod_id, overhead, resources);
  }

  // ---- Events (GetContainerEvents) ----
  // CREATED, STARTED, STOPPED (the moment an exit is first recorded, whether an RPC or the exit
  // watcher notices it) and DELETED for containers; for pods, with the pod id as container id:
  // CREATED then STARTED (RunPodSandbox), STOPPED once (StopPodSandbox, or the infra container
  // dying), DELETED (RemovePodSandbox).
  EventHub& events() { return ctx_.events(); }

  // The pod's cgroup as an absolute path, named by the cgroup manager (cgroupfs: its
  // cgroup_parent; systemd: the expanded slice). InvalidArgument for a parent the manager rejects.
  StatusOr<std::string> PodCgroupOf(const state::PodState& pod) const {
    return ctx_.PodCgroupOf(pod);
  }

 private:
  Manager(ManagerDeps deps, std::unique_ptr<state::StateStore> state);

  Context ctx_;
  Containers containers_{ctx_};
  Pods pods_{ctx_, containers_};
  Exec exec_{ctx_, containers_, pods_};
  // Last: stopped before the parts it calls go away. Null without inotify.
  std::unique_ptr<ExitWatcher> exit_watcher_;
};

}  // namespace crio::lifecycle
