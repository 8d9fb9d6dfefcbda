#pragma once
// Records every CRI call into CRI-O's operation metrics: its name, latency and whether it
// failed. Register the factory on the grpc::ServerBuilder that serves the CRI services.

#include <grpcpp/support/server_interceptor.h>

#include <string_view>

#include "metrics/crio_metrics.h"

namespace crio::metrics {

// "RunPodSandbox" for "/runtime.v1.RuntimeService/RunPodSandbox": the method's last component.
std::string_view OperationName(std::string_view method);

class OperationsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` must outlive the server.
  explicit OperationsInterceptorFactory(CrioMetrics& metrics = Crio()) : metrics_(metrics) {}

  // Null (no interceptor, no cost) when no operation collector is enabled.
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CrioMetrics& metrics_;
};

}  // namespace crio::metrics
