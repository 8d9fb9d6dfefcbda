#include "server/image_service.h"

#include "server/grpc_status.h"

namespace crio::server {

grpc::Status ImageService::Pending(std::string_view rpc) {
  return NotImplemented("runtime.v1.ImageService", rpc);
}

}  // namespace crio::server
