#pragma once
// What runs beside a container's main process: ExecSync, the streaming server's exec, attach
// and port-forward lookups, and log reopening. Each checks the container (or pod) is running
// and hands over to its runtime.
#include "crio_state.pb.h"

#include <memory>
#include <string>
#include <vector>

#include "lifecycle/containers.h"
#include "lifecycle/context.h"
#include "lifecycle/pods.h"
#include "oci/runtime.h"
#include "util/status.h"

namespace crio::lifecycle {

class Exec {
 public:
  Exec(Context& ctx, Containers& containers, Pods& pods)
      : ctx_(ctx), containers_(containers), pods_(pods) {}

  StatusOr<oci::ExecSyncResult> Sync(const std::string& id, const std::vector<std::string>& cmd,
                                     int64_t timeout_seconds);
  // The running container `id`. Errors: NotFound (unknown id); FailedPrecondition when it is
  // not running.
  StatusOr<state::ContainerState> Running(const std::string& id);
  // Starts `cmd` in the running container with a pty when `tty`, else pipes.
  StatusOr<std::unique_ptr<oci::ExecProcess>> Start(const std::string& id,
                                                    const std::vector<std::string>& cmd, bool tty);
  // The running container's attach socket and control FIFO.
  StatusOr<oci::AttachEndpoint> Attach(const std::string& id);
  // The ready pod's network namespace path; empty for a pod in the node's network.
  // Errors: NotFound (unknown pod); FailedPrecondition when the pod is not ready.
  StatusOr<std::string> PodNetworkNamespace(const std::string& pod_id);
  Status ReopenLog(const std::string& id);

 private:
  Context& ctx_;
  Containers& containers_;
  Pods& pods_;
};

}  // namespace crio::lifecycle
