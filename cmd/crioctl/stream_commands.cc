#include "stream_commands.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <list>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "call.h"
#include "os/socket.h"
#include "streaming/client.h"

namespace crioctl {

namespace {

using crio::streaming::TerminalSize;

// This terminal in raw mode for the life of the object (a tty session passes every key on).
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

std::optional<TerminalSize> CurrentSize() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return std::nullopt;
  return TerminalSize{ws.ws_col, ws.ws_row};
}

// The terminal's size now, then again after each SIGWINCH (blocked in every thread by
// BlockWindowChanges, so that sigwait here takes it).
std::function<std::optional<TerminalSize>()> WindowSizes() {
  auto first = std::make_shared<bool>(true);
  return [first]() -> std::optional<TerminalSize> {
    if (!*first) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGWINCH);
      int sig = 0;
      if (sigwait(&set, &sig) != 0) return std::nullopt;
    }
    *first = false;
    auto size = CurrentSize();
    return size ? size : TerminalSize{80, 24};
  };
}

void BlockWindowChanges() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int RunRemoteCommand(const std::string& url, bool tty, bool interactive) {
  crio::streaming::RemoteCommandClientOptions options;
  options.tty = tty;
  options.stdin = interactive;
  options.stdout = true;
  options.stderr = !tty;
  options.stdin_fd = STDIN_FILENO;
  options.stdout_fd = STDOUT_FILENO;
  options.stderr_fd = STDERR_FILENO;
  std::optional<RawTerminal> raw;
  if (tty) {
    BlockWindowChanges();
    options.next_resize = WindowSizes();
    if (interactive) raw.emplace();
  }
  auto code = crio::streaming::RunRemoteCommandClient(url, options);
  raw.reset();
  if (!code.ok()) return Fail(std::string(code.status().message()));
  return *code;
}

// ---- attach ----

struct AttachOptions {
  std::string id;
  bool tty = false;
  bool interactive = false;
};

int CmdAttach(Client& client, const AttachOptions& o) {
  v1::AttachRequest req;
  req.set_container_id(o.id);
  req.set_tty(o.tty);
  req.set_stdin(o.interactive);
  req.set_stdout(true);
  req.set_stderr(!o.tty);
  return CallAndPrint(client, Rpc{"Attach", &RuntimeStub::Attach}, req,
                      [&o](const v1::AttachResponse& resp) {
                        return RunRemoteCommand(resp.url(), o.tty, o.interactive);
                      });
}

// ---- port-forward ----

struct PortForwardOptions {
  std::string pod_id;
  std::vector<std::string> ports;  // LOCAL:REMOTE or PORT
};

struct PortPair {
  int local = 0;
  int remote = 0;
};

std::optional<PortPair> ParsePortPair(const std::string& spec) {
  PortPair p;
  std::size_t colon = spec.find(':');
  std::string local = colon == std::string::npos ? spec : spec.substr(0, colon);
  std::string remote = colon == std::string::npos ? spec : spec.substr(colon + 1);
  if (!absl::SimpleAtoi(local, &p.local) || !absl::SimpleAtoi(remote, &p.remote) || p.local < 0 ||
      p.local > 65535 || p.remote <= 0 || p.remote > 65535) {
    return std::nullopt;
  }
  return p;
}

std::atomic<bool> g_stop_forwarding{false};

int CmdPortForward(Client& client, const PortForwardOptions& o) {
  std::vector<PortPair> pairs;
  for (const auto& spec : o.ports) {
    auto p = ParsePortPair(spec);
    if (!p) return Fail("port \"" + spec + "\": want LOCAL:REMOTE or PORT");
    pairs.push_back(*p);
  }
  if (pairs.empty()) return Fail("usage: port-forward POD-ID LOCAL:REMOTE [LOCAL:REMOTE...]");
  v1::PortForwardRequest req;
  req.set_pod_sandbox_id(o.pod_id);
  for (const auto& p : pairs) req.add_port(p.remote);
  v1::PortForwardResponse resp;
  if (int rc = Call(client, Rpc{"PortForward", &RuntimeStub::PortForward}, req, &resp)) return rc;
  auto dial = crio::streaming::DialSpdy(resp.url(), {"portforward.k8s.io"});
  if (!dial.ok()) return Fail(std::string(dial.status().message()));
  std::vector<crio::os::UniqueFd> listeners;
  for (auto& p : pairs) {
    auto l = crio::os::ListenTcp("127.0.0.1", p.local);
    if (!l.ok()) return Fail(std::string(l.status().message()));
    if (auto bound = crio::os::BoundPort(l->get()); bound.ok()) p.local = *bound;
    std::printf("Forwarding from 127.0.0.1:%d -> %d\n", p.local, p.remote);
    listeners.push_back(std::move(*l));
  }
  std::fflush(stdout);
  ::signal(SIGINT, [](int) { g_stop_forwarding = true; });
  ::signal(SIGTERM, [](int) { g_stop_forwarding = true; });
  std::atomic<int> request_id{0};
  std::list<std::thread> forwards;
  while (!g_stop_forwarding && dial->conn->status().ok()) {
    std::vector<pollfd> fds;
    for (const auto& l : listeners) fds.push_back({l.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 500) <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      int fd = ::accept4(listeners[i].get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int remote = pairs[i].remote;
      forwards.emplace_back([&, fd, remote] {
        crio::os::UniqueFd local(fd);
        std::printf("Handling connection for %d\n", pairs[0].local);
        std::fflush(stdout);
        auto done =
            crio::streaming::ForwardOneConnection(*dial->conn, remote, request_id++, local.get());
        if (!done.ok()) {
          std::fprintf(stderr, "crioctl: forwarding to port %d: %s\n", remote,
                       std::string(done.message()).c_str());
        }
      });
    }
  }
  dial->conn->Close();
  for (auto& t : forwards) t.join();
  return dial->conn->status().ok() || g_stop_forwarding ? 0 : 1;
}

}  // namespace

int StreamExec(Client& client, const std::string& container_id, const std::vector<std::string>& cmd,
               bool tty, bool interactive) {
  v1::ExecRequest req;
  req.set_container_id(container_id);
  for (const auto& a : cmd) req.add_cmd(a);
  req.set_tty(tty);
  req.set_stdin(interactive);
  req.set_stdout(true);
  req.set_stderr(!tty);
  return CallAndPrint(
      client, Rpc{"Exec", &RuntimeStub::Exec}, req,
      [&](const v1::ExecResponse& resp) { return RunRemoteCommand(resp.url(), tty, interactive); });
}

void AddStreamCommands(CLI::App& app, Commands& commands) {
  auto [attach_cmd, attach] =
      AddVerb(app, commands, "attach", "Attach to a running container", CmdAttach);
  attach_cmd->add_option("container-id", attach.id, "CONTAINER-ID")->required();
  attach_cmd->add_flag("--tty,-t", attach.tty, "Stdin is a TTY");
  attach_cmd->add_flag("--stdin,-i", attach.interactive, "Pass stdin to the container");

  auto [pf_cmd, pf] = AddVerb(app, commands, "port-forward",
                              "Forward local ports to a pod (LOCAL:REMOTE)", CmdPortForward);
  pf_cmd->add_option("pod-id", pf.pod_id, "POD-ID")->required();
  pf_cmd->add_option("ports", pf.ports, "LOCAL:REMOTE [LOCAL:REMOTE...]")->required();
}

}  // namespace crioctl
