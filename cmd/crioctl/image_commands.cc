// crioctl image verbs: pull, images, inspecti, rmi, imagefsinfo (crictl's names and flags).

#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "call.h"

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
  SetAuth(o.creds, o.auth, &req);
  // Pulls take as long as the image is big: like crictl, no per-call deadline here.
  return CallAndPrint(
      client, Rpc{"PullImage", &ImageStub::PullImage}, req,
      [](const v1::PullImageResponse& resp) {
        std::printf("Image is up to date for %s\n", resp.image_ref().c_str());
      },
      ContextWithTimeout({}));
}

struct ImagesOptions {
  std::string image;
  bool quiet = false;
  bool digests = false;
  bool no_trunc = false;
};

// `crictl images`: one row per repo tag (or one "<none>" row), in fixed-width columns.
void PrintImagesTable(const v1::ListImagesResponse& resp, const ImagesOptions& o) {
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
}

int CmdImages(Client& client, const ImagesOptions& o) {
  v1::ListImagesRequest req;
  if (!o.image.empty()) req.mutable_filter()->mutable_image()->set_image(o.image);
  return CallAndPrint(client, Rpc{"ListImages", &ImageStub::ListImages}, req,
                      [&o](const v1::ListImagesResponse& resp) {
                        if (o.quiet) {
                          for (const auto& img : resp.images())
                            std::printf("%s\n", img.id().c_str());
                        } else {
                          PrintImagesTable(resp, o);
                        }
                      });
}

// {"status": <image>, <info key>: <value>...}; an absent image fails.
int PrintImageStatus(const std::string& image, const v1::ImageStatusResponse& resp) {
  if (!resp.has_image()) return Fail(absl::StrCat("no such image \"", image, "\" present"));
  nlohmann::json out = {{"status", nlohmann::json::parse(ToJson(resp.image()))}};
  AddInfoValues(resp.info(), &out);
  std::cout << out.dump(2) << "\n";
  return 0;
}

int CmdInspecti(Client& client, const std::vector<std::string>& images) {
  return ForEach(images, OnError::kKeepGoing, [&client](const std::string& image) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(image);
    req.set_verbose(true);
    return CallAndPrint(
        client, Rpc{"ImageStatus", &ImageStub::ImageStatus}, req,
        [&image](const v1::ImageStatusResponse& resp) { return PrintImageStatus(image, resp); });
  });
}

int CmdRmi(Client& client, const std::vector<std::string>& images) {
  return ForEach(images, OnError::kKeepGoing, [&client](const std::string& image) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(image);
    return CallAndPrint(
        client, Rpc{"RemoveImage", &ImageStub::RemoveImage}, req,
        [&image](const v1::RemoveImageResponse&) { std::printf("Deleted: %s\n", image.c_str()); });
  });
}

int CmdImageFsInfo(Client& client) {
  return CallAndPrint(client, Rpc{"ImageFsInfo", &ImageStub::ImageFsInfo}, {},
                      [](const v1::ImageFsInfoResponse& resp) {
                        std::cout << nlohmann::json::parse(ToJson(resp)).dump(2) << "\n";
                      });
}

}  // namespace

void AddImageCommands(CLI::App& app, Commands& commands) {
  auto [pull_cmd, pull] = AddVerb(app, commands, "pull", "Pull an image from a registry", CmdPull);
  pull_cmd->add_option("image", pull.image, "Image reference")->required();
  pull_cmd->add_option("--creds", pull.creds, "Registry credentials USERNAME[:PASSWORD]");
  pull_cmd->add_option("--auth", pull.auth, "base64 of USERNAME:PASSWORD");

  auto [images_cmd, images] = AddVerb(app, commands, "images", "List images", CmdImages);
  images_cmd->alias("image");
  images_cmd->add_option("image", images.image, "Filter by image reference");
  images_cmd->add_flag("--quiet,-q", images.quiet, "Only show image IDs");
  images_cmd->add_flag("--digests", images.digests, "Show digests");
  images_cmd->add_flag("--no-trunc", images.no_trunc, "Do not truncate IDs and digests");

  auto [inspect_cmd, inspect] =
      AddVerb(app, commands, "inspecti", "Show the status of one or more images", CmdInspecti);
  inspect_cmd->add_option("image", inspect, "Image references or IDs")->required();

  auto [rmi_cmd, rmi] = AddVerb(app, commands, "rmi", "Remove one or more images", CmdRmi);
  rmi_cmd->add_option("image", rmi, "Image references or IDs")->required();

  CLI::App* fs_cmd = app.add_subcommand("imagefsinfo", "Show image filesystem usage");
  commands.push_back({fs_cmd, CmdImageFsInfo});
}

}  // namespace crioctl
