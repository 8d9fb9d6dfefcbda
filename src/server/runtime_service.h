#pragma once
// CRI RuntimeService: thin adapters from gRPC messages to the domain.

#include "api.grpc.pb.h"
#include "server/service_context.h"

namespace crio::server {

namespace v1 = ::runtime::v1;

class RuntimeService final : public v1::RuntimeService::Service {
 public:
  explicit RuntimeService(ServiceContext& ctx) : ctx_(ctx) {}

  grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest*,
                       v1::VersionResponse*) override;
  grpc::Status Status(grpc::ServerContext*, const v1::StatusRequest*,
                      v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                             v1::RuntimeConfigResponse*) override;
  grpc::Status UpdateRuntimeConfig(grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest*,
                                   v1::UpdateRuntimeConfigResponse*) override;

// RPCs whose issues have not landed yet answer UNIMPLEMENTED naming themselves.
#define CRIO_PENDING_UNARY(Name)                                                    \
  grpc::Status Name(grpc::ServerContext*, const v1::Name##Request*, v1::Name##Response*) \
      override {                                                                    \
    return Pending(#Name);                                                          \
  }
#define CRIO_PENDING_STREAM(Name, Req, Resp)                                         \
  grpc::Status Name(grpc::ServerContext*, const v1::Req*, grpc::ServerWriter<v1::Resp>*) \
      override {                                                                     \
    return Pending(#Name);                                                           \
  }
  CRIO_PENDING_UNARY(RunPodSandbox)
  CRIO_PENDING_UNARY(StopPodSandbox)
  CRIO_PENDING_UNARY(RemovePodSandbox)
  CRIO_PENDING_UNARY(PodSandboxStatus)
  CRIO_PENDING_UNARY(ListPodSandbox)
  CRIO_PENDING_STREAM(StreamPodSandboxes, StreamPodSandboxesRequest, StreamPodSandboxesResponse)
  CRIO_PENDING_UNARY(CreateContainer)
  CRIO_PENDING_UNARY(StartContainer)
  CRIO_PENDING_UNARY(StopContainer)
  CRIO_PENDING_UNARY(RemoveContainer)
  CRIO_PENDING_UNARY(ListContainers)
  CRIO_PENDING_STREAM(StreamContainers, StreamContainersRequest, StreamContainersResponse)
  CRIO_PENDING_UNARY(ContainerStatus)
  CRIO_PENDING_UNARY(UpdateContainerResources)
  CRIO_PENDING_UNARY(ReopenContainerLog)
  CRIO_PENDING_UNARY(ExecSync)
  CRIO_PENDING_UNARY(Exec)
  CRIO_PENDING_UNARY(Attach)
  CRIO_PENDING_UNARY(PortForward)
  CRIO_PENDING_UNARY(ContainerStats)
  CRIO_PENDING_UNARY(ListContainerStats)
  CRIO_PENDING_STREAM(StreamContainerStats, StreamContainerStatsRequest,
                      StreamContainerStatsResponse)
  CRIO_PENDING_UNARY(PodSandboxStats)
  CRIO_PENDING_UNARY(ListPodSandboxStats)
  CRIO_PENDING_STREAM(StreamPodSandboxStats, StreamPodSandboxStatsRequest,
                      StreamPodSandboxStatsResponse)
  CRIO_PENDING_UNARY(CheckpointContainer)
  CRIO_PENDING_STREAM(GetContainerEvents, GetEventsRequest, ContainerEventResponse)
  CRIO_PENDING_UNARY(ListMetricDescriptors)
  CRIO_PENDING_UNARY(ListPodSandboxMetrics)
  CRIO_PENDING_STREAM(StreamPodSandboxMetrics, StreamPodSandboxMetricsRequest,
                      StreamPodSandboxMetricsResponse)
  CRIO_PENDING_UNARY(UpdatePodSandboxResources)
#undef CRIO_PENDING_UNARY
#undef CRIO_PENDING_STREAM

 private:
  static grpc::Status Pending(std::string_view rpc);
  ServiceContext& ctx_;
};

}  // namespace crio::server
