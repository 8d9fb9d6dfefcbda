// UpdateContainerResources and UpdatePodSandboxResources: request checks, then lifecycle::Manager.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "util/log.h"

namespace crio::server {

grpc::Status RuntimeService::UpdateContainerResources(
    grpc::ServerContext*, const v1::UpdateContainerResourcesRequest* req,
    v1::UpdateContainerResourcesResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  if (!req->has_linux()) {
    return ToGrpc(InvalidArgument("linux resources are required (windows is not supported)"));
  }
  return Guarded("UpdateContainerResources", [&] {
    crio::Status st = ctx_.lifecycle->UpdateContainerResources(req->container_id(), req->linux());
    return st.ok() ? grpc::Status::OK : Failed("UpdateContainerResources", st);
  });
}

grpc::Status RuntimeService::UpdatePodSandboxResources(
    grpc::ServerContext*, const v1::UpdatePodSandboxResourcesRequest* req,
    v1::UpdatePodSandboxResourcesResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  return Guarded("UpdatePodSandboxResources", [&] {
    crio::Status st = ctx_.lifecycle->UpdatePodSandboxResources(req->pod_sandbox_id(),
                                                                req->overhead(), req->resources());
    return st.ok() ? grpc::Status::OK : Failed("UpdatePodSandboxResources", st);
  });
}

}  // namespace crio::server
