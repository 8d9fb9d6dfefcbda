#pragma once
// Pod sandboxes: run (pod files, /dev/shm, pinned namespaces, cgroup, CNI, infra container when
// one is needed), stop (containers, infra, network, namespaces), remove, status, listing,
// resource updates of the pod cgroup, and the infra container's life (lifecycle/infra.cc).
// Every operation on one pod runs under that pod's lock.
#include "api.pb.h"
#include "crio_state.pb.h"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lifecycle/containers.h"
#include "lifecycle/context.h"
#include "util/status.h"

namespace crio::lifecycle {

struct PodFilter {
  std::string id;  // prefix
  std::optional<v1::PodSandboxState> state;
  std::map<std::string, std::string> labels;
};

class Pods {
 public:
  Pods(Context& ctx, Containers& containers) : ctx_(ctx), containers_(containers) {}

  StatusOr<std::string> Run(const v1::PodSandboxConfig& config, const std::string& runtime_handler);
  Status Stop(const std::string& pod_id);    // idempotent; NotFound for unknown ids
  Status Remove(const std::string& pod_id);  // idempotent; OK for unknown ids
  StatusOr<state::PodState> StatusOf(const std::string& pod_id);
  std::vector<state::PodState> List(const PodFilter& filter);
  // lifecycle/resources.cc: the pod cgroup's limits (resources plus overhead).
  Status UpdateResources(const std::string& pod_id, const v1::LinuxContainerResources& overhead,
                         const v1::LinuxContainerResources& resources);

  // The infra container of ready pod `pod_id` exited: the pod is no longer ready (as CRI-O
  // reports it); publishes the pod's STOPPED. Called by the exit watcher.
  void RecordInfraExit(const std::string& pod_id);
  // Re-attaches the runtimes to the infra containers of recorded pods (restart recovery).
  void TrackInfraContainers();
  // Removes infra rootfs layers whose pod record is gone (an interrupted RunPodSandbox).
  void RemoveOrphanInfraLayers();

 private:
  Status StopLocked(state::PodState& pod);
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

  Context& ctx_;
  Containers& containers_;
  std::mutex pause_mu_;
  bool pause_pull_running_ = false;                          // guarded by pause_mu_
  std::chrono::steady_clock::time_point pause_retry_after_;  // guarded by pause_mu_
  std::jthread pause_puller_;  // last: joined before the members it uses go away
};

}  // namespace crio::lifecycle
