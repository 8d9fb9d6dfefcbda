#pragma once
// Restart recovery: reloads pods and containers from the state store and reconciles them with
// the runtimes. Running containers stay, exits that happened while the daemon was down are
// recorded, containers the runtime lost are reported exited, and half-created leftovers (layers,
// bundles, infra rootfs without a record) are removed.
#include <set>
#include <string>

#include "lifecycle/containers.h"
#include "lifecycle/context.h"
#include "lifecycle/pods.h"
#include "util/status.h"

namespace crio::lifecycle {

class Recovery {
 public:
  Recovery(Context& ctx, Containers& containers, Pods& pods)
      : ctx_(ctx), containers_(containers), pods_(pods) {}
  // Call once at start-up, after the exit watcher started (it may record the same exits).
  Status Run();

 private:
  enum class Outcome { kStillRunning, kExitedWhileDown, kLost, kUnchanged };
  // Re-attaches the runtime to one recorded container and records what happened to it.
  Outcome Reconcile(state::ContainerState ctr);
  // Writable layers without a container record: leftovers of an interrupted create.
  void RemoveOrphanContainerLayers(const std::set<std::string>& known);

  Context& ctx_;
  Containers& containers_;
  Pods& pods_;
};

}  // namespace crio::lifecycle
