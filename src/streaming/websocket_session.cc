#include "streaming/websocket_session.h"
#include "streaming/socket_registry.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "os/socket.h"
#include "streaming/remote_command.h"
#include "streaming/server.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::streaming {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace bh = http::beast_http;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using Socket = asio::generic::stream_protocol::socket;

// The largest message a client may send (a stdin chunk, a resize, forwarded data).
constexpr std::size_t kMaxMessage = 1 << 20;
// Client bytes waiting for their reader beyond which the session stops reading the socket,
// so that a client writing faster than the command reads holds memory to this.
constexpr std::size_t kMaxBufferedInput = 1 << 20;
// Resize messages kept for a reader that may never come (an attach to a container without a
// terminal): the oldest are dropped.
constexpr std::size_t kMaxBufferedResize = 64 * 1024;
constexpr std::size_t kCopyChunk = 32 * 1024;

// Remote-command channels (k8s.io/apimachinery remotecommand constants).
constexpr int kStdinChannel = 0;
constexpr int kStdoutChannel = 1;
constexpr int kStderrChannel = 2;
constexpr int kErrorChannel = 3;
constexpr int kResizeChannel = 4;
// v5: a binary message [kStreamClose, channel] half-closes the channel.
constexpr unsigned char kStreamClose = 255;

const std::vector<std::string>& RemoteCommandWebSocketProtocols() {
  static const std::vector<std::string> kAll = {
      kWebSocketProtocolV5,     kWebSocketProtocolV4Binary, kWebSocketProtocolV4Base64,
      kWebSocketProtocolBinary, kWebSocketProtocolBase64,   ""};
  return kAll;
}

const std::vector<std::string>& PortForwardWebSocketProtocols() {
  static const std::vector<std::string> kAll = {kWebSocketProtocolV4Binary,
                                                kWebSocketProtocolV4Base64, ""};
  return kAll;
}

// How a negotiated subprotocol frames its messages and reports the outcome.
struct Framing {
  bool base64 = false;        // text messages: '0'+channel, then base64
  bool json_status = false;   // v4 and v5: a metav1.Status on the error channel
  bool stream_close = false;  // v5: [255, channel] half-closes a channel
};

Framing FramingFor(std::string_view protocol) {
  Framing f;
  f.base64 = protocol == kWebSocketProtocolV4Base64 || protocol == kWebSocketProtocolBase64;
  f.json_status = protocol == kWebSocketProtocolV5 || protocol == kWebSocketProtocolV4Binary ||
                  protocol == kWebSocketProtocolV4Base64;
  f.stream_close = protocol == kWebSocketProtocolV5;
  return f;
}

std::string EncodeMessage(const Framing& framing, int channel, std::string_view data) {
  if (!framing.base64) {
    std::string out(1, static_cast<char>(channel));
    out.append(data);
    return out;
  }
  std::string out(1, static_cast<char>('0' + channel));
  out += absl::Base64Escape(absl::string_view(data.data(), data.size()));
  return out;
}

// Whether the comma-separated `header` holds `token`, ignoring case ("keep-alive, Upgrade").
bool HasToken(std::string_view header, std::string_view token) {
  const std::string want = absl::AsciiStrToLower(std::string(token));
  for (std::string part : util::SplitNonEmpty(header, ',')) {
    absl::StripAsciiWhitespace(&part);
    if (absl::AsciiStrToLower(part) == want) return true;
  }
  return false;
}

// Every Sec-WebSocket-Protocol value (the header may repeat, each may hold several).
std::vector<std::string> OfferedProtocols(const http::Request& request) {
  std::vector<std::string> values;
  for (const auto& field : request) {
    if (field.name() == bh::field::sec_websocket_protocol) {
      values.emplace_back(http::Sv(field.value()));
    }
  }
  return values;
}

// The client's first offered protocol in `supported`, as the kubelet picks it; "" when the
// client offers none. On no match, answers 403 and returns nullopt.
std::optional<std::string> NegotiateOrRefuse(http::Exchange& exchange,
                                             const std::vector<std::string>& supported) {
  const http::Request& req = exchange.request();
  std::vector<std::string> offered = OfferedProtocols(req);
  if (auto protocol = NegotiateProtocol(offered, supported)) return protocol;
  bool offered_any = false;
  for (const std::string& value : offered) {
    for (std::string p : util::SplitNonEmpty(value, ',')) {
      absl::StripAsciiWhitespace(&p);
      offered_any = offered_any || !p.empty();
    }
  }
  if (!offered_any) return std::string();
  (void)exchange.Respond(http::MakeResponse(
      req, bh::status::forbidden,
      absl::StrCat("unable to upgrade: requested protocol(s) are not supported: [",
                   absl::StrJoin(offered, ", "), "]; supports [", absl::StrJoin(supported, ", "),
                   "]\n")));
  return std::nullopt;
}

// Wraps the hijacked socket for Asio, in its own address family: our listener's sockets are
// TCP over IPv4 or IPv6, and a unix socket works the same way.
Status AdoptSocket(Socket& socket, os::UniqueFd fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    return ErrnoError(errno, "getsockname on the upgraded socket");
  }
  const int family = addr.ss_family;
  if (family == AF_INET || family == AF_INET6) {
    // Small messages (a status after the output, the close frame after it) must not wait
    // for the peer's delayed ACK.
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  asio::generic::stream_protocol protocol(family, family == AF_UNIX ? 0 : IPPROTO_TCP);
  error_code ec;
  socket.assign(protocol, fd.get(), ec);
  if (ec) return Internal(absl::StrCat("adopt the upgraded socket: ", ec.message()));
  fd.release();  // the Asio socket owns it now
  return absl::OkStatus();
}

// Client bytes for one channel, from the session's read loop to a thread that blocks for
// them. Thread-safe.
class InputQueue {
 public:
  // `limit` bytes may wait; beyond it the read loop pauses (ShouldPause) or, with
  // `drop_oldest`, the oldest chunks go.
  InputQueue(std::size_t limit, bool drop_oldest) : limit_(limit), drop_oldest_(drop_oldest) {}

  // Runs on the reader's thread when a backlog that paused reading has drained.
  void set_on_drained(std::function<void()> f) { on_drained_ = std::move(f); }

  // Queues a chunk; dropped once the queue ended.
  void Push(std::string data) {
    std::lock_guard lock(mu_);
    if (eof_ || failed_ || data.empty()) return;
    bytes_ += data.size();
    chunks_.push_back(std::move(data));
    while (drop_oldest_ && bytes_ > limit_ && chunks_.size() > 1) {
      bytes_ -= chunks_.front().size();
      chunks_.pop_front();
      offset_ = 0;
    }
    cv_.notify_all();
  }

  // The client's end of input: readers get EOF after what is queued.
  void Close() {
    std::lock_guard lock(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  // No more input, not even what is queued: readers fail from now on.
  void Fail() {
    std::function<void()> drained;
    {
      std::lock_guard lock(mu_);
      failed_ = true;
      chunks_.clear();
      bytes_ = offset_ = 0;
      cv_.notify_all();
      if (throttled_) {
        throttled_ = false;
        drained = on_drained_;
      }
    }
    if (drained) drained();
  }

  // Read loop: whether to stop reading the socket until on_drained runs.
  bool ShouldPause() {
    std::lock_guard lock(mu_);
    if (drop_oldest_ || bytes_ <= limit_) return false;
    throttled_ = true;
    return true;
  }

  // Up to `len` queued bytes; 0 at EOF. Errors: Cancelled after Fail().
  StatusOr<std::size_t> Read(char* buf, std::size_t len) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return failed_ || eof_ || !chunks_.empty(); });
    if (failed_) return absl::CancelledError("input closed");
    if (chunks_.empty()) return 0;
    std::string& front = chunks_.front();
    const std::size_t n = std::min(len, front.size() - offset_);
    std::copy_n(front.data() + offset_, n, buf);
    offset_ += n;
    if (offset_ == front.size()) {
      chunks_.pop_front();
      offset_ = 0;
    }
    bytes_ -= n;
    return Drained(lock, n);
  }

  // The next queued chunk; nullopt at EOF. Errors: Cancelled after Fail().
  StatusOr<std::optional<std::string>> Next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return failed_ || eof_ || !chunks_.empty(); });
    if (failed_) return absl::CancelledError("input closed");
    if (chunks_.empty()) return std::optional<std::string>();
    std::string chunk = std::move(chunks_.front());
    chunk.erase(0, offset_);
    chunks_.pop_front();
    offset_ = 0;
    bytes_ -= chunk.size();
    Drained(lock, 0);
    return std::optional<std::string>(std::move(chunk));
  }

 private:
  // Resumes the read loop (outside the lock) once a paused backlog is down to half.
  template <typename T>
  T Drained(std::unique_lock<std::mutex>& lock, T result) {
    if (!throttled_ || bytes_ > limit_ / 2) return result;
    throttled_ = false;
    std::function<void()> drained = on_drained_;
    lock.unlock();
    if (drained) drained();
    return result;
  }

  const std::size_t limit_;
  const bool drop_oldest_;
  std::function<void()> on_drained_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  std::size_t offset_ = 0;  // consumed from chunks_.front()
  std::size_t bytes_ = 0;   // queued and not consumed
  bool eof_ = false;
  bool failed_ = false;
  bool throttled_ = false;  // ShouldPause said yes and on_drained has not run since
};

// One WebSocket connection split into numbered channels. The session's thread runs the
// connection's own io_context: a read loop hands each client message to OnMessage(), and
// other threads Send() through a write queue, each waiting until its message is written (the
// back-pressure that bounds memory). A Beast stream allows one read and one write at a time
// and is not thread-safe; keeping every operation on this one thread satisfies both without
// strands or locks around the stream.
class ChannelConnection {
 public:
  ChannelConnection(Framing framing, const SessionOptions& options)
      : framing_(framing), options_(options), idle_timer_(ioc_) {}
  virtual ~ChannelConnection() = default;
  ChannelConnection(const ChannelConnection&) = delete;
  ChannelConnection& operator=(const ChannelConnection&) = delete;

  // Completes the handshake for `request` on the hijacked `conn`, answering with `protocol`,
  // then runs `work` on a thread of its own while this thread serves the connection. Returns
  // once `work` has returned and the connection is closed (a close handshake after `work`,
  // or the client went away, or it was idle for too long).
  void Serve(http::UpgradedConnection conn, const http::Request& request,
             const std::string& protocol, const std::function<void()>& work);

  // Sends `data` on `channel` and waits until it is written. Not on the session's thread.
  // Errors: Unavailable once the connection is gone or closing.
  Status Send(int channel, std::string_view data);

 protected:
  // Session thread: queues a message without waiting (what goes out right after the upgrade).
  void SendNow(int channel, std::string_view data) {
    Enqueue(EncodeMessage(framing_, channel, data), 0);
  }
  // Session thread, right after the upgrade.
  virtual void OnOpen() {}
  // Session thread: a client message for `channel`, decoded. An error ends the connection.
  virtual Status OnMessage(int channel, std::string data) = 0;
  // Session thread: a v5 client half-closed `channel`.
  virtual void OnChannelClosed(int /*channel*/) {}
  // Session thread, once: the connection is gone (closed, failed or idle). Wake every thread
  // that waits for the client.
  virtual void OnClosed() = 0;
  // Session thread, before each read: whether client input waits beyond its bound. Reading
  // then pauses until ResumeReading().
  virtual bool InputBacklogged() { return false; }
  // Any thread: a backlog drained.
  void ResumeReading() {
    asio::post(ioc_, [this] {
      if (read_paused_) {
        read_paused_ = false;
        ReadNext();
      }
    });
  }

  const Framing framing_;

 private:
  struct Outgoing {
    std::string message;
    uint64_t seq = 0;  // Send()'s ticket; 0 for SendNow()
  };

  void OnAccepted(error_code ec);
  void ReadNext();
  void OnRead(error_code ec);
  Status Dispatch(std::string message);
  void Enqueue(std::string message, uint64_t seq);
  void WriteNext();
  void OnWritten(error_code ec);
  void CloseWhenFlushed();
  void ArmIdleTimer();
  void Fail(std::string_view why);
  void TearDown();

  const SessionOptions options_;
  asio::io_context ioc_;  // first: outlives the stream and timer
  asio::steady_timer idle_timer_;
  std::optional<websocket::stream<Socket>> ws_;
  std::string handshake_bytes_;  // the request re-read by Beast with the bytes after it

  // Session thread only.
  beast::flat_buffer read_buffer_;
  std::deque<Outgoing> outbox_;
  bool writing_ = false;
  bool read_paused_ = false;
  bool closing_ = false;  // `work` returned: close once the outbox is empty
  bool close_started_ = false;
  bool torn_down_ = false;
  Clock::time_point last_activity_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_guard_;
  std::function<void()> start_work_;

  // Shared with senders.
  std::mutex mu_;
  std::condition_variable written_cv_;
  uint64_t queued_ = 0;   // last ticket handed out
  uint64_t written_ = 0;  // last ticket written
  bool ended_ = false;    // no more messages will be written
};

void ChannelConnection::Serve(http::UpgradedConnection conn, const http::Request& request,
                              const std::string& protocol, const std::function<void()>& work) {
  Socket socket(ioc_);
  if (Status st = AdoptSocket(socket, std::move(conn.fd)); !st.ok()) {
    CRIO_LOG_WARN("streaming: {}", st.ToString());
    return;
  }
  ws_.emplace(std::move(socket));
  ws_->read_message_max(kMaxMessage);
  ws_->auto_fragment(false);  // one frame per message, as the kubelet sends them
  websocket::stream_base::timeout timeouts;
  // Bounds writing the handshake response and waiting for the client's close reply. Idle
  // connections are our own timer's business: it counts writes as activity too.
  timeouts.handshake_timeout = std::max<Clock::duration>(options_.linger, 1ms);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_->set_option(timeouts);
  ws_->set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
    if (!protocol.empty()) res.set(bh::field::sec_websocket_protocol, http::Bv(protocol));
  }));

  // `work` runs once the handshake is done; the guard keeps the io_context running until the
  // worker has posted its end, so that no message it sends is left unhandled.
  std::thread worker;
  work_guard_.emplace(ioc_.get_executor());
  start_work_ = [this, &worker, &work] {
    try {
      worker = std::thread([this, &work] {
        work();
        asio::post(ioc_, [this] {
          work_guard_.reset();
          if (torn_down_) {
            ioc_.stop();  // see TearDown()
          } else {
            CloseWhenFlushed();
          }
        });
      });
    } catch (const std::system_error& e) {
      CRIO_LOG_ERROR("streaming: cannot start a session thread: {}", e.what());
      work_guard_.reset();
      TearDown();
    }
  };
  auto on_accept = [this](error_code ec) { OnAccepted(ec); };
  if (conn.initial_bytes.empty()) {
    ws_->async_accept(request, on_accept);
  } else {
    // The client sent frames right behind its request: let Beast parse the request from bytes,
    // so that what follows stays in its read buffer.
    std::ostringstream head;
    head << request;
    handshake_bytes_ = head.str() + conn.initial_bytes;
    ws_->async_accept(asio::buffer(handshake_bytes_), on_accept);
  }
  ioc_.run();
  if (worker.joinable()) worker.join();
}

void ChannelConnection::OnAccepted(error_code ec) {
  if (ec) {
    CRIO_LOG_INFO("streaming: WebSocket handshake failed: {}", ec.message());
    work_guard_.reset();
    TearDown();
    return;
  }
  last_activity_ = Clock::now();
  ArmIdleTimer();
  OnOpen();
  ReadNext();
  start_work_();
}

Status ChannelConnection::Send(int channel, std::string_view data) {
  std::string message = EncodeMessage(framing_, channel, data);
  std::unique_lock lock(mu_);
  if (ended_) return Unavailable("the client went away");
  // Tickets are handed out and posted under the lock, so the outbox keeps their order.
  const uint64_t seq = ++queued_;
  asio::post(ioc_, [this, seq, m = std::move(message)]() mutable { Enqueue(std::move(m), seq); });
  written_cv_.wait(lock, [&] { return written_ >= seq || ended_; });
  if (written_ >= seq) return absl::OkStatus();
  return Unavailable("the client went away");
}

void ChannelConnection::Enqueue(std::string message, uint64_t seq) {
  if (torn_down_) return;  // its sender was woken with an error
  outbox_.push_back(Outgoing{std::move(message), seq});
  WriteNext();
}

void ChannelConnection::WriteNext() {
  if (writing_ || outbox_.empty() || torn_down_) return;
  writing_ = true;
  ws_->binary(!framing_.base64);
  ws_->async_write(asio::buffer(outbox_.front().message),
                   [this](error_code ec, std::size_t) { OnWritten(ec); });
}

void ChannelConnection::OnWritten(error_code ec) {
  writing_ = false;
  const uint64_t seq = outbox_.front().seq;
  outbox_.pop_front();
  if (ec) {
    Fail(absl::StrCat("write: ", ec.message()));
    return;
  }
  last_activity_ = Clock::now();
  if (seq != 0) {
    std::lock_guard lock(mu_);
    written_ = seq;
    written_cv_.notify_all();
  }
  if (!outbox_.empty()) {
    WriteNext();
  } else if (closing_) {
    CloseWhenFlushed();
  }
}

// Sends a normal close frame once everything queued is written; the connection ends when the
// client answers it (or at the handshake timeout).
void ChannelConnection::CloseWhenFlushed() {
  closing_ = true;
  if (torn_down_ || writing_ || !outbox_.empty() || close_started_) return;
  close_started_ = true;
  {
    std::lock_guard lock(mu_);
    ended_ = true;
    written_cv_.notify_all();
  }
  ws_->async_close(websocket::close_code::normal, [this](error_code ec) {
    if (ec) CRIO_LOG_DEBUG("streaming: WebSocket close: {}", ec.message());
    TearDown();
  });
}

void ChannelConnection::ReadNext() {
  if (torn_down_) return;
  if (InputBacklogged()) {
    read_paused_ = true;
    return;
  }
  ws_->async_read(read_buffer_, [this](error_code ec, std::size_t) { OnRead(ec); });
}

void ChannelConnection::OnRead(error_code ec) {
  if (ec) {
    if (ec == websocket::error::closed || close_started_) {
      TearDown();  // the client's close, or its reply to ours
    } else {
      Fail(absl::StrCat("read: ", ec.message()));
    }
    return;
  }
  last_activity_ = Clock::now();
  std::string message = beast::buffers_to_string(read_buffer_.data());
  read_buffer_.consume(read_buffer_.size());
  if (Status st = Dispatch(std::move(message)); !st.ok()) {
    Fail(absl::StrCat("protocol error: ", st.message()));
    return;
  }
  ReadNext();
}

Status ChannelConnection::Dispatch(std::string message) {
  if (message.empty()) return absl::OkStatus();
  const auto first = static_cast<unsigned char>(message[0]);
  if (framing_.stream_close && first == kStreamClose) {
    if (message.size() != 2) {
      return InvalidArgument("a close message must name exactly one channel");
    }
    OnChannelClosed(static_cast<unsigned char>(message[1]));
    return absl::OkStatus();
  }
  const int channel = framing_.base64 ? first - '0' : first;
  message.erase(0, 1);
  if (framing_.base64) {
    std::string decoded;
    if (!absl::Base64Unescape(absl::string_view(message.data(), message.size()), &decoded)) {
      // As the kubelet does: the message is dropped, the connection stays.
      CRIO_LOG_WARN("streaming: dropping a message on channel {} that is not base64", channel);
      return absl::OkStatus();
    }
    message = std::move(decoded);
  }
  if (channel < 0) return absl::OkStatus();  // no such channel: ignored, as the kubelet does
  return OnMessage(channel, std::move(message));
}

void ChannelConnection::ArmIdleTimer() {
  // Beyond a year counts as no timeout (and keeps the deadline from overflowing).
  if (options_.idle_timeout <= 0ms || options_.idle_timeout > std::chrono::hours(24 * 365)) {
    return;
  }
  idle_timer_.expires_at(last_activity_ + options_.idle_timeout);
  idle_timer_.async_wait([this](error_code ec) {
    if (ec || torn_down_) return;
    if (Clock::now() - last_activity_ >= options_.idle_timeout) {
      Fail(absl::StrCat("idle for ", options_.idle_timeout.count(), " ms"));
      return;
    }
    ArmIdleTimer();
  });
}

void ChannelConnection::Fail(std::string_view why) {
  if (torn_down_) return;
  CRIO_LOG_INFO("streaming: WebSocket connection ends: {}", std::string(why));
  TearDown();
}

// Ends the connection for good: wakes every sender and reader, closes the socket (which
// completes the pending read and write with errors).
void ChannelConnection::TearDown() {
  if (torn_down_) return;
  torn_down_ = true;
  {
    std::lock_guard lock(mu_);
    ended_ = true;
    written_cv_.notify_all();
  }
  OnClosed();
  idle_timer_.cancel();
  // Shut down, not only close: the HTTP server holds another fd for the same socket until it
  // reaps the connection, and the client must see the end now.
  error_code ignored;
  beast::get_lowest_layer(*ws_).shutdown(Socket::shutdown_both, ignored);
  beast::get_lowest_layer(*ws_).close(ignored);
  // Nothing is left to do once `work` has returned, but Beast may still hold a timer for an
  // interrupted close handshake (up to handshake_timeout): stop rather than wait it out. The
  // io_context's destructor disposes of what is pending.
  if (!work_guard_) ioc_.stop();
}

// ---- exec and attach ----

// The client's channels of one exec or attach, for RunExec/RunAttach.
class RemoteCommandConnection final : public ChannelConnection, public ClientStreams {
 public:
  RemoteCommandConnection(Framing framing, const SessionOptions& options,
                          const StreamRequest& request)
      : ChannelConnection(framing, options),
        request_(request),
        stdin_(kMaxBufferedInput, /*drop_oldest=*/false),
        resize_(kMaxBufferedResize, /*drop_oldest=*/true) {
    stdin_.set_on_drained([this] { ResumeReading(); });
  }

  bool has_stdin() const override { return request_.stdin; }
  bool has_stdout() const override { return request_.stdout; }
  bool has_stderr() const override { return request_.stderr; }
  bool has_resize() const override { return true; }  // channel 4 always exists

  StatusOr<std::size_t> ReadStdin(char* buf, std::size_t len) override {
    return stdin_.Read(buf, len);
  }

  std::optional<TerminalSize> NextResize() override {
    // Each message holds one JSON object, maybe with a newline; bad ones are skipped.
    for (;;) {
      if (auto nl = resize_buffer_.find('\n'); nl != std::string::npos) {
        std::string line = resize_buffer_.substr(0, nl);
        resize_buffer_.erase(0, nl + 1);
        if (auto size = ParseTerminalSize(line)) return size;
        continue;
      }
      if (auto size = ParseTerminalSize(resize_buffer_)) {
        resize_buffer_.clear();
        return size;
      }
      if (resize_buffer_.size() > 4096) resize_buffer_.clear();  // no sane object is this long
      auto chunk = resize_.Next();
      if (!chunk.ok() || !chunk->has_value()) return std::nullopt;
      resize_buffer_ += **chunk;
    }
  }

  void StopInput() override {
    stdin_.Fail();
    resize_.Fail();
  }

  // Output the request did not ask for is dropped, as the kubelet's ignored channels do.
  Status WriteStdout(std::string_view data) override {
    return request_.stdout ? Send(kStdoutChannel, data) : absl::OkStatus();
  }
  Status WriteStderr(std::string_view data) override {
    return request_.stderr ? Send(kStderrChannel, data) : absl::OkStatus();
  }

  // Runs the exec or attach and reports its outcome on the error channel.
  void Run(Backend& backend) {
    const bool attach = request_.kind == RequestKind::kAttach;
    const char* what = attach ? "attach" : "exec";
    StatusOr<int> result = 0;
    if (attach) {
      auto target = backend.Attach(request_.container_id);
      if (!target.ok()) {
        result = target.status();
      } else if (Status st = RunAttach(*target, *this); !st.ok()) {
        result = st;
      }
    } else {
      auto process = backend.StartExec(request_);
      result = process.ok() ? RunExec(**process, *this) : StatusOr<int>(process.status());
    }
    if (result.ok()) {
      CRIO_LOG_DEBUG("{} in container {} over WebSocket ended with exit code {}", what,
                     request_.container_id, *result);
    } else {
      CRIO_LOG_INFO("{} in container {} over WebSocket: {}", what, request_.container_id,
                    result.status().ToString());
    }
    StopInput();  // the backend may not have started; input is no longer wanted either way
    std::string report =
        framing_.json_status ? StatusJson(result, attach) : StatusText(result, attach);
    if (!report.empty()) (void)Send(kErrorChannel, report);
  }

 protected:
  void OnOpen() override {
    // Tells the client the streams are ready.
    const int lowest = request_.stdout   ? kStdoutChannel
                       : request_.stderr ? kStderrChannel
                                         : kErrorChannel;
    SendNow(lowest, "");
  }

  Status OnMessage(int channel, std::string data) override {
    if (channel == kStdinChannel && request_.stdin) {
      stdin_.Push(std::move(data));
    } else if (channel == kResizeChannel) {
      resize_.Push(std::move(data));
    }
    return absl::OkStatus();  // anything else is on a channel the client does not write
  }

  void OnChannelClosed(int channel) override {
    if (channel == kStdinChannel) stdin_.Close();
    if (channel == kResizeChannel) resize_.Close();
  }

  void OnClosed() override { StopInput(); }

  bool InputBacklogged() override { return stdin_.ShouldPause(); }

 private:
  const StreamRequest& request_;
  InputQueue stdin_;
  InputQueue resize_;
  std::string resize_buffer_;  // NextResize's thread only
};

// ---- port forward ----

class PortForwardConnection final : public ChannelConnection {
 public:
  PortForwardConnection(Framing framing, const SessionOptions& options,
                        const StreamRequest& request, Backend& backend)
      : ChannelConnection(framing, options), request_(request), backend_(backend) {
    for (std::size_t i = 0; i < request.ports.size(); ++i) {
      inputs_.push_back(std::make_unique<InputQueue>(kMaxBufferedInput, false));
      inputs_.back()->set_on_drained([this] { ResumeReading(); });
    }
  }

  // Forwards every port at once; returns when all forwards have ended.
  void ForwardAll() {
    std::vector<std::thread> forwards;
    for (std::size_t i = 0; i < request_.ports.size(); ++i) {
      try {
        forwards.emplace_back([this, i] { Forward(i); });
      } catch (const std::system_error& e) {
        CRIO_LOG_ERROR("port forward to pod {}: cannot start a thread for port {}: {}",
                       request_.pod_id, request_.ports[i], e.what());
        inputs_[i]->Fail();
      }
    }
    for (std::thread& t : forwards) t.join();
  }

 protected:
  void OnOpen() override {
    // Each channel of a port first carries the port, little-endian, so the client can tell
    // which port a channel pair serves.
    for (std::size_t i = 0; i < request_.ports.size(); ++i) {
      const auto port = static_cast<uint16_t>(request_.ports[i]);
      const std::array<char, 2> prefix = {static_cast<char>(port & 0xff),
                                          static_cast<char>(port >> 8)};
      std::string_view bytes(prefix.data(), prefix.size());
      SendNow(DataChannel(i), bytes);
      SendNow(DataChannel(i) + 1, bytes);
    }
  }

  Status OnMessage(int channel, std::string data) override {
    // Only data channels carry client bytes; error channels are the server's.
    const auto port_index = static_cast<std::size_t>(channel / 2);
    if (channel % 2 == 0 && port_index < inputs_.size()) {
      inputs_[port_index]->Push(std::move(data));
    }
    return absl::OkStatus();
  }

  void OnClosed() override {
    for (auto& input : inputs_) input->Fail();
    sockets_.ShutdownAll();
  }

  bool InputBacklogged() override {
    bool any = false;
    for (auto& input : inputs_) any = input->ShouldPause() || any;
    return any;
  }

 private:
  static int DataChannel(std::size_t port_index) { return static_cast<int>(2 * port_index); }

  void Forward(std::size_t index);

  const StreamRequest& request_;
  Backend& backend_;
  std::vector<std::unique_ptr<InputQueue>> inputs_;
  SocketRegistry sockets_;
};

// Copies the client's bytes for one port into the pod's socket until the client's input
// ends, then shuts the socket down (all of it when the client went away).
void CopyClientToPod(InputQueue& input, int fd) {
  for (;;) {
    auto chunk = input.Next();
    if (!chunk.ok()) {
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
    if (!chunk->has_value()) {
      ::shutdown(fd, SHUT_WR);
      return;
    }
    if (!os::WriteAll(fd, **chunk).ok()) return;
  }
}

void PortForwardConnection::Forward(std::size_t index) {
  const int port = request_.ports[index];
  InputQueue& input = *inputs_[index];
  auto fd = backend_.DialPod(request_.pod_id, port);
  if (!fd.ok()) {
    std::string message = absl::StrCat("error forwarding port ", port, " to pod ", request_.pod_id,
                                       ", uid : ", fd.status().message());
    CRIO_LOG_INFO("port forward to pod {}: {}", request_.pod_id, message);
    (void)Send(DataChannel(index) + 1, message);
    input.Fail();  // no one will read this port's input
    return;
  }
  const int sock = fd->get();
  sockets_.Add(sock);
  std::mutex mu;
  std::condition_variable cv;
  bool upstream_done = false;
  std::thread upstream([&] {
    CopyClientToPod(input, sock);
    std::lock_guard lock(mu);
    upstream_done = true;
    cv.notify_all();
  });
  std::array<char, kCopyChunk> buf;
  for (;;) {
    ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!Send(DataChannel(index), std::string_view(buf.data(), static_cast<std::size_t>(n))).ok()) {
      break;
    }
  }
  {
    // The pod closed (or the client went away): give the client's bytes a moment to drain, as
    // CRI-O does, then stop both directions. WebSocket v4 has no half-close, so a live client's
    // input only ends with the connection.
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 1s, [&] { return upstream_done; })) {
      lock.unlock();
      input.Fail();
      ::shutdown(sock, SHUT_RDWR);
    }
  }
  upstream.join();
  sockets_.Remove(sock);
}

}  // namespace

bool IsWebSocketRequest(const http::Request& request) {
  std::string upgrade(http::Sv(request[bh::field::upgrade]));
  absl::StripAsciiWhitespace(&upgrade);
  return absl::AsciiStrToLower(upgrade) == "websocket" &&
         HasToken(http::Sv(request[bh::field::connection]), "upgrade");
}

void ServeWebSocketRemoteCommand(http::Exchange& exchange, const StreamRequest& request,
                                 Backend& backend, const SessionOptions& options) {
  std::optional<std::string> protocol =
      NegotiateOrRefuse(exchange, RemoteCommandWebSocketProtocols());
  if (!protocol) return;
  auto conn = exchange.Hijack();
  if (!conn.ok()) {
    CRIO_LOG_WARN("streaming: WebSocket upgrade failed: {}", conn.status().ToString());
    return;
  }
  RemoteCommandConnection session(FramingFor(*protocol), options, request);
  session.Serve(std::move(*conn), exchange.request(), *protocol, [&] { session.Run(backend); });
}

void ServeWebSocketPortForward(http::Exchange& exchange, const StreamRequest& request,
                               Backend& backend, const SessionOptions& options) {
  for (int32_t port : request.ports) {
    if (port <= 0 || port > 65535) {
      (void)exchange.Respond(http::MakeResponse(exchange.request(), bh::status::bad_request,
                                                absl::StrCat("invalid port ", port, "\n")));
      return;
    }
  }
  std::optional<std::string> protocol =
      NegotiateOrRefuse(exchange, PortForwardWebSocketProtocols());
  if (!protocol) return;
  auto conn = exchange.Hijack();
  if (!conn.ok()) {
    CRIO_LOG_WARN("streaming: WebSocket upgrade failed: {}", conn.status().ToString());
    return;
  }
  PortForwardConnection session(FramingFor(*protocol), options, request, backend);
  session.Serve(std::move(*conn), exchange.request(), *protocol, [&] { session.ForwardAll(); });
}

}  // namespace crio::streaming
