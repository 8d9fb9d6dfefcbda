// UpdateContainerResources and UpdatePodSandboxResources: request checks, then lifecycle::Manager.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "util/log.h"

namespace crio::server {

namespace {

// No exception crosses into gRPC (see lifecycle_rpcs.cc).
template <typename Fn>
grpc::Status GuardedCall(const char* rpc, Fn&& fn) {
  try {
    crio::Status st = fn();
    if (st.ok()) return grpc::Status::OK;
    CRIO_LOG_WARN("{} failed: {}", rpc, st.message());
    return ToGrpc(st);
  } catch (const std::exception& e) {
    CRIO_LOG_ERROR("{}: unexpected exception: {}", rpc, e.what());
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string(rpc) + ": " + e.what());
  }
}

}  // namespace

grpc::Status RuntimeService::UpdateContainerResources(
    grpc::ServerContext*, const v1::UpdateContainerResourcesRequest* req,
    v1::UpdateContainerResourcesResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  if (!req->has_linux()) {
    return ToGrpc(InvalidArgument("linux resources are required (windows is not supported)"));
  }
  return GuardedCall("UpdateContainerResources", [&] {
    return ctx_.lifecycle->UpdateContainerResources(req->container_id(), req->linux());
  });
}

grpc::Status RuntimeService::UpdatePodSandboxResources(
    grpc::ServerContext*, const v1::UpdatePodSandboxResourcesRequest* req,
    v1::UpdatePodSandboxResourcesResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  return GuardedCall("UpdatePodSandboxResources", [&] {
    return ctx_.lifecycle->UpdatePodSandboxResources(req->pod_sandbox_id(), req->overhead(),
                                                     req->resources());
  });
}

}  // namespace crio::server
