// ConmonRuntime with the real conmon and both OCI runtimes (crun, runc) on busybox bundles.
// Needs root; skips itself when a binary is missing. Every test removes what it made, also on
// failure: runtime state (per-test --root), conmon and container processes, cgroups, temp dirs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "oci/conmon_runtime.h"
#include "oci/log_format.h"
#include "os/process.h"

namespace crio::oci {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kConmon[] = "/usr/bin/conmon";
constexpr char kBusybox[] = "/bin/busybox";

std::string RuntimeBinary(const std::string& name) {
  return name == "crun" ? "/usr/bin/crun" : "/usr/sbin/runc";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644) {
  std::ofstream(path) << data;
  chmod(path.c_str(), mode);
}

std::string RandomHex() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str().substr(0, 10);
}

// Fields of /proc/<pid>/stat after the command: state [0], ppid [1], pgrp [2], session [3].
std::vector<std::string> StatFields(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::vector<std::string> fields;
  auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return fields;
  }
  std::istringstream rest(stat.substr(close + 2));
  std::string f;
  while (rest >> f) {
    fields.push_back(f);
  }
  return fields;
}

bool Alive(pid_t pid) {
  auto f = StatFields(pid);
  return !f.empty() && f[0] != "Z" && f[0] != "X";
}

template <typename Pred>
bool PollUntil(Pred pred, milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

// crun 1.8 refuses to run when cgroup v1 and v2 are mixed and the v2 tree has controllers
// ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"). On such hosts the
// test runs crun behind a wrapper that hides /sys/fs/cgroup/unified in a private mount
// namespace, so crun sees plain cgroup v1. runc handles hybrid mode itself.
bool CrunNeedsHybridWorkaround() {
  struct statfs root, unified;
  if (statfs("/sys/fs/cgroup", &root) != 0 || root.f_type != TMPFS_MAGIC) {
    return false;
  }
  if (statfs("/sys/fs/cgroup/unified", &unified) != 0 || unified.f_type != CGROUP2_SUPER_MAGIC) {
    return false;
  }
  std::string controllers = ReadFile("/sys/fs/cgroup/unified/cgroup.controllers");
  return controllers.find_first_not_of(" \n") != std::string::npos;
}

// Every cgroup dir a runtime may have made for `cgroups_path`, v1 controllers and v2 alike.
std::vector<std::string> CgroupDirs(const std::string& cgroups_path) {
  std::vector<std::string> dirs;
  std::error_code ec;
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers", ec)) {  // pure v2
    dirs.push_back("/sys/fs/cgroup" + cgroups_path);
  }
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
      dirs.push_back(entry.path().string() + cgroups_path);
    }
  }
  return dirs;
}

std::vector<std::string> ExistingCgroupDirs(const std::string& cgroups_path) {
  std::vector<std::string> out;
  for (const std::string& d : CgroupDirs(cgroups_path)) {
    if (fs::is_directory(d)) {
      out.push_back(d);
    }
  }
  return out;
}

// Processes whose pid namespace is `ns` and whose argv is exactly `argv`.
std::vector<pid_t> FindInPidNs(const std::string& ns, const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) {
    want += a;
    want.push_back('\0');
  }
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::error_code ec2;
    if (fs::read_symlink(entry.path() / "ns" / "pid", ec2).string() == ns &&
        ReadFile(entry.path().string() + "/cmdline") == want && Alive(std::stoi(name))) {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

// Live processes whose NUL-separated cmdline contains `needle`.
std::vector<pid_t> FindByCmdline(const std::string& needle) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    pid_t pid = std::stoi(name);
    if (pid != getpid() &&
        ReadFile(entry.path().string() + "/cmdline").find(needle) != std::string::npos &&
        Alive(pid)) {
      found.push_back(pid);
    }
  }
  return found;
}

class OciRuntimeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root";
    }
    for (const std::string& bin :
         {std::string(kConmon), RuntimeBinary(GetParam()), std::string(kBusybox)}) {
      if (access(bin.c_str(), X_OK) != 0) {
        GTEST_SKIP() << bin << " not installed";
      }
    }
    std::string tmpl = "/tmp/crio-oci-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    cgroup_prefix_ = "/crio-cpp-test-" + RandomHex();
    runtime_path_ = RuntimeBinary(GetParam());
    if (GetParam() == "crun" && CrunNeedsHybridWorkaround()) {
      runtime_path_ = dir_ + "/crun-wrapper";
      WriteFile(runtime_path_,
                "#!/bin/sh\n"
                "exec unshare --mount --propagation private /bin/sh -c "
                "'mount -t tmpfs -o size=4k crio-test-hide-cgroup2 /sys/fs/cgroup/unified && "
                "exec /usr/bin/crun \"$@\"' crun \"$@\"\n",
                0755);
    }
    options_.handler_name = GetParam();
    options_.runtime_path = runtime_path_;
    options_.runtime_root = dir_ + "/root";
    options_.monitor_path = kConmon;
    options_.monitor_env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    options_.exits_dir = dir_ + "/exits";
    options_.attach_socket_dir = dir_ + "/attach";
    options_.create_timeout = seconds(60);
    options_.command_timeout = seconds(60);
    auto runtime = ConmonRuntime::Create(options_);
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
  }

  // The guard: whatever a test left behind goes, in dependency order.
  void TearDown() override {
    if (dir_.empty()) {
      return;
    }
    for (const std::string& id : ids_) {
      KillContainerProcesses(id);
      os::SpawnRequest del;
      del.argv = {runtime_path_, "--root=" + options_.runtime_root, "delete", "--force", id};
      os::RunOptions run;
      run.timeout = seconds(30);
      (void)os::RunCommand(del, run);
      StopConmon(id);
      RemoveCgroups(id);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Bundle(const std::string& id) { return dir_ + "/" + id + "/bundle"; }
  std::string CgroupsPath(const std::string& id) { return cgroup_prefix_ + "-" + id; }

  // Makes a busybox bundle running `args` and returns the request to create it.
  CreateRequest MakeBundle(const std::string& id, const std::vector<std::string>& args) {
    ids_.push_back(id);
    const std::string bundle = Bundle(id);
    const std::string rootfs = bundle + "/rootfs";
    fs::create_directories(rootfs + "/bin");
    for (const char* d : {"proc", "dev", "sys", "tmp", "etc"}) {
      fs::create_directories(rootfs + "/" + d);
    }
    // A copy, not a link: the container must not be able to write the host's binary.
    fs::copy_file(kBusybox, rootfs + "/bin/busybox");
    for (const char* applet : {"sh", "sleep", "echo", "cat", "id", "true", "ps", "kill"}) {
      fs::create_symlink("busybox", rootfs + "/bin/" + applet);
    }
    const json caps = {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
                       "CAP_SETGID", "CAP_SETUID",       "CAP_NET_BIND_SERVICE", "CAP_KILL"};
    json config = {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", args},
          {"env", {"PATH=/bin", "HOME=/", "GREETING=hello"}},
          {"cwd", "/"},
          {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", false}}},
        {"hostname", "ocitest"},
        {"mounts",
         json::array(
             {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
              {{"destination", "/dev"},
               {"type", "tmpfs"},
               {"source", "tmpfs"},
               {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
              {{"destination", "/dev/pts"},
               {"type", "devpts"},
               {"source", "devpts"},
               {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
              {{"destination", "/sys"},
               {"type", "sysfs"},
               {"source", "sysfs"},
               {"options", {"nosuid", "noexec", "nodev", "ro"}}}})},
        {"linux",
         {{"namespaces", json::array({{{"type", "pid"}},
                                      {{"type", "mount"}},
                                      {{"type", "ipc"}},
                                      {{"type", "uts"}},
                                      {{"type", "network"}}})},
          {"cgroupsPath", CgroupsPath(id)},
          {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}}}}};
    WriteFile(bundle + "/config.json", config.dump(2));
    CreateRequest r;
    r.id = id;
    r.name = "test_" + id;
    r.bundle = bundle;
    r.persist_dir = dir_ + "/" + id + "/persist";
    r.log_path = dir_ + "/" + id + "/ctr.log";
    fs::create_directories(r.persist_dir);
    return r;
  }

  // Creates and starts; the container must be running afterwards.
  int CreateAndStart(const CreateRequest& r) {
    auto pid = runtime_->CreateContainer(r);
    EXPECT_TRUE(pid.ok()) << pid.status();
    if (!pid.ok()) {
      return 0;
    }
    Status started = runtime_->StartContainer(r.id);
    EXPECT_TRUE(started.ok()) << started;
    return *pid;
  }

  std::optional<ExitInfo> WaitExit(const std::string& id, milliseconds limit = seconds(20)) {
    std::optional<ExitInfo> exit;
    PollUntil(
        [&] {
          auto e = runtime_->ReadExit(id);
          if (e.ok() && e->has_value()) {
            exit = **e;
            return true;
          }
          return false;
        },
        limit);
    return exit;
  }

  std::vector<LogEntry> LogEntries(const std::string& path) {
    auto entries = ParseLog(ReadFile(path));
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? *entries : std::vector<LogEntry>{};
  }

  bool LogHas(const std::string& path, const std::string& message, LogStream stream) {
    for (const LogEntry& e : LogEntries(path)) {
      if (e.message == message && e.stream == stream && e.complete) {
        return true;
      }
    }
    return false;
  }

  // conmon processes for `id` of this test (their argv holds "-b <bundle>").
  std::vector<pid_t> Conmons(const std::string& id) {
    return FindByCmdline(std::string("-b") + '\0' + Bundle(id) + '\0');
  }

  pid_t ConmonPid(const std::string& id) {
    return std::atoi(ReadFile(Bundle(id) + "/conmon-pidfile").c_str());
  }

  void KillContainerProcesses(const std::string& id) {
    pid_t pid = std::atoi(ReadFile(Bundle(id) + "/pidfile").c_str());
    if (pid > 0 && Alive(pid)) {
      // Only if it still is this container's init: its cgroup names our test path.
      if (ReadFile("/proc/" + std::to_string(pid) + "/cgroup").find(CgroupsPath(id)) !=
          std::string::npos) {
        kill(pid, SIGKILL);
      }
    }
  }

  void StopConmon(const std::string& id) {
    pid_t pid = ConmonPid(id);
    if (pid <= 0) {
      return;
    }
    auto pidfd = os::PidFd::Open(pid);
    if (!pidfd.ok()) {
      return;
    }
    std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmdline.find(std::string("-c") + '\0' + id + '\0') == std::string::npos) {
      return;  // the pid was reused
    }
    (void)pidfd->Signal(SIGKILL);
    pidfd->WaitExited(seconds(5));
  }

  void RemoveCgroups(const std::string& id) {
    for (const std::string& d : CgroupDirs(CgroupsPath(id))) {
      // Children first (runc/crun may nest), then the dir; EBUSY while tasks drain.
      PollUntil(
          [&] {
            std::error_code ec;
            if (!fs::exists(d, ec)) {
              return true;
            }
            std::vector<fs::path> subdirs;
            for (const auto& e : fs::recursive_directory_iterator(d, ec)) {
              if (e.is_directory(ec)) {
                subdirs.push_back(e.path());
              }
            }
            for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) {
              rmdir(it->c_str());
            }
            return rmdir(d.c_str()) == 0 || errno == ENOENT;
          },
          seconds(5));
    }
  }

  std::string dir_;
  std::string cgroup_prefix_;
  std::string runtime_path_;
  ConmonOptions options_;
  std::unique_ptr<ConmonRuntime> runtime_;
  std::vector<std::string> ids_;
};

TEST_P(OciRuntimeTest, Lifecycle_CreateStartExecKillDelete) {
  // Given a container that greets, then loops until SIGTERM.
  CreateRequest r =
      MakeBundle("life", {"sh", "-c",
                          "echo \"$GREETING from container\"; echo to-stderr >&2; "
                          "trap 'echo got-term; exit 143' TERM; while :; do sleep 0.1; done"});

  // Create: state "created" with the pid conmon reported; conmon detached from us.
  auto pid = runtime_->CreateContainer(r);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_GT(*pid, 0);
  auto state = runtime_->State("life");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->status, "created");
  EXPECT_EQ(state->pid, *pid);
  EXPECT_EQ(fs::canonical(state->bundle), fs::canonical(r.bundle));
  auto conmon = runtime_->MonitorPid("life");
  ASSERT_TRUE(conmon.ok()) << conmon.status();
  auto conmon_stat = StatFields(*conmon);
  ASSERT_GE(conmon_stat.size(), 4u);
  EXPECT_NE(conmon_stat[1], std::to_string(getpid())) << "conmon must not be our child";
  EXPECT_NE(conmon_stat[2], std::to_string(getpgrp()));
  EXPECT_NE(conmon_stat[3], std::to_string(getsid(0)));

  // Start: running, and the output lands in the CRI log.
  ASSERT_TRUE(runtime_->StartContainer("life").ok());
  EXPECT_EQ(runtime_->State("life")->status, "running");
  EXPECT_TRUE(PollUntil(
      [&] { return LogHas(r.log_path, "hello from container", LogStream::kStdout); }, seconds(10)))
      << ReadFile(r.log_path);
  EXPECT_TRUE(LogHas(r.log_path, "to-stderr", LogStream::kStderr)) << ReadFile(r.log_path);

  // ExecSync: output, exit codes, env from the container's process.
  auto hi = runtime_->ExecSync("life", {"echo", "hi"}, seconds(10), false);
  ASSERT_TRUE(hi.ok()) << hi.status();
  EXPECT_EQ(hi->stdout_data, "hi\n");
  EXPECT_EQ(hi->stderr_data, "");
  EXPECT_EQ(hi->exit_code, 0);
  auto three = runtime_->ExecSync("life", {"sh", "-c", "echo $GREETING; echo e >&2; exit 3"},
                                  seconds(10), false);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->exit_code, 3);
  EXPECT_EQ(three->stdout_data, "hello\n");
  EXPECT_EQ(three->stderr_data, "e\n");
  auto tty = runtime_->ExecSync("life", {"sh", "-c", "test -t 1 && echo tty"}, seconds(10), true);
  ASSERT_TRUE(tty.ok()) << tty.status();
  EXPECT_EQ(tty->exit_code, 0);
  EXPECT_EQ(tty->stdout_data, "tty\r\n");  // a terminal: ONLCR, one combined stream

  // ExecSync timeout: DeadlineExceeded promptly, and the command is gone.
  auto start = Clock::now();
  auto slow = runtime_->ExecSync("life", {"sleep", "10"}, seconds(1), false);
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();
  EXPECT_EQ(slow.status().message(), "command `sleep 10` timed out after 1s");
  EXPECT_LT(Clock::now() - start, seconds(5));
  std::error_code ec;
  const std::string pid_ns = fs::read_symlink("/proc/" + std::to_string(*pid) + "/ns/pid", ec);
  ASSERT_FALSE(pid_ns.empty());
  EXPECT_TRUE(PollUntil([&] { return FindInPidNs(pid_ns, {"sleep", "10"}).empty(); }, seconds(5)));

  // A command that does not exist: an error naming it, not an exit code.
  auto missing = runtime_->ExecSync("life", {"/nonexistent"}, seconds(10), false);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInternal) << missing.status();
  EXPECT_NE(missing.status().message().find("/nonexistent"), absl::string_view::npos)
      << missing.status();

  // Resources: the pids limit reaches the container's cgroup.
  ASSERT_TRUE(runtime_->UpdateContainerResources("life", R"({"pids": {"limit": 321}})").ok());
  bool limited = false;
  for (const std::string& d : ExistingCgroupDirs(CgroupsPath("life"))) {
    if (fs::exists(d + "/pids.max")) {
      EXPECT_EQ(ReadFile(d + "/pids.max"), "321\n") << d;
      limited = true;
    }
  }
  EXPECT_TRUE(limited) << "no pids.max under " << CgroupsPath("life");

  // Log rotation: after the rename, conmon writes to a fresh file at the path.
  ASSERT_EQ(rename(r.log_path.c_str(), (r.log_path + ".1").c_str()), 0);
  ASSERT_TRUE(runtime_->ReopenLog("life").ok());
  EXPECT_TRUE(fs::exists(r.log_path));
  auto echo = runtime_->ExecSync("life", {"sh", "-c", "echo after-reopen > /proc/1/fd/1"},
                                 seconds(10), false);
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_TRUE(PollUntil([&] { return LogHas(r.log_path, "after-reopen", LogStream::kStdout); },
                        seconds(10)))
      << ReadFile(r.log_path);

  // Not OOM-killed, not exited yet.
  EXPECT_FALSE(*runtime_->WasOomKilled("life"));
  EXPECT_FALSE(runtime_->ReadExit("life")->has_value());
  // Deleting a running container needs force.
  EXPECT_FALSE(runtime_->DeleteContainer("life", false).ok());

  // SIGTERM: the trap runs, conmon records the status in both exit files.
  ASSERT_TRUE(runtime_->KillContainer("life", SIGTERM, false).ok());
  auto exit = WaitExit("life");
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 143);
  EXPECT_LT(std::chrono::abs(exit->finished - std::chrono::system_clock::now()), seconds(30));
  // conmon writes the two exit files one after the other: poll, do not race it.
  EXPECT_TRUE(
      PollUntil([&] { return ReadFile(options_.exits_dir + "/life") == "143"; }, seconds(10)))
      << ReadFile(options_.exits_dir + "/life");
  EXPECT_TRUE(PollUntil([&] { return ReadFile(r.persist_dir + "/exit") == "143"; }, seconds(10)))
      << ReadFile(r.persist_dir + "/exit");
  EXPECT_TRUE(
      PollUntil([&] { return LogHas(r.log_path, "got-term", LogStream::kStdout); }, seconds(10)));
  EXPECT_TRUE(PollUntil([&] { return !Alive(*conmon); }, seconds(10))) << "conmon lingers";
  EXPECT_EQ(runtime_->State("life")->status, "stopped");
  EXPECT_EQ(runtime_->KillContainer("life", SIGTERM, false).code(),
            absl::StatusCode::kFailedPrecondition);

  // Delete: gone from the runtime, its cgroup and exit file removed; deleting again is fine.
  ASSERT_TRUE(runtime_->DeleteContainer("life", false).ok());
  EXPECT_EQ(runtime_->State("life").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(options_.exits_dir + "/life"));
  EXPECT_TRUE(ExistingCgroupDirs(CgroupsPath("life")).empty());
  EXPECT_TRUE(Conmons("life").empty());
  EXPECT_TRUE(runtime_->DeleteContainer("life", true).ok());
}

TEST_P(OciRuntimeTest, ProcessExitsOnItsOwn_ExitCodeRecorded) {
  CreateRequest r = MakeBundle("seven", {"sh", "-c", "echo bye; exit 7"});
  ASSERT_GT(CreateAndStart(r), 0);
  auto exit = WaitExit("seven");
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 7);
  EXPECT_EQ(runtime_->State("seven")->status, "stopped");
  EXPECT_TRUE(
      PollUntil([&] { return LogHas(r.log_path, "bye", LogStream::kStdout); }, seconds(10)));
  ASSERT_TRUE(runtime_->DeleteContainer("seven", false).ok());
}

TEST_P(OciRuntimeTest, SignalWithoutHandler_Pid1IgnoresTermAndKillGives137) {
  CreateRequest r = MakeBundle("sig", {"sleep", "1000"});
  ASSERT_GT(CreateAndStart(r), 0);
  // PID 1 of a pid namespace does not die from signals it has no handler for.
  ASSERT_TRUE(runtime_->KillContainer("sig", SIGTERM, false).ok());
  EXPECT_FALSE(WaitExit("sig", milliseconds(500)).has_value());
  EXPECT_EQ(runtime_->State("sig")->status, "running");
  ASSERT_TRUE(runtime_->KillContainer("sig", SIGKILL, true).ok());
  auto exit = WaitExit("sig");
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 128 + SIGKILL);  // conmon's mapping of a signal death
  ASSERT_TRUE(runtime_->DeleteContainer("sig", false).ok());
}

TEST_P(OciRuntimeTest, MissingExecutable_FailsWithMessageNamingIt) {
  CreateRequest r = MakeBundle("bad", {"/nonexistent"});
  auto pid = runtime_->CreateContainer(r);
  Status failure = pid.status();
  if (pid.ok()) {
    failure = runtime_->StartContainer("bad");  // a runtime may only notice at start
  }
  ASSERT_FALSE(failure.ok());
  EXPECT_NE(failure.message().find("/nonexistent"), absl::string_view::npos) << failure;
  if (!pid.ok()) {
    // Nothing left: no runtime state, no conmon.
    EXPECT_EQ(runtime_->State("bad").status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(PollUntil([&] { return Conmons("bad").empty(); }, seconds(5)));
  }
  EXPECT_TRUE(runtime_->DeleteContainer("bad", true).ok());
  EXPECT_TRUE(PollUntil([&] { return Conmons("bad").empty(); }, seconds(5)));
}

TEST_P(OciRuntimeTest, DaemonSideDestroyed_ConmonAndContainerKeepRunning) {
  CreateRequest r = MakeBundle("survive", {"sleep", "1000"});
  int pid = CreateAndStart(r);
  ASSERT_GT(pid, 0);
  pid_t conmon = ConmonPid("survive");
  ASSERT_GT(conmon, 0);

  runtime_.reset();  // what a daemon restart does to our side

  EXPECT_TRUE(Alive(conmon));
  EXPECT_TRUE(Alive(pid));
  // A new ConmonRuntime picks the container up again from the runtime and the tracked dirs.
  auto again = ConmonRuntime::Create(options_);
  ASSERT_TRUE(again.ok());
  runtime_ = *std::move(again);
  ASSERT_TRUE(runtime_->Track("survive", {r.bundle, r.persist_dir, r.log_path}).ok());
  EXPECT_EQ(runtime_->State("survive")->status, "running");
  EXPECT_EQ(*runtime_->MonitorPid("survive"), conmon);
  auto exec = runtime_->ExecSync("survive", {"echo", "still-here"}, seconds(10), false);
  ASSERT_TRUE(exec.ok()) << exec.status();
  EXPECT_EQ(exec->stdout_data, "still-here\n");

  // Clean up by pid: the container's death ends conmon, which records it.
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  auto exit = WaitExit("survive");
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 137);
  EXPECT_TRUE(PollUntil([&] { return !Alive(conmon); }, seconds(10)));
  ASSERT_TRUE(runtime_->DeleteContainer("survive", false).ok());
}

TEST_P(OciRuntimeTest, DeleteCreatedContainer_ForceRemovesIt) {
  CreateRequest r = MakeBundle("created", {"sleep", "1000"});
  auto pid = runtime_->CreateContainer(r);
  ASSERT_TRUE(pid.ok()) << pid.status();
  pid_t conmon = ConmonPid("created");
  ASSERT_TRUE(runtime_->DeleteContainer("created", true).ok());
  EXPECT_EQ(runtime_->State("created").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(PollUntil([&] { return !Alive(conmon); }, seconds(10)));
  EXPECT_FALSE(Alive(*pid));
  EXPECT_TRUE(ExistingCgroupDirs(CgroupsPath("created")).empty());
}

TEST_P(OciRuntimeTest, RuntimeHangsInCreate_DeadlineExceededAndNothingLeft) {
  // Given a runtime whose `create` never returns.
  const std::string marker = "29." + std::to_string(getpid()) + "7";
  const std::string hanging = dir_ + "/hanging-runtime";
  WriteFile(hanging,
            "#!/bin/sh\n"
            "for a in \"$@\"; do [ \"$a\" = create ] && exec sleep " +
                marker +
                "; done\n"
                "exec " +
                runtime_path_ + " \"$@\"\n",
            0755);
  ConmonOptions o = options_;
  o.runtime_path = hanging;
  auto runtime = ConmonRuntime::Create(o);
  ASSERT_TRUE(runtime.ok());
  CreateRequest r = MakeBundle("hang", {"sleep", "1000"});
  r.timeout = seconds(2);

  auto start = Clock::now();
  auto pid = (*runtime)->CreateContainer(r);

  EXPECT_EQ(pid.status().code(), absl::StatusCode::kDeadlineExceeded) << pid.status();
  EXPECT_NE(pid.status().message().find("create container hang: timed out after 2s"),
            absl::string_view::npos)
      << pid.status();
  EXPECT_LT(Clock::now() - start, seconds(10));
  // The daemonized conmon was killed, and with it (PDEATHSIG) the hanging runtime.
  EXPECT_TRUE(PollUntil([&] { return Conmons("hang").empty(); }, seconds(5)));
  EXPECT_TRUE(PollUntil([&] { return FindByCmdline(std::string("sleep") + '\0' + marker).empty(); },
                        seconds(5)));
  EXPECT_EQ(runtime_->State("hang").status().code(), absl::StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, OciRuntimeTest, ::testing::Values("crun", "runc"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

}  // namespace
}  // namespace crio::oci
