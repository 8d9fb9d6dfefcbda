#include <gtest/gtest.h>

#include <string>

#include "image/manifest.h"

namespace crio::image {
namespace {

std::string D(char c) { return "sha256:" + std::string(64, c); }

std::string OciManifest(
    const std::string& layer_type = "application/vnd.oci.image.layer.v1.tar+gzip",
    const std::string& config_type = "application/vnd.oci.image.config.v1+json") {
  return R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": ")" +
         config_type + R"(", "digest": ")" + D('c') + R"(", "size": 1469},
    "layers": [
      {"mediaType": ")" +
         layer_type + R"(", "digest": ")" + D('1') + R"(", "size": 100,
       "annotations": {"org.opencontainers.image.title": "base"}},
      {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": ")" +
         D('2') +
         R"(", "size": 200, "urls": ["https://ignored.example.com/blob"]}
    ],
    "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}})";
}

std::string Index() {
  auto entry = [](char d, const std::string& arch, const std::string& variant,
                  const std::string& os = "linux") {
    return R"({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": ")" + D(d) +
           R"(", "size": 500, "platform": {"architecture": ")" + arch + R"(", "os": ")" + os +
           R"(")" + (variant.empty() ? "" : R"(, "variant": ")" + variant + R"(")") + "}}";
  };
  return R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [)" +
         entry('0', "unknown", "", "unknown") + "," + entry('a', "amd64", "") + "," +
         entry('b', "arm", "v6") + "," + entry('c', "arm", "v7") + "," + entry('d', "arm64", "v8") +
         "," + entry('e', "ppc64le", "") + "," + entry('f', "amd64", "", "windows") + "]}";
}

ImageManifest MustImage(const std::string& raw, const std::string& mt) {
  StatusOr<Manifest> m = ParseManifest(raw, mt, "quay.io/a:1");
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok() || !std::holds_alternative<ImageManifest>(*m)) return {};
  return std::get<ImageManifest>(*m);
}

ImageIndex MustIndex(const std::string& raw) {
  StatusOr<Manifest> m = ParseManifest(raw, DetectManifestMediaType(raw, ""), "quay.io/a:1");
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok() || !std::holds_alternative<ImageIndex>(*m)) return {};
  return std::get<ImageIndex>(*m);
}

TEST(ParseManifest, OciManifest_ParsesConfigAndLayers) {
  ImageManifest m = MustImage(OciManifest(), std::string(kMediaTypeOciManifest));
  EXPECT_EQ(m.config.digest, D('c'));
  EXPECT_EQ(m.config.size, 1469);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.layers[0].digest, D('1'));
  EXPECT_EQ(m.layers[0].size, 100);
  EXPECT_EQ(m.layers[0].annotations.at("org.opencontainers.image.title"), "base");
  EXPECT_EQ(m.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_EQ(m.annotations.at("org.opencontainers.image.created"), "2024-01-01T00:00:00Z");
}

TEST(ParseManifest, DockerSchema2_Parses) {
  std::string raw = R"({"schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
               "digest": ")" +
                    D('7') + R"("},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 32654, "digest": ")" +
                    D('8') + R"("}]})";
  ImageManifest m = MustImage(raw, DetectManifestMediaType(raw, "application/json"));
  EXPECT_EQ(m.media_type, kMediaTypeDockerManifest);
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_EQ(*LayerCompressionForMediaType(m.layers[0].media_type), LayerCompression::kGzip);
}

TEST(ParseManifest, Schema1_IsRefusedWithAdvice) {
  for (const auto& [raw, ct] : std::vector<std::pair<std::string, std::string>>{
           {R"({"schemaVersion": 1, "name": "a", "tag": "1", "fsLayers": []})", ""},
           {R"({"schemaVersion": 1, "signatures": []})",
            "application/vnd.docker.distribution.manifest.v1+prettyjws"},
       }) {
    std::string mt = DetectManifestMediaType(raw, ct);
    EXPECT_TRUE(IsSchema1MediaType(mt)) << mt;
    StatusOr<Manifest> m = ParseManifest(raw, mt, "quay.io/old:1");
    ASSERT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(std::string(m.status().message()),
              "schema1 manifests are not supported (image quay.io/old:1); push the image with a "
              "schema2 or OCI manifest");
  }
}

TEST(ParseManifest, UnknownLayerType_NamesIt) {
  StatusOr<Manifest> m = ParseManifest(OciManifest("application/x-custom-layer"),
                                       std::string(kMediaTypeOciManifest), "quay.io/a:1");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(m.status().message()).find("application/x-custom-layer"),
            std::string::npos);
}

TEST(ParseManifest, NonDistributableLayers_AreAccepted) {
  ImageManifest m =
      MustImage(OciManifest("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
                std::string(kMediaTypeOciManifest));
  EXPECT_EQ(m.layers.size(), 2u);
}

TEST(ParseManifest, ArtifactConfig_IsRefused) {
  StatusOr<Manifest> m = ParseManifest(OciManifest("application/vnd.oci.image.layer.v1.tar",
                                                   "application/vnd.cncf.helm.config.v1+json"),
                                       std::string(kMediaTypeOciManifest), "quay.io/chart:1");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(m.status().message()).find("helm"), std::string::npos);
}

TEST(ParseManifest, BadFields_AreInvalidArgument) {
  std::string mt(kMediaTypeOciManifest);
  const std::string config_head =
      R"({"schemaVersion": 2,)"
      R"( "config": {"mediaType": "application/vnd.oci.image.config.v1+json", )";
  for (const std::string& raw : std::vector<std::string>{
           "not json",
           R"({"schemaVersion": 3, "config": {}})",
           R"({"schemaVersion": 2})",
           config_head + R"("digest": "sha256:12", "size": 1}})",
           config_head + R"("digest": ")" + D('1') + R"(", "size": -1}})",
       }) {
    EXPECT_EQ(ParseManifest(raw, mt, "x").status().code(), absl::StatusCode::kInvalidArgument)
        << raw;
  }
}

TEST(DetectManifestMediaType, PrefersBodyThenContentTypeThenShape) {
  EXPECT_EQ(DetectManifestMediaType(OciManifest(), "text/plain"), kMediaTypeOciManifest);
  EXPECT_EQ(DetectManifestMediaType(R"({"schemaVersion": 2, "layers": []})",
                                    "application/vnd.docker.distribution.manifest.v2+json; "
                                    "charset=utf-8"),
            kMediaTypeDockerManifest);
  EXPECT_EQ(DetectManifestMediaType(R"({"schemaVersion": 2, "manifests": []})", ""),
            kMediaTypeOciIndex);
  EXPECT_EQ(DetectManifestMediaType("[]", "application/json"), "");
}

TEST(SelectManifestForPlatform, PicksByOsArchAndVariant) {
  ImageIndex idx = MustIndex(Index());
  ASSERT_EQ(idx.manifests.size(), 7u);
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "amd64", "", "", {}})->digest, D('a'));
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "x86_64", "", "", {}})->digest, D('a'));
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "arm", "v7", "", {}})->digest, D('c'));
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "armv6l", "v6", "", {}})->digest, D('b'));
  EXPECT_EQ(SelectManifestForPlatform(idx, {"windows", "amd64", "", "", {}})->digest, D('f'));
}

TEST(SelectManifestForPlatform, Arm64DefaultVariant_MatchesV8AndEmpty) {
  ImageIndex idx = MustIndex(Index());
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "aarch64", "", "", {}})->digest, D('d'));
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "arm64", "v8", "", {}})->digest, D('d'));
  // An arm64 entry without a variant is v8 too.
  ImageIndex plain;
  plain.manifests.push_back(Descriptor{"m", D('9'), 1, {}, Platform{"linux", "arm64", "", "", {}}});
  EXPECT_EQ(SelectManifestForPlatform(plain, {"linux", "arm64", "v8", "", {}})->digest, D('9'));
}

TEST(SelectManifestForPlatform, ArmV7Host_FallsBackToV6Image) {
  ImageIndex idx;
  idx.manifests.push_back(Descriptor{"m", D('6'), 1, {}, Platform{"linux", "arm", "v6", "", {}}});
  idx.manifests.push_back(Descriptor{"m", D('8'), 1, {}, Platform{"linux", "arm", "v8", "", {}}});
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "arm", "v7", "", {}})->digest, D('6'));
}

TEST(SelectManifestForPlatform, NoMatch_IsNotFoundNamingPlatform) {
  ImageIndex idx = MustIndex(Index());
  StatusOr<Descriptor> d = SelectManifestForPlatform(idx, {"linux", "s390x", "", "", {}});
  ASSERT_EQ(d.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(d.status().message()).find("architecture s390x"), std::string::npos);
  EXPECT_EQ(SelectManifestForPlatform(idx, {"linux", "arm64", "v9", "", {}}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(HostPlatform, IsLinuxWithNormalisedArch) {
  Platform p = HostPlatform();
  EXPECT_EQ(p.os, "linux");
  EXPECT_NE(p.architecture, "x86_64");
  EXPECT_NE(p.architecture, "aarch64");
  EXPECT_FALSE(p.architecture.empty());
  if (p.architecture == "arm64") {
    EXPECT_EQ(p.variant, "v8");
  }
}

TEST(NormalizeArchitecture, MapsUnameNames) {
  EXPECT_EQ(NormalizeArchitecture("x86_64"), "amd64");
  EXPECT_EQ(NormalizeArchitecture("aarch64"), "arm64");
  EXPECT_EQ(NormalizeArchitecture("armv7l"), "arm");
  EXPECT_EQ(NormalizeArchitecture("i686"), "386");
  EXPECT_EQ(NormalizeArchitecture("ppc64le"), "ppc64le");
}

TEST(LayerCompressionForMediaType, KnownAndUnknownTypes) {
  EXPECT_EQ(*LayerCompressionForMediaType("application/vnd.oci.image.layer.v1.tar"),
            LayerCompression::kNone);
  EXPECT_EQ(*LayerCompressionForMediaType("application/vnd.oci.image.layer.v1.tar+zstd"),
            LayerCompression::kZstd);
  EXPECT_EQ(
      *LayerCompressionForMediaType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
      LayerCompression::kGzip);
  EXPECT_EQ(LayerCompressionForMediaType("application/octet-stream").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace crio::image
