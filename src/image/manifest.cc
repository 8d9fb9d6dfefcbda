#include "image/manifest.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "image/digest.h"

namespace crio::image {
namespace {

using json = nlohmann::json;

std::string Str(std::string_view s) { return std::string(s); }

bool IsKnownManifestType(std::string_view mt) {
  return IsImageManifestMediaType(mt) || IsIndexMediaType(mt) || IsSchema1MediaType(mt);
}

Status Invalid(std::string_view image, std::string_view what) {
  return InvalidArgument(absl::StrCat("invalid manifest for image ", Str(image), ": ", Str(what)));
}

Status ParseStringMap(const json& j, std::string_view field, std::string_view image,
                      std::map<std::string, std::string>& out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_object()) return Invalid(image, absl::StrCat("\"", Str(field), "\" must be an object"));
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) {
      return Invalid(image, absl::StrCat("\"", Str(field), "\" values must be strings"));
    }
    out[k] = v.get<std::string>();
  }
  return absl::OkStatus();
}

StatusOr<Platform> ParsePlatform(const json& j, std::string_view image) {
  if (!j.is_object()) return Invalid(image, "\"platform\" must be an object");
  Platform p;
  auto str = [&](const char* key, std::string& out) -> Status {
    if (!j.contains(key) || j[key].is_null()) return absl::OkStatus();
    if (!j[key].is_string()) {
      return Invalid(image, absl::StrCat("platform \"", key, "\" must be a string"));
    }
    out = j[key].get<std::string>();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(str("os", p.os));
  RETURN_IF_ERROR(str("architecture", p.architecture));
  RETURN_IF_ERROR(str("variant", p.variant));
  RETURN_IF_ERROR(str("os.version", p.os_version));
  if (j.contains("os.features") && j["os.features"].is_array()) {
    for (const json& f : j["os.features"]) {
      if (f.is_string()) p.os_features.push_back(f.get<std::string>());
    }
  }
  return p;
}

StatusOr<Descriptor> ParseDescriptor(const json& j, std::string_view what, std::string_view image) {
  if (!j.is_object()) return Invalid(image, absl::StrCat(Str(what), " must be an object"));
  Descriptor d;
  if (!j.contains("mediaType") || !j["mediaType"].is_string()) {
    return Invalid(image, absl::StrCat(Str(what), " has no \"mediaType\""));
  }
  d.media_type = j["mediaType"].get<std::string>();
  if (!j.contains("digest") || !j["digest"].is_string()) {
    return Invalid(image, absl::StrCat(Str(what), " has no \"digest\""));
  }
  d.digest = j["digest"].get<std::string>();
  Status valid = ValidateDigest(d.digest);
  if (!valid.ok()) return Invalid(image, absl::StrCat(Str(what), ": ", Message(valid)));
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0) {
    return Invalid(image, absl::StrCat(Str(what), " needs a non-negative integer \"size\""));
  }
  d.size = j["size"].get<int64_t>();
  if (j.contains("annotations")) {
    RETURN_IF_ERROR(ParseStringMap(j["annotations"], "annotations", image, d.annotations));
  }
  if (j.contains("platform") && !j["platform"].is_null()) {
    ASSIGN_OR_RETURN(d.platform, ParsePlatform(j["platform"], image));
  }
  return d;
}

Status CheckSchemaVersion(const json& root, std::string_view image) {
  if (!root.contains("schemaVersion") || !root["schemaVersion"].is_number_integer()) {
    return Invalid(image, "missing \"schemaVersion\"");
  }
  if (root["schemaVersion"].get<int64_t>() != 2) {
    return Invalid(
        image, absl::StrCat("unsupported schemaVersion ", root["schemaVersion"].get<int64_t>()));
  }
  return absl::OkStatus();
}

StatusOr<ImageManifest> ParseImage(const json& root, std::string_view media_type,
                                   std::string_view image) {
  RETURN_IF_ERROR(CheckSchemaVersion(root, image));
  ImageManifest m;
  m.media_type = Str(media_type);
  if (!root.contains("config")) return Invalid(image, "missing \"config\"");
  ASSIGN_OR_RETURN(m.config, ParseDescriptor(root["config"], "config", image));
  if (m.config.media_type != kMediaTypeOciConfig && m.config.media_type != kMediaTypeDockerConfig) {
    return FailedPrecondition(absl::StrCat("image ", Str(image), ": config media type \"",
                                           m.config.media_type,
                                           "\" is not a container image config (OCI artifacts "
                                           "are not supported)"));
  }
  if (root.contains("layers") && !root["layers"].is_null()) {
    if (!root["layers"].is_array()) return Invalid(image, "\"layers\" must be a list");
    size_t i = 0;
    for (const json& l : root["layers"]) {
      ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(l, absl::StrCat("layer ", i++), image));
      StatusOr<LayerCompression> c = LayerCompressionForMediaType(d.media_type);
      if (!c.ok()) return Annotate(c.status(), absl::StrCat("image ", Str(image)));
      m.layers.push_back(std::move(d));
    }
  }
  if (root.contains("annotations")) {
    RETURN_IF_ERROR(ParseStringMap(root["annotations"], "annotations", image, m.annotations));
  }
  return m;
}

StatusOr<ImageIndex> ParseIndex(const json& root, std::string_view media_type,
                                std::string_view image) {
  RETURN_IF_ERROR(CheckSchemaVersion(root, image));
  ImageIndex idx;
  idx.media_type = Str(media_type);
  if (!root.contains("manifests") || !root["manifests"].is_array()) {
    return Invalid(image, "missing \"manifests\" list");
  }
  size_t i = 0;
  for (const json& e : root["manifests"]) {
    ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(e, absl::StrCat("manifests[", i++, "]"), image));
    idx.manifests.push_back(std::move(d));
  }
  if (root.contains("annotations")) {
    RETURN_IF_ERROR(ParseStringMap(root["annotations"], "annotations", image, idx.annotations));
  }
  return idx;
}

// Canonical variant per architecture, so that "arm64" == "arm64/v8" and "arm" == "arm/v7".
std::string NormalizeVariant(std::string_view arch, std::string_view variant) {
  if (arch == "arm64" && variant.empty()) return "v8";
  if (arch == "arm" && variant.empty()) return "v7";
  if (arch == "amd64" && variant == "v1") return "";
  return Str(variant);
}

// Acceptable variants, best first. Empty result: any variant (prefer none).
std::vector<std::string> CompatibleVariants(std::string_view arch, std::string_view variant) {
  if (variant.empty()) return {};
  if (arch == "arm") {
    if (variant == "v8") return {"v8", "v7", "v6", "v5"};
    if (variant == "v7") return {"v7", "v6", "v5"};
    if (variant == "v6") return {"v6", "v5"};
  }
  return {Str(variant)};
}

}  // namespace

bool IsImageManifestMediaType(std::string_view mt) {
  return mt == kMediaTypeOciManifest || mt == kMediaTypeDockerManifest;
}

bool IsIndexMediaType(std::string_view mt) {
  return mt == kMediaTypeOciIndex || mt == kMediaTypeDockerManifestList;
}

bool IsSchema1MediaType(std::string_view mt) {
  return mt == kMediaTypeDockerSchema1 || mt == kMediaTypeDockerSchema1Signed;
}

std::string DetectManifestMediaType(std::string_view raw, std::string_view content_type) {
  json root = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!root.is_discarded() && root.is_object() && root.contains("mediaType") &&
      root["mediaType"].is_string()) {
    std::string mt = root["mediaType"].get<std::string>();
    if (IsKnownManifestType(mt)) return mt;
  }
  std::string_view ct = content_type.substr(0, content_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  if (IsKnownManifestType(ct)) return Str(ct);
  if (root.is_discarded() || !root.is_object()) return "";
  if (root.contains("schemaVersion") && root["schemaVersion"] == 1) {
    return Str(kMediaTypeDockerSchema1);
  }
  if (root.contains("manifests")) return Str(kMediaTypeOciIndex);
  if (root.contains("layers") || root.contains("config")) return Str(kMediaTypeOciManifest);
  return "";
}

StatusOr<Manifest> ParseManifest(std::string_view raw, std::string_view media_type,
                                 std::string_view image) {
  json root = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  bool schema1 = IsSchema1MediaType(media_type) ||
                 (!root.is_discarded() && root.is_object() && root.contains("schemaVersion") &&
                  root["schemaVersion"] == 1);
  if (schema1) {
    return FailedPrecondition(absl::StrCat("schema1 manifests are not supported (image ",
                                           Str(image),
                                           "); push the image with a schema2 or OCI manifest"));
  }
  if (root.is_discarded() || !root.is_object()) return Invalid(image, "not a JSON object");
  if (IsImageManifestMediaType(media_type)) {
    ASSIGN_OR_RETURN(ImageManifest m, ParseImage(root, media_type, image));
    return Manifest(std::move(m));
  }
  if (IsIndexMediaType(media_type)) {
    ASSIGN_OR_RETURN(ImageIndex idx, ParseIndex(root, media_type, image));
    return Manifest(std::move(idx));
  }
  return FailedPrecondition(absl::StrCat(
      "image ", Str(image), ": unsupported manifest media type \"", Str(media_type), "\""));
}

StatusOr<LayerCompression> LayerCompressionForMediaType(std::string_view mt) {
  if (mt == "application/vnd.oci.image.layer.v1.tar" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar") {
    return LayerCompression::kNone;
  }
  if (mt == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
    return LayerCompression::kGzip;
  }
  if (mt == "application/vnd.oci.image.layer.v1.tar+zstd" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return LayerCompression::kZstd;
  }
  return FailedPrecondition(absl::StrCat("unsupported layer media type \"", Str(mt), "\""));
}

std::string NormalizeArchitecture(std::string_view arch) {
  if (arch == "x86_64" || arch == "x86-64") return "amd64";
  if (arch == "aarch64") return "arm64";
  if (arch == "armhf" || arch == "armel" || arch.substr(0, 5) == "armv5" ||
      arch.substr(0, 5) == "armv6" || arch.substr(0, 5) == "armv7") {
    return "arm";
  }
  if (arch == "i386" || arch == "i486" || arch == "i586" || arch == "i686") return "386";
  return Str(arch);
}

Platform HostPlatform() {
  Platform p;
  p.os = "linux";
  struct utsname u;
  std::string machine = uname(&u) == 0 ? std::string(u.machine) : std::string("x86_64");
  p.architecture = NormalizeArchitecture(machine);
  if (p.architecture == "arm64") {
    p.variant = "v8";
  } else if (p.architecture == "arm") {
    if (machine.substr(0, 5) == "armv6") {
      p.variant = "v6";
    } else if (machine.substr(0, 5) == "armv5") {
      p.variant = "v5";
    } else {
      p.variant = "v7";
    }
  }
  return p;
}

StatusOr<Descriptor> SelectManifestForPlatform(const ImageIndex& index, const Platform& want) {
  std::string arch = NormalizeArchitecture(want.architecture);
  std::string variant = NormalizeVariant(arch, want.variant);
  std::vector<std::string> variants = CompatibleVariants(arch, variant);
  const Descriptor* best = nullptr;
  size_t best_rank = SIZE_MAX;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform.has_value() || d.platform->os != want.os) continue;
    std::string d_arch = NormalizeArchitecture(d.platform->architecture);
    if (d_arch != arch) continue;
    std::string d_variant = NormalizeVariant(d_arch, d.platform->variant);
    size_t rank;
    if (variants.empty()) {
      rank = d_variant.empty() ? 0 : 1;
    } else {
      auto it = std::find(variants.begin(), variants.end(), d_variant);
      if (it == variants.end()) continue;
      rank = static_cast<size_t>(it - variants.begin());
    }
    if (rank < best_rank) {
      best = &d;
      best_rank = rank;
    }
  }
  if (best == nullptr) {
    return NotFound(absl::StrCat("no image found in manifest list for architecture ", arch,
                                 ", variant \"", want.variant, "\", OS ", want.os));
  }
  return *best;
}

}  // namespace crio::image
