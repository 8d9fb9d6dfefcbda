// SPDY/3.1 framing and sessions, as crictl/kubectl (moby/spdystream) speak them: every frame type
// round-trips, header compression keeps its context across frames and reads a block laid out
// by hand from the spec, hostile bytes are rejected without crashing, and two connections over
// a socketpair carry streams, half-closes, resets, pings and flow control.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>

#include "os/unique_fd.h"
#include "streaming/spdy_connection.h"
#include "streaming/spdy_frame.h"

namespace crio::streaming::spdy {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// ---- codec helpers ----

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::string U32(uint32_t v) {
  return Bytes({static_cast<int>(v >> 24), static_cast<int>((v >> 16) & 0xff),
                static_cast<int>((v >> 8) & 0xff), static_cast<int>(v & 0xff)});
}

// Serializes `frame` with a fresh context and parses it back.
void ExpectRoundTrip(const Frame& frame) {
  HeaderCompressor compressor;
  auto bytes = Serialize(frame, compressor);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  FrameParser parser;
  parser.Feed(*bytes);
  auto parsed = parser.Next();
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->has_value());
  EXPECT_TRUE(**parsed == frame);
  auto rest = parser.Next();
  ASSERT_TRUE(rest.ok());
  EXPECT_FALSE(rest->has_value());
  EXPECT_EQ(parser.buffered(), 0u);
}

// Parses `bytes` completely; the first error, or the frames.
StatusOr<std::vector<Frame>> ParseAll(std::string_view bytes, ParserLimits limits = {}) {
  FrameParser parser(limits);
  parser.Feed(bytes);
  std::vector<Frame> frames;
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<Frame> frame, parser.Next());
    if (!frame) return frames;
    frames.push_back(std::move(*frame));
  }
}

const Headers kExecHeaders = {{"streamtype", "stdin"}, {"requestid", "17"}, {"port", ""}};

TEST(SpdyFrame, RoundTripsSynStream) {
  ExpectRoundTrip(SynStreamFrame{1, 0, 0, 0, 0, kExecHeaders});
  ExpectRoundTrip(SynStreamFrame{kMaxStreamId, 3, 7, 9, kFlagFin | kFlagUnidirectional, {}});
}

TEST(SpdyFrame, RoundTripsSynReply) {
  ExpectRoundTrip(SynReplyFrame{1, 0, {}});
  ExpectRoundTrip(SynReplyFrame{5, kFlagFin, {{":status", "200"}}});
}

TEST(SpdyFrame, RoundTripsRstStream) {
  ExpectRoundTrip(RstStreamFrame{3, RstStatus::kCancel});
  ExpectRoundTrip(RstStreamFrame{3, static_cast<RstStatus>(77)});  // unknown codes are kept
}

TEST(SpdyFrame, RoundTripsSettings) {
  ExpectRoundTrip(SettingsFrame{});
  ExpectRoundTrip(SettingsFrame{
      kFlagClearSettings,
      {{0, static_cast<uint32_t>(SettingId::kInitialWindowSize), 1 << 20}, {1, 0xffffff, 9}}});
}

TEST(SpdyFrame, RoundTripsPing) { ExpectRoundTrip(PingFrame{0xfffffffe}); }

TEST(SpdyFrame, RoundTripsGoAway) {
  ExpectRoundTrip(GoAwayFrame{0, GoAwayStatus::kOk});
  ExpectRoundTrip(GoAwayFrame{41, GoAwayStatus::kProtocolError});
}

TEST(SpdyFrame, RoundTripsHeaders) { ExpectRoundTrip(HeadersFrame{7, kFlagFin, kExecHeaders}); }

TEST(SpdyFrame, RoundTripsWindowUpdate) {
  ExpectRoundTrip(WindowUpdateFrame{0, 1});
  ExpectRoundTrip(WindowUpdateFrame{9, kMaxStreamId});
}

TEST(SpdyFrame, RoundTripsData) {
  ExpectRoundTrip(DataFrame{1, 0, "hello"});
  ExpectRoundTrip(DataFrame{1, kFlagFin, ""});
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  ExpectRoundTrip(DataFrame{kMaxStreamId, 0, big});
}

TEST(SpdyFrame, LaysOutControlAndDataHeadersAsTheSpecSays) {
  HeaderCompressor compressor;
  // Control bit, version 3, type; flags and 24-bit length; stream id and status.
  EXPECT_EQ(*Serialize(RstStreamFrame{5, RstStatus::kCancel}, compressor),
            Bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08}) + U32(5) + U32(5));
  EXPECT_EQ(*SerializeData(3, kFlagFin, "ab"), U32(3) + Bytes({0x01, 0x00, 0x00, 0x02}) + "ab");
}

TEST(SpdyFrame, RejectsFieldsTheWireCannotCarry) {
  HeaderCompressor compressor;
  EXPECT_FALSE(Serialize(SynStreamFrame{0, 0, 0, 0, 0, {}}, compressor).ok());
  EXPECT_FALSE(Serialize(SynStreamFrame{1, 0, 8, 0, 0, {}}, compressor).ok());
  EXPECT_FALSE(Serialize(SynReplyFrame{1, 0, {{"", "x"}}}, compressor).ok());
  EXPECT_FALSE(Serialize(RstStreamFrame{1, static_cast<RstStatus>(0)}, compressor).ok());
  EXPECT_FALSE(Serialize(WindowUpdateFrame{1, 0}, compressor).ok());
  EXPECT_FALSE(SerializeData(0, 0, "x").ok());
  EXPECT_FALSE(SerializeData(kMaxStreamId + 1, 0, "x").ok());
}

TEST(SpdyFrame, RepeatedHeaderNamesShareOneNulJoinedEntry) {
  auto block = EncodeHeaderBlock({{"A", "1"}, {"b", "2"}, {"a", "3"}});
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(*block, U32(2) + U32(1) + "a" + U32(3) +
                        std::string("1\0"
                                    "3",
                                    3) +
                        U32(1) + "b" + U32(1) + "2");
  auto headers = DecodeHeaderBlock(*block);
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(*headers, (Headers{{"a", "1"}, {"a", "3"}, {"b", "2"}}));
  EXPECT_EQ(FindHeader(*headers, "A"), "1");
  EXPECT_EQ(FindHeader(*headers, "missing"), "");
}

TEST(SpdyFrame, HeaderCompressionKeepsItsContextAcrossBlocks) {
  HeaderCompressor compressor;
  HeaderDecompressor decompressor;
  std::vector<size_t> sizes;
  for (int i = 0; i < 20; ++i) {
    Headers headers = {{"streamtype", i % 2 ? "stdout" : "stderr"},
                       {"requestid", std::to_string(i)},
                       {"user-agent", "kubectl/v1.30.0 (linux/amd64) kubernetes/abcdef"}};
    auto compressed = compressor.Compress(headers);
    ASSERT_TRUE(compressed.ok()) << compressed.status();
    sizes.push_back(compressed->size());
    auto decoded = decompressor.Decompress(*compressed);
    ASSERT_TRUE(decoded.ok()) << "block " << i << ": " << decoded.status();
    EXPECT_EQ(*decoded, headers);
  }
  // Later blocks refer back to earlier ones: a shared context makes them much smaller.
  EXPECT_LT(sizes.back() * 2, sizes.front());
}

TEST(SpdyFrame, DictionaryIsTheSpdy3One) {
  std::string_view dict = HeaderDictionary();
  ASSERT_EQ(dict.size(), 1423u);
  EXPECT_EQ(dict.substr(0, 11), std::string_view("\0\0\0\7options", 11));
  EXPECT_EQ(dict.substr(dict.size() - 7), ",enq=0.");
  // The Adler-32 a peer's zlib header names (computed from spdystream's dictionary.go).
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(dict.data()), dict.size()), 0xe3c6a7c2u);
}

// A stored (uncompressed) deflate block, not final: BFINAL=0 BTYPE=00, LEN, NLEN, the bytes.
std::string StoredBlock(std::string_view data) {
  const size_t n = data.size();
  return Bytes({0x00, static_cast<int>(n & 0xff), static_cast<int>(n >> 8),
                static_cast<int>(~n & 0xff), static_cast<int>((~n >> 8) & 0xff)}) +
         std::string(data);
}

TEST(SpdyFrame, DecodesHeaderBlocksLaidOutByHandFromTheSpec) {
  // What a spdystream client sends for `exec`: a SYN_STREAM whose name/value block (32-bit
  // counts and lengths) is zlib-compressed with the SPDY/3 dictionary and sync-flushed. The
  // zlib stream is built by hand: header 78 f9 (best compression, FDICT), the dictionary's
  // Adler-32, a stored block with the raw block, then the sync-flush marker 00 00 00 ff ff.
  const std::string block1 =
      U32(2) + U32(10) + "streamtype" + U32(5) + "error" + U32(9) + "requestid" + U32(1) + "0";
  const std::string zlib1 = Bytes({0x78, 0xf9}) + U32(0xe3c6a7c2) + StoredBlock(block1) +
                            Bytes({0x00, 0x00, 0x00, 0xff, 0xff});
  const std::string syn1 = Bytes({0x80, 0x03, 0x00, 0x01, 0x00}) +
                           Bytes({0x00, 0x00, static_cast<int>(10 + zlib1.size())}) + U32(1) +
                           U32(0) + Bytes({0x00, 0x00}) + zlib1;
  // The second frame continues the same zlib stream: no header this time.
  const std::string block2 = U32(1) + U32(10) + "streamtype" + U32(6) + "stdout";
  const std::string zlib2 = StoredBlock(block2) + Bytes({0x00, 0x00, 0x00, 0xff, 0xff});
  const std::string syn2 = Bytes({0x80, 0x03, 0x00, 0x01, 0x00}) +
                           Bytes({0x00, 0x00, static_cast<int>(10 + zlib2.size())}) + U32(3) +
                           U32(0) + Bytes({0x00, 0x00}) + zlib2;
  auto frames = ParseAll(syn1 + syn2);
  ASSERT_TRUE(frames.ok()) << frames.status();
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_TRUE((*frames)[0] ==
              Frame(SynStreamFrame{1, 0, 0, 0, 0, {{"streamtype", "error"}, {"requestid", "0"}}}));
  EXPECT_TRUE((*frames)[1] == Frame(SynStreamFrame{3, 0, 0, 0, 0, {{"streamtype", "stdout"}}}));
}

TEST(SpdyFrame, ParsesFramesFedOneByteAtATime) {
  HeaderCompressor compressor;
  std::vector<Frame> sent = {SynStreamFrame{1, 0, 2, 0, 0, kExecHeaders}, DataFrame{1, 0, "abc"},
                             PingFrame{2}, SynReplyFrame{1, 0, {}}, DataFrame{1, kFlagFin, ""}};
  std::string wire;
  for (const Frame& f : sent) wire += *Serialize(f, compressor);
  FrameParser parser;
  std::vector<Frame> got;
  for (char c : wire) {
    parser.Feed(std::string_view(&c, 1));
    auto next = parser.Next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (next->has_value()) got.push_back(std::move(**next));
  }
  EXPECT_TRUE(got == sent);
}

TEST(SpdyFrame, SkipsUnknownControlFrameTypes) {
  HeaderCompressor compressor;
  // CREDENTIAL (10) and an invented type, with payloads, around a PING; fed in pieces so the
  // skip spans Feed() calls and is never buffered.
  std::string credential =
      Bytes({0x80, 0x03, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00}) + std::string(65536, 'c');
  std::string invented = Bytes({0x80, 0x03, 0xff, 0xff, 0x00, 0x00, 0x00, 0x03}) + "xyz";
  std::string wire = credential + invented + *Serialize(PingFrame{4}, compressor);
  FrameParser parser;
  std::vector<Frame> got;
  for (size_t at = 0; at < wire.size(); at += 1000) {
    parser.Feed(std::string_view(wire).substr(at, 1000));
    EXPECT_LE(parser.buffered(), 1000u);
    auto next = parser.Next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (next->has_value()) got.push_back(std::move(**next));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0] == Frame(PingFrame{4}));
}

TEST(SpdyFrame, WaitsForTheRestOfATruncatedFrame) {
  HeaderCompressor compressor;
  std::string wire = *Serialize(GoAwayFrame{1, GoAwayStatus::kOk}, compressor);
  FrameParser parser;
  parser.Feed(wire.substr(0, 7));
  EXPECT_FALSE(parser.Next()->has_value());
  parser.Feed(wire.substr(7, 5));
  EXPECT_FALSE(parser.Next()->has_value());
  parser.Feed(wire.substr(12));
  EXPECT_TRUE(parser.Next()->has_value());
}

TEST(SpdyFrame, RejectsMalformedFrames) {
  HeaderCompressor compressor;
  std::string syn = *Serialize(SynStreamFrame{1, 0, 0, 0, 0, kExecHeaders}, compressor);
  // The same SYN_STREAM with its compressed block cut in half (length fixed up).
  std::string cut = syn.substr(0, 18 + (syn.size() - 18) / 2);
  cut[7] = static_cast<char>(cut.size() - 8);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"version 2", Bytes({0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4}) + U32(1)},
      {"short RST_STREAM", Bytes({0x80, 0x03, 0x00, 0x03, 0, 0, 0, 4}) + U32(1)},
      {"RST_STREAM status 0", Bytes({0x80, 0x03, 0x00, 0x03, 0, 0, 0, 8}) + U32(1) + U32(0)},
      {"RST_STREAM stream 0", Bytes({0x80, 0x03, 0x00, 0x03, 0, 0, 0, 8}) + U32(0) + U32(5)},
      {"long PING", Bytes({0x80, 0x03, 0x00, 0x06, 0, 0, 0, 8}) + U32(1) + U32(1)},
      {"SETTINGS count", Bytes({0x80, 0x03, 0x00, 0x04, 0, 0, 0, 12}) + U32(5) + U32(7) + U32(1)},
      {"short GOAWAY", Bytes({0x80, 0x03, 0x00, 0x07, 0, 0, 0, 4}) + U32(1)},
      {"short WINDOW_UPDATE", Bytes({0x80, 0x03, 0x00, 0x09, 0, 0, 0, 4}) + U32(1)},
      {"short SYN_STREAM", Bytes({0x80, 0x03, 0x00, 0x01, 0, 0, 0, 6}) + U32(1) + "xy"},
      {"garbage header block",
       Bytes({0x80, 0x03, 0x00, 0x02, 0, 0, 0, 7}) + U32(1) + Bytes({1, 2, 3})},
      {"cut header block", cut},
      {"DATA on stream 0", U32(0) + U32(1) + "x"},
  };
  for (const auto& [name, wire] : cases) {
    auto frames = ParseAll(wire);
    EXPECT_FALSE(frames.ok()) << name;
    EXPECT_EQ(frames.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(SpdyFrame, ErrorsAreFinal) {
  FrameParser parser;
  parser.Feed(U32(0) + U32(0));  // DATA on stream 0
  EXPECT_FALSE(parser.Next().ok());
  HeaderCompressor compressor;
  parser.Feed(*Serialize(PingFrame{1}, compressor));
  EXPECT_FALSE(parser.Next().ok());
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(SpdyFrame, RejectsOversizedFramesBeforeBufferingThem) {
  FrameParser parser(ParserLimits{.max_frame_length = 1024});
  parser.Feed(U32(1) + U32(2048));  // only the header of a 2 KiB DATA frame
  auto next = parser.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(std::string(next.status().message()).find("exceeds"), std::string::npos);
}

TEST(SpdyFrame, RejectsAHeaderBlockThatInflatesPastTheLimit) {
  HeaderCompressor compressor;
  // 1 MiB of one byte compresses to about a kilobyte: a decompression bomb.
  auto wire = Serialize(SynReplyFrame{1, 0, {{"x", std::string(1 << 20, 'a')}}}, compressor);
  ASSERT_TRUE(wire.ok());
  EXPECT_LT(wire->size(), 8192u);
  auto frames = ParseAll(*wire);
  ASSERT_FALSE(frames.ok());
  EXPECT_NE(std::string(frames.status().message()).find("inflates past"), std::string::npos);
  EXPECT_TRUE(ParseAll(*wire, ParserLimits{.max_header_block_bytes = 2 << 20}).ok());
}

TEST(SpdyFrame, RejectsAHeaderCountTheBlockCannotHold) {
  EXPECT_FALSE(DecodeHeaderBlock(U32(0xffffffff)).ok());
  EXPECT_FALSE(DecodeHeaderBlock(U32(1) + U32(0xfffffff0) + "x").ok());
  EXPECT_FALSE(DecodeHeaderBlock(U32(1) + U32(0) + U32(0)).ok());  // empty name
  EXPECT_FALSE(DecodeHeaderBlock(U32(0) + "x").ok());              // trailing byte
}

TEST(SpdyFrame, SurvivesGarbageAndMutatedFrames) {
  std::mt19937 rng(42);
  HeaderCompressor compressor;
  std::string valid;
  for (const Frame& f : std::vector<Frame>{
           SynStreamFrame{1, 0, 0, 0, 0, kExecHeaders}, SettingsFrame{0, {{0, 7, 1 << 20}}},
           DataFrame{1, 0, "payload"}, PingFrame{1}, SynReplyFrame{1, 0, kExecHeaders}}) {
    valid += *Serialize(f, compressor);
  }
  for (int i = 0; i < 3000; ++i) {
    std::string wire;
    if (i % 2 == 0) {
      wire = valid;
      for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
        wire[rng() % wire.size()] = static_cast<char>(rng());
      }
    } else {
      // A plausible control header in front of random bytes gets past the first checks.
      wire = Bytes({0x80, 0x03, 0x00, static_cast<int>(1 + rng() % 9), 0, 0, 0,
                    static_cast<int>(rng() % 64)});
      for (size_t n = rng() % 64; n > 0; --n) wire.push_back(static_cast<char>(rng()));
    }
    FrameParser parser(ParserLimits{.max_frame_length = 1 << 16});
    parser.Feed(wire);
    for (int frames = 0; frames < 64; ++frames) {
      auto next = parser.Next();
      if (!next.ok() || !next->has_value()) break;
    }
    EXPECT_LE(parser.buffered(), wire.size());
  }
}

// ---- connection helpers ----

struct Pair {
  std::unique_ptr<Connection> client;
  std::unique_ptr<Connection> server;
};

std::pair<os::UniqueFd, os::UniqueFd> SocketPair() {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {os::UniqueFd(fds[0]), os::UniqueFd(fds[1])};
}

Pair StartPair(ConnectionOptions client_options = {}, ConnectionOptions server_options = {}) {
  auto [a, b] = SocketPair();
  Pair pair;
  pair.client = std::make_unique<Connection>(std::make_unique<FdTransport>(std::move(a)),
                                             Connection::Role::kClient, "", client_options);
  pair.server = std::make_unique<Connection>(std::make_unique<FdTransport>(std::move(b)),
                                             Connection::Role::kServer, "", server_options);
  pair.client->Start();
  pair.server->Start();
  return pair;
}

// Opens a stream from the client and accepts it on the server: the SYN_REPLY goes out when the
// server accepts, so the two must overlap.
std::pair<std::shared_ptr<Stream>, std::shared_ptr<Stream>> OpenAndAccept(Pair& pair) {
  auto opened = std::async(std::launch::async, [&] {
    return pair.client->OpenStream({{"streamtype", "stdin"}}, milliseconds(2000));
  });
  std::shared_ptr<Stream> accepted = pair.server->AcceptStream(milliseconds(2000));
  auto client = opened.get();
  EXPECT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE(accepted);
  return {client.ok() ? *client : nullptr, accepted};
}

StatusOr<std::string> ReadAll(Stream& stream) {
  std::string out;
  char buf[16384];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, stream.Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

std::string Pattern(size_t size, int seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed) % 251);
  return out;
}

// Polls `condition` for up to two seconds.
template <typename F>
bool Eventually(F condition) {
  const auto deadline = Clock::now() + milliseconds(2000);
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// The other end of a socket, driven frame by frame, playing a spdystream peer: it never sends
// SETTINGS or WINDOW_UPDATE unless a test says so.
class RawPeer {
 public:
  explicit RawPeer(os::UniqueFd fd) : fd_(std::move(fd)) {}

  void SendBytes(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  void Send(const Frame& frame) {
    auto bytes = Serialize(frame, compressor_);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    SendBytes(*bytes);
  }

  // The next frame that is not flow-control housekeeping (SETTINGS, WINDOW_UPDATE); nullopt at
  // end of stream or after two seconds.
  std::optional<Frame> Receive() {
    const auto deadline = Clock::now() + milliseconds(2000);
    for (;;) {
      auto next = parser_.Next();
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok()) return std::nullopt;
      if (next->has_value()) {
        if (std::holds_alternative<SettingsFrame>(**next) ||
            std::holds_alternative<WindowUpdateFrame>(**next)) {
          continue;
        }
        return std::move(**next);
      }
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      struct pollfd p = {fd_.get(), POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
      char buf[65536];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      parser_.Feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }

  void Close() { fd_.reset(); }

 private:
  os::UniqueFd fd_;
  HeaderCompressor compressor_;
  FrameParser parser_;
};

// ---- connection tests ----

TEST(SpdyConnection, EchoesOnSixteenConcurrentStreams) {
  Pair pair = StartPair();
  constexpr int kStreams = 16;
  std::thread server([&] {
    std::vector<std::thread> echoes;
    for (int i = 0; i < kStreams; ++i) {
      std::shared_ptr<Stream> stream = pair.server->AcceptStream(milliseconds(2000));
      ASSERT_TRUE(stream);
      EXPECT_EQ(FindHeader(stream->headers(), "streamtype"), "data");
      echoes.emplace_back([stream] {
        auto got = ReadAll(*stream);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_TRUE(stream->Write(*got).ok());
        EXPECT_TRUE(stream->CloseWrite().ok());
      });
    }
    for (auto& t : echoes) t.join();
  });
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      auto stream = pair.client->OpenStream({{"streamtype", "data"}, {"index", std::to_string(i)}},
                                            milliseconds(2000));
      ASSERT_TRUE(stream.ok()) << stream.status();
      EXPECT_EQ((*stream)->id() % 2, 1u);  // the client opens odd ids
      const std::string payload = Pattern(100 * 1024 + i, i);
      ASSERT_TRUE((*stream)->Write(payload).ok());
      ASSERT_TRUE((*stream)->CloseWrite().ok());
      auto echoed = ReadAll(**stream);
      ASSERT_TRUE(echoed.ok()) << echoed.status();
      EXPECT_TRUE(*echoed == payload) << "stream " << i;
    });
  }
  for (auto& t : clients) t.join();
  server.join();
}

TEST(SpdyConnection, TransfersTenMebibytesIntact) {
  Pair pair = StartPair();
  const std::string payload = Pattern(10 << 20, 3);
  std::thread writer([&] {
    auto stream = pair.client->OpenStream({{"streamtype", "stdin"}}, milliseconds(2000));
    ASSERT_TRUE(stream.ok()) << stream.status();
    EXPECT_TRUE((*stream)->Write(payload).ok());
    EXPECT_TRUE((*stream)->CloseWrite().ok());
    // Hold the stream until the server has read it all: dropping it early would reset it.
    char byte;
    EXPECT_EQ(*(*stream)->Read(&byte, 1), 0u);
  });
  std::shared_ptr<Stream> stream = pair.server->AcceptStream(milliseconds(2000));
  ASSERT_TRUE(stream);
  auto got = ReadAll(*stream);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), payload.size());
  EXPECT_TRUE(*got == payload);
  EXPECT_TRUE(stream->CloseWrite().ok());
  writer.join();
}

TEST(SpdyConnection, HalfCloseGivesEofAndLeavesTheOtherDirectionOpen) {
  Pair pair = StartPair();
  auto [client, server] = OpenAndAccept(pair);
  ASSERT_TRUE(client && server);
  ASSERT_TRUE(client->Write("last words").ok());
  ASSERT_TRUE(client->CloseWrite().ok());
  EXPECT_EQ(*ReadAll(*server), "last words");
  EXPECT_TRUE(server->closed_by_peer());
  char byte;
  EXPECT_EQ(*server->Read(&byte, 1), 0u);  // EOF stays EOF
  EXPECT_EQ(client->Write("more").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(server->Write("reply").ok());
  ASSERT_TRUE(server->CloseWrite().ok());
  EXPECT_EQ(*ReadAll(*client), "reply");
}

TEST(SpdyConnection, ResetWakesABlockedReader) {
  Pair pair = StartPair();
  auto [client, server] = OpenAndAccept(pair);
  ASSERT_TRUE(client && server);
  std::promise<Status> read;
  std::thread reader([&] {
    char buf[16];
    read.set_value(server->Read(buf, sizeof buf).status());
  });
  client->Reset();
  auto result = read.get_future();
  ASSERT_EQ(result.wait_for(milliseconds(2000)), std::future_status::ready);
  EXPECT_EQ(result.get().code(), absl::StatusCode::kCancelled);
  reader.join();
  EXPECT_TRUE(server->closed_by_peer());
  EXPECT_EQ(server->Write("x").code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(client->Write("x").code(), absl::StatusCode::kCancelled);
}

TEST(SpdyConnection, DroppingAnOpenStreamResetsIt) {
  Pair pair = StartPair();
  auto [client, server] = OpenAndAccept(pair);
  ASSERT_TRUE(client && server);
  client.reset();
  char byte;
  EXPECT_EQ(server->Read(&byte, 1).status().code(), absl::StatusCode::kCancelled);
}

TEST(SpdyConnection, DroppingAStreamAfterCloseWriteStillDeliversWhatWasWritten) {
  Pair pair = StartPair();
  auto [client, server] = OpenAndAccept(pair);
  ASSERT_TRUE(client && server);
  // exec's pattern: the final status goes out on the error stream, which is then closed and
  // dropped while the data may still be queued.
  const std::string status = Pattern(200 * 1024, 1);
  ASSERT_TRUE(server->Write(status).ok());
  ASSERT_TRUE(server->CloseWrite().ok());
  server.reset();
  // What the client still sends is discarded, and its window given back: 1 MiB goes through.
  ASSERT_TRUE(client->Write(std::string(1 << 20, 'x')).ok());
  ASSERT_TRUE(client->CloseWrite().ok());
  auto got = ReadAll(*client);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == status);
}

TEST(SpdyConnection, AnswersPingsBothWays) {
  Pair pair = StartPair();
  auto rtt = pair.client->Ping(milliseconds(2000));
  EXPECT_TRUE(rtt.ok()) << rtt.status();
  rtt = pair.server->Ping(milliseconds(2000));
  EXPECT_TRUE(rtt.ok()) << rtt.status();
}

TEST(SpdyConnection, CloseReturnsPromptlyWithBlockedReadersAndWriters) {
  Pair pair = StartPair();
  auto [client, server] = OpenAndAccept(pair);
  ASSERT_TRUE(client && server);
  Status write_status;
  Status read_status;
  std::thread writer([&] { write_status = client->Write(std::string(4 << 20, 'w')); });
  std::thread reader([&] {
    char buf[16];
    read_status = client->Read(buf, sizeof buf).status();
  });
  // The server keeps windows and reads nothing: the writer stalls once a window is in flight.
  ASSERT_TRUE(Eventually([&] { return server->buffered_bytes() == 1024 * 1024; }));
  const auto start = Clock::now();
  pair.client->Close();
  writer.join();
  reader.join();
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  EXPECT_EQ(write_status.code(), absl::StatusCode::kUnavailable) << write_status;
  EXPECT_EQ(read_status.code(), absl::StatusCode::kUnavailable) << read_status;
  EXPECT_TRUE(pair.client->WaitClosed(milliseconds(0)));
  // The server sees the connection end: what was buffered, then an error.
  EXPECT_TRUE(pair.server->WaitClosed(milliseconds(2000)));
  auto rest = ReadAll(*server);
  EXPECT_EQ(rest.status().code(), absl::StatusCode::kUnavailable);
}

TEST(SpdyConnection, PeerDyingMidFrameGivesErrorsNotHangs) {
  auto [ours, theirs] = SocketPair();
  Connection client(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kClient);
  client.Start();
  RawPeer peer(std::move(theirs));
  auto opened = std::async(std::launch::async, [&] {
    return client.OpenStream({{"streamtype", "stdout"}}, milliseconds(2000));
  });
  std::optional<Frame> syn = peer.Receive();
  ASSERT_TRUE(syn && std::holds_alternative<SynStreamFrame>(*syn));
  const uint32_t id = std::get<SynStreamFrame>(*syn).stream_id;
  peer.Send(SynReplyFrame{id, 0, {}});
  peer.SendBytes(SerializeData(id, 0, "half of a frame")->substr(0, 12));
  auto stream = opened.get();
  ASSERT_TRUE(stream.ok()) << stream.status();
  peer.Close();
  char buf[64];
  auto read = (*stream)->Read(buf, sizeof buf);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  EXPECT_EQ((*stream)->Write("x").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(client.OpenStream({{"streamtype", "stdin"}}, milliseconds(100)).ok());
  EXPECT_TRUE(client.WaitClosed(milliseconds(0)));
}

TEST(SpdyConnection, FlowControlStallsTheWriterAtTheWindowThenResumes) {
  ConnectionOptions options;
  options.stream_window = 64 * 1024;
  Pair pair = StartPair(options, options);
  auto [client, server] = OpenAndAccept(pair);
  ASSERT_TRUE(client && server);
  const std::string payload = Pattern(1 << 20, 9);
  std::atomic<size_t> written{0};
  std::thread writer([&] {
    for (size_t at = 0; at < payload.size(); at += 8192) {
      ASSERT_TRUE(client->Write(std::string_view(payload).substr(at, 8192)).ok());
      written += 8192;
    }
    EXPECT_TRUE(client->CloseWrite().ok());
  });
  ASSERT_TRUE(Eventually([&] { return server->buffered_bytes() == 64 * 1024; }));
  std::this_thread::sleep_for(milliseconds(50));
  // Not a byte past the window, in the writer or in the receiver's buffer.
  EXPECT_EQ(written.load(), 64u * 1024);
  EXPECT_EQ(server->buffered_bytes(), 64u * 1024);
  auto got = ReadAll(*server);
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == payload);
}

TEST(SpdyConnection, WritesToASpdystreamPeerAreNotHeldToAWindowItNeverUpdates) {
  auto [ours, theirs] = SocketPair();
  Connection server(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kServer);
  server.Start();
  RawPeer peer(std::move(theirs));
  peer.Send(SynStreamFrame{1, 0, 0, 0, 0, {{"streamtype", "stdout"}}});
  std::shared_ptr<Stream> stream = server.AcceptStream(milliseconds(2000));
  ASSERT_TRUE(stream);
  EXPECT_EQ(FindHeader(stream->headers(), "streamtype"), "stdout");
  const std::string payload = Pattern(256 * 1024, 5);  // four default windows
  auto written = std::async(std::launch::async, [&] {
    Status status = stream->Write(payload);
    return status.ok() ? stream->CloseWrite() : status;
  });
  // SYN_REPLY comes first (spdystream drops data for a stream it has no reply for).
  std::optional<Frame> reply = peer.Receive();
  ASSERT_TRUE(reply);
  EXPECT_TRUE(*reply == Frame(SynReplyFrame{1, 0, {}}));
  std::string got;
  for (bool fin = false; !fin;) {
    std::optional<Frame> frame = peer.Receive();
    ASSERT_TRUE(frame && std::holds_alternative<DataFrame>(*frame));
    const auto& data = std::get<DataFrame>(*frame);
    EXPECT_LE(data.data.size(), 64u * 1024);
    got += data.data;
    fin = (data.flags & kFlagFin) != 0;
  }
  ASSERT_EQ(written.wait_for(milliseconds(2000)), std::future_status::ready);
  EXPECT_TRUE(written.get().ok());
  EXPECT_TRUE(got == payload);
  // spdystream pings with odd ids from the client; the echo carries the same id.
  peer.Send(PingFrame{1});
  std::optional<Frame> pong = peer.Receive();
  ASSERT_TRUE(pong);
  EXPECT_TRUE(*pong == Frame(PingFrame{1}));
}

TEST(SpdyConnection, MalformedFrameGetsGoAwayProtocolErrorAndClose) {
  auto [ours, theirs] = SocketPair();
  Connection server(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kServer);
  server.Start();
  RawPeer peer(std::move(theirs));
  peer.SendBytes(Bytes({0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4}) + U32(1));  // SPDY/2 PING
  std::optional<Frame> goaway = peer.Receive();
  ASSERT_TRUE(goaway);
  EXPECT_TRUE(*goaway == Frame(GoAwayFrame{0, GoAwayStatus::kProtocolError}));
  EXPECT_FALSE(peer.Receive());  // then the connection closes
  EXPECT_TRUE(server.WaitClosed(milliseconds(2000)));
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.AcceptStream(milliseconds(10)), nullptr);
}

TEST(SpdyConnection, ReusedStreamIdIsAProtocolError) {
  auto [ours, theirs] = SocketPair();
  Connection server(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kServer);
  server.Start();
  RawPeer peer(std::move(theirs));
  peer.Send(SynStreamFrame{3, 0, 0, 0, 0, {{"streamtype", "stdin"}}});
  peer.Send(SynStreamFrame{3, 0, 0, 0, 0, {{"streamtype", "stdout"}}});
  std::optional<Frame> goaway = peer.Receive();
  ASSERT_TRUE(goaway);
  EXPECT_TRUE(*goaway == Frame(GoAwayFrame{3, GoAwayStatus::kProtocolError}));
  EXPECT_TRUE(server.WaitClosed(milliseconds(2000)));
}

TEST(SpdyConnection, FlowControllingPeerThatOverrunsTheWindowIsReset) {
  auto [ours, theirs] = SocketPair();
  Connection server(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kServer);
  server.Start();
  RawPeer peer(std::move(theirs));
  peer.Send(WindowUpdateFrame{0, 1});  // shows that it keeps windows
  peer.Send(SynStreamFrame{1, 0, 0, 0, 0, {{"streamtype", "stdin"}}});
  const std::string chunk(16 * 1024, 'z');
  for (int i = 0; i < 65; ++i) peer.Send(DataFrame{1, 0, chunk});  // 1040 KiB > 1 MiB
  std::optional<Frame> rst = peer.Receive();
  ASSERT_TRUE(rst);
  EXPECT_TRUE(*rst == Frame(RstStreamFrame{1, RstStatus::kFlowControlError}));
}

TEST(SpdyConnection, ParsesBytesReadBeforeTheUpgradeCompleted) {
  HeaderCompressor compressor;
  std::string early =
      *Serialize(SynStreamFrame{1, 0, 0, 0, 0, {{"streamtype", "error"}}}, compressor);
  early += *SerializeData(1, kFlagFin, "early");
  auto [ours, theirs] = SocketPair();
  Connection server(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kServer,
                    early);
  server.Start();
  std::shared_ptr<Stream> stream = server.AcceptStream(milliseconds(2000));
  ASSERT_TRUE(stream);
  EXPECT_EQ(FindHeader(stream->headers(), "streamtype"), "error");
  EXPECT_EQ(*ReadAll(*stream), "early");
}

TEST(SpdyConnection, GoAwayStopsNewStreams) {
  Pair pair = StartPair();
  pair.server->GoAway();
  EXPECT_EQ(pair.server->AcceptStream(milliseconds(1000)), nullptr);
  // Refused by the server, or not even sent once the client has read the GOAWAY.
  auto opened = pair.client->OpenStream({{"streamtype", "stdin"}}, milliseconds(2000));
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(opened.status().code(), absl::StatusCode::kDeadlineExceeded) << opened.status();
}

TEST(SpdyConnection, AcceptAndOpenTimeOut) {
  auto [ours, theirs] = SocketPair();
  Connection client(std::make_unique<FdTransport>(std::move(ours)), Connection::Role::kClient);
  client.Start();
  RawPeer silent(std::move(theirs));  // never replies
  const auto start = Clock::now();
  EXPECT_EQ(client.AcceptStream(milliseconds(30)), nullptr);
  auto opened = client.OpenStream({{"streamtype", "stdin"}}, milliseconds(30));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  // The abandoned stream was reset.
  std::optional<Frame> syn = silent.Receive();
  ASSERT_TRUE(syn && std::holds_alternative<SynStreamFrame>(*syn));
  std::optional<Frame> rst = silent.Receive();
  ASSERT_TRUE(rst);
  EXPECT_TRUE(*rst == Frame(RstStreamFrame{1, RstStatus::kCancel}));
}

}  // namespace
}  // namespace crio::streaming::spdy
