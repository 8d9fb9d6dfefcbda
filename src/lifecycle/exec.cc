#include "lifecycle/exec.h"

#include <algorithm>
#include <chrono>

namespace crio::lifecycle {

using state::ContainerState;
using state::PodState;

StatusOr<oci::ExecSyncResult> Exec::Sync(const std::string& id_or_prefix,
                                         const std::vector<std::string>& cmd,
                                         int64_t timeout_seconds) {
  if (cmd.empty()) return InvalidArgument("cmd: a command is required");
  ASSIGN_OR_RETURN(ContainerState ctr, Running(id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  return runtime->ExecSync(ctr.id(), cmd,
                           std::chrono::seconds(std::max<int64_t>(0, timeout_seconds)), false);
}

StatusOr<ContainerState> Exec::Running(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(ContainerState ctr, containers_.StatusOf(id_or_prefix));
  if (ctr.state() != v1::CONTAINER_RUNNING) {
    return FailedPrecondition(absl::StrCat("container ", ctr.id(), " is not running"));
  }
  return ctr;
}

StatusOr<std::unique_ptr<oci::ExecProcess>> Exec::Start(const std::string& id_or_prefix,
                                                        const std::vector<std::string>& cmd,
                                                        bool tty) {
  if (cmd.empty()) return InvalidArgument("cmd: a command is required");
  ASSIGN_OR_RETURN(ContainerState ctr, Running(id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  return runtime->StartExec(ctr.id(), cmd, tty);
}

StatusOr<oci::AttachEndpoint> Exec::Attach(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(ContainerState ctr, Running(id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  return runtime->Attach(ctr.id());
}

StatusOr<std::string> Exec::PodNetworkNamespace(const std::string& pod_id) {
  ASSIGN_OR_RETURN(PodState pod, pods_.StatusOf(pod_id));
  if (pod.state() != v1::SANDBOX_READY) {
    return FailedPrecondition(absl::StrCat("pod sandbox ", pod.id(), " is not ready"));
  }
  return pod.netns_path();
}

Status Exec::ReopenLog(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(ContainerState ctr, Running(id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  return runtime->ReopenLog(ctr.id());
}

}  // namespace crio::lifecycle
