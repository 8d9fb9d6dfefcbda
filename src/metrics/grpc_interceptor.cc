#include "metrics/grpc_interceptor.h"

#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/status.h>

#include <chrono>

namespace crio::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

// One per RPC. The clock starts when gRPC matches the call to a method, before the request is
// read, and stops when the handler hands its status to gRPC (PRE_SEND_STATUS is the last hook a
// server interceptor sees that carries the status; gRPC 1.51 has no POST_SEND_STATUS).
class OperationsInterceptor : public grpc::experimental::Interceptor {
 public:
  OperationsInterceptor(CrioMetrics& metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics), info_(info), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      bool failed = !methods->GetSendStatus().ok();
      const char* method = info_->method();
      metrics_.RecordOperation(OperationName(method == nullptr ? "" : method),
                               std::chrono::steady_clock::now() - start_, failed);
    }
    methods->Proceed();
  }

 private:
  CrioMetrics& metrics_;
  grpc::experimental::ServerRpcInfo* info_;  // owns this interceptor, so outlives it
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::string_view OperationName(std::string_view method) {
  std::size_t slash = method.rfind('/');
  return slash == std::string_view::npos ? method : method.substr(slash + 1);
}

grpc::experimental::Interceptor* OperationsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  if (!metrics_.RecordsOperations()) return nullptr;
  return new OperationsInterceptor(metrics_, info);
}

}  // namespace crio::metrics
