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

  // server/stats_rpcs.cc
  grpc::Status ContainerStats(grpc::ServerContext*, const v1::ContainerStatsRequest*,
                              v1::ContainerStatsResponse*) override;
  grpc::Status ListContainerStats(grpc::ServerContext*, const v1::ListContainerStatsRequest*,
                                  v1::ListContainerStatsResponse*) override;
  grpc::Status StreamContainerStats(grpc::ServerContext*, const v1::StreamContainerStatsRequest*,
                                    grpc::ServerWriter<v1::StreamContainerStatsResponse>*) override;
  grpc::Status PodSandboxStats(grpc::ServerContext*, const v1::PodSandboxStatsRequest*,
                               v1::PodSandboxStatsResponse*) override;
  grpc::Status ListPodSandboxStats(grpc::ServerContext*, const v1::ListPodSandboxStatsRequest*,
                                   v1::ListPodSandboxStatsResponse*) override;
  grpc::Status StreamPodSandboxStats(
      grpc::ServerContext*, const v1::StreamPodSandboxStatsRequest*,
      grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>*) override;
  grpc::Status ListMetricDescriptors(grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
                                     v1::ListMetricDescriptorsResponse*) override;
  grpc::Status ListPodSandboxMetrics(grpc::ServerContext*, const v1::ListPodSandboxMetricsRequest*,
                                     v1::ListPodSandboxMetricsResponse*) override;
  grpc::Status StreamPodSandboxMetrics(
      grpc::ServerContext*, const v1::StreamPodSandboxMetricsRequest*,
      grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>*) override;
  // server/events_rpcs.cc
  grpc::Status GetContainerEvents(grpc::ServerContext*, const v1::GetEventsRequest*,
                                  grpc::ServerWriter<v1::ContainerEventResponse>*) override;

  // Checkpointing (CRIU) is not supported.
  grpc::Status CheckpointContainer(grpc::ServerContext*, const v1::CheckpointContainerRequest*,
                                   v1::CheckpointContainerResponse*) override {
    return Pending("CheckpointContainer");
  }

 private:
  static grpc::Status Pending(std::string_view rpc);
  grpc::Status NoLifecycle() const;
  grpc::Status NoStreaming() const;
  ServiceContext& ctx_;
};

}  // namespace crio::server
