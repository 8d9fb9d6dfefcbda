#include "lifecycle/manager.h"

#include "lifecycle/internal.h"
#include "lifecycle/recovery.h"

namespace crio::lifecycle {

Manager::Manager(ManagerDeps deps, std::unique_ptr<state::StateStore> state)
    : ctx_(std::move(deps), std::move(state)) {}

StatusOr<std::unique_ptr<Manager>> Manager::Create(ManagerDeps deps) {
  RETURN_IF_ERROR(internal::MakeDirs(deps.run_dir + "/pods"));
  RETURN_IF_ERROR(internal::MakeDirs(deps.run_dir + "/containers"));
  RETURN_IF_ERROR(internal::MakeDirs(deps.config.runtime.container_exits_dir));
  ASSIGN_OR_RETURN(auto state, state::StateStore::Open(deps.state_dir));
  std::unique_ptr<Manager> manager(new Manager(std::move(deps), std::move(state)));
  // Before Recover, so that no exit falls between Recover's look and the watch.
  manager->exit_watcher_ = ExitWatcher::Start(manager->ctx_, manager->containers_, manager->pods_);
  manager->ctx_.set_exits_watched(manager->exit_watcher_ != nullptr);
  return manager;
}

Status Manager::Recover() { return Recovery(ctx_, containers_, pods_).Run(); }

}  // namespace crio::lifecycle
