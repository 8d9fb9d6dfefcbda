#include "streaming/spdy_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"

namespace crio::streaming::spdy {

StatusOr<size_t> FdTransport::Read(char* buf, size_t len) {
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, len, 0);
    if (n >= 0) {
      return static_cast<size_t>(n);
    }
    if (errno != EINTR) {
      return ErrnoError(errno, "recv");
    }
  }
}

Status FdTransport::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, "send");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void FdTransport::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

namespace internal {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxDataChunk = 64 * 1024;
constexpr size_t kWriteBatchBytes = 256 * 1024;
constexpr size_t kReadChunk = 256 * 1024;
// PING echoes and refusals the reader queues for a peer that sends them faster than it reads
// our answers: past this the reader waits for the writer rather than buffering without bound.
constexpr size_t kMaxControlBytes = 64 * 1024;
constexpr int64_t kMaxWindow = 0x7fffffff;

ConnectionOptions Normalize(ConnectionOptions o) {
  o.stream_window = std::clamp<uint32_t>(o.stream_window, kDefaultWindow, kMaxWindow);
  o.session_window = std::clamp<uint32_t>(o.session_window, kDefaultWindow, kMaxWindow);
  o.max_streams = std::max<size_t>(o.max_streams, 1);
  o.max_queued_bytes = std::max(o.max_queued_bytes, kMaxDataChunk);
  return o;
}

}  // namespace

// Per-stream state, shared by the session (while frames still route to the stream) and the
// Stream handle. Everything mutable is guarded by Session::mu_.
struct StreamState {
  StreamState(uint32_t stream_id, Headers syn_headers, int64_t send, int64_t recv)
      : id(stream_id), headers(std::move(syn_headers)), send_window(send), recv_window(recv) {}

  const uint32_t id;
  const Headers headers;
  Headers reply_headers;  // set before OpenStream() returns, constant afterwards

  std::condition_variable cv;  // Read() and OpenStream() wait here
  std::deque<std::string> chunks;
  size_t chunk_offset = 0;  // into chunks.front()
  size_t buffered = 0;
  bool registered = true;  // in Session::streams_: the peer's frames still reach it
  bool replied = false;
  bool unidirectional = false;
  bool local_fin = false;
  bool remote_fin = false;
  bool reset = false;
  bool reset_by_peer = false;
  // The handle was dropped after CloseWrite(): what the peer still sends is discarded.
  bool abandoned = false;
  RstStatus reset_status = RstStatus::kCancel;
  int64_t send_window;  // what the peer lets us send (negative after a SETTINGS shrink)
  int64_t recv_window;  // what we let the peer send
  int64_t recv_unacked = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::unique_ptr<Transport> transport, Connection::Role role, std::string initial_bytes,
          ConnectionOptions options)
      : role_(role),
        options_(Normalize(options)),
        transport_(std::move(transport)),
        initial_bytes_(std::move(initial_bytes)),
        parser_(options_.parser),
        next_stream_id_(role == Connection::Role::kClient ? 1 : 2),
        next_ping_id_(next_stream_id_) {
    Touch();
  }

  const ConnectionOptions& options() const { return options_; }

  // Connection's side.
  void QueuePreface();
  void ReadLoop();
  void WriteLoop();
  std::shared_ptr<Stream> Accept(milliseconds timeout);
  StatusOr<std::shared_ptr<Stream>> Open(const Headers& headers, milliseconds timeout);
  StatusOr<std::chrono::nanoseconds> Ping(milliseconds timeout);
  void GoAway();
  void BeginClose();
  void WaitWriterDone(milliseconds timeout);
  void ShutdownTransport() { transport_->Shutdown(); }
  void FinishClose();
  bool WaitEnded(milliseconds timeout);
  Status status();
  Clock::time_point last_activity() const {
    return Clock::time_point(Clock::duration(last_activity_.load(std::memory_order_relaxed)));
  }

  // Stream's side.
  StatusOr<size_t> Read(StreamState& s, char* buf, size_t len);
  Status Write(StreamState& s, std::string_view data, bool fin);
  void Reset(StreamState& s, RstStatus status);
  void Release(StreamState& s);
  bool ClosedByPeer(const StreamState& s);
  size_t Buffered(const StreamState& s);

 private:
  // The reader thread.
  Status ReadFrames();
  Status DispatchFrames();
  void ProtocolError(const Status& why);
  Status Handle(SynStreamFrame& f);
  Status Handle(SynReplyFrame& f);
  Status Handle(RstStreamFrame& f);
  Status Handle(SettingsFrame& f);
  Status Handle(PingFrame& f);
  Status Handle(GoAwayFrame& f);
  Status Handle(HeadersFrame& f);
  Status Handle(WindowUpdateFrame& f);
  Status Handle(DataFrame& f);

  // The rest: mu_ held.
  bool IsPeerStreamId(uint32_t id) const {
    return (id % 2 == 1) == (role_ == Connection::Role::kServer);
  }
  bool IsOwnPingId(uint32_t id) const {
    return (id % 2 == 1) == (role_ == Connection::Role::kClient);
  }
  std::shared_ptr<StreamState> FindLocked(uint32_t id);
  std::shared_ptr<StreamState> NewStreamLocked(uint32_t id, Headers headers);
  std::shared_ptr<StreamState> PopAcceptLocked();
  void QueueControlLocked(std::string frame);
  void QueueDataLocked(uint32_t stream_id, std::string frame);
  Status QueueFrameLocked(const Frame& frame);
  void WaitControlRoomLocked(std::unique_lock<std::mutex>& lock);
  std::string TakeBatchLocked();
  size_t TakeBufferedLocked(StreamState& s, char* buf, size_t len);
  void AckConsumedLocked(StreamState& s, size_t n);
  void RemoteFinLocked(StreamState& s);
  void ResetLocked(StreamState& s, RstStatus status, bool by_peer);
  void UnregisterLocked(StreamState& s);
  void DropBufferLocked(StreamState& s);
  void EndLocked(Status why, bool flush_data);
  int64_t SendWindowLocked(const StreamState& s) const;
  bool NeedsRoomLocked(const StreamState& s, size_t size) const;
  void CreditSessionLocked(size_t size);
  Status WritableLocked(const StreamState& s) const;
  Status EndedError(const StreamState& s) const;
  static Status ResetError(const StreamState& s);

  void Touch() {
    last_activity_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }

  const Connection::Role role_;
  const ConnectionOptions options_;
  // Read() on the reader thread, WriteAll() on the writer thread, Shutdown() anywhere; reset
  // only once both threads are joined.
  std::unique_ptr<Transport> transport_;
  std::string initial_bytes_;  // reader thread
  FrameParser parser_;         // reader thread
  std::atomic<Clock::rep> last_activity_{0};

  std::mutex mu_;
  // Writers waiting for window or queue room, the reader waiting for buffer or control room,
  // AcceptStream, Ping, WaitClosed and the flush in Close.
  std::condition_variable cv_;
  std::condition_variable writer_cv_;  // the writer thread, for queued frames
  HeaderCompressor compressor_;        // frames are queued in the order they are compressed
  std::map<uint32_t, std::shared_ptr<StreamState>> streams_;
  std::deque<std::shared_ptr<StreamState>> accept_queue_;
  uint32_t next_stream_id_;
  uint32_t last_peer_stream_id_ = 0;
  uint32_t next_ping_id_;
  std::map<uint32_t, bool> pings_;  // our outstanding pings: id -> answered
  // Control frames go out before DATA: a SYN_REPLY must precede the stream's data, and
  // WINDOW_UPDATEs and PING echoes should not wait behind bulk data.
  std::deque<std::string> control_;
  size_t control_bytes_ = 0;
  struct QueuedData {
    uint32_t stream_id;  // 0 for the GOAWAY that must follow the data queued before it
    std::string frame;
  };
  std::deque<QueuedData> data_;
  size_t data_bytes_ = 0;
  size_t total_buffered_ = 0;
  int64_t peer_initial_window_ = kDefaultWindow;
  int64_t session_send_window_ = kDefaultWindow;
  int64_t session_recv_unacked_ = 0;
  bool peer_flow_control_ = false;          // the peer sent WINDOW_UPDATE or INITIAL_WINDOW_SIZE
  bool peer_session_flow_control_ = false;  // the peer sent WINDOW_UPDATE for stream 0
  bool goaway_sent_ = false;
  bool goaway_received_ = false;
  bool ended_ = false;
  Status end_status_;
  bool writer_done_ = false;
};

void Session::QueuePreface() {
  std::lock_guard lock(mu_);
  // Tells a flow-controlling peer our stream window; spdystream ignores both frames.
  QueueFrameLocked(
      SettingsFrame{
          0, {{0, static_cast<uint32_t>(SettingId::kInitialWindowSize), options_.stream_window}}})
      .IgnoreError();
  if (options_.session_window > kDefaultWindow) {
    QueueFrameLocked(WindowUpdateFrame{0, options_.session_window - kDefaultWindow}).IgnoreError();
  }
}

void Session::ReadLoop() {
  Status why = ReadFrames();
  std::lock_guard lock(mu_);
  EndLocked(why, /*flush_data=*/true);  // no-op when Close() or a protocol error came first
}

Status Session::ReadFrames() {
  parser_.Feed(initial_bytes_);
  initial_bytes_ = std::string();
  std::vector<char> buf(kReadChunk);
  for (;;) {
    RETURN_IF_ERROR(DispatchFrames());
    {
      std::lock_guard lock(mu_);
      if (ended_) {
        return end_status_;
      }
    }
    auto n = transport_->Read(buf.data(), buf.size());
    if (!n.ok()) {
      return Unavailable(absl::StrCat("spdy: read: ", Message(n.status())));
    }
    if (*n == 0) {
      return Unavailable("spdy: connection closed by peer");
    }
    Touch();
    parser_.Feed(std::string_view(buf.data(), *n));
  }
}

Status Session::DispatchFrames() {
  for (;;) {
    auto next = parser_.Next();
    if (!next.ok()) {
      ProtocolError(next.status());
      return next.status();
    }
    if (!next->has_value()) {
      return absl::OkStatus();
    }
    Status handled = std::visit([this](auto& frame) { return Handle(frame); }, **next);
    if (!handled.ok()) {
      ProtocolError(handled);
      return handled;
    }
  }
}

void Session::ProtocolError(const Status& why) {
  std::lock_guard lock(mu_);
  if (ended_) {
    return;
  }
  data_.clear();
  data_bytes_ = 0;
  QueueFrameLocked(GoAwayFrame{last_peer_stream_id_, GoAwayStatus::kProtocolError}).IgnoreError();
  EndLocked(why, /*flush_data=*/false);
}

Status Session::Handle(SynStreamFrame& f) {
  std::unique_lock lock(mu_);
  if (ended_) {
    return absl::OkStatus();
  }
  if (!IsPeerStreamId(f.stream_id)) {
    return InvalidArgument(
        absl::StrCat("spdy: peer opened stream ", f.stream_id, ", an id of our parity"));
  }
  if (f.stream_id <= last_peer_stream_id_) {
    return InvalidArgument(absl::StrCat("spdy: peer reused stream id ", f.stream_id, " (last was ",
                                        last_peer_stream_id_, ")"));
  }
  last_peer_stream_id_ = f.stream_id;
  // Streams the peer opened already half-closed both ways leave streams_ at once: bound the
  // accept queue as well.
  if (goaway_sent_ || streams_.size() >= options_.max_streams ||
      accept_queue_.size() >= options_.max_streams) {
    WaitControlRoomLocked(lock);
    QueueFrameLocked(RstStreamFrame{f.stream_id, RstStatus::kRefusedStream}).IgnoreError();
    return absl::OkStatus();
  }
  std::shared_ptr<StreamState> s = NewStreamLocked(f.stream_id, std::move(f.headers));
  // A unidirectional stream is half-closed on our side from the start and gets no reply.
  s->unidirectional = (f.flags & kFlagUnidirectional) != 0;
  s->local_fin = s->unidirectional;
  if ((f.flags & kFlagFin) != 0) {
    RemoteFinLocked(*s);
  }
  accept_queue_.push_back(std::move(s));
  cv_.notify_all();
  return absl::OkStatus();
}

Status Session::Handle(SynReplyFrame& f) {
  std::lock_guard lock(mu_);
  std::shared_ptr<StreamState> s = FindLocked(f.stream_id);
  if (!s || IsPeerStreamId(f.stream_id) || s->replied) {
    return absl::OkStatus();  // gone, or a duplicate: spdystream ignores these too
  }
  s->replied = true;
  s->reply_headers = std::move(f.headers);
  if ((f.flags & kFlagFin) != 0) {
    RemoteFinLocked(*s);
  }
  s->cv.notify_all();
  return absl::OkStatus();
}

Status Session::Handle(RstStreamFrame& f) {
  std::lock_guard lock(mu_);
  if (std::shared_ptr<StreamState> s = FindLocked(f.stream_id)) {
    ResetLocked(*s, f.status, /*by_peer=*/true);
  }
  return absl::OkStatus();
}

Status Session::Handle(SettingsFrame& f) {
  std::lock_guard lock(mu_);
  for (const Setting& setting : f.settings) {
    // Every other setting is advisory; a window above 2^31-1 cannot be kept, so it is ignored.
    if (setting.id != static_cast<uint32_t>(SettingId::kInitialWindowSize) ||
        setting.value > kMaxWindow) {
      continue;
    }
    // The change applies to every open stream, and may leave a window negative.
    const int64_t delta = int64_t{setting.value} - peer_initial_window_;
    peer_initial_window_ = setting.value;
    peer_flow_control_ = true;
    for (auto& [id, s] : streams_) {
      s->send_window += delta;
    }
  }
  cv_.notify_all();
  return absl::OkStatus();
}

Status Session::Handle(PingFrame& f) {
  std::unique_lock lock(mu_);
  if (IsOwnPingId(f.id)) {
    if (auto it = pings_.find(f.id); it != pings_.end()) {
      it->second = true;
      cv_.notify_all();
    }
    return absl::OkStatus();
  }
  WaitControlRoomLocked(lock);
  QueueFrameLocked(f).IgnoreError();  // the echo
  return absl::OkStatus();
}

Status Session::Handle(GoAwayFrame& f) {
  std::lock_guard lock(mu_);
  goaway_received_ = true;
  // Streams we opened above the last one the peer accepted were never processed by it.
  std::vector<std::shared_ptr<StreamState>> refused;
  for (auto& [id, s] : streams_) {
    if (!IsPeerStreamId(id) && id > f.last_good_stream_id) {
      refused.push_back(s);
    }
  }
  for (auto& s : refused) {
    ResetLocked(*s, RstStatus::kRefusedStream, /*by_peer=*/true);
  }
  cv_.notify_all();
  return absl::OkStatus();
}

Status Session::Handle(HeadersFrame& f) {
  std::lock_guard lock(mu_);
  std::shared_ptr<StreamState> s = FindLocked(f.stream_id);
  if (s && (f.flags & kFlagFin) != 0) {
    RemoteFinLocked(*s);  // the headers themselves mean nothing to Kubernetes streaming
  }
  return absl::OkStatus();
}

Status Session::Handle(WindowUpdateFrame& f) {
  std::lock_guard lock(mu_);
  if (f.delta == 0) {
    return absl::OkStatus();
  }
  peer_flow_control_ = true;
  if (f.stream_id == 0) {
    peer_session_flow_control_ = true;
    session_send_window_ += f.delta;
    if (session_send_window_ > kMaxWindow) {
      return InvalidArgument("spdy: peer grew the session window past 2^31-1");
    }
  } else if (std::shared_ptr<StreamState> s = FindLocked(f.stream_id)) {
    s->send_window += f.delta;
    if (s->send_window > kMaxWindow) {
      ResetLocked(*s, RstStatus::kFlowControlError, /*by_peer=*/false);
    }
  }
  cv_.notify_all();
  return absl::OkStatus();
}

Status Session::Handle(DataFrame& f) {
  std::unique_lock lock(mu_);
  if (ended_) {
    return absl::OkStatus();
  }
  const size_t size = f.data.size();
  CreditSessionLocked(size);
  std::shared_ptr<StreamState> s = FindLocked(f.stream_id);
  if (!s || s->remote_fin || s->reset) {
    return absl::OkStatus();  // late data for a stream that ended: dropped, as spdystream does
  }
  s->recv_window -= static_cast<int64_t>(size);
  if (s->recv_window < 0 && peer_flow_control_) {
    ResetLocked(*s, RstStatus::kFlowControlError, /*by_peer=*/false);
    return absl::OkStatus();
  }
  // A peer that ignores windows is paced by not reading the socket.
  cv_.wait(lock, [&] { return ended_ || s->reset || s->abandoned || !NeedsRoomLocked(*s, size); });
  if (ended_ || s->reset) {
    return absl::OkStatus();
  }
  if (s->abandoned) {
    AckConsumedLocked(*s, size);  // nobody will read it; keep a flow-controlling peer going
  } else if (size > 0) {
    s->chunks.push_back(std::move(f.data));
    s->buffered += size;
    total_buffered_ += size;
  }
  if ((f.flags & kFlagFin) != 0) {
    RemoteFinLocked(*s);
  }
  s->cv.notify_all();
  return absl::OkStatus();
}

void Session::WriteLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    writer_cv_.wait(lock, [&] { return ended_ || !control_.empty() || !data_.empty(); });
    if (control_.empty() && data_.empty()) {
      break;  // ended, and everything queued is out
    }
    std::string batch = TakeBatchLocked();
    lock.unlock();
    Status written = transport_->WriteAll(batch);
    lock.lock();
    if (!written.ok()) {
      EndLocked(Unavailable(absl::StrCat("spdy: write: ", Message(written))), false);
      control_.clear();
      control_bytes_ = 0;
      data_.clear();
      data_bytes_ = 0;
      break;
    }
    Touch();
    cv_.notify_all();  // queue room for writers, control room for the reader
  }
  writer_done_ = true;
  cv_.notify_all();
  lock.unlock();
  // Nothing more will be written. Shutting down also wakes the reader, which a half-open peer
  // would otherwise keep waiting.
  transport_->Shutdown();
}

std::string Session::TakeBatchLocked() {
  std::string batch;
  while (!control_.empty() && batch.size() < kWriteBatchBytes) {
    control_bytes_ -= control_.front().size();
    batch.append(control_.front());
    control_.pop_front();
  }
  while (!data_.empty() && batch.size() < kWriteBatchBytes) {
    data_bytes_ -= data_.front().frame.size();
    if (batch.empty()) {
      batch = std::move(data_.front().frame);
    } else {
      batch.append(data_.front().frame);
    }
    data_.pop_front();
  }
  return batch;
}

std::shared_ptr<Stream> Session::Accept(milliseconds timeout) {
  std::shared_ptr<StreamState> accepted;
  {
    std::unique_lock lock(mu_);
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (ended_) {
        return nullptr;
      }
      accepted = PopAcceptLocked();
      if (accepted || goaway_sent_) {
        break;
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        accepted = ended_ ? nullptr : PopAcceptLocked();
        break;
      }
    }
    if (!accepted) {
      return nullptr;
    }
    if (!accepted->unidirectional && !QueueFrameLocked(SynReplyFrame{accepted->id, 0, {}}).ok()) {
      return nullptr;
    }
    accepted->replied = true;
  }
  // Built outside the lock: a Stream's destructor takes it.
  return std::shared_ptr<Stream>(new Stream(shared_from_this(), std::move(accepted)));
}

std::shared_ptr<StreamState> Session::PopAcceptLocked() {
  while (!accept_queue_.empty()) {
    std::shared_ptr<StreamState> s = std::move(accept_queue_.front());
    accept_queue_.pop_front();
    if (!s->reset) {
      return s;  // one the peer already reset is dropped unseen
    }
  }
  return nullptr;
}

StatusOr<std::shared_ptr<Stream>> Session::Open(const Headers& headers, milliseconds timeout) {
  // A bad header fails here, before it could touch the compression context.
  RETURN_IF_ERROR(EncodeHeaderBlock(headers).status());
  std::shared_ptr<StreamState> s;
  {
    std::unique_lock lock(mu_);
    if (ended_) {
      return Unavailable(absl::StrCat("spdy: open stream: ", Message(end_status_)));
    }
    if (goaway_received_) {
      return Unavailable("spdy: open stream: the peer sent GOAWAY");
    }
    if (streams_.size() >= options_.max_streams || next_stream_id_ > kMaxStreamId) {
      return absl::ResourceExhaustedError("spdy: open stream: too many streams");
    }
    const uint32_t id = next_stream_id_;
    next_stream_id_ += 2;
    RETURN_IF_ERROR(QueueFrameLocked(SynStreamFrame{id, 0, 0, 0, 0, headers}));
    s = NewStreamLocked(id, headers);
    const auto deadline = Clock::now() + timeout;
    while (!s->replied && !s->reset && !ended_) {
      if (s->cv.wait_until(lock, deadline) == std::cv_status::timeout) {
        break;
      }
    }
    if (s->reset) {
      return ResetError(*s);
    }
    if (!s->replied) {
      if (ended_) {
        return EndedError(*s);
      }
      ResetLocked(*s, RstStatus::kCancel, /*by_peer=*/false);
      return DeadlineExceeded(
          absl::StrCat("spdy: no SYN_REPLY for stream ", id, " within ", timeout.count(), "ms"));
    }
  }
  return std::shared_ptr<Stream>(new Stream(shared_from_this(), std::move(s)));
}

StatusOr<std::chrono::nanoseconds> Session::Ping(milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (ended_) {
    return Unavailable(absl::StrCat("spdy: ping: ", Message(end_status_)));
  }
  const uint32_t id = next_ping_id_;
  next_ping_id_ = id > kMaxStreamId - 2 ? id % 2 : id + 2;
  if (next_ping_id_ == 0) {
    next_ping_id_ = 2;  // 0 is not a ping id
  }
  pings_[id] = false;
  const auto start = Clock::now();
  Status queued = QueueFrameLocked(PingFrame{id});
  if (queued.ok()) {
    cv_.wait_until(lock, start + timeout, [&] { return pings_[id] || ended_; });
  }
  const bool answered = pings_[id];
  pings_.erase(id);
  if (answered) {
    return Clock::now() - start;
  }
  RETURN_IF_ERROR(queued);
  if (ended_) {
    return Unavailable(absl::StrCat("spdy: ping: ", Message(end_status_)));
  }
  return DeadlineExceeded(absl::StrCat("spdy: no PING reply within ", timeout.count(), "ms"));
}

void Session::GoAway() {
  std::lock_guard lock(mu_);
  if (goaway_sent_ || ended_) {
    return;
  }
  goaway_sent_ = true;
  auto frame = Serialize(GoAwayFrame{last_peer_stream_id_, GoAwayStatus::kOk}, compressor_);
  if (frame.ok()) {
    // Behind the data already queued: spdystream reads nothing after a GOAWAY.
    QueueDataLocked(0, std::move(*frame));
  }
  cv_.notify_all();
}

void Session::BeginClose() {
  std::lock_guard lock(mu_);
  EndLocked(Unavailable("spdy: connection closed"), /*flush_data=*/true);
}

void Session::WaitWriterDone(milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return writer_done_; });
}

void Session::FinishClose() {
  std::unique_ptr<Transport> transport;
  std::map<uint32_t, std::shared_ptr<StreamState>> streams;
  std::deque<std::shared_ptr<StreamState>> pending;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : streams_) {
      s->registered = false;
    }
    streams.swap(streams_);
    pending.swap(accept_queue_);
    control_.clear();
    data_.clear();
    transport = std::move(transport_);
  }
  // Streams the application still holds keep their buffered data; the rest goes here.
}

bool Session::WaitEnded(milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return ended_; });
}

Status Session::status() {
  std::lock_guard lock(mu_);
  return ended_ ? end_status_ : absl::OkStatus();
}

StatusOr<size_t> Session::Read(StreamState& s, char* buf, size_t len) {
  std::unique_lock lock(mu_);
  if (len == 0) {
    return 0;
  }
  for (;;) {
    if (s.buffered > 0) {
      return TakeBufferedLocked(s, buf, len);
    }
    if (s.reset) {
      return ResetError(s);
    }
    if (s.remote_fin) {
      return 0;
    }
    if (ended_) {
      return EndedError(s);
    }
    s.cv.wait(lock);
  }
}

size_t Session::TakeBufferedLocked(StreamState& s, char* buf, size_t len) {
  size_t n = 0;
  while (n < len && !s.chunks.empty()) {
    const std::string& front = s.chunks.front();
    const size_t take = std::min(len - n, front.size() - s.chunk_offset);
    std::memcpy(buf + n, front.data() + s.chunk_offset, take);
    n += take;
    s.chunk_offset += take;
    if (s.chunk_offset == front.size()) {
      s.chunks.pop_front();
      s.chunk_offset = 0;
    }
  }
  s.buffered -= n;
  total_buffered_ -= n;
  AckConsumedLocked(s, n);
  cv_.notify_all();  // the reader may be waiting for buffer room
  return n;
}

void Session::AckConsumedLocked(StreamState& s, size_t n) {
  // Window goes back in batches of half a window: fewer frames, and the peer never stalls
  // while half a window is still open.
  s.recv_unacked += static_cast<int64_t>(n);
  if (s.recv_unacked >= options_.stream_window / 2 && s.registered && !s.remote_fin) {
    QueueFrameLocked(WindowUpdateFrame{s.id, static_cast<uint32_t>(s.recv_unacked)}).IgnoreError();
    s.recv_window += s.recv_unacked;
    s.recv_unacked = 0;
  }
}

Status Session::Write(StreamState& s, std::string_view data, bool fin) {
  std::unique_lock lock(mu_);
  if (data.empty() && !fin) {
    return absl::OkStatus();
  }
  size_t offset = 0;
  do {
    const bool needs_window = offset < data.size();
    int64_t window = 0;
    for (;;) {
      RETURN_IF_ERROR(WritableLocked(s));
      window = SendWindowLocked(s);
      if ((!needs_window || window > 0) && data_bytes_ < options_.max_queued_bytes) {
        break;
      }
      cv_.wait(lock);
    }
    size_t n = std::min(data.size() - offset, kMaxDataChunk);
    if (needs_window) {
      n = std::min<size_t>(n, static_cast<size_t>(window));
    }
    const bool last = offset + n == data.size();
    ASSIGN_OR_RETURN(std::string frame,
                     SerializeData(s.id, fin && last ? kFlagFin : 0, data.substr(offset, n)));
    QueueDataLocked(s.id, std::move(frame));
    // Tracked even while not enforced, so the numbers are right if the peer starts keeping
    // windows later.
    s.send_window -= static_cast<int64_t>(n);
    session_send_window_ -= static_cast<int64_t>(n);
    offset += n;
  } while (offset < data.size());
  if (fin) {
    s.local_fin = true;
    if (s.remote_fin) {
      UnregisterLocked(s);
    }
  }
  return absl::OkStatus();
}

void Session::Reset(StreamState& s, RstStatus status) {
  std::lock_guard lock(mu_);
  ResetLocked(s, status, /*by_peer=*/false);
}

void Session::Release(StreamState& s) {
  std::lock_guard lock(mu_);
  DropBufferLocked(s);
  if (!s.registered || s.reset) {
    return;
  }
  if (s.local_fin) {
    // Our side is complete but its data may still be queued, and a reset would overtake and
    // discard it (e.g. exec's final status on the error stream). Let the peer finish instead.
    s.abandoned = true;
    return;
  }
  ResetLocked(s, RstStatus::kCancel, /*by_peer=*/false);
}

bool Session::ClosedByPeer(const StreamState& s) {
  std::lock_guard lock(mu_);
  return s.remote_fin || s.reset_by_peer;
}

size_t Session::Buffered(const StreamState& s) {
  std::lock_guard lock(mu_);
  return s.buffered;
}

std::shared_ptr<StreamState> Session::FindLocked(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

std::shared_ptr<StreamState> Session::NewStreamLocked(uint32_t id, Headers headers) {
  auto s = std::make_shared<StreamState>(id, std::move(headers), peer_initial_window_,
                                         options_.stream_window);
  streams_[id] = s;
  return s;
}

void Session::QueueControlLocked(std::string frame) {
  if (ended_) {
    return;
  }
  control_bytes_ += frame.size();
  control_.push_back(std::move(frame));
  writer_cv_.notify_one();
}

void Session::QueueDataLocked(uint32_t stream_id, std::string frame) {
  if (ended_) {
    return;
  }
  data_bytes_ += frame.size();
  data_.push_back({stream_id, std::move(frame)});
  writer_cv_.notify_one();
}

Status Session::QueueFrameLocked(const Frame& frame) {
  auto bytes = Serialize(frame, compressor_);
  if (!bytes.ok()) {
    // Our own frames are well formed, so this is a broken compressor: the session cannot go on.
    Status why = Internal(absl::StrCat("spdy: ", Message(bytes.status())));
    EndLocked(why, /*flush_data=*/false);
    return why;
  }
  QueueControlLocked(std::move(*bytes));
  return absl::OkStatus();
}

void Session::WaitControlRoomLocked(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return ended_ || control_bytes_ < kMaxControlBytes; });
}

void Session::RemoteFinLocked(StreamState& s) {
  s.remote_fin = true;
  if (s.local_fin) {
    UnregisterLocked(s);
  }
  s.cv.notify_all();
}

void Session::ResetLocked(StreamState& s, RstStatus status, bool by_peer) {
  if (s.reset) {
    return;
  }
  s.reset = true;
  s.reset_by_peer = by_peer;
  s.reset_status = status;
  DropBufferLocked(s);
  // Data still queued for the stream must not follow its RST_STREAM.
  std::erase_if(data_, [&](const QueuedData& q) {
    if (q.stream_id != s.id) return false;
    data_bytes_ -= q.frame.size();
    return true;
  });
  if (!by_peer && s.registered) {
    QueueFrameLocked(RstStreamFrame{s.id, status}).IgnoreError();
  }
  UnregisterLocked(s);
  s.cv.notify_all();
  cv_.notify_all();
}

void Session::UnregisterLocked(StreamState& s) {
  if (s.registered) {
    s.registered = false;
    streams_.erase(s.id);
  }
}

void Session::DropBufferLocked(StreamState& s) {
  total_buffered_ -= s.buffered;
  s.buffered = 0;
  s.chunks.clear();
  s.chunk_offset = 0;
  cv_.notify_all();
}

void Session::EndLocked(Status why, bool flush_data) {
  if (ended_) {
    return;
  }
  ended_ = true;
  end_status_ = std::move(why);
  if (!flush_data) {
    data_.clear();
    data_bytes_ = 0;
  }
  for (auto& [id, s] : streams_) {
    s->cv.notify_all();
  }
  cv_.notify_all();
  writer_cv_.notify_all();
}

int64_t Session::SendWindowLocked(const StreamState& s) const {
  if (!peer_flow_control_) {
    return kMaxWindow;  // spdystream: no windows to keep (see the header)
  }
  return peer_session_flow_control_ ? std::min(s.send_window, session_send_window_) : s.send_window;
}

bool Session::NeedsRoomLocked(const StreamState& s, size_t size) const {
  if (size == 0) {
    return false;
  }
  // An empty buffer always takes one frame, so a frame larger than the limits still gets in.
  const bool stream_full = s.buffered > 0 && s.buffered + size > options_.stream_window;
  const bool all_full = total_buffered_ > 0 && total_buffered_ + size > options_.max_buffered_bytes;
  return stream_full || all_full;
}

void Session::CreditSessionLocked(size_t size) {
  session_recv_unacked_ += static_cast<int64_t>(size);
  if (session_recv_unacked_ >= options_.session_window / 2) {
    QueueFrameLocked(WindowUpdateFrame{0, static_cast<uint32_t>(session_recv_unacked_)})
        .IgnoreError();
    session_recv_unacked_ = 0;
  }
}

Status Session::WritableLocked(const StreamState& s) const {
  if (s.reset) {
    return ResetError(s);
  }
  if (ended_) {
    return EndedError(s);
  }
  if (s.local_fin) {
    return FailedPrecondition(absl::StrCat("spdy: stream ", s.id, ": write after CloseWrite"));
  }
  return absl::OkStatus();
}

Status Session::EndedError(const StreamState& s) const {
  return Unavailable(absl::StrCat("spdy: stream ", s.id, ": ", Message(end_status_)));
}

Status Session::ResetError(const StreamState& s) {
  return absl::CancelledError(absl::StrCat("spdy: stream ", s.id,
                                           s.reset_by_peer ? " reset by peer (" : " reset (",
                                           std::string(RstStatusName(s.reset_status)), ")"));
}

}  // namespace internal

Stream::Stream(std::shared_ptr<internal::Session> session,
               std::shared_ptr<internal::StreamState> state)
    : session_(std::move(session)), state_(std::move(state)) {}

Stream::~Stream() { session_->Release(*state_); }

uint32_t Stream::id() const { return state_->id; }
const Headers& Stream::headers() const { return state_->headers; }
const Headers& Stream::reply_headers() const { return state_->reply_headers; }

StatusOr<size_t> Stream::Read(char* buf, size_t len) { return session_->Read(*state_, buf, len); }
Status Stream::Write(std::string_view data) { return session_->Write(*state_, data, false); }
Status Stream::CloseWrite() { return session_->Write(*state_, {}, true); }
void Stream::Reset(RstStatus status) { session_->Reset(*state_, status); }
bool Stream::closed_by_peer() const { return session_->ClosedByPeer(*state_); }
size_t Stream::buffered_bytes() const { return session_->Buffered(*state_); }

Connection::Connection(std::unique_ptr<Transport> transport, Role role, std::string initial_bytes,
                       ConnectionOptions options)
    : session_(std::make_shared<internal::Session>(std::move(transport), role,
                                                   std::move(initial_bytes), options)) {}

Connection::~Connection() { Close(); }

void Connection::Start() {
  std::lock_guard lock(lifecycle_mu_);
  if (started_ || closed_) {
    return;
  }
  started_ = true;
  session_->QueuePreface();
  reader_ = std::thread([session = session_.get()] { session->ReadLoop(); });
  writer_ = std::thread([session = session_.get()] { session->WriteLoop(); });
}

std::shared_ptr<Stream> Connection::AcceptStream(std::chrono::milliseconds timeout) {
  return session_->Accept(timeout);
}

StatusOr<std::shared_ptr<Stream>> Connection::OpenStream(const Headers& headers,
                                                         std::chrono::milliseconds timeout) {
  return session_->Open(headers, timeout);
}

StatusOr<std::chrono::nanoseconds> Connection::Ping(std::chrono::milliseconds timeout) {
  return session_->Ping(timeout);
}

void Connection::GoAway() { session_->GoAway(); }

void Connection::Close() {
  std::lock_guard lock(lifecycle_mu_);
  if (closed_) {
    return;
  }
  closed_ = true;
  session_->BeginClose();
  if (started_) {
    session_->WaitWriterDone(session_->options().close_flush_timeout);
  }
  session_->ShutdownTransport();
  if (reader_.joinable()) {
    reader_.join();
  }
  if (writer_.joinable()) {
    writer_.join();
  }
  session_->FinishClose();
}

bool Connection::WaitClosed(std::chrono::milliseconds timeout) {
  return session_->WaitEnded(timeout);
}

Status Connection::status() const { return session_->status(); }

std::chrono::steady_clock::time_point Connection::last_activity() const {
  return session_->last_activity();
}

}  // namespace crio::streaming::spdy
