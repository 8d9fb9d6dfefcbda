#include "server/cri_server.h"

// Generated CRI headers first: their Signal enum clashes with <signal.h> macros.
#include "server/image_service.h"
#include "server/inspect.h"
#include "server/runtime_service.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>

#include "http/server.h"
#include "metrics/grpc_interceptor.h"
#include "os/socket.h"
#include "util/log.h"

namespace crio::server {

struct CriServer::Impl {
  explicit Impl(ServiceContext& ctx) : runtime_service(ctx), image_service(ctx) {}
  RuntimeService runtime_service;
  ImageService image_service;
  std::unique_ptr<grpc::Server> server;
  // Owns the socket: HTTP/1.1 (the inspect endpoints) itself, gRPC handed to `server`.
  std::unique_ptr<http::Server> socket_server;
};

namespace {

// What an HTTP/2 client with prior knowledge (every gRPC client) sends first.
constexpr char kHttp2Preface[] = "PRI * HTTP/2.0\r\n";

// Gives an accepted connection to the gRPC server, which expects a non-blocking socket.
void HandToGrpc(grpc::Server* server, os::UniqueFd fd) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    CRIO_LOG_WARN("CRI socket: cannot make a connection non-blocking: {}", std::strerror(errno));
    return;
  }
  timeval no_timeout{};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof no_timeout);
  grpc::AddInsecureChannelFromFd(server, fd.release());
}

}  // namespace

CriServer::CriServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CriServer::~CriServer() {
  if (impl_ && impl_->socket_server) impl_->socket_server->Stop();
  if (impl_ && impl_->server) {
    impl_->server->Shutdown();
    impl_->server->Wait();
  }
}

StatusOr<std::unique_ptr<CriServer>> CriServer::Start(ServiceContext& ctx,
                                                      const std::string& socket_path) {
  auto impl = std::make_unique<Impl>(ctx);
  const config::ApiConfig api = ctx.ConfigSnapshot().api;
  // No listening port: connections arrive through HandToGrpc.
  grpc::ServerBuilder builder;
  builder.SetMaxSendMessageSize(static_cast<int>(api.grpc_max_send_msg_size));
  builder.SetMaxReceiveMessageSize(static_cast<int>(api.grpc_max_recv_msg_size));
  builder.RegisterService(&impl->runtime_service);
  builder.RegisterService(&impl->image_service);
  // Operation counts and latencies per RPC for the Prometheus endpoint (a no-op when disabled).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<metrics::OperationsInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  impl->server = builder.BuildAndStart();
  if (!impl->server) {
    return Unavailable(absl::StrCat("cannot serve gRPC on ", socket_path));
  }
  ASSIGN_OR_RETURN(os::UniqueFd listener, os::ListenUnix(socket_path, SOCK_STREAM, 0660));
  http::ServerOptions options;
  options.name = "CRI socket";
  options.divert_prefix = kHttp2Preface;
  options.divert = [grpc_server = impl->server.get()](os::UniqueFd fd) {
    HandToGrpc(grpc_server, std::move(fd));
  };
  ASSIGN_OR_RETURN(impl->socket_server,
                   http::Server::Start(std::move(listener), InspectRouter(ctx), options));
  return std::unique_ptr<CriServer>(new CriServer(std::move(impl)));
}

void CriServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  if (!impl_->server) return;
  // No new connections first, so none reaches a gRPC server that is shutting down.
  if (impl_->socket_server) impl_->socket_server->Stop();
  impl_->server->Shutdown(deadline);
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace crio::server
