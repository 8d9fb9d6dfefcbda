// os::ChildProcess, os::Spawn and os::Run: the process layer under the OCI runtime.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "os/process.h"

namespace crio::os {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// A temp dir removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/crio-proc-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fields of /proc/<pid>/stat after the command name: state is [0], ppid [1], pgrp [2], sid [3].
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

// True when `pid` is neither running nor a zombie child of ours.
bool GoneOrNotOurs(pid_t pid) {
  auto fields = StatFields(pid);
  return fields.empty() || fields[1] != std::to_string(getpid());
}

// Waits until a process that is not our child has disappeared (or is a zombie for init).
bool WaitGone(pid_t pid, milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    auto fields = StatFields(pid);
    if (fields.empty() || fields[0] == "Z") {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

SpawnRequest Cmd(std::vector<std::string> argv) {
  SpawnRequest req;
  req.argv = std::move(argv);
  return req;
}

RunOptions WithInput(std::string input) {
  RunOptions o;
  o.input = std::move(input);
  return o;
}

ChildProcess MustSpawn(std::vector<std::string> argv, bool new_session = false) {
  SpawnRequest req;
  req.argv = std::move(argv);
  req.new_session = new_session;
  auto child = Spawn(req);
  EXPECT_TRUE(child.ok()) << child.status();
  return child.ok() ? *std::move(child) : ChildProcess();
}

TEST(ChildProcess, Spawn_True_ExitsZero) {
  ChildProcess child = MustSpawn({"/bin/true"});
  ASSERT_TRUE(child.valid());
  EXPECT_GE(child.pidfd(), 0);
  auto status = child.Wait();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->Success());
  EXPECT_EQ(status->ToString(), "exit status 0");
  EXPECT_TRUE(child.reaped());
  // Reaped exactly once: the kernel has no child of that pid left.
  EXPECT_EQ(waitpid(child.pid(), nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ChildProcess, Spawn_False_ExitsOne) {
  ChildProcess child = MustSpawn({"false"});  // bare name: found through $PATH
  auto status = child.Wait();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->exit_code, 1);
  EXPECT_EQ(status->signal, 0);
  EXPECT_FALSE(status->Success());
  EXPECT_EQ(status->Code(), 1);
  // The status is cached for later calls.
  EXPECT_EQ(*child.Wait(), *status);
}

TEST(ChildProcess, Spawn_MissingBinary_NotFoundNamingIt) {
  SpawnRequest req;
  req.argv = {"/nonexistent/binary"};
  auto child = Spawn(req);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(child.status().message().find("/nonexistent/binary"), absl::string_view::npos);
}

TEST(ChildProcess, Spawn_EmptyArgv_InvalidArgument) {
  auto child = Spawn(SpawnRequest{});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChildProcess, Spawn_MissingCwd_FailsNamingCwd) {
  SpawnRequest req;
  req.argv = {"/bin/true"};
  req.cwd = "/nonexistent-dir-for-test";
  auto child = Spawn(req);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("/nonexistent-dir-for-test"), absl::string_view::npos);
}

TEST(ChildProcess, Signal_SleepTerm_ReportsSignal) {
  ChildProcess child = MustSpawn({"sleep", "10"});
  ASSERT_TRUE(child.Signal(SIGTERM).ok());
  auto start = Clock::now();
  auto status = child.Wait(milliseconds(5000));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(status->signal, SIGTERM);
  EXPECT_EQ(status->Code(), 143);
  EXPECT_EQ(status->ToString(), "killed by signal 15 (SIGTERM)");
  // Signalling a reaped child is refused instead of hitting a reused pid.
  EXPECT_EQ(child.Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ChildProcess, Wait_Timeout_DeadlineExceededChildKeepsRunning) {
  ChildProcess child = MustSpawn({"sleep", "10"});
  auto start = Clock::now();
  auto status = child.Wait(milliseconds(100));
  EXPECT_EQ(status.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(Clock::now() - start, milliseconds(100));
  EXPECT_FALSE(child.reaped());
  EXPECT_EQ(StatFields(child.pid()).at(0), "S");  // still sleeping
  auto zero = child.Wait(milliseconds(0));
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ChildProcess, Destructor_UnwaitedChild_KilledAndReaped) {
  pid_t pid;
  {
    ChildProcess child = MustSpawn({"sleep", "10"});
    pid = child.pid();
    ASSERT_GT(pid, 0);
  }
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_TRUE(GoneOrNotOurs(pid));
}

TEST(ChildProcess, MoveAssign_KillsPreviousChild) {
  ChildProcess a = MustSpawn({"sleep", "10"});
  pid_t first = a.pid();
  a = MustSpawn({"/bin/true"});
  EXPECT_TRUE(GoneOrNotOurs(first));
  EXPECT_TRUE(a.Wait()->Success());
}

TEST(ChildProcess, NewSession_ChildLeadsItsOwnSession) {
  ChildProcess detached = MustSpawn({"sleep", "10"}, /*new_session=*/true);
  ChildProcess attached = MustSpawn({"sleep", "10"}, /*new_session=*/false);
  auto d = StatFields(detached.pid());
  auto a = StatFields(attached.pid());
  ASSERT_GE(d.size(), 4u);
  ASSERT_GE(a.size(), 4u);
  EXPECT_EQ(d[3], std::to_string(detached.pid()));  // sid
  EXPECT_EQ(d[2], std::to_string(detached.pid()));  // pgrp
  EXPECT_EQ(a[3], std::to_string(getsid(0)));
}

TEST(ChildProcess, SignalGroup_KillsGrandchildren) {
  TempDir dir;
  const std::string pid_file = dir.path() + "/bg.pid";
  SpawnRequest req;
  req.argv = {"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"};
  req.new_session = true;
  auto child = Spawn(req);
  ASSERT_TRUE(child.ok()) << child.status();
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (ReadFile(pid_file).empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  pid_t grandchild = std::atoi(ReadFile(pid_file).c_str());
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(child->SignalGroup(SIGKILL).ok());
  EXPECT_EQ(child->Wait(milliseconds(5000))->signal, SIGKILL);
  EXPECT_TRUE(WaitGone(grandchild, milliseconds(5000)));
}

TEST(Spawn, CwdEnvAndStdout_Applied) {
  TempDir dir;
  SpawnRequest req = Cmd({"/bin/sh", "-c", "pwd; echo \"$FOO\"; env | wc -l"});
  req.env = std::vector<std::string>{"FOO=bar baz"};
  req.cwd = dir.path();
  auto result = RunCommand(req, RunOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  // sh adds PWD (and maybe SHLVL) of its own; nothing from our environment leaks in.
  std::istringstream lines(result->stdout_data);
  std::string cwd, foo, count;
  std::getline(lines, cwd);
  std::getline(lines, foo);
  std::getline(lines, count);
  EXPECT_EQ(cwd, dir.path());
  EXPECT_EQ(foo, "bar baz");
  EXPECT_LE(std::atoi(count.c_str()), 4);
}

TEST(Spawn, ExtraFds_MappedInOrderAndOthersClosed) {
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  // An fd without CLOEXEC that must still not reach the child.
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 0);
  SpawnRequest req;
  // b before a: fd 3 gets b's write end and fd 4 a's, whatever their numbers here.
  req.argv = {"/bin/sh", "-c",
              "echo three >&3; echo four >&4; "
              "if [ -e /proc/self/fd/" +
                  std::to_string(leaked) +
                  " ]; then echo leaked; fi; "
                  "if [ -e /proc/self/fd/5 ]; then echo fd5; fi"};
  req.extra_fds = {b[1], a[1]};
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  req.stdout_fd = out[1];
  auto child = Spawn(req);
  ASSERT_TRUE(child.ok()) << child.status();
  for (int fd : {a[1], b[1], out[1], leaked}) {
    close(fd);
  }
  EXPECT_TRUE(child->Wait()->Success());
  auto read_all = [](int fd) {
    std::string s;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, n);
    close(fd);
    return s;
  };
  EXPECT_EQ(read_all(b[0]), "three\n");
  EXPECT_EQ(read_all(a[0]), "four\n");
  EXPECT_EQ(read_all(out[0]), "");  // neither "leaked" nor "fd5"
}

TEST(Spawn, StdioDefaultsToDevNull) {
  auto result = RunCommand(Cmd({"/bin/sh", "-c", "readlink /proc/self/fd/0"}), RunOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  // Run gives stdin a pipe; a bare Spawn gives /dev/null.
  EXPECT_NE(result->stdout_data.find("pipe:"), std::string::npos);
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  SpawnRequest req = Cmd({"/bin/sh", "-c", "readlink /proc/self/fd/0 /proc/self/fd/2"});
  req.stdout_fd = out[1];
  auto child = Spawn(req);
  ASSERT_TRUE(child.ok());
  close(out[1]);
  ASSERT_TRUE(child->Wait()->Success());
  char buf[256];
  ssize_t n = read(out[0], buf, sizeof(buf));
  close(out[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "/dev/null\n/dev/null\n");
}

TEST(RunCommand, InputOutputAndExitCode) {
  auto result =
      RunCommand(Cmd({"/bin/sh", "-c", "cat; echo oops >&2; exit 3"}), WithInput("hello\nworld"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stdout_data, "hello\nworld");
  EXPECT_EQ(result->stderr_data, "oops\n");
  EXPECT_EQ(result->status.exit_code, 3);
}

TEST(RunCommand, LargeInputAndOutput_NoDeadlock) {
  std::string big(1 << 20, 'x');  // larger than any pipe buffer, both ways
  auto result = RunCommand(Cmd({"cat"}), WithInput(big));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stdout_data.size(), big.size());
  EXPECT_FALSE(result->stdout_truncated);
}

TEST(RunCommand, ReaderExitsEarly_InputDroppedWithoutSigpipe) {
  std::string big(1 << 20, 'x');
  auto result = RunCommand(Cmd({"/bin/true"}), WithInput(big));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->status.Success());
}

TEST(RunCommand, OutputOverLimit_TruncatedAtLimit) {
  RunOptions options;
  options.max_output = 1000;
  auto result = RunCommand(Cmd({"/bin/sh", "-c", "head -c 100000 /dev/zero"}), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stdout_data.size(), 1000u);
  EXPECT_TRUE(result->stdout_truncated);
  EXPECT_TRUE(result->status.Success());  // the rest was read and dropped, not left blocking
}

TEST(RunCommand, Timeout_KillsProcessGroupAndReturnsDeadlineExceeded) {
  TempDir dir;
  const std::string pid_file = dir.path() + "/bg.pid";
  bool hook_called = false;
  auto start = Clock::now();
  RunOptions options;
  options.timeout = milliseconds(300);
  options.on_timeout = [&] { hook_called = true; };
  auto result =
      RunCommand(Cmd({"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(result.status().message().find("timed out after 300ms"), absl::string_view::npos);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(hook_called);
  pid_t grandchild = std::atoi(ReadFile(pid_file).c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(WaitGone(grandchild, milliseconds(5000)));
}

TEST(RunCommand, ChattyChild_TimeoutStillEnforced) {
  RunOptions options;
  options.timeout = milliseconds(300);
  options.max_output = 1024;
  auto start = Clock::now();
  auto result = RunCommand(Cmd({"/bin/sh", "-c", "exec cat /dev/zero"}), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST(RunCommand, DescendantHoldsPipe_ReturnsWhenChildExits) {
  auto start = Clock::now();
  auto result = RunCommand(Cmd({"/bin/sh", "-c", "sleep 20 & echo $!"}), RunOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  pid_t bg = std::atoi(result->stdout_data.c_str());
  ASSERT_GT(bg, 0);
  kill(bg, SIGKILL);
  EXPECT_TRUE(WaitGone(bg, milliseconds(5000)));
}

TEST(RunCommand, Pty_ChildSeesTerminal) {
  RunOptions options;
  options.use_pty = true;
  auto result = RunCommand(Cmd({"/bin/sh", "-c", "test -t 0 && test -t 1 && echo tty"}), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->stdout_data, "tty\r\n");  // the pty's ONLCR turns \n into \r\n
  EXPECT_TRUE(result->status.Success());
}

}  // namespace
}  // namespace crio::os
