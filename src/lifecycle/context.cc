#include "lifecycle/context.h"

#include <algorithm>

#include "lifecycle/internal.h"
#include "metrics/crio_metrics.h"

namespace crio::lifecycle {

using state::ContainerState;
using state::PodState;

Context::Context(ManagerDeps deps, std::unique_ptr<state::StateStore> state)
    : deps_(std::move(deps)), state_(std::move(state)) {
  events_.SetDropHook([] { metrics::Crio().RecordEventDropped(); });
}

StatusOr<oci::Runtime*> Context::RuntimeFor(const std::string& handler) {
  auto runtime = deps_.handlers->Get(handler);
  if (runtime.status().code() == absl::StatusCode::kNotFound) {
    return InvalidArgument(absl::StrCat("runtime handler \"", handler,
                                        "\" is not configured ([crio.runtime.runtimes.", handler,
                                        "])"));
  }
  return runtime;
}

std::shared_ptr<const config::Config> Context::CurrentConfig() const {
  if (deps_.live != nullptr) return deps_.live->Get();
  // No reloads: the start-up configuration, owned by deps_ (an aliasing, non-owning pointer).
  return std::shared_ptr<const config::Config>(std::shared_ptr<void>(), &deps_.config);
}

std::function<Status(pid_t)> Context::MonitorPlacement(const PodState& pod,
                                                       const std::string& container_id) const {
  auto cfg = CurrentConfig();
  auto handler = cfg->runtime.runtimes.find(pod.runtime_handler());
  std::string monitor_cgroup =
      handler != cfg->runtime.runtimes.end() ? handler->second.monitor_cgroup : "";
  return [cgroups = deps_.cgroups, parent = pod.config().linux().cgroup_parent(), container_id,
          monitor_cgroup](pid_t pid) {
    return cgroups->PlaceMonitor(pid, parent, container_id, monitor_cgroup);
  };
}

StatusOr<std::string> Context::PodCgroupOf(const PodState& pod) const {
  return deps_.cgroups->PodCgroupPath(pod.config().linux().cgroup_parent());
}

void Context::PublishContainerEvent(v1::ContainerEventType type, const ContainerState& ctr) {
  ContainerEvent event;
  event.type = type;
  event.container_id = ctr.id();
  event.created_at = internal::NowNs();
  if (auto pod = state_->GetPod(ctr.pod_id())) {
    event.pod = *std::move(pod);
  } else {
    event.pod.set_id(ctr.pod_id());
  }
  event.containers = state_->ContainersOfPod(ctr.pod_id());
  // `ctr` as the caller has it: a removed container keeps its last status in its DELETED event.
  auto it = std::find_if(event.containers.begin(), event.containers.end(),
                         [&](const ContainerState& c) { return c.id() == ctr.id(); });
  if (it != event.containers.end()) {
    *it = ctr;
  } else {
    event.containers.push_back(ctr);
  }
  events_.Publish(std::move(event));
}

void Context::PublishPodEvent(v1::ContainerEventType type, const PodState& pod) {
  ContainerEvent event;
  event.type = type;
  event.container_id = pod.id();
  event.created_at = internal::NowNs();
  event.pod = pod;
  event.containers = state_->ContainersOfPod(pod.id());
  events_.Publish(std::move(event));
}

}  // namespace crio::lifecycle
