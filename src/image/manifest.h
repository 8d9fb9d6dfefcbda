#pragma once
// OCI image manifests and indexes, Docker schema2 manifests and manifest lists
// (opencontainers/image-spec manifest.md, image-index.md; distribution manifest-v2-2.md), and
// platform selection in an index.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/status.h"

namespace crio::image {

inline constexpr std::string_view kMediaTypeOciManifest =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaTypeOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaTypeDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kMediaTypeDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kMediaTypeDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kMediaTypeDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kMediaTypeOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kMediaTypeDockerConfig =
    "application/vnd.docker.container.image.v1+json";

// Accept header for manifest requests: the four types we can use.
inline constexpr std::string_view kManifestAcceptHeader =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

bool IsImageManifestMediaType(std::string_view media_type);  // OCI manifest, Docker schema2
bool IsIndexMediaType(std::string_view media_type);          // OCI index, Docker manifest list
bool IsSchema1MediaType(std::string_view media_type);

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // GOARCH names: "amd64", "arm64", "arm", "386", "ppc64le", ...
  std::string variant;       // "v8", "v7", ... or empty
  std::string os_version;
  std::vector<std::string> os_features;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;  // index entries only
  // "urls" (foreign layer locations) are ignored: blobs are always fetched from the registry.
};

enum class LayerCompression { kNone, kGzip, kZstd };

struct ImageManifest {
  std::string media_type;  // resolved media type (see DetectManifestMediaType)
  Descriptor config;
  std::vector<Descriptor> layers;  // base layer first
  std::map<std::string, std::string> annotations;
};

struct ImageIndex {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

using Manifest = std::variant<ImageManifest, ImageIndex>;

// The media type of a manifest body: the JSON "mediaType" when it names a known type, else
// `content_type` (parameters such as "; charset=utf-8" dropped) when known, else guessed from
// the structure (schemaVersion 1 -> schema1, "manifests" -> OCI index, "layers" -> OCI manifest).
// Returns "" when nothing fits.
std::string DetectManifestMediaType(std::string_view raw, std::string_view content_type);

// Parses a manifest or index of media type `media_type` (from DetectManifestMediaType). `image`
// names the image in errors.
// Errors: FailedPrecondition("schema1 manifests are not supported (image X); push the image with
// a schema2 or OCI manifest") for schema1; FailedPrecondition for an unknown manifest media type,
// a config that is not an image config (OCI artifacts), or a layer media type we cannot unpack
// (message names the type); InvalidArgument for invalid JSON, missing/invalid fields, bad
// digests or negative sizes.
StatusOr<Manifest> ParseManifest(std::string_view raw, std::string_view media_type,
                                 std::string_view image);

// Compression of a layer media type: OCI tar / tar+gzip / tar+zstd (and their non-distributable
// variants), Docker rootfs.diff.tar.gzip and rootfs.foreign.diff.tar.gzip.
// Errors: FailedPrecondition("unsupported layer media type T").
StatusOr<LayerCompression> LayerCompressionForMediaType(std::string_view media_type);

// GOARCH name for a uname machine / common alias: x86_64 -> amd64, aarch64 -> arm64,
// armv7l -> arm, i686 -> 386; others unchanged.
std::string NormalizeArchitecture(std::string_view arch);

// linux / uname(2) machine, normalised; variant "v8" on arm64, "v7"/"v6" on arm.
Platform HostPlatform();

// Picks the index entry for `want`: os and architecture must match (after normalisation); when
// `want.variant` is set, an entry's variant must be compatible (arm64: "" == "v8"; arm: an exact
// match is preferred, then older variants, e.g. v7 host runs v6 and v5 images); without a wanted
// variant any variant matches. Among equally good entries the first wins.
// Errors: NotFound("no image found in manifest list for architecture A, variant V, OS O").
StatusOr<Descriptor> SelectManifestForPlatform(const ImageIndex& index, const Platform& want);

}  // namespace crio::image
