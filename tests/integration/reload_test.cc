// Live reload: a drop-in rewritten, SIGHUP sent to the running daemon, and the next request
// checked to see the new value (the runtime handlers, pinned images, the signature policy, the
// default seccomp profile); a broken file changes nothing.
// Generated CRI headers first: their Signal enum clashes with <signal.h> macros.
#include "api.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "daemon_harness.h"
#include "test_util.h"

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using ::testing::HasSubstr;

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    if (PathOf("conmon").empty() || PathOf("runc").empty()) GTEST_SKIP() << "no conmon or runc";
    auto registry = SharedTestRegistry();
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    WriteFile(env_.Sub("registries.conf"),
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    fs::create_directories(env_.Sub("registries.conf.d"));
    WriteFile(env_.Sub("accept.json"), R"({"default":[{"type":"insecureAcceptAnything"}]})");
    WriteFile(env_.Sub("reject.json"), R"({"default":[{"type":"reject"}]})");
    DaemonOptions options;
    options.config_text = "[crio.image]\nregistries_conf = \"" + env_.Sub("registries.conf") +
                          "\"\nregistries_conf_dir = \"" + env_.Sub("registries.conf.d") +
                          "\"\nsignature_policy = \"" + env_.Sub("accept.json") +
                          "\"\n[crio.runtime]\ndefault_runtime = \"runc\"\n";
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }

  void TearDown() override {
    if (daemon_) {
      for (const auto& id : pods_) {
        v1::RemovePodSandboxRequest req;
        req.set_pod_sandbox_id(id);
        v1::RemovePodSandboxResponse resp;
        auto ctx = daemon_->Context(seconds(120));
        (void)daemon_->runtime().RemovePodSandbox(ctx.get(), req, &resp);
      }
    }
    daemon_.reset();
    for (const auto& h : CgroupHierarchies()) RemoveCgroupTree(h + cgroup_parent_);
  }

  // Writes the test's drop-in (the last one read), sends SIGHUP and waits for `expected_log`.
  void Reload(const std::string& drop_in, const std::string& expected_log) {
    WriteFile(daemon_->config_dir() + "/90-reload.conf", drop_in);
    ASSERT_TRUE(daemon_->Signal(SIGHUP).ok());
    ASSERT_TRUE(daemon_->WaitForLog(expected_log, seconds(10))) << daemon_->Log();
  }

  grpc::Status Pull(std::string* ref = nullptr) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(registry_->Reference("busybox:latest"));
    v1::PullImageResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->image().PullImage(ctx.get(), req, &resp);
    if (ref) *ref = resp.image_ref();
    return st;
  }

  v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_namespace_("reload-test");
    config.mutable_metadata()->set_uid("uid-" + RandomHex(12));
    config.set_log_directory(env_.Sub("logs"));
    config.mutable_linux()->set_cgroup_parent(cgroup_parent_);
    return config;
  }

  grpc::Status RunPod(const v1::PodSandboxConfig& config, const std::string& handler,
                      std::string* id) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    req.set_runtime_handler(handler);
    v1::RunPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(60));
    grpc::Status st = daemon_->runtime().RunPodSandbox(ctx.get(), req, &resp);
    if (st.ok()) pods_.push_back(resp.pod_sandbox_id());
    *id = resp.pod_sandbox_id();
    return st;
  }

  std::string HandlerOf(const std::string& pod_id) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod_id);
    v1::PodSandboxStatusResponse resp;
    auto ctx = daemon_->Context();
    EXPECT_TRUE(daemon_->runtime().PodSandboxStatus(ctx.get(), req, &resp).ok());
    return resp.status().runtime_handler();
  }

  bool Pinned(const std::string& ref) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(ref);
    v1::ImageStatusResponse resp;
    auto ctx = daemon_->Context();
    EXPECT_TRUE(daemon_->image().ImageStatus(ctx.get(), req, &resp).ok());
    return resp.image().pinned();
  }

  // A container with the runtime's default seccomp profile; returns what `script` printed.
  std::string RunInContainer(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                             const std::string& name, const std::string& script) {
    v1::CreateContainerRequest create;
    create.set_pod_sandbox_id(pod_id);
    auto* config = create.mutable_config();
    config->mutable_metadata()->set_name(name);
    config->mutable_image()->set_image(registry_->Reference("busybox:latest"));
    for (const char* arg : {"sleep", "3600"}) config->add_command(arg);
    config->mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
        v1::SecurityProfile::RuntimeDefault);
    *create.mutable_sandbox_config() = pod;
    v1::CreateContainerResponse created;
    auto cctx = daemon_->Context(seconds(60));
    grpc::Status st = daemon_->runtime().CreateContainer(cctx.get(), create, &created);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::StartContainerRequest start;
    start.set_container_id(created.container_id());
    v1::StartContainerResponse started;
    auto sctx = daemon_->Context();
    EXPECT_TRUE(daemon_->runtime().StartContainer(sctx.get(), start, &started).ok());
    v1::ExecSyncRequest exec;
    exec.set_container_id(created.container_id());
    for (const char* arg : {"sh", "-c"}) exec.add_cmd(arg);
    exec.add_cmd(script);
    exec.set_timeout(20);
    v1::ExecSyncResponse out;
    auto ectx = daemon_->Context();
    EXPECT_TRUE(daemon_->runtime().ExecSync(ectx.get(), exec, &out).ok());
    return out.stdout();
  }

  TempDir env_;
  RegistryFixture* registry_ = nullptr;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::string> pods_;
  std::string cgroup_parent_ = "/crio-cpp-test-" + RandomHex(12);
};

TEST_F(ReloadTest, DefaultRuntimeAndRuntimesTable_NextPodUsesThem) {
  std::string before;
  ASSERT_TRUE(RunPod(PodConfig("before"), "", &before).ok());
  EXPECT_EQ(HandlerOf(before), "runc");
  std::string refused;
  EXPECT_EQ(RunPod(PodConfig("refused"), "extra", &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  Reload(
      "[crio.runtime]\ndefault_runtime = \"extra\"\n[crio.runtime.runtimes.extra]\n"
      "runtime_path = \"" +
          PathOf("runc") + "\"\nruntime_root = \"" + daemon_->dir().Sub("extra-root") + "\"\n",
      "reload: runtimes: added \"extra\"");
  EXPECT_THAT(daemon_->Log(), HasSubstr("default_runtime: \"runc\" -> \"extra\""));
  std::string after;
  grpc::Status st = RunPod(PodConfig("after"), "", &after);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(HandlerOf(after), "extra");
  // The runtime status lists the new handler.
  v1::StatusRequest req;
  v1::StatusResponse resp;
  auto ctx = daemon_->Context();
  ASSERT_TRUE(daemon_->runtime().Status(ctx.get(), req, &resp).ok());
  bool listed = false;
  for (const auto& h : resp.runtime_handlers()) listed = listed || h.name() == "extra";
  EXPECT_TRUE(listed);
}

TEST_F(ReloadTest, PinnedImagesAndSignaturePolicy_NextRequestSeesThem) {
  std::string ref;
  ASSERT_TRUE(Pull(&ref).ok());
  EXPECT_FALSE(Pinned(ref));
  Reload("[crio.image]\npinned_images = [\"" + registry_->Reference("busybox:latest") +
             "\"]\nsignature_policy = \"" + env_.Sub("reject.json") + "\"\n",
         "reload: pinned_images");
  EXPECT_TRUE(Pinned(ref));
  grpc::Status rejected = Pull();
  EXPECT_FALSE(rejected.ok()) << "the reject-all policy applies to the next pull";

  Reload("", "-> \"" + env_.Sub("accept.json") + "\"");
  EXPECT_TRUE(Pull().ok());
  EXPECT_FALSE(Pinned(ref));
}

TEST_F(ReloadTest, SeccompProfile_NextContainerGetsTheNewDefault) {
  ASSERT_TRUE(Pull().ok());
  // Allows everything but mkdir: the new default profile is easy to tell from the built-in one.
  WriteFile(env_.Sub("no-mkdir.json"),
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],)"
            R"("action":"SCMP_ACT_ERRNO"}]})");
  v1::PodSandboxConfig pod = PodConfig("seccomp");
  std::string pod_id;
  ASSERT_TRUE(RunPod(pod, "", &pod_id).ok());
  EXPECT_EQ(RunInContainer(pod_id, pod, "before", "mkdir /tmp/d && echo made"), "made\n");

  Reload("[crio.runtime]\nseccomp_profile = \"" + env_.Sub("no-mkdir.json") + "\"\n",
         "reload: seccomp_profile");
  EXPECT_EQ(RunInContainer(pod_id, pod, "after", "mkdir /tmp/d 2>/dev/null || echo refused"),
            "refused\n");
}

TEST_F(ReloadTest, BrokenFile_ChangesNothing) {
  std::string ref;
  ASSERT_TRUE(Pull(&ref).ok());
  Reload("[crio.image]\npinned_images = [\"" + registry_->Reference("busybox:latest") + "\"]\n",
         "reload: pinned_images");
  ASSERT_TRUE(Pinned(ref));

  // A type error in one drop-in: the whole reload is refused.
  WriteFile(daemon_->config_dir() + "/90-reload.conf",
            "[crio.image]\npinned_images = []\n[crio.runtime]\ndefault_runtime = 42\n");
  ASSERT_TRUE(daemon_->Signal(SIGHUP).ok());
  ASSERT_TRUE(daemon_->WaitForLog("reload failed, keeping the running configuration", seconds(10)))
      << daemon_->Log();
  EXPECT_TRUE(Pinned(ref)) << "nothing of the broken file applied";
  std::string pod_id;
  ASSERT_TRUE(RunPod(PodConfig("still-runc"), "", &pod_id).ok());
  EXPECT_EQ(HandlerOf(pod_id), "runc");
}

}  // namespace
}  // namespace crio::testing
