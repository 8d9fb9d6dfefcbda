#include "streaming/spdy_session.h"
#include "streaming/socket_registry.h"

#include <sys/socket.h>

#include <array>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "os/socket.h"
#include "streaming/remote_command.h"
#include "streaming/spdy_connection.h"
#include "util/log.h"

namespace crio::streaming {

namespace {

using namespace std::chrono_literals;
using spdy::FindHeader;
using StreamPtr = std::shared_ptr<spdy::Stream>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kCopyChunk = 64 * 1024;

std::unique_ptr<spdy::Connection> StartServerConnection(http::UpgradedConnection& conn) {
  auto c = std::make_unique<spdy::Connection>(
      std::make_unique<spdy::FdTransport>(std::move(conn.fd)), spdy::Connection::Role::kServer,
      std::move(conn.initial_bytes));
  c->Start();
  return c;
}

// The client's streams of one exec or attach.
class SpdyClientStreams final : public ClientStreams {
 public:
  explicit SpdyClientStreams(spdy::Connection& conn) : conn_(conn) {}
  StreamPtr error, stdin, stdout, stderr, resize;

  bool ClientGone() const override { return !conn_.status().ok(); }

  bool has_stdin() const override { return stdin != nullptr; }
  bool has_stdout() const override { return stdout != nullptr; }
  bool has_stderr() const override { return stderr != nullptr; }
  bool has_resize() const override { return resize != nullptr; }

  StatusOr<std::size_t> ReadStdin(char* buf, std::size_t len) override {
    if (stopped_) return Cancelled();
    return stdin->Read(buf, len);
  }

  std::optional<TerminalSize> NextResize() override {
    // One JSON object per line ({"Width":80,"Height":24}); bad lines are skipped.
    for (;;) {
      if (stopped_) return std::nullopt;
      if (auto nl = resize_buffer_.find('\n'); nl != std::string::npos) {
        std::string line = resize_buffer_.substr(0, nl);
        resize_buffer_.erase(0, nl + 1);
        if (auto size = ParseTerminalSize(line)) return size;
        continue;
      }
      if (resize_buffer_.size() > 4096) resize_buffer_.clear();  // no sane line is this long
      std::array<char, 512> buf;
      auto n = resize->Read(buf.data(), buf.size());
      if (!n.ok() || *n == 0) {
        // The last object may come without its newline.
        auto last = ParseTerminalSize(resize_buffer_);
        resize_buffer_.clear();
        if (last) return last;
        return std::nullopt;
      }
      resize_buffer_.append(buf.data(), *n);
    }
  }

  void StopInput() override {
    stopped_ = true;
    // Wakes the blocked reads; the client stops sending on a reset stream.
    if (stdin) stdin->Reset();
    if (resize) resize->Reset();
  }

  Status WriteStdout(std::string_view data) override { return stdout->Write(data); }
  Status WriteStderr(std::string_view data) override {
    // A tty session has one output stream; anything for stderr goes with stdout.
    return stderr ? stderr->Write(data) : stdout->Write(data);
  }

 private:
  static Status Cancelled() { return absl::CancelledError("stdin closed"); }
  spdy::Connection& conn_;
  std::atomic<bool> stopped_{false};
  std::string resize_buffer_;
};

// Waits for the streams `request` needs, by type, until the creation timeout.
bool AcceptRemoteCommandStreams(spdy::Connection& conn, RemoteCommandVersion version,
                                const StreamRequest& request, const SessionOptions& options,
                                SpdyClientStreams& streams) {
  const bool resize = request.tty && version >= RemoteCommandVersion::kV3;
  const int expected =
      1 + request.stdin + request.stdout + (request.stderr && !request.tty) + resize;
  const auto deadline = Clock::now() + options.stream_creation_timeout;
  int received = 0;
  while (received < expected) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return false;
    StreamPtr s = conn.AcceptStream(left);
    if (s == nullptr) return false;
    std::string_view type = FindHeader(s->headers(), "streamtype");
    StreamPtr* slot = type == "error"    ? &streams.error
                      : type == "stdin"  ? &streams.stdin
                      : type == "stdout" ? &streams.stdout
                      : type == "stderr" ? &streams.stderr
                      : type == "resize" ? &streams.resize
                                         : nullptr;
    if (slot == nullptr) {
      CRIO_LOG_WARN("streaming: ignoring a stream of unknown type \"{}\"", type);
      continue;
    }
    *slot = std::move(s);
    ++received;
  }
  return streams.error != nullptr && (streams.stdout != nullptr || !request.stdout);
}

// Reports the outcome on the error stream as `version` wants it, then ends every stream.
void FinishRemoteCommand(RemoteCommandVersion version, const StatusOr<int>& result, bool attach,
                         SpdyClientStreams& streams) {
  if (streams.error != nullptr && version != RemoteCommandVersion::kV1) {
    std::string report = version == RemoteCommandVersion::kV4 ? StatusJson(result, attach)
                                                              : StatusText(result, attach);
    if (!report.empty()) (void)streams.error->Write(report);
  }
  for (const StreamPtr& s : {streams.stdout, streams.stderr, streams.error}) {
    if (s != nullptr) (void)s->CloseWrite();
  }
}

}  // namespace

std::optional<RemoteCommandVersion> ParseRemoteCommandVersion(std::string_view protocol) {
  if (protocol == kProtocolV4) return RemoteCommandVersion::kV4;
  if (protocol == kProtocolV3) return RemoteCommandVersion::kV3;
  if (protocol == kProtocolV2) return RemoteCommandVersion::kV2;
  if (protocol == kProtocolV1) return RemoteCommandVersion::kV1;
  return std::nullopt;
}

void ServeSpdyRemoteCommand(http::UpgradedConnection upgraded, RemoteCommandVersion version,
                            const StreamRequest& request, Backend& backend,
                            const SessionOptions& options) {
  const bool attach = request.kind == RequestKind::kAttach;
  const std::string& id = request.container_id;
  auto conn = StartServerConnection(upgraded);
  SpdyClientStreams streams(*conn);
  if (!AcceptRemoteCommandStreams(*conn, version, request, options, streams)) {
    CRIO_LOG_WARN("{} in container {}: timed out waiting for the client to create streams",
                  attach ? "attach" : "exec", id);
    conn->Close();
    return;
  }
  // Our side of stdin stays open: Go clients read it and, when it ends, end their own input
  // (how a server stops an interactive session). Only v1 closes it at once, as kubelet 1.0 did,
  // and resets the error stream, which v1 clients do not read.
  if (version == RemoteCommandVersion::kV1) {
    if (streams.stdin != nullptr) (void)streams.stdin->CloseWrite();
    if (streams.error != nullptr) streams.error->Reset();
    streams.error = nullptr;
  }
  StatusOr<int> result = 0;
  if (attach) {
    auto target = backend.Attach(id);
    if (!target.ok()) {
      result = target.status();
    } else {
      Status st = RunAttach(*target, streams);
      result = st.ok() ? StatusOr<int>(0) : StatusOr<int>(st);
    }
  } else {
    auto process = backend.StartExec(request);
    result = process.ok() ? RunExec(**process, streams) : StatusOr<int>(process.status());
  }
  if (result.ok()) {
    CRIO_LOG_DEBUG("{} in container {} ended with exit code {}", attach ? "attach" : "exec", id,
                   *result);
  } else {
    CRIO_LOG_INFO("{} in container {}: {}", attach ? "attach" : "exec", id,
                  result.status().ToString());
  }
  FinishRemoteCommand(version, result, attach, streams);
  conn->GoAway();
  conn->WaitClosed(options.linger);
  conn->Close();
}

namespace {

// One forwarded TCP connection: the client's data and error streams for a port.
struct ForwardPair {
  int port = 0;
  StreamPtr data;
  StreamPtr error;
  Clock::time_point first_seen;
};

// Copies the client's data stream into the pod's socket until the client's FIN (then
// half-closes the socket) or a reset. Tells `done` when it ends.
void CopyClientToPod(spdy::Stream& data, int fd, std::function<void()> done) {
  std::array<char, kCopyChunk> buf;
  for (;;) {
    auto n = data.Read(buf.data(), buf.size());
    if (!n.ok()) {
      ::shutdown(fd, SHUT_RDWR);
      break;
    }
    if (*n == 0) {
      ::shutdown(fd, SHUT_WR);
      break;
    }
    if (!os::WriteAll(fd, std::string_view(buf.data(), *n)).ok()) break;
  }
  done();
}

void Forward(ForwardPair pair, const StreamRequest& request, Backend& backend,
             SocketRegistry& sockets) {
  auto fd = backend.DialPod(request.pod_id, pair.port);
  if (!fd.ok()) {
    std::string message = absl::StrCat("error forwarding port ", pair.port, " to pod ",
                                       request.pod_id, ", uid : ", fd.status().message());
    CRIO_LOG_INFO("port forward to pod {}: {}", request.pod_id, message);
    (void)pair.error->Write(message);
    (void)pair.error->CloseWrite();
    (void)pair.data->CloseWrite();
    return;
  }
  sockets.Add(fd->get());
  std::mutex mu;
  std::condition_variable cv;
  bool upstream_done = false;
  std::thread upstream(CopyClientToPod, std::ref(*pair.data), fd->get(), [&] {
    std::lock_guard lock(mu);
    upstream_done = true;
    cv.notify_all();
  });
  std::array<char, kCopyChunk> buf;
  for (;;) {
    ssize_t n = ::recv(fd->get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!pair.data->Write(std::string_view(buf.data(), static_cast<std::size_t>(n))).ok()) break;
  }
  (void)pair.data->CloseWrite();
  {
    // The pod closed: give the client a moment to finish its side (as CRI-O does), then stop.
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 1s, [&] { return upstream_done; })) {
      lock.unlock();
      pair.data->Reset();
      ::shutdown(fd->get(), SHUT_RDWR);
    }
  }
  upstream.join();
  (void)pair.error->CloseWrite();
  sockets.Remove(fd->get());
}

// The pair key: the requestID header, else (clients before requestID) derived from stream ids.
std::string PairKey(const spdy::Stream& s, bool is_error) {
  std::string_view id = FindHeader(s.headers(), "requestid");
  if (!id.empty()) return std::string(id);
  return std::to_string(is_error ? s.id() : s.id() - 2);
}

}  // namespace

void ServeSpdyPortForward(http::UpgradedConnection upgraded, const StreamRequest& request,
                          Backend& backend, const SessionOptions& options) {
  auto conn = StartServerConnection(upgraded);
  std::map<std::string, ForwardPair> pending;
  struct Running {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Running> forwards;
  auto join_finished = [&] {
    forwards.remove_if([](Running& r) {
      if (!*r.done) return false;
      r.thread.join();
      return true;
    });
  };
  SocketRegistry sockets;
  for (;;) {
    join_finished();
    if (Clock::now() - conn->last_activity() > options.idle_timeout) {
      CRIO_LOG_INFO("port forward to pod {}: idle for {} s, closing", request.pod_id,
                    std::chrono::duration_cast<std::chrono::seconds>(options.idle_timeout).count());
      break;
    }
    // Pairs whose second stream never came.
    for (auto it = pending.begin(); it != pending.end();) {
      if (Clock::now() - it->second.first_seen < options.stream_creation_timeout) {
        ++it;
        continue;
      }
      if (it->second.error != nullptr) {
        (void)it->second.error->Write(
            absl::StrCat("(request=", it->first, ") timed out waiting for streams"));
        (void)it->second.error->CloseWrite();
      }
      if (it->second.data != nullptr) it->second.data->Reset();
      it = pending.erase(it);
    }
    StreamPtr s = conn->AcceptStream(1s);
    if (s == nullptr) {
      if (!conn->status().ok() || conn->WaitClosed(0ms)) break;
      continue;
    }
    std::string_view type = FindHeader(s->headers(), "streamtype");
    int port = 0;
    if (!absl::SimpleAtoi(std::string(FindHeader(s->headers(), "port")), &port) || port <= 0 ||
        port > 65535 || (type != "data" && type != "error")) {
      CRIO_LOG_WARN("port forward to pod {}: refusing a stream (type \"{}\", port \"{}\")",
                    request.pod_id, type, FindHeader(s->headers(), "port"));
      s->Reset(spdy::RstStatus::kProtocolError);
      continue;
    }
    const bool is_error = type == "error";
    std::string key = PairKey(*s, is_error);
    ForwardPair& pair = pending[key];
    if (pair.first_seen == Clock::time_point{}) {
      pair.first_seen = Clock::now();
      pair.port = port;
    }
    StreamPtr& slot = is_error ? pair.error : pair.data;
    if (slot != nullptr) {
      if (pair.error != nullptr) {
        (void)pair.error->Write(absl::StrCat("error processing stream for request ", key, ": ",
                                             std::string(type), " stream already assigned"));
      }
      s->Reset();
      continue;
    }
    slot = std::move(s);
    if (pair.data != nullptr && pair.error != nullptr) {
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread t([&request, &backend, &sockets, done, p = std::move(pair)]() mutable {
        Forward(std::move(p), request, backend, sockets);
        *done = true;
      });
      forwards.push_back(Running{std::move(t), done});
      pending.erase(key);
    }
  }
  for (auto& [key, pair] : pending) {
    if (pair.data) pair.data->Reset();
    if (pair.error) pair.error->Reset();
  }
  conn->Close();  // fails every stream read and write
  sockets.ShutdownAll();
  for (auto& r : forwards) r.thread.join();
}

}  // namespace crio::streaming
