// The CRI ImageService of the real crio daemon, pulling from a real docker-registry loaded with
// the images of tests/fixtures/make_test_images.py (see tests/fixtures/README.md).
//
// Every test starts its own daemon on its own temp root, with registries.conf, policy.json,
// auth.json and certs.d in a temp dir of its own: nothing under /etc/containers,
// /var/lib/containers or /etc/crio is read or written. Pushing the test images takes several
// seconds, so the registries (one anonymous, one with auth) are started lazily once per process
// and shared: under ctest every test runs in its own process and so gets its own registry, and a
// serial run of the whole binary stays fast. Tests never write to a registry.
#include "daemon_harness.h"
#include "registry_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "os/unique_fd.h"
#include "storage/store.h"

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kAcceptPolicy[] = R"({"default":[{"type":"insecureAcceptAnything"}]})";
constexpr char kRejectPolicy[] = R"({"default":[{"type":"reject"}]})";

// ---- Shared registries ---------------------------------------------------------------------

// A registry started on first use. A failed start is remembered, so that a missing
// docker-registry is reported once per test, not retried.
struct RegistrySlot {
  bool started = false;
  Status status;
  std::unique_ptr<RegistryFixture> fixture;
};

// The two shared registries, stopped when the test program ends.
class SharedRegistries : public ::testing::Environment {
 public:
  static StatusOr<RegistryFixture*> Get(bool with_auth) {
    RegistrySlot& slot = Slot(with_auth);
    if (!slot.started) {
      slot.started = true;
      auto fixture = RegistryFixture::Start(with_auth);
      if (!fixture.ok()) {
        slot.status = fixture.status();
      } else {
        slot.status = (*fixture)->PushTestImages();
        slot.fixture = *std::move(fixture);
      }
    }
    if (!slot.status.ok()) return slot.status;
    return slot.fixture.get();
  }

  void TearDown() override {
    Slot(false) = RegistrySlot();
    Slot(true) = RegistrySlot();
  }

 private:
  static RegistrySlot& Slot(bool with_auth) {
    static RegistrySlot plain;
    static RegistrySlot auth;
    return with_auth ? auth : plain;
  }
};

[[maybe_unused]] ::testing::Environment* const kSharedRegistries =
    ::testing::AddGlobalTestEnvironment(new SharedRegistries);

// ---- Small helpers ---------------------------------------------------------------------------

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string StripAlgorithm(const std::string& digest) {
  auto colon = digest.find(':');
  return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int ClosedPort() {
  os::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  return ntohs(addr.sin_port);
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool HasElement(const google::protobuf::RepeatedPtrField<std::string>& list,
                const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// One `pulled image=... downloaded=N` line of the daemon log.
struct PulledLine {
  std::string image;
  int layers = 0;
  int downloaded = 0;
};

std::vector<PulledLine> PulledLines(const std::string& log) {
  static const std::regex kLine(R"(pulled image=(\S+) id=\S+ layers=(\d+) downloaded=(\d+))");
  std::vector<PulledLine> out;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), kLine); it != std::sregex_iterator();
       ++it) {
    out.push_back({(*it)[1].str(), std::stoi((*it)[2].str()), std::stoi((*it)[3].str())});
  }
  return out;
}

// A read-only overlay of image layers, unmounted (lazily) on destruction.
class ScopedOverlayMount {
 public:
  ScopedOverlayMount() = default;
  ScopedOverlayMount(const ScopedOverlayMount&) = delete;
  ScopedOverlayMount& operator=(const ScopedOverlayMount&) = delete;
  ~ScopedOverlayMount() {
    if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
  }

  // lowers: top first. Returns the errno of mount(2), 0 on success.
  int Mount(const std::vector<std::string>& lowers, const std::string& target) {
    std::string data = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i) data += (i ? ":" : "") + lowers[i];
    if (::mount("overlay", target.c_str(), "overlay", MS_RDONLY, data.c_str()) != 0) return errno;
    target_ = target;
    return 0;
  }

 private:
  std::string target_;
};

// Everything below `root` (not following symlinks), as "/relative/path".
std::set<std::string> WalkTree(const std::string& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    // Lexically: fs::relative would resolve symlinks (to their targets, or out of the tree).
    out.insert("/" + it->path().lexically_relative(root).string());
  }
  return out;
}

// Compares the tree at `rootfs` with the fixture's description of the image: every
// expected_files entry (type, mode, owner, size, sha256, content, symlink target), no path the
// description does not list, expected_absent and expected_dir_entries.
void ExpectRootfsMatches(const std::string& rootfs, const json& image,
                         const std::set<std::string>& also_allowed = {}) {
  const json& files = image["expected_files"];
  ASSERT_TRUE(files.is_object()) << image.dump();
  for (const auto& [path, want] : files.items()) {
    SCOPED_TRACE(path);
    std::string full = rootfs + path;
    struct stat st {};
    ASSERT_EQ(::lstat(full.c_str(), &st), 0) << "missing " << path;
    const std::string type = want["type"];
    if (type == "dir") {
      EXPECT_TRUE(S_ISDIR(st.st_mode));
    } else if (type == "symlink") {
      ASSERT_TRUE(S_ISLNK(st.st_mode));
      std::error_code ec;
      EXPECT_EQ(fs::read_symlink(full, ec).string(), want["target"].get<std::string>());
    } else {
      ASSERT_EQ(type, "file");
      ASSERT_TRUE(S_ISREG(st.st_mode));
      EXPECT_EQ(static_cast<int64_t>(st.st_size), want["size"].get<int64_t>());
      std::string content = ReadFile(full);
      EXPECT_EQ(image::Sha256Digest(content), "sha256:" + want["sha256"].get<std::string>());
      if (want.contains("content")) {
        EXPECT_EQ(content, want["content"].get<std::string>());
      }
    }
    if (want.contains("mode")) {
      EXPECT_EQ(st.st_mode & 07777, std::stoul(want["mode"].get<std::string>(), nullptr, 8));
    }
    EXPECT_EQ(st.st_uid, want["uid"].get<uid_t>());
    EXPECT_EQ(st.st_gid, want["gid"].get<gid_t>());
  }
  for (const std::string& path : WalkTree(rootfs)) {
    EXPECT_TRUE(files.contains(path) || also_allowed.count(path))
        << "unexpected " << path << " in the rootfs";
  }
  const json absent = image.value("expected_absent", json::array());
  for (const auto& path : absent) {
    EXPECT_FALSE(Exists(rootfs + path.get<std::string>())) << path;
  }
  const json dir_entries = image.value("expected_dir_entries", json::object());
  for (auto it = dir_entries.begin(); it != dir_entries.end(); ++it) {
    const std::string dir = it.key();
    std::vector<std::string> want_entries;
    for (const auto& e : it.value()) want_entries.push_back(e.get<std::string>());
    std::vector<std::string> got;
    for (const auto& e : fs::directory_iterator(rootfs + dir)) {
      got.push_back(e.path().filename().string());
    }
    std::sort(got.begin(), got.end());
    std::sort(want_entries.begin(), want_entries.end());
    EXPECT_EQ(got, want_entries) << dir;
  }
}

// ---- The fixture -----------------------------------------------------------------------------

class ImageServiceTest : public ::testing::Test {
 protected:
  virtual bool WithAuth() const { return false; }
  // Extra lines for the daemon's [crio.image] table.
  virtual std::string ExtraImageConfig() const { return ""; }

  void SetUp() override {
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    auto registry = SharedRegistries::Get(WithAuth());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    ASSERT_FALSE(env_.path().empty());
    fs::create_directories(env_.Sub("registries.conf.d"));
    fs::create_directories(env_.Sub("certs.d"));
    WriteRegistriesConf(InsecureRegistry(registry_->host()));
    WritePolicy(kAcceptPolicy);
    WriteFile(env_.Sub("auth.json"), R"({"auths":{}})");
    DaemonOptions options;
    options.config_text = DaemonConfig();
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }

  // A daemon that died during the test is a failure (e.g. an exception escaping a handler).
  // A live one is killed rather than stopped: with the test's channel still open, a clean stop
  // waits out the daemon's whole shutdown grace period (3 s), which would dominate the run.
  // Clean shutdown is covered by daemon_test.cc and Restart_ImagesSurvive.
  void TearDown() override {
    if (!daemon_ || daemon_stopped_) return;
    auto exited = daemon_->WaitExit(milliseconds(1));
    if (exited.ok()) {
      ADD_FAILURE() << "crio exited during the test (status " << *exited << "):\n"
                    << daemon_->Log();
      return;
    }
    if (daemon_->Signal(SIGKILL).ok()) (void)daemon_->WaitExit(seconds(10));
  }

  // registries.conf and policy.json are read at every pull: tests may rewrite them at any time.
  void WriteRegistriesConf(const std::string& text) {
    WriteFile(env_.Sub("registries.conf"), text);
  }
  void WritePolicy(const std::string& text) { WriteFile(env_.Sub("policy.json"), text); }
  void WriteAuthFile(const std::string& text) { WriteFile(env_.Sub("auth.json"), text); }

  static std::string InsecureRegistry(const std::string& host, const std::string& extra = "") {
    return "[[registry]]\nprefix = \"" + host + "\"\nlocation = \"" + host +
           "\"\ninsecure = true\n" + extra + "\n";
  }

  std::string DaemonConfig() const {
    return "[crio.image]\n"
           "registries_conf = \"" +
           env_.Sub("registries.conf") +
           "\"\n"
           "registries_conf_dir = \"" +
           env_.Sub("registries.conf.d") +
           "\"\n"
           "signature_policy = \"" +
           env_.Sub("policy.json") +
           "\"\n"
           "auth_file = \"" +
           env_.Sub("auth.json") +
           "\"\n"
           "certs_dir = \"" +
           env_.Sub("certs.d") + "\"\n" + ExtraImageConfig();
  }

  // Sends `sig` to the daemon and reaps it; returns its exit code.
  StatusOr<int> StopDaemon(int sig) {
    RETURN_IF_ERROR(daemon_->Signal(sig));
    daemon_stopped_ = true;
    return daemon_->WaitExit(seconds(15));
  }

  // A second daemon on the first one's root and runroot (CLI11 keeps the last --root).
  StatusOr<std::unique_ptr<Daemon>> StartOnSameRoot() {
    DaemonOptions options;
    options.config_text = DaemonConfig();
    options.extra_args = {"--root", root(), "--runroot", daemon_->dir().Sub("runroot")};
    return Daemon::Start(options);
  }

  std::string root() const { return daemon_->dir().Sub("root"); }
  std::string layers_dir() const { return root() + "/overlay-layers"; }
  std::string LayerDir(const std::string& chain_hex) const {
    return layers_dir() + "/" + chain_hex;
  }
  std::string DiffDir(const std::string& chain_hex) const { return LayerDir(chain_hex) + "/diff"; }

  const json& Fixture(const std::string& image) const { return registry_->images().at(image); }
  std::string ImageId(const std::string& image) const {
    return Fixture(image)["image_id"].get<std::string>();
  }
  std::string Ref(const std::string& image) const { return registry_->Reference(image); }

  // Chain IDs (hex, bottom first) of a fixture image, from its diff_ids.
  std::vector<std::string> ChainIds(const std::string& image) const {
    auto diff_ids = Fixture(image)["diff_ids"].get<std::vector<std::string>>();
    auto chain = storage::ComputeChainIds(diff_ids);
    EXPECT_TRUE(chain.ok()) << chain.status();
    std::vector<std::string> out;
    if (chain.ok()) {
      for (const auto& id : *chain) out.push_back(StripAlgorithm(id));
    }
    return out;
  }

  // Names of the committed layer dirs (chain IDs) in the store.
  std::set<std::string> LayerDirs() const {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(layers_dir(), ec)) {
      std::string name = e.path().filename().string();
      if (name.size() == 64) out.insert(name);
    }
    return out;
  }

  std::vector<std::string> StagingEntries(const std::string& layers) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(layers + "/staging", ec)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

  grpc::Status Pull(Daemon& d, const std::string& ref, std::string* image_ref = nullptr,
                    const v1::AuthConfig* auth = nullptr) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(ref);
    if (auth) *req.mutable_auth() = *auth;
    v1::PullImageResponse resp;
    auto ctx = d.Context(seconds(120));
    grpc::Status st = d.image().PullImage(ctx.get(), req, &resp);
    if (image_ref) *image_ref = resp.image_ref();
    return st;
  }
  grpc::Status Pull(const std::string& ref, std::string* image_ref = nullptr,
                    const v1::AuthConfig* auth = nullptr) {
    return Pull(*daemon_, ref, image_ref, auth);
  }

  // Pulls a fixture image (by "repo:tag") and checks the returned image_ref.
  void PullOk(const std::string& image) {
    std::string image_ref;
    grpc::Status st = Pull(Ref(image), &image_ref);
    ASSERT_TRUE(st.ok()) << image << ": " << st.error_message() << "\n" << daemon_->Log();
    EXPECT_EQ(image_ref, ImageId(image));
  }

  // ImageStatus; nullopt when the (OK) response carries no image.
  std::optional<v1::Image> GetImage(Daemon& d, const std::string& ref, bool verbose = false,
                                    std::string* info = nullptr) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(ref);
    req.set_verbose(verbose);
    v1::ImageStatusResponse resp;
    auto ctx = d.Context();
    grpc::Status st = d.image().ImageStatus(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << ref << ": " << st.error_message();
    if (info && resp.info().count("info")) *info = resp.info().at("info");
    if (!st.ok() || !resp.has_image()) return std::nullopt;
    return resp.image();
  }
  std::optional<v1::Image> GetImage(const std::string& ref, bool verbose = false,
                                    std::string* info = nullptr) {
    return GetImage(*daemon_, ref, verbose, info);
  }

  std::vector<v1::Image> List(Daemon& d, const std::string& filter = "") {
    v1::ListImagesRequest req;
    if (!filter.empty()) req.mutable_filter()->mutable_image()->set_image(filter);
    v1::ListImagesResponse resp;
    auto ctx = d.Context();
    grpc::Status st = d.image().ListImages(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.images().begin(), resp.images().end()};
  }
  std::vector<v1::Image> List(const std::string& filter = "") { return List(*daemon_, filter); }

  grpc::Status Remove(const std::string& ref) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(ref);
    v1::RemoveImageResponse resp;
    auto ctx = daemon_->Context();
    return daemon_->image().RemoveImage(ctx.get(), req, &resp);
  }

  StatusOr<v1::ImageFsInfoResponse> FsInfo() {
    v1::ImageFsInfoRequest req;
    v1::ImageFsInfoResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = daemon_->image().ImageFsInfo(ctx.get(), req, &resp);
    if (!st.ok()) return Internal(st.error_message());
    return resp;
  }

  // Mounts the layers of a pulled fixture image read-only (top..bottom, as the store stacks
  // them for containers) and compares the result with the fixture's description.
  void CheckRootfs(const std::string& image, const std::set<std::string>& also_allowed = {}) {
    std::vector<std::string> chain = ChainIds(image);
    ASSERT_FALSE(chain.empty());
    std::vector<std::string> lowers;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      ASSERT_TRUE(fs::is_directory(DiffDir(*it))) << DiffDir(*it);
      lowers.push_back(DiffDir(*it));
    }
    // Overlay wants two lower dirs when there is no upper dir; an empty one changes nothing.
    lowers.push_back(scratch_.Sub("empty"));
    fs::create_directories(scratch_.Sub("empty"));
    std::string target = scratch_.Sub("rootfs-" + std::to_string(mounts_++));
    fs::create_directories(target);
    ScopedOverlayMount mount;
    int err = mount.Mount(lowers, target);
    if (err == EPERM) GTEST_SKIP() << "mounting overlay needs CAP_SYS_ADMIN";
    ASSERT_EQ(err, 0) << "mount overlay: " << std::strerror(err);
    ExpectRootfsMatches(target, Fixture(image), also_allowed);
  }

  TempDir env_;      // registries.conf, policy.json, auth.json, certs.d
  TempDir scratch_;  // mount points
  int mounts_ = 0;
  RegistryFixture* registry_ = nullptr;
  std::unique_ptr<Daemon> daemon_;
  bool daemon_stopped_ = false;  // by the test itself: TearDown leaves it alone
};

// ---- 1. Pull, status, list ---------------------------------------------------------------------

TEST_F(ImageServiceTest, PullBusybox_StatusFindsItByEveryKindOfReference) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  const json& fixture = Fixture("busybox:latest");
  const std::string id = fixture["image_id"];
  const std::string tag = registry_->host() + "/busybox:latest";
  const std::string digest_ref =
      registry_->host() + "/busybox@" + fixture["manifest_digest"].get<std::string>();

  for (const std::string& ref : {tag, id, "sha256:" + id, id.substr(0, 12), digest_ref}) {
    SCOPED_TRACE(ref);
    auto image = GetImage(ref);
    ASSERT_TRUE(image.has_value());
    EXPECT_EQ(image->id(), id);
    EXPECT_TRUE(HasElement(image->repo_tags(), tag));
    EXPECT_TRUE(HasElement(image->repo_digests(), digest_ref));
    EXPECT_GT(image->size(), 0u);
  }
  EXPECT_FALSE(GetImage(registry_->host() + "/busybox:nosuchtag").has_value());
}

TEST_F(ImageServiceTest, ImageStatusVerbose_InfoIsJsonWithTheImageSpec) {
  ASSERT_NO_FATAL_FAILURE(PullOk("user:latest"));
  std::string info;
  auto image = GetImage(Ref("user:latest"), /*verbose=*/true, &info);
  ASSERT_TRUE(image.has_value());
  json j = json::parse(info, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << info;
  ASSERT_TRUE(j["imageSpec"].is_object()) << info;
  EXPECT_EQ(j["imageSpec"]["config"]["User"], "tester");
  EXPECT_EQ(j["imageSpec"]["rootfs"]["diff_ids"], Fixture("user:latest")["diff_ids"]);
  EXPECT_EQ(j["id"], ImageId("user:latest"));
}

TEST_F(ImageServiceTest, ListImages_ListsPulledImagesAndHonoursTheFilter) {
  EXPECT_TRUE(List().empty());
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  ASSERT_NO_FATAL_FAILURE(PullOk("user:latest"));

  std::set<std::string> ids;
  for (const auto& image : List()) ids.insert(image.id());
  EXPECT_EQ(ids, (std::set<std::string>{ImageId("busybox:latest"), ImageId("user:latest")}));

  auto filtered = List(Ref("busybox:latest"));
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0].id(), ImageId("busybox:latest"));
  EXPECT_TRUE(List(Ref("busybox:nosuchtag")).empty());
}

TEST_F(ImageServiceTest, StreamImages_ReturnsTheSameSetAsListImages) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  ASSERT_NO_FATAL_FAILURE(PullOk("userid:latest"));
  std::set<std::string> listed;
  for (const auto& image : List()) listed.insert(image.id());

  v1::StreamImagesRequest req;
  auto ctx = daemon_->Context();
  auto reader = daemon_->image().StreamImages(ctx.get(), req);
  v1::StreamImagesResponse batch;
  std::set<std::string> streamed;
  while (reader->Read(&batch)) {
    for (const auto& image : batch.images()) streamed.insert(image.id());
  }
  grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(streamed.size(), 2u);
  EXPECT_EQ(streamed, listed);
}

// ---- 2. Root filesystems -------------------------------------------------------------------

TEST_F(ImageServiceTest, Rootfs_Busybox_MatchesTheFixture) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  CheckRootfs("busybox:latest");
}

TEST_F(ImageServiceTest, Rootfs_Multilayer_MatchesTheFixture) {
  ASSERT_NO_FATAL_FAILURE(PullOk("multilayer:latest"));
  CheckRootfs("multilayer:latest");
}

TEST_F(ImageServiceTest, Rootfs_Whiteout_HidesDeletedAndOpaqueEntries) {
  ASSERT_NO_FATAL_FAILURE(PullOk("whiteout:latest"));
  CheckRootfs("whiteout:latest");
}

TEST_F(ImageServiceTest, Rootfs_ZstdLayers_MatchTheFixture) {
  ASSERT_NO_FATAL_FAILURE(PullOk("zstd:latest"));
  CheckRootfs("zstd:latest");
}

TEST_F(ImageServiceTest, Rootfs_UncompressedLayers_MatchTheFixture) {
  ASSERT_NO_FATAL_FAILURE(PullOk("uncompressed:latest"));
  CheckRootfs("uncompressed:latest");
}

// The fixture's top-level description of an index is its linux/amd64 child.
void ExpectAmd64Platform(const json& fixture) {
  std::string amd64_marker;
  for (const auto& p : fixture["platforms"]) {
    if (p["platform"]["architecture"] == "amd64") {
      amd64_marker = p["platform_file"].get<std::string>();
    }
  }
  ASSERT_EQ(amd64_marker, "linux/amd64\n");
  EXPECT_EQ(fixture["expected_files"]["/platform"]["content"], amd64_marker);
}

TEST_F(ImageServiceTest, Rootfs_OciIndex_PullsTheAmd64Child) {
  ASSERT_NO_FATAL_FAILURE(ExpectAmd64Platform(Fixture("multiarch:latest")));
  ASSERT_NO_FATAL_FAILURE(PullOk("multiarch:latest"));
  CheckRootfs("multiarch:latest");
  auto image = GetImage(Ref("multiarch:latest"));
  ASSERT_TRUE(image.has_value());
  // The repo digest names what the tag resolves to: the index.
  EXPECT_TRUE(HasElement(image->repo_digests(),
                         registry_->host() + "/multiarch@" +
                             Fixture("multiarch:latest")["manifest_digest"].get<std::string>()));
}

TEST_F(ImageServiceTest, Rootfs_DockerManifestList_PullsTheAmd64Child) {
  ASSERT_NO_FATAL_FAILURE(ExpectAmd64Platform(Fixture("dockerlist:latest")));
  ASSERT_NO_FATAL_FAILURE(PullOk("dockerlist:latest"));
  CheckRootfs("dockerlist:latest");
}

TEST_F(ImageServiceTest, SharedBaseLayer_IsStoredAndDownloadedOnce) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  ASSERT_NO_FATAL_FAILURE(PullOk("multilayer:latest"));
  std::vector<std::string> busybox = ChainIds("busybox:latest");
  std::vector<std::string> multilayer = ChainIds("multilayer:latest");
  ASSERT_EQ(busybox.size(), 1u);
  ASSERT_EQ(multilayer.size(), 3u);
  EXPECT_EQ(busybox[0], multilayer[0]);  // same base blob, same chain
  EXPECT_EQ(LayerDirs(), (std::set<std::string>(multilayer.begin(), multilayer.end())));

  int multilayer_lines = 0;
  for (const auto& line : PulledLines(daemon_->Log())) {
    if (line.image != Ref("multilayer:latest")) continue;
    ++multilayer_lines;
    EXPECT_EQ(line.layers, 3);
    EXPECT_EQ(line.downloaded, 2) << "the base layer was already in the store";
  }
  EXPECT_EQ(multilayer_lines, 1) << daemon_->Log();
  CheckRootfs("busybox:latest");
  CheckRootfs("multilayer:latest");
}

// ---- 3. Image users ----------------------------------------------------------------------

TEST_F(ImageServiceTest, ImageUser_NameGivesUsernameAndNoUid) {
  ASSERT_NO_FATAL_FAILURE(PullOk("user:latest"));
  auto image = GetImage(Ref("user:latest"));
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->username(), "tester");
  EXPECT_FALSE(image->has_uid());
}

TEST_F(ImageServiceTest, ImageUser_NumericGivesUid) {
  ASSERT_NO_FATAL_FAILURE(PullOk("userid:latest"));
  auto image = GetImage(Ref("userid:latest"));
  ASSERT_TRUE(image.has_value());
  ASSERT_TRUE(image->has_uid());
  EXPECT_EQ(image->uid().value(), 1234);
  EXPECT_EQ(image->username(), "");
}

// ---- 4. Tags and removal -------------------------------------------------------------------

TEST_F(ImageServiceTest, TwoTags_OneImage_RemoveTagThenImage) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:1.0"));
  const std::string id = ImageId("busybox:latest");
  ASSERT_EQ(ImageId("busybox:1.0"), id);
  const std::string latest = Ref("busybox:latest");
  const std::string v1_0 = Ref("busybox:1.0");

  auto images = List();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_TRUE(HasElement(images[0].repo_tags(), latest));
  EXPECT_TRUE(HasElement(images[0].repo_tags(), v1_0));

  grpc::Status st = Remove(v1_0);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto image = GetImage(id);
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(std::vector<std::string>(image->repo_tags().begin(), image->repo_tags().end()),
            std::vector<std::string>{latest});
  EXPECT_FALSE(GetImage(v1_0).has_value());

  const std::vector<std::string> chain = ChainIds("busybox:latest");
  ASSERT_TRUE(fs::is_directory(LayerDir(chain[0])));
  st = Remove(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(GetImage(id).has_value());
  EXPECT_FALSE(GetImage(latest).has_value());
  EXPECT_TRUE(List().empty());
  EXPECT_FALSE(Exists(LayerDir(chain[0]))) << "no image uses the busybox layer any more";
  EXPECT_TRUE(LayerDirs().empty());
}

TEST_F(ImageServiceTest, RemoveImage_KeepsLayersAnotherImageUses) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  ASSERT_NO_FATAL_FAILURE(PullOk("multilayer:latest"));
  grpc::Status st = Remove(Ref("multilayer:latest"));
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::vector<std::string> busybox = ChainIds("busybox:latest");
  EXPECT_EQ(LayerDirs(), (std::set<std::string>(busybox.begin(), busybox.end())));
  CheckRootfs("busybox:latest");
}

TEST_F(ImageServiceTest, RemoveImage_UnknownImageIsOk) {
  grpc::Status st = Remove(Ref("busybox:latest"));
  EXPECT_TRUE(st.ok()) << st.error_message();
  st = Remove(std::string(64, 'a'));
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// ---- 5. Errors ---------------------------------------------------------------------------

// Asserts a failed pull's code and that its message contains `phrase`.
#define EXPECT_PULL_FAILS(status, code, phrase)                                \
  do {                                                                         \
    grpc::Status s_ = (status);                                                \
    EXPECT_EQ(s_.error_code(), (code)) << s_.error_message();                  \
    EXPECT_TRUE(Contains(s_.error_message(), (phrase))) << s_.error_message(); \
  } while (0)

TEST_F(ImageServiceTest, Pull_UnknownRepository_NotFound) {
  EXPECT_PULL_FAILS(Pull(Ref("no-such-repo:latest")), grpc::StatusCode::NOT_FOUND,
                    "manifest unknown");
  EXPECT_TRUE(List().empty());
}

TEST_F(ImageServiceTest, Pull_UnknownTag_NotFound) {
  EXPECT_PULL_FAILS(Pull(Ref("busybox:no-such-tag")), grpc::StatusCode::NOT_FOUND,
                    "manifest unknown");
}

TEST_F(ImageServiceTest, Pull_UnreachableRegistry_Unavailable) {
  int port = ClosedPort();
  ASSERT_NE(port, 0);
  std::string host = "127.0.0.1:" + std::to_string(port);
  WriteRegistriesConf(InsecureRegistry(registry_->host()) + InsecureRegistry(host));
  EXPECT_PULL_FAILS(Pull(host + "/busybox:latest"), grpc::StatusCode::UNAVAILABLE, host);
}

TEST_F(ImageServiceTest, Pull_PolicyRejects_PermissionDeniedNamingThePolicy) {
  WritePolicy(kRejectPolicy);
  EXPECT_PULL_FAILS(Pull(Ref("busybox:latest")), grpc::StatusCode::PERMISSION_DENIED,
                    "signature policy");
  EXPECT_TRUE(List().empty());
}

TEST_F(ImageServiceTest, Pull_SignedByRequirement_FailedPreconditionNotSupported) {
  WritePolicy(R"({"default":[{"type":"signedBy","keyType":"GPGKeys",)"
              R"("keyPath":"/nonexistent/key.gpg"}]})");
  EXPECT_PULL_FAILS(Pull(Ref("busybox:latest")), grpc::StatusCode::FAILED_PRECONDITION,
                    "not supported");
}

TEST_F(ImageServiceTest, Pull_BlockedRegistry_PermissionDenied) {
  WriteRegistriesConf(InsecureRegistry(registry_->host(), "blocked = true"));
  EXPECT_PULL_FAILS(Pull(Ref("busybox:latest")), grpc::StatusCode::PERMISSION_DENIED, "blocked");
}

TEST_F(ImageServiceTest, Pull_Schema1_FailedPrecondition) {
  EXPECT_PULL_FAILS(Pull(Ref("schema1:latest")), grpc::StatusCode::FAILED_PRECONDITION, "schema1");
  EXPECT_TRUE(List().empty());
}

TEST_F(ImageServiceTest, Pull_CorruptBlob_DataLossAndNothingCommitted) {
  const json& fixture = Fixture("corrupt:latest");
  ASSERT_FALSE(fixture.contains("skipped")) << fixture.dump();
  ASSERT_EQ(fixture["expect_error"], "digest_mismatch");
  const std::string victim = fixture["corrupted_blob"];
  ASSERT_NE(victim, fixture["corrupted_blob_served_sha256"]);
  EXPECT_PULL_FAILS(Pull(Ref("corrupt:latest")), grpc::StatusCode::DATA_LOSS, "digest mismatch");

  std::vector<std::string> chain = ChainIds("corrupt:latest");
  ASSERT_EQ(chain.size(), 2u);
  ASSERT_EQ(fixture["layer_digests"][1], victim);
  EXPECT_FALSE(Exists(LayerDir(chain[1]))) << "the corrupted layer must not be committed";
  EXPECT_TRUE(List().empty());
  EXPECT_TRUE(StagingEntries(layers_dir()).empty());
}

TEST_F(ImageServiceTest, Pull_DescriptorSizeMismatch_DataLoss) {
  ASSERT_EQ(Fixture("badsize:latest")["expect_error"], "size_mismatch");
  EXPECT_PULL_FAILS(Pull(Ref("badsize:latest")), grpc::StatusCode::DATA_LOSS, "size mismatch");
  std::vector<std::string> chain = ChainIds("badsize:latest");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_FALSE(Exists(LayerDir(chain[1])));
  EXPECT_TRUE(List().empty());
}

// ---- 5b. Authentication ------------------------------------------------------------------

class ImageServiceAuthTest : public ImageServiceTest {
 protected:
  bool WithAuth() const override { return true; }
};

TEST_F(ImageServiceAuthTest, Anonymous_Unauthenticated) {
  EXPECT_PULL_FAILS(Pull(Ref("busybox:latest")), grpc::StatusCode::UNAUTHENTICATED,
                    "authenticating to " + registry_->host());
}

TEST_F(ImageServiceAuthTest, CriAuthConfig_Pulls) {
  v1::AuthConfig auth;
  auth.set_username(RegistryFixture::kUser);
  auth.set_password(RegistryFixture::kPassword);
  std::string image_ref;
  grpc::Status st = Pull(Ref("busybox:latest"), &image_ref, &auth);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(image_ref, ImageId("busybox:latest"));
}

TEST_F(ImageServiceAuthTest, AuthFile_Pulls) {
  json auth_file = {{"auths",
                     {{registry_->host(),
                       {{"auth", Base64(std::string(RegistryFixture::kUser) + ":" +
                                        RegistryFixture::kPassword)}}}}}};
  WriteAuthFile(auth_file.dump());
  std::string image_ref;
  grpc::Status st = Pull(Ref("busybox:latest"), &image_ref);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(image_ref, ImageId("busybox:latest"));
}

TEST_F(ImageServiceAuthTest, WrongPassword_Unauthenticated) {
  v1::AuthConfig auth;
  auth.set_username(RegistryFixture::kUser);
  auth.set_password("not-the-password");
  EXPECT_PULL_FAILS(Pull(Ref("busybox:latest"), nullptr, &auth), grpc::StatusCode::UNAUTHENTICATED,
                    "authenticating to " + registry_->host());
  EXPECT_TRUE(List().empty());
}

// ---- 6. Malicious layers -----------------------------------------------------------------

// Host paths a failing unpacker could create. Only paths absent before the test are checked
// afterwards (host /tmp is shared); the test never deletes a host file it did not create.
class HostEscapeCheck {
 public:
  explicit HostEscapeCheck(const json& fixture) {
    for (const auto& p : fixture["escape_paths"]["host"]) {
      std::string path = p;
      if (Exists(path)) {
        std::cerr << "[  NOTE    ] " << path << " exists before the test; not checking it\n";
        continue;
      }
      paths_.push_back(path);
    }
  }
  // Fails for (and removes, since this test made them) escaped files.
  void ExpectNoneCreated() {
    for (const auto& path : paths_) {
      if (Exists(path)) {
        ADD_FAILURE() << "layer escaped to the host: " << path;
        ::unlink(path.c_str());
      }
    }
  }

 private:
  std::vector<std::string> paths_;
};

class ImageServiceMaliciousTest : public ImageServiceTest {
 protected:
  // Pulls an evil-* image. Returns true if the pull succeeded; otherwise checks that it failed
  // with INVALID_ARGUMENT naming `entry` and that nothing of the crafted layer or the image was
  // committed.
  bool PullEvil(const std::string& image, const std::string& entry) {
    const json& fixture = Fixture(image);
    EXPECT_EQ(fixture["expect"], "reject_or_contain");
    std::string image_ref;
    grpc::Status st = Pull(Ref(image), &image_ref);
    if (st.ok()) {
      std::cerr << "[  NOTE    ] " << image << ": accepted\n";
      EXPECT_EQ(image_ref, fixture["image_id"]);
      return true;
    }
    std::cerr << "[  NOTE    ] " << image << ": rejected: " << st.error_message() << "\n";
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_TRUE(Contains(st.error_message(), entry)) << st.error_message();
    std::vector<std::string> chain = ChainIds(image);
    EXPECT_EQ(chain.size(), 2u);
    if (chain.size() == 2) {
      EXPECT_FALSE(Exists(LayerDir(chain[1])));
    }
    EXPECT_TRUE(List().empty());
    EXPECT_TRUE(StagingEntries(layers_dir()).empty()) << "a rejected layer's staging dir stays";
    return false;
  }

  std::string CraftedDiff(const std::string& image) { return DiffDir(ChainIds(image).at(1)); }
};

// With the overlay driver a layer is extracted into <layers>/staging/<random>/diff, so the
// fixture's rootfs-relative paths resolve into the store: `<rootfs>/../..` is
// <layers>/staging, and after a commit <rootfs>/.. becomes <layers>/<chain-id>.
TEST_F(ImageServiceMaliciousTest, DotDotEntry_RejectedOrContained) {
  const std::string image = "evil-dotdot:latest";
  const std::string escaped = layers_dir() + "/staging/evil-dotdot";
  ASSERT_FALSE(Exists(escaped));
  bool pulled = PullEvil(image, "../../evil-dotdot");
  EXPECT_FALSE(Exists(escaped));
  EXPECT_FALSE(Exists(layers_dir() + "/evil-dotdot"));
  if (pulled) {
    EXPECT_TRUE(Exists(CraftedDiff(image) + "/evil-dotdot"));
    CheckRootfs(image, {"/evil-dotdot"});
  }
}

TEST_F(ImageServiceMaliciousTest, AbsoluteEntry_LandsInsideTheLayer) {
  const std::string image = "evil-abs:latest";
  HostEscapeCheck host(Fixture(image));
  bool pulled = PullEvil(image, "/etc/evil-abs");
  host.ExpectNoneCreated();
  ASSERT_TRUE(pulled) << "an absolute entry is legal: it names a path inside the rootfs";
  EXPECT_EQ(ReadFile(CraftedDiff(image) + "/etc/evil-abs"), "evil\n");
  CheckRootfs(image, {"/etc/evil-abs"});
}

TEST_F(ImageServiceMaliciousTest, AbsoluteSymlinkParent_RejectedOrContained) {
  const std::string image = "evil-symlink:latest";
  HostEscapeCheck host(Fixture(image));
  // The extractor names the offending symlink (`escape`), which is how the entry fails.
  bool pulled = PullEvil(image, "`escape`");
  host.ExpectNoneCreated();
  if (pulled) {
    EXPECT_TRUE(Exists(CraftedDiff(image) + "/tmp/evil-symlink-owned"));
  }
}

TEST_F(ImageServiceMaliciousTest, RelativeSymlinkParent_RejectedOrContained) {
  const std::string image = "evil-symlink-rel:latest";
  HostEscapeCheck host(Fixture(image));
  bool pulled = PullEvil(image, "up/tmp/evil-rel");
  host.ExpectNoneCreated();
  if (pulled) {
    // Resolved inside the layer root, `up` is the root itself. (No full rootfs comparison: the
    // layer has no `tmp` entry, so the implicit parent's mode 0755 hides the base's 1777, as
    // with Docker's implicit parent directories.)
    EXPECT_EQ(ReadFile(CraftedDiff(image) + "/tmp/evil-rel"), "evil\n");
    std::error_code ec;
    EXPECT_TRUE(fs::is_symlink(CraftedDiff(image) + "/up", ec));
  }
}

TEST_F(ImageServiceMaliciousTest, HardlinkOutOfTheRootfs_RejectedOrNotAliasingTheHost) {
  const std::string image = "evil-hardlink:latest";
  const json& alias = Fixture(image)["hardlink_must_not_alias_host"];
  ASSERT_TRUE(alias.contains("/hl"));
  bool pulled = PullEvil(image, "hl");
  if (pulled) {
    struct stat layer_st {};
    struct stat host_st {};
    std::string host_path = alias["/hl"];
    if (::lstat((CraftedDiff(image) + "/hl").c_str(), &layer_st) == 0 &&
        ::stat(host_path.c_str(), &host_st) == 0) {
      EXPECT_FALSE(layer_st.st_dev == host_st.st_dev && layer_st.st_ino == host_st.st_ino)
          << "<rootfs>/hl is a hard link to the host's " << host_path;
    }
  }
}

// The fixture asks for sentinels created at <rootfs>/.. and <rootfs>/../evil-whiteout-victim
// before unpacking. With the overlay driver the rootfs is a fresh staging/<random>/diff dir whose
// name is only known inside the daemon, so they cannot be made in advance. What an escaping
// whiteout would do there: overlay whiteouts are 0/0 character devices, so
// `../.wh.evil-whiteout-victim` would mknod staging/<random>/evil-whiteout-victim (renamed to
// <layers>/<chain-id>/evil-whiteout-victim on commit), and `.wh...` would hit <rootfs>/.. itself.
// So: no such node anywhere in the layers dir, the layers and staging dirs survive, and the base
// layer (a sibling of the crafted one) is intact.
TEST_F(ImageServiceMaliciousTest, EscapingWhiteouts_RejectedOrContained) {
  const std::string image = "evil-whiteout:latest";
  ASSERT_EQ(Fixture(image)["sentinels_rootfs_relative"],
            json::array({"..", "../evil-whiteout-victim"}));
  bool pulled = PullEvil(image, "..");
  EXPECT_TRUE(fs::is_directory(layers_dir()));
  EXPECT_TRUE(fs::is_directory(layers_dir() + "/staging"));
  EXPECT_FALSE(Exists(layers_dir() + "/evil-whiteout-victim"));
  EXPECT_FALSE(Exists(layers_dir() + "/staging/evil-whiteout-victim"));
  for (const auto& layer : LayerDirs()) {
    EXPECT_FALSE(Exists(LayerDir(layer) + "/evil-whiteout-victim")) << layer;
  }
  std::string base = ChainIds(image).at(0);
  if (Exists(LayerDir(base))) {
    EXPECT_TRUE(fs::is_regular_file(DiffDir(base) + "/bin/busybox"));
  }
  if (pulled) {
    EXPECT_TRUE(fs::is_directory(CraftedDiff(image)));
    CheckRootfs(image);
  }
}

// ---- 7. Concurrency ----------------------------------------------------------------------

TEST_F(ImageServiceTest, ConcurrentPulls_ShareDownloads) {
  constexpr int kPullers = 4;
  std::vector<grpc::Status> statuses(kPullers);
  std::vector<std::string> refs(kPullers);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kPullers; ++i) {
      threads.emplace_back([&, i] { statuses[i] = Pull(Ref("multilayer:latest"), &refs[i]); });
    }
  }
  for (int i = 0; i < kPullers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(refs[i], ImageId("multilayer:latest"));
  }
  int lines = 0;
  int downloaded = 0;
  for (const auto& line : PulledLines(daemon_->Log())) {
    ++lines;
    downloaded += line.downloaded;
  }
  EXPECT_EQ(lines, kPullers) << daemon_->Log();
  EXPECT_EQ(downloaded, 3) << "each of the 3 layers must be downloaded once\n" << daemon_->Log();
  EXPECT_EQ(List().size(), 1u);
  CheckRootfs("multilayer:latest");
}

// ---- 8. Persistence and crash safety -----------------------------------------------------

TEST_F(ImageServiceTest, Restart_ImagesSurvive) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  auto code = StopDaemon(SIGTERM);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);

  auto second = StartOnSameRoot();
  ASSERT_TRUE(second.ok()) << second.status();
  auto images = List(**second);
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0].id(), ImageId("busybox:latest"));
  EXPECT_TRUE(HasElement(images[0].repo_tags(), Ref("busybox:latest")));
  CheckRootfs("busybox:latest");
}

TEST_F(ImageServiceTest, KillDuringPull_RestartLeavesNoHalfImage) {
  // The kill lands as soon as a layer is being written (a staging dir appears), or right after
  // the pull started if that is never seen.
  grpc::Status pull_status;
  std::jthread puller([&] { pull_status = Pull(Ref("multilayer:latest")); });
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  bool mid_layer = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!StagingEntries(layers_dir()).empty()) {
      mid_layer = true;
      break;
    }
    if (Contains(daemon_->Log(), "pulled image=")) break;
    std::this_thread::sleep_for(milliseconds(1));
  }
  auto code = StopDaemon(SIGKILL);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGKILL);
  puller.join();
  std::cerr << "[  NOTE    ] killed " << (mid_layer ? "while a layer was written" : "late")
            << "; the pull RPC returned: "
            << (pull_status.ok() ? "OK" : pull_status.error_message()) << "\n";

  auto second = StartOnSameRoot();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(StagingEntries(layers_dir()).empty()) << "startup must clear staging";
  // Either the image was stored whole before the kill, or nothing of it is left: layers
  // committed before the kill belong to no image and startup prunes them.
  auto images = List(**second);
  if (images.empty()) {
    EXPECT_TRUE(LayerDirs().empty()) << "layers of the killed pull are pruned";
  } else {
    EXPECT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].id(), ImageId("multilayer:latest"));
    CheckRootfs("multilayer:latest");
  }

  std::string image_ref;
  grpc::Status st = Pull(**second, Ref("multilayer:latest"), &image_ref);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << (*second)->Log();
  EXPECT_EQ(image_ref, ImageId("multilayer:latest"));
  CheckRootfs("multilayer:latest");
}

// ---- 9. ImageFsInfo ----------------------------------------------------------------------

TEST_F(ImageServiceTest, ImageFsInfo_ReportsUsageThatGrowsWithPulls) {
  ASSERT_NO_FATAL_FAILURE(PullOk("busybox:latest"));
  auto first = FsInfo();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->image_filesystems_size(), 1);
  const auto& usage = first->image_filesystems(0);
  EXPECT_FALSE(usage.fs_id().mountpoint().empty());
  EXPECT_GT(usage.used_bytes().value(), 0u);
  EXPECT_GT(usage.inodes_used().value(), 0u);
  EXPECT_GT(usage.timestamp(), 0);
  EXPECT_EQ(first->container_filesystems_size(), 1);

  ASSERT_NO_FATAL_FAILURE(PullOk("zstd:latest"));
  auto second = FsInfo();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->image_filesystems_size(), 1);
  EXPECT_GT(second->image_filesystems(0).used_bytes().value(), usage.used_bytes().value());
  EXPECT_GT(second->image_filesystems(0).inodes_used().value(), usage.inodes_used().value());
}

// ---- 10. Short names ---------------------------------------------------------------------

class ImageServiceShortNameTest : public ImageServiceTest {
 protected:
  std::string ExtraImageConfig() const override { return "short_name_mode = \"disabled\"\n"; }
};

TEST_F(ImageServiceShortNameTest, SearchRegistry_ShortNamePullsAndResolves) {
  WriteRegistriesConf("unqualified-search-registries = [\"" + registry_->host() + "\"]\n\n" +
                      InsecureRegistry(registry_->host()));
  std::string image_ref;
  grpc::Status st = Pull("busybox", &image_ref);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(image_ref, ImageId("busybox:latest"));
  auto image = GetImage("busybox");
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->id(), image_ref);
  EXPECT_TRUE(HasElement(image->repo_tags(), Ref("busybox:latest")));
}

TEST_F(ImageServiceTest, ShortName_EnforcingWithTwoSearchRegistries_Ambiguous) {
  WriteRegistriesConf("unqualified-search-registries = [\"" + registry_->host() +
                      "\", \"registry.invalid\"]\n\n" + InsecureRegistry(registry_->host()));
  EXPECT_PULL_FAILS(Pull("busybox"), grpc::StatusCode::FAILED_PRECONDITION, "ambiguous");
  EXPECT_TRUE(List().empty());
}

}  // namespace
}  // namespace crio::testing
