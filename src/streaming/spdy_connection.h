#pragma once
// A SPDY/3.1 session over a byte transport, with the streams Kubernetes streaming uses (exec,
// attach, port-forward): the client opens streams with SYN_STREAM, the server answers each with
// SYN_REPLY, data flows both ways and each side half-closes with a FIN.
//
// What the peer does, from github.com/moby/spdystream (connection.go, stream.go, spdy/*.go),
// which is what crictl and kubectl use through k8s.io/apimachinery/pkg/util/httpstream/spdy:
//  - It never sends SETTINGS or WINDOW_UPDATE and ignores the ones it receives (they reach the
//    "unhandled frame type" branch of Connection.frameHandler): it does no flow control at all.
//    Its own back-pressure is TCP: a DATA frame for a stream nobody reads blocks the frame worker,
//    then Serve(), then the socket. So our sender enforces the peer's windows only once the peer
//    has shown that it keeps them (a WINDOW_UPDATE, or SETTINGS_INITIAL_WINDOW_SIZE); against
//    spdystream it would otherwise stall forever at 64 KiB. The session window (3.1, stream 0)
//    is enforced only once a WINDOW_UPDATE for stream 0 arrived.
//  - It answers a PING whose id has the other side's parity (handlePingFrame) and, through
//    NewClientConnectionWithPings, may ping us periodically: we echo the peer's pings.
//  - GOAWAY ends its Serve loop: after one it reads nothing more. Send it last.
//  - It drops DATA for a stream it has not replied to yet, and its client waits for SYN_REPLY
//    (CreateStream then WaitTimeout) before writing.
//  - It rejects the whole connection on an unknown control frame type, so we never send one.
//
// Receiving, we advertise a per-stream window (SETTINGS_INITIAL_WINDOW_SIZE) and return it with
// WINDOW_UPDATEs as the application reads. A flow-controlling peer that overruns it gets
// RST_STREAM(FLOW_CONTROL_ERROR). A peer that ignores windows (spdystream) is paced instead: when
// a stream's buffer holds a window's worth, or all buffers hold max_buffered_bytes, the reader
// stops reading the socket until the application catches up, as spdystream itself does. Session
// credit (stream 0) is returned as DATA arrives, since the per-stream windows already bound what
// is buffered. Memory stays bounded by windows, buffers, queues and the parser's frame limit.
//
// A protocol error (malformed frame, undecodable header block, a stream id reused or of the
// wrong parity) sends GOAWAY(PROTOCOL_ERROR) and closes the connection.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "os/unique_fd.h"
#include "streaming/spdy_frame.h"
#include "util/status.h"

namespace crio::streaming::spdy {

// The bytes under a connection, so that TLS can be slotted in later. Read() is called from one
// thread and WriteAll() from another, concurrently.
class Transport {
 public:
  virtual ~Transport() = default;
  // Blocks for at least one byte; 0 at end of stream.
  virtual StatusOr<size_t> Read(char* buf, size_t len) = 0;
  virtual Status WriteAll(std::string_view data) = 0;
  // Makes a blocked or later Read() return and WriteAll() fail. Callable from any thread, any
  // number of times.
  virtual void Shutdown() = 0;
};

// A connected stream socket, owned. Writes use MSG_NOSIGNAL, so a vanished peer is an EPIPE
// error, not a SIGPIPE. Shutdown() is shutdown(SHUT_RDWR); the fd is closed on destruction.
class FdTransport final : public Transport {
 public:
  explicit FdTransport(os::UniqueFd fd) : fd_(std::move(fd)) {}
  StatusOr<size_t> Read(char* buf, size_t len) override;
  Status WriteAll(std::string_view data) override;
  void Shutdown() override;

 private:
  os::UniqueFd fd_;
};

struct ConnectionOptions {
  // The receive window advertised for each stream: what one stream may buffer. At least the
  // SPDY default of 64 KiB (a peer may use that much before it sees our SETTINGS); smaller
  // values are raised to it.
  uint32_t stream_window = 1024 * 1024;
  // The session receive window advertised with a WINDOW_UPDATE for stream 0.
  uint32_t session_window = 4 * 1024 * 1024;
  // What all stream buffers may hold together before the reader pauses (see above).
  size_t max_buffered_bytes = 8 * 1024 * 1024;
  // Streams open at once; further SYN_STREAMs are refused with RST_STREAM(REFUSED_STREAM).
  size_t max_streams = 128;
  // DATA bytes queued for the socket across streams; Stream::Write() waits beyond it.
  size_t max_queued_bytes = 1024 * 1024;
  // How long Close() keeps sending what is queued before it shuts the transport.
  std::chrono::milliseconds close_flush_timeout{1000};
  ParserLimits parser;
};

namespace internal {
class Session;
struct StreamState;
}  // namespace internal

// One SPDY stream. Thread-safe; one reader and one writer at a time keep the data in order.
// Dropping the last reference to a stream resets it (RST_STREAM CANCEL), unless CloseWrite() was
// called: then what was written is still sent, and what the peer still sends is discarded.
class Stream {
 public:
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  uint32_t id() const;
  // The SYN_STREAM headers that opened the stream, whichever side sent them.
  const Headers& headers() const;
  // The SYN_REPLY headers, for a stream this side opened; empty otherwise.
  const Headers& reply_headers() const;

  // Blocks until data is available, then returns up to `len` bytes. 0 once the peer half-closed
  // (FIN) and everything was read; 0 at once when `len` is 0.
  // Errors: Cancelled after a reset (by either side; buffered data is dropped); Unavailable when
  // the connection ended before the peer's FIN (after buffered data was read).
  StatusOr<size_t> Read(char* buf, size_t len);
  // Queues `data` as DATA frames of at most 64 KiB. Blocks while the peer's window (when it keeps
  // windows) or the connection's send queue is full. OK means queued, not delivered.
  // Errors: FailedPrecondition after CloseWrite(); Cancelled after a reset; Unavailable when the
  // connection ended.
  Status Write(std::string_view data);
  // Half-closes our side: an empty DATA frame with FIN. Errors as for Write().
  Status CloseWrite();
  // Sends RST_STREAM (unless the stream already ended) and fails every blocked and later call.
  void Reset(RstStatus status = RstStatus::kCancel);

  // True once the peer sent FIN or reset the stream.
  bool closed_by_peer() const;
  // Received bytes not read yet.
  size_t buffered_bytes() const;

 private:
  friend class internal::Session;
  Stream(std::shared_ptr<internal::Session> session, std::shared_ptr<internal::StreamState> state);

  std::shared_ptr<internal::Session> session_;
  std::shared_ptr<internal::StreamState> state_;
};

class Connection {
 public:
  // The client opens odd stream ids and pings, the server even ones.
  enum class Role { kServer, kClient };

  // `initial_bytes`: what was already read from the transport, e.g. after the HTTP upgrade.
  Connection(std::unique_ptr<Transport> transport, Role role, std::string initial_bytes = {},
             ConnectionOptions options = {});
  // Close().
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends our SETTINGS and session window, then starts the reader and writer threads. Call once,
  // before anything else.
  void Start();

  // The next stream the peer opened, after replying SYN_REPLY to it. nullptr when `timeout`
  // passed, or when none is pending and the connection ended or GoAway() was called.
  std::shared_ptr<Stream> AcceptStream(std::chrono::milliseconds timeout);

  // Opens a stream (SYN_STREAM with `headers`; names must be lowercase, and spdystream rejects
  // connection-level ones such as "connection" or "host") and waits for the peer's SYN_REPLY.
  // Errors: DeadlineExceeded (the stream is then reset); Cancelled when the peer refused or
  // reset it; Unavailable when the connection ended or the peer sent GOAWAY; ResourceExhausted
  // when max_streams are open or stream ids ran out.
  StatusOr<std::shared_ptr<Stream>> OpenStream(const Headers& headers,
                                               std::chrono::milliseconds timeout);

  // Sends a PING and waits for the echo. Errors: DeadlineExceeded; Unavailable when the
  // connection ended.
  StatusOr<std::chrono::nanoseconds> Ping(std::chrono::milliseconds timeout);

  // Sends GOAWAY(OK) after what is already queued and accepts no new streams; open streams
  // carry on. spdystream stops reading at a GOAWAY, so finish writing first.
  void GoAway();

  // Sends what is queued (up to close_flush_timeout), shuts the transport, fails every stream
  // and blocked call, and joins the threads. Idempotent.
  void Close();

  // Waits until the connection ended (peer closed it, protocol error, or Close()).
  bool WaitClosed(std::chrono::milliseconds timeout);
  // Why the connection ended; OK while it is open.
  Status status() const;
  // When a frame was last read or written, for idle timeouts.
  std::chrono::steady_clock::time_point last_activity() const;

 private:
  std::shared_ptr<internal::Session> session_;
  std::mutex lifecycle_mu_;  // Start() against Close()
  bool started_ = false;
  bool closed_ = false;
  std::thread reader_;
  std::thread writer_;
};

}  // namespace crio::streaming::spdy
