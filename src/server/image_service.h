#pragma once
// CRI ImageService: thin adapters from gRPC messages to image::ImageManager.

#include "api.grpc.pb.h"
#include "server/service_context.h"

namespace crio::server {

namespace v1 = ::runtime::v1;

class ImageService final : public v1::ImageService::Service {
 public:
  explicit ImageService(ServiceContext& ctx) : ctx_(ctx) {}

  grpc::Status ListImages(grpc::ServerContext*, const v1::ListImagesRequest*,
                          v1::ListImagesResponse*) override;
  grpc::Status StreamImages(grpc::ServerContext*, const v1::StreamImagesRequest*,
                            grpc::ServerWriter<v1::StreamImagesResponse>*) override;
  grpc::Status ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest*,
                           v1::ImageStatusResponse*) override;
  grpc::Status PullImage(grpc::ServerContext*, const v1::PullImageRequest*,
                         v1::PullImageResponse*) override;
  grpc::Status RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest*,
                           v1::RemoveImageResponse*) override;
  grpc::Status ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                           v1::ImageFsInfoResponse*) override;

 private:
  // The list the kubelet asked for, or an error status.
  StatusOr<std::vector<image::ImageInfo>> Filtered(const v1::ImageFilter& filter);
  ServiceContext& ctx_;
};

}  // namespace crio::server
