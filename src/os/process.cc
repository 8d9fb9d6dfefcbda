#include "os/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
// glibc 2.36 declares these without extern "C".
extern "C" {
#include <sys/pidfd.h>
}
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

#include "absl/cleanup/cleanup.h"

extern char** environ;

namespace crio::os {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

ExitStatus FromSiginfo(const siginfo_t& info) {
  ExitStatus status;
  if (info.si_code == CLD_EXITED) {
    status.exit_code = info.si_status;
  } else {
    status.signal = info.si_status;  // CLD_KILLED or CLD_DUMPED
  }
  return status;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

std::string DescribeCommand(const SpawnRequest& request) {
  std::string what = absl::StrCat("spawn `", request.argv[0], "`");
  if (!request.cwd.empty()) {
    absl::StrAppend(&what, " in `", request.cwd, "`");
  }
  return what;
}

std::string FormatTimeout(milliseconds timeout) {
  if (timeout.count() % 1000 == 0) {
    return absl::StrCat(timeout.count() / 1000, "s");
  }
  return absl::StrCat(timeout.count(), "ms");
}

// write() that cannot raise SIGPIPE in this thread: the reader may die at any moment, and a
// daemon must not depend on SIGPIPE being ignored process-wide. The signal is thread-directed,
// so blocking it here and consuming a pending instance is enough.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set;
  sigset_t old_set;
  sigset_t pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t n = ::write(fd, data, size);
  int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = err;
  return n;
}

Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoError(errno, "fcntl O_NONBLOCK");
  }
  return absl::OkStatus();
}

// One output stream of a RunCommand() child.
struct OutputSink {
  UniqueFd fd;
  std::string* data = nullptr;
  bool* truncated = nullptr;
  std::size_t limit = 0;

  void Append(const char* buf, std::size_t n) {
    std::size_t room = limit > data->size() ? limit - data->size() : 0;
    if (n > room) {
      *truncated = true;
      n = room;
    }
    data->append(buf, n);
  }

  // Reads what is available now, at most `budget` bytes. Closes the fd at end of stream
  // (EIO is how a pty master reports that every slave is closed).
  Status ReadAvailable(std::size_t budget = SIZE_MAX) {
    std::array<char, 65536> buf;
    while (fd && budget > 0) {
      ssize_t n = ::read(fd.get(), buf.data(), std::min(buf.size(), budget));
      if (n > 0) {
        Append(buf.data(), static_cast<std::size_t>(n));
        budget -= static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0 || errno == EIO) {
        fd.reset();
        return absl::OkStatus();
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        return absl::OkStatus();
      }
      return ErrnoError(errno, "read child output");
    }
    return absl::OkStatus();
  }

  // After the child exited: take what is already buffered, without waiting for descendants
  // that may still hold the write end.
  Status Drain() {
    if (!fd) {
      return absl::OkStatus();
    }
    int pending = 0;
    if (ioctl(fd.get(), FIONREAD, &pending) < 0 || pending <= 0) {
      return absl::OkStatus();
    }
    return ReadAvailable(static_cast<std::size_t>(pending));
  }
};

constexpr std::size_t kReadPerRound = 1 << 20;

// Owns the fresh child `pid`; if that fails, kills and reaps it so no zombie is left.
StatusOr<ChildProcess> AdoptOrReap(pid_t pid) {
  auto child = ChildProcess::Adopt(pid);
  if (!child.ok()) {
    ::kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return child;
}

}  // namespace

StatusOr<PtyPair> OpenPty() {
  PtyPair pty;
  pty.master.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) {
    return ErrnoError(errno, "posix_openpt");
  }
  if (grantpt(pty.master.get()) < 0 || unlockpt(pty.master.get()) < 0) {
    return ErrnoError(errno, "unlock pty");
  }
  char name[128];
  if (int rc = ptsname_r(pty.master.get(), name, sizeof(name)); rc != 0) {
    return ErrnoError(rc, "ptsname");
  }
  pty.slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) {
    return ErrnoError(errno, absl::StrCat("open `", name, "`"));
  }
  return pty;
}

void ChildStdio::ApplyTo(SpawnRequest& request) const {
  request.stdin_fd = child_stdin.get();
  request.stdout_fd = child_stdout ? child_stdout.get() : child_stdin.get();
  request.stderr_fd = child_stderr ? child_stderr.get() : child_stdin.get();
}

void ChildStdio::CloseChildEnds() {
  child_stdin.reset();
  child_stdout.reset();
  child_stderr.reset();
}

StatusOr<ChildStdio> MakeChildStdio(bool use_pty) {
  ChildStdio stdio;
  if (use_pty) {
    ASSIGN_OR_RETURN(PtyPair pty, OpenPty());
    stdio.input.reset(fcntl(pty.master.get(), F_DUPFD_CLOEXEC, 0));
    if (!stdio.input) {
      return ErrnoError(errno, "dup pty master");
    }
    stdio.output = std::move(pty.master);
    stdio.child_stdin = std::move(pty.slave);  // also the child's stdout and stderr
    return stdio;
  }
  int fds[3][2];
  for (int i = 0; i < 3; ++i) {
    if (pipe2(fds[i], O_CLOEXEC) < 0) {
      int err = errno;
      for (int j = 0; j < i; ++j) {
        close(fds[j][0]);
        close(fds[j][1]);
      }
      return ErrnoError(err, "pipe2");
    }
  }
  stdio.child_stdin.reset(fds[0][0]);
  stdio.input.reset(fds[0][1]);
  stdio.output.reset(fds[1][0]);
  stdio.child_stdout.reset(fds[1][1]);
  stdio.error.reset(fds[2][0]);
  stdio.child_stderr.reset(fds[2][1]);
  return stdio;
}

std::string ExitStatus::ToString() const {
  if (signal == 0) {
    return absl::StrCat("exit status ", exit_code);
  }
  const char* abbrev = sigabbrev_np(signal);
  return absl::StrCat("killed by signal ", signal,
                      abbrev ? absl::StrCat(" (SIG", abbrev, ")") : "");
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Kill(); }

StatusOr<ChildProcess> ChildProcess::Adopt(pid_t pid) {
  int fd = pidfd_open(pid, 0);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("pidfd_open ", pid));
  }
  return ChildProcess(pid, UniqueFd(fd));
}

StatusOr<ExitStatus> ChildProcess::Wait(std::optional<milliseconds> timeout) {
  if (status_) {
    return *status_;
  }
  if (!valid()) {
    return FailedPrecondition("wait: no child process");
  }
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  for (;;) {
    siginfo_t info = {};
    if (waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("waitid pid ", pid_));
    }
    if (info.si_pid != 0) {
      status_ = FromSiginfo(info);
      pidfd_.reset();
      return *status_;
    }
    int poll_ms = -1;
    if (timeout) {
      auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        return DeadlineExceeded(
            absl::StrCat("pid ", pid_, " still running after ", FormatTimeout(*timeout)));
      }
      poll_ms = static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
    }
    struct pollfd p = {pidfd_.get(), POLLIN, 0};
    if (poll(&p, 1, poll_ms) < 0 && errno != EINTR) {
      return ErrnoError(errno, "poll pidfd");
    }
  }
}

Status ChildProcess::Signal(int sig) {
  if (!valid() || status_) {
    return FailedPrecondition(absl::StrCat("signal: pid ", pid_, " is not a running child"));
  }
  if (pidfd_send_signal(pidfd_.get(), sig, nullptr, 0) < 0 && errno != ESRCH) {
    return ErrnoError(errno, absl::StrCat("signal pid ", pid_));
  }
  return absl::OkStatus();
}

Status ChildProcess::SignalGroup(int sig) {
  if (!valid() || status_) {
    return FailedPrecondition(absl::StrCat("signal: pid ", pid_, " is not a running child"));
  }
  // The unreaped child keeps its pid, and so its process group id, from being reused.
  if (::kill(-pid_, sig) < 0 && errno != ESRCH) {
    return ErrnoError(errno, absl::StrCat("signal process group ", pid_));
  }
  return absl::OkStatus();
}

void ChildProcess::Kill() {
  if (!valid() || status_) {
    return;
  }
  pidfd_send_signal(pidfd_.get(), SIGKILL, nullptr, 0);
  if (!Wait().ok()) {
    // Someone else reaped it (ECHILD); nothing left to clean up.
    pidfd_.reset();
    pid_ = -1;
  }
}

StatusOr<PidFd> PidFd::Open(pid_t pid) {
  int fd = pidfd_open(pid, 0);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("pidfd_open ", pid));
  }
  PidFd out;
  out.pid_ = pid;
  out.fd_.reset(fd);
  return out;
}

Status PidFd::Signal(int sig) {
  if (!fd_) {
    return FailedPrecondition("signal: no pidfd");
  }
  if (pidfd_send_signal(fd_.get(), sig, nullptr, 0) < 0 && errno != ESRCH) {
    return ErrnoError(errno, absl::StrCat("signal pid ", pid_));
  }
  return absl::OkStatus();
}

bool PidFd::WaitExited(milliseconds timeout) {
  if (!fd_) {
    return true;
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    struct pollfd p = {fd_.get(), POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX)));
    if (n > 0) {
      return true;
    }
    if (n == 0 || errno != EINTR) {
      return false;
    }
  }
}

bool PidFd::WaitReaped(milliseconds timeout) {
  if (!fd_) {
    return true;
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Signal 0 reaches a zombie too; only a reaped process gives ESRCH.
    if (pidfd_send_signal(fd_.get(), 0, nullptr, 0) < 0 && errno == ESRCH) {
      return true;
    }
    if (Clock::now() >= deadline) {
      return false;
    }
    struct timespec pause = {0, 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
}

StatusOr<ChildProcess> Spawn(const SpawnRequest& request) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return InvalidArgument("spawn: empty argv");
  }
  // Every source fd is first copied above all target fds, so no dup2 in the child can overwrite
  // a source another dup2 still needs (e.g. extra_fds = {4, 3}).
  const int first_free = 3 + static_cast<int>(request.extra_fds.size());
  std::vector<UniqueFd> copies;
  auto copy_high = [&](int fd) -> StatusOr<int> {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, first_free);
    if (copy < 0) {
      return ErrnoError(errno, absl::StrCat("dup fd ", fd, " for child"));
    }
    copies.emplace_back(copy);
    return copy;
  };

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  absl::Cleanup destroy_actions = [&] { posix_spawn_file_actions_destroy(&actions); };
  const std::array<int, 3> stdio = {request.stdin_fd, request.stdout_fd, request.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    int rc;
    if (stdio[target] >= 0) {
      ASSIGN_OR_RETURN(int source, copy_high(stdio[target]));
      rc = posix_spawn_file_actions_adddup2(&actions, source, target);
    } else {
      rc = posix_spawn_file_actions_addopen(&actions, target, "/dev/null",
                                            target == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    if (rc != 0) {
      return ErrnoError(rc, "posix_spawn_file_actions");
    }
  }
  for (std::size_t i = 0; i < request.extra_fds.size(); ++i) {
    ASSIGN_OR_RETURN(int source, copy_high(request.extra_fds[i]));
    if (int rc = posix_spawn_file_actions_adddup2(&actions, source, 3 + static_cast<int>(i));
        rc != 0) {
      return ErrnoError(rc, "posix_spawn_file_actions_adddup2");
    }
  }
  if (int rc = posix_spawn_file_actions_addclosefrom_np(&actions, first_free); rc != 0) {
    return ErrnoError(rc, "posix_spawn_file_actions_addclosefrom_np");
  }
  if (!request.cwd.empty()) {
    if (int rc = posix_spawn_file_actions_addchdir_np(&actions, request.cwd.c_str()); rc != 0) {
      return ErrnoError(rc, "posix_spawn_file_actions_addchdir_np");
    }
  }

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  absl::Cleanup destroy_attr = [&] { posix_spawnattr_destroy(&attr); };
  // The daemon may block or ignore signals (SIGPIPE, SIGCHLD); children start clean.
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (request.new_session) {
    flags |= POSIX_SPAWN_SETSID;
  }
  posix_spawnattr_setflags(&attr, flags);

  std::vector<char*> argv = CStrings(request.argv);
  std::vector<char*> envp;
  if (request.env) {
    envp = CStrings(*request.env);
  }
  char* const* env = request.env ? envp.data() : environ;
  pid_t pid = -1;
  const bool has_slash = request.argv[0].find('/') != std::string::npos;
  int rc = has_slash ? posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), env)
                     : posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), env);
  if (rc != 0) {
    return ErrnoError(rc, DescribeCommand(request));
  }
  auto child = AdoptOrReap(pid);
  if (!child.ok()) {
    return Annotate(child.status(), DescribeCommand(request));
  }
  return child;
}

StatusOr<ChildProcess> CloneChild(int flags, int (*fn)(void* arg), void* arg,
                                  std::size_t stack_size) {
  if ((flags & CLONE_VM) != 0 && (flags & CLONE_VFORK) == 0) {
    return InvalidArgument("clone: CLONE_VM without CLONE_VFORK would outlive its stack");
  }
  // Without CLONE_VM the child runs on its own copy of this buffer; the stack grows down.
  std::unique_ptr<char[]> stack(new char[stack_size]);
  sigset_t all_signals;
  sigset_t old_mask;
  sigfillset(&all_signals);
  pthread_sigmask(SIG_SETMASK, &all_signals, &old_mask);
  pid_t pid = clone(fn, stack.get() + stack_size, flags | SIGCHLD, arg);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) {
    return ErrnoError(clone_errno, "clone");
  }
  return AdoptOrReap(pid);
}

StatusOr<RunResult> RunCommand(SpawnRequest request, const RunOptions& options) {
  RunResult result;
  OutputSink out{UniqueFd(), &result.stdout_data, &result.stdout_truncated, options.max_output};
  OutputSink err{UniqueFd(), &result.stderr_data, &result.stderr_truncated, options.max_output};
  UniqueFd input;  // our end of the child's stdin
  ASSIGN_OR_RETURN(ChildStdio stdio, MakeChildStdio(options.use_pty));
  stdio.ApplyTo(request);
  input = std::move(stdio.input);
  out.fd = std::move(stdio.output);
  err.fd = std::move(stdio.error);
  request.new_session = true;
  ASSIGN_OR_RETURN(ChildProcess child, Spawn(request));
  stdio.CloseChildEnds();
  for (OutputSink* sink : {&out, &err}) {
    if (sink->fd) {
      RETURN_IF_ERROR(SetNonBlocking(sink->fd.get()));
    }
  }
  RETURN_IF_ERROR(SetNonBlocking(input.get()));
  std::size_t input_off = 0;
  if (options.input.empty() && !options.use_pty) {
    input.reset();  // EOF at once
  }

  const auto deadline =
      options.timeout ? Clock::now() + *options.timeout : Clock::time_point::max();
  for (;;) {
    std::vector<struct pollfd> fds;
    fds.push_back({child.pidfd(), POLLIN, 0});
    const bool want_input = input && input_off < options.input.size();
    if (want_input) {
      fds.push_back({input.get(), POLLOUT, 0});
    }
    for (OutputSink* sink : {&out, &err}) {
      if (sink->fd) {
        fds.push_back({sink->fd.get(), POLLIN, 0});
      }
    }
    int poll_ms = -1;
    if (options.timeout) {
      auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
      poll_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX));
    }
    int n = poll(fds.data(), fds.size(), poll_ms);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, "poll child");
    }
    if (want_input && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = WriteNoSigpipe(input.get(), options.input.data() + input_off,
                                 options.input.size() - input_off);
      if (w > 0) {
        input_off += static_cast<std::size_t>(w);
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        input_off = options.input.size();  // the reader is gone (EPIPE): drop the rest
      }
      if (input_off == options.input.size() && !options.use_pty) {
        input.reset();
      }
    }
    // Bounded per round, so a chatty child cannot keep us from noticing the deadline.
    RETURN_IF_ERROR(out.ReadAvailable(kReadPerRound));
    RETURN_IF_ERROR(err.ReadAvailable(kReadPerRound));
    if ((fds[0].revents & POLLIN) != 0) {
      ASSIGN_OR_RETURN(result.status, child.Wait(milliseconds(0)));
      RETURN_IF_ERROR(out.Drain());
      RETURN_IF_ERROR(err.Drain());
      return result;
    }
    if (options.timeout && Clock::now() >= deadline) {
      if (options.on_timeout) {
        options.on_timeout();
      }
      if (!child.SignalGroup(SIGKILL).ok()) {
        (void)child.Signal(SIGKILL);
      }
      (void)child.Wait();
      return DeadlineExceeded(absl::StrCat("`", request.argv[0], "` timed out after ",
                                           FormatTimeout(*options.timeout)));
    }
  }
}

}  // namespace crio::os
