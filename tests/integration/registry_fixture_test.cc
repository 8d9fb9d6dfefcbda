// Checks RegistryFixture against the real docker-registry: the images make_test_images.py
// reports are the ones the registry serves, byte for byte, and auth works as documented.

#include "registry_fixture.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

namespace crio::testing {
namespace {

std::string Sha256Digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

StatusOr<HttpResponse> GetManifest(const RegistryFixture& registry, const std::string& repo,
                                   const std::string& ref) {
  HttpRequestOptions options;
  options.headers = {ManifestAcceptHeader()};
  if (registry.with_auth()) {
    options.user = std::string(RegistryFixture::kUser) + ":" + RegistryFixture::kPassword;
  }
  return HttpGet(registry.base_url() + "/v2/" + repo + "/manifests/" + ref, options);
}

StatusOr<HttpResponse> GetBlob(const RegistryFixture& registry, const std::string& repo,
                               const std::string& digest) {
  return HttpGet(registry.base_url() + "/v2/" + repo + "/blobs/" + digest);
}

// One registry with the images pushed, shared by the suite: pushing takes seconds.
class RegistryFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!RegistryFixture::Available()) return;
    auto started = RegistryFixture::Start();
    if (!started.ok()) {
      *setup_status_ = started.status();
      return;
    }
    registry_ = std::move(*started).release();
    *setup_status_ = registry_->PushTestImages();
  }

  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }

  void SetUp() override {
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    ASSERT_TRUE(setup_status_->ok()) << *setup_status_;
  }

  const nlohmann::json& Image(const std::string& name) { return registry_->images().at(name); }

  static RegistryFixture* registry_;
  static Status* setup_status_;
};

RegistryFixture* RegistryFixtureTest::registry_ = nullptr;
Status* RegistryFixtureTest::setup_status_ = new Status();

TEST_F(RegistryFixtureTest, Started_AnswersV2ApiOnLoopbackNotPort5000) {
  EXPECT_EQ(registry_->host().rfind("127.0.0.1:", 0), 0u) << registry_->host();
  EXPECT_NE(registry_->host(), "127.0.0.1:5000");
  auto response = HttpGet(registry_->base_url() + "/v2/");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["docker-distribution-api-version"], "registry/2.0");
}

TEST_F(RegistryFixtureTest, BusyboxLatest_ManifestDigestMatchesScript) {
  const nlohmann::json& image = Image("busybox:latest");
  auto response = GetManifest(*registry_, "busybox", "latest");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->status, 200) << response->body;
  const std::string want = image.at("manifest_digest");
  EXPECT_EQ(response->headers["docker-content-digest"], want);
  EXPECT_EQ(Sha256Digest(response->body), want);
  EXPECT_EQ(response->headers["content-type"], image.at("manifest_media_type"));
  EXPECT_EQ(registry_->Reference("busybox:latest"), image.at("reference"));
}

TEST_F(RegistryFixtureTest, BusyboxTags_PointAtOneManifest) {
  const nlohmann::json& latest = Image("busybox:latest");
  EXPECT_EQ(Image("busybox:1.0").at("manifest_digest"), latest.at("manifest_digest"));
  auto response = GetManifest(*registry_, "busybox", "1.0");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->headers["docker-content-digest"], latest.at("manifest_digest"));
}

TEST_F(RegistryFixtureTest, ConfigBlob_HashesToImageIdAndListsDiffIds) {
  const nlohmann::json& image = Image("busybox:latest");
  auto response = GetBlob(*registry_, "busybox", image.at("config_digest"));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(Sha256Digest(response->body), "sha256:" + image.at("image_id").get<std::string>());
  nlohmann::json config = nlohmann::json::parse(response->body, nullptr, false);
  ASSERT_FALSE(config.is_discarded());
  EXPECT_EQ(config["rootfs"]["diff_ids"], image.at("diff_ids"));
  EXPECT_EQ(config["architecture"], "amd64");
  EXPECT_EQ(config["os"], "linux");
}

TEST_F(RegistryFixtureTest, AllImages_EveryTagResolvesToTheReportedDigest) {
  int checked = 0;
  for (const auto& [name, image] : registry_->images().items()) {
    if (image.contains("skipped")) continue;
    auto response = GetManifest(*registry_, image.at("repository"), image.at("tag"));
    ASSERT_TRUE(response.ok()) << name << ": " << response.status();
    ASSERT_EQ(response->status, 200) << name << ": " << response->body;
    EXPECT_EQ(response->headers["docker-content-digest"], image.at("manifest_digest")) << name;
    ++checked;
  }
  // busybox x2, pause, multilayer, whiteout, zstd, uncompressed, user, userid, multiarch,
  // dockerlist, 6 evil, badsize, corrupt (+ schema1 when the registry takes it).
  EXPECT_GE(checked, 19);
}

TEST_F(RegistryFixtureTest, Multilayer_SharesBaseLayerWithBusybox) {
  const nlohmann::json& multilayer = Image("multilayer:latest");
  ASSERT_EQ(multilayer.at("layer_digests").size(), 3u);
  EXPECT_EQ(multilayer.at("layer_digests")[0], Image("busybox:latest").at("layer_digests")[0]);
  EXPECT_EQ(multilayer.at("expected_files").at("/data/a.txt").at("content"), "a\n");
}

TEST_F(RegistryFixtureTest, Whiteout_ExpectationsHideDeletedFiles) {
  const nlohmann::json& image = Image("whiteout:latest");
  EXPECT_TRUE(image.at("expected_files").contains("/data/keep"));
  EXPECT_FALSE(image.at("expected_files").contains("/data/gone"));
  EXPECT_EQ(image.at("expected_dir_entries").at("/opq"), nlohmann::json::array({"new"}));
}

TEST_F(RegistryFixtureTest, Multiarch_IndexListsThreePlatformsAndChildrenResolve) {
  const nlohmann::json& image = Image("multiarch:latest");
  auto response = GetManifest(*registry_, "multiarch", "latest");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "application/vnd.oci.image.index.v1+json");
  nlohmann::json index = nlohmann::json::parse(response->body, nullptr, false);
  ASSERT_FALSE(index.is_discarded());
  ASSERT_EQ(index["manifests"].size(), 3u);
  EXPECT_EQ(index["manifests"][1]["platform"]["architecture"], "arm64");
  EXPECT_EQ(index["manifests"][1]["platform"]["variant"], "v8");
  for (const nlohmann::json& platform : image.at("platforms")) {
    auto child = GetManifest(*registry_, "multiarch", platform.at("manifest_digest"));
    ASSERT_TRUE(child.ok()) << child.status();
    EXPECT_EQ(child->status, 200) << platform.at("platform");
  }
  EXPECT_EQ(image.at("resolved_manifest_digest"), image.at("platforms")[0].at("manifest_digest"));
  EXPECT_EQ(image.at("platforms")[2].at("platform_file"), "linux/arm/v7\n");
}

TEST_F(RegistryFixtureTest, Dockerlist_IsServedAsDockerManifestList) {
  auto response = GetManifest(*registry_, "dockerlist", "latest");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->headers["content-type"],
            "application/vnd.docker.distribution.manifest.list.v2+json");
}

TEST_F(RegistryFixtureTest, Corrupt_RegistryServesBytesThatMismatchTheDigest) {
  const nlohmann::json& image = Image("corrupt:latest");
  ASSERT_FALSE(image.contains("skipped")) << image;
  const std::string digest = image.at("corrupted_blob");
  auto response = GetBlob(*registry_, "corrupt", digest);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(response->body.size(), image.at("layers")[1].at("size").get<size_t>());
  EXPECT_NE(Sha256Digest(response->body), digest);
  EXPECT_EQ(Sha256Digest(response->body), image.at("corrupted_blob_served_sha256"));
}

TEST_F(RegistryFixtureTest, Badsize_DescriptorSizeDiffersFromServedBlob) {
  auto manifest_response = GetManifest(*registry_, "badsize", "latest");
  ASSERT_TRUE(manifest_response.ok()) << manifest_response.status();
  nlohmann::json manifest = nlohmann::json::parse(manifest_response->body, nullptr, false);
  ASSERT_FALSE(manifest.is_discarded());
  const nlohmann::json& layer = manifest["layers"][1];
  auto blob = GetBlob(*registry_, "badsize", layer["digest"]);
  ASSERT_TRUE(blob.ok()) << blob.status();
  ASSERT_EQ(blob->status, 200);
  EXPECT_EQ(Sha256Digest(blob->body), layer["digest"]);
  EXPECT_EQ(layer["size"].get<size_t>(), blob->body.size() + 100);
}

TEST_F(RegistryFixtureTest, Schema1_ServedUnderItsCanonicalDigest) {
  const nlohmann::json& image = Image("schema1:latest");
  if (image.contains("skipped")) GTEST_SKIP() << image.at("skipped");
  auto response = GetManifest(*registry_, "schema1", "latest");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(response->headers["content-type"],
            "application/vnd.docker.distribution.manifest.v1+prettyjws");
  EXPECT_EQ(response->headers["docker-content-digest"], image.at("manifest_digest"));
}

TEST_F(RegistryFixtureTest, PushTestImages_SecondCall_KeepsFirstResult) {
  const nlohmann::json before = registry_->images();
  ASSERT_TRUE(registry_->PushTestImages().ok());
  EXPECT_EQ(registry_->images(), before);
}

TEST(RegistryFixtureLifetimeTest, Destroyed_KillsRegistryAndRemovesTempDir) {
  if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
  auto started = RegistryFixture::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  const pid_t pid = (*started)->pid();
  const std::string dir = (*started)->temp_dir();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, 0), 0);
  started->reset();
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// A registry with htpasswd auth; pushes need the credentials too.
class AuthRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!RegistryFixture::Available()) return;
    auto started = RegistryFixture::Start(/*with_auth=*/true);
    if (!started.ok()) {
      *setup_status_ = started.status();
      return;
    }
    registry_ = std::move(*started).release();
    *setup_status_ = registry_->PushTestImages();
  }

  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }

  void SetUp() override {
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    ASSERT_TRUE(setup_status_->ok()) << *setup_status_;
  }

  static HttpRequestOptions WithCredentials(const std::string& password) {
    HttpRequestOptions options;
    options.user = std::string(RegistryFixture::kUser) + ":" + password;
    return options;
  }

  static RegistryFixture* registry_;
  static Status* setup_status_;
};

RegistryFixture* AuthRegistryTest::registry_ = nullptr;
Status* AuthRegistryTest::setup_status_ = new Status();

TEST_F(AuthRegistryTest, AnonymousGet_Is401WithBasicChallenge) {
  auto response = HttpGet(registry_->base_url() + "/v2/");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->headers["www-authenticate"].rfind("Basic realm=", 0), 0u)
      << response->headers["www-authenticate"];
}

TEST_F(AuthRegistryTest, BasicAuthGet_Succeeds) {
  auto response =
      HttpGet(registry_->base_url() + "/v2/", WithCredentials(RegistryFixture::kPassword));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
}

TEST_F(AuthRegistryTest, WrongPassword_Is401) {
  auto response = HttpGet(registry_->base_url() + "/v2/", WithCredentials("wrong"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 401);
}

TEST_F(AuthRegistryTest, PushedManifest_NeedsCredentialsAndMatchesScript) {
  const std::string want = registry_->images().at("busybox:latest").at("manifest_digest");
  auto authed = GetManifest(*registry_, "busybox", "latest");
  ASSERT_TRUE(authed.ok()) << authed.status();
  ASSERT_EQ(authed->status, 200) << authed->body;
  EXPECT_EQ(authed->headers["docker-content-digest"], want);

  HttpRequestOptions options;
  options.headers = {ManifestAcceptHeader()};
  auto anonymous = HttpGet(registry_->base_url() + "/v2/busybox/manifests/latest", options);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->status, 401);
}

}  // namespace
}  // namespace crio::testing
