#pragma once
// The one place where domain errors become gRPC status codes.

#include <grpcpp/support/status.h>

#include "util/status.h"

namespace crio::server {

// Passes through the codes the domain produces on purpose (InvalidArgument, NotFound, ...);
// anything else becomes UNKNOWN with its message kept.
grpc::Status ToGrpc(const Status& status);

// "RuntimeService/Exec is not implemented by crio-cpp yet".
grpc::Status NotImplemented(std::string_view service, std::string_view rpc);

}  // namespace crio::server
