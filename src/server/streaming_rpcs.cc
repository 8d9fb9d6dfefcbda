// Exec, Attach and PortForward: validate, register with the streaming server, return its URL.
#include <sys/socket.h>

#include "os/netns.h"
#include "os/socket.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/streaming_backend.h"
#include "util/log.h"

namespace crio::server {

StatusOr<std::unique_ptr<oci::ExecProcess>> StreamingBackend::StartExec(
    const streaming::StreamRequest& request) {
  return lifecycle_.StartExec(request.container_id, request.cmd, request.tty);
}

StatusOr<streaming::AttachTarget> StreamingBackend::Attach(const std::string& container_id) {
  ASSIGN_OR_RETURN(state::ContainerState ctr, lifecycle_.RunningContainer(container_id));
  ASSIGN_OR_RETURN(oci::AttachEndpoint endpoint, lifecycle_.AttachEndpoint(ctr.id()));
  streaming::AttachTarget target;
  ASSIGN_OR_RETURN(target.socket, os::ConnectUnix(endpoint.socket_path, SOCK_SEQPACKET));
  target.control_path = endpoint.control_path;
  target.tty = ctr.config().tty();
  target.stdin_once = ctr.config().stdin_once();
  return target;
}

StatusOr<os::UniqueFd> StreamingBackend::DialPod(const std::string& pod_id, int port) {
  ASSIGN_OR_RETURN(std::string netns, lifecycle_.PodNetworkNamespace(pod_id));
  return os::ConnectLocalhostInNetns(netns, port);
}

namespace {

// The CRI's rules for a remote command's streams, worded as the kubelet words them.
Status ValidateStreams(bool tty, bool in, bool out, bool err, std::string_view conj) {
  if (tty && err) return InvalidArgument("tty and stderr cannot both be true");
  if (!in && !out && !err) {
    return InvalidArgument(
        absl::StrCat("one of stdin, stdout, ", std::string(conj), " stderr must be set"));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status RuntimeService::NoStreaming() const {
  return ToGrpc(Unavailable("the streaming server is not running"));
}

grpc::Status RuntimeService::Exec(grpc::ServerContext*, const v1::ExecRequest* req,
                                  v1::ExecResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.streaming) return NoStreaming();
  if (req->container_id().empty()) {
    return ToGrpc(InvalidArgument("missing required container_id"));
  }
  if (req->cmd().empty()) return ToGrpc(InvalidArgument("cmd: a command is required"));
  crio::Status valid =
      ValidateStreams(req->tty(), req->stdin(), req->stdout(), req->stderr(), "or");
  if (!valid.ok()) return ToGrpc(valid);
  auto ctr = ctx_.lifecycle->RunningContainer(req->container_id());
  if (!ctr.ok()) return Failed("Exec", ctr.status());
  streaming::StreamRequest request;
  request.kind = streaming::RequestKind::kExec;
  request.container_id = ctr->id();
  request.cmd.assign(req->cmd().begin(), req->cmd().end());
  request.tty = req->tty();
  request.stdin = req->stdin();
  request.stdout = req->stdout();
  request.stderr = req->stderr();
  auto url = ctx_.streaming->Register(std::move(request));
  if (!url.ok()) return Failed("Exec", url.status());
  resp->set_url(*url);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::Attach(grpc::ServerContext*, const v1::AttachRequest* req,
                                    v1::AttachResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.streaming) return NoStreaming();
  if (req->container_id().empty()) {
    return ToGrpc(InvalidArgument("missing required container_id"));
  }
  crio::Status valid =
      ValidateStreams(req->tty(), req->stdin(), req->stdout(), req->stderr(), "and");
  if (!valid.ok()) return ToGrpc(valid);
  auto ctr = ctx_.lifecycle->RunningContainer(req->container_id());
  if (!ctr.ok()) return Failed("Attach", ctr.status());
  streaming::StreamRequest request;
  request.kind = streaming::RequestKind::kAttach;
  request.container_id = ctr->id();
  request.tty = req->tty();
  // Stdin only reaches a container created with it (CRI `stdin`).
  request.stdin = req->stdin() && ctr->config().stdin();
  request.stdout = req->stdout();
  request.stderr = req->stderr();
  auto url = ctx_.streaming->Register(std::move(request));
  if (!url.ok()) return Failed("Attach", url.status());
  resp->set_url(*url);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::PortForward(grpc::ServerContext*, const v1::PortForwardRequest* req,
                                         v1::PortForwardResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.streaming) return NoStreaming();
  if (req->pod_sandbox_id().empty()) {
    return ToGrpc(InvalidArgument("missing required pod_sandbox_id"));
  }
  for (int32_t port : req->port()) {
    if (port <= 0 || port > 65535) {
      return ToGrpc(InvalidArgument(absl::StrCat("port: ", port, " is not a valid TCP port")));
    }
  }
  auto netns = ctx_.lifecycle->PodNetworkNamespace(req->pod_sandbox_id());
  if (!netns.ok()) return Failed("PortForward", netns.status());
  auto pod = ctx_.lifecycle->PodStatus(req->pod_sandbox_id());
  if (!pod.ok()) return Failed("PortForward", pod.status());
  streaming::StreamRequest request;
  request.kind = streaming::RequestKind::kPortForward;
  request.pod_id = pod->id();
  request.ports.assign(req->port().begin(), req->port().end());
  auto url = ctx_.streaming->Register(std::move(request));
  if (!url.ok()) return Failed("PortForward", url.status());
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace crio::server
