// Container configuration fidelity through the real daemon, on crun and runc:
// UpdateContainerResources (the container's cgroup files and ContainerStatus show the new
// limits), UpdatePodSandboxResources (the pod cgroup), OCI hooks from a temp hooks_dir (they run,
// at their stage, only when `when` matches) and CDI devices from a temp cdi_spec_dirs (env, mount
// and device node inside the container).
//
// Each test starts its own daemon on its own temp root, with hooks_dir and cdi_spec_dirs in a
// temp dir, and pods in a random cgroupfs parent "/crio-cpp-test-<hex>" removed at the end.
// The generated CRI headers come first: their Signal enum clashes with <signal.h> macros.
// clang-format off
#include "daemon_harness.h"
#include "registry_fixture.h"
#include "test_util.h"
// clang-format on

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kCgroupRoot[] = "/sys/fs/cgroup";
constexpr char kSleepUntilTerm[] = "trap 'exit 0' TERM; sleep 3600 & wait";

bool CgroupV2() { return fs::exists(std::string(kCgroupRoot) + "/cgroup.controllers"); }

// A cgroup file of `cgroup` ("/parent/crio-<id>") in `controller`'s hierarchy (v1) or the
// unified tree (v2).
std::string CgroupFile(const std::string& controller, const std::string& cgroup,
                       const std::string& file) {
  std::string base =
      CgroupV2() ? std::string(kCgroupRoot) : std::string(kCgroupRoot) + "/" + controller;
  return Trim(ReadFile(base + cgroup + "/" + file));
}

class UpdateTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Handler() const { return GetParam(); }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    if (PathOf("conmon").empty()) GTEST_SKIP() << "conmon is not installed";
    if (PathOf(Handler()).empty()) GTEST_SKIP() << Handler() << " is not installed";
    if (CrunNeedsHybridWorkaround()) {
      WriteFile(env_.Sub("crun-wrapper"),
                "#!/bin/sh\n"
                "exec unshare --mount --propagation private /bin/sh -c "
                "'mount -t tmpfs -o size=4k crio-test-hide-cgroup2 /sys/fs/cgroup/unified && "
                "exec " +
                    PathOf("crun") + " \"$@\"' crun \"$@\"\n");
      fs::permissions(env_.Sub("crun-wrapper"), fs::perms::owner_all);
    }
    auto registry = SharedTestRegistry();
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    fs::create_directories(env_.Sub("registries.conf.d"));
    fs::create_directories(env_.Sub("hooks-a"));
    fs::create_directories(env_.Sub("hooks-b"));
    fs::create_directories(env_.Sub("cdi"));
    fs::create_directories(env_.Sub("out"));
    WriteFile(env_.Sub("registries.conf"),
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    WriteFile(env_.Sub("policy.json"), R"({"default":[{"type":"insecureAcceptAnything"}]})");
    cgroup_parent_ = "/crio-cpp-test-" + RandomHex(12);
  }

  // Starts the daemon; tests first put their hook and CDI files in place.
  void StartDaemon() {
    DaemonOptions options;
    options.config_text =
        "[crio.image]\n"
        "registries_conf = \"" +
        env_.Sub("registries.conf") +
        "\"\n"
        "registries_conf_dir = \"" +
        env_.Sub("registries.conf.d") +
        "\"\n"
        "signature_policy = \"" +
        env_.Sub("policy.json") +
        "\"\n"
        "[crio.runtime]\n"
        "hooks_dir = [\"" +
        env_.Sub("hooks-a") + "\", \"" + env_.Sub("hooks-b") +
        "\"]\n"
        "cdi_spec_dirs = [\"" +
        env_.Sub("cdi") + "\"]\n" +
        (CrunNeedsHybridWorkaround()
             ? "[crio.runtime.runtimes.crun]\nruntime_path = \"" + env_.Sub("crun-wrapper") + "\"\n"
             : "") +
        extra_config_;
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    v1::PullImageRequest req;
    req.mutable_image()->set_image(Ref());
    v1::PullImageResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->image().PullImage(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void TearDown() override {
    if (daemon_) {
      for (const auto& id : pods_) {
        v1::RemovePodSandboxRequest req;
        req.set_pod_sandbox_id(id);
        v1::RemovePodSandboxResponse resp;
        auto ctx = daemon_->Context(seconds(120));
        grpc::Status st = rt().RemovePodSandbox(ctx.get(), req, &resp);
        EXPECT_TRUE(st.ok()) << st.error_message();
      }
    }
    daemon_.reset();
    if (cgroup_parent_.rfind("/crio-cpp-test-", 0) == 0) {
      for (const auto& h : CgroupHierarchies()) RemoveCgroupTree(h + cgroup_parent_);
    }
  }

  v1::RuntimeService::Stub& rt() { return daemon_->runtime(); }
  std::string Ref() const { return registry_->Reference("busybox:latest"); }

  v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig config;
    auto* md = config.mutable_metadata();
    md->set_name(name);
    md->set_namespace_("update-test");
    md->set_uid("uid-" + RandomHex(16));
    config.set_hostname(name);
    std::string log_dir = env_.Sub("logs/" + md->uid());
    fs::create_directories(log_dir);
    config.set_log_directory(log_dir);
    config.mutable_linux()->set_cgroup_parent(cgroup_parent_);
    auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(v1::NamespaceMode::POD);
    ns->set_pid(v1::NamespaceMode::CONTAINER);
    ns->set_ipc(v1::NamespaceMode::POD);
    return config;
  }

  std::string RunPod(const v1::PodSandboxConfig& config) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    req.set_runtime_handler(Handler());
    v1::RunPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = rt().RunPodSandbox(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (st.ok()) pods_.push_back(resp.pod_sandbox_id());
    return resp.pod_sandbox_id();
  }

  v1::ContainerConfig CtrConfig(const std::string& name) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(Ref());
    for (const char* arg : {"sh", "-c", kSleepUntilTerm}) config.add_command(arg);
    config.set_log_path(name + ".log");
    return config;
  }

  grpc::Status CreateCtr(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                         const v1::ContainerConfig& config, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    *req.mutable_config() = config;
    *req.mutable_sandbox_config() = pod;
    v1::CreateContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = rt().CreateContainer(ctx.get(), req, &resp);
    *id = resp.container_id();
    return st;
  }

  std::string RunCtr(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                     const v1::ContainerConfig& config) {
    std::string id;
    grpc::Status st = CreateCtr(pod_id, pod, config, &id);
    EXPECT_TRUE(st.ok()) << "CreateContainer: " << st.error_message();
    if (!st.ok()) return "";
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    auto ctx = daemon_->Context(seconds(60));
    st = rt().StartContainer(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << "StartContainer: " << st.error_message();
    return st.ok() ? id : "";
  }

  grpc::Status Update(const std::string& id, const v1::LinuxContainerResources& r) {
    v1::UpdateContainerResourcesRequest req;
    req.set_container_id(id);
    *req.mutable_linux() = r;
    v1::UpdateContainerResourcesResponse resp;
    auto ctx = daemon_->Context(seconds(60));
    return rt().UpdateContainerResources(ctx.get(), req, &resp);
  }

  v1::ContainerStatus CtrStatus(const std::string& id) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().ContainerStatus(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.status();
  }

  v1::ExecSyncResponse Exec(const std::string& id, const std::string& script) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const char* arg : {"sh", "-c"}) req.add_cmd(arg);
    req.add_cmd(script);
    req.set_timeout(20);
    v1::ExecSyncResponse resp;
    auto ctx = daemon_->Context(seconds(30));
    grpc::Status st = rt().ExecSync(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  TempDir env_;
  RegistryFixture* registry_ = nullptr;
  std::string extra_config_;  // appended to the daemon's config (whole TOML tables)
  std::string cgroup_parent_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::string> pods_;
};

std::string ParamName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }
INSTANTIATE_TEST_SUITE_P(Handlers, UpdateTest, ::testing::Values("crun", "runc"), ParamName);

// ---- UpdateContainerResources ----------------------------------------------------------------

TEST_P(UpdateTest, UpdateContainerResources_RunningContainer_CgroupAndStatusShowNewLimits) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::PodSandboxConfig pod = PodConfig("upd");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config = CtrConfig("app");
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(256 << 20);
  config.mutable_linux()->mutable_resources()->set_oom_score_adj(100);
  std::string id = RunCtr(pod_id, pod, config);
  ASSERT_FALSE(id.empty());
  const std::string cgroup = cgroup_parent_ + "/crio-" + id;
  ASSERT_EQ(CgroupFile("memory", cgroup, CgroupV2() ? "memory.max" : "memory.limit_in_bytes"),
            std::to_string(256 << 20));

  v1::LinuxContainerResources r;
  r.set_memory_limit_in_bytes(64 << 20);
  r.set_cpu_shares(512);
  r.set_cpu_quota(50000);
  r.set_cpu_period(100000);
  grpc::Status st = Update(id, r);
  ASSERT_TRUE(st.ok()) << st.error_message();

  if (CgroupV2()) {
    EXPECT_EQ(CgroupFile("memory", cgroup, "memory.max"), std::to_string(64 << 20));
    EXPECT_EQ(CgroupFile("cpu", cgroup, "cpu.max"), "50000 100000");
  } else {
    EXPECT_EQ(CgroupFile("memory", cgroup, "memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(CgroupFile("cpu", cgroup, "cpu.shares"), "512");
    EXPECT_EQ(CgroupFile("cpu", cgroup, "cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(CgroupFile("cpu", cgroup, "cpu.cfs_period_us"), "100000");
  }
  // What the container itself sees: its own cgroup is mounted at /sys/fs/cgroup.
  if (!CgroupV2()) {
    v1::ExecSyncResponse out = Exec(id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes");
    EXPECT_EQ(Trim(out.stdout()), std::to_string(64 << 20)) << out.stderr();
  }
  v1::ContainerStatus status = CtrStatus(id);
  EXPECT_EQ(status.resources().linux().memory_limit_in_bytes(), 64 << 20);
  EXPECT_EQ(status.resources().linux().cpu_shares(), 512);
  EXPECT_EQ(status.resources().linux().cpu_quota(), 50000);
  EXPECT_EQ(status.resources().linux().oom_score_adj(), 100);  // not updatable; kept
}

TEST_P(UpdateTest, UpdateContainerResources_BadRequests_AreRefusedWithTheRightCode) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::LinuxContainerResources ok;
  ok.set_cpu_shares(256);
  grpc::Status st = Update("0123456789abcdef-no-such-container", ok);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();

  v1::PodSandboxConfig pod = PodConfig("bad");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string id = RunCtr(pod_id, pod, CtrConfig("app"));
  ASSERT_FALSE(id.empty());
  v1::LinuxContainerResources bad;
  bad.set_memory_limit_in_bytes(-5);
  st = Update(id, bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("memory_limit_in_bytes"), std::string::npos)
      << st.error_message();

  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  stop.set_timeout(5);
  v1::StopContainerResponse stop_resp;
  auto ctx = daemon_->Context(seconds(60));
  ASSERT_TRUE(rt().StopContainer(ctx.get(), stop, &stop_resp).ok());
  st = Update(id, ok);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
}

// ---- UpdatePodSandboxResources ---------------------------------------------------------------

TEST_P(UpdateTest, UpdatePodSandboxResources_WritesResourcesPlusOverheadToThePodCgroup) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::PodSandboxConfig pod = PodConfig("podres");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  v1::UpdatePodSandboxResourcesRequest req;
  req.set_pod_sandbox_id(pod_id);
  req.mutable_resources()->set_memory_limit_in_bytes(200 << 20);
  req.mutable_resources()->set_cpu_shares(300);
  req.mutable_overhead()->set_memory_limit_in_bytes(20 << 20);
  v1::UpdatePodSandboxResourcesResponse resp;
  auto ctx = daemon_->Context();
  grpc::Status st = rt().UpdatePodSandboxResources(ctx.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  if (CgroupV2()) {
    EXPECT_EQ(CgroupFile("memory", cgroup_parent_, "memory.max"), std::to_string(220 << 20));
  } else {
    EXPECT_EQ(CgroupFile("memory", cgroup_parent_, "memory.limit_in_bytes"),
              std::to_string(220 << 20));
    EXPECT_EQ(CgroupFile("cpu", cgroup_parent_, "cpu.shares"), "300");
  }
  req.set_pod_sandbox_id("no-such-pod");
  auto ctx2 = daemon_->Context();
  st = rt().UpdatePodSandboxResources(ctx2.get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

// ---- OCI hooks -------------------------------------------------------------------------------

TEST_P(UpdateTest, Hooks_MatchingHookRunsAtItsStage_NonMatchingDoesNot) {
  const std::string out = env_.Sub("out");
  // The runtime passes the container state on stdin; keep it to check id and status.
  WriteFile(env_.Sub("hook.sh"), "#!/bin/sh\ncat > " + out + "/$1.json\n");
  fs::permissions(env_.Sub("hook.sh"), fs::perms::owner_all);
  auto hook_file = [&](const std::string& name, const std::string& when, const std::string& stage) {
    return R"({"version":"1.0.0","hook":{"path":")" + env_.Sub("hook.sh") +
           R"(","args":["hook.sh",")" + name + R"("]},"when":)" + when + R"(,"stages":[")" + stage +
           R"("]})";
  };
  WriteFile(
      env_.Sub("hooks-a/10-annot.json"),
      hook_file("annot", R"({"annotations":{"^example\\.com/hooked$":"^yes$"}})", "createRuntime"));
  WriteFile(env_.Sub("hooks-a/20-cmd.json"),
            hook_file("cmd", R"({"commands":["nginx"]})", "createRuntime"));
  // Overridden by the same-named file of the later dir, which has another stage.
  WriteFile(env_.Sub("hooks-a/30-poststart.json"),
            hook_file("overridden", R"({"always":true})", "poststart"));
  WriteFile(env_.Sub("hooks-b/30-poststart.json"),
            hook_file("poststart", R"({"always":true})", "poststart"));
  WriteFile(env_.Sub("hooks-b/40-broken.json"), "{ not json");
  ASSERT_NO_FATAL_FAILURE(StartDaemon());

  v1::PodSandboxConfig pod = PodConfig("hooks");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config = CtrConfig("hooked");
  (*config.mutable_annotations())["example.com/hooked"] = "yes";
  std::string id = RunCtr(pod_id, pod, config);
  ASSERT_FALSE(id.empty());

  auto annot = nlohmann::json::parse(ReadFile(out + "/annot.json"), nullptr, false);
  ASSERT_FALSE(annot.is_discarded()) << ReadFile(out + "/annot.json");
  EXPECT_EQ(annot["id"], id);
  // createRuntime runs before the user process starts: runc reports "creating", crun "created".
  EXPECT_TRUE(annot["status"] == "creating" || annot["status"] == "created") << annot.dump();
  auto post = nlohmann::json::parse(ReadFile(out + "/poststart.json"), nullptr, false);
  ASSERT_FALSE(post.is_discarded()) << ReadFile(out + "/poststart.json");
  EXPECT_EQ(post["id"], id);
  EXPECT_FALSE(fs::exists(out + "/cmd.json"));
  EXPECT_FALSE(fs::exists(out + "/overridden.json"));
  EXPECT_TRUE(daemon_->WaitForLog("40-broken.json", seconds(2))) << daemon_->Log();

  // A container without the annotation gets no createRuntime hook.
  fs::remove(out + "/annot.json");
  std::string plain = RunCtr(pod_id, pod, CtrConfig("plain"));
  ASSERT_FALSE(plain.empty());
  EXPECT_FALSE(fs::exists(out + "/annot.json"));
}

// ---- CDI -------------------------------------------------------------------------------------

TEST_P(UpdateTest, CdiDevice_EnvMountAndDeviceNodeShowUpInTheContainer) {
  WriteFile(env_.Sub("cdi-data"), "from-cdi\n");
  WriteFile(env_.Sub("cdi/test.json"), R"({
    "cdiVersion": "0.6.0", "kind": "example.com/test",
    "containerEdits": {"env": ["CDI_SPEC_LEVEL=1"]},
    "devices": [{"name": "null", "containerEdits": {
      "env": ["CDI_TEST=hello"],
      "mounts": [{"hostPath": ")" + env_.Sub("cdi-data") +
                                           R"(", "containerPath": "/etc/cdi-data",
                  "options": ["ro"]}],
      "deviceNodes": [{"path": "/dev/cdi-null", "hostPath": "/dev/null"}]}}]})");
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::PodSandboxConfig pod = PodConfig("cdi");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config = CtrConfig("dev");
  config.add_cdi_devices()->set_name("example.com/test=null");
  std::string id = RunCtr(pod_id, pod, config);
  ASSERT_FALSE(id.empty());
  v1::ExecSyncResponse r =
      Exec(id,
           "echo $CDI_TEST $CDI_SPEC_LEVEL; cat /etc/cdi-data; stat -c '%F %t:%T' /dev/cdi-null;"
           " echo x > /dev/cdi-null && echo writable");
  EXPECT_EQ(r.stdout(), "hello 1\nfrom-cdi\ncharacter special file 1:3\nwritable\n") << r.stderr();

  std::string unknown;
  v1::ContainerConfig bad = CtrConfig("bad");
  bad.add_cdi_devices()->set_name("example.com/test=missing");
  grpc::Status st = CreateCtr(pod_id, pod, bad, &unknown);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("example.com/test=missing"), std::string::npos)
      << st.error_message();
}

// ---- User namespaces -------------------------------------------------------------------------

// Pods asking for a user namespace with mappings are refused, naming why, rather than run
// without one (see the note in lifecycle::Manager::RunPodSandbox).
TEST(UserNamespaces, PodWithUsernsMappings_IsRefusedWithFailedPrecondition) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto daemon = Daemon::Start();
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  v1::RunPodSandboxRequest req;
  auto* md = req.mutable_config()->mutable_metadata();
  md->set_name("userns");
  md->set_namespace_("update-test");
  md->set_uid("uid-" + RandomHex(16));
  auto* userns = req.mutable_config()
                     ->mutable_linux()
                     ->mutable_security_context()
                     ->mutable_namespace_options()
                     ->mutable_userns_options();
  userns->set_mode(v1::NamespaceMode::POD);
  auto* uid = userns->add_uids();
  uid->set_host_id(100000);
  uid->set_container_id(0);
  uid->set_length(65536);
  *userns->add_gids() = *uid;
  v1::RunPodSandboxResponse resp;
  auto ctx = (*daemon)->Context();
  grpc::Status st = (*daemon)->runtime().RunPodSandbox(ctx.get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("user namespaces"), std::string::npos) << st.error_message();
  EXPECT_TRUE(resp.pod_sandbox_id().empty());
}

// ---- Stats and pod metrics ---------------------------------------------------------------------

// The stats RPCs against real containers in their own cgroups (each pod has its own
// cgroup_parent, as under the kubelet).
class StatsTest : public UpdateTest {
 protected:
  v1::ContainerStats CtrStats(const std::string& id) {
    v1::ContainerStatsRequest req;
    req.set_container_id(id);
    v1::ContainerStatsResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().ContainerStats(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.stats();
  }
  v1::PodSandboxStats PodStats(const std::string& id) {
    v1::PodSandboxStatsRequest req;
    req.set_pod_sandbox_id(id);
    v1::PodSandboxStatsResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().PodSandboxStats(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.stats();
  }
  std::vector<v1::ContainerStats> ListCtrStats(const v1::ContainerStatsFilter& filter) {
    v1::ListContainerStatsRequest req;
    *req.mutable_filter() = filter;
    v1::ListContainerStatsResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().ListContainerStats(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.stats().begin(), resp.stats().end()};
  }
  v1::ContainerConfig ScriptCtr(const std::string& name, const std::string& script) {
    v1::ContainerConfig config = CtrConfig(name);
    config.clear_command();
    for (const char* arg : {"sh", "-c"}) config.add_command(arg);
    config.add_command(script);
    return config;
  }
};
INSTANTIATE_TEST_SUITE_P(Handlers, StatsTest, ::testing::Values("crun", "runc"), ParamName);

TEST_P(StatsTest, CpuAndMemoryMoveWhenAContainerBurnsCpuAndAllocatesMemory) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::PodSandboxConfig pod = PodConfig("stats");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  // 40 MB in the pod's /dev/shm (tmpfs pages are charged to the container and are not
  // reclaimable file cache, so they count in the working set), then a busy loop.
  std::string busy =
      RunCtr(pod_id, pod,
             ScriptCtr("busy", "head -c 40000000 /dev/zero > /dev/shm/fill; while :; do :; done"));
  std::string idle = RunCtr(pod_id, pod, CtrConfig("idle"));
  ASSERT_FALSE(busy.empty() || idle.empty());

  ASSERT_TRUE(
      Eventually([&] { return CtrStats(busy).memory().working_set_bytes().value() >= 40'000'000; },
                 seconds(20)))
      << CtrStats(busy).DebugString();
  auto first = CtrStats(busy);
  std::this_thread::sleep_for(seconds(2));
  auto second = CtrStats(busy);
  EXPECT_EQ(second.attributes().id(), busy);
  EXPECT_EQ(second.attributes().metadata().name(), "busy");
  // Two seconds of a busy loop: most of a core (the machine may be busy: at least a quarter).
  const uint64_t cpu_delta = second.cpu().usage_core_nano_seconds().value() -
                             first.cpu().usage_core_nano_seconds().value();
  EXPECT_GE(cpu_delta, 500'000'000u) << second.DebugString();
  EXPECT_GE(second.cpu().usage_nano_cores().value(), 250'000'000u) << second.DebugString();
  EXPECT_GT(second.cpu().timestamp(), first.cpu().timestamp());
  EXPECT_GE(second.memory().usage_bytes().value(), second.memory().working_set_bytes().value());
  EXPECT_GT(second.memory().page_faults().value(), 0u);
  // The idle container uses next to no CPU.
  auto quiet = CtrStats(idle);
  std::this_thread::sleep_for(seconds(1));
  quiet = CtrStats(idle);
  EXPECT_LT(quiet.cpu().usage_nano_cores().value(), 50'000'000u) << quiet.DebugString();
  // The writable layer is measured in the background and shows up shortly.
  ASSERT_TRUE(Eventually([&] { return CtrStats(busy).writable_layer().inodes_used().value() > 0; },
                         seconds(15)));
  EXPECT_FALSE(CtrStats(busy).writable_layer().fs_id().mountpoint().empty());

  // The pod: its own cgroup holds both containers.
  auto pod_stats = PodStats(pod_id);
  EXPECT_EQ(pod_stats.attributes().id(), pod_id);
  EXPECT_EQ(pod_stats.linux().containers_size(), 2);
  EXPECT_GE(pod_stats.linux().memory().working_set_bytes().value(), 40'000'000u);
  EXPECT_GE(pod_stats.linux().cpu().usage_core_nano_seconds().value(),
            second.cpu().usage_core_nano_seconds().value());
  EXPECT_GE(pod_stats.linux().process().process_count().value(), 3u);  // pause, busy, idle
}

TEST_P(StatsTest, FiltersAndUnknownIdsBehaveAsTheProtoSays) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::PodSandboxConfig pod_a = PodConfig("filter-a");
  v1::PodSandboxConfig pod_b = PodConfig("filter-b");
  (*pod_b.mutable_labels())["tier"] = "b";
  std::string a = RunPod(pod_a);
  std::string b = RunPod(pod_b);
  ASSERT_FALSE(a.empty() || b.empty());
  v1::ContainerConfig labelled = CtrConfig("labelled");
  (*labelled.mutable_labels())["app"] = "x";
  std::string in_a = RunCtr(a, pod_a, labelled);
  std::string in_b = RunCtr(b, pod_b, CtrConfig("plain"));
  ASSERT_FALSE(in_a.empty() || in_b.empty());

  v1::ContainerStatsFilter by_id;
  by_id.set_id(in_b);
  auto one = ListCtrStats(by_id);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].attributes().id(), in_b);
  v1::ContainerStatsFilter by_pod;
  by_pod.set_pod_sandbox_id(a);
  auto of_a = ListCtrStats(by_pod);
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_EQ(of_a[0].attributes().id(), in_a);
  v1::ContainerStatsFilter by_label;
  (*by_label.mutable_label_selector())["app"] = "x";
  auto labelled_stats = ListCtrStats(by_label);
  ASSERT_EQ(labelled_stats.size(), 1u);
  EXPECT_EQ(labelled_stats[0].attributes().labels().at("app"), "x");
  EXPECT_EQ(ListCtrStats({}).size(), 2u);
  // The streamed forms return the same entries.
  {
    v1::StreamContainerStatsRequest req;
    auto ctx = daemon_->Context();
    auto reader = rt().StreamContainerStats(ctx.get(), req);
    v1::StreamContainerStatsResponse batch;
    std::set<std::string> ids;
    while (reader->Read(&batch)) {
      for (const auto& st : batch.container_stats()) ids.insert(st.attributes().id());
    }
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(ids, (std::set<std::string>{in_a, in_b}));
  }
  {
    v1::StreamPodSandboxStatsRequest req;
    req.mutable_filter()->set_id(a);
    auto ctx = daemon_->Context();
    auto reader = rt().StreamPodSandboxStats(ctx.get(), req);
    v1::StreamPodSandboxStatsResponse batch;
    int pods = 0;
    while (reader->Read(&batch)) {
      for (const auto& st : batch.pod_sandbox_stats()) {
        ++pods;
        EXPECT_EQ(st.attributes().id(), a);
        EXPECT_EQ(st.linux().containers_size(), 1);
      }
    }
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(pods, 1);
  }

  v1::ListPodSandboxStatsRequest pods_req;
  (*pods_req.mutable_filter()->mutable_label_selector())["tier"] = "b";
  v1::ListPodSandboxStatsResponse pods_resp;
  auto ctx = daemon_->Context();
  ASSERT_TRUE(rt().ListPodSandboxStats(ctx.get(), pods_req, &pods_resp).ok());
  ASSERT_EQ(pods_resp.stats_size(), 1);
  EXPECT_EQ(pods_resp.stats(0).attributes().id(), b);

  // Unknown ids: NOT_FOUND; missing ids: INVALID_ARGUMENT naming the field.
  v1::ContainerStatsRequest unknown;
  unknown.set_container_id("0123456789abcdef");
  v1::ContainerStatsResponse unknown_resp;
  auto ctx2 = daemon_->Context();
  EXPECT_EQ(rt().ContainerStats(ctx2.get(), unknown, &unknown_resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::PodSandboxStatsRequest unknown_pod;
  unknown_pod.set_pod_sandbox_id("0123456789abcdef");
  v1::PodSandboxStatsResponse unknown_pod_resp;
  auto ctx3 = daemon_->Context();
  EXPECT_EQ(rt().PodSandboxStats(ctx3.get(), unknown_pod, &unknown_pod_resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ContainerStatsRequest empty;
  v1::ContainerStatsResponse empty_resp;
  auto ctx4 = daemon_->Context();
  grpc::Status st = rt().ContainerStats(ctx4.get(), empty, &empty_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("container_id"), std::string::npos) << st.error_message();
}

TEST_P(StatsTest, OomKilledContainerReportsOomKilledAndCountsIt) {
  const std::string metrics_socket = env_.Sub("metrics.sock");
  extra_config_ =
      "[crio.stats]\nincluded_pod_metrics = [\"memory\", \"oom\", \"cpu\"]\n"
      "[crio.metrics]\nenable_metrics = true\nmetrics_port = " +
      std::to_string(FreeLocalPort()) + "\nmetrics_socket = \"" + metrics_socket + "\"\n";
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::PodSandboxConfig pod = PodConfig("oom");
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  // A 100 MB shell variable under a 32 MB limit.
  v1::ContainerConfig config =
      ScriptCtr("hog", "sleep 1; x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo $x");
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(32 << 20);
  std::string id = RunCtr(pod_id, pod, config);
  ASSERT_FALSE(id.empty());
  v1::ContainerStatus status;
  ASSERT_TRUE(Eventually(
      [&] {
        status = CtrStatus(id);
        return status.state() == v1::CONTAINER_EXITED;
      },
      seconds(30)));
  EXPECT_EQ(status.reason(), "OOMKilled") << status.DebugString();
  EXPECT_EQ(status.exit_code(), 137);
  // The Prometheus endpoint counted it, in total and under the container's name.
  long code = 0;
  const std::string scrape = HttpGetUnix(metrics_socket, "/metrics", &code);
  ASSERT_EQ(code, 200);
  auto samples = ParseSamples(scrape);
  EXPECT_EQ(samples["container_runtime_crio_containers_oom_total"], 1) << scrape;
  bool named = false;
  for (const auto& [series, value] : samples) {
    if (series.starts_with("container_runtime_crio_containers_oom_count_total{") &&
        Contains(series, "k8s_hog_oom_")) {
      named = value == 1;
    }
  }
  EXPECT_TRUE(named) << scrape;

  // The pod metrics: descriptors for the groups asked for, and the running container's series.
  v1::ListMetricDescriptorsRequest dreq;
  v1::ListMetricDescriptorsResponse dresp;
  auto ctx = daemon_->Context();
  ASSERT_TRUE(rt().ListMetricDescriptors(ctx.get(), dreq, &dresp).ok());
  std::set<std::string> names;
  for (const auto& d : dresp.descriptors()) names.insert(d.name());
  EXPECT_TRUE(names.count("container_oom_events_total"));
  EXPECT_TRUE(names.count("container_memory_working_set_bytes"));
  EXPECT_TRUE(names.count("container_cpu_usage_seconds_total"));
  EXPECT_FALSE(names.count("container_network_receive_bytes_total"));  // not included
  std::string other = RunCtr(pod_id, pod, CtrConfig("survivor"));
  ASSERT_FALSE(other.empty());
  v1::ListPodSandboxMetricsRequest mreq;
  v1::ListPodSandboxMetricsResponse mresp;
  auto ctx2 = daemon_->Context();
  ASSERT_TRUE(rt().ListPodSandboxMetrics(ctx2.get(), mreq, &mresp).ok());
  ASSERT_EQ(mresp.pod_metrics_size(), 1);
  EXPECT_EQ(mresp.pod_metrics(0).pod_sandbox_id(), pod_id);
  ASSERT_EQ(mresp.pod_metrics(0).container_metrics_size(), 1);  // only the running one
  const auto& cm = mresp.pod_metrics(0).container_metrics(0);
  EXPECT_EQ(cm.container_id(), other);
  bool saw_working_set = false;
  for (const auto& m : cm.metrics()) {
    if (m.name() != "container_memory_working_set_bytes") continue;
    saw_working_set = true;
    EXPECT_GT(m.value().value(), 0u);
    EXPECT_EQ(m.metric_type(), v1::GAUGE);
    ASSERT_EQ(m.label_values_size(), 3);
    EXPECT_EQ(m.label_values(0), other);
    EXPECT_EQ(m.label_values(1), "survivor");
  }
  EXPECT_TRUE(saw_working_set);
}

}  // namespace
}  // namespace crio::testing
