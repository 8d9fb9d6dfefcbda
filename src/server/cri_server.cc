#include "server/cri_server.h"

#include "metrics/grpc_interceptor.h"

#include <grpcpp/grpcpp.h>

#include "server/image_service.h"
#include "server/runtime_service.h"

namespace crio::server {

struct CriServer::Impl {
  explicit Impl(ServiceContext& ctx) : runtime_service(ctx), image_service(ctx) {}
  RuntimeService runtime_service;
  ImageService image_service;
  std::unique_ptr<grpc::Server> server;
};

CriServer::CriServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CriServer::~CriServer() {
  if (impl_ && impl_->server) {
    impl_->server->Shutdown();
    impl_->server->Wait();
  }
}

StatusOr<std::unique_ptr<CriServer>> CriServer::Start(ServiceContext& ctx,
                                                      const std::string& socket_path) {
  auto impl = std::make_unique<Impl>(ctx);
  const config::ApiConfig api = ctx.ConfigSnapshot().api;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
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
  return std::unique_ptr<CriServer>(new CriServer(std::move(impl)));
}

void CriServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  if (!impl_->server) return;
  impl_->server->Shutdown(deadline);
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace crio::server
