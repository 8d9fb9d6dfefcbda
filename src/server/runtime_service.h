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
  grpc::Status Status(grpc::ServerContext*, const v1::StatusRequest*, v1::StatusResponse*) override;
  grpc::Status RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                             v1::RuntimeConfigResponse*) override;
  grpc::Status UpdateRuntimeConfig(grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest*,
                                   v1::UpdateRuntimeConfigResponse*) override;

  grpc::Status RunPodSandbox(grpc::ServerContext*, const v1::RunPodSandboxRequest*,
                             v1::RunPodSandboxResponse*) override;
  grpc::Status StopPodSandbox(grpc::ServerContext*, const v1::StopPodSandboxRequest*,
                              v1::StopPodSandboxResponse*) override;
  grpc::Status RemovePodSandbox(grpc::ServerContext*, const v1::RemovePodSandboxRequest*,
                                v1::RemovePodSandboxResponse*) override;
  grpc::Status PodSandboxStatus(grpc::ServerContext*, const v1::PodSandboxStatusRequest*,
                                v1::PodSandboxStatusResponse*) override;
  grpc::Status ListPodSandbox(grpc::ServerContext*, const v1::ListPodSandboxRequest*,
                              v1::ListPodSandboxResponse*) override;
  grpc::Status StreamPodSandboxes(grpc::ServerContext*, const v1::StreamPodSandboxesRequest*,
                                  grpc::ServerWriter<v1::StreamPodSandboxesResponse>*) override;
  grpc::Status CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest*,
                               v1::CreateContainerResponse*) override;
  grpc::Status StartContainer(grpc::ServerContext*, const v1::StartContainerRequest*,
                              v1::StartContainerResponse*) override;
  grpc::Status StopContainer(grpc::ServerContext*, const v1::StopContainerRequest*,
                             v1::StopContainerResponse*) override;
  grpc::Status RemoveContainer(grpc::ServerContext*, const v1::RemoveContainerRequest*,
                               v1::RemoveContainerResponse*) override;
  grpc::Status ListContainers(grpc::ServerContext*, const v1::ListContainersRequest*,
                              v1::ListContainersResponse*) override;
  grpc::Status StreamContainers(grpc::ServerContext*, const v1::StreamContainersRequest*,
                                grpc::ServerWriter<v1::StreamContainersResponse>*) override;
  grpc::Status ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest*,
                               v1::ContainerStatusResponse*) override;
  grpc::Status ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest*,
                        v1::ExecSyncResponse*) override;
  grpc::Status ReopenContainerLog(grpc::ServerContext*, const v1::ReopenContainerLogRequest*,
                                  v1::ReopenContainerLogResponse*) override;
  // server/streaming_rpcs.cc
  grpc::Status Exec(grpc::ServerContext*, const v1::ExecRequest*, v1::ExecResponse*) override;
  grpc::Status Attach(grpc::ServerContext*, const v1::AttachRequest*, v1::AttachResponse*) override;
  grpc::Status PortForward(grpc::ServerContext*, const v1::PortForwardRequest*,
                           v1::PortForwardResponse*) override;
  // server/resources_rpcs.cc
  grpc::Status UpdateContainerResources(grpc::ServerContext*,
                                        const v1::UpdateContainerResourcesRequest*,
                                        v1::UpdateContainerResourcesResponse*) override;
  grpc::Status UpdatePodSandboxResources(grpc::ServerContext*,
                                         const v1::UpdatePodSandboxResourcesRequest*,
                                         v1::UpdatePodSandboxResourcesResponse*) override;

// RPCs whose issues have not landed yet answer UNIMPLEMENTED naming themselves.
#define CRIO_PENDING_UNARY(Name)                                                         \
  grpc::Status Name(grpc::ServerContext*, const v1::Name##Request*, v1::Name##Response*) \
      override {                                                                         \
    return Pending(#Name);                                                               \
  }
#define CRIO_PENDING_STREAM(Name, Req, Resp)                                             \
  grpc::Status Name(grpc::ServerContext*, const v1::Req*, grpc::ServerWriter<v1::Resp>*) \
      override {                                                                         \
    return Pending(#Name);                                                               \
  }
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
#undef CRIO_PENDING_UNARY
#undef CRIO_PENDING_STREAM

 private:
  static grpc::Status Pending(std::string_view rpc);
  grpc::Status NoLifecycle() const;
  grpc::Status NoStreaming() const;
  ServiceContext& ctx_;
};

}  // namespace crio::server
