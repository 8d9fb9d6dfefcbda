#pragma once
// Child processes for a multi-threaded daemon. gRPC owns threads, so we never fork and then run
// ordinary code: children start with posix_spawn (glibc's vfork+exec, no code of ours runs in
// the child) and are owned as pid + pidfd, so a pid is never signalled after it was reused and
// no path leaves a zombie.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "os/unique_fd.h"
#include "util/status.h"

namespace crio::os {

// How a child ended.
struct ExitStatus {
  int exit_code = 0;  // meaningful when signal == 0
  int signal = 0;     // terminating signal; 0 when the child called exit

  bool Success() const { return signal == 0 && exit_code == 0; }
  // Shell convention (and conmon's): the exit code, or 128 + signal.
  int Code() const { return signal != 0 ? 128 + signal : exit_code; }
  // "exit status 3" or "killed by signal 9 (Killed)".
  std::string ToString() const;

  bool operator==(const ExitStatus&) const = default;
};

// Owns one unreaped child: its pid and a pidfd. Move-only.
// If the child has not been reaped by Wait() when the object dies, the destructor sends SIGKILL
// and reaps it (blocking until the kernel reports the exit), so dropping a ChildProcess on any
// error path leaves neither a running process nor a zombie.
// Not thread-safe: one owner thread at a time.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // Takes ownership of `pid`, which must be an unreaped child of this process.
  // Errors: the pidfd_open failure (NotFound when the pid does not exist).
  static StatusOr<ChildProcess> Adopt(pid_t pid);

  pid_t pid() const { return pid_; }
  // Readable (POLLIN) once the child has exited; -1 for an empty object.
  int pidfd() const { return pidfd_.get(); }
  bool valid() const { return pid_ > 0; }
  // True once Wait() has collected the exit status.
  bool reaped() const { return status_.has_value(); }

  // Waits for the child to exit and reaps it. `timeout` nullopt waits forever; zero polls.
  // Returns the cached status when already reaped.
  // Errors: DeadlineExceeded when the child still runs at the deadline (it is left running),
  // FailedPrecondition for an empty object, Internal when waitid fails.
  StatusOr<ExitStatus> Wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // Sends `sig` through the pidfd. A child that exited but is not reaped yet is OK (ESRCH is
  // ignored). Errors: FailedPrecondition when empty or already reaped; the errno otherwise.
  Status Signal(int sig);

  // Sends `sig` to the child's process group (the child must lead one: SpawnRequest::new_session).
  // Safe against pid reuse only while the child is unreaped, so FailedPrecondition once reaped.
  Status SignalGroup(int sig);

  // SIGKILL then reap; what the destructor does. Idempotent.
  void Kill();

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> status_;
};

// A pidfd for a process that is not our child, e.g. a daemonized monitor: it pins the process
// the pid names when opened, so later signals never reach a process that reused the pid.
// It cannot reap. Move-only.
class PidFd {
 public:
  PidFd() = default;
  // Errors: NotFound when no process has that pid; the errno otherwise.
  static StatusOr<PidFd> Open(pid_t pid);

  pid_t pid() const { return pid_; }
  bool valid() const { return static_cast<bool>(fd_); }
  // Sends `sig`. A process that already exited is OK.
  Status Signal(int sig);
  // Whether the process has exited within `timeout` (zero polls).
  bool WaitExited(std::chrono::milliseconds timeout);
  // Whether the process has been reaped by its parent within `timeout` (an exited process
  // stays a zombie until then).
  bool WaitReaped(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  UniqueFd fd_;
};

// What to start. All fds are borrowed: the caller keeps (and closes) its own copies.
struct SpawnRequest {
  // argv[0] is what gets executed: a path, or a bare name looked up in this process's $PATH.
  std::vector<std::string> argv;
  // The child's whole environment ("K=V"); nullopt inherits this process's environment.
  std::optional<std::vector<std::string>> env;
  std::string cwd;  // empty: this process's cwd
  // The child's fds 0, 1, 2; -1 gives it /dev/null.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // extra_fds[i] becomes fd 3 + i in the child; every other fd is closed.
  std::vector<int> extra_fds;
  // setsid(): the child leads a new session and process group, detached from ours.
  bool new_session = false;
};

// Starts `request` with posix_spawn: signal mask cleared and dispositions reset to default,
// the requested fds in place, every other fd closed.
// Errors: InvalidArgument for an empty argv; the posix_spawn errno (e.g. NotFound for a missing
// binary or cwd) in a message naming argv[0] and the cwd.
StatusOr<ChildProcess> Spawn(const SpawnRequest& request);

// Starts a child with clone(2) that runs `fn(arg)` and exits with its return value, for work
// that must happen in new namespaces or with a cwd of its own. `flags` are clone(2)'s (e.g.
// CLONE_NEWNET, or CLONE_VM | CLONE_VFORK); SIGCHLD is added as the exit signal. The child of a
// multi-threaded process may make only async-signal-safe calls: `fn` uses raw syscalls, no
// allocation, no locks. It starts with every signal blocked, so none of this process's handlers
// run in it (SIGKILL still ends it). With CLONE_VM it shares our memory and stack space and
// CLONE_VFORK is required: we are suspended until it is done with our memory (it exits), so
// its stack can be freed on return; Wait() still reaps it.
// Errors: InvalidArgument for CLONE_VM without CLONE_VFORK; the clone or pidfd_open errno.
StatusOr<ChildProcess> CloneChild(int flags, int (*fn)(void* arg), void* arg,
                                  std::size_t stack_size = 256 << 10);

// A pseudo-terminal: the master stays with us, the slave becomes a child's stdio.
struct PtyPair {
  UniqueFd master;
  UniqueFd slave;
};
// Errors: the failing call's errno (posix_openpt, grantpt/unlockpt, ptsname, open).
StatusOr<PtyPair> OpenPty();

// A child's stdio and our ends of it: three pipes, or one pseudo-terminal for all three
// (then `input` is a dup of the master and `output` the master, `error` empty).
struct ChildStdio {
  UniqueFd input;   // we write the child's stdin here
  UniqueFd output;  // we read the child's stdout (everything, for a pty)
  UniqueFd error;   // we read the child's stderr
  UniqueFd child_stdin, child_stdout, child_stderr;  // the child's ends; close after Spawn

  // Points `request`'s stdio at the child's ends.
  void ApplyTo(SpawnRequest& request) const;
  // Closes the child's ends: call once the child has them, so EOFs arrive.
  void CloseChildEnds();
};
// Errors: the pipe2/pty errno.
StatusOr<ChildStdio> MakeChildStdio(bool use_pty);

// Options for RunCommand().
struct RunOptions {
  std::string input;  // written to the child's stdin, which is then closed
  // Kill the child's process group and fail with DeadlineExceeded after this long. nullopt: none.
  std::optional<std::chrono::milliseconds> timeout;
  // Bytes kept per output stream; the rest is read and dropped (the result says so).
  std::size_t max_output = 16 << 20;
  // Give the child a pseudo-terminal as stdin/stdout/stderr instead of pipes. Everything it
  // prints arrives in RunResult::stdout_data.
  bool use_pty = false;
  // Called on timeout before the process group is killed (e.g. to kill a process that left
  // the group). Must not block.
  std::function<void()> on_timeout;
};

struct RunResult {
  ExitStatus status;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

// Runs `request` to completion as a new session, feeding options.input and collecting its
// output; request's stdio fields are replaced. Output still buffered when the child exits is
// drained; descendants that keep the pipes open afterwards are not waited for.
// Errors: Spawn's errors; DeadlineExceeded "`argv0` timed out after Ns" (the process group is
// SIGKILLed and the child reaped first); Internal for a failing poll/read.
StatusOr<RunResult> RunCommand(SpawnRequest request, const RunOptions& options);

}  // namespace crio::os
