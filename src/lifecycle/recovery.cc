#include "lifecycle/recovery.h"

#include <mutex>

#include "lifecycle/internal.h"
#include "util/log.h"

namespace crio::lifecycle {

using internal::NowNs;
using internal::RemoveAll;
using state::ContainerState;

Status Recovery::Run() {
  int running = 0, exited = 0, lost = 0;
  std::set<std::string> known;
  for (auto ctr : ctx_.state().ListContainers()) {
    known.insert(ctr.id());
    switch (Reconcile(std::move(ctr))) {
      case Outcome::kStillRunning:
        ++running;
        break;
      case Outcome::kExitedWhileDown:
        ++exited;
        break;
      case Outcome::kLost:
        ++lost;
        break;
      case Outcome::kUnchanged:
        break;
    }
  }
  pods_.TrackInfraContainers();
  pods_.RemoveOrphanInfraLayers();
  RemoveOrphanContainerLayers(known);
  CRIO_LOG_INFO("recovered {} pods, {} containers ({} running, {} exited while down, {} lost)",
                ctx_.state().ListPods().size(), known.size(), running, exited, lost);
  return absl::OkStatus();
}

Recovery::Outcome Recovery::Reconcile(ContainerState ctr) {
  // The exit watcher runs already and may record the same exit.
  auto lock = ctx_.state().LockFor(ctr.id());
  std::lock_guard guard(*lock);
  auto runtime = ctx_.RuntimeFor(ctr.runtime_handler());
  if (!runtime.ok()) return Outcome::kUnchanged;
  oci::ContainerDirs dirs{ctr.bundle(), ctr.persist_dir(), ctr.log_path()};
  (void)(*runtime)->Track(ctr.id(), dirs);
  if (ctr.state() == v1::CONTAINER_EXITED) return Outcome::kUnchanged;
  ctr = containers_.Refresh(ctr);
  if (ctr.state() == v1::CONTAINER_EXITED) return Outcome::kExitedWhileDown;
  auto st = (*runtime)->State(ctr.id());
  // Paused (frozen through the inspect endpoint) is alive too.
  if (st.ok() && (st->status == "running" || st->status == "created" || st->status == "paused")) {
    return Outcome::kStillRunning;
  }
  // The runtime lost it (e.g. a reboot) and no exit was recorded: report it as exited.
  ctr.set_state(v1::CONTAINER_EXITED);
  ctr.set_exit_code(255);
  ctr.set_reason("Error");
  ctr.set_message("container was lost while crio was not running");
  ctr.set_finished_at(NowNs());
  (void)ctx_.state().PutContainer(ctr);
  ctx_.PublishContainerEvent(v1::CONTAINER_STOPPED_EVENT, ctr);
  return Outcome::kLost;
}

void Recovery::RemoveOrphanContainerLayers(const std::set<std::string>& known) {
  for (const auto& layer : ctx_.deps().store->ListContainerLayers()) {
    if (layer.metadata != "crio-cpp" || known.count(layer.id)) continue;
    CRIO_LOG_WARN("container={}: removing leftover of an interrupted create", layer.id);
    (void)ctx_.deps().store->RemoveContainerLayer(layer.id);
    (void)RemoveAll(ctx_.BundleDir(layer.id));
    (void)RemoveAll(ctx_.PersistDir(layer.id));
  }
}

}  // namespace crio::lifecycle
