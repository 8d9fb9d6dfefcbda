#pragma once
// Pod sandboxes and containers: the RuntimeService's domain. Orchestrates namespaces, pod files,
// cgroups, the layer store, the OCI spec, and the runtime handlers; persists every object so a
// daemon restart reloads it. Thread-safe, with a lock per pod and per container (no global
// lock on the hot path).
#include "api.pb.h"
#include "crio_state.pb.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroups/cgroup_manager.h"
#include "config/config.h"
#include "config/live_config.h"
#include "image/image_manager.h"
#include "lifecycle/events.h"
#include "oci/handler.h"
#include "state/state_store.h"
#include "storage/store.h"
#include "util/status.h"

namespace crio::lifecycle {

namespace v1 = ::runtime::v1;

// CRI NetworkReady, as a network hook reports it.
struct NetworkReadiness {
  bool ready = true;
  std::string reason;   // CamelCase, empty when ready
  std::string message;  // empty when ready
};

// Hook for pod networking (CNI, network/cni_network.h). The default does nothing: pods get
// loopback only.
class NetworkHook {
 public:
  virtual ~NetworkHook() = default;
  // Sets up the pod's network in `netns_path` (config: port mappings, DNS, cgroup parent);
  // returns the pod IPs. A failure leaves nothing behind.
  virtual StatusOr<std::vector<std::string>> SetUpPod(const state::PodState& pod) = 0;
  // Releases it; idempotent, and works after a daemon restart.
  virtual Status TearDownPod(const state::PodState& pod) = 0;
  // Whether pods can get networking now.
  virtual NetworkReadiness Readiness() { return {}; }
  // The node's pod CIDR (UpdateRuntimeConfig), offered to IPAM.
  virtual void SetPodCidr(const std::string& /*cidr*/) {}
};

class LoopbackOnlyNetwork : public NetworkHook {
 public:
  StatusOr<std::vector<std::string>> SetUpPod(const state::PodState&) override {
    return std::vector<std::string>{};
  }
  Status TearDownPod(const state::PodState&) override { return absl::OkStatus(); }
};

struct ManagerDeps {
  // The start-up configuration; with `live`, only its non-reloadable options are read here.
  config::Config config;
  // The daemon's live configuration (SIGHUP), read once per request; null in tests that never
  // reload.
  const config::LiveConfig* live = nullptr;
  storage::Store* store = nullptr;
  image::ImageManager* images = nullptr;
  oci::HandlerRegistry* handlers = nullptr;
  cgroups::CgroupManager* cgroups = nullptr;
  NetworkHook* network = nullptr;
  std::string state_dir;     // persistent records (<root>/crio-cpp)
  std::string run_dir;       // volatile pod dirs and bundles (<runroot>/crio-cpp)
  std::string pause_binary;  // the shipped pause, for infra containers
};

struct ContainerFilter {
  std::string id;      // prefix
  std::string pod_id;  // prefix
  std::optional<v1::ContainerState> state;
  std::map<std::string, std::string> labels;
  // Check each running container's exit file. Stats turn it off while the exit watcher runs:
  // the watcher records exits as they happen, and two failed opens per container per request
  // are a measurable share of a stats call.
  bool refresh_exits = true;
};

struct PodFilter {
  std::string id;  // prefix
  std::optional<v1::PodSandboxState> state;
  std::map<std::string, std::string> labels;
};

class Manager {
 public:
  static StatusOr<std::unique_ptr<Manager>> Create(ManagerDeps deps);

  // Reloads pods and containers from disk and reconciles them with the runtimes: running
  // containers stay, exits that happened while the daemon was down are recorded, half-created
  // leftovers are removed. Call once at startup.
  Status Recover();

  // ---- Pods ----
  StatusOr<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                      const std::string& runtime_handler);
  Status StopPodSandbox(const std::string& pod_id);    // idempotent; NotFound for unknown ids
  Status RemovePodSandbox(const std::string& pod_id);  // idempotent; OK for unknown ids
  StatusOr<state::PodState> PodStatus(const std::string& pod_id);
  std::vector<state::PodState> ListPods(const PodFilter& filter);

  // ---- Containers ----
  StatusOr<std::string> CreateContainer(const std::string& pod_id,
                                        const v1::ContainerConfig& config,
                                        const v1::PodSandboxConfig& sandbox_config);
  Status StartContainer(const std::string& id);
  Status StopContainer(const std::string& id, int64_t timeout_seconds);  // idempotent
  Status RemoveContainer(const std::string& id);  // idempotent; OK for unknown ids
  StatusOr<state::ContainerState> ContainerStatus(const std::string& id);
  std::vector<state::ContainerState> ListContainers(const ContainerFilter& filter);
  StatusOr<oci::ExecSyncResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                                         int64_t timeout_seconds);
  Status ReopenContainerLog(const std::string& id);

  // ---- Streaming (Exec, Attach, PortForward) ----
  // The running container `id`, for a streaming request. Errors: NotFound (unknown id);
  // FailedPrecondition when it is not running.
  StatusOr<state::ContainerState> RunningContainer(const std::string& id);
  // Freezes or thaws every process of a running container (the inspect endpoints' /pause and
  // /unpause). Errors: NotFound; FailedPrecondition when it is not running, or the runtime
  // finds it not running / not paused.
  Status PauseContainer(const std::string& id);
  Status ResumeContainer(const std::string& id);
  // Starts `cmd` in the running container with a pty when `tty`, else pipes.
  StatusOr<std::unique_ptr<oci::ExecProcess>> StartExec(const std::string& id,
                                                        const std::vector<std::string>& cmd,
                                                        bool tty);
  // The running container's attach socket and control FIFO.
  StatusOr<oci::AttachEndpoint> AttachEndpoint(const std::string& id);
  // The ready pod's network namespace path; empty for a pod in the node's network.
  // Errors: NotFound (unknown pod); FailedPrecondition when the pod is not ready.
  StatusOr<std::string> PodNetworkNamespace(const std::string& pod_id);

  // ---- Resources (lifecycle/resources.cc) ----
  // Applies `resources` to a created or running container through its runtime
  // (`<runtime> update`), then records them (ContainerStatus.resources, config.json).
  // Errors: NotFound (unknown id); InvalidArgument naming the bad field; FailedPrecondition when
  // the container has exited; Internal with the runtime's message.
  Status UpdateContainerResources(const std::string& id,
                                  const v1::LinuxContainerResources& resources);
  // Writes `resources` plus `overhead` (cpu shares, quota and memory added up; period and
  // cpusets from `resources`) to the pod's cgroup (its cgroup_parent) and records both in the
  // pod's config. Errors: NotFound (unknown pod); InvalidArgument naming the bad field;
  // FailedPrecondition when the pod is not ready or has no cgroup_parent of its own (the
  // default parent is shared by pods); cgroup write errors.
  Status UpdatePodSandboxResources(const std::string& pod_id,
                                   const v1::LinuxContainerResources& overhead,
                                   const v1::LinuxContainerResources& resources);

  // ---- Events (GetContainerEvents) ----
  // CREATED, STARTED, STOPPED (the moment an exit is first recorded, whether an RPC or the exit
  // watcher notices it) and DELETED for containers; for pods, with the pod id as container id:
  // CREATED then STARTED (RunPodSandbox), STOPPED once (StopPodSandbox, or the infra container
  // dying), DELETED (RemovePodSandbox).
  EventHub& events() { return events_; }

  // The pod's cgroup as an absolute path, named by the cgroup manager (cgroupfs: its
  // cgroup_parent; systemd: the expanded slice). InvalidArgument for a parent the manager rejects.
  StatusOr<std::string> PodCgroupOf(const state::PodState& pod) const;

 private:
  explicit Manager(ManagerDeps deps, std::unique_ptr<state::StateStore> state);

  // Moves the monitor of `container_id` into its cgroup (CgroupManager::PlaceMonitor with the
  // pod's parent and its handler's monitor_cgroup).
  std::function<Status(pid_t)> MonitorPlacement(const state::PodState& pod,
                                                const std::string& container_id) const;

  StatusOr<oci::Runtime*> RuntimeFor(const std::string& handler);
  // The configuration in force for one request (the live one, else the start-up one).
  std::shared_ptr<const config::Config> CurrentConfig() const;
  // OCI hooks from hooks_dir and the container's CDI devices, added to its freshly built
  // spec (lifecycle/spec_extensions.cc). InvalidArgument for an unresolvable CDI device.
  Status ApplySpecExtensions(nlohmann::json& spec, const v1::ContainerConfig& config,
                             const std::string& id);
  // Reads the container's exit from the monitor when it is running; persists changes and
  // publishes STOPPED when it records the exit. Caller holds the container's lock.
  state::ContainerState Refresh(state::ContainerState ctr);
  // Refresh for a listed container, under its lock when that is free (a busy lock means an
  // operation on it is under way, which records any exit itself); nullopt once it is removed.
  std::optional<state::ContainerState> RefreshListed(state::ContainerState listed);
  // ---- Events and the exit watcher ----
  // Watches container_exits_dir; without inotify exits are still noticed lazily.
  void StartExitWatcher();
  // conmon wrote `<exits_dir>/<id>`: records the exit of container `id`, or of the infra
  // container of pod `id`. Runs on the watcher thread.
  void OnExitFile(const std::string& id);
  // Events were lost (inotify overflow): looks for exits of every running container and pod.
  void RescanExits();
  void RefreshById(const std::string& id);
  // The infra container of ready pod `pod_id` exited: the pod is no longer ready (as CRI-O
  // reports it); publishes the pod's STOPPED.
  void OnInfraExit(const std::string& pod_id);
  void PublishContainerEvent(v1::ContainerEventType type, const state::ContainerState& ctr);
  void PublishPodEvent(v1::ContainerEventType type, const state::PodState& pod);
  Status StopContainerLocked(state::ContainerState& ctr, int64_t timeout_seconds);
  // The record of `id` (asked for as `asked`), refreshed, if it is running; the caller holds
  // the container's lock.
  StatusOr<state::ContainerState> RunningContainerLocked(const std::string& id,
                                                         const std::string& asked);
  // Resumes a container this daemon paused (the inspect endpoint), so a stop's signals land.
  void ThawIfPaused(oci::Runtime& runtime, const std::string& id);
  Status RemoveContainerLocked(const state::ContainerState& ctr);
  Status StopPodLocked(state::PodState& pod);
  // ---- Infra container (infra.cc) ----
  struct InfraRootfs;
  // Runs the pod's infra (pause) container: from pause_image when it is in the store, else the
  // shipped pause binary. Sets the pod's infra fields; cleans up after itself on failure.
  Status StartInfraContainer(state::PodState& pod);
  // Deletes the infra container, its rootfs layer and bundle. OK when there is none.
  Status RemoveInfraContainer(const state::PodState& pod);
  StatusOr<InfraRootfs> PrepareInfraRootfs(const state::PodState& pod, const std::string& bundle);
  StatusOr<InfraRootfs> MountPauseImage(const state::PodState& pod, const image::ImageInfo& image);
  StatusOr<InfraRootfs> CopyShippedPause(const std::string& bundle);
  // Starts one background pull of pause_image unless one runs or a recent one failed.
  void PullPauseImageInBackground();
  // Removes infra rootfs layers whose pod record is gone (an interrupted RunPodSandbox).
  void RemoveOrphanInfraLayers();
  std::string PodDir(const std::string& id) const { return deps_.run_dir + "/pods/" + id; }
  std::string BundleDir(const std::string& id) const { return deps_.run_dir + "/containers/" + id; }
  std::string PersistDir(const std::string& id) const {
    return deps_.state_dir + "/containers/" + id + ".d";
  }

  ManagerDeps deps_;
  std::unique_ptr<state::StateStore> state_;
  EventHub events_;
  std::mutex paused_mu_;
  std::set<std::string> paused_;  // guarded by paused_mu_: frozen through PauseContainer
  std::mutex pause_mu_;
  bool pause_pull_running_ = false;                          // guarded by pause_mu_
  std::chrono::steady_clock::time_point pause_retry_after_;  // guarded by pause_mu_
  std::jthread pause_puller_;  // joined before the members it uses go away
  // Last: stopped before the state and hub it uses go away. Null without inotify.
  std::unique_ptr<FileArrivalWatcher> exit_watcher_;
};

// CRI-O's names: k8s_POD_<name>_<ns>_<uid>_<attempt> and k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>.
std::string PodName(const v1::PodSandboxMetadata& m);
std::string ContainerName(const v1::ContainerMetadata& c, const v1::PodSandboxMetadata& p);
// CRI Signal enum value for a signal number (RUNTIME_DEFAULT when unknown).
v1::Signal SignalEnum(int number);
// A random 64-hex-digit id.
std::string NewId();
// Whether every selector label is present with the same value.
bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector);

}  // namespace crio::lifecycle
