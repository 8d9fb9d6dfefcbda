#include "lifecycle/exit_watcher.h"

#include "util/log.h"

namespace crio::lifecycle {

std::unique_ptr<ExitWatcher> ExitWatcher::Start(Context& ctx, Containers& containers, Pods& pods) {
  std::unique_ptr<ExitWatcher> watcher(new ExitWatcher(ctx, containers, pods));
  ExitWatcher* self = watcher.get();
  const std::string& dir = ctx.deps().config.runtime.container_exits_dir;
  auto files = FileArrivalWatcher::Start(
      dir, [self](const std::string& id) { self->OnExitFile(id); },
      [self] { self->RescanExits(); });
  if (!files.ok()) {
    CRIO_LOG_WARN("cannot watch {} ({}): exits are noticed only when a request looks", dir,
                  files.status());
    return nullptr;
  }
  watcher->files_ = *std::move(files);
  return watcher;
}

void ExitWatcher::OnExitFile(const std::string& id) {
  if (ctx_.state().GetContainer(id)) {
    containers_.RefreshById(id);
  } else if (auto pod = ctx_.state().GetPod(id); pod && pod->infra_container_id() == id) {
    pods_.RecordInfraExit(id);
  }
  // Anything else is a removed container's late file or conmon's temp file.
}

void ExitWatcher::RescanExits() {
  for (const auto& ctr : ctx_.state().ListContainers()) {
    if (ctr.state() == v1::CONTAINER_RUNNING || ctr.state() == v1::CONTAINER_CREATED) {
      containers_.RefreshById(ctr.id());
    }
  }
  for (const auto& pod : ctx_.state().ListPods()) {
    if (pod.state() == v1::SANDBOX_READY && !pod.infra_container_id().empty()) {
      pods_.RecordInfraExit(pod.id());
    }
  }
}

}  // namespace crio::lifecycle
