#pragma once
// The exit watcher: conmon writes `<container_exits_dir>/<id>` when a container (or a pod's
// infra container) exits; inotify reports it and the exit is recorded at once, so
// GetContainerEvents and ListContainers see it without anyone polling.
#include <memory>
#include <string>

#include "lifecycle/containers.h"
#include "lifecycle/context.h"
#include "lifecycle/events.h"
#include "lifecycle/pods.h"

namespace crio::lifecycle {

class ExitWatcher {
 public:
  // Starts watching; null when inotify is unavailable (exits are then noticed only when a
  // request looks).
  static std::unique_ptr<ExitWatcher> Start(Context& ctx, Containers& containers, Pods& pods);

 private:
  ExitWatcher(Context& ctx, Containers& containers, Pods& pods)
      : ctx_(ctx), containers_(containers), pods_(pods) {}
  // conmon wrote the exit file `id`: records the exit of container `id`, or of the infra
  // container of pod `id`. Runs on the watcher thread.
  void OnExitFile(const std::string& id);
  // Events were lost (inotify overflow): looks for exits of every running container and pod.
  void RescanExits();

  Context& ctx_;
  Containers& containers_;
  Pods& pods_;
  std::unique_ptr<FileArrivalWatcher> files_;  // last: its thread stops first
};

}  // namespace crio::lifecycle
