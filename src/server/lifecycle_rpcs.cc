// RuntimeService RPCs for pod sandboxes and containers: request validation, conversion of the
// persisted state into CRI messages, and nothing else (the work is in lifecycle::Manager).
#include "server/runtime_service.h"

#include <nlohmann/json.hpp>

#include "server/converters.h"
#include "server/grpc_status.h"
#include "util/log.h"

namespace crio::server {

namespace {

constexpr int kStreamBatch = 100;

void FillPod(const state::PodState& pod, v1::PodSandbox* out) {
  out->set_id(pod.id());
  *out->mutable_metadata() = pod.config().metadata();
  out->set_state(pod.state());
  out->set_created_at(pod.created_at());
  *out->mutable_labels() = pod.config().labels();
  *out->mutable_annotations() = pod.config().annotations();
  out->set_runtime_handler(pod.runtime_handler());
}

void FillContainer(const state::ContainerState& c, v1::Container* out) {
  out->set_id(c.id());
  out->set_pod_sandbox_id(c.pod_id());
  *out->mutable_metadata() = c.config().metadata();
  *out->mutable_image() = c.config().image();
  out->mutable_image()->set_image(c.image_name());
  out->set_image_ref(c.image_id());
  out->set_image_id(c.image_id());
  out->set_state(c.state());
  out->set_created_at(c.created_at());
  *out->mutable_labels() = c.config().labels();
  *out->mutable_annotations() = c.config().annotations();
}

std::string PodVerboseInfo(const state::PodState& pod) {
  nlohmann::json j = {{"id", pod.id()},
                      {"name", pod.name()},
                      {"runtimeHandler", pod.runtime_handler()},
                      {"podDir", pod.pod_dir()},
                      {"netnsPath", pod.netns_path()},
                      {"ipcnsPath", pod.ipcns_path()},
                      {"utsnsPath", pod.utsns_path()},
                      {"shmPath", pod.shm_path()},
                      {"cgroupPath", pod.cgroup_path()},
                      {"infraContainerId", pod.infra_container_id()},
                      {"infraImage", pod.infra_image()}};
  return j.dump();
}

std::string ContainerVerboseInfo(const state::ContainerState& c) {
  nlohmann::json j = {{"id", c.id()},
                      {"sandboxID", c.pod_id()},
                      {"name", c.name()},
                      {"pid", c.pid()},
                      {"runtimeHandler", c.runtime_handler()},
                      {"bundle", c.bundle()},
                      {"rootfs", c.rootfs()},
                      {"cgroupPath", c.cgroup_path()},
                      {"stopSignal", c.stop_signal()}};
  return j.dump();
}

lifecycle::PodFilter ToPodFilter(const v1::PodSandboxFilter& f) {
  lifecycle::PodFilter out;
  out.id = f.id();
  if (f.has_state()) out.state = f.state().state();
  out.labels.insert(f.label_selector().begin(), f.label_selector().end());
  return out;
}

lifecycle::ContainerFilter ToContainerFilter(const v1::ContainerFilter& f) {
  lifecycle::ContainerFilter out;
  out.id = f.id();
  out.pod_id = f.pod_sandbox_id();
  if (f.has_state()) out.state = f.state().state();
  out.labels.insert(f.label_selector().begin(), f.label_selector().end());
  return out;
}

}  // namespace

grpc::Status RuntimeService::NoLifecycle() const {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "pod lifecycle is not initialised");
}

grpc::Status RuntimeService::RunPodSandbox(grpc::ServerContext*,
                                           const v1::RunPodSandboxRequest* req,
                                           v1::RunPodSandboxResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  return Guarded("RunPodSandbox", [&] {
    auto id = ctx_.lifecycle->RunPodSandbox(req->config(), req->runtime_handler());
    if (!id.ok()) return Failed("RunPodSandbox", id.status());
    resp->set_pod_sandbox_id(*id);
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StopPodSandbox(grpc::ServerContext*,
                                            const v1::StopPodSandboxRequest* req,
                                            v1::StopPodSandboxResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  return Guarded("StopPodSandbox", [&] {
    crio::Status st = ctx_.lifecycle->StopPodSandbox(req->pod_sandbox_id());
    return st.ok() ? grpc::Status::OK : Failed("StopPodSandbox", st);
  });
}

grpc::Status RuntimeService::RemovePodSandbox(grpc::ServerContext*,
                                              const v1::RemovePodSandboxRequest* req,
                                              v1::RemovePodSandboxResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  return Guarded("RemovePodSandbox", [&] {
    crio::Status st = ctx_.lifecycle->RemovePodSandbox(req->pod_sandbox_id());
    return st.ok() ? grpc::Status::OK : Failed("RemovePodSandbox", st);
  });
}

grpc::Status RuntimeService::PodSandboxStatus(grpc::ServerContext*,
                                              const v1::PodSandboxStatusRequest* req,
                                              v1::PodSandboxStatusResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  auto pod = ctx_.lifecycle->PodStatus(req->pod_sandbox_id());
  if (!pod.ok()) return ToGrpc(pod.status());
  FillPodStatus(*pod, resp->mutable_status());
  if (req->verbose()) (*resp->mutable_info())["info"] = PodVerboseInfo(*pod);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandbox(grpc::ServerContext*,
                                            const v1::ListPodSandboxRequest* req,
                                            v1::ListPodSandboxResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  for (const auto& pod : ctx_.lifecycle->ListPods(ToPodFilter(req->filter()))) {
    FillPod(pod, resp->add_items());
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamPodSandboxes(
    grpc::ServerContext*, const v1::StreamPodSandboxesRequest* req,
    grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) {
  if (!ctx_.lifecycle) return NoLifecycle();
  v1::StreamPodSandboxesResponse batch;
  for (const auto& pod : ctx_.lifecycle->ListPods(ToPodFilter(req->filter()))) {
    FillPod(pod, batch.add_pod_sandboxes());
    if (batch.pod_sandboxes_size() == kStreamBatch) {
      if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
      batch.Clear();
    }
  }
  if (batch.pod_sandboxes_size() > 0) writer->Write(batch);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::CreateContainer(grpc::ServerContext*,
                                             const v1::CreateContainerRequest* req,
                                             v1::CreateContainerResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  return Guarded("CreateContainer", [&] {
    auto id = ctx_.lifecycle->CreateContainer(req->pod_sandbox_id(), req->config(),
                                              req->sandbox_config());
    if (!id.ok()) return Failed("CreateContainer", id.status());
    resp->set_container_id(*id);
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StartContainer(grpc::ServerContext*,
                                            const v1::StartContainerRequest* req,
                                            v1::StartContainerResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  return Guarded("StartContainer", [&] {
    crio::Status st = ctx_.lifecycle->StartContainer(req->container_id());
    return st.ok() ? grpc::Status::OK : Failed("StartContainer", st);
  });
}

grpc::Status RuntimeService::StopContainer(grpc::ServerContext*,
                                           const v1::StopContainerRequest* req,
                                           v1::StopContainerResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  return Guarded("StopContainer", [&] {
    crio::Status st = ctx_.lifecycle->StopContainer(req->container_id(), req->timeout());
    // CRI: stopping a container that no longer exists is not an error.
    if (st.code() == absl::StatusCode::kNotFound) return grpc::Status::OK;
    return st.ok() ? grpc::Status::OK : Failed("StopContainer", st);
  });
}

grpc::Status RuntimeService::RemoveContainer(grpc::ServerContext*,
                                             const v1::RemoveContainerRequest* req,
                                             v1::RemoveContainerResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  return Guarded("RemoveContainer", [&] {
    crio::Status st = ctx_.lifecycle->RemoveContainer(req->container_id());
    return st.ok() ? grpc::Status::OK : Failed("RemoveContainer", st);
  });
}

grpc::Status RuntimeService::ListContainers(grpc::ServerContext*,
                                            const v1::ListContainersRequest* req,
                                            v1::ListContainersResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  for (const auto& c : ctx_.lifecycle->ListContainers(ToContainerFilter(req->filter()))) {
    FillContainer(c, resp->add_containers());
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamContainers(
    grpc::ServerContext*, const v1::StreamContainersRequest* req,
    grpc::ServerWriter<v1::StreamContainersResponse>* writer) {
  if (!ctx_.lifecycle) return NoLifecycle();
  v1::StreamContainersResponse batch;
  for (const auto& c : ctx_.lifecycle->ListContainers(ToContainerFilter(req->filter()))) {
    FillContainer(c, batch.add_containers());
    if (batch.containers_size() == kStreamBatch) {
      if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
      batch.Clear();
    }
  }
  if (batch.containers_size() > 0) writer->Write(batch);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ContainerStatus(grpc::ServerContext*,
                                             const v1::ContainerStatusRequest* req,
                                             v1::ContainerStatusResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  auto c = ctx_.lifecycle->ContainerStatus(req->container_id());
  if (!c.ok()) return ToGrpc(c.status());
  FillContainerStatus(*c, resp->mutable_status());
  if (req->verbose()) (*resp->mutable_info())["info"] = ContainerVerboseInfo(*c);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* req,
                                      v1::ExecSyncResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  std::vector<std::string> cmd(req->cmd().begin(), req->cmd().end());
  return Guarded("ExecSync", [&] {
    auto r = ctx_.lifecycle->ExecSync(req->container_id(), cmd, req->timeout());
    if (!r.ok()) return Failed("ExecSync", r.status());
    resp->set_stdout(r->stdout_data);
    resp->set_stderr(r->stderr_data);
    resp->set_exit_code(r->exit_code);
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::ReopenContainerLog(grpc::ServerContext*,
                                                const v1::ReopenContainerLogRequest* req,
                                                v1::ReopenContainerLogResponse*) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  crio::Status st = ctx_.lifecycle->ReopenContainerLog(req->container_id());
  return st.ok() ? grpc::Status::OK : Failed("ReopenContainerLog", st);
}

}  // namespace crio::server
