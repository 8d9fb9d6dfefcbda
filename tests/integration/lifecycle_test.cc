// The CRI RuntimeService pod and container lifecycle of the real crio daemon: pods, containers,
// exec, logs, stop signals, error codes, daemon restarts and concurrency, against the real
// conmon and the crun/runc runtimes, with busybox images pulled from a real docker-registry.
//
// Every test starts its own daemon on its own temp root (see daemon_harness.h: the exits,
// attach, namespaces and runtime-root dirs are under the daemon's temp dir too) with
// registries.conf and policy.json in a temp dir of its own; nothing under /etc/containers,
// /etc/crio or /var/lib/containers is read or written. Pods live in a random cgroupfs parent
// "/crio-cpp-test-<hex>", removed in every hierarchy when the test ends. The fixture removes
// every pod it made on teardown, even when the test failed.
#include "daemon_harness.h"
#include "registry_fixture.h"
#include "test_util.h"

#include "os/socket.h"
#include "streaming/client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kAcceptPolicy[] = R"({"default":[{"type":"insecureAcceptAnything"}]})";
constexpr char kPodNamespace[] = "lifecycle-test";
constexpr char kCgroupRoot[] = "/sys/fs/cgroup";
// Runs until stopped, and exits 0 on SIGTERM: `wait` is interrupted by a trapped signal, unlike
// a foreground `sleep`, and a PID 1 without a handler would ignore SIGTERM altogether.
constexpr char kSleepUntilTerm[] = "trap 'exit 0' TERM; sleep 3600 & wait";

// ---- Host inspection helpers -----------------------------------------------------------------

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct MountEntry {
  std::string mount_point;
  std::string fstype;
};

// /proc/self/mountinfo: "<id> <parent> <maj:min> <root> <mount point> <opts> [tags...] - <type>
// <source> <super opts>". The daemon was started by this process and shares its mount namespace.
std::vector<MountEntry> Mounts() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point, field;
    fields >> id >> parent >> devno >> root >> mount_point;
    while (fields >> field && field != "-") {
    }
    MountEntry entry{mount_point, ""};
    fields >> entry.fstype;
    out.push_back(entry);
  }
  return out;
}

// Mounts at or below `dir` whose type is one of `types` (all types when empty).
std::vector<std::string> MountsBelow(const std::string& dir,
                                     const std::set<std::string>& types = {}) {
  std::vector<std::string> out;
  for (const auto& m : Mounts()) {
    bool below = m.mount_point == dir || m.mount_point.rfind(dir + "/", 0) == 0;
    if (below && (types.empty() || types.count(m.fstype))) out.push_back(m.mount_point);
  }
  return out;
}

bool IsMountOfType(const std::string& path, const std::string& type) {
  for (const auto& m : Mounts()) {
    if (m.mount_point == path && m.fstype == type) return true;
  }
  return false;
}

std::vector<std::string> MountsContaining(const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& m : Mounts()) {
    if (Contains(m.mount_point, needle)) out.push_back(m.mount_point + " (" + m.fstype + ")");
  }
  return out;
}

// Every cgroup directory left below `parent` ("/crio-cpp-test-...") in any hierarchy.
std::vector<std::string> CgroupChildren(const std::string& parent) {
  std::vector<std::string> out;
  for (const auto& h : CgroupHierarchies()) {
    for (const auto& sub : SubDirs(h + parent)) out.push_back(h + parent + "/" + sub);
  }
  return out;
}

// PIDs of conmon processes whose command line mentions `needle` (e.g. a container id).
std::vector<pid_t> ConmonsMentioning(const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string cmdline = ReadFile(e.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    std::string argv0 = cmdline.substr(0, cmdline.find(' '));
    if (fs::path(argv0).filename() == "conmon" && Contains(cmdline, needle)) {
      out.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return out;
}

// A CRI log line: "<RFC3339 with up to 9 fractional digits> <stream> <P|F> <payload>".
bool HasCriLogLine(const std::string& log, const std::string& stream, const std::string& payload) {
  static const std::regex kLine(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}) (stdout|stderr) )"
      R"((P|F) (.*)$)");
  std::istringstream lines(log);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, kLine) && m[3] == stream && m[4] == "F" && m[5] == payload) {
      return true;
    }
  }
  return false;
}

// Sorted by id, so that List and Stream results compare independent of order.
template <typename T>
std::vector<T> SortedById(std::vector<T> items) {
  std::sort(items.begin(), items.end(), [](const T& a, const T& b) { return a.id() < b.id(); });
  return items;
}

template <typename T>
std::set<std::string> Ids(const std::vector<T>& items) {
  std::set<std::string> out;
  for (const auto& i : items) out.insert(i.id());
  return out;
}

template <typename T>
void ExpectSameMessages(const std::vector<T>& a, const std::vector<T>& b) {
  auto sa = SortedById(a);
  auto sb = SortedById(b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(sa[i], sb[i])) << sa[i].DebugString() << "\nvs\n"
                                                          << sb[i].DebugString();
  }
}

std::string SignalName(int enum_value) {
  return v1::Signal_Name(static_cast<v1::Signal>(enum_value));
}

v1::Signal SignalEnum(const std::string& name) {
  v1::Signal value = v1::Signal::RUNTIME_DEFAULT;
  EXPECT_TRUE(v1::Signal_Parse(name, &value)) << name;
  return value;
}

// ---- The fixture -----------------------------------------------------------------------------

class LifecycleTest : public ::testing::Test {
 protected:
  // Runtime handler binaries the test needs ("" is the default handler, crun).
  virtual std::string Handler() const { return ""; }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!RegistryFixture::Available()) GTEST_SKIP() << "docker-registry is not installed";
    if (!OnPath("conmon")) GTEST_SKIP() << "conmon is not installed";
    if (Handler().empty() ? !OnPath("crun") && !OnPath("runc") : !OnPath(Handler())) {
      GTEST_SKIP() << "runtime " << (Handler().empty() ? "crun/runc" : Handler())
                   << " is not installed";
    }
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
    ASSERT_FALSE(env_.path().empty());
    fs::create_directories(env_.Sub("registries.conf.d"));
    WriteFile(env_.Sub("registries.conf"),
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    WriteFile(env_.Sub("policy.json"), kAcceptPolicy);
    cgroup_parent_ = "/crio-cpp-test-" + RandomHex(12);
    DaemonOptions options;
    options.config_text = DaemonConfig();
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    ASSERT_NO_FATAL_FAILURE(Pull("busybox:latest"));
  }

  void TearDown() override {
    if (daemon_) {
      std::vector<std::string> pods;
      {
        std::lock_guard<std::mutex> lock(mu_);
        pods = pods_;
      }
      for (const auto& id : pods) (void)RemovePod(id);
    }
    daemon_.reset();       // also removes any pod we did not know of
    old_daemons_.clear();  // after the live daemon: their temp dirs held its state
    // Never with an empty parent: that would be the hierarchy roots.
    if (cgroup_parent_.rfind("/crio-cpp-test-", 0) == 0) {
      for (const auto& h : CgroupHierarchies()) RemoveCgroupTree(h + cgroup_parent_);
    }
  }

  // The suite's crio.conf; `image_extra` and `runtime_extra` are lines added to the
  // [crio.image] and [crio.runtime] tables.
  std::string DaemonConfig(const std::string& image_extra = "",
                           const std::string& runtime_extra = "") const {
    return "[crio.runtime]\n" + runtime_extra + "[crio.image]\n" + image_extra +
           "registries_conf = \"" + env_.Sub("registries.conf") +
           "\"\n"
           "registries_conf_dir = \"" +
           env_.Sub("registries.conf.d") +
           "\"\n"
           "signature_policy = \"" +
           env_.Sub("policy.json") + "\"\n" +
           (CrunNeedsHybridWorkaround() ? "[crio.runtime.runtimes.crun]\nruntime_path = \"" +
                                              env_.Sub("crun-wrapper") + "\"\n"
                                        : "");
  }

  // Replaces the daemon (after removing this test's pods) with a fresh one, on new roots, whose
  // config adds `image_extra` / `runtime_extra` (see DaemonConfig); pulls busybox again.
  void StartDaemonWith(const std::string& image_extra, const std::string& runtime_extra) {
    for (const auto& id : pods_) (void)RemovePod(id);
    pods_.clear();
    daemon_.reset();
    DaemonOptions options;
    options.config_text = DaemonConfig(image_extra, runtime_extra);
    auto daemon = Daemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    ASSERT_NO_FATAL_FAILURE(Pull("busybox:latest"));
  }

  Daemon& daemon() { return *daemon_; }
  v1::RuntimeService::Stub& rt() { return daemon_->runtime(); }
  std::string Ref(const std::string& image) const { return registry_->Reference(image); }

  void Pull(const std::string& image) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(Ref(image));
    v1::PullImageResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = daemon_->image().PullImage(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << image << ": " << st.error_message();
    pulled_[image] = resp.image_ref();
  }

  // ---- Pods ----

  v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig config;
    auto* md = config.mutable_metadata();
    md->set_name(name);
    md->set_namespace_(kPodNamespace);
    md->set_uid("uid-" + RandomHex(16));
    md->set_attempt(1);
    config.set_hostname(name);
    std::string log_dir = env_.Sub("pod-logs/" + name + "-" + md->uid());
    fs::create_directories(log_dir);  // the kubelet makes the pod's log dir
    config.set_log_directory(log_dir);
    (*config.mutable_labels())["app"] = name;
    (*config.mutable_labels())["suite"] = "lifecycle";
    (*config.mutable_annotations())["example.com/note"] = "pod " + name;
    auto* linux = config.mutable_linux();
    linux->set_cgroup_parent(cgroup_parent_);
    auto* ns = linux->mutable_security_context()->mutable_namespace_options();
    ns->set_network(v1::NamespaceMode::POD);
    ns->set_pid(v1::NamespaceMode::CONTAINER);
    ns->set_ipc(v1::NamespaceMode::POD);
    return config;
  }

  grpc::Status RunPod(const v1::PodSandboxConfig& config, const std::string& handler,
                      std::string* id) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    req.set_runtime_handler(handler);
    v1::RunPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = rt().RunPodSandbox(ctx.get(), req, &resp);
    if (st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      pods_.push_back(resp.pod_sandbox_id());
    }
    if (id) *id = resp.pod_sandbox_id();
    return st;
  }

  // RunPod that records a failure and returns "" when it fails.
  std::string MustRunPod(const v1::PodSandboxConfig& config, const std::string& handler) {
    std::string id;
    grpc::Status st = RunPod(config, handler, &id);
    EXPECT_TRUE(st.ok()) << "RunPodSandbox " << config.metadata().name() << ": "
                         << st.error_message();
    EXPECT_TRUE(!st.ok() || !id.empty());
    return st.ok() ? id : "";
  }

  grpc::Status StopPod(const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().StopPodSandbox(ctx.get(), req, &resp);
  }

  grpc::Status RemovePod(const std::string& id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().RemovePodSandbox(ctx.get(), req, &resp);
  }

  grpc::Status PodStatus(const std::string& id, v1::PodSandboxStatusResponse* resp) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    auto ctx = daemon_->Context();
    return rt().PodSandboxStatus(ctx.get(), req, resp);
  }

  std::vector<v1::PodSandbox> ListPods(const v1::PodSandboxFilter& filter = {}) {
    v1::ListPodSandboxRequest req;
    *req.mutable_filter() = filter;
    v1::ListPodSandboxResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().ListPodSandbox(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.items().begin(), resp.items().end()};
  }

  std::vector<v1::PodSandbox> StreamPods(const v1::PodSandboxFilter& filter = {}) {
    v1::StreamPodSandboxesRequest req;
    *req.mutable_filter() = filter;
    auto ctx = daemon_->Context();
    auto reader = rt().StreamPodSandboxes(ctx.get(), req);
    std::vector<v1::PodSandbox> out;
    v1::StreamPodSandboxesResponse msg;
    while (reader->Read(&msg)) {
      EXPECT_GT(msg.pod_sandboxes_size(), 0) << "empty batch";
      out.insert(out.end(), msg.pod_sandboxes().begin(), msg.pod_sandboxes().end());
    }
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  // ---- Containers ----

  v1::ContainerConfig CtrConfig(const std::string& name, std::vector<std::string> command,
                                const std::string& image = "busybox:latest") {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(Ref(image));
    for (auto& c : command) config.add_command(std::move(c));
    config.set_log_path(name + ".log");
    (*config.mutable_labels())["ctr"] = name;
    (*config.mutable_annotations())["example.com/ctr-note"] = "container " + name;
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
    if (id) *id = resp.container_id();
    return st;
  }

  grpc::Status StartCtr(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().StartContainer(ctx.get(), req, &resp);
  }

  grpc::Status StopCtr(const std::string& id, int64_t timeout) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    v1::StopContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().StopContainer(ctx.get(), req, &resp);
  }

  grpc::Status RemoveCtr(const std::string& id) {
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    v1::RemoveContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    return rt().RemoveContainer(ctx.get(), req, &resp);
  }

  grpc::Status CtrStatus(const std::string& id, v1::ContainerStatus* status) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().ContainerStatus(ctx.get(), req, &resp);
    if (status) *status = resp.status();
    return st;
  }

  grpc::Status Exec(const std::string& id, std::vector<std::string> cmd, int64_t timeout,
                    v1::ExecSyncResponse* resp) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (auto& c : cmd) req.add_cmd(std::move(c));
    req.set_timeout(timeout);
    auto ctx = daemon_->Context(seconds(60));
    return rt().ExecSync(ctx.get(), req, resp);
  }

  std::vector<v1::Container> ListCtrs(const v1::ContainerFilter& filter = {}) {
    v1::ListContainersRequest req;
    *req.mutable_filter() = filter;
    v1::ListContainersResponse resp;
    auto ctx = daemon_->Context();
    grpc::Status st = rt().ListContainers(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.containers().begin(), resp.containers().end()};
  }

  std::vector<v1::Container> StreamCtrs(const v1::ContainerFilter& filter = {}) {
    v1::StreamContainersRequest req;
    *req.mutable_filter() = filter;
    auto ctx = daemon_->Context();
    auto reader = rt().StreamContainers(ctx.get(), req);
    std::vector<v1::Container> out;
    v1::StreamContainersResponse msg;
    while (reader->Read(&msg)) {
      EXPECT_GT(msg.containers_size(), 0) << "empty batch";
      out.insert(out.end(), msg.containers().begin(), msg.containers().end());
    }
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  // Create + start; records failures and returns "" when either fails.
  std::string MustRunCtr(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                         const v1::ContainerConfig& config) {
    std::string id;
    grpc::Status st = CreateCtr(pod_id, pod, config, &id);
    EXPECT_TRUE(st.ok()) << "CreateContainer " << config.metadata().name() << ": "
                         << st.error_message();
    if (!st.ok()) return "";
    st = StartCtr(id);
    EXPECT_TRUE(st.ok()) << "StartContainer " << config.metadata().name() << ": "
                         << st.error_message();
    return st.ok() ? id : "";
  }

  // Polls ContainerStatus until the container is in `state`; returns the last status seen.
  v1::ContainerStatus WaitForState(const std::string& id, v1::ContainerState state,
                                   milliseconds timeout) {
    v1::ContainerStatus status;
    bool reached =
        Eventually([&] { return CtrStatus(id, &status).ok() && status.state() == state; }, timeout);
    EXPECT_TRUE(reached) << "container " << id << " did not reach "
                         << v1::ContainerState_Name(state) << ":\n"
                         << status.DebugString();
    return status;
  }

  // The sandbox cgroup of a pod in the memory hierarchy (v1) or the unified tree (v2).
  std::string SandboxCgroupDir(const std::string& pod_id) const {
    std::string base = fs::exists(std::string(kCgroupRoot) + "/cgroup.controllers")
                           ? std::string(kCgroupRoot)
                           : std::string(kCgroupRoot) + "/memory";
    return base + cgroup_parent_ + "/crio-" + pod_id;
  }

  // A container's cgroup: a sibling of its pod's, under the pod's cgroup_parent.
  std::string ContainerCgroupDir(const std::string& ctr_id) const {
    return SandboxCgroupDir(ctr_id);
  }

  // Stops the daemon with `sig`, waits `down_time`, and starts a new daemon on the same config,
  // config dir (so the same exits, attach, namespaces and runtime-root dirs), root and runroot.
  // CLI11 keeps the last value of a repeated flag, so these override what the harness passes.
  // The old Daemon object is kept until TearDown: its temp dir holds all that state.
  void RestartDaemon(int sig, milliseconds down_time) {
    ASSERT_TRUE(daemon_->Signal(sig).ok());
    auto code = daemon_->WaitExit(seconds(30));
    ASSERT_TRUE(code.ok()) << code.status();
    std::this_thread::sleep_for(down_time);
    const Daemon& old = *daemon_;
    DaemonOptions options;
    options.config_text = DaemonConfig();
    options.extra_args = {
        "--config", old.dir().Sub("crio.conf"), "--config-dir", old.config_dir(),
        "--root",   old.dir().Sub("root"),      "--runroot",    old.dir().Sub("runroot")};
    auto next = Daemon::Start(options);
    old_daemons_.push_back(std::move(daemon_));
    ASSERT_TRUE(next.ok()) << next.status();
    daemon_ = *std::move(next);
  }

  TempDir env_;
  RegistryFixture* registry_ = nullptr;
  std::string cgroup_parent_;
  std::map<std::string, std::string> pulled_;  // image -> PullImageResponse.image_ref
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<Daemon>> old_daemons_;
  std::mutex mu_;
  std::vector<std::string> pods_;  // every pod RunPod made, removed in TearDown
};

// The same tests for each runtime handler.
class LifecycleHandlerTest : public LifecycleTest,
                             public ::testing::WithParamInterface<std::string> {
 protected:
  std::string Handler() const override { return GetParam(); }
};

std::string HandlerParamName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

INSTANTIATE_TEST_SUITE_P(Handlers, LifecycleHandlerTest, ::testing::Values("crun", "runc"),
                         HandlerParamName);

// ---- 1. Pod sandboxes -------------------------------------------------------------------------

TEST_P(LifecycleHandlerTest, PodSandbox_RunStatusStopRemove_FullLifecycle) {
  v1::PodSandboxConfig config = PodConfig("web");
  int64_t before = NowNs();
  std::string id = MustRunPod(config, Handler());
  int64_t after = NowNs();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(id.size(), 64u) << id;

  v1::PodSandboxStatusResponse resp;
  grpc::Status st = PodStatus(id, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const v1::PodSandboxStatus& status = resp.status();
  EXPECT_EQ(status.id(), id);
  EXPECT_EQ(status.state(), v1::PodSandboxState::SANDBOX_READY);
  EXPECT_GE(status.created_at(), before);
  EXPECT_LE(status.created_at(), after);
  EXPECT_TRUE(MessageDifferencer::Equals(status.metadata(), config.metadata()))
      << status.metadata().DebugString();
  using Labels = std::map<std::string, std::string>;
  EXPECT_EQ(Labels(status.labels().begin(), status.labels().end()),
            Labels(config.labels().begin(), config.labels().end()));
  EXPECT_EQ(status.annotations().count("example.com/note"), 1u);
  if (status.annotations().count("example.com/note")) {
    EXPECT_EQ(status.annotations().at("example.com/note"), "pod web");
  }
  EXPECT_EQ(status.runtime_handler(), Handler());
  const auto& ns = status.linux().namespaces().options();
  EXPECT_EQ(ns.network(), v1::NamespaceMode::POD);
  EXPECT_EQ(ns.pid(), v1::NamespaceMode::CONTAINER);
  EXPECT_EQ(ns.ipc(), v1::NamespaceMode::POD);

  // The pinned network namespace: one nsfs mount under <tmp>/ns/netns/.
  const std::string netns_dir = daemon().dir().Sub("ns/netns");
  std::vector<std::string> pins;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(netns_dir, ec)) pins.push_back(e.path().string());
  ASSERT_EQ(pins.size(), 1u) << "entries in " << netns_dir;
  EXPECT_TRUE(IsMountOfType(pins[0], "nsfs")) << pins[0];
  std::vector<std::string> pod_mounts = MountsBelow(daemon().dir().path(), {"nsfs", "tmpfs"});
  EXPECT_FALSE(pod_mounts.empty());
  EXPECT_TRUE(fs::is_directory(SandboxCgroupDir(id))) << SandboxCgroupDir(id);

  // Listed, and the stream says the same.
  auto listed = ListPods();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), id);
  EXPECT_EQ(listed[0].state(), v1::PodSandboxState::SANDBOX_READY);
  EXPECT_EQ(listed[0].created_at(), status.created_at());
  EXPECT_EQ(listed[0].runtime_handler(), Handler());
  ExpectSameMessages(StreamPods(), listed);

  // Stop: NOTREADY, and a second stop is fine.
  st = StopPod(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = StopPod(id);
  EXPECT_TRUE(st.ok()) << "second StopPodSandbox: " << st.error_message();
  ASSERT_TRUE(PodStatus(id, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::PodSandboxState::SANDBOX_NOTREADY);

  // Remove: gone, a second remove is fine, nothing of the pod is left mounted or in cgroupfs.
  st = RemovePod(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = RemovePod(id);
  EXPECT_TRUE(st.ok()) << "second RemovePodSandbox: " << st.error_message();
  st = PodStatus(id, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(ListPods().empty());
  EXPECT_TRUE(StreamPods().empty());
  for (const auto& m : pod_mounts) {
    EXPECT_TRUE(MountsBelow(m).empty()) << m << " is still mounted";
  }
  EXPECT_TRUE(MountsBelow(daemon().dir().path(), {"nsfs"}).empty());
  EXPECT_TRUE(MountsContaining(id).empty()) << Join(MountsContaining(id));
  EXPECT_FALSE(fs::exists(pins[0])) << pins[0];
  EXPECT_FALSE(fs::exists(SandboxCgroupDir(id))) << SandboxCgroupDir(id);
  EXPECT_TRUE(Eventually([&] { return CgroupChildren(cgroup_parent_).empty(); }, seconds(3)))
      << Join(CgroupChildren(cgroup_parent_));
}

TEST_F(LifecycleTest, ListPodSandbox_Filters_MatchIdStateAndLabels) {
  v1::PodSandboxConfig a_config = PodConfig("alpha");
  (*a_config.mutable_labels())["tier"] = "front";
  v1::PodSandboxConfig b_config = PodConfig("beta");
  (*b_config.mutable_labels())["tier"] = "front";
  v1::PodSandboxConfig c_config = PodConfig("gamma");
  (*c_config.mutable_labels())["tier"] = "back";
  std::string a = MustRunPod(a_config, "");
  std::string b = MustRunPod(b_config, "");
  std::string c = MustRunPod(c_config, "");
  ASSERT_FALSE(a.empty() || b.empty() || c.empty());
  ASSERT_TRUE(StopPod(b).ok());

  auto check = [&](const v1::PodSandboxFilter& filter, const std::set<std::string>& want) {
    SCOPED_TRACE(filter.DebugString());
    auto listed = ListPods(filter);
    EXPECT_EQ(Ids(listed), want);
    ExpectSameMessages(StreamPods(filter), listed);
  };
  check({}, {a, b, c});
  v1::PodSandboxFilter f;
  f.set_id(a.substr(0, 12));
  check(f, {a});
  f.set_id(a);
  check(f, {a});
  f = {};
  f.mutable_state()->set_state(v1::PodSandboxState::SANDBOX_READY);
  check(f, {a, c});
  f.mutable_state()->set_state(v1::PodSandboxState::SANDBOX_NOTREADY);
  check(f, {b});
  f = {};
  (*f.mutable_label_selector())["tier"] = "front";
  check(f, {a, b});
  (*f.mutable_label_selector())["app"] = "beta";
  check(f, {b});
  f.mutable_state()->set_state(v1::PodSandboxState::SANDBOX_READY);
  check(f, {});
  f = {};
  (*f.mutable_label_selector())["tier"] = "nowhere";
  check(f, {});
  f = {};
  f.set_id("ffffffffffff-no-such-pod");
  check(f, {});
}

// ---- 2. Containers ----------------------------------------------------------------------------

TEST_P(LifecycleHandlerTest, Container_CreateStartExecStopRemove_FullLifecycle) {
  v1::PodSandboxConfig pod = PodConfig("app");
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config =
      CtrConfig("c", {"/bin/sh", "-c", "echo hello; echo err >&2; sleep 3600"});
  int64_t before_create = NowNs();
  std::string id;
  grpc::Status st = CreateCtr(pod_id, pod, config, &id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(id.size(), 64u) << id;

  v1::ContainerStatus status;
  st = CtrStatus(id, &status);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(status.id(), id);
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_CREATED);
  EXPECT_GE(status.created_at(), before_create);
  EXPECT_EQ(status.started_at(), 0);
  EXPECT_EQ(status.metadata().name(), "c");
  EXPECT_EQ(status.image().image(), Ref("busybox:latest"));
  EXPECT_EQ(status.image_id(), pulled_["busybox:latest"])
      << "CRI 1.36: image_id must equal PullImageResponse.image_ref";
  EXPECT_FALSE(status.image_ref().empty());
  EXPECT_EQ(status.labels().count("ctr"), 1u);
  EXPECT_EQ(status.annotations().count("example.com/ctr-note"), 1u);
  EXPECT_TRUE(status.log_path().size() >= 5 &&
              status.log_path().compare(status.log_path().size() - 5, 5, "c.log") == 0)
      << status.log_path();

  int64_t before_start = NowNs();
  st = StartCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_RUNNING);
  EXPECT_GE(status.started_at(), before_start);
  EXPECT_LE(status.started_at(), NowNs());
  EXPECT_EQ(status.finished_at(), 0);

  // The CRI log: one full line per stream.
  const std::string log_path = pod.log_directory() + "/c.log";
  bool logged = Eventually(
      [&] {
        std::string log = ReadFile(log_path);
        return HasCriLogLine(log, "stdout", "hello") && HasCriLogLine(log, "stderr", "err");
      },
      seconds(10));
  EXPECT_TRUE(logged) << log_path << ":\n" << ReadFile(log_path);

  v1::ExecSyncResponse exec;
  st = Exec(id, {"echo", "hi"}, 10, &exec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(exec.stdout(), "hi\n");
  EXPECT_EQ(exec.stderr(), "");
  EXPECT_EQ(exec.exit_code(), 0);

  st = Exec(id, {"sh", "-c", "echo out; echo oops >&2; exit 3"}, 10, &exec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(exec.exit_code(), 3);
  EXPECT_EQ(exec.stdout(), "out\n");
  EXPECT_EQ(exec.stderr(), "oops\n");

  // A command that outlives its timeout: CRI-O answers with an error that says so.
  auto exec_start = Clock::now();
  exec.Clear();
  st = Exec(id, {"sleep", "10"}, 1, &exec);
  auto exec_elapsed = Clock::now() - exec_start;
  EXPECT_LT(exec_elapsed, seconds(6));
  if (st.ok()) {
    EXPECT_NE(exec.exit_code(), 0) << "a timed-out exec must not look successful";
  } else {
    EXPECT_TRUE(Contains(Lower(st.error_message()), "timed out") ||
                Contains(Lower(st.error_message()), "timeout"))
        << st.error_message();
  }
  // Still running after the timed-out exec.
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_RUNNING);
  // The timed-out command is gone, and so is what it forked (critest checks with pgrep; the
  // kubelet's exec probes time out this way).
  st = Exec(id, {"sh", "-c", "sleep 11; echo late"}, 1, &exec);
  EXPECT_FALSE(st.ok() && exec.exit_code() == 0) << "a timed-out exec must not look successful";
  v1::ExecSyncResponse comms;
  st = Exec(id, {"sh", "-c", "for f in /proc/[0-9]*/comm; do read c < $f && echo \"$c\"; done"}, 10,
            &comms);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // Only the container's own `sleep 3600` may remain.
  std::istringstream lines(comms.stdout());
  int sleeps = 0;
  for (std::string line; std::getline(lines, line);) sleeps += line == "sleep" ? 1 : 0;
  EXPECT_EQ(sleeps, 1) << "timed-out exec processes left in the container:\n" << comms.stdout();

  // PID 1 without a SIGTERM handler ignores SIGTERM: StopContainer falls back to SIGKILL.
  auto stop_start = Clock::now();
  st = StopCtr(id, 1);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_LT(Clock::now() - stop_start, seconds(10));
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_EXITED);
  EXPECT_TRUE(status.exit_code() == 137 || status.exit_code() == 143) << status.exit_code();
  EXPECT_GE(status.finished_at(), status.started_at());
  EXPECT_GT(status.finished_at(), 0);
  st = StopCtr(id, 1);
  EXPECT_TRUE(st.ok()) << "second StopContainer: " << st.error_message();

  st = RemoveCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = CtrStatus(id, &status);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  st = RemoveCtr(id);
  EXPECT_TRUE(st.ok()) << "second RemoveContainer: " << st.error_message();
  EXPECT_TRUE(ListCtrs().empty());
  EXPECT_TRUE(ConmonsMentioning(id).empty());
  // The log outlives the container: the kubelet removes it.
  EXPECT_TRUE(fs::exists(log_path));

  ASSERT_TRUE(StopPod(pod_id).ok());
  ASSERT_TRUE(RemovePod(pod_id).ok());
  EXPECT_TRUE(MountsContaining(id).empty()) << Join(MountsContaining(id));
  EXPECT_TRUE(Eventually([&] { return CgroupChildren(cgroup_parent_).empty(); }, seconds(3)))
      << Join(CgroupChildren(cgroup_parent_));
}

TEST_P(LifecycleHandlerTest, RemovePodSandbox_WithRunningContainer_RemovesEverything) {
  v1::PodSandboxConfig pod = PodConfig("busy");
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  std::string id = MustRunCtr(pod_id, pod, CtrConfig("worker", {"/bin/sh", "-c", kSleepUntilTerm}));
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(ConmonsMentioning(id).empty()) << "no conmon for " << id;

  grpc::Status st = RemovePod(pod_id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::ContainerStatus status;
  st = CtrStatus(id, &status);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(ListCtrs().empty());
  EXPECT_TRUE(Eventually([&] { return ConmonsMentioning(id).empty(); }, seconds(5)));
  EXPECT_TRUE(MountsContaining(id).empty()) << Join(MountsContaining(id));
  EXPECT_TRUE(MountsContaining(pod_id).empty()) << Join(MountsContaining(pod_id));
  EXPECT_TRUE(Eventually([&] { return CgroupChildren(cgroup_parent_).empty(); }, seconds(3)))
      << Join(CgroupChildren(cgroup_parent_));
}

// ---- 3. Exit codes and reasons ------------------------------------------------------------------

TEST_P(LifecycleHandlerTest, Container_ExitsNonZero_ExitedWithCodeAndReasonError) {
  v1::PodSandboxConfig pod = PodConfig("fail");
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  std::string id = MustRunCtr(pod_id, pod, CtrConfig("seven", {"sh", "-c", "exit 7"}));
  ASSERT_FALSE(id.empty());
  auto status = WaitForState(id, v1::ContainerState::CONTAINER_EXITED, seconds(15));
  EXPECT_EQ(status.exit_code(), 7);
  EXPECT_EQ(status.reason(), "Error");
  EXPECT_GT(status.started_at(), 0);
  EXPECT_GE(status.finished_at(), status.started_at());
}

TEST_P(LifecycleHandlerTest, Container_ExitsZero_ExitedWithReasonCompleted) {
  v1::PodSandboxConfig pod = PodConfig("ok");
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  std::string id = MustRunCtr(pod_id, pod, CtrConfig("done", {"true"}));
  ASSERT_FALSE(id.empty());
  auto status = WaitForState(id, v1::ContainerState::CONTAINER_EXITED, seconds(15));
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(status.reason(), "Completed");
  EXPECT_GE(status.finished_at(), status.started_at());
  // Exited containers can be removed without a stop.
  grpc::Status st = RemoveCtr(id);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// ---- 4. Stop signals ----------------------------------------------------------------------------

// user:latest declares StopSignal SIGINT. The shell exits 42 on SIGINT and ignores SIGTERM (as
// PID 1 without a handler), so exit 42 well within the grace period proves SIGINT was sent.
TEST_F(LifecycleTest, StopContainer_ImageStopSignalSigint_IsSentFirst) {
  ASSERT_NO_FATAL_FAILURE(Pull("user:latest"));
  v1::PodSandboxConfig pod = PodConfig("sig");
  std::string pod_id = MustRunPod(pod, "");
  ASSERT_FALSE(pod_id.empty());
  std::string id = MustRunCtr(
      pod_id, pod,
      CtrConfig("int", {"/bin/sh", "-c", "trap 'exit 42' INT; sleep 3600 & wait"}, "user:latest"));
  ASSERT_FALSE(id.empty());
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(SignalName(status.stop_signal()), "SIGINT");
  // Give the shell time to install its trap.
  std::this_thread::sleep_for(milliseconds(500));
  auto start = Clock::now();
  grpc::Status st = StopCtr(id, 20);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_LT(Clock::now() - start, seconds(15));
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 42);
}

// ContainerConfig.stop_signal (CRI 1.33) overrides the image's StopSignal.
TEST_F(LifecycleTest, StopContainer_ConfigStopSignal_OverridesImage) {
  ASSERT_NO_FATAL_FAILURE(Pull("user:latest"));
  v1::PodSandboxConfig pod = PodConfig("sig2");
  std::string pod_id = MustRunPod(pod, "");
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config = CtrConfig(
      "usr1", {"/bin/sh", "-c", "trap 'exit 43' USR1; trap 'exit 42' INT; sleep 3600 & wait"},
      "user:latest");
  config.set_stop_signal(SignalEnum("SIGUSR1"));
  std::string id = MustRunCtr(pod_id, pod, config);
  ASSERT_FALSE(id.empty());
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(SignalName(status.stop_signal()), "SIGUSR1");
  std::this_thread::sleep_for(milliseconds(500));
  grpc::Status st = StopCtr(id, 20);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(CtrStatus(id, &status).ok());
  EXPECT_EQ(status.exit_code(), 43);
}

// ---- 5. Errors ----------------------------------------------------------------------------------

TEST_F(LifecycleTest, CreateContainer_DuplicateNameInPod_FailsNamingTheReservedName) {
  v1::PodSandboxConfig pod = PodConfig("dup");
  std::string pod_id = MustRunPod(pod, "");
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config = CtrConfig("same", {"/bin/sh", "-c", kSleepUntilTerm});
  std::string first;
  grpc::Status st = CreateCtr(pod_id, pod, config, &first);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::string second;
  st = CreateCtr(pod_id, pod, config, &second);
  ASSERT_FALSE(st.ok()) << "second container " << second;
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS) << st.error_message();
  const auto& md = pod.metadata();
  std::string reserved = "k8s_same_" + md.name() + "_" + md.namespace_() + "_" + md.uid() + "_0";
  EXPECT_TRUE(Contains(st.error_message(), reserved)) << st.error_message();
  EXPECT_EQ(ListCtrs().size(), 1u);

  // Another attempt of the same container is a different name.
  config.mutable_metadata()->set_attempt(1);
  st = CreateCtr(pod_id, pod, config, &second);
  EXPECT_TRUE(st.ok()) << st.error_message();
  // Once the first is removed its name is free again.
  ASSERT_TRUE(RemoveCtr(first).ok());
  config.mutable_metadata()->set_attempt(0);
  st = CreateCtr(pod_id, pod, config, &first);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(LifecycleTest, RunPodSandbox_DuplicateName_FailsNamingTheReservedName) {
  v1::PodSandboxConfig pod = PodConfig("twin");
  std::string id = MustRunPod(pod, "");
  ASSERT_FALSE(id.empty());
  std::string second;
  grpc::Status st = RunPod(pod, "", &second);
  ASSERT_FALSE(st.ok()) << "second pod " << second;
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS) << st.error_message();
  const auto& md = pod.metadata();
  EXPECT_TRUE(
      Contains(st.error_message(), "k8s_POD_twin_" + md.namespace_() + "_" + md.uid() + "_1"))
      << st.error_message();
  EXPECT_EQ(ListPods().size(), 1u);
}

TEST_F(LifecycleTest, CreateContainer_UnknownPod_NotFound) {
  v1::PodSandboxConfig pod = PodConfig("ghost");
  std::string id;
  grpc::Status st = CreateCtr(std::string(64, 'a'), pod, CtrConfig("c", {"true"}), &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_TRUE(ListCtrs().empty());
}

TEST_F(LifecycleTest, UnknownContainerOrPod_NotFoundOrIdempotent) {
  const std::string unknown(64, 'b');
  grpc::Status st = StartCtr(unknown);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  v1::ContainerStatus status;
  st = CtrStatus(unknown, &status);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  v1::ExecSyncResponse exec;
  st = Exec(unknown, {"true"}, 5, &exec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  st = RemoveCtr(unknown);
  EXPECT_TRUE(st.ok()) << "RemoveContainer is idempotent: " << st.error_message();
  v1::PodSandboxStatusResponse pod_status;
  st = PodStatus(unknown, &pod_status);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  st = StopPod(unknown);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  st = RemovePod(unknown);
  EXPECT_TRUE(st.ok()) << "RemovePodSandbox is idempotent: " << st.error_message();
}

TEST_F(LifecycleTest, RunPodSandbox_UnknownRuntimeHandler_InvalidArgument) {
  std::string id;
  grpc::Status st = RunPod(PodConfig("nohandler"), "no-such-handler", &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(Contains(st.error_message(), "no-such-handler")) << st.error_message();
  EXPECT_TRUE(ListPods().empty());
  EXPECT_TRUE(MountsBelow(daemon().dir().path(), {"nsfs"}).empty());
}

TEST_F(LifecycleTest, MissingMetadata_InvalidArgumentNamingTheField) {
  v1::PodSandboxConfig no_metadata = PodConfig("nometa");
  no_metadata.clear_metadata();
  std::string id;
  grpc::Status st = RunPod(no_metadata, "", &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(Contains(Lower(st.error_message()), "metadata")) << st.error_message();
  EXPECT_TRUE(ListPods().empty());

  v1::PodSandboxConfig pod = PodConfig("meta");
  std::string pod_id = MustRunPod(pod, "");
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig config = CtrConfig("c", {"true"});
  config.clear_metadata();
  st = CreateCtr(pod_id, pod, config, &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(Contains(Lower(st.error_message()), "metadata")) << st.error_message();
  EXPECT_TRUE(ListCtrs().empty());
}

// ---- 6. Restart recovery ---------------------------------------------------------------------

class RestartTest : public LifecycleTest,
                    public ::testing::WithParamInterface<std::tuple<std::string, int>> {
 protected:
  std::string Handler() const override { return std::get<0>(GetParam()); }
  int Sig() const { return std::get<1>(GetParam()); }
};

std::string RestartParamName(const ::testing::TestParamInfo<std::tuple<std::string, int>>& p) {
  return std::get<0>(p.param) + (std::get<1>(p.param) == SIGKILL ? "_Sigkill" : "_Sigterm");
}

INSTANTIATE_TEST_SUITE_P(HandlersAndSignals, RestartTest,
                         ::testing::Combine(::testing::Values("crun", "runc"),
                                            ::testing::Values(SIGTERM, SIGKILL)),
                         RestartParamName);

// Containers outlive the daemon (conmon is their parent); an exit that happens while the daemon
// is down is picked up from the exit file by the next daemon.
TEST_P(RestartTest, Restart_DaemonStoppedAndStartedAgain_ContainersRecovered) {
  v1::PodSandboxConfig pod = PodConfig("survivor");
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  std::string running =
      MustRunCtr(pod_id, pod, CtrConfig("long", {"/bin/sh", "-c", kSleepUntilTerm}));
  ASSERT_FALSE(running.empty());
  std::string exiting =
      MustRunCtr(pod_id, pod, CtrConfig("short", {"sh", "-c", "sleep 2; exit 5"}));
  ASSERT_FALSE(exiting.empty());
  v1::ContainerStatus before;
  ASSERT_TRUE(CtrStatus(exiting, &before).ok());
  ASSERT_EQ(before.state(), v1::ContainerState::CONTAINER_RUNNING);
  v1::PodSandboxStatusResponse pod_before;
  ASSERT_TRUE(PodStatus(pod_id, &pod_before).ok());

  int64_t stopped_at = NowNs();
  ASSERT_NO_FATAL_FAILURE(RestartDaemon(Sig(), seconds(3)));

  // The pod is back, ready, with the same identity.
  v1::PodSandboxStatusResponse pod_after;
  grpc::Status st = PodStatus(pod_id, &pod_after);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << daemon().Log();
  EXPECT_EQ(pod_after.status().state(), v1::PodSandboxState::SANDBOX_READY);
  EXPECT_EQ(pod_after.status().created_at(), pod_before.status().created_at());
  EXPECT_TRUE(MessageDifferencer::Equals(pod_after.status().metadata(), pod.metadata()));
  EXPECT_EQ(pod_after.status().runtime_handler(), Handler());

  std::map<std::string, v1::Container> listed;
  for (const auto& c : ListCtrs()) listed[c.id()] = c;
  ASSERT_EQ(listed.size(), 2u) << daemon().Log();
  EXPECT_EQ(listed[running].state(), v1::ContainerState::CONTAINER_RUNNING);
  EXPECT_EQ(listed[exiting].state(), v1::ContainerState::CONTAINER_EXITED);

  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(exiting, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 5);
  EXPECT_EQ(status.reason(), "Error");
  EXPECT_GT(status.finished_at(), stopped_at) << "the exit happened while the daemon was down";
  EXPECT_EQ(status.started_at(), before.started_at());

  // The running container's conmon survived: exec still works through it.
  v1::ExecSyncResponse exec;
  st = Exec(running, {"echo", "still here"}, 10, &exec);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(exec.stdout(), "still here\n");
  EXPECT_EQ(exec.exit_code(), 0);

  // Names stay reserved across the restart.
  std::string dup;
  st = CreateCtr(pod_id, pod, CtrConfig("long", {"true"}), &dup);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS) << st.error_message();

  // And everything can be stopped and removed cleanly by the new daemon.
  st = StopCtr(running, 10);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(CtrStatus(running, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  ASSERT_TRUE(RemoveCtr(running).ok());
  ASSERT_TRUE(RemoveCtr(exiting).ok());
  ASSERT_TRUE(StopPod(pod_id).ok());
  st = RemovePod(pod_id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(ListPods().empty());
  EXPECT_TRUE(ConmonsMentioning(running).empty());
  EXPECT_TRUE(MountsContaining(pod_id).empty()) << Join(MountsContaining(pod_id));
  EXPECT_TRUE(MountsBelow(old_daemons_[0]->dir().path(), {"nsfs"}).empty());
  EXPECT_TRUE(Eventually([&] { return CgroupChildren(cgroup_parent_).empty(); }, seconds(3)))
      << Join(CgroupChildren(cgroup_parent_));
}

// ---- 7. Concurrency -----------------------------------------------------------------------------

TEST_F(LifecycleTest, Concurrency_TwentyPodsInParallel_AllSucceedAndLeaveNothingBehind) {
  constexpr int kPods = 20;
  std::vector<v1::PodSandboxConfig> configs;
  for (int i = 0; i < kPods; ++i) configs.push_back(PodConfig("par" + std::to_string(i)));
  std::vector<std::string> pod_ids(kPods), ctr_ids(kPods);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] {
        pod_ids[i] = MustRunPod(configs[i], "");
        if (pod_ids[i].empty()) return;
        ctr_ids[i] = MustRunCtr(pod_ids[i], configs[i],
                                CtrConfig("main", {"/bin/sh", "-c", kSleepUntilTerm}));
      });
    }
    for (auto& t : threads) t.join();
  }
  for (int i = 0; i < kPods; ++i) {
    ASSERT_FALSE(pod_ids[i].empty()) << i;
    ASSERT_FALSE(ctr_ids[i].empty()) << i;
  }
  EXPECT_EQ(std::set<std::string>(pod_ids.begin(), pod_ids.end()).size(), size_t{kPods});
  EXPECT_EQ(ListPods().size(), size_t{kPods});
  v1::ContainerFilter running;
  running.mutable_state()->set_state(v1::ContainerState::CONTAINER_RUNNING);
  EXPECT_EQ(ListCtrs(running).size(), size_t{kPods});
  EXPECT_EQ(MountsBelow(daemon().dir().Sub("ns/netns"), {"nsfs"}).size(), size_t{kPods});

  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] {
        grpc::Status st = StopPod(pod_ids[i]);
        EXPECT_TRUE(st.ok()) << "StopPodSandbox " << i << ": " << st.error_message();
        if (st.ok()) st = RemovePod(pod_ids[i]);
        EXPECT_TRUE(st.ok()) << "RemovePodSandbox " << i << ": " << st.error_message();
        if (!st.ok()) ++failures;
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(ListPods().empty());
  EXPECT_TRUE(ListCtrs().empty());
  EXPECT_TRUE(MountsBelow(daemon().dir().path(), {"nsfs"}).empty());
  for (int i = 0; i < kPods; ++i) {
    EXPECT_TRUE(MountsContaining(pod_ids[i]).empty()) << i;
    EXPECT_TRUE(MountsContaining(ctr_ids[i]).empty()) << i;
    EXPECT_TRUE(Eventually([&] { return ConmonsMentioning(ctr_ids[i]).empty(); }, seconds(5)))
        << "conmon of container " << i << " is still running";
  }
  EXPECT_TRUE(Eventually([&] { return CgroupChildren(cgroup_parent_).empty(); }, seconds(5)))
      << Join(CgroupChildren(cgroup_parent_));
}

// ---- 8. ListContainers filters ------------------------------------------------------------------

TEST_F(LifecycleTest, ListContainers_Filters_MatchIdPodStateAndLabels) {
  v1::PodSandboxConfig pod_a = PodConfig("lista");
  v1::PodSandboxConfig pod_b = PodConfig("listb");
  std::string a = MustRunPod(pod_a, "");
  std::string b = MustRunPod(pod_b, "");
  ASSERT_FALSE(a.empty() || b.empty());

  v1::ContainerConfig web = CtrConfig("web", {"/bin/sh", "-c", kSleepUntilTerm});
  (*web.mutable_labels())["role"] = "server";
  v1::ContainerConfig idle = CtrConfig("idle", {"/bin/sh", "-c", kSleepUntilTerm});
  (*idle.mutable_labels())["role"] = "server";
  v1::ContainerConfig job = CtrConfig("job", {"true"});
  (*job.mutable_labels())["role"] = "batch";

  std::string a_web = MustRunCtr(a, pod_a, web);
  std::string a_idle;  // created, never started
  ASSERT_TRUE(CreateCtr(a, pod_a, idle, &a_idle).ok());
  std::string b_job = MustRunCtr(b, pod_b, job);
  ASSERT_FALSE(a_web.empty() || a_idle.empty() || b_job.empty());
  WaitForState(b_job, v1::ContainerState::CONTAINER_EXITED, seconds(15));

  auto check = [&](const v1::ContainerFilter& filter, const std::set<std::string>& want) {
    SCOPED_TRACE(filter.DebugString());
    auto listed = ListCtrs(filter);
    EXPECT_EQ(Ids(listed), want);
    ExpectSameMessages(StreamCtrs(filter), listed);
  };
  check({}, {a_web, a_idle, b_job});
  v1::ContainerFilter f;
  f.set_pod_sandbox_id(a);
  check(f, {a_web, a_idle});
  f.set_pod_sandbox_id(b.substr(0, 12));
  check(f, {b_job});
  f = {};
  f.set_id(a_web.substr(0, 12));
  check(f, {a_web});
  f = {};
  f.mutable_state()->set_state(v1::ContainerState::CONTAINER_RUNNING);
  check(f, {a_web});
  f.mutable_state()->set_state(v1::ContainerState::CONTAINER_CREATED);
  check(f, {a_idle});
  f.mutable_state()->set_state(v1::ContainerState::CONTAINER_EXITED);
  check(f, {b_job});
  f = {};
  (*f.mutable_label_selector())["role"] = "server";
  check(f, {a_web, a_idle});
  (*f.mutable_label_selector())["ctr"] = "idle";
  check(f, {a_idle});
  f = {};
  (*f.mutable_label_selector())["role"] = "server";
  f.set_pod_sandbox_id(b);
  check(f, {});
  f = {};
  f.set_pod_sandbox_id(a);
  f.mutable_state()->set_state(v1::ContainerState::CONTAINER_RUNNING);
  check(f, {a_web});

  // What a list entry carries.
  auto all = ListCtrs();
  for (const auto& c : all) {
    if (c.id() != a_web) continue;
    EXPECT_EQ(c.pod_sandbox_id(), a);
    EXPECT_EQ(c.metadata().name(), "web");
    EXPECT_EQ(c.image().image(), Ref("busybox:latest"));
    EXPECT_EQ(c.image_id(), pulled_["busybox:latest"]);
    EXPECT_GT(c.created_at(), 0);
    EXPECT_EQ(c.labels().at("role"), "server");
    EXPECT_EQ(c.annotations().at("example.com/ctr-note"), "container web");
  }
}

// ---- 9. ReopenContainerLog --------------------------------------------------------------------

TEST_F(LifecycleTest, ReopenContainerLog_AfterRename_NewOutputGoesToOriginalPath) {
  v1::PodSandboxConfig pod = PodConfig("logs");
  std::string pod_id = MustRunPod(pod, "");
  ASSERT_FALSE(pod_id.empty());
  std::string id = MustRunCtr(
      pod_id, pod,
      CtrConfig("ticker", {"/bin/sh", "-c",
                           "trap 'exit 0' TERM; i=0; while true; do echo tick$i; i=$((i+1)); "
                           "sleep 0.2; done"}));
  ASSERT_FALSE(id.empty());
  const std::string log_path = pod.log_directory() + "/ticker.log";
  ASSERT_TRUE(
      Eventually([&] { return HasCriLogLine(ReadFile(log_path), "stdout", "tick2"); }, seconds(10)))
      << ReadFile(log_path);

  // What the kubelet does when it rotates: rename, then ask the runtime to reopen.
  const std::string rotated = log_path + ".20260101-000000";
  ASSERT_EQ(::rename(log_path.c_str(), rotated.c_str()), 0);
  v1::ReopenContainerLogRequest req;
  req.set_container_id(id);
  v1::ReopenContainerLogResponse resp;
  auto ctx = daemon().Context();
  grpc::Status st = rt().ReopenContainerLog(ctx.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  ASSERT_TRUE(Eventually(
      [&] {
        std::string log = ReadFile(log_path);
        return log.find(" stdout F tick") != std::string::npos;
      },
      seconds(10)))
      << "nothing written to the reopened " << log_path;
  // The new file continues where the rotated one stopped: no line is in both.
  std::string old_log = ReadFile(rotated);
  std::string new_log = ReadFile(log_path);
  std::set<std::string> old_payloads;
  std::istringstream old_lines(old_log);
  for (std::string line; std::getline(old_lines, line);) {
    auto pos = line.find(" stdout F ");
    if (pos != std::string::npos) old_payloads.insert(line.substr(pos + 10));
  }
  std::istringstream new_lines(new_log);
  for (std::string line; std::getline(new_lines, line);) {
    auto pos = line.find(" stdout F ");
    if (pos == std::string::npos) continue;
    EXPECT_EQ(old_payloads.count(line.substr(pos + 10)), 0u) << line;
  }
  // The rotated file no longer grows.
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(ReadFile(rotated), old_log);

  // Reopening an unknown container is NOT_FOUND.
  req.set_container_id(std::string(64, 'c'));
  auto ctx2 = daemon().Context();
  st = rt().ReopenContainerLog(ctx2.get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

// ---- 10. crioctl end to end --------------------------------------------------------------------

std::string LastLine(const std::string& output) {
  std::string trimmed = output;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
  auto nl = trimmed.rfind('\n');
  return nl == std::string::npos ? trimmed : trimmed.substr(nl + 1);
}

TEST_F(LifecycleTest, Crioctl_PodAndContainerVerbs_EndToEnd) {
  if (RunCommand({BuiltBinary("crioctl"), "runp", "--help"}).exit_code != 0) {
    GTEST_SKIP() << "crioctl has no pod verbs";
  }
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BuiltBinary("crioctl"), "-r", daemon().endpoint()});
    return RunCommand(args);
  };
  v1::PodSandboxConfig pod = PodConfig("ctl");
  nlohmann::json pod_json = {
      {"metadata",
       {{"name", pod.metadata().name()},
        {"namespace", pod.metadata().namespace_()},
        {"uid", pod.metadata().uid()},
        {"attempt", 1}}},
      {"hostname", "ctl"},
      {"log_directory", pod.log_directory()},
      {"labels", {{"app", "ctl"}}},
      {"linux",
       {{"cgroup_parent", cgroup_parent_},
        {"security_context", {{"namespace_options", {{"pid", "CONTAINER"}}}}}}}};
  nlohmann::json ctr_json = {
      {"metadata", {{"name", "echo"}}},
      {"image", {{"image", Ref("busybox:latest")}}},
      {"command", {"/bin/sh", "-c", std::string("echo hello; ") + kSleepUntilTerm}},
      {"log_path", "echo.log"}};
  WriteFile(env_.Sub("pod.json"), pod_json.dump());
  WriteFile(env_.Sub("ctr.json"), ctr_json.dump());

  auto runp = ctl({"runp", env_.Sub("pod.json")});
  ASSERT_EQ(runp.exit_code, 0) << runp.output;
  std::string pod_id = LastLine(runp.output);
  ASSERT_EQ(pod_id.size(), 64u) << runp.output;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pods_.push_back(pod_id);
  }
  auto create = ctl({"create", "--no-pull", pod_id, env_.Sub("ctr.json"), env_.Sub("pod.json")});
  ASSERT_EQ(create.exit_code, 0) << create.output;
  std::string ctr_id = LastLine(create.output);
  ASSERT_EQ(ctr_id.size(), 64u) << create.output;
  auto start = ctl({"start", ctr_id});
  ASSERT_EQ(start.exit_code, 0) << start.output;
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(ctr_id, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_RUNNING);

  auto pods = ctl({"pods", "-q", "--no-trunc"});
  ASSERT_EQ(pods.exit_code, 0) << pods.output;
  EXPECT_TRUE(Contains(pods.output, pod_id)) << pods.output;
  auto ps = ctl({"ps", "-q", "--no-trunc"});
  ASSERT_EQ(ps.exit_code, 0) << ps.output;
  EXPECT_TRUE(Contains(ps.output, ctr_id)) << ps.output;

  auto exec = ctl({"exec", ctr_id, "echo", "hi"});
  EXPECT_EQ(exec.exit_code, 0) << exec.output;
  EXPECT_EQ(exec.output, "hi\n");
  auto exec_fail = ctl({"exec", ctr_id, "sh", "-c", "exit 4"});
  EXPECT_EQ(exec_fail.exit_code, 4) << exec_fail.output;
  auto exec_sync = ctl({"exec", "-s", ctr_id, "sh", "-c", "echo sync; exit 5"});
  EXPECT_EQ(exec_sync.exit_code, 5) << exec_sync.output;
  EXPECT_EQ(exec_sync.output, "sync\n");
  // An interactive shell under a real pseudo-terminal (script(1)): typed input runs, the
  // window size follows the terminal, the shell's exit code is crioctl's.
  {
    std::string cmdline = "stty cols 100 rows 30; " + BuiltBinary("crioctl") + " -r " +
                          daemon().endpoint() + " exec -it " + ctr_id + " sh";
    std::string typed = env_.Sub("typed-ctl.sh");
    WriteFile(typed, "sleep 2; printf 'stty size; echo typed-$((6*7)); exit 9\\r'; sleep 5\n");
    auto tty =
        RunCommand({"sh", "-c", "sh " + typed + " | script -qec '" + cmdline + "' /dev/null"});
    EXPECT_TRUE(Contains(tty.output, "30 100")) << tty.output;
    EXPECT_TRUE(Contains(tty.output, "typed-42")) << tty.output;
    EXPECT_EQ(tty.exit_code, 9) << tty.output;
  }

  EXPECT_TRUE(Eventually(
      [&] {
        return Contains(ctl({"logs", ctr_id}).output, "hello");
      },
      seconds(10)))
      << ctl({"logs", ctr_id}).output;

  auto stopp = ctl({"stopp", pod_id});
  EXPECT_EQ(stopp.exit_code, 0) << stopp.output;
  v1::PodSandboxStatusResponse pod_status;
  ASSERT_TRUE(PodStatus(pod_id, &pod_status).ok());
  EXPECT_EQ(pod_status.status().state(), v1::PodSandboxState::SANDBOX_NOTREADY);
  auto rmp = ctl({"rmp", pod_id});
  EXPECT_EQ(rmp.exit_code, 0) << rmp.output;
  EXPECT_TRUE(ListPods().empty());
  EXPECT_TRUE(ListCtrs().empty());
}

// crictl (cri-tools v1.26.1), the reference CRI client, drives the same verbs as crioctl above.
// Its binary comes from $CRI_TOOLS_DIR, else the directory CMake found (tests/CMakeLists.txt).
std::string CriToolsDir() {
  if (const char* dir = std::getenv("CRI_TOOLS_DIR"); dir != nullptr && *dir != '\0') return dir;
  return CRIO_CRI_TOOLS_DIR;
}

TEST_F(LifecycleTest, Crictl_PodContainerExecLogsStopRemove_EndToEnd) {
  const std::string crictl = CriToolsDir() + "/crictl";
  if (::access(crictl.c_str(), X_OK) != 0) {
    const char* ci = std::getenv("CI");
    ASSERT_FALSE(ci != nullptr && std::string(ci) == "true") << "no crictl at " << crictl;
    GTEST_SKIP() << "no crictl at " << crictl << " (set CRI_TOOLS_DIR)";
  }
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {crictl, "--runtime-endpoint", daemon().endpoint(),
                               "--image-endpoint", daemon().endpoint(), "--timeout", "60s"});
    return RunCommand(args);
  };
  // No hostname and a name as long as critest's (68 characters): the pod gets its ID's first
  // 12 characters as hostname, as CRI-O gives it.
  const std::string long_name = "create-PodSandbox-for-container-" + RandomHex(36);
  v1::PodSandboxConfig pod = PodConfig(long_name);
  nlohmann::json pod_json = {{"metadata",
                              {{"name", long_name},
                               {"namespace", pod.metadata().namespace_()},
                               {"uid", pod.metadata().uid()},
                               {"attempt", 1}}},
                             {"log_directory", pod.log_directory()},
                             {"linux", {{"cgroup_parent", cgroup_parent_}}}};
  nlohmann::json ctr_json = {
      {"metadata", {{"name", "echo"}}},
      {"image", {{"image", Ref("busybox:latest")}}},
      {"command", {"/bin/sh", "-c", std::string("echo hello; ") + kSleepUntilTerm}},
      {"log_path", "echo.log"}};
  WriteFile(env_.Sub("crictl-pod.json"), pod_json.dump());
  WriteFile(env_.Sub("crictl-ctr.json"), ctr_json.dump());

  auto runp = run({"runp", env_.Sub("crictl-pod.json")});
  ASSERT_EQ(runp.exit_code, 0) << runp.output;
  std::string pod_id = LastLine(runp.output);
  ASSERT_EQ(pod_id.size(), 64u) << runp.output;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pods_.push_back(pod_id);
  }
  auto create = run(
      {"create", "--no-pull", pod_id, env_.Sub("crictl-ctr.json"), env_.Sub("crictl-pod.json")});
  ASSERT_EQ(create.exit_code, 0) << create.output;
  std::string ctr_id = LastLine(create.output);
  ASSERT_EQ(ctr_id.size(), 64u) << create.output;
  auto start = run({"start", ctr_id});
  ASSERT_EQ(start.exit_code, 0) << start.output;

  auto pods = run({"pods", "-q", "--no-trunc"});
  EXPECT_TRUE(Contains(pods.output, pod_id)) << pods.output;
  auto ps = run({"ps", "-q", "--no-trunc"});
  EXPECT_TRUE(Contains(ps.output, ctr_id)) << ps.output;
  auto inspect = run({"inspect", ctr_id});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_EQ(nlohmann::json::parse(inspect.output)["status"]["state"], "CONTAINER_RUNNING");

  // crictl prints stdout and stderr each with a newline of its own: compare the first line.
  auto first_line = [](const std::string& text) { return text.substr(0, text.find('\n')); };
  auto hostname = run({"exec", "-s", ctr_id, "cat", "/etc/hostname"});
  EXPECT_EQ(hostname.exit_code, 0) << hostname.output;
  EXPECT_EQ(first_line(hostname.output), pod_id.substr(0, 12)) << hostname.output;
  auto exec = run({"exec", "-s", ctr_id, "echo", "hi"});
  EXPECT_EQ(exec.exit_code, 0) << exec.output;
  EXPECT_EQ(first_line(exec.output), "hi") << exec.output;
  auto exec_fail = run({"exec", "-s", ctr_id, "sh", "-c", "exit 4"});
  EXPECT_NE(exec_fail.exit_code, 0) << exec_fail.output;
  // Without -s crictl streams through the streaming server (SPDY).
  auto streamed = run({"exec", ctr_id, "sh", "-c", "echo streamed; exit 3"});
  EXPECT_TRUE(Contains(streamed.output, "streamed")) << streamed.output;
  EXPECT_TRUE(Contains(streamed.output, "exit code 3")) << streamed.output;
  // An interactive shell under a real pseudo-terminal (script(1)): typed input reaches it and
  // the window size is the terminal's.
  {
    std::string cmdline = "stty cols 132 rows 41; " + crictl + " --runtime-endpoint " +
                          daemon().endpoint() + " exec -it " + ctr_id + " sh";
    std::string typed = env_.Sub("typed.sh");
    WriteFile(typed, "sleep 2; printf 'stty size; exit 7\\r'; sleep 5\n");
    auto tty =
        RunCommand({"sh", "-c", "sh " + typed + " | script -qc '" + cmdline + "' /dev/null"});
    EXPECT_TRUE(Contains(tty.output, "41 132")) << tty.output;
    EXPECT_TRUE(Contains(tty.output, "exit code 7")) << tty.output;
  }
  EXPECT_TRUE(Eventually(
      [&] {
        return Contains(run({"logs", ctr_id}).output, "hello");
      },
      seconds(10)))
      << run({"logs", ctr_id}).output;

  // Stats: crictl stats (ListContainerStats, sampled twice for the CPU column) and statsp.
  auto stats = run({"stats", "-o", "json", "--id", ctr_id});
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  if (stats.exit_code == 0) {
    auto json = nlohmann::json::parse(stats.output);
    ASSERT_EQ(json["stats"].size(), 1u) << stats.output;
    EXPECT_EQ(json["stats"][0]["attributes"]["id"], ctr_id);
    EXPECT_GT(
        std::stoull(json["stats"][0]["memory"]["workingSetBytes"]["value"].get<std::string>()), 0u)
        << stats.output;
  }
  auto stats_table = run({"stats"});
  EXPECT_TRUE(Contains(stats_table.output, ctr_id.substr(0, 13))) << stats_table.output;
  auto statsp = run({"statsp", "-o", "json"});
  EXPECT_EQ(statsp.exit_code, 0) << statsp.output;
  EXPECT_TRUE(Contains(statsp.output, pod_id)) << statsp.output;

  auto stop = run({"stop", "--timeout", "5", ctr_id});
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(ctr_id, &status).ok());
  EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_EXITED);
  auto rm = run({"rm", ctr_id});
  EXPECT_EQ(rm.exit_code, 0) << rm.output;
  EXPECT_TRUE(ListCtrs().empty());
  auto stopp = run({"stopp", pod_id});
  EXPECT_EQ(stopp.exit_code, 0) << stopp.output;
  auto rmp = run({"rmp", pod_id});
  EXPECT_EQ(rmp.exit_code, 0) << rmp.output;
  EXPECT_TRUE(ListPods().empty());
}

}  // namespace
}  // namespace crio::testing

namespace crio::testing {
namespace {

// A pod sharing one PID namespace gets the shipped pause binary as its infra container: every
// container sees it as PID 1, and sees the other containers' processes.
TEST_P(LifecycleHandlerTest, SharedPidNamespace_InfraPauseIsPid1AndContainersSeeEachOther) {
  v1::PodSandboxConfig pod = PodConfig("sharedpid");
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig sleeper = CtrConfig("sleeper", {"sleep", "3600"});
  sleeper.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::POD);
  std::string a = MustRunCtr(pod_id, pod, sleeper);
  ASSERT_FALSE(a.empty());
  v1::ContainerConfig looker = CtrConfig("looker", {"sleep", "3600"});
  looker.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string b = MustRunCtr(pod_id, pod, looker);
  ASSERT_FALSE(b.empty());

  v1::ExecSyncResponse init;
  ASSERT_TRUE(Exec(b, {"cat", "/proc/1/cmdline"}, 10, &init).ok());
  EXPECT_EQ(init.stdout().substr(0, 6), "/pause") << init.stdout();
  // Both sleeps are visible from one container: two "sleep" command lines besides pause.
  v1::ExecSyncResponse all;
  ASSERT_TRUE(
      Exec(b, {"sh", "-c", "for f in /proc/[0-9]*/cmdline; do cat $f; echo; done"}, 10, &all).ok());
  const std::string needle(
      "sleep\0"
      "3600",
      10);
  size_t sleeps = 0;
  for (size_t pos = all.stdout().find(needle); pos != std::string::npos;
       pos = all.stdout().find(needle, pos + 1)) {
    ++sleeps;
  }
  EXPECT_EQ(sleeps, 2u) << all.stdout();
  EXPECT_TRUE(StopPod(pod_id).ok());
  EXPECT_TRUE(RemovePod(pod_id).ok());
}

// With pause_image in the store, the infra container runs from it: its Entrypoint (pause_command
// empty) is PID 1 of the pod, and status names the image. Removing the pod removes its rootfs.
TEST_P(LifecycleHandlerTest, PauseImage_InStore_InfraRunsFromTheImage) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemonWith("pause_image = \"" + Ref("pause:3.10.1") + "\"\npause_command = \"\"\n",
                      "drop_infra_ctr = false\n"));
  ASSERT_NO_FATAL_FAILURE(Pull("pause:3.10.1"));
  v1::PodSandboxConfig pod = PodConfig("pauseimg");
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());

  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(pod_id);
  req.set_verbose(true);
  v1::PodSandboxStatusResponse status;
  auto ctx = daemon().Context();
  ASSERT_TRUE(rt().PodSandboxStatus(ctx.get(), req, &status).ok());
  EXPECT_TRUE(Contains(status.info().at("info"), "\"infraImage\":\"" + Ref("pause:3.10.1")))
      << status.info().at("info");

  v1::ContainerConfig looker = CtrConfig("looker", {"sleep", "3600"});
  looker.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string ctr = MustRunCtr(pod_id, pod, looker);
  ASSERT_FALSE(ctr.empty());
  v1::ExecSyncResponse init;
  ASSERT_TRUE(Exec(ctr, {"cat", "/proc/1/cmdline"}, 10, &init).ok());
  EXPECT_EQ(init.stdout(), std::string("/bin/sleep\0infinity\0", 20));
  const std::string infra_layer = daemon().dir().Sub("root/overlay-containers/" + pod_id);
  EXPECT_TRUE(fs::exists(infra_layer)) << "the infra rootfs is a layer of the pause image";

  EXPECT_TRUE(StopPod(pod_id).ok());
  EXPECT_TRUE(RemovePod(pod_id).ok());
  EXPECT_TRUE(MountsContaining(pod_id).empty()) << Join(MountsContaining(pod_id));
  EXPECT_FALSE(fs::exists(infra_layer));
}

// An unreachable pause_image never blocks a pod: the shipped pause binary runs while the image
// is pulled in the background, and the failed pull is logged.
TEST_P(LifecycleHandlerTest, PauseImage_Unreachable_ShippedPauseRunsAndPullFailureIsLogged) {
  // Port 1 on 127.0.0.1 refuses connections at once.
  ASSERT_NO_FATAL_FAILURE(StartDaemonWith("pause_image = \"127.0.0.1:1/pause:none\"\n", ""));
  v1::PodSandboxConfig pod = PodConfig("pausebin");
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  v1::ContainerConfig looker = CtrConfig("looker", {"sleep", "3600"});
  looker.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string ctr = MustRunCtr(pod_id, pod, looker);
  ASSERT_FALSE(ctr.empty());
  v1::ExecSyncResponse init;
  ASSERT_TRUE(Exec(ctr, {"cat", "/proc/1/cmdline"}, 10, &init).ok());
  EXPECT_EQ(init.stdout(), std::string("/pause\0", 7));
  EXPECT_TRUE(daemon().WaitForLog("pull of pause image 127.0.0.1:1/pause:none failed", seconds(20)))
      << daemon().Log();
  EXPECT_TRUE(StopPod(pod_id).ok());
  EXPECT_TRUE(RemovePod(pod_id).ok());
}

// log_size_max bounds the container log: conmon truncates the file when it would grow past it.
TEST_P(LifecycleHandlerTest, LogSizeMax_ChattyContainer_LogFileStaysBounded) {
  constexpr int kMax = 16384;
  ASSERT_NO_FATAL_FAILURE(StartDaemonWith("", "log_size_max = " + std::to_string(kMax) + "\n"));
  v1::PodSandboxConfig pod = PodConfig("chatty");
  std::string pod_id = MustRunPod(pod, Handler());
  ASSERT_FALSE(pod_id.empty());
  // About 200 KB of output in 2000 lines, then a marker, then it waits.
  std::string ctr = MustRunCtr(
      pod_id, pod,
      CtrConfig("chatty",
                {"/bin/sh", "-c",
                 "i=0; while [ $i -lt 2000 ]; do echo line-$i-"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxx; i=$((i+1)); done; echo done-marker; sleep 3600"}));
  ASSERT_FALSE(ctr.empty());
  const std::string log_path = pod.log_directory() + "/chatty.log";
  EXPECT_TRUE(Eventually([&] { return Contains(ReadFile(log_path), "done-marker"); }, seconds(20)))
      << ReadFile(log_path).size();
  const std::string log = ReadFile(log_path);
  EXPECT_LE(log.size(), size_t{kMax}) << "log_size_max not honoured";
  // The oldest lines were dropped, the newest kept, each still a CRI log line.
  EXPECT_FALSE(Contains(log, " line-0-")) << log.substr(0, 200);
  EXPECT_TRUE(HasCriLogLine(log, "stdout", "done-marker")) << log.substr(0, 200);
  EXPECT_TRUE(StopPod(pod_id).ok());
  EXPECT_TRUE(RemovePod(pod_id).ok());
}

// A container that ignores SIGTERM is killed after the stop timeout: exit 137, and none of its
// processes survive, whether it has its own PID namespace (crio signals its init through a
// pidfd) or shares the pod's (the runtime's `kill --all`).
TEST_P(LifecycleHandlerTest, StopContainer_TermIgnored_KilledAfterTimeoutWithAllItsProcesses) {
  for (v1::NamespaceMode pid_mode : {v1::CONTAINER, v1::POD}) {
    SCOPED_TRACE(v1::NamespaceMode_Name(pid_mode));
    v1::PodSandboxConfig pod = PodConfig("deaf" + std::to_string(pid_mode));
    pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(pid_mode);
    std::string pod_id = MustRunPod(pod, Handler());
    ASSERT_FALSE(pod_id.empty());
    v1::ContainerConfig config = CtrConfig(
        "deaf", {"/bin/sh", "-c", "trap '' TERM; sleep 3600 & echo $! > /tmp/child; wait"});
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        pid_mode);
    std::string id = MustRunCtr(pod_id, pod, config);
    ASSERT_FALSE(id.empty());
    v1::ContainerStatus status;
    std::string child_pid;
    ASSERT_TRUE(Eventually(
        [&] {
          v1::ExecSyncResponse r;
          if (!Exec(id, {"cat", "/tmp/child"}, 5, &r).ok()) return false;
          child_pid = r.stdout();
          return !child_pid.empty();
        },
        seconds(10)));
    // Host pids of the shell and its background sleep.
    const std::string pids_before = ReadFile(ContainerCgroupDir(id) + "/cgroup.procs");
    EXPECT_GE(std::count(pids_before.begin(), pids_before.end(), '\n'), 2) << pids_before;
    auto start = Clock::now();
    grpc::Status st = StopCtr(id, 2);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GE(Clock::now() - start, milliseconds(1900)) << "SIGTERM should have been ignored";
    ASSERT_TRUE(CtrStatus(id, &status).ok());
    EXPECT_EQ(status.state(), v1::ContainerState::CONTAINER_EXITED);
    EXPECT_EQ(status.exit_code(), 137);
    std::istringstream pids(pids_before);
    for (std::string pid; pids >> pid;) {
      EXPECT_TRUE(Eventually([&] { return !fs::exists("/proc/" + pid); }, seconds(5)))
          << "process " << pid << " of the container survived";
    }
    EXPECT_TRUE(StopPod(pod_id).ok());
    EXPECT_TRUE(RemovePod(pod_id).ok());
  }
}

// ---- Streaming: Exec, Attach, PortForward over SPDY ------------------------------------------

// What one side of a pipe received, read on a thread until the writer closes it.
class PipeReader {
 public:
  PipeReader() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_end_.reset(fds[0]);
      write_end_.reset(fds[1]);
    }
    thread_ = std::thread([this] {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(read_end_.get(), buf, sizeof buf)) > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        data_.append(buf, static_cast<size_t>(n));
      }
    });
  }
  ~PipeReader() { Finish(); }
  int fd() const { return write_end_.get(); }
  // Closes our write end and waits for everything written.
  std::string Finish() {
    write_end_.reset();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }

 private:
  os::UniqueFd read_end_, write_end_;
  std::thread thread_;
  std::mutex mu_;
  std::string data_;
};

// A pipe whose read end is a client's stdin: fed `input` by a thread (it may exceed the pipe's
// buffer), then closed, unless `close_after` is false (close write_end to end the input).
struct StdinPipe {
  os::UniqueFd read_end, write_end;
  std::thread writer;
  explicit StdinPipe(const std::string& input, bool close_after = true) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    writer = std::thread([this, input, close_after] {
      (void)os::WriteAll(write_end.get(), input);
      if (close_after) write_end.reset();
    });
  }
  ~StdinPipe() {
    if (writer.joinable()) writer.join();
  }
};

// Counts of what the daemon holds, to compare before and after a streaming session.
struct DaemonResources {
  size_t fds = 0;
  size_t threads = 0;
  size_t children = 0;
  bool operator==(const DaemonResources&) const = default;
  bool NoMoreThan(const DaemonResources& o) const {
    return fds <= o.fds && threads <= o.threads && children <= o.children;
  }
  std::string ToString() const {
    return fmt::format("{} fds, {} threads, {} children", fds, threads, children);
  }
};

DaemonResources ResourcesOf(pid_t pid) {
  DaemonResources r;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       it != fs::directory_iterator(); ++it) {
    ++r.fds;
  }
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec);
       it != fs::directory_iterator(); ++it) {
    ++r.threads;
  }
  std::string children =
      ReadFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::istringstream in(children);
  pid_t child;
  while (in >> child) ++r.children;
  return r;
}

// What the daemon holds once the requests before settle (a gRPC thread or a reaped child may
// still be on its way out): two equal readings in a row.
DaemonResources SettledResourcesOf(pid_t pid) {
  DaemonResources last = ResourcesOf(pid);
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    DaemonResources now = ResourcesOf(pid);
    if (now == last) break;
    last = now;
  }
  return last;
}

// Whether the daemon gets back to no more than `before` (a session's fds, threads and children
// all released) within `timeout`.
::testing::AssertionResult ReleasesBackTo(pid_t pid, const DaemonResources& before,
                                          std::chrono::milliseconds timeout) {
  if (Eventually([&] { return ResourcesOf(pid).NoMoreThan(before); }, timeout)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "before: " << before.ToString() << "; now: " << ResourcesOf(pid).ToString();
}

// A `sleep` argument no other test process on the host uses, so its processes can be counted.
std::string UniqueSleepSeconds() {
  return std::to_string(100000 + std::random_device{}() % 900000);
}

// Processes on the host whose command line is exactly `argv` (NUL-joined).
int CountProcesses(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + std::string(1, '\0');
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (ReadFile(e.path().string() + "/cmdline") == want) ++n;
  }
  return n;
}

class StreamingTest : public LifecycleHandlerTest {
 protected:
  // A pod with one long-running busybox container; `config_edit` may change the container.
  void StartPodAndContainer(const std::function<void(v1::ContainerConfig&)>& config_edit = {},
                            std::vector<std::string> command = {"/bin/sh", "-c", kSleepUntilTerm}) {
    pod_config_ = PodConfig("stream-" + RandomHex(6));
    pod_id_ = MustRunPod(pod_config_, Handler());
    ASSERT_FALSE(pod_id_.empty());
    v1::ContainerConfig config = CtrConfig("main", std::move(command));
    if (config_edit) config_edit(config);
    ctr_id_ = MustRunCtr(pod_id_, pod_config_, config);
    ASSERT_FALSE(ctr_id_.empty());
  }

  StatusOr<std::string> ExecUrl(const std::vector<std::string>& cmd, bool tty, bool in, bool out,
                                bool err) {
    v1::ExecRequest req;
    req.set_container_id(ctr_id_);
    for (const auto& c : cmd) req.add_cmd(c);
    req.set_tty(tty);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    v1::ExecResponse resp;
    auto ctx = daemon().Context();
    grpc::Status st = rt().Exec(ctx.get(), req, &resp);
    if (!st.ok()) return Internal(st.error_message());
    return resp.url();
  }

  struct ExecOutcome {
    StatusOr<int> code = 0;
    std::string out, err;
  };

  // Exec over SPDY with `protocols` offered; stdin from `input` when given.
  ExecOutcome RunExec(const std::vector<std::string>& cmd, std::optional<std::string> input = {},
                      std::vector<std::string> protocols = {}) {
    ExecOutcome outcome;
    auto url = ExecUrl(cmd, false, input.has_value(), true, true);
    EXPECT_TRUE(url.ok()) << url.status();
    if (!url.ok()) return outcome;
    PipeReader out, err;
    std::optional<StdinPipe> in;
    streaming::RemoteCommandClientOptions options;
    if (input) {
      in.emplace(*input);
      options.stdin = true;
      options.stdin_fd = in->read_end.get();
    }
    options.stdout_fd = out.fd();
    options.stderr_fd = err.fd();
    if (!protocols.empty()) options.protocols = protocols;
    outcome.code = streaming::RunRemoteCommandClient(*url, options);
    outcome.out = out.Finish();
    outcome.err = err.Finish();
    return outcome;
  }

  v1::PodSandboxConfig pod_config_;
  std::string pod_id_;
  std::string ctr_id_;
};

INSTANTIATE_TEST_SUITE_P(Handlers, StreamingTest, ::testing::Values("crun", "runc"),
                         HandlerParamName);

TEST_P(StreamingTest, Exec_V4_SeparatesStdoutAndStderrAndReportsExitCodes) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  const DaemonResources before = SettledResourcesOf(daemon().pid());

  auto ok = RunExec({"sh", "-c", "echo out; echo err >&2"});
  ASSERT_TRUE(ok.code.ok()) << ok.code.status();
  EXPECT_EQ(*ok.code, 0);
  EXPECT_EQ(ok.out, "out\n");
  EXPECT_EQ(ok.err, "err\n");

  auto one = RunExec({"sh", "-c", "exit 1"});
  ASSERT_TRUE(one.code.ok()) << one.code.status();
  EXPECT_EQ(*one.code, 1);

  auto killed = RunExec({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(killed.code.ok()) << killed.code.status();
  EXPECT_EQ(*killed.code, 137);

  auto missing = RunExec({"/no/such/binary"});
  EXPECT_FALSE(missing.code.ok() && *missing.code == 0);

  // Nothing of the sessions is left in the daemon.
  EXPECT_TRUE(ReleasesBackTo(daemon().pid(), before, seconds(10)));
}

TEST_P(StreamingTest, Exec_OlderProtocols_StreamOutputAndReportFailuresAsText) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  for (const char* protocol : {"v3.channel.k8s.io", "v2.channel.k8s.io"}) {
    auto ok = RunExec({"sh", "-c", "echo out; echo err >&2"}, {}, {protocol});
    ASSERT_TRUE(ok.code.ok()) << protocol << ": " << ok.code.status();
    EXPECT_EQ(ok.out, "out\n") << protocol;
    EXPECT_EQ(ok.err, "err\n") << protocol;
    auto failed = RunExec({"sh", "-c", "exit 2"}, {}, {protocol});
    ASSERT_FALSE(failed.code.ok()) << protocol;
    EXPECT_TRUE(Contains(std::string(failed.code.status().message()), "exit code 2"))
        << failed.code.status();
  }
  // v1 has no error stream: output only.
  auto v1_out = RunExec({"echo", "v1"}, {}, {"channel.k8s.io"});
  EXPECT_TRUE(v1_out.code.ok()) << v1_out.code.status();
  EXPECT_EQ(v1_out.out, "v1\n");
}

TEST_P(StreamingTest, Exec_Stdin_IsEchoedAndEndsAtTheClientsEof) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\n";
  auto echoed = RunExec({"cat"}, big);
  ASSERT_TRUE(echoed.code.ok()) << echoed.code.status();
  EXPECT_EQ(*echoed.code, 0);
  EXPECT_EQ(echoed.out.size(), big.size());
  EXPECT_TRUE(echoed.out == big);
}

TEST_P(StreamingTest, Exec_Tty_ResizeReachesTheTerminal) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  auto url = ExecUrl({"sh", "-c", "sleep 1; stty size"}, true, true, true, false);
  ASSERT_TRUE(url.ok()) << url.status();
  PipeReader out;
  StdinPipe in("", /*close_after=*/false);
  streaming::RemoteCommandClientOptions options;
  options.tty = true;
  options.stdin = true;
  options.stderr = false;
  options.stdin_fd = in.read_end.get();
  options.stdout_fd = out.fd();
  auto sent = std::make_shared<std::atomic<bool>>(false);
  options.next_resize = [sent]() -> std::optional<streaming::TerminalSize> {
    if (sent->exchange(true)) return std::nullopt;
    return streaming::TerminalSize{123, 45};
  };
  // The session ends with the command although the client's stdin stays open.
  auto code = streaming::RunRemoteCommandClient(*url, options);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(Contains(out.Finish(), "45 123"));
}

TEST_P(StreamingTest, Attach_RelaysOutputAndStdinAndEndsAtStdinEof) {
  ASSERT_NO_FATAL_FAILURE(
      StartPodAndContainer([](v1::ContainerConfig& c) { c.set_stdin(true); }, {"/bin/sh"}));
  v1::AttachRequest req;
  req.set_container_id(ctr_id_);
  req.set_stdin(true);
  req.set_stdout(true);
  req.set_stderr(true);
  v1::AttachResponse resp;
  auto ctx = daemon().Context();
  ASSERT_TRUE(rt().Attach(ctx.get(), req, &resp).ok());
  PipeReader out, err;
  StdinPipe in("echo attached; echo to-stderr >&2\n", /*close_after=*/false);
  streaming::RemoteCommandClientOptions options;
  options.stdin = true;
  options.stdin_fd = in.read_end.get();
  options.stdout_fd = out.fd();
  options.stderr_fd = err.fd();
  std::thread closer([&] {
    std::this_thread::sleep_for(seconds(2));
    in.writer.join();
    in.write_end.reset();  // the client's end of input ends the attach
  });
  auto code = streaming::RunRemoteCommandClient(resp.url(), options);
  closer.join();
  EXPECT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out.Finish(), "attached\n");
  EXPECT_EQ(err.Finish(), "to-stderr\n");
}

TEST_P(StreamingTest, Attach_ContainerExitEndsTheSession) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer({}, {"/bin/sh", "-c", "sleep 2; echo bye"}));
  v1::AttachRequest req;
  req.set_container_id(ctr_id_);
  req.set_stdout(true);
  req.set_stderr(true);
  v1::AttachResponse resp;
  auto ctx = daemon().Context();
  ASSERT_TRUE(rt().Attach(ctx.get(), req, &resp).ok());
  PipeReader out, err;
  streaming::RemoteCommandClientOptions options;
  options.stdout_fd = out.fd();
  options.stderr_fd = err.fd();
  auto code = streaming::RunRemoteCommandClient(resp.url(), options);
  EXPECT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out.Finish(), "bye\n");
}

TEST_P(StreamingTest, Tokens_UnknownAndReusedGet404) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  auto url = ExecUrl({"true"}, false, false, true, true);
  ASSERT_TRUE(url.ok());
  auto first = streaming::DialSpdy(*url, {"v4.channel.k8s.io"});
  ASSERT_TRUE(first.ok()) << first.status();
  first->conn->Close();
  auto reused = streaming::DialSpdy(*url, {"v4.channel.k8s.io"});
  ASSERT_FALSE(reused.ok());
  EXPECT_TRUE(Contains(std::string(reused.status().message()), "404")) << reused.status();
  std::string unknown = url->substr(0, url->rfind('/') + 1) + "AAAAAAAA";
  auto bad = streaming::DialSpdy(unknown, {"v4.channel.k8s.io"});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(std::string(bad.status().message()), "404")) << bad.status();
  // A protocol the server does not speak is refused.
  auto url2 = ExecUrl({"true"}, false, false, true, true);
  ASSERT_TRUE(url2.ok());
  auto wrong = streaming::DialSpdy(*url2, {"v9.channel.k8s.io"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(Contains(std::string(wrong.status().message()), "403")) << wrong.status();
}

TEST_P(StreamingTest, Rpcs_RejectBadRequestsWithClearCodes) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  auto code_of = [&](bool tty, bool in, bool out, bool err, const std::string& id) {
    v1::ExecRequest req;
    req.set_container_id(id);
    req.add_cmd("true");
    req.set_tty(tty);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    v1::ExecResponse resp;
    auto ctx = daemon().Context();
    return rt().Exec(ctx.get(), req, &resp).error_code();
  };
  EXPECT_EQ(code_of(true, false, true, true, ctr_id_), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of(false, false, false, false, ctr_id_), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of(false, false, true, false, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of(false, false, true, false, "no-such-container"), grpc::StatusCode::NOT_FOUND);
  v1::PortForwardRequest pf;
  pf.set_pod_sandbox_id("no-such-pod");
  v1::PortForwardResponse pf_resp;
  auto ctx = daemon().Context();
  EXPECT_EQ(rt().PortForward(ctx.get(), pf, &pf_resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(StreamingTest, Exec_ClientDropsMidStream_CommandIsKilled) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  const std::string marker = UniqueSleepSeconds();
  auto url = ExecUrl({"sleep", marker}, false, false, true, true);
  ASSERT_TRUE(url.ok());
  auto dial = streaming::DialSpdy(*url, {"v4.channel.k8s.io"});
  ASSERT_TRUE(dial.ok()) << dial.status();
  for (const char* type : {"error", "stdout", "stderr"}) {
    ASSERT_TRUE(dial->conn->OpenStream({{"streamtype", type}}, seconds(10)).ok());
  }
  ASSERT_TRUE(Eventually([&] { return CountProcesses({"sleep", marker}) == 1; }, seconds(10)));
  dial->conn->Close();  // the client vanishes
  EXPECT_TRUE(Eventually(
      [&] {
        return CountProcesses({"sleep", marker}) == 0;
      },
      seconds(10)))
      << "the exec'd command outlived its client";
}

TEST_P(StreamingTest, DaemonRestartWithAStreamOpen_SessionEndsCommandGoesContainerStays) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  const std::string marker = UniqueSleepSeconds();
  auto url = ExecUrl({"sleep", marker}, false, false, true, true);
  ASSERT_TRUE(url.ok());
  PipeReader out, err;
  streaming::RemoteCommandClientOptions options;
  options.stdout_fd = out.fd();
  options.stderr_fd = err.fd();
  auto session = std::async(std::launch::async,
                            [&] { return streaming::RunRemoteCommandClient(*url, options); });
  ASSERT_TRUE(Eventually([&] { return CountProcesses({"sleep", marker}) == 1; }, seconds(10)));
  ASSERT_NO_FATAL_FAILURE(RestartDaemon(SIGTERM, milliseconds(0)));
  // The client learns that its session ended; it does not hang.
  ASSERT_EQ(session.wait_for(seconds(20)), std::future_status::ready);
  EXPECT_EQ(CountProcesses({"sleep", marker}), 0) << "the exec'd command outlived the daemon";
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(ctr_id_, &status).ok());
  EXPECT_EQ(status.state(), v1::CONTAINER_RUNNING);
  // The new daemon streams again.
  auto after = RunExec({"echo", "again"});
  EXPECT_TRUE(after.code.ok()) << after.code.status();
  EXPECT_EQ(after.out, "again\n");
}

// A TCP server in the pod (busybox httpd) serving a file, reached through port-forward.
class PortForwardTest : public StreamingTest {
 protected:
  void StartServer(const std::string& setup) {
    ASSERT_NO_FATAL_FAILURE(StartPodAndContainer(
        {}, {"/bin/sh", "-c", "mkdir -p /www; " + setup + "; httpd -f -p 8080 -h /www"}));
    ASSERT_TRUE(WaitUntilListening(8080));
  }
  // The container's server binds after the container starts; forwarding before then is refused.
  bool WaitUntilListening(int port) {
    // A /proc/net/tcp{,6} line: "sl local_address rem_address st ...", 0A is LISTEN.
    const std::string local_suffix = fmt::format(":{:04X}", port);
    auto listening = [&](const std::string& table) {
      std::istringstream lines(table);
      std::string line;
      while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        fields >> slot >> local >> remote >> state;
        if (local.ends_with(local_suffix) && state == "0A") return true;
      }
      return false;
    };
    return Eventually(
        [&] {
          v1::ExecSyncResponse r;
          return Exec(ctr_id_, {"cat", "/proc/net/tcp", "/proc/net/tcp6"}, 10, &r).ok() &&
                 listening(r.stdout());
        },
        seconds(10));
  }
  // GET /path through the forward; returns the body.
  std::string Get(streaming::SpdyDial& dial, const std::string& path, int request_id) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    os::UniqueFd ours(sv[0]), theirs(sv[1]);
    std::thread forward([&] {
      Status st = streaming::ForwardOneConnection(*dial.conn, 8080, request_id, theirs.get());
      EXPECT_TRUE(st.ok()) << st;
    });
    EXPECT_TRUE(os::WriteAll(ours.get(), "GET " + path + " HTTP/1.0\r\n\r\n").ok());
    std::string response;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(ours.get(), buf, sizeof buf)) > 0) response.append(buf, size_t(n));
    ours.reset();
    forward.join();
    size_t body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
  }
  StatusOr<streaming::SpdyDial> Dial() {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(pod_id_);
    v1::PortForwardResponse resp;
    auto ctx = daemon().Context();
    grpc::Status st = rt().PortForward(ctx.get(), req, &resp);
    if (!st.ok()) return Internal(st.error_message());
    return streaming::DialSpdy(resp.url(), {"portforward.k8s.io"});
  }
};

INSTANTIATE_TEST_SUITE_P(Handlers, PortForwardTest, ::testing::Values("crun", "runc"),
                         HandlerParamName);

TEST_P(PortForwardTest, SixteenConcurrentConnectionsOnOneSession) {
  ASSERT_NO_FATAL_FAILURE(StartServer("echo hello-from-pod > /www/index.html"));
  const DaemonResources before = SettledResourcesOf(daemon().pid());
  auto dial = Dial();
  ASSERT_TRUE(dial.ok()) << dial.status();
  ASSERT_EQ(Get(*dial, "/index.html", 0), "hello-from-pod\n");
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      if (Get(*dial, "/index.html", i + 1) == "hello-from-pod\n") ++good;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good, 16);
  // Closing the session releases everything it held in the daemon.
  dial->conn->Close();
  EXPECT_TRUE(ReleasesBackTo(daemon().pid(), before, seconds(10)));
}

// SHA-256 of a byte stream, fed in pieces.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void Update(const char* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, digest, &len);
    std::string out;
    for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

TEST_P(PortForwardTest, HundredMegabytesEachWayArriveIntact) {
  // An echo server in the pod: every connection gets its own `cat`.
  ASSERT_NO_FATAL_FAILURE(
      StartPodAndContainer({}, {"/bin/sh", "-c", "exec busybox nc -ll -p 8081 -e /bin/cat"}));
  ASSERT_TRUE(WaitUntilListening(8081));
  auto dial = Dial();
  ASSERT_TRUE(dial.ok()) << dial.status();
  constexpr size_t kTotal = 100u << 20;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  os::UniqueFd ours(sv[0]), theirs(sv[1]);
  std::thread forward([&] {
    Status st = streaming::ForwardOneConnection(*dial->conn, 8081, 0, theirs.get());
    EXPECT_TRUE(st.ok()) << st;
  });
  Sha256 sent_sum;
  std::thread sender([&] {
    std::mt19937_64 random(42);
    std::vector<uint64_t> chunk(8192);
    for (size_t sent = 0; sent < kTotal; sent += chunk.size() * 8) {
      for (auto& word : chunk) word = random();
      const char* bytes = reinterpret_cast<const char*>(chunk.data());
      sent_sum.Update(bytes, chunk.size() * 8);
      if (!os::WriteAll(ours.get(), std::string_view(bytes, chunk.size() * 8)).ok()) return;
    }
    ::shutdown(ours.get(), SHUT_WR);  // cat sees the end of input and exits
  });
  Sha256 echoed_sum;
  size_t echoed = 0;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(ours.get(), buf, sizeof buf)) > 0) {
    echoed_sum.Update(buf, size_t(n));
    echoed += size_t(n);
  }
  sender.join();
  ours.reset();
  forward.join();
  EXPECT_EQ(echoed, kTotal);
  EXPECT_EQ(echoed_sum.Hex(), sent_sum.Hex());
}

TEST_P(PortForwardTest, ClosedPortReportsAnErrorOnTheErrorStream) {
  ASSERT_NO_FATAL_FAILURE(StartServer("true"));
  auto dial = Dial();
  ASSERT_TRUE(dial.ok()) << dial.status();
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  os::UniqueFd ours(sv[0]), theirs(sv[1]);
  ours.reset();
  Status st = streaming::ForwardOneConnection(*dial->conn, 9, 0, theirs.get());
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(std::string(st.message()), "error forwarding port 9")) << st;
}

// ---- Inspect endpoints (HTTP/1.1 on the CRI socket) and `crio status` ------------------------

class InspectTest : public StreamingTest {
 protected:
  nlohmann::json GetJson(const std::string& target, long* code) {
    std::string body = HttpGetUnix(daemon().socket_path(), target, code);
    return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  }
  // Whether the container's freezer says frozen: freezer.state (v1) or cgroup.freeze (v2).
  bool Frozen(const std::string& ctr_id) {
    if (fs::exists(std::string(kCgroupRoot) + "/cgroup.controllers")) {
      return ReadFile(std::string(kCgroupRoot) + cgroup_parent_ + "/crio-" + ctr_id +
                      "/cgroup.freeze")
          .starts_with("1");
    }
    return ReadFile(std::string(kCgroupRoot) + "/freezer" + cgroup_parent_ + "/crio-" + ctr_id +
                    "/freezer.state")
        .starts_with("FROZEN");
  }
  CommandResult CrioStatus(std::vector<std::string> args) {
    std::vector<std::string> argv = {BuiltBinary("crio"), "status", "--socket",
                                     daemon().socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
};

INSTANTIATE_TEST_SUITE_P(Handlers, InspectTest, ::testing::Values("crun", "runc"),
                         HandlerParamName);

TEST_P(InspectTest, Info_AndGrpc_ShareTheCriSocket) {
  long code = 0;
  nlohmann::json info = GetJson("/info", &code);
  ASSERT_EQ(code, 200);
  ASSERT_TRUE(info.is_object());
  EXPECT_EQ(info["cgroup_driver"], "cgroupfs");
  EXPECT_EQ(info["storage_driver"], "overlay");
  EXPECT_EQ(info["storage_root"], daemon().dir().Sub("root"));
  EXPECT_TRUE(info.contains("storage_image"));
  ASSERT_TRUE(info["default_id_mappings"]["uids"].is_array());
  EXPECT_EQ(info["default_id_mappings"]["uids"][0]["size"], 4294967295ULL);
  // gRPC still answers on the same socket after an HTTP/1.1 client used it.
  v1::VersionRequest req;
  v1::VersionResponse resp;
  auto ctx = daemon().Context();
  EXPECT_TRUE(rt().Version(ctx.get(), req, &resp).ok());
  std::string config = HttpGetUnix(daemon().socket_path(), "/config", &code);
  EXPECT_EQ(code, 200);
  EXPECT_TRUE(Contains(config, "[crio.runtime]")) << config.substr(0, 300);
  HttpGetUnix(daemon().socket_path(), "/no/such/endpoint", &code);
  EXPECT_EQ(code, 404);
}

TEST_P(InspectTest, Container_FieldsAsCriO_AndPodsByTheirId) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(ctr_id_, &status).ok());
  long code = 0;
  nlohmann::json c = GetJson("/containers/" + ctr_id_, &code);
  ASSERT_EQ(code, 200) << c.dump();
  EXPECT_TRUE(Contains(c["name"].get<std::string>(), "main")) << c["name"];
  const int pid = c["pid"].get<int>();
  EXPECT_GT(pid, 0);
  EXPECT_TRUE(fs::exists("/proc/" + std::to_string(pid)));
  EXPECT_EQ(c["image"], status.image().image());
  EXPECT_FALSE(c["image_ref"].get<std::string>().empty());
  EXPECT_EQ(c["created_time"].get<int64_t>(), status.created_at());
  EXPECT_EQ(c["labels"]["ctr"], "main");
  EXPECT_EQ(c["annotations"]["example.com/ctr-note"], "container main");
  EXPECT_TRUE(c["crio_annotations"].is_object());
  EXPECT_EQ(c["log_path"], status.log_path());
  EXPECT_TRUE(fs::is_directory(c["root"].get<std::string>() + "/bin")) << c["root"];
  EXPECT_EQ(c["sandbox"], pod_id_);
  EXPECT_TRUE(c["ip_addresses"].is_array());
  EXPECT_EQ(c["host_network"], false);

  nlohmann::json pod = GetJson("/containers/" + pod_id_, &code);
  EXPECT_EQ(code, 200) << pod.dump();
  EXPECT_EQ(pod["sandbox"], pod_id_);
  EXPECT_EQ(pod["labels"]["io.kubernetes.container.name"], "POD");

  std::string missing = HttpGetUnix(daemon().socket_path(), "/containers/deadbeef", &code);
  EXPECT_EQ(code, 404);
  EXPECT_EQ(missing, "can't find the container with id deadbeef\n");
}

TEST_P(InspectTest, PauseFreezesAndUnpauseThaws) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  long code = 0;
  std::string body = HttpGetUnix(daemon().socket_path(), "/pause/" + ctr_id_, &code);
  ASSERT_EQ(code, 200) << body;
  EXPECT_EQ(body, "200 OK");
  EXPECT_TRUE(Frozen(ctr_id_));
  body = HttpGetUnix(daemon().socket_path(), "/unpause/" + ctr_id_, &code);
  ASSERT_EQ(code, 200) << body;
  EXPECT_FALSE(Frozen(ctr_id_));
  v1::ExecSyncResponse r;
  ASSERT_TRUE(Exec(ctr_id_, {"echo", "thawed"}, 10, &r).ok());
  EXPECT_EQ(r.stdout(), "thawed\n");
  // Unpausing a running container, or pausing an unknown one, changes nothing and says why.
  body = HttpGetUnix(daemon().socket_path(), "/unpause/" + ctr_id_, &code);
  EXPECT_EQ(code, 409) << body;
  EXPECT_TRUE(Contains(body, "container is not in paused state, now is running")) << body;
  HttpGetUnix(daemon().socket_path(), "/pause/deadbeef", &code);
  EXPECT_EQ(code, 404);
  // A paused container still stops gracefully: it is thawed first, so its trap runs.
  body = HttpGetUnix(daemon().socket_path(), "/pause/" + ctr_id_, &code);
  ASSERT_EQ(code, 200) << body;
  ASSERT_TRUE(StopCtr(ctr_id_, 10).ok());
  v1::ContainerStatus status;
  ASSERT_TRUE(CtrStatus(ctr_id_, &status).ok());
  EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 0) << "SIGTERM reached the trap";
  EXPECT_TRUE(RemoveCtr(ctr_id_).ok());
}

TEST_P(InspectTest, CrioStatus_InfoContainersConfig) {
  ASSERT_NO_FATAL_FAILURE(StartPodAndContainer());
  CommandResult info = CrioStatus({"info"});
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_TRUE(Contains(info.output, "cgroup driver: cgroupfs\n")) << info.output;
  EXPECT_TRUE(Contains(info.output, "storage graph root: " + daemon().dir().Sub("root") + "\n"))
      << info.output;
  EXPECT_TRUE(Contains(info.output,
                       "default UID mappings (format <container>:<host>:<size>):\n"
                       "  0:0:4294967295\n"))
      << info.output;

  CommandResult ctr = CrioStatus({"containers", "--id", ctr_id_});
  ASSERT_EQ(ctr.exit_code, 0) << ctr.output;
  EXPECT_TRUE(Contains(ctr.output, "sandbox: " + pod_id_ + "\n")) << ctr.output;
  EXPECT_TRUE(Contains(ctr.output, "  ctr: main\n")) << ctr.output;

  CommandResult config = CrioStatus({"config"});
  ASSERT_EQ(config.exit_code, 0) << config.output;
  EXPECT_TRUE(Contains(config.output, "[crio.runtime]"));

  CommandResult unknown = CrioStatus({"containers", "--id", "deadbeef"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(Contains(unknown.output, "can't find the container with id deadbeef"))
      << unknown.output;
  CommandResult no_daemon =
      RunCommand({BuiltBinary("crio"), "status", "-s", daemon().dir().Sub("nothing.sock"), "info"});
  EXPECT_NE(no_daemon.exit_code, 0);
  EXPECT_TRUE(Contains(no_daemon.output, "nothing.sock")) << no_daemon.output;
}

}  // namespace
}  // namespace crio::testing
