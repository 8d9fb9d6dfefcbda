#pragma once
// CRI ImageService: thin adapters from gRPC messages to the image store.

#include "api.grpc.pb.h"
#include "server/service_context.h"

namespace crio::server {

namespace v1 = ::runtime::v1;

class ImageService final : public v1::ImageService::Service {
 public:
  explicit ImageService(ServiceContext& ctx) : ctx_(ctx) {}

#define CRIO_PENDING_UNARY(Name)                                                    \
  grpc::Status Name(grpc::ServerContext*, const v1::Name##Request*, v1::Name##Response*) \
      override {                                                                    \
    return Pending(#Name);                                                          \
  }
  CRIO_PENDING_UNARY(ListImages)
  CRIO_PENDING_UNARY(ImageStatus)
  CRIO_PENDING_UNARY(PullImage)
  CRIO_PENDING_UNARY(RemoveImage)
  CRIO_PENDING_UNARY(ImageFsInfo)
#undef CRIO_PENDING_UNARY
  grpc::Status StreamImages(grpc::ServerContext*, const v1::StreamImagesRequest*,
                            grpc::ServerWriter<v1::StreamImagesResponse>*) override {
    return Pending("StreamImages");
  }

 private:
  static grpc::Status Pending(std::string_view rpc);
  [[maybe_unused]] ServiceContext& ctx_;
};

}  // namespace crio::server
