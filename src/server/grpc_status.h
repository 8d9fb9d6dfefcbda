#pragma once
// The one place where domain errors become gRPC status codes.

#include <grpcpp/support/status.h>

#include <exception>
#include <string>

#include "util/log.h"
#include "util/status.h"

namespace crio::server {

// Passes through the codes the domain produces on purpose (InvalidArgument, NotFound, ...);
// anything else becomes UNKNOWN with its message kept.
grpc::Status ToGrpc(const Status& status);

// "RuntimeService/Exec is not implemented by crio-cpp yet".
grpc::Status NotImplemented(std::string_view service, std::string_view rpc);

// An RPC's failure: logged once for the operator, then converted with ToGrpc.
grpc::Status Failed(const char* rpc, const Status& status);

// The last line of defence, for every service: no exception crosses into gRPC.
template <typename Fn>
grpc::Status Guarded(const char* rpc, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    CRIO_LOG_ERROR("{}: unexpected exception: {}", rpc, e.what());
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string(rpc) + ": " + e.what());
  }
}

}  // namespace crio::server
