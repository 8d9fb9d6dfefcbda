// GetContainerEvents through the real daemon, on crun and runc: the events of a container's whole
// lifecycle in order with the pod and container statuses attached, an exit while no RPC is in
// flight (conmon's exit file seen by the daemon's inotify watcher), several subscribers, and the
// pod sandbox events (the pod id as container id, as CRI-O sends them for the evented PLEG).
//
// Each test starts its own daemon on its own temp root, with pods in a random cgroupfs parent
// "/crio-cpp-test-<hex>" removed at the end; pods are removed in TearDown even after a failure.
// The generated CRI headers come first: their Signal enum clashes with <signal.h> macros.
// clang-format off
#include "daemon_harness.h"
#include "registry_fixture.h"
#include "test_util.h"
// clang-format on

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSleepUntilTerm[] = "trap 'exit 0' TERM; sleep 3600 & wait";
constexpr auto kEventTimeout = seconds(30);

// One GetContainerEvents call read on its own thread. Construction returns once the daemon has
// subscribed (it sends its headers then), so no later event is missed.
class EventStream {
 public:
  explicit EventStream(v1::RuntimeService::Stub& stub) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    reader_ = stub.GetContainerEvents(&ctx_, v1::GetEventsRequest());
    reader_->WaitForInitialMetadata();
    thread_ = std::thread([this] { ReadAll(); });
  }
  ~EventStream() {
    ctx_.TryCancel();
    thread_.join();
  }

  // Waits until an event matching `pred` has arrived; returns it.
  std::optional<v1::ContainerEventResponse> WaitFor(
      const std::function<bool(const v1::ContainerEventResponse&)>& pred,
      std::chrono::milliseconds timeout = kEventTimeout) {
    std::unique_lock lock(mu_);
    std::optional<v1::ContainerEventResponse> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (pred(e)) {
          found = e;
          return true;
        }
      }
      return finished_;
    });
    return found;
  }
  std::optional<v1::ContainerEventResponse> WaitFor(const std::string& id,
                                                    v1::ContainerEventType type) {
    return WaitFor([&](const v1::ContainerEventResponse& e) {
      return e.container_id() == id && e.container_event_type() == type;
    });
  }
  // The events about `id` so far, in arrival order.
  std::vector<v1::ContainerEventResponse> EventsOf(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<v1::ContainerEventResponse> out;
    for (const auto& e : events_) {
      if (e.container_id() == id) out.push_back(e);
    }
    return out;
  }
  std::vector<std::string> Summary() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : events_) {
      out.push_back(e.container_id() + " " + v1::ContainerEventType_Name(e.container_event_type()));
    }
    return out;
  }
  std::string Ended() {
    std::lock_guard lock(mu_);
    return finished_ ? "ended: " + status_.error_message() : "open";
  }

 private:
  void ReadAll() {
    v1::ContainerEventResponse event;
    while (reader_->Read(&event)) {
      std::lock_guard lock(mu_);
      events_.push_back(event);
      cv_.notify_all();
    }
    grpc::Status st = reader_->Finish();
    std::lock_guard lock(mu_);
    status_ = st;
    finished_ = true;
    cv_.notify_all();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::ContainerEventResponse>> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::ContainerEventResponse> events_;  // guarded by mu_
  bool finished_ = false;                           // guarded by mu_
  grpc::Status status_;                             // guarded by mu_
  std::thread thread_;
};

std::vector<v1::ContainerEventType> Types(const std::vector<v1::ContainerEventResponse>& events) {
  std::vector<v1::ContainerEventType> out;
  for (const auto& e : events) out.push_back(e.container_event_type());
  return out;
}

const v1::ContainerStatus* StatusOf(const v1::ContainerEventResponse& e, const std::string& id) {
  for (const auto& s : e.containers_statuses()) {
    if (s.id() == id) return &s;
  }
  return nullptr;
}

class EventsTest : public ::testing::TestWithParam<std::string> {
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
    WriteFile(env_.Sub("registries.conf"),
              "[[registry]]\nlocation = \"" + registry_->host() + "\"\ninsecure = true\n");
    WriteFile(env_.Sub("policy.json"), R"({"default":[{"type":"insecureAcceptAnything"}]})");
    cgroup_parent_ = "/crio-cpp-test-" + RandomHex(12);
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
  }

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
        env_.Sub("policy.json") + "\"\n" +
        (CrunNeedsHybridWorkaround()
             ? "[crio.runtime.runtimes.crun]\nruntime_path = \"" + env_.Sub("crun-wrapper") + "\"\n"
             : "");
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

  v1::PodSandboxConfig PodConfig(const std::string& name,
                                 v1::NamespaceMode pid = v1::NamespaceMode::CONTAINER) {
    v1::PodSandboxConfig config;
    auto* md = config.mutable_metadata();
    md->set_name(name);
    md->set_namespace_("events-test");
    md->set_uid("uid-" + RandomHex(16));
    config.set_hostname(name);
    std::string log_dir = env_.Sub("logs/" + md->uid());
    fs::create_directories(log_dir);
    config.set_log_directory(log_dir);
    config.mutable_linux()->set_cgroup_parent(cgroup_parent_);
    auto* ns = config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(v1::NamespaceMode::POD);
    ns->set_pid(pid);
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

  v1::ContainerConfig CtrConfig(const std::string& name, const std::string& script) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(Ref());
    for (const char* arg : {"sh", "-c"}) config.add_command(arg);
    config.add_command(script);
    config.set_log_path(name + ".log");
    return config;
  }

  std::string CreateCtr(const std::string& pod_id, const v1::PodSandboxConfig& pod,
                        const v1::ContainerConfig& config) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    *req.mutable_config() = config;
    *req.mutable_sandbox_config() = pod;
    v1::CreateContainerResponse resp;
    auto ctx = daemon_->Context(seconds(120));
    grpc::Status st = rt().CreateContainer(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << "CreateContainer: " << st.error_message();
    return resp.container_id();
  }

  grpc::Status StartCtr(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    auto ctx = daemon_->Context(seconds(60));
    return rt().StartContainer(ctx.get(), req, &resp);
  }

  // Whether the container's PID 1 (the shell of kSleepUntilTerm) catches SIGTERM yet: its trap
  // is set only once the shell runs, after StartContainer returned, and PID 1 of a PID
  // namespace ignores a signal it does not catch.
  bool WaitUntilTrapsTerm(const std::string& id) {
    return Eventually(
        [&] {
          v1::ExecSyncRequest req;
          req.set_container_id(id);
          // Shell builtins only: the image has no grep.
          for (const char* arg : {"sh", "-c",
                                  "while read -r k v; do [ \"$k\" = SigCgt: ] && echo \"$k $v\"; "
                                  "done < /proc/1/status"}) {
            req.add_cmd(arg);
          }
          req.set_timeout(10);
          v1::ExecSyncResponse resp;
          auto ctx = daemon_->Context(seconds(30));
          if (!rt().ExecSync(ctx.get(), req, &resp).ok()) return false;
          const std::string& line = resp.stdout();
          size_t colon = line.find(':');
          if (colon == std::string::npos) return false;
          uint64_t caught = std::strtoull(line.c_str() + colon + 1, nullptr, 16);
          return (caught & (uint64_t{1} << (SIGTERM - 1))) != 0;
        },
        seconds(10));
  }

  grpc::Status StopCtr(const std::string& id) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(10);
    v1::StopContainerResponse resp;
    auto ctx = daemon_->Context(seconds(60));
    return rt().StopContainer(ctx.get(), req, &resp);
  }

  grpc::Status RemoveCtr(const std::string& id) {
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    v1::RemoveContainerResponse resp;
    auto ctx = daemon_->Context(seconds(60));
    return rt().RemoveContainer(ctx.get(), req, &resp);
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

  // Runs a pod and waits until `stream` has seen it start.
  std::string RunPodSeen(EventStream& stream, const v1::PodSandboxConfig& config) {
    std::string id = RunPod(config);
    if (id.empty()) return id;
    EXPECT_TRUE(stream.WaitFor(id, v1::CONTAINER_STARTED_EVENT)) << Join(stream.Summary());
    return id;
  }

  TempDir env_;
  RegistryFixture* registry_ = nullptr;
  std::string cgroup_parent_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::string> pods_;
};

std::string ParamName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }
INSTANTIATE_TEST_SUITE_P(Handlers, EventsTest, ::testing::Values("crun", "runc"), ParamName);

TEST_P(EventsTest, ContainerLifecycle_CreatedStartedStoppedDeletedInOrderWithStatuses) {
  EventStream stream(rt());
  v1::PodSandboxConfig pod = PodConfig("life");
  std::string pod_id = RunPodSeen(stream, pod);
  ASSERT_FALSE(pod_id.empty());
  std::string id = CreateCtr(pod_id, pod, CtrConfig("app", kSleepUntilTerm));
  ASSERT_FALSE(id.empty());
  grpc::Status st = StartCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(WaitUntilTrapsTerm(id));
  st = StopCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = RemoveCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();

  ASSERT_TRUE(stream.WaitFor(id, v1::CONTAINER_DELETED_EVENT)) << stream.Ended() << "\n"
                                                               << Join(stream.Summary());
  auto events = stream.EventsOf(id);
  ASSERT_EQ(Types(events), (std::vector<v1::ContainerEventType>{
                               v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                               v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT}))
      << Join(stream.Summary());
  const v1::ContainerState expected_state[] = {v1::CONTAINER_CREATED, v1::CONTAINER_RUNNING,
                                               v1::CONTAINER_EXITED, v1::CONTAINER_EXITED};
  int64_t last = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    SCOPED_TRACE(v1::ContainerEventType_Name(e.container_event_type()));
    EXPECT_GE(e.created_at(), last);
    last = e.created_at();
    EXPECT_EQ(e.pod_sandbox_status().id(), pod_id);
    EXPECT_EQ(e.pod_sandbox_status().state(), v1::SANDBOX_READY);
    EXPECT_EQ(e.pod_sandbox_status().metadata().name(), "life");
    const v1::ContainerStatus* status = StatusOf(e, id);
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->state(), expected_state[i]);
    EXPECT_EQ(status->metadata().name(), "app");
  }
  // StopContainer's SIGTERM: the trap exits 0.
  EXPECT_EQ(StatusOf(events[2], id)->exit_code(), 0);
  EXPECT_GT(StatusOf(events[2], id)->finished_at(), 0);
}

TEST_P(EventsTest, ExitWhileIdle_ArrivesAsStoppedWithTheExitCode) {
  EventStream stream(rt());
  v1::PodSandboxConfig pod = PodConfig("idle");
  std::string pod_id = RunPodSeen(stream, pod);
  ASSERT_FALSE(pod_id.empty());
  std::string id = CreateCtr(pod_id, pod, CtrConfig("quits", "sleep 1; exit 3"));
  ASSERT_FALSE(id.empty());
  grpc::Status st = StartCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto started = std::chrono::steady_clock::now();

  // No RPC from here on: only the daemon's exit watcher can notice.
  auto stopped = stream.WaitFor(id, v1::CONTAINER_STOPPED_EVENT);
  ASSERT_TRUE(stopped) << stream.Ended() << "\n" << Join(stream.Summary());
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(4));
  const v1::ContainerStatus* status = StatusOf(*stopped, id);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status->exit_code(), 3);
  EXPECT_EQ(status->reason(), "Error");
  EXPECT_EQ(stopped->pod_sandbox_status().id(), pod_id);
  EXPECT_EQ(
      Types(stream.EventsOf(id)),
      (std::vector<v1::ContainerEventType>{v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                                           v1::CONTAINER_STOPPED_EVENT}));

  // The exit was recorded, not only announced: a later stop sends no second STOPPED.
  st = StopCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  st = RemoveCtr(id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(stream.WaitFor(id, v1::CONTAINER_DELETED_EVENT)) << Join(stream.Summary());
  EXPECT_EQ(Types(stream.EventsOf(id)).size(), 4u) << Join(stream.Summary());
}

TEST_P(EventsTest, TwoSubscribers_BothGetEveryEventInTheSameOrder) {
  EventStream first(rt());
  EventStream second(rt());
  v1::PodSandboxConfig pod = PodConfig("two");
  std::string pod_id = RunPodSeen(first, pod);
  ASSERT_FALSE(pod_id.empty());
  std::string a = CreateCtr(pod_id, pod, CtrConfig("a", kSleepUntilTerm));
  std::string b = CreateCtr(pod_id, pod, CtrConfig("b", "exit 0"));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(StartCtr(a).ok());
  ASSERT_TRUE(StartCtr(b).ok());
  ASSERT_TRUE(first.WaitFor(b, v1::CONTAINER_STOPPED_EVENT)) << Join(first.Summary());
  ASSERT_TRUE(RemovePod(pod_id).ok());
  for (EventStream* s : {&first, &second}) {
    ASSERT_TRUE(s->WaitFor(pod_id, v1::CONTAINER_DELETED_EVENT)) << Join(s->Summary());
  }
  EXPECT_EQ(first.Summary(), second.Summary());
  EXPECT_EQ(Types(first.EventsOf(a)),
            (std::vector<v1::ContainerEventType>{
                v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT}))
      << Join(first.Summary());
  EXPECT_EQ(Types(first.EventsOf(b)),
            (std::vector<v1::ContainerEventType>{
                v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT}))
      << Join(first.Summary());
}

// Pods without and with an infra container (a shared PID namespace needs one): CREATED and
// STARTED from RunPodSandbox, one STOPPED however often the pod is stopped (and even though the
// infra container's exit file appears), DELETED from RemovePodSandbox.
TEST_P(EventsTest, PodSandboxEvents_CreatedStartedStoppedOnceDeleted) {
  EventStream stream(rt());
  for (v1::NamespaceMode pid : {v1::NamespaceMode::CONTAINER, v1::NamespaceMode::POD}) {
    SCOPED_TRACE(pid == v1::NamespaceMode::POD ? "with infra" : "without infra");
    v1::PodSandboxConfig pod = PodConfig(pid == v1::NamespaceMode::POD ? "infra" : "plain", pid);
    std::string pod_id = RunPodSeen(stream, pod);
    ASSERT_FALSE(pod_id.empty());
    std::string ctr = CreateCtr(pod_id, pod, CtrConfig("app", kSleepUntilTerm));
    ASSERT_FALSE(ctr.empty());
    ASSERT_TRUE(StartCtr(ctr).ok());
    ASSERT_TRUE(StopPod(pod_id).ok());
    ASSERT_TRUE(StopPod(pod_id).ok());
    auto stopped = stream.WaitFor(pod_id, v1::CONTAINER_STOPPED_EVENT);
    ASSERT_TRUE(stopped) << Join(stream.Summary());
    EXPECT_EQ(stopped->pod_sandbox_status().state(), v1::SANDBOX_NOTREADY);
    const v1::ContainerStatus* status = StatusOf(*stopped, ctr);
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->state(), v1::CONTAINER_EXITED);
    ASSERT_TRUE(RemovePod(pod_id).ok());
    ASSERT_TRUE(stream.WaitFor(pod_id, v1::CONTAINER_DELETED_EVENT)) << Join(stream.Summary());

    auto events = stream.EventsOf(pod_id);
    EXPECT_EQ(Types(events), (std::vector<v1::ContainerEventType>{
                                 v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                                 v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT}))
        << Join(stream.Summary());
    EXPECT_EQ(events.front().pod_sandbox_status().state(), v1::SANDBOX_READY);
    EXPECT_EQ(events.back().pod_sandbox_status().id(), pod_id);
    // The container's own events come between the pod's STARTED and DELETED.
    EXPECT_EQ(Types(stream.EventsOf(ctr)),
              (std::vector<v1::ContainerEventType>{
                  v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                  v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT}))
        << Join(stream.Summary());
  }
}

// A daemon shutting down ends open event streams (the client must relist elsewhere) instead of
// waiting for them.
TEST_P(EventsTest, Shutdown_EndsOpenStreams) {
  auto stream = std::make_unique<EventStream>(rt());
  ASSERT_TRUE(daemon_->Signal(SIGTERM).ok());
  auto code = daemon_->WaitExit(milliseconds(15000));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << daemon_->Log();
  EXPECT_FALSE(
      stream->WaitFor([](const v1::ContainerEventResponse&) { return false; }, seconds(10)));
  EXPECT_NE(stream->Ended(), "open");
}

}  // namespace
}  // namespace crio::testing
