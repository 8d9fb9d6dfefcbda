#include "server/image_service.h"

#include <nlohmann/json.hpp>

#include "server/grpc_status.h"
#include "util/log.h"

namespace crio::server {

namespace {

constexpr size_t kStreamBatch = 100;

void FillImage(const image::ImageInfo& info, v1::Image* out) {
  out->set_id(info.id);
  for (const auto& t : info.repo_tags) out->add_repo_tags(t);
  for (const auto& d : info.repo_digests) out->add_repo_digests(d);
  out->set_size(info.size);
  if (info.uid) out->mutable_uid()->set_value(*info.uid);
  out->set_username(info.username);
  out->set_pinned(info.pinned);
  out->mutable_spec()->set_image(info.id);
}

std::string VerboseImageInfo(const image::ImageInfo& info) {
  auto config = nlohmann::json::parse(info.config.raw, nullptr, /*allow_exceptions=*/false);
  nlohmann::json j = {{"id", info.id},
                      {"repoTags", info.repo_tags},
                      {"repoDigests", info.repo_digests},
                      {"manifestDigest", info.manifest_digest},
                      {"labels", info.config.config.labels},
                      {"imageSpec", config.is_discarded() ? nlohmann::json() : config}};
  return j.dump();
}

image::AuthConfig ToAuth(const v1::AuthConfig& a) {
  return {a.username(),       a.password(),       a.auth(),
          a.server_address(), a.identity_token(), a.registry_token()};
}

grpc::Status NotReady() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "image store is not initialised");
}

void FillUsage(const storage::FsUsage& usage, v1::FilesystemUsage* out) {
  out->set_timestamp(usage.timestamp_ns);
  out->mutable_fs_id()->set_mountpoint(usage.mountpoint);
  out->mutable_used_bytes()->set_value(usage.used_bytes);
  out->mutable_inodes_used()->set_value(usage.inodes_used);
}

}  // namespace

StatusOr<std::vector<image::ImageInfo>> ImageService::Filtered(const v1::ImageFilter& filter) {
  const std::string& wanted = filter.image().image();
  if (wanted.empty()) return ctx_.images->List();
  auto one = ctx_.images->Inspect(wanted);
  if (one.status().code() == absl::StatusCode::kNotFound) return std::vector<image::ImageInfo>{};
  if (!one.ok()) return one.status();
  return std::vector<image::ImageInfo>{*std::move(one)};
}

grpc::Status ImageService::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                                      v1::ListImagesResponse* resp) {
  if (!ctx_.images) return NotReady();
  auto images = Filtered(req->filter());
  if (!images.ok()) return ToGrpc(images.status());
  for (const auto& info : *images) FillImage(info, resp->add_images());
  return grpc::Status::OK;
}

grpc::Status ImageService::StreamImages(grpc::ServerContext*, const v1::StreamImagesRequest* req,
                                        grpc::ServerWriter<v1::StreamImagesResponse>* writer) {
  if (!ctx_.images) return NotReady();
  auto images = Filtered(req->filter());
  if (!images.ok()) return ToGrpc(images.status());
  v1::StreamImagesResponse batch;
  for (const auto& info : *images) {
    FillImage(info, batch.add_images());
    if (static_cast<size_t>(batch.images_size()) == kStreamBatch) {
      if (!writer->Write(batch))
        return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      batch.Clear();
    }
  }
  if (batch.images_size() > 0 && !writer->Write(batch)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  return grpc::Status::OK;
}

grpc::Status ImageService::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                                       v1::ImageStatusResponse* resp) {
  if (!ctx_.images) return NotReady();
  if (req->image().image().empty()) {
    return ToGrpc(InvalidArgument("image.image: an image reference is required"));
  }
  auto info = ctx_.images->Inspect(req->image().image());
  // CRI: an absent image is a response without `image`, not an error.
  if (info.status().code() == absl::StatusCode::kNotFound) return grpc::Status::OK;
  if (!info.ok()) return ToGrpc(info.status());
  FillImage(*info, resp->mutable_image());
  if (req->verbose()) (*resp->mutable_info())["info"] = VerboseImageInfo(*info);
  return grpc::Status::OK;
}

grpc::Status ImageService::PullImage(grpc::ServerContext*, const v1::PullImageRequest* req,
                                     v1::PullImageResponse* resp) {
  if (!ctx_.images) return NotReady();
  const std::string& image = req->image().image();
  if (image.empty()) return ToGrpc(InvalidArgument("image.image: an image reference is required"));
  CRIO_LOG_INFO("pulling image={}", image);
  auto pulled = ctx_.images->Pull(image, ToAuth(req->auth()));
  if (!pulled.ok()) {
    CRIO_LOG_ERROR("pull image={} failed: {}", image, pulled.status().message());
    return ToGrpc(pulled.status());
  }
  resp->set_image_ref(pulled->image_id);
  return grpc::Status::OK;
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                                       v1::RemoveImageResponse*) {
  if (!ctx_.images) return NotReady();
  const std::string& image = req->image().image();
  if (image.empty()) return ToGrpc(InvalidArgument("image.image: an image reference is required"));
  Status st = ctx_.images->Remove(image);
  // CRI: RemoveImage is idempotent; an image that is already gone is not an error.
  if (st.code() == absl::StatusCode::kNotFound) {
    CRIO_LOG_INFO("remove image={}: already absent", image);
    return grpc::Status::OK;
  }
  return ToGrpc(st);
}

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                       v1::ImageFsInfoResponse* resp) {
  if (!ctx_.store) return NotReady();
  auto images = ctx_.store->ImageFsUsage();
  if (!images.ok()) return ToGrpc(images.status());
  auto containers = ctx_.store->ContainerFsUsage();
  if (!containers.ok()) return ToGrpc(containers.status());
  FillUsage(*images, resp->add_image_filesystems());
  FillUsage(*containers, resp->add_container_filesystems());
  return grpc::Status::OK;
}

}  // namespace crio::server
