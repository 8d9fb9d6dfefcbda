// Exec, attach and port-forward over WebSocket against a real http::Server and a Beast client:
// channel framing (binary, base64), protocol negotiation, the status report on the error
// channel, v5 stdin close, terminal resize, port prefixes and echo, back-pressure on large
// output, frames pipelined behind the handshake, and a vanished client killing the command.
// The "container" is /bin/sh on this machine; no root needed.
#include "streaming/websocket_session.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "os/process.h"
#include "os/socket.h"

namespace crio::streaming {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace bh = http::beast_http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kTimeout = 5s;

// ---- the fake container runtime ----

// /bin/sh as the exec'd command, in its own process group so KillCommand gets its children.
class LocalExecProcess final : public oci::ExecProcess {
 public:
  ~LocalExecProcess() override {
    if (runtime.valid() && !runtime.reaped()) {
      KillCommand();
      runtime.Kill();
    }
  }
  void KillCommand() override {
    if (runtime.valid() && !runtime.reaped()) (void)runtime.SignalGroup(SIGKILL);
  }
};

// Wires the command's stdio as ConmonRuntime::StartExec does: a pty, or three pipes.
StatusOr<std::unique_ptr<oci::ExecProcess>> SpawnShell(const std::string& script, bool tty) {
  auto process = std::make_unique<LocalExecProcess>();
  process->tty = tty;
  os::SpawnRequest spawn;
  spawn.argv = {"/bin/sh", "-c", script};
  spawn.new_session = true;
  ASSIGN_OR_RETURN(os::ChildStdio stdio, os::MakeChildStdio(tty));
  stdio.ApplyTo(spawn);
  process->stdin_fd = std::move(stdio.input);
  process->stdout_fd = std::move(stdio.output);
  process->stderr_fd = std::move(stdio.error);
  ASSIGN_OR_RETURN(process->runtime, os::Spawn(spawn));
  return std::unique_ptr<oci::ExecProcess>(std::move(process));
}

constexpr int kRefusedPort = 9;

class FakeBackend final : public Backend {
 public:
  StatusOr<std::unique_ptr<oci::ExecProcess>> StartExec(const StreamRequest& request) override {
    if (request.cmd.empty()) return InvalidArgument("empty command");
    auto process = SpawnShell(request.cmd[0], request.tty);
    if (process.ok()) last_pid = (*process)->runtime.pid();
    return process;
  }
  StatusOr<AttachTarget> Attach(const std::string&) override {
    std::lock_guard lock(mu);
    if (!attach_socket) return Unimplemented("no attach socket");
    AttachTarget target;
    target.socket = std::move(attach_socket);
    return target;
  }
  StatusOr<os::UniqueFd> DialPod(const std::string&, int port) override {
    if (port == kRefusedPort) return Unavailable("connection refused");
    return os::ConnectTcp("127.0.0.1", port);
  }

  std::atomic<pid_t> last_pid{0};
  std::mutex mu;
  os::UniqueFd attach_socket;  // handed to the next Attach
};

// Accepts one connection on 127.0.0.1 and echoes it until EOF.
class EchoServer {
 public:
  EchoServer() {
    auto listener = os::ListenTcp("127.0.0.1", 0);
    EXPECT_TRUE(listener.ok()) << listener.status();
    listener_ = std::move(*listener);
    port_ = *os::BoundPort(listener_.get());
    thread_ = std::thread([this] {
      os::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) return;
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        if (!os::WriteAll(conn.get(), std::string_view(buf, static_cast<size_t>(n))).ok()) break;
      }
      saw_end_ = true;
    });
  }
  ~EchoServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept() if no one came
    thread_.join();
  }
  int port() const { return port_; }
  bool WaitForEnd() {
    for (auto deadline = Clock::now() + kTimeout; Clock::now() < deadline;) {
      if (saw_end_) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

 private:
  os::UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> saw_end_{false};
  std::thread thread_;
};

// ---- the client ----

struct Message {
  int channel = -1;  // -1: an empty message
  std::string data;
  bool text = false;
};

// A WebSocket client speaking the channel protocol; every operation gives up after kTimeout.
class WsClient {
 public:
  // Upgrades GET `path` offering `protocols` (none: no Sec-WebSocket-Protocol header).
  Status Connect(int port, const std::string& path, const std::vector<std::string>& protocols) {
    error_code ec;
    ws_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return Unavailable(ec.message());
    if (!protocols.empty()) {
      std::string offer = absl::StrJoin(protocols, ", ");
      ws_.set_option(websocket::stream_base::decorator([offer](websocket::request_type& req) {
        req.set(bh::field::sec_websocket_protocol, http::Bv(offer));
      }));
    }
    const std::string host = "127.0.0.1:" + std::to_string(port);
    ec = Wait([&](auto handler) { ws_.async_handshake(response_, host, path, handler); });
    if (ec) return FailedPrecondition(absl::StrCat("handshake: ", ec.message()));
    protocol_ = std::string(http::Sv(response_[bh::field::sec_websocket_protocol]));
    base64_ = protocol_.find("base64") != std::string::npos;
    return absl::OkStatus();
  }

  const std::string& protocol() const { return protocol_; }
  const websocket::response_type& response() const { return response_; }

  Status Send(int channel, std::string_view data) {
    if (!base64_) return SendRaw(std::string(1, static_cast<char>(channel)) + std::string(data));
    ws_.text(true);
    return Write(std::string(1, static_cast<char>('0' + channel)) +
                 absl::Base64Escape(absl::string_view(data.data(), data.size())));
  }
  Status SendRaw(std::string bytes) {
    ws_.binary(true);
    return Write(std::move(bytes));
  }

  // The next message; nullopt once the server closed with a close frame.
  StatusOr<std::optional<Message>> Read() {
    beast::flat_buffer buf;
    error_code ec = Wait([&](auto handler) { ws_.async_read(buf, handler); });
    if (ec == websocket::error::closed) return std::optional<Message>();
    if (ec) return Unavailable(absl::StrCat("read: ", ec.message()));
    std::string raw = beast::buffers_to_string(buf.data());
    Message m;
    m.text = ws_.got_text();
    if (raw.empty()) return std::optional<Message>(m);
    m.channel = base64_ ? raw[0] - '0' : static_cast<unsigned char>(raw[0]);
    m.data = raw.substr(1);
    if (base64_) {
      std::string decoded;
      if (!absl::Base64Unescape(absl::string_view(m.data.data(), m.data.size()), &decoded)) {
        return Internal("server sent bad base64");
      }
      m.data = std::move(decoded);
    }
    return std::optional<Message>(std::move(m));
  }

  Status Close() {
    error_code ec =
        Wait([&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
    return ec ? Unavailable(ec.message()) : absl::OkStatus();
  }

  // Vanishes without a close frame.
  void Drop() {
    error_code ignored;
    ws_.next_layer().close(ignored);
  }

  websocket::close_reason reason() const { return ws_.reason(); }

 private:
  Status Write(std::string bytes) {
    error_code ec = Wait([&](auto handler) { ws_.async_write(asio::buffer(bytes), handler); });
    return ec ? Unavailable(absl::StrCat("write: ", ec.message())) : absl::OkStatus();
  }

  // Starts an async operation and runs it to completion or kTimeout (then the socket closes).
  template <typename Start>
  error_code Wait(Start start) {
    std::optional<error_code> result;
    start([&](error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(kTimeout);
    if (result) return *result;
    Drop();
    ioc_.restart();
    ioc_.run();
    return asio::error::timed_out;
  }

  asio::io_context ioc_;
  websocket::stream<tcp::socket> ws_{ioc_};
  websocket::response_type response_;
  std::string protocol_;
  bool base64_ = false;
};

// Everything a session sent until its close frame.
struct Transcript {
  std::vector<Message> messages;
  std::map<int, std::string> channels;  // the data per channel, concatenated
  Status end;                           // OK for a close frame
};

Transcript ReadUntilClosed(WsClient& client) {
  Transcript t;
  for (;;) {
    auto m = client.Read();
    if (!m.ok()) {
      t.end = m.status();
      return t;
    }
    if (!m->has_value()) return t;
    t.channels[(*m)->channel] += (*m)->data;
    t.messages.push_back(std::move(**m));
  }
}

// ---- the fixture: an http::Server routing to the WebSocket sessions ----

class WebSocketSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::Router router;
    router.Handle("/exec", [this](http::Exchange& ex) {
      if (!IsWebSocketRequest(ex.request())) {
        (void)ex.Respond(http::MakeResponse(ex.request(), bh::status::bad_request, "no\n"));
        return;
      }
      auto [request, options] = Snapshot();
      ServeWebSocketRemoteCommand(ex, request, backend_, options);
    });
    router.Handle("/portforward", [this](http::Exchange& ex) {
      auto [request, options] = Snapshot();
      ServeWebSocketPortForward(ex, request, backend_, options);
    });
    auto listener = os::ListenTcp("127.0.0.1", 0);
    ASSERT_TRUE(listener.ok()) << listener.status();
    port_ = *os::BoundPort(listener->get());
    auto server = http::Server::Start(std::move(*listener), std::move(router), {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void SetRequest(StreamRequest request) {
    std::lock_guard lock(mu_);
    request_ = std::move(request);
  }
  void SetOptions(SessionOptions options) {
    std::lock_guard lock(mu_);
    options_ = options;
  }
  std::pair<StreamRequest, SessionOptions> Snapshot() {
    std::lock_guard lock(mu_);
    return {request_, options_};
  }

  static StreamRequest Exec(std::string script, bool in, bool out, bool err, bool tty = false) {
    StreamRequest r;
    r.kind = RequestKind::kExec;
    r.container_id = "ctr1";
    r.cmd = {std::move(script)};
    r.stdin = in;
    r.stdout = out;
    r.stderr = err;
    r.tty = tty;
    return r;
  }

  // Connects, checks the negotiated protocol and the empty "ready" message on `ready_channel`.
  void Open(WsClient& client, const std::string& path, const std::vector<std::string>& offer,
            const std::string& expected_protocol, int ready_channel) {
    ASSERT_TRUE(client.Connect(port_, path, offer).ok());
    EXPECT_EQ(client.protocol(), expected_protocol);
    auto first = client.Read();
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE(first->has_value());
    EXPECT_EQ((*first)->channel, ready_channel);
    EXPECT_EQ((*first)->data, "");
  }

  FakeBackend backend_;
  int port_ = 0;
  std::unique_ptr<http::Server> server_;

 private:
  std::mutex mu_;
  StreamRequest request_;
  SessionOptions options_;
};

json StatusOf(const Transcript& t) {
  auto it = t.channels.find(3);
  if (it == t.channels.end()) return json();
  return json::parse(it->second, nullptr, /*allow_exceptions=*/false);
}

TEST(WebSocketRequest, NeedsUpgradeWebsocketAndConnectionUpgrade) {
  http::Request req{bh::verb::get, "/exec/x", 11};
  EXPECT_FALSE(IsWebSocketRequest(req));
  req.set(bh::field::upgrade, "WebSocket");
  req.set(bh::field::connection, "keep-alive, Upgrade");
  EXPECT_TRUE(IsWebSocketRequest(req));
  req.set(bh::field::connection, "keep-alive");
  EXPECT_FALSE(IsWebSocketRequest(req));
  req.set(bh::field::connection, "upgrade");
  req.set(bh::field::upgrade, "SPDY/3.1");
  EXPECT_FALSE(IsWebSocketRequest(req));
}

TEST_F(WebSocketSessionTest, ExecV4BinarySplitsOutputAndReportsTheExitCode) {
  SetRequest(Exec("echo out; echo err >&2; exit 3", false, true, true));
  WsClient client;
  Open(client, "/exec", {"v4.channel.k8s.io"}, "v4.channel.k8s.io", 1);
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_EQ(client.reason().code, websocket::close_code::normal);
  EXPECT_EQ(t.channels[1], "out\n");
  EXPECT_EQ(t.channels[2], "err\n");
  json status = StatusOf(t);
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "NonZeroExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");
  for (const Message& m : t.messages) EXPECT_FALSE(m.text);
}

TEST_F(WebSocketSessionTest, ExecBase64SendsTextFramesAndSuccess) {
  SetRequest(Exec("printf 'a\\000b'; printf 'e' >&2", false, true, true));
  WsClient client;
  Open(client, "/exec", {"v4.base64.channel.k8s.io"}, "v4.base64.channel.k8s.io", 1);
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_EQ(t.channels[1], std::string("a\0b", 3));
  EXPECT_EQ(t.channels[2], "e");
  EXPECT_EQ(t.channels[3], R"({"metadata":{},"status":"Success"})");
  for (const Message& m : t.messages) EXPECT_TRUE(m.text);
}

TEST_F(WebSocketSessionTest, PreV4ProtocolsReportPlainTextAndNothingOnSuccess) {
  {
    SetRequest(Exec("exit 3", false, true, true));
    WsClient client;
    // The client's first supported choice wins, not the server's newest.
    Open(client, "/exec", {"bogus.k8s.io", "channel.k8s.io", "v4.channel.k8s.io"}, "channel.k8s.io",
         1);
    Transcript t = ReadUntilClosed(client);
    ASSERT_TRUE(t.end.ok()) << t.end;
    EXPECT_EQ(t.channels[3], "command terminated with non-zero exit code 3");
  }
  {
    SetRequest(Exec("true", false, false, true));
    WsClient client;
    Open(client, "/exec", {}, "", 2);  // no header: binary; stderr is the lowest writable
    Transcript t = ReadUntilClosed(client);
    ASSERT_TRUE(t.end.ok()) << t.end;
    EXPECT_EQ(t.channels.count(3), 0u);
  }
}

TEST_F(WebSocketSessionTest, RefusesUnknownProtocolsWith403) {
  SetRequest(Exec("true", false, true, true));
  WsClient client;
  Status st = client.Connect(port_, "/exec", {"v3.channel.k8s.io"});
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(client.response().result(), bh::status::forbidden);
  EXPECT_EQ(backend_.last_pid.load(), 0);
}

TEST_F(WebSocketSessionTest, V5CloseMessageEndsStdin) {
  SetRequest(Exec("cat", true, true, true));
  WsClient client;
  Open(client, "/exec", {"v5.channel.k8s.io", "v4.channel.k8s.io"}, "v5.channel.k8s.io", 1);
  ASSERT_TRUE(client.Send(0, "hello ").ok());
  ASSERT_TRUE(client.Send(0, "world").ok());
  ASSERT_TRUE(client.SendRaw(std::string("\xff\x00", 2)).ok());
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_EQ(t.channels[1], "hello world");
  EXPECT_EQ(StatusOf(t)["status"], "Success");
}

TEST_F(WebSocketSessionTest, StdinFasterThanTheCommandReadsIsHeldBackNotLost) {
  // 3 MiB while the command sleeps: more than the session buffers, so reading pauses (and
  // the client's writes wait on TCP) until the command catches up.
  SetRequest(Exec("sleep 0.2; wc -c | tr -d ' '", true, true, true));
  WsClient client;
  Open(client, "/exec", {"v5.channel.k8s.io"}, "v5.channel.k8s.io", 1);
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 48; ++i) ASSERT_TRUE(client.Send(0, chunk).ok());
  ASSERT_TRUE(client.SendRaw(std::string("\xff\x00", 2)).ok());
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_EQ(t.channels[1], "3145728\n");
  EXPECT_EQ(StatusOf(t)["status"], "Success");
}

TEST_F(WebSocketSessionTest, TtyResizeReachesThePty) {
  if (::access("/bin/stty", X_OK) != 0 && ::access("/usr/bin/stty", X_OK) != 0) {
    GTEST_SKIP() << "no stty";
  }
  // Polls until the size arrives: the resize and the command race otherwise.
  SetRequest(
      Exec("i=0; while [ $i -lt 200 ]; do s=$(stty size); [ \"$s\" = '40 100' ] && break; "
           "i=$((i+1)); sleep 0.01; done; echo \"size=$s\"",
           true, true, false, /*tty=*/true));
  WsClient client;
  Open(client, "/exec", {"v4.channel.k8s.io"}, "v4.channel.k8s.io", 1);
  ASSERT_TRUE(client.Send(4, R"({"Width":100,"Height":40})").ok());
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_NE(t.channels[1].find("size=40 100"), std::string::npos) << t.channels[1];
  EXPECT_EQ(StatusOf(t)["status"], "Success");
}

TEST_F(WebSocketSessionTest, LargeOutputArrivesIntact) {
  SetRequest(Exec("dd if=/dev/zero bs=65536 count=32 2>/dev/null", false, true, true));
  WsClient client;
  Open(client, "/exec", {"base64.channel.k8s.io"}, "base64.channel.k8s.io", 1);
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_EQ(t.channels[1], std::string(2 << 20, '\0'));
  EXPECT_EQ(t.channels.count(3), 0u);
}

TEST_F(WebSocketSessionTest, AttachRelaysBothWaysAndEndsWithStdin) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  os::UniqueFd monitor(sv[1]);
  {
    std::lock_guard lock(backend_.mu);
    backend_.attach_socket.reset(sv[0]);
  }
  timeval tv{5, 0};
  ::setsockopt(monitor.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  StreamRequest request = Exec("", true, true, true);
  request.kind = RequestKind::kAttach;
  SetRequest(request);
  WsClient client;
  Open(client, "/exec", {"v5.channel.k8s.io"}, "v5.channel.k8s.io", 1);
  ASSERT_TRUE(client.Send(0, "ping").ok());
  char buf[64];
  ssize_t n = ::recv(monitor.get(), buf, sizeof buf, 0);
  ASSERT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "ping");
  ASSERT_TRUE(os::WriteAll(monitor.get(), "\x02pong").ok());
  ASSERT_TRUE(os::WriteAll(monitor.get(), "\x03oops").ok());
  auto out = client.Read();
  ASSERT_TRUE(out.ok() && out->has_value());
  EXPECT_EQ((*out)->channel, 1);
  EXPECT_EQ((*out)->data, "pong");
  auto err = client.Read();
  ASSERT_TRUE(err.ok() && err->has_value());
  EXPECT_EQ((*err)->channel, 2);
  EXPECT_EQ((*err)->data, "oops");
  ASSERT_TRUE(client.SendRaw(std::string("\xff\x00", 2)).ok());
  EXPECT_EQ(::recv(monitor.get(), buf, sizeof buf, 0), 0);  // the monitor sees stdin's end
  Transcript t = ReadUntilClosed(client);
  ASSERT_TRUE(t.end.ok()) << t.end;
  EXPECT_EQ(StatusOf(t)["status"], "Success");
}

TEST_F(WebSocketSessionTest, ClientThatVanishesGetsTheCommandKilled) {
  SetRequest(Exec("while :; do echo tick; sleep 0.05; done", false, true, true));
  WsClient client;
  Open(client, "/exec", {"v4.channel.k8s.io"}, "v4.channel.k8s.io", 1);
  auto tick = client.Read();
  ASSERT_TRUE(tick.ok() && tick->has_value());
  EXPECT_EQ((*tick)->data, "tick\n");
  const pid_t pid = backend_.last_pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, 0), 0);
  client.Drop();
  bool gone = false;
  for (auto deadline = Clock::now() + kTimeout; !gone && Clock::now() < deadline;) {
    gone = ::kill(pid, 0) < 0 && errno == ESRCH;  // killed and reaped
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone);
  for (int i = 0; i < 500 && server_->active_connections() != 0; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(server_->active_connections(), 0u);
}

// A masked client frame (RFC 6455 5.2), payload under 126 bytes.
std::string ClientFrame(std::string_view payload) {
  const char mask[4] = {1, 2, 3, 4};
  std::string f = {static_cast<char>(0x82), static_cast<char>(0x80 | payload.size())};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(payload[i] ^ mask[i % 4]);
  return f;
}

TEST_F(WebSocketSessionTest, FramesSentRightBehindTheHandshakeAreNotLost) {
  SetRequest(Exec("cat", true, true, true));
  auto fd = os::ConnectTcp("127.0.0.1", port_);
  ASSERT_TRUE(fd.ok());
  timeval tv{5, 0};
  ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string bytes =
      "GET /exec HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n";
  bytes += ClientFrame(std::string("\0hi", 3)) + ClientFrame(std::string("\xff\x00", 2));
  ASSERT_TRUE(os::WriteAll(fd->get(), bytes).ok());  // one write: the server reads it at once
  std::string in;
  auto fill = [&](size_t want) {
    char buf[4096];
    while (in.size() < want) {
      ssize_t n = ::recv(fd->get(), buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
    }
    return true;
  };
  size_t head_end;
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos) ASSERT_TRUE(fill(in.size() + 1));
  std::string head = in.substr(0, head_end);
  in.erase(0, head_end + 4);
  EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  EXPECT_NE(head.find("v5.channel.k8s.io"), std::string::npos) << head;
  std::string stdout_data;
  for (;;) {  // unmasked server frames until the close frame
    ASSERT_TRUE(fill(2));
    const int opcode = in[0] & 0x0f;
    size_t len = static_cast<unsigned char>(in[1]) & 0x7f, at = 2;
    if (len == 126) {
      ASSERT_TRUE(fill(4));
      len = (static_cast<unsigned char>(in[2]) << 8) | static_cast<unsigned char>(in[3]);
      at = 4;
    }
    ASSERT_LT(len, 65536u);
    ASSERT_TRUE(fill(at + len));
    std::string payload = in.substr(at, len);
    in.erase(0, at + len);
    if (opcode == 8) break;
    if (!payload.empty() && payload[0] == 1) stdout_data += payload.substr(1);
  }
  EXPECT_EQ(stdout_data, "hi");
}

TEST_F(WebSocketSessionTest, PortForwardEchoesAndReportsDialErrors) {
  EchoServer echo;
  StreamRequest request;
  request.kind = RequestKind::kPortForward;
  request.pod_id = "pod1";
  request.ports = {echo.port(), kRefusedPort};
  SetRequest(request);
  WsClient client;
  ASSERT_TRUE(client.Connect(port_, "/portforward", {"v4.channel.k8s.io"}).ok());
  EXPECT_EQ(client.protocol(), "v4.channel.k8s.io");
  auto le16 = [](int port) {
    return std::string{static_cast<char>(port & 0xff), static_cast<char>(port >> 8)};
  };
  std::map<int, std::vector<std::string>> got;
  auto read_until = [&](auto done) {
    while (!done()) {
      auto m = client.Read();
      ASSERT_TRUE(m.ok()) << m.status();
      ASSERT_TRUE(m->has_value());
      got[(*m)->channel].push_back((*m)->data);
    }
  };
  read_until([&] { return got[0].size() >= 1 && got[1].size() >= 1 && got[3].size() >= 2; });
  EXPECT_EQ(got[0][0], le16(echo.port()));
  EXPECT_EQ(got[1][0], le16(echo.port()));
  EXPECT_EQ(got[2][0], le16(kRefusedPort));
  EXPECT_EQ(got[3][0], le16(kRefusedPort));
  EXPECT_EQ(got[3][1], "error forwarding port 9 to pod pod1, uid : connection refused");
  ASSERT_TRUE(client.Send(0, "hello").ok());
  std::string echoed;
  read_until([&] {
    echoed.clear();
    for (size_t i = 1; i < got[0].size(); ++i) echoed += got[0][i];
    return echoed.size() >= 5;
  });
  EXPECT_EQ(echoed, "hello");
  EXPECT_TRUE(client.Close().ok());
  EXPECT_TRUE(echo.WaitForEnd());  // the pod connection is closed with the session
}

TEST_F(WebSocketSessionTest, PortForwardBase64AndIdleTimeout) {
  EchoServer echo;
  StreamRequest request;
  request.kind = RequestKind::kPortForward;
  request.pod_id = "pod1";
  request.ports = {echo.port()};
  SetRequest(request);
  SessionOptions options;
  options.idle_timeout = 300ms;
  SetOptions(options);
  WsClient client;
  ASSERT_TRUE(client.Connect(port_, "/portforward", {"v4.base64.channel.k8s.io"}).ok());
  ASSERT_TRUE(client.Send(0, "abc").ok());
  std::string data;
  int prefixes = 0;
  while (data != "abc") {
    auto m = client.Read();
    ASSERT_TRUE(m.ok() && m->has_value()) << m.status();
    EXPECT_TRUE((*m)->text);
    if (prefixes < 2) {
      ++prefixes;
      EXPECT_EQ((*m)->data.size(), 2u);
      continue;
    }
    EXPECT_EQ((*m)->channel, 0);
    data += (*m)->data;
  }
  const auto idle_since = Clock::now();
  auto m = client.Read();  // nothing more comes: the server drops the idle connection
  EXPECT_FALSE(m.ok() && m->has_value());
  EXPECT_GE(Clock::now() - idle_since, 250ms);
  EXPECT_LT(Clock::now() - idle_since, 3s);
  EXPECT_TRUE(echo.WaitForEnd());
}

TEST_F(WebSocketSessionTest, PortForwardRefusesInvalidPortsBeforeUpgrading) {
  StreamRequest request;
  request.kind = RequestKind::kPortForward;
  request.pod_id = "pod1";
  request.ports = {70000};
  SetRequest(request);
  WsClient client;
  EXPECT_FALSE(client.Connect(port_, "/portforward", {"v4.channel.k8s.io"}).ok());
  EXPECT_EQ(client.response().result(), bh::status::bad_request);
}

}  // namespace
}  // namespace crio::streaming
