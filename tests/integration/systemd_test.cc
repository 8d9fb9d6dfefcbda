// The systemd cgroup driver against a real systemd: PID 1 of private namespaces (see
// private_systemd.h), the daemon run inside them with --cgroup-manager systemd, real runc and
// crun with --systemd-cgroup, and the pod's slice, the container's scope and conmon's scope
// checked through systemctl and the kernel's cgroup files.
// Generated CRI headers first: their Signal enum clashes with <signal.h> macros.
#include "api.grpc.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.h"
#include "private_systemd.h"
#include "test_util.h"

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr char kSleepUntilTerm[] = "trap 'exit 0' TERM; sleep 3600 & wait";

class SystemdTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Handler() const { return GetParam(); }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    if (PathOf("conmon").empty()) GTEST_SKIP() << "conmon is not installed";
    if (PathOf(Handler()).empty()) GTEST_SKIP() << Handler() << " is not installed";
    if (fs::exists("/sys/fs/cgroup/cgroup.controllers") == false &&
        !fs::exists("/sys/fs/cgroup/systemd")) {
      GTEST_SKIP() << "no name=systemd hierarchy on this cgroup v1 host";
    }
    auto registry = SharedTestRegistry();
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    root_entries_ = CgroupRootEntries();
    auto systemd = PrivateSystemd::Start();
    ASSERT_TRUE(systemd.ok()) << systemd.status();
    systemd_ = *std::move(systemd);
    WriteFile(env_.Sub("registries.conf"),
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    fs::create_directories(env_.Sub("registries.conf.d"));
    WriteFile(env_.Sub("policy.json"), R"({"default":[{"type":"insecureAcceptAnything"}]})");
    uid_ = RandomHex(16);
    slice_ = "kubepods-besteffort-pod" + uid_ + ".slice";
    slice_path_ = "/kubepods.slice/kubepods-besteffort.slice/" + slice_;
    StartDaemon({});
  }

  void TearDown() override {
    if (daemon_) {
      for (const auto& id : pods_) {
        v1::RemovePodSandboxRequest req;
        req.set_pod_sandbox_id(id);
        v1::RemovePodSandboxResponse resp;
        auto ctx = daemon_->Context(seconds(120));
        grpc::Status st = daemon_->runtime().RemovePodSandbox(ctx.get(), req, &resp);
        EXPECT_TRUE(st.ok()) << st.error_message();
      }
    }
    daemon_.reset();
    old_daemons_.clear();
    systemd_.reset();  // stops systemd and removes every cgroup it made
    EXPECT_EQ(CgroupRootEntries(), root_entries_) << "the host's /sys/fs/cgroup or sysctls changed";
  }

  // What a systemd booted in namespaces could still change on the host: entries on the shared
  // /sys/fs/cgroup tmpfs and kernel-wide sysctls (systemd-sysctl is masked for this).
  static std::set<std::string> CgroupRootEntries() {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      names.insert(e.path().filename().string());
    }
    for (const char* sysctl :
         {"fs/protected_regular", "fs/protected_fifos", "fs/protected_hardlinks",
          "fs/protected_symlinks", "kernel/pid_max"}) {
      names.insert(std::string(sysctl) + "=" + Trim(ReadFile(std::string("/proc/sys/") + sysctl)));
    }
    return names;
  }

  std::string Config() const {
    return "[crio.image]\nregistries_conf = \"" + env_.Sub("registries.conf") +
           "\"\nregistries_conf_dir = \"" + env_.Sub("registries.conf.d") +
           "\"\nsignature_policy = \"" + env_.Sub("policy.json") + "\"\n";
  }

  // `state_of` reuses an earlier daemon's config, root and runroot (a restart).
  void StartDaemon(const std::vector<std::string>& state_of) {
    DaemonOptions options;
    options.config_text = Config();
    options.launcher = systemd_->Enter();
    options.temp_base = "/var/tmp";  // the namespace's /tmp is its own
    options.extra_args = {"--cgroup-manager", "systemd"};
    options.extra_args.insert(options.extra_args.end(), state_of.begin(), state_of.end());
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    v1::PullImageRequest req;
    req.mutable_image()->set_image(registry_->Reference("busybox:latest"));
    v1::PullImageResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->image().PullImage(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void RestartDaemon(int sig) {
    ASSERT_TRUE(daemon_->Signal(sig).ok());
    auto code = daemon_->WaitExit(seconds(30));
    ASSERT_TRUE(code.ok()) << code.status();
    const Daemon& old = *daemon_;
    std::vector<std::string> state = {
        "--config", old.dir().Sub("crio.conf"), "--config-dir", old.config_dir(),
        "--root",   old.dir().Sub("root"),      "--runroot",    old.dir().Sub("runroot")};
    old_daemons_.push_back(std::move(daemon_));
    StartDaemon(state);
  }

  v1::PodSandboxConfig PodConfig() {
    v1::PodSandboxConfig config;
    auto* md = config.mutable_metadata();
    md->set_name("sd-" + uid_.substr(0, 6));
    md->set_namespace_("systemd-test");
    md->set_uid(uid_);
    config.set_hostname("sd");
    config.set_log_directory(env_.Sub("logs"));
    fs::create_directories(env_.Sub("logs"));
    config.mutable_linux()->set_cgroup_parent(slice_);
    // A shared PID namespace keeps the infra container, so its scope is checked too.
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::NamespaceMode::POD);
    return config;
  }

  std::string RunPod(const v1::PodSandboxConfig& config) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    req.set_runtime_handler(Handler());
    v1::RunPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->runtime().RunPodSandbox(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (st.ok()) pods_.push_back(resp.pod_sandbox_id());
    return resp.pod_sandbox_id();
  }

  std::string RunContainer(const std::string& pod_id, const v1::PodSandboxConfig& pod) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    auto* config = req.mutable_config();
    config->mutable_metadata()->set_name("sleeper");
    config->mutable_image()->set_image(registry_->Reference("busybox:latest"));
    for (const char* arg : {"sh", "-c", kSleepUntilTerm}) config->add_command(arg);
    config->set_log_path("sleeper.log");
    *req.mutable_sandbox_config() = pod;
    v1::CreateContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->runtime().CreateContainer(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << "CreateContainer: " << st.error_message();
    if (!st.ok()) return "";
    v1::StartContainerRequest start;
    start.set_container_id(resp.container_id());
    v1::StartContainerResponse start_resp;
    auto start_ctx = daemon_->Context(seconds(60));
    st = daemon_->runtime().StartContainer(start_ctx.get(), start, &start_resp);
    EXPECT_TRUE(st.ok()) << "StartContainer: " << st.error_message();
    return resp.container_id();
  }

  std::string Exec(const std::string& id, const std::string& script) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const char* arg : {"sh", "-c"}) req.add_cmd(arg);
    req.add_cmd(script);
    req.set_timeout(20);
    v1::ExecSyncResponse resp;
    auto ctx = daemon_->Context(seconds(30));
    grpc::Status st = daemon_->runtime().ExecSync(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.stdout();
  }

  // The PIDs in cgroup `path` (inside view) of the name=systemd hierarchy.
  std::vector<pid_t> ProcsOf(const std::string& path) const {
    std::vector<pid_t> pids;
    std::ifstream in(systemd_->HostCgroupDir("systemd", path) + "/cgroup.procs");
    for (pid_t pid; in >> pid;) pids.push_back(pid);
    return pids;
  }

  bool UnitGone(const std::string& unit) const {
    return Eventually(
        [&] {
          std::string load = systemd_->Property(unit, "LoadState");
          std::string active = systemd_->Property(unit, "ActiveState");
          return load == "not-found" || active == "inactive";
        },
        seconds(10));
  }

  TempDir env_{"/var/tmp"};
  RegistryFixture* registry_ = nullptr;
  std::unique_ptr<PrivateSystemd> systemd_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<Daemon>> old_daemons_;
  std::vector<std::string> pods_;
  std::string uid_, slice_, slice_path_;
  std::set<std::string> root_entries_;
};

INSTANTIATE_TEST_SUITE_P(Handlers, SystemdTest, ::testing::Values("runc", "crun"),
                         [](const auto& p) { return p.param; });

// The whole path: the pod's slice, the container and infra scopes under it, conmon's own scope,
// resource updates landing on the units and in the kernel, stats read from the scope, and every
// unit and directory gone with the pod.
TEST_P(SystemdTest, PodInSlice_ScopesResourcesStatsAndCleanup) {
  v1::PodSandboxConfig pod = PodConfig();
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string id = RunContainer(pod_id, pod);
  ASSERT_FALSE(id.empty());
  EXPECT_THAT(daemon_->Log(), HasSubstr("started systemd slice " + slice_));

  // The container's processes are in crio-<id>.scope under the expanded slice, in every
  // hierarchy.
  const std::string scope = "crio-" + id + ".scope";
  // crun configures a child "container" of the scope (CRI-O reads both); runc the scope itself.
  const std::string ctr_cgroup =
      slice_path_ + "/" + scope + (Handler() == "crun" ? "/container" : "");
  std::string cgroups = Exec(id, "cat /proc/self/cgroup");
  for (const char* hierarchy : {"memory", "cpu", "pids"}) {
    EXPECT_THAT(cgroups, HasSubstr(std::string(":") + hierarchy + ":" + ctr_cgroup + "\n"))
        << cgroups;
  }
  EXPECT_EQ(systemd_->Property(scope, "ActiveState"), "active");
  EXPECT_EQ(systemd_->Property(scope, "Slice"), slice_);
  EXPECT_EQ(systemd_->Property("crio-" + pod_id + ".scope", "ActiveState"), "active")
      << "the infra container's scope";

  // conmon sits in its own scope in the pod's slice.
  const std::string conmon_scope = "crio-conmon-" + id + ".scope";
  EXPECT_EQ(systemd_->Property(conmon_scope, "ActiveState"), "active");
  EXPECT_EQ(systemd_->Property(conmon_scope, "Slice"), slice_);
  std::vector<pid_t> conmon_pids = ProcsOf(slice_path_ + "/" + conmon_scope);
  ASSERT_EQ(conmon_pids.size(), 1u);
  EXPECT_EQ(Trim(ReadFile("/proc/" + std::to_string(conmon_pids[0]) + "/comm")), "conmon");

  // UpdateContainerResources: the runtime's systemd driver sets the scope's properties.
  {
    v1::UpdateContainerResourcesRequest req;
    req.set_container_id(id);
    req.mutable_linux()->set_memory_limit_in_bytes(64 << 20);
    req.mutable_linux()->set_cpu_shares(512);
    v1::UpdateContainerResourcesResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = daemon_->runtime().UpdateContainerResources(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    if (Handler() == "runc") {  // crun writes the files of its child cgroup only
      EXPECT_EQ(systemd_->Property(scope, "MemoryLimit"), std::to_string(64 << 20));
      EXPECT_EQ(systemd_->Property(scope, "CPUShares"), "512");
    }
    EXPECT_EQ(
        Trim(ReadFile(systemd_->HostCgroupDir("memory", ctr_cgroup) + "/memory.limit_in_bytes")),
        std::to_string(64 << 20));
    EXPECT_EQ(Trim(ReadFile(systemd_->HostCgroupDir("cpu", ctr_cgroup) + "/cpu.shares")), "512");
  }
  // UpdatePodSandboxResources: the slice's properties, and its files at once.
  {
    v1::UpdatePodSandboxResourcesRequest req;
    req.set_pod_sandbox_id(pod_id);
    req.mutable_resources()->set_cpu_shares(300);
    req.mutable_resources()->set_memory_limit_in_bytes(256 << 20);
    v1::UpdatePodSandboxResourcesResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = daemon_->runtime().UpdatePodSandboxResources(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(systemd_->Property(slice_, "CPUShares"), "300");
    EXPECT_EQ(systemd_->Property(slice_, "MemoryLimit"), std::to_string(256 << 20));
    EXPECT_EQ(Trim(ReadFile(systemd_->HostCgroupDir("cpu", slice_path_) + "/cpu.shares")), "300");
  }
  // ContainerStats reads the scope's counters.
  {
    v1::ContainerStatsRequest req;
    req.set_container_id(id);
    v1::ContainerStatsResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = daemon_->runtime().ContainerStats(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GT(resp.stats().memory().working_set_bytes().value(), 0u);
    EXPECT_GT(resp.stats().cpu().usage_core_nano_seconds().value(), 0u);
  }

  // Removing the pod stops every unit, and the slice we started goes with its last pod.
  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(pod_id);
  v1::RemovePodSandboxResponse rm_resp;
  auto ctx = daemon_->Context(seconds(120));
  grpc::Status st = daemon_->runtime().RemovePodSandbox(ctx.get(), rm, &rm_resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  pods_.clear();
  EXPECT_TRUE(UnitGone(scope));
  EXPECT_TRUE(UnitGone(conmon_scope));
  EXPECT_TRUE(UnitGone("crio-" + pod_id + ".scope"));
  EXPECT_TRUE(UnitGone(slice_));
  EXPECT_TRUE(Eventually(
      [&] { return !fs::exists(systemd_->HostCgroupDir("memory", slice_path_)); }, seconds(10)))
      << "left behind: " << systemd_->HostCgroupDir("memory", slice_path_);
}

// conmon's scope keeps the container independent of the daemon: a SIGKILLed daemon's successor
// finds it running and stops it through the same scope.
TEST_P(SystemdTest, DaemonKilled_ContainerKeepsRunningInItsScope) {
  v1::PodSandboxConfig pod = PodConfig();
  std::string pod_id = RunPod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string id = RunContainer(pod_id, pod);
  ASSERT_FALSE(id.empty());
  const std::string scope = "crio-" + id + ".scope";
  // The shell and its sleep: wait for both, so the comparison after the restart is exact.
  std::vector<pid_t> before;
  ASSERT_TRUE(Eventually(
      [&] {
        before = ProcsOf(slice_path_ + "/" + scope);
        return before.size() == 2;
      },
      seconds(10)));

  RestartDaemon(SIGKILL);

  EXPECT_EQ(systemd_->Property(scope, "ActiveState"), "active");
  EXPECT_EQ(ProcsOf(slice_path_ + "/" + scope), before);
  EXPECT_EQ(systemd_->Property("crio-conmon-" + id + ".scope", "ActiveState"), "active");
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  v1::ContainerStatusResponse resp;
  auto ctx = daemon_->Context();
  grpc::Status st = daemon_->runtime().ContainerStatus(ctx.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.status().state(), v1::CONTAINER_RUNNING);
  EXPECT_EQ(Exec(id, "echo alive"), "alive\n");

  v1::StopContainerRequest stop;
  stop.set_container_id(id);
  stop.set_timeout(10);
  v1::StopContainerResponse stop_resp;
  auto stop_ctx = daemon_->Context();
  st = daemon_->runtime().StopContainer(stop_ctx.get(), stop, &stop_resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // In a shared PID namespace the shell's background sleep outlives it until the runtime
  // deletes the container, which kills what is left in the scope.
  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse rm_resp;
  auto rm_ctx = daemon_->Context();
  st = daemon_->runtime().RemoveContainer(rm_ctx.get(), rm, &rm_resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(UnitGone(scope)) << systemd_->Systemctl({"status", scope}).output;
}

// A cgroupfs-style parent is the kubelet's driver disagreeing with ours: refused, naming it.
TEST_P(SystemdTest, CgroupfsParent_InvalidArgumentNamingTheMismatch) {
  v1::PodSandboxConfig pod = PodConfig();
  pod.mutable_linux()->set_cgroup_parent("/kubepods/besteffort/pod" + uid_);
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = pod;
  req.set_runtime_handler(Handler());
  v1::RunPodSandboxResponse resp;
  auto ctx = daemon_->Context(seconds(60));
  grpc::Status st = daemon_->runtime().RunPodSandbox(ctx.get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("did not receive a slice as parent"));
}

}  // namespace
}  // namespace crio::testing

namespace crio::testing {
namespace {

// crio.service as `cmake --install` puts it, started, reloaded, restarted and stopped by a real
// systemd, with a container that outlives the restart.
class SystemdUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    if (PathOf("conmon").empty() || PathOf("runc").empty()) GTEST_SKIP() << "no conmon or runc";
    auto registry = SharedTestRegistry();
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    auto systemd = PrivateSystemd::Start();
    ASSERT_TRUE(systemd.ok()) << systemd.status();
    systemd_ = *std::move(systemd);
    slice_ = "kubepods-besteffort-pod" + RandomHex(16) + ".slice";
  }

  void TearDown() override {
    if (systemd_) (void)systemd_->Systemctl({"stop", "crio"});
    systemd_.reset();
  }

  // Installs into <env>/prefix; returns cmake's output.
  CommandResult Install() {
    const std::string build_dir = fs::path(CRIO_BINARY_DIR).parent_path().string();
    return RunCommand({PathOf("cmake"), "--install", build_dir, "--prefix", prefix_});
  }

  // The unit and a drop-in pointing every path at the temp dir, inside the namespace's /run.
  void PlaceUnit() {
    const std::string t = env_.path();
    WriteFile(t + "/crio.conf.d/00-test.conf",
              "[crio]\nlog_dir = \"" + t + "/pod-logs\"\nversion_file = \"" + t +
                  "/version\"\nclean_shutdown_file = \"" + t + "/clean.shutdown\"\n" +
                  "[crio.runtime]\ncontainer_exits_dir = \"" + t +
                  "/exits\"\ncontainer_attach_socket_dir = \"" + t +
                  "/attach\"\nnamespaces_dir = \"" + t + "/ns\"\ndefault_runtime = \"runc\"\n" +
                  "[crio.runtime.runtimes.runc]\nruntime_root = \"" + t + "/runc-root\"\n" +
                  "[crio.image]\npause_image = \"\"\nregistries_conf = \"" + t +
                  "/registries.conf\"\nsignature_policy = \"" + t + "/policy.json\"\n");
    WriteFile(t + "/registries.conf",
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    WriteFile(t + "/policy.json", R"({"default":[{"type":"insecureAcceptAnything"}]})");
    fs::create_directories(t + "/cni");
    const std::string run = "/proc/" + std::to_string(systemd_->pid()) + "/root/run/systemd/system";
    fs::copy_file(prefix_ + "/lib/systemd/system/crio.service", run + "/crio.service",
                  fs::copy_options::overwrite_existing);
    WriteFile(run + "/crio.service.d/10-test.conf",
              "[Service]\nEnvironment=\"CRIO_CONFIG_OPTIONS=--config " + prefix_ +
                  "/etc/crio/crio.conf --config-dir " + t + "/crio.conf.d --listen " + socket_ +
                  " --root " + t + "/root --runroot " + t + "/runroot --cni-config-dir " + t +
                  "/cni --cgroup-manager systemd\"\n");
    ASSERT_EQ(systemd_->Systemctl({"daemon-reload"}).exit_code, 0);
  }

  void Connect() {
    // A fresh connection per daemon: gRPC's shared subchannel would reuse the old daemon's.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel("unix://" + socket_, grpc::InsecureChannelCredentials(), args);
    runtime_ = v1::RuntimeService::NewStub(channel);
    image_ = v1::ImageService::NewStub(channel);
  }
  std::unique_ptr<grpc::ClientContext> Ctx(seconds timeout = seconds(60)) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + timeout);
    return ctx;
  }
  std::string Journal() const {
    return systemd_->Run({"journalctl", "--no-pager", "-o", "cat", "-u", "crio"}).output;
  }
  v1::ContainerState StateOf(const std::string& id) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    auto ctx = Ctx();
    grpc::Status st = runtime_->ContainerStatus(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.status().state();
  }

  TempDir env_{"/var/tmp"};
  std::string prefix_ = env_.Sub("prefix");
  std::string socket_ = env_.Sub("crio.sock");
  RegistryFixture* registry_ = nullptr;
  std::unique_ptr<PrivateSystemd> systemd_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> image_;
  std::string slice_;
};

TEST_F(SystemdUnitTest, Install_PutsBinariesUnitCompletionsAndKeepsAnEditedConfig) {
  CommandResult installed = Install();
  ASSERT_EQ(installed.exit_code, 0) << installed.output;
  for (const char* file :
       {"bin/crio", "bin/crioctl", "bin/pause", "lib/systemd/system/crio.service",
        "share/bash-completion/completions/crio", "share/bash-completion/completions/crioctl",
        "etc/crio/crio.conf"}) {
    EXPECT_TRUE(fs::exists(prefix_ + "/" + file)) << file;
  }
  std::string unit = ReadFile(prefix_ + "/lib/systemd/system/crio.service");
  EXPECT_THAT(unit, HasSubstr("ExecStart=" + prefix_ + "/bin/crio"));
  EXPECT_THAT(unit, HasSubstr("Type=notify"));
  EXPECT_THAT(unit, HasSubstr("KillMode=process"));
  EXPECT_THAT(ReadFile(prefix_ + "/etc/crio/crio.conf"), HasSubstr("[crio.runtime]"));
  // The completion offers the installed crio's own flags.
  CommandResult completion = RunCommand(
      {"bash", "-c",
       "source " + prefix_ + "/share/bash-completion/completions/crio; COMP_WORDS=(" + prefix_ +
           "/bin/crio --cgroup-m); COMP_CWORD=1; _crio_cpp_complete; echo \"${COMPREPLY[@]}\""});
  EXPECT_EQ(Trim(completion.output), "--cgroup-manager");

  WriteFile(prefix_ + "/etc/crio/crio.conf", "# edited by the operator\n");
  CommandResult again = Install();
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(ReadFile(prefix_ + "/etc/crio/crio.conf"), "# edited by the operator\n");
}

TEST_F(SystemdUnitTest, StartReloadRestartStop_ContainerSurvivesTheRestart) {
  CommandResult installed = Install();
  ASSERT_EQ(installed.exit_code, 0) << installed.output;
  PlaceUnit();

  // Type=notify: start returns once the daemon said READY=1, so the socket answers at once.
  CommandResult started = systemd_->Systemctl({"start", "crio"});
  ASSERT_EQ(started.exit_code, 0) << started.output << Journal();
  EXPECT_EQ(systemd_->Property("crio.service", "ActiveState"), "active");
  EXPECT_EQ(systemd_->Property("crio.service", "StatusText"), "serving CRI v1");
  const std::string first_pid = systemd_->Property("crio.service", "MainPID");
  Connect();

  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(registry_->Reference("busybox:latest"));
  v1::PullImageResponse pulled;
  auto pctx = Ctx(seconds(120));
  grpc::Status st = image_->PullImage(pctx.get(), pull, &pulled);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::RunPodSandboxRequest run;
  auto* pod = run.mutable_config();
  pod->mutable_metadata()->set_name("unit");
  pod->mutable_metadata()->set_namespace_("systemd-unit-test");
  pod->mutable_metadata()->set_uid(RandomHex(16));
  pod->mutable_linux()->set_cgroup_parent(slice_);
  v1::RunPodSandboxResponse ran;
  auto rctx = Ctx();
  st = runtime_->RunPodSandbox(rctx.get(), run, &ran);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::CreateContainerRequest create;
  create.set_pod_sandbox_id(ran.pod_sandbox_id());
  create.mutable_config()->mutable_metadata()->set_name("survivor");
  create.mutable_config()->mutable_image()->set_image(registry_->Reference("busybox:latest"));
  for (const char* arg : {"sleep", "3600"}) create.mutable_config()->add_command(arg);
  *create.mutable_sandbox_config() = *pod;
  v1::CreateContainerResponse created;
  auto cctx = Ctx();
  st = runtime_->CreateContainer(cctx.get(), create, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string id = created.container_id();
  v1::StartContainerRequest start;
  start.set_container_id(id);
  v1::StartContainerResponse start_resp;
  auto sctx = Ctx();
  ASSERT_TRUE(runtime_->StartContainer(sctx.get(), start, &start_resp).ok());

  // reload: SIGHUP, same process, still active.
  ASSERT_EQ(systemd_->Systemctl({"reload", "crio"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Contains(Journal(), "SIGHUP received"); }, seconds(10)))
      << Journal();
  EXPECT_EQ(systemd_->Property("crio.service", "MainPID"), first_pid);
  EXPECT_EQ(systemd_->Property("crio.service", "ActiveState"), "active");

  // restart: a new daemon; the container, in its own scope, keeps running.
  ASSERT_EQ(systemd_->Systemctl({"restart", "crio"}).exit_code, 0) << Journal();
  EXPECT_NE(systemd_->Property("crio.service", "MainPID"), first_pid);
  EXPECT_EQ(systemd_->Property("crio-" + id + ".scope", "ActiveState"), "active");
  Connect();
  EXPECT_EQ(StateOf(id), v1::CONTAINER_RUNNING) << Journal();

  v1::RemovePodSandboxRequest rm;
  rm.set_pod_sandbox_id(ran.pod_sandbox_id());
  v1::RemovePodSandboxResponse rm_resp;
  auto rmctx = Ctx(seconds(120));
  st = runtime_->RemovePodSandbox(rmctx.get(), rm, &rm_resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // stop: a graceful shutdown, which leaves the clean-shutdown file.
  ASSERT_EQ(systemd_->Systemctl({"stop", "crio"}).exit_code, 0);
  EXPECT_EQ(systemd_->Property("crio.service", "ActiveState"), "inactive");
  EXPECT_THAT(Journal(), HasSubstr("shutdown complete"));
  EXPECT_TRUE(fs::exists(env_.Sub("clean.shutdown")));
}

}  // namespace
}  // namespace crio::testing
