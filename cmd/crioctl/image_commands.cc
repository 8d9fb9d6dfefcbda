// crioctl image verbs: pull, images, inspecti, rmi, imagefsinfo (crictl's names and flags).

#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "client.h"

namespace crioctl {

namespace {

// go-units' HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits, as crictl.
std::string HumanSize(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double size = static_cast<double>(bytes);
  int unit = 0;
  while (size >= 1000 && unit < 5) {
    size /= 1000;
    ++unit;
  }
  std::string number = fmt::format("{:.3g}", size);
  return number + kUnits[unit];
}

std::string TruncatedId(const std::string& id) {
  std::string hex = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
  return hex.substr(0, 13);
}

// "docker.io/library/busybox:latest" -> ("docker.io/library/busybox", "latest").
std::pair<std::string, std::string> SplitRepoTag(const std::string& repo_tag) {
  auto colon = repo_tag.rfind(':');
  auto slash = repo_tag.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return {repo_tag, "<none>"};
  }
  return {repo_tag.substr(0, colon), repo_tag.substr(colon + 1)};
}

struct PullOptions {
  std::string image;
  std::string creds;  // USERNAME[:PASSWORD]
  std::string auth;   // base64 user:pass
};

int CmdPull(Client& client, const PullOptions& o) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(o.image);
  if (!o.creds.empty()) {
    auto colon = o.creds.find(':');
    req.mutable_auth()->set_username(o.creds.substr(0, colon));
    if (colon != std::string::npos) req.mutable_auth()->set_password(o.creds.substr(colon + 1));
  }
  if (!o.auth.empty()) req.mutable_auth()->set_auth(o.auth);
  v1::PullImageResponse resp;
  // Pulls take as long as the image is big: like crictl, no per-call deadline here.
  grpc::ClientContext pull_ctx;
  auto* ctx = &pull_ctx;
  grpc::Status st = client.image().PullImage(ctx, req, &resp);
  if (!st.ok()) return Report("PullImage", st);
  std::printf("Image is up to date for %s\n", resp.image_ref().c_str());
  return 0;
}

struct ImagesOptions {
  std::string image;
  bool quiet = false;
  bool digests = false;
  bool no_trunc = false;
};

int CmdImages(Client& client, const ImagesOptions& o) {
  v1::ListImagesRequest req;
  if (!o.image.empty()) req.mutable_filter()->mutable_image()->set_image(o.image);
  v1::ListImagesResponse resp;
  auto ctx = client.Context();
  grpc::Status st = client.image().ListImages(ctx.get(), req, &resp);
  if (!st.ok()) return Report("ListImages", st);
  if (o.quiet) {
    for (const auto& img : resp.images()) std::printf("%s\n", img.id().c_str());
    return 0;
  }
  std::string header = fmt::format("{:<50}{:<20}", "IMAGE", "TAG");
  if (o.digests) header += fmt::format("{:<20}", "DIGEST");
  header += fmt::format("{:<20}{}", "IMAGE ID", "SIZE");
  std::printf("%s\n", header.c_str());
  for (const auto& img : resp.images()) {
    std::string digest = "<none>";
    if (img.repo_digests_size() > 0) {
      const std::string& rd = img.repo_digests(0);
      digest = rd.substr(rd.find('@') + 1);
      if (digest.rfind("sha256:", 0) == 0) digest = digest.substr(7);
      if (!o.no_trunc) digest = digest.substr(0, 13);
    }
    std::string id = o.no_trunc ? img.id() : TruncatedId(img.id());
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& rt : img.repo_tags()) rows.push_back(SplitRepoTag(rt));
    if (rows.empty()) {
      std::string repo = "<none>";
      if (img.repo_digests_size() > 0)
        repo = img.repo_digests(0).substr(0, img.repo_digests(0).find('@'));
      rows.emplace_back(repo, "<none>");
    }
    for (const auto& [repo, tag] : rows) {
      std::string line = fmt::format("{:<50}{:<20}", repo, tag);
      if (o.digests) line += fmt::format("{:<20}", digest);
      line += fmt::format("{:<20}{}", id, HumanSize(img.size()));
      std::printf("%s\n", line.c_str());
    }
  }
  return 0;
}

int CmdInspecti(Client& client, const std::vector<std::string>& images) {
  int rc = 0;
  for (const auto& image : images) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(image);
    req.set_verbose(true);
    v1::ImageStatusResponse resp;
    auto ctx = client.Context();
    grpc::Status st = client.image().ImageStatus(ctx.get(), req, &resp);
    if (!st.ok()) {
      rc = Report("ImageStatus", st);
      continue;
    }
    if (!resp.has_image()) {
      std::fprintf(stderr, "crioctl: no such image \"%s\" present\n", image.c_str());
      rc = 1;
      continue;
    }
    nlohmann::json out = {{"status", nlohmann::json::parse(ToJson(resp.image()))}};
    for (const auto& [key, value] : resp.info()) {
      auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      out[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
    }
    std::cout << out.dump(2) << "\n";
  }
  return rc;
}

int CmdRmi(Client& client, const std::vector<std::string>& images) {
  int rc = 0;
  for (const auto& image : images) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(image);
    v1::RemoveImageResponse resp;
    auto ctx = client.Context();
    grpc::Status st = client.image().RemoveImage(ctx.get(), req, &resp);
    if (!st.ok()) {
      rc = Report("RemoveImage", st);
      continue;
    }
    std::printf("Deleted: %s\n", image.c_str());
  }
  return rc;
}

int CmdImageFsInfo(Client& client) {
  v1::ImageFsInfoRequest req;
  v1::ImageFsInfoResponse resp;
  auto ctx = client.Context();
  grpc::Status st = client.image().ImageFsInfo(ctx.get(), req, &resp);
  if (!st.ok()) return Report("ImageFsInfo", st);
  std::cout << nlohmann::json::parse(ToJson(resp)).dump(2) << "\n";
  return 0;
}

}  // namespace

void AddImageCommands(CLI::App& app, Commands& commands) {
  auto pull = std::make_shared<PullOptions>();
  CLI::App* pull_cmd = app.add_subcommand("pull", "Pull an image from a registry");
  pull_cmd->add_option("image", pull->image, "Image reference")->required();
  pull_cmd->add_option("--creds", pull->creds, "Registry credentials USERNAME[:PASSWORD]");
  pull_cmd->add_option("--auth", pull->auth, "base64 of USERNAME:PASSWORD");
  commands.push_back({pull_cmd, [pull](Client& c) { return CmdPull(c, *pull); }});

  auto images = std::make_shared<ImagesOptions>();
  CLI::App* images_cmd = app.add_subcommand("images", "List images");
  images_cmd->alias("image");
  images_cmd->add_option("image", images->image, "Filter by image reference");
  images_cmd->add_flag("--quiet,-q", images->quiet, "Only show image IDs");
  images_cmd->add_flag("--digests", images->digests, "Show digests");
  images_cmd->add_flag("--no-trunc", images->no_trunc, "Do not truncate IDs and digests");
  commands.push_back({images_cmd, [images](Client& c) { return CmdImages(c, *images); }});

  auto inspect = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect_cmd = app.add_subcommand("inspecti", "Show the status of one or more images");
  inspect_cmd->add_option("image", *inspect, "Image references or IDs")->required();
  commands.push_back({inspect_cmd, [inspect](Client& c) { return CmdInspecti(c, *inspect); }});

  auto rmi = std::make_shared<std::vector<std::string>>();
  CLI::App* rmi_cmd = app.add_subcommand("rmi", "Remove one or more images");
  rmi_cmd->add_option("image", *rmi, "Image references or IDs")->required();
  commands.push_back({rmi_cmd, [rmi](Client& c) { return CmdRmi(c, *rmi); }});

  CLI::App* fs_cmd = app.add_subcommand("imagefsinfo", "Show image filesystem usage");
  commands.push_back({fs_cmd, CmdImageFsInfo});
}

}  // namespace crioctl
