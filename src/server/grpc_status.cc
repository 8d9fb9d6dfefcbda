#include "server/grpc_status.h"

namespace crio::server {

namespace {
bool IsDeliberate(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}
}  // namespace

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  auto code = IsDeliberate(status.code()) ? static_cast<grpc::StatusCode>(status.code())
                                          : grpc::StatusCode::UNKNOWN;
  return grpc::Status(code, std::string(status.message()));
}

grpc::Status NotImplemented(std::string_view service, std::string_view rpc) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat(std::string(service), "/", std::string(rpc),
                                   " is not implemented by crio-cpp yet"));
}

grpc::Status Failed(const char* rpc, const Status& status) {
  CRIO_LOG_WARN("{} failed: {}", rpc, status.message());
  return ToGrpc(status);
}

}  // namespace crio::server
