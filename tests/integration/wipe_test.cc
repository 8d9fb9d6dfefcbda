// `crio wipe` and the daemon's internal wipe against real storage: a pod and a container made by
// the real daemon, then the version files removed as a reboot (or an upgrade) would.
// Generated CRI headers first: their Signal enum clashes with <signal.h> macros.
#include "api.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "test_util.h"

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using ::testing::HasSubstr;

class WipeTest : public ::testing::Test {
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
    WriteFile(env_.Sub("policy.json"), R"({"default":[{"type":"insecureAcceptAnything"}]})");
    fs::create_directories(env_.Sub("registries.conf.d"));
    Start({});
  }

  void TearDown() override {
    daemon_.reset();
    old_.clear();
    // A wipe removes records and layers, not the cgroups the runtime made for the wiped
    // containers (after a real reboot there are none): the test removes its own tree.
    for (const auto& h : CgroupHierarchies()) RemoveCgroupTree(h + cgroup_parent_);
  }

  std::string Config() const {
    return "[crio]\nversion_file_persist = \"" + env_.Sub("persist/version") +
           "\"\n[crio.image]\nregistries_conf = \"" + env_.Sub("registries.conf") +
           "\"\nregistries_conf_dir = \"" + env_.Sub("registries.conf.d") +
           "\"\nsignature_policy = \"" + env_.Sub("policy.json") +
           "\"\n[crio.runtime]\ndefault_runtime = \"runc\"\n";
  }

  void Start(const std::vector<std::string>& extra) {
    DaemonOptions options;
    options.config_text = Config();
    options.extra_args = extra;
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }

  // The same config, root and runroot as the first daemon.
  std::vector<std::string> StateArgs() const {
    const Daemon& first = old_.empty() ? *daemon_ : *old_.front();
    return {"--config", first.dir().Sub("crio.conf"), "--config-dir", first.config_dir(),
            "--root",   first.dir().Sub("root"),      "--runroot",    first.dir().Sub("runroot")};
  }
  std::string VersionFile() const {
    const Daemon& first = old_.empty() ? *daemon_ : *old_.front();
    return first.dir().Sub("version");
  }

  void StopGracefully() {
    ASSERT_TRUE(daemon_->Signal(SIGTERM).ok());
    auto code = daemon_->WaitExit(seconds(30));
    ASSERT_TRUE(code.ok()) << code.status();
    old_.push_back(std::move(daemon_));
  }

  CommandResult CrioWipe(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {BuiltBinary("crio")};
    for (const auto& a : StateArgs()) argv.push_back(a);
    argv.push_back("wipe");
    for (const auto& a : extra) argv.push_back(a);
    return RunCommand(argv);
  }

  // A pod with one exited container (what a reboot leaves), from busybox.
  void MakeStoppedPodWithContainer() {
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(registry_->Reference("busybox:latest"));
    v1::PullImageResponse pulled;
    auto pctx = daemon_->Context(seconds(120));
    ASSERT_TRUE(daemon_->image().PullImage(pctx.get(), pull, &pulled).ok());
    image_ref_ = pulled.image_ref();

    v1::RunPodSandboxRequest run;
    auto* pod = run.mutable_config();
    pod->mutable_metadata()->set_name("wipe");
    pod->mutable_metadata()->set_namespace_("wipe-test");
    pod->mutable_metadata()->set_uid("uid-" + RandomHex(8));
    pod->set_log_directory(env_.Sub("logs"));
    pod->mutable_linux()->set_cgroup_parent(cgroup_parent_);
    v1::RunPodSandboxResponse ran;
    auto rctx = daemon_->Context(seconds(60));
    grpc::Status st = daemon_->runtime().RunPodSandbox(rctx.get(), run, &ran);
    ASSERT_TRUE(st.ok()) << st.error_message();
    pod_id_ = ran.pod_sandbox_id();

    v1::CreateContainerRequest create;
    create.set_pod_sandbox_id(pod_id_);
    create.mutable_config()->mutable_metadata()->set_name("c");
    create.mutable_config()->mutable_image()->set_image(registry_->Reference("busybox:latest"));
    create.mutable_config()->add_command("true");
    *create.mutable_sandbox_config() = *pod;
    v1::CreateContainerResponse created;
    auto cctx = daemon_->Context(seconds(60));
    st = daemon_->runtime().CreateContainer(cctx.get(), create, &created);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ctr_id_ = created.container_id();

    v1::StopPodSandboxRequest stop;
    stop.set_pod_sandbox_id(pod_id_);
    v1::StopPodSandboxResponse stopped;
    auto sctx = daemon_->Context(seconds(60));
    st = daemon_->runtime().StopPodSandbox(sctx.get(), stop, &stopped);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  int ContainerCount() {
    v1::ListContainersRequest req;
    v1::ListContainersResponse resp;
    auto ctx = daemon_->Context();
    EXPECT_TRUE(daemon_->runtime().ListContainers(ctx.get(), req, &resp).ok());
    return resp.containers_size();
  }
  int PodCount() {
    v1::ListPodSandboxRequest req;
    v1::ListPodSandboxResponse resp;
    auto ctx = daemon_->Context();
    EXPECT_TRUE(daemon_->runtime().ListPodSandbox(ctx.get(), req, &resp).ok());
    return resp.items_size();
  }
  bool HasImage() {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(image_ref_);
    v1::ImageStatusResponse resp;
    auto ctx = daemon_->Context();
    EXPECT_TRUE(daemon_->image().ImageStatus(ctx.get(), req, &resp).ok());
    return resp.has_image();
  }
  int ContainerLayerDirs() {
    int n = 0;
    std::error_code ec;
    const std::string dir = (old_.empty() ? *daemon_ : *old_.front()).dir().Sub("root");
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().find("-containers") == std::string::npos) continue;
      for (const auto& c : fs::directory_iterator(entry.path(), ec)) {
        if (c.path().filename().string().size() == 64) ++n;  // a container id
      }
    }
    return n;
  }

  TempDir env_;
  RegistryFixture* registry_ = nullptr;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<Daemon>> old_;
  std::string image_ref_, pod_id_, ctr_id_;
  std::string cgroup_parent_ = "/crio-cpp-test-" + RandomHex(12);
};

TEST_F(WipeTest, GracefulStop_WritesCleanShutdownAndVersionFiles) {
  StopGracefully();
  EXPECT_TRUE(fs::exists(old_.front()->dir().Sub("clean.shutdown")));
  EXPECT_TRUE(fs::exists(old_.front()->dir().Sub("clean.shutdown.supported")));
  EXPECT_TRUE(fs::exists(VersionFile()));
  EXPECT_TRUE(fs::exists(env_.Sub("persist/version")));
}

TEST_F(WipeTest, WipeCommand_RebootWipesContainersNotImages_UpgradeWipesImagesToo) {
  MakeStoppedPodWithContainer();
  ASSERT_EQ(ContainerLayerDirs(), 1);
  StopGracefully();

  CommandResult unchanged = CrioWipe({});
  EXPECT_EQ(unchanged.exit_code, 0) << unchanged.output;
  EXPECT_THAT(unchanged.output, HasSubstr("no wipe needed"));
  EXPECT_EQ(ContainerLayerDirs(), 1);

  fs::remove(VersionFile());  // a reboot empties /var/run
  CommandResult reboot = CrioWipe({});
  EXPECT_EQ(reboot.exit_code, 0) << reboot.output;
  EXPECT_THAT(reboot.output, HasSubstr("deleted container " + ctr_id_));
  EXPECT_EQ(ContainerLayerDirs(), 0);

  Start(StateArgs());
  EXPECT_EQ(ContainerCount(), 0);
  EXPECT_EQ(PodCount(), 0);
  EXPECT_TRUE(HasImage()) << "a reboot keeps the images";

  // An upgrade: both version files say another version.
  MakeStoppedPodWithContainer();
  StopGracefully();
  WriteFile(VersionFile(), "\"99.0.0\"");
  WriteFile(env_.Sub("persist/version"), "\"99.0.0\"");
  CommandResult upgrade = CrioWipe({});
  EXPECT_EQ(upgrade.exit_code, 0) << upgrade.output;
  EXPECT_THAT(upgrade.output, HasSubstr("deleted image"));
  Start(StateArgs());
  EXPECT_EQ(ContainerCount(), 0);
  EXPECT_FALSE(HasImage());
}

TEST_F(WipeTest, InternalWipe_DaemonStartAfterRebootStartsEmpty) {
  MakeStoppedPodWithContainer();
  StopGracefully();
  fs::remove(VersionFile());
  Start(StateArgs());
  EXPECT_THAT(daemon_->Log(), HasSubstr("internal wipe"));
  EXPECT_EQ(ContainerCount(), 0);
  EXPECT_EQ(PodCount(), 0);
  EXPECT_TRUE(HasImage());
  EXPECT_TRUE(fs::exists(VersionFile())) << "written again at start";
}

TEST_F(WipeTest, KilledDaemon_KeepsItsContainers_WipeCommandRemovesStorageOnce) {
  MakeStoppedPodWithContainer();
  ASSERT_TRUE(daemon_->Signal(SIGKILL).ok());
  ASSERT_TRUE(daemon_->WaitExit(seconds(30)).ok());
  old_.push_back(std::move(daemon_));
  // A daemon crash is not a node crash: the next daemon keeps everything.
  Start(StateArgs());
  EXPECT_EQ(ContainerCount(), 1);
  EXPECT_THAT(daemon_->Log(), HasSubstr("not clean"));
  ASSERT_TRUE(daemon_->Signal(SIGKILL).ok());
  ASSERT_TRUE(daemon_->WaitExit(seconds(30)).ok());
  old_.push_back(std::move(daemon_));

  fs::remove(VersionFile());  // the node crashed and rebooted
  CommandResult wipe = CrioWipe({});
  EXPECT_EQ(wipe.exit_code, 0) << wipe.output;
  EXPECT_THAT(wipe.output, HasSubstr("suspected unclean shutdown"));
  EXPECT_FALSE(fs::exists(old_.front()->dir().Sub("root")));
  CommandResult again = CrioWipe({});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("already succeeded"));
}

}  // namespace
}  // namespace crio::testing
