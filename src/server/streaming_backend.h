#pragma once
// The streaming server's view of the daemon (streaming::Backend) over the lifecycle manager.

#include "lifecycle/manager.h"
#include "streaming/backend.h"

namespace crio::server {

class StreamingBackend final : public streaming::Backend {
 public:
  explicit StreamingBackend(lifecycle::Manager& lifecycle) : lifecycle_(lifecycle) {}

  StatusOr<std::unique_ptr<oci::ExecProcess>> StartExec(
      const streaming::StreamRequest& request) override;
  StatusOr<streaming::AttachTarget> Attach(const std::string& container_id) override;
  StatusOr<os::UniqueFd> DialPod(const std::string& pod_id, int port) override;

 private:
  lifecycle::Manager& lifecycle_;
};

}  // namespace crio::server
