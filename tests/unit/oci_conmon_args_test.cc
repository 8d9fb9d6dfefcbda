// The pure parts of ConmonRuntime: conmon's argv and env, runtime argv, and the parsers for
// conmon's sync message, `<runtime> state`, exit files and runtime errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/conmon_runtime.h"

namespace crio::oci {
namespace {

using Args = std::vector<std::string>;

ConmonOptions Options() {
  ConmonOptions o;
  o.handler_name = "crun";
  o.runtime_path = "/usr/bin/crun";
  o.runtime_root = "/run/crun";
  o.monitor_path = "/usr/bin/conmon";
  o.monitor_env = {"PATH=/usr/bin:/bin"};
  o.exits_dir = "/var/run/crio/exits";
  o.attach_socket_dir = "/var/run/crio";
  o.log_level = "info";
  return o;
}

CreateRequest Request() {
  CreateRequest r;
  r.id = "abc123";
  r.name = "k8s_web_pod_ns_uid_0";
  r.bundle = "/run/containers/storage/overlay-containers/abc123/userdata";
  r.persist_dir = "/var/lib/containers/storage/overlay-containers/abc123/userdata";
  r.log_path = "/var/log/pods/ns_pod_uid/web/0.log";
  return r;
}

// One flag and its value per line.
// clang-format off
const Args kBaseArgs = {
    "/usr/bin/conmon",
    "-b", "/run/containers/storage/overlay-containers/abc123/userdata",
    "-c", "abc123",
    "--exit-dir", "/var/run/crio/exits",
    "-l", "/var/log/pods/ns_pod_uid/web/0.log",
    "--log-level", "info",
    "-n", "k8s_web_pod_ns_uid_0",
    "-P", "/run/containers/storage/overlay-containers/abc123/userdata/conmon-pidfile",
    "-p", "/run/containers/storage/overlay-containers/abc123/userdata/pidfile",
    "--persist-dir", "/var/lib/containers/storage/overlay-containers/abc123/userdata",
    "-r", "/usr/bin/crun",
    "--runtime-arg", "--root=/run/crun",
    "--socket-dir-path", "/var/run/crio",
    "-u", "abc123",
};
// clang-format on

TEST(BuildConmonArgs, PlainRequest_ExactArgv) {
  EXPECT_EQ(BuildConmonArgs(Options(), Request()), kBaseArgs);
}

TEST(BuildConmonArgs, AllOptionalFlags_AppendedInOrder) {
  ConmonOptions o = Options();
  o.systemd_cgroup = true;
  o.no_sync_log = true;
  CreateRequest r = Request();
  r.log_size_max = 1048576;
  r.no_pivot = true;
  r.tty = true;
  r.open_stdin = true;
  r.stdin_once = false;
  Args want = kBaseArgs;
  want.insert(want.end(), {"-s", "--log-size-max", "1048576", "--no-sync-log", "--no-pivot", "-t",
                           "--leave-stdin-open"});
  EXPECT_EQ(BuildConmonArgs(o, r), want);
}

TEST(BuildConmonArgs, StdinWithoutTty_UsesDashIAndStdinOnceClosesIt) {
  CreateRequest r = Request();
  r.open_stdin = true;
  r.stdin_once = true;
  Args want = kBaseArgs;
  want.push_back("-i");
  EXPECT_EQ(BuildConmonArgs(Options(), r), want);
}

TEST(BuildConmonArgs, EmptyRuntimeRoot_NoRuntimeArg) {
  ConmonOptions o = Options();
  o.runtime_root.clear();
  Args args = BuildConmonArgs(o, Request());
  EXPECT_EQ(std::find(args.begin(), args.end(), "--runtime-arg"), args.end());
  EXPECT_EQ(args.size(), kBaseArgs.size() - 2);
}

TEST(BuildConmonEnv, MonitorEnvThenPipes_CallerPipeVarsDropped) {
  ConmonOptions o = Options();
  o.monitor_env = {"PATH=/bin", "_OCI_SYNCPIPE=9", "FOO=1"};
  EXPECT_EQ(BuildConmonEnv(o), (Args{"PATH=/bin", "FOO=1", "_OCI_SYNCPIPE=3", "_OCI_STARTPIPE=4"}));
}

TEST(BuildRuntimeArgs, RootFlagBeforeCommand) {
  EXPECT_EQ(BuildRuntimeArgs(Options(), {"state", "abc"}),
            (Args{"/usr/bin/crun", "--root=/run/crun", "state", "abc"}));
  ConmonOptions o = Options();
  o.runtime_root.clear();
  EXPECT_EQ(BuildRuntimeArgs(o, {"start", "abc"}), (Args{"/usr/bin/crun", "start", "abc"}));
}

TEST(ParseSyncMessage, Pid_ReturnsIt) {
  EXPECT_EQ(*ParseSyncMessage("{\"pid\": 4242}"), 4242);
  EXPECT_EQ(*ParseSyncMessage("{\"data\": 17}"), 17);  // --api-version 1 spelling
}

TEST(ParseSyncMessage, NegativeWithMessage_InternalWithRuntimeText) {
  auto pid =
      ParseSyncMessage(R"({"data": -1, "message": "executable file `/nonexistent` not found\n"})");
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(pid.status().message(), "executable file `/nonexistent` not found");
}

TEST(ParseSyncMessage, RuncLogrusMessage_Cleaned) {
  auto pid = ParseSyncMessage(
      R"({"pid": -1, "message": "time=\"2024-01-01T00:00:00Z\" level=error msg=\"runc create failed: exec: \\\"/nonexistent\\\": stat /nonexistent: no such file or directory\"\n"})");
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().message(),
            "runc create failed: exec: \"/nonexistent\": stat /nonexistent: no such file or "
            "directory");
}

TEST(ParseSyncMessage, Malformed_InvalidArgument) {
  EXPECT_EQ(ParseSyncMessage("not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSyncMessage("{\"other\": 1}").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSyncMessage("{\"pid\": -1}").status().message(), "conmon reported -1");
}

TEST(ParseRuntimeState, CrunOutput_Parsed) {
  auto state = ParseRuntimeState(R"({
    "ociVersion": "1.0.0", "id": "upd1", "pid": 20081, "status": "running",
    "bundle": "/tmp/b", "rootfs": "rootfs", "created": "2026-11-29T05:29:45.214983Z",
    "systemd-scope": "", "owner": "root"})");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, (RuntimeState{"running", 20081, "/tmp/b"}));
}

TEST(ParseRuntimeState, StoppedWithoutPid_PidZero) {
  auto state = ParseRuntimeState(R"({"id": "x", "status": "stopped", "bundle": "/b"})");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, "stopped");
  EXPECT_EQ(state->pid, 0);
}

TEST(ParseRuntimeState, MissingStatusOrNotJson_InvalidArgument) {
  EXPECT_EQ(ParseRuntimeState(R"({"pid": 1})").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuntimeState("[1]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRuntimeState("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseExitFile, Decimal_WithOrWithoutNewline) {
  EXPECT_EQ(*ParseExitFile("137"), 137);
  EXPECT_EQ(*ParseExitFile("0\n"), 0);
  EXPECT_EQ(*ParseExitFile("-1"), -1);  // conmon's "timed out" value
}

TEST(ParseExitFile, Garbage_InvalidArgument) {
  EXPECT_EQ(ParseExitFile("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseExitFile("12abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseExitFile("99999999999").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IsNotExistError, RuncAndCrunWordings) {
  EXPECT_TRUE(IsNotExistError(
      "time=\"2026-11-29T05:28:19Z\" level=error msg=\"container does not exist\"\n"));
  EXPECT_TRUE(
      IsNotExistError("error opening file `/run/crun/nope/status`: No such file or directory\n"));
  EXPECT_TRUE(IsNotExistError("cannot open directory `/run/crun/nope`: No such file or directory"));
  EXPECT_FALSE(IsNotExistError("container not running"));
  // crun's exec of a missing binary is not about the container.
  EXPECT_FALSE(IsNotExistError(
      "executable file `/nonexistent` not found in $PATH: No such file or directory"));
  EXPECT_FALSE(IsNotExistError(""));
}

TEST(CleanRuntimeMessage, PlainTextTrimmedAndLinesJoined) {
  EXPECT_EQ(CleanRuntimeMessage("  kill container: No such process\n"),
            "kill container: No such process");
  EXPECT_EQ(CleanRuntimeMessage("a\n\nb\n"), "a; b");
  EXPECT_EQ(CleanRuntimeMessage(""), "");
}

TEST(BuildExecProcessSpec, CopiesProcessReplacesArgsAndTerminal) {
  const char* config = R"({
    "ociVersion": "1.0.2",
    "process": {"terminal": true, "consoleSize": {"height": 1, "width": 2},
                "user": {"uid": 1000, "gid": 1000}, "args": ["sleep", "inf"],
                "env": ["PATH=/bin", "HOME=/root"], "cwd": "/work",
                "capabilities": {"bounding": ["CAP_KILL"]}},
    "root": {"path": "rootfs"}})";
  auto spec = BuildExecProcessSpec(config, {"echo", "hi"}, false);
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto j = nlohmann::json::parse(*spec);
  EXPECT_EQ(j["args"], nlohmann::json({"echo", "hi"}));
  EXPECT_EQ(j["terminal"], false);
  EXPECT_FALSE(j.contains("consoleSize"));
  EXPECT_EQ(j["user"]["uid"], 1000);
  EXPECT_EQ(j["env"], nlohmann::json({"PATH=/bin", "HOME=/root"}));
  EXPECT_EQ(j["cwd"], "/work");
  EXPECT_EQ(j["capabilities"]["bounding"], nlohmann::json({"CAP_KILL"}));
  EXPECT_FALSE(j.contains("root"));  // only the process object
}

TEST(BuildExecProcessSpec, NoProcessOrBadJson_InvalidArgument) {
  EXPECT_EQ(BuildExecProcessSpec(R"({"root": {}})", {"x"}, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildExecProcessSpec("{", {"x"}, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crio::oci
