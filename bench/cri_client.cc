#include "cri_client.h"

#include <filesystem>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

namespace crio::bench {
namespace {

constexpr auto kRpcTimeout = std::chrono::seconds(120);
constexpr char kBenchLabel[] = "crio-bench";

Status FromGrpc(const char* rpc, const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      std::string(rpc) + ": " + status.error_message());
}

}  // namespace

CriClient::CriClient(const std::string& endpoint) {
  std::string target = endpoint.rfind("unix://", 0) == 0 ? endpoint : "unix://" + endpoint;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  runtime_ = v1::RuntimeService::NewStub(channel);
  image_ = v1::ImageService::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> CriClient::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
  return ctx;
}

Status CriClient::WaitReady(std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  grpc::Status last;
  while (Clock::now() < deadline) {
    v1::VersionRequest req;
    v1::VersionResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    last = runtime_->Version(&ctx, req, &resp);
    if (last.ok()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Unavailable("CRI endpoint not ready: " + last.error_message());
}

Status CriClient::Pull(const std::string& image) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(image);
  v1::PullImageResponse resp;
  return FromGrpc("PullImage", image_->PullImage(Context().get(), req, &resp));
}

v1::PodSandboxConfig CriClient::PodConfig(const PodSpec& spec, int index) const {
  v1::PodSandboxConfig config;
  std::string uid = RandomHex(16);
  std::string name = spec.name_prefix + "-" + std::to_string(index) + "-" + uid.substr(0, 6);
  auto* md = config.mutable_metadata();
  md->set_name(name);
  md->set_namespace_("crio-bench");
  md->set_uid(uid);
  md->set_attempt(0);
  // A hostNetwork pod shares the node's UTS namespace too: leave the node's hostname alone.
  if (!spec.host_network) config.set_hostname(name);
  std::string log_dir = spec.log_root + "/" + name + "_" + uid;
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);  // the kubelet makes the pod's log dir
  config.set_log_directory(log_dir);
  (*config.mutable_labels())[kBenchLabel] = "1";
  auto* linux = config.mutable_linux();
  if (!spec.cgroup_parent.empty()) linux->set_cgroup_parent(spec.cgroup_parent + "/pod" + uid);
  auto* ns = linux->mutable_security_context()->mutable_namespace_options();
  ns->set_network(spec.host_network ? v1::NODE : v1::POD);
  ns->set_pid(v1::CONTAINER);
  ns->set_ipc(v1::POD);
  return config;
}

StatusOr<std::string> CriClient::RunPod(const PodSpec& spec, int index, PodTimes& times) {
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = PodConfig(spec, index);
  req.set_runtime_handler(spec.runtime_handler);
  v1::RunPodSandboxResponse resp;
  auto start = Clock::now();
  grpc::Status st = runtime_->RunPodSandbox(Context().get(), req, &resp);
  times.run_pod = MsSince(start);
  RETURN_IF_ERROR(FromGrpc("RunPodSandbox", st));
  configs_[resp.pod_sandbox_id()] = req.config();
  if (spec.need_ip) {
    v1::PodSandboxStatusRequest sreq;
    sreq.set_pod_sandbox_id(resp.pod_sandbox_id());
    v1::PodSandboxStatusResponse sresp;
    RETURN_IF_ERROR(
        FromGrpc("PodSandboxStatus", runtime_->PodSandboxStatus(Context().get(), sreq, &sresp)));
    if (sresp.status().network().ip().empty()) {
      PodTimes ignored;
      (void)StopRemovePod(resp.pod_sandbox_id(), ignored);
      return FailedPrecondition("pod has no IP (PodSandboxStatus.network.ip is empty)");
    }
  }
  return resp.pod_sandbox_id();
}

StatusOr<std::string> CriClient::StartTop(const PodSpec& spec, const std::string& pod_id, int index,
                                          PodTimes& times) {
  return StartCommand(spec, pod_id, index, "top", {"/bin/busybox", "top", "-b", "-d", "30"}, times);
}

StatusOr<std::string> CriClient::StartCommand(const PodSpec& spec, const std::string& pod_id,
                                              int index, const std::string& name,
                                              const std::vector<std::string>& argv,
                                              PodTimes& times) {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(pod_id);
  auto* config = req.mutable_config();
  config->mutable_metadata()->set_name(name);
  config->mutable_metadata()->set_attempt(0);
  config->mutable_image()->set_image(spec.image);
  if (!argv.empty()) config->add_command(argv[0]);
  for (size_t i = 1; i < argv.size(); ++i) config->add_args(argv[i]);
  config->set_log_path(name + "_" + std::to_string(index) + ".log");
  (*config->mutable_labels())[kBenchLabel] = "1";
  *req.mutable_sandbox_config() = configs_[pod_id];
  v1::CreateContainerResponse resp;
  auto start = Clock::now();
  grpc::Status st = runtime_->CreateContainer(Context().get(), req, &resp);
  times.create = MsSince(start);
  RETURN_IF_ERROR(FromGrpc("CreateContainer", st));

  v1::StartContainerRequest sreq;
  sreq.set_container_id(resp.container_id());
  v1::StartContainerResponse sresp;
  start = Clock::now();
  st = runtime_->StartContainer(Context().get(), sreq, &sresp);
  times.start = MsSince(start);
  RETURN_IF_ERROR(FromGrpc("StartContainer", st));
  return resp.container_id();
}

Status CriClient::StopRemoveContainer(const std::string& id, PodTimes& times) {
  v1::StopContainerRequest req;
  req.set_container_id(id);
  req.set_timeout(0);
  v1::StopContainerResponse resp;
  auto start = Clock::now();
  grpc::Status st = runtime_->StopContainer(Context().get(), req, &resp);
  times.stop = MsSince(start);
  RETURN_IF_ERROR(FromGrpc("StopContainer", st));

  v1::RemoveContainerRequest rreq;
  rreq.set_container_id(id);
  v1::RemoveContainerResponse rresp;
  start = Clock::now();
  st = runtime_->RemoveContainer(Context().get(), rreq, &rresp);
  times.remove = MsSince(start);
  return FromGrpc("RemoveContainer", st);
}

Status CriClient::StopRemovePod(const std::string& pod_id, PodTimes& times) {
  v1::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(pod_id);
  v1::StopPodSandboxResponse resp;
  auto start = Clock::now();
  grpc::Status st = runtime_->StopPodSandbox(Context().get(), req, &resp);
  times.stop_pod = MsSince(start);
  RETURN_IF_ERROR(FromGrpc("StopPodSandbox", st));

  v1::RemovePodSandboxRequest rreq;
  rreq.set_pod_sandbox_id(pod_id);
  v1::RemovePodSandboxResponse rresp;
  start = Clock::now();
  st = runtime_->RemovePodSandbox(Context().get(), rreq, &rresp);
  times.remove_pod = MsSince(start);
  configs_.erase(pod_id);
  return FromGrpc("RemovePodSandbox", st);
}

StatusOr<int> CriClient::ExecSync(const std::string& id, const std::vector<std::string>& cmd) {
  v1::ExecSyncRequest req;
  req.set_container_id(id);
  for (const auto& arg : cmd) req.add_cmd(arg);
  req.set_timeout(60);
  v1::ExecSyncResponse resp;
  RETURN_IF_ERROR(FromGrpc("ExecSync", runtime_->ExecSync(Context().get(), req, &resp)));
  return resp.exit_code();
}

StatusOr<std::string> CriClient::ExecUrl(const std::string& id,
                                         const std::vector<std::string>& cmd) {
  v1::ExecRequest req;
  req.set_container_id(id);
  for (const auto& arg : cmd) req.add_cmd(arg);
  req.set_stdout(true);
  req.set_stderr(true);
  v1::ExecResponse resp;
  RETURN_IF_ERROR(FromGrpc("Exec", runtime_->Exec(Context().get(), req, &resp)));
  return resp.url();
}

StatusOr<std::string> CriClient::PortForwardUrl(const std::string& pod_id, int port) {
  v1::PortForwardRequest req;
  req.set_pod_sandbox_id(pod_id);
  req.add_port(port);
  v1::PortForwardResponse resp;
  RETURN_IF_ERROR(FromGrpc("PortForward", runtime_->PortForward(Context().get(), req, &resp)));
  return resp.url();
}

StatusOr<pid_t> CriClient::ContainerPid(const std::string& id) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(true);
  v1::ContainerStatusResponse resp;
  RETURN_IF_ERROR(
      FromGrpc("ContainerStatus", runtime_->ContainerStatus(Context().get(), req, &resp)));
  auto info = resp.info().find("info");
  if (info == resp.info().end()) return NotFound("ContainerStatus: no verbose info");
  nlohmann::json parsed = nlohmann::json::parse(info->second, nullptr, false);
  pid_t pid = 0;
  if (parsed.is_object() && parsed.contains("pid") && parsed["pid"].is_number_integer()) {
    pid = parsed["pid"].get<pid_t>();
  }
  if (pid <= 0) return NotFound("ContainerStatus: no pid in the verbose info");
  return pid;
}

StatusOr<v1::ListContainerStatsResponse> CriClient::ListContainerStats() {
  v1::ListContainerStatsRequest req;
  v1::ListContainerStatsResponse resp;
  RETURN_IF_ERROR(
      FromGrpc("ListContainerStats", runtime_->ListContainerStats(Context().get(), req, &resp)));
  return resp;
}

StatusOr<v1::ListPodSandboxStatsResponse> CriClient::ListPodSandboxStats() {
  v1::ListPodSandboxStatsRequest req;
  v1::ListPodSandboxStatsResponse resp;
  RETURN_IF_ERROR(
      FromGrpc("ListPodSandboxStats", runtime_->ListPodSandboxStats(Context().get(), req, &resp)));
  return resp;
}

StatusOr<std::vector<std::string>> CriClient::BenchPods() {
  v1::ListPodSandboxRequest req;
  (*req.mutable_filter()->mutable_label_selector())[kBenchLabel] = "1";
  v1::ListPodSandboxResponse resp;
  RETURN_IF_ERROR(
      FromGrpc("ListPodSandbox", runtime_->ListPodSandbox(Context().get(), req, &resp)));
  std::vector<std::string> ids;
  for (const auto& pod : resp.items()) ids.push_back(pod.id());
  return ids;
}

}  // namespace crio::bench
