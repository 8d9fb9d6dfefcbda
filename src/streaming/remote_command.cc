#include "streaming/remote_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "os/socket.h"
#include "util/log.h"

namespace crio::streaming {

namespace {

using nlohmann::json;

constexpr std::size_t kChunk = 32 * 1024;
// How often a quiet session checks that its client is still there.
constexpr int kClientCheckMs = 250;

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Writes `data` to the non-blocking `fd`, waiting for room, until `stop` is set: a command
// that exited leaves a pty that no one reads, and a blocked write must not outlive the session.
bool WriteUnlessStopped(int fd, std::string_view data, const std::atomic<bool>& stop) {
  while (!data.empty() && !stop) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else if (!(n < 0 && errno == EINTR)) {
      return false;
    }
  }
  return data.empty();
}

// Copies the client's stdin with `write` until either side ends; `on_end` runs at the
// client's end of input (close the pipe, half-close the socket).
void CopyStdin(ClientStreams& client, const std::function<bool(std::string_view)>& write,
               const std::function<void()>& on_end) {
  std::array<char, kChunk> buf;
  for (;;) {
    auto n = client.ReadStdin(buf.data(), buf.size());
    if (!n.ok()) return;
    if (*n == 0) {
      on_end();
      return;
    }
    if (!write(std::string_view(buf.data(), *n))) return;
  }
}

// One output fd of an exec: read what is there and hand it to the client.
struct OutputPipe {
  int fd = -1;
  bool is_stderr = false;
  bool open = false;

  // Reads until the fd would block. False when the client is gone.
  bool Pump(ClientStreams& client) {
    std::array<char, kChunk> buf;
    while (open) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n > 0) {
        std::string_view data(buf.data(), static_cast<std::size_t>(n));
        Status st = is_stderr ? client.WriteStderr(data) : client.WriteStdout(data);
        if (!st.ok()) return false;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      open = false;  // EOF, or EIO: every pty slave is closed
    }
    return true;
  }
};

}  // namespace

std::optional<TerminalSize> ParseTerminalSize(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto width = j.find("Width");
  auto height = j.find("Height");
  if (width == j.end() || height == j.end() || !width->is_number_unsigned() ||
      !height->is_number_unsigned() || *width > 65535 || *height > 65535) {
    return std::nullopt;
  }
  return TerminalSize{width->get<uint16_t>(), height->get<uint16_t>()};
}

StatusOr<int> RunExec(oci::ExecProcess& process, ClientStreams& client) {
  std::thread stdin_thread;
  std::thread resize_thread;
  std::atomic<bool> stop_input{false};
  if (client.has_stdin() && process.stdin_fd) {
    SetNonBlocking(process.stdin_fd.get());
    stdin_thread = std::thread([&] {
      CopyStdin(
          client,
          [&](std::string_view data) {
            return WriteUnlessStopped(process.stdin_fd.get(), data, stop_input);
          },
          // A pipe is closed at the client's end of input; a pty stays (its master carries
          // the output too).
          [&] {
            if (!process.tty) process.stdin_fd.reset();
          });
    });
  } else if (!process.tty) {
    process.stdin_fd.reset();  // the command sees end of input at once
  }
  if (process.tty && client.has_resize()) {
    resize_thread = std::thread([&] {
      while (auto size = client.NextResize()) {
        winsize ws{};
        ws.ws_col = size->width;
        ws.ws_row = size->height;
        ::ioctl(process.stdout_fd.get(), TIOCSWINSZ, &ws);
        (void)process.runtime.Signal(SIGWINCH);
      }
    });
  }

  OutputPipe out{process.stdout_fd.get(), false, static_cast<bool>(process.stdout_fd)};
  OutputPipe err{process.stderr_fd.get(), true, static_cast<bool>(process.stderr_fd)};
  for (OutputPipe* p : {&out, &err}) {
    if (p->open) SetNonBlocking(p->fd);
  }
  bool client_gone = false;
  Status failure;
  bool exited = false;
  while (!exited && !client_gone) {
    pollfd fds[3] = {{out.open ? out.fd : -1, POLLIN, 0},
                     {err.open ? err.fd : -1, POLLIN, 0},
                     {process.runtime.pidfd(), POLLIN, 0}};
    int ready = ::poll(fds, 3, kClientCheckMs);
    if (ready < 0) {
      if (errno == EINTR) continue;
      failure = ErrnoError(errno, "poll exec output");
      break;
    }
    if (ready == 0) {
      client_gone = client.ClientGone();
      continue;
    }
    exited = (fds[2].revents & POLLIN) != 0;
    for (OutputPipe* p : {&out, &err}) {
      if (!p->Pump(client)) client_gone = true;
    }
  }
  if (exited && !client_gone) {
    // What the command wrote just before exiting is still buffered; descendants that keep the
    // pipes open are not waited for.
    for (OutputPipe* p : {&out, &err}) {
      if (!p->Pump(client)) client_gone = true;
    }
  }
  if (client_gone || !failure.ok()) process.KillCommand();
  stop_input = true;
  client.StopInput();
  if (stdin_thread.joinable()) stdin_thread.join();
  if (resize_thread.joinable()) resize_thread.join();
  if (client_gone) {
    process.runtime.Kill();
    return Unavailable("the client went away");
  }
  if (!failure.ok()) {
    process.runtime.Kill();
    return failure;
  }
  auto status = process.runtime.Wait();
  if (!status.ok()) return status.status();
  return status->Code();
}

Status RunAttach(AttachTarget& target, ClientStreams& client) {
  int sock = target.socket.get();
  // Set when the client's stdin ended and the attach should end with it.
  os::UniqueFd stdin_done(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stdin_done) return ErrnoError(errno, "eventfd");
  const bool end_with_stdin = !target.tty && !target.stdin_once;
  std::thread stdin_thread;
  std::thread resize_thread;
  if (client.has_stdin()) {
    stdin_thread = std::thread([&] {
      auto send = [&](std::string_view data) { return os::WriteAll(sock, data).ok(); };
      CopyStdin(client, send, [&] {
        ::shutdown(sock, SHUT_WR);  // the monitor sees our end of input
        if (end_with_stdin) {
          uint64_t one = 1;
          (void)!::write(stdin_done.get(), &one, sizeof one);
        }
      });
    });
  }
  if (target.tty && client.has_resize()) {
    resize_thread = std::thread([&] {
      while (auto size = client.NextResize()) {
        os::UniqueFd ctl(::open(target.control_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
        if (!ctl) continue;  // the monitor is gone; the output loop will notice
        (void)os::WriteAll(ctl.get(), absl::StrCat("1 ", size->height, " ", size->width, "\n"));
      }
    });
  }
  Status result;
  std::array<char, 32 * 1024 + 1> buf;
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {stdin_done.get(), POLLIN, 0}};
    int ready = ::poll(fds, 2, kClientCheckMs);
    if (ready < 0) {
      if (errno == EINTR) continue;
      result = ErrnoError(errno, "poll attach socket");
      break;
    }
    if (ready == 0) {
      if (client.ClientGone()) {
        result = Unavailable("the client went away");
        break;
      }
      continue;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0 && (fds[1].revents & POLLIN)) {
      break;  // stdin ended and nothing more to relay
    }
    ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the monitor closed: the container's output ended
    if (n == 1) continue;
    std::string_view data(buf.data() + 1, static_cast<std::size_t>(n - 1));
    Status st = buf[0] == 3 ? client.WriteStderr(data) : client.WriteStdout(data);
    if (!st.ok()) {
      result = Unavailable("the client went away");
      break;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  client.StopInput();
  if (stdin_thread.joinable()) stdin_thread.join();
  if (resize_thread.joinable()) resize_thread.join();
  return result;
}

std::string StatusJson(const StatusOr<int>& result, bool attach) {
  json status = {{"metadata", json::object()}};
  if (result.ok() && *result == 0) {
    status["status"] = "Success";
    return status.dump();
  }
  status["status"] = "Failure";
  if (result.ok()) {
    status["message"] =
        absl::StrCat("command terminated with non-zero exit code: exit status ", *result);
    status["reason"] = "NonZeroExitCode";
    status["details"] = {
        {"causes", json::array({{{"reason", "ExitCode"}, {"message", std::to_string(*result)}}})}};
    return status.dump();
  }
  std::string what = absl::StrCat(
      attach ? "error attaching to container: " : "error executing command in container: ",
      result.status().message());
  status["message"] = absl::StrCat("Internal error occurred: ", what);
  status["reason"] = "InternalError";
  status["details"] = {{"causes", json::array({{{"message", what}}})}};
  status["code"] = 500;
  return status.dump();
}

std::string StatusText(const StatusOr<int>& result, bool attach) {
  if (result.ok() && *result == 0) return "";
  if (result.ok()) return absl::StrCat("command terminated with non-zero exit code ", *result);
  return absl::StrCat(
      attach ? "error attaching to container: " : "error executing command in container: ",
      result.status().message());
}

}  // namespace crio::streaming
