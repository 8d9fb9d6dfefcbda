// ConmonRuntime against fake `conmon` and runtime scripts: the protocol, error mapping and file
// handling without root. The real binaries are exercised in tests/integration/oci_runtime_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "oci/conmon_runtime.h"
#include "support/temp_dir.h"

namespace crio::oci {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

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

// A fake OCI runtime. It logs its argv and acts on a few magic container ids.
constexpr char kFakeRuntime[] = R"SH(#!/bin/sh
echo "$*" >> "$(dirname "$0")/runtime.log"
case "$1" in --root=*) shift;; esac
cmd=$1; shift
case "$cmd" in
state)
  case "$1" in
    known) printf '{"ociVersion":"1.0.0","id":"known","pid":123,"status":"running","bundle":"%s"}' "$(dirname "$0")/known-bundle";;
    garbled) echo 'not json';;
    *) echo 'time="2024-01-01T00:00:00Z" level=error msg="container does not exist"' >&2; exit 1;;
  esac;;
kill)
  case "$1" in
    --all) shift;;
  esac
  case "$1" in
    stopped) echo 'kill container: No such process' >&2; exit 1;;
    known) exit 0;;
    *) echo "error opening file \`/run/x/$1/status\`: No such file or directory" >&2; exit 1;;
  esac;;
delete)
  case "$1" in
    --force) shift;;
  esac
  case "$1" in
    running) echo 'cannot delete running container' >&2; exit 1;;
    *) exit 0;;
  esac;;
start) exit 0;;
update)
  cat > "$(dirname "$0")/update.json"; exit 0;;
exec)
  # exec --process P --pid-file F ID
  process=$2; pidfile=$4; id=$5
  case "$id" in
    broken) echo 'exec failed: container is stopped' >&2; exit 1;;
    slow) echo $$ > "$pidfile"; exec sleep 30;;
    *) echo $$ > "$pidfile"; cat "$process"; echo to-stderr >&2; exit 5;;
  esac;;
esac
)SH";

// A fake conmon. Its behaviour is chosen by the container name (-n).
constexpr char kFakeConmon[] = R"SH(#!/bin/sh
echo $$ > fake-conmon.pid
name=
while [ $# -gt 0 ]; do
  case "$1" in -n) name=$2; shift;; esac
  shift
done
case "$name" in
  hang) exec sleep 30;;
esac
head -c 1 <&4 > started
case "$name" in
  ok) echo '{"pid": 4242}' >&3;;
  fail) echo '{"data": -1, "message": "executable file `/nonexistent` not found in $PATH"}' >&3;;
  silent) ;;
  crash) echo 'conmon: bad option' >&2; exit 1;;
  env) echo "$_OCI_SYNCPIPE $_OCI_STARTPIPE $FOO $(pwd)" > env.txt; echo '{"pid": 1}' >&3;;
esac
exit 0
)SH";

class ConmonRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.empty());
    WriteFile(dir_ + "/runtime", kFakeRuntime, 0755);
    WriteFile(dir_ + "/conmon", kFakeConmon, 0755);
    fs::create_directories(dir_ + "/known-bundle");
    ConmonOptions o;
    o.handler_name = "fake";
    o.runtime_path = dir_ + "/runtime";
    o.runtime_root = dir_ + "/root";
    o.monitor_path = dir_ + "/conmon";
    o.monitor_env = {"PATH=/usr/bin:/bin", "FOO=bar"};
    o.exits_dir = dir_ + "/exits";
    o.attach_socket_dir = dir_ + "/attach";
    o.create_timeout = std::chrono::seconds(10);
    o.command_timeout = std::chrono::seconds(10);
    options_ = o;
    auto runtime = ConmonRuntime::Create(o);
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
  }

  CreateRequest Request(const std::string& id, const std::string& name) {
    CreateRequest r;
    r.id = id;
    r.name = name;
    r.bundle = dir_ + "/" + id + "/bundle";
    r.persist_dir = dir_ + "/" + id + "/persist";
    r.log_path = dir_ + "/" + id + "/ctr.log";
    fs::create_directories(r.bundle);
    fs::create_directories(r.persist_dir);
    return r;
  }

  testing::TempDir tmp_;
  std::string dir_ = tmp_.path();
  ConmonOptions options_;
  std::unique_ptr<ConmonRuntime> runtime_;
};

TEST_F(ConmonRuntimeTest, Create_MissingBinaryOrDirs_InvalidArgument) {
  ConmonOptions o = options_;
  o.monitor_path = dir_ + "/missing-conmon";
  auto r = ConmonRuntime::Create(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("missing-conmon"), absl::string_view::npos);
  o = options_;
  o.exits_dir.clear();
  EXPECT_EQ(ConmonRuntime::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(options_.exits_dir));  // made by Create
}

TEST_F(ConmonRuntimeTest, CreateContainer_ConmonReportsPid_ReturnsItAndTracksDirs) {
  CreateRequest r = Request("c1", "ok");
  auto pid = runtime_->CreateContainer(r);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(*pid, 4242);
  EXPECT_EQ(ReadFile(r.bundle + "/started").size(), 1u);  // the start byte
  // Tracked: OOM lookups use the request's dirs without asking the runtime.
  WriteFile(r.persist_dir + "/oom", "");
  EXPECT_TRUE(*runtime_->WasOomKilled("c1"));
}

TEST_F(ConmonRuntimeTest, CreateContainer_EnvFdsAndCwd_PerContract) {
  CreateRequest r = Request("c2", "env");
  ASSERT_TRUE(runtime_->CreateContainer(r).ok());
  EXPECT_EQ(ReadFile(r.bundle + "/env.txt"), "3 4 bar " + r.bundle + "\n");
}

TEST_F(ConmonRuntimeTest, CreateContainer_RuntimeError_InternalWithMessageAndCleanup) {
  CreateRequest r = Request("c3", "fail");
  auto pid = runtime_->CreateContainer(r);
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(pid.status().message().find("create container c3"), absl::string_view::npos);
  EXPECT_NE(pid.status().message().find("`/nonexistent` not found"), absl::string_view::npos);
  // The runtime was asked to forget whatever it may have created.
  EXPECT_NE(ReadFile(dir_ + "/runtime.log").find("delete --force c3"), std::string::npos);
  EXPECT_FALSE(runtime_->MonitorPid("c3").ok());  // not tracked
}

TEST_F(ConmonRuntimeTest, CreateContainer_ConmonSilent_Internal) {
  auto pid = runtime_->CreateContainer(Request("c4", "silent"));
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(pid.status().message().find("without reporting"), absl::string_view::npos);
}

TEST_F(ConmonRuntimeTest, CreateContainer_ConmonFails_ErrorCarriesItsStderr) {
  auto pid = runtime_->CreateContainer(Request("c5", "crash"));
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().message().find("exit status 1"), absl::string_view::npos);
  EXPECT_NE(pid.status().message().find("conmon: bad option"), absl::string_view::npos);
}

TEST_F(ConmonRuntimeTest, CreateContainer_ConmonHangs_DeadlineExceededAndKilled) {
  CreateRequest r = Request("c6", "hang");
  r.timeout = milliseconds(300);
  auto start = Clock::now();
  auto pid = runtime_->CreateContainer(r);
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  pid_t conmon = std::atoi(ReadFile(r.bundle + "/fake-conmon.pid").c_str());
  ASSERT_GT(conmon, 0);
  // Killed and reaped: not our child any more, no zombie.
  EXPECT_EQ(waitpid(conmon, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(ConmonRuntimeTest, CreateContainer_PlacementHookFails_ConmonNeverStarted) {
  pid_t seen = 0;
  auto runtime = ConmonRuntime::Create(options_);
  ASSERT_TRUE(runtime.ok());
  CreateRequest r = Request("c7", "ok");
  r.place_monitor = [&](pid_t pid) {
    seen = pid;
    return PermissionDenied("cgroup not writable");
  };
  auto pid = (*runtime)->CreateContainer(r);
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(pid.status().message().find("cgroup not writable"), absl::string_view::npos);
  EXPECT_GT(seen, 0);
  // The fake's shell may have created "started" by redirection before it was killed; what must
  // never happen is the start byte reaching it.
  EXPECT_EQ(ReadFile(r.bundle + "/started"), "");
  EXPECT_EQ(waitpid(seen, nullptr, WNOHANG), -1);
}

TEST_F(ConmonRuntimeTest, CreateContainer_BadRequest_InvalidArgument) {
  CreateRequest r = Request("c8", "ok");
  r.id = "../escape";
  EXPECT_EQ(runtime_->CreateContainer(r).status().code(), absl::StatusCode::kInvalidArgument);
  r = Request("c8", "ok");
  r.log_path.clear();
  EXPECT_EQ(runtime_->CreateContainer(r).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConmonRuntimeTest, State_Known_ParsedAndRootPassed) {
  auto state = runtime_->State("known");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->status, "running");
  EXPECT_EQ(state->pid, 123);
  EXPECT_NE(ReadFile(dir_ + "/runtime.log").find("--root=" + dir_ + "/root state known"),
            std::string::npos);
}

TEST_F(ConmonRuntimeTest, State_Unknown_NotFoundWithCleanMessage) {
  auto state = runtime_->State("ghost");
  EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(state.status().message(), "container ghost not found: container does not exist");
}

TEST_F(ConmonRuntimeTest, State_Garbled_Internal) {
  EXPECT_EQ(runtime_->State("garbled").status().code(), absl::StatusCode::kInternal);
}

TEST_F(ConmonRuntimeTest, Kill_MapsRuntimeErrors) {
  EXPECT_TRUE(runtime_->KillContainer("known", SIGTERM, false).ok());
  EXPECT_TRUE(runtime_->KillContainer("known", SIGKILL, true).ok());
  std::string log = ReadFile(dir_ + "/runtime.log");
  EXPECT_NE(log.find("kill known 15"), std::string::npos);
  EXPECT_NE(log.find("kill --all known 9"), std::string::npos);
  EXPECT_EQ(runtime_->KillContainer("stopped", SIGTERM, false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(runtime_->KillContainer("ghost", SIGTERM, false).code(), absl::StatusCode::kNotFound);
}

TEST_F(ConmonRuntimeTest, Delete_IdempotentRemovesExitFileAndForgets) {
  CreateRequest r = Request("gone", "ok");
  ASSERT_TRUE(runtime_->CreateContainer(r).ok());
  WriteFile(options_.exits_dir + "/gone", "0");
  ASSERT_TRUE(runtime_->DeleteContainer("gone", true).ok());
  EXPECT_FALSE(fs::exists(options_.exits_dir + "/gone"));
  EXPECT_EQ(runtime_->MonitorPid("gone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(runtime_->DeleteContainer("gone", false).ok());  // again: fine
  EXPECT_NE(ReadFile(dir_ + "/runtime.log").find("delete --force gone"), std::string::npos);
  auto running = runtime_->DeleteContainer("running", false);
  EXPECT_EQ(running.code(), absl::StatusCode::kInternal);
  EXPECT_NE(running.message().find("cannot delete running container"), absl::string_view::npos);
}

TEST_F(ConmonRuntimeTest, Update_PassesJsonOnStdin) {
  ASSERT_TRUE(runtime_->UpdateContainerResources("known", R"({"pids":{"limit":7}})").ok());
  EXPECT_EQ(ReadFile(dir_ + "/update.json"), R"({"pids":{"limit":7}})");
  EXPECT_NE(ReadFile(dir_ + "/runtime.log").find("update --resources - known"), std::string::npos);
}

TEST_F(ConmonRuntimeTest, ExecSync_UsesBundleProcessAndReturnsExitCode) {
  // Untracked id: the bundle comes from `state`.
  WriteFile(dir_ + "/known-bundle/config.json",
            R"({"process": {"args": ["sleep"], "env": ["A=1"], "cwd": "/"}})");
  auto result = runtime_->ExecSync("known", {"echo", "hi"}, std::chrono::seconds(10), false);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 5);
  auto spec = nlohmann::json::parse(result->stdout_data);
  EXPECT_EQ(spec["args"], nlohmann::json({"echo", "hi"}));
  EXPECT_EQ(spec["env"], nlohmann::json({"A=1"}));
  EXPECT_EQ(result->stderr_data, "to-stderr\n");
  // The private exec dir is gone afterwards.
  for (const auto& e : fs::directory_iterator(dir_ + "/known-bundle")) {
    EXPECT_EQ(e.path().filename().string().rfind("exec-", 0), std::string::npos) << e.path();
  }
}

TEST_F(ConmonRuntimeTest, ExecSync_RuntimeFailsBeforeStart_ErrorNotExitCode) {
  Request("broken", "x");
  ASSERT_TRUE(runtime_->Track("broken", {dir_ + "/broken/bundle", "", ""}).ok());
  WriteFile(dir_ + "/broken/bundle/config.json", R"({"process": {"args": ["x"]}})");
  auto result = runtime_->ExecSync("broken", {"true"}, milliseconds(0), false);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("container is stopped"), absl::string_view::npos);
}

TEST_F(ConmonRuntimeTest, ExecSync_Timeout_DeadlineExceededQuickly) {
  Request("slow", "x");
  ASSERT_TRUE(runtime_->Track("slow", {dir_ + "/slow/bundle", "", ""}).ok());
  WriteFile(dir_ + "/slow/bundle/config.json", R"({"process": {"args": ["x"]}})");
  auto start = Clock::now();
  auto result = runtime_->ExecSync("slow", {"sleep", "30"}, milliseconds(300), false);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result.status().message(), "command `sleep 30` timed out after 300ms");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ConmonRuntimeTest, ExecSync_EmptyCommandOrUnknownId) {
  EXPECT_EQ(runtime_->ExecSync("known", {}, milliseconds(0), false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime_->ExecSync("ghost", {"true"}, milliseconds(0), false).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ConmonRuntimeTest, ReadExit_ExitsDirThenPersistDir) {
  EXPECT_FALSE(runtime_->ReadExit("c9")->has_value());
  CreateRequest r = Request("c9", "ok");
  ASSERT_TRUE(runtime_->CreateContainer(r).ok());
  WriteFile(r.persist_dir + "/exit", "7");
  auto exit = runtime_->ReadExit("c9");
  ASSERT_TRUE(exit.ok() && exit->has_value()) << exit.status();
  EXPECT_EQ((*exit)->exit_code, 7);
  auto before = std::chrono::system_clock::now();
  WriteFile(options_.exits_dir + "/c9", "137\n");
  exit = runtime_->ReadExit("c9");
  ASSERT_TRUE(exit.ok() && exit->has_value());
  EXPECT_EQ((*exit)->exit_code, 137);
  auto finished = (*exit)->finished;
  EXPECT_LT(std::chrono::abs(finished - before), std::chrono::seconds(5));
  WriteFile(options_.exits_dir + "/c9", "junk");
  EXPECT_EQ(runtime_->ReadExit("c9").status().code(), absl::StatusCode::kInternal);
}

TEST_F(ConmonRuntimeTest, WasOomKilled_BundleOrPersistFile) {
  CreateRequest r = Request("oom", "ok");
  ASSERT_TRUE(runtime_->Track("oom", {r.bundle, r.persist_dir, ""}).ok());
  EXPECT_FALSE(*runtime_->WasOomKilled("oom"));
  WriteFile(r.bundle + "/oom", "");
  EXPECT_TRUE(*runtime_->WasOomKilled("oom"));
  EXPECT_EQ(runtime_->WasOomKilled("ghost").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ConmonRuntimeTest, ReopenLog_WritesControlMessageOrReportsMissingMonitor) {
  CreateRequest r = Request("log", "ok");
  ASSERT_TRUE(runtime_->Track("log", {r.bundle, r.persist_dir, r.log_path}).ok());
  const std::string ctl = r.bundle + "/ctl";
  ASSERT_EQ(mkfifo(ctl.c_str(), 0600), 0);
  // No reader: conmon is gone.
  EXPECT_EQ(runtime_->ReopenLog("log").code(), absl::StatusCode::kFailedPrecondition);
  int reader = open(ctl.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  WriteFile(r.log_path, "");  // the "monitor" has already reopened it
  ASSERT_TRUE(runtime_->ReopenLog("log").ok());
  char buf[16] = {};
  ASSERT_EQ(read(reader, buf, sizeof(buf)), 6);
  close(reader);
  EXPECT_STREQ(buf, "2 0 0\n");
}

TEST_F(ConmonRuntimeTest, Track_RequiresIdAndBundle) {
  EXPECT_EQ(runtime_->Track("", {"/b", "", ""}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime_->Track("x", {"", "", ""}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crio::oci

namespace crio::oci {
namespace {

TEST(IsPidNamespaceInitTest, NestedInit_True) {
  EXPECT_TRUE(IsPidNamespaceInit("Name:\tsleep\nNSpid:\t4242\t1\nNSpgid:\t4242\t1\n"));
  EXPECT_TRUE(IsPidNamespaceInit("NSpid:\t10\t7\t1\n"));
}

TEST(IsPidNamespaceInitTest, HostOrSharedNamespaceProcess_False) {
  EXPECT_FALSE(IsPidNamespaceInit("NSpid:\t4242\n"));           // the reader's own namespace
  EXPECT_FALSE(IsPidNamespaceInit("NSpid:\t4242\t7\n"));        // not the namespace's init
  EXPECT_FALSE(IsPidNamespaceInit("Name:\tsleep\nPid:\t1\n"));  // no NSpid line
  EXPECT_FALSE(IsPidNamespaceInit(""));
}

}  // namespace
}  // namespace crio::oci
