#pragma once
// SPDY/3.1 frames as Kubernetes streaming clients speak them. kubectl/crictl `exec`, `attach`
// and `port-forward` upgrade an HTTP/1.1 request to SPDY/3.1 and then talk through
// github.com/moby/spdystream, whose framer (spdystream/spdy) is a copy of Go's old go.net/spdy:
// version 3 frames, header blocks with 32-bit counts and lengths, one zlib stream per direction
// primed with the SPDY/3 dictionary and flushed (Z_SYNC_FLUSH) after every header block.
//
// This file is the codec only: frame structs, header (de)compression and a parser that turns a
// byte stream into frames. spdy_connection.h builds sessions and streams on top of it.
//
// Everything here is bounded: a frame longer than ParserLimits::max_frame_length, a header block
// that inflates past ParserLimits::max_header_block_bytes, or any malformed field is an error,
// never a crash or an unbounded allocation. Control frame types we do not know are skipped, as
// the SPDY/3 draft asks (spdystream itself would treat them as fatal, so we never send any).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "util/status.h"

struct z_stream_s;  // zlib's, kept out of this header

namespace crio::streaming::spdy {

inline constexpr uint16_t kVersion = 3;
inline constexpr uint32_t kMaxStreamId = 0x7fffffff;  // ids are 31 bits
// The length field is 24 bits: no frame payload can be longer.
inline constexpr size_t kMaxFrameLength = (size_t{1} << 24) - 1;
// The window every stream (and, in 3.1, the session) starts with.
inline constexpr uint32_t kDefaultWindow = 64 * 1024;
// Header names and values must fit here once inflated; Kubernetes sends a handful of short ones.
inline constexpr size_t kDefaultMaxHeaderBlockBytes = 256 * 1024;

// Control frame types of SPDY/3. 5 (NOOP, SPDY/2) and 10 (CREDENTIAL) are skipped when read.
enum class FrameType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr uint8_t kFlagFin = 0x01;             // DATA, SYN_STREAM, SYN_REPLY, HEADERS
inline constexpr uint8_t kFlagUnidirectional = 0x02;  // SYN_STREAM
inline constexpr uint8_t kFlagClearSettings = 0x01;   // SETTINGS

// RST_STREAM status codes. Peers may send values outside this list; they are kept as read.
enum class RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kUnsupportedVersion = 4,
  kCancel = 5,
  kInternalError = 6,
  kFlowControlError = 7,
  kStreamInUse = 8,
  kStreamAlreadyClosed = 9,
  kInvalidCredentials = 10,
  kFrameTooLarge = 11,
};
std::string_view RstStatusName(RstStatus status);  // "CANCEL", or "UNKNOWN"

enum class GoAwayStatus : uint32_t { kOk = 0, kProtocolError = 1, kInternalError = 2 };

// SETTINGS ids (24 bits). Only kInitialWindowSize changes what a connection does.
enum class SettingId : uint32_t {
  kUploadBandwidth = 1,
  kDownloadBandwidth = 2,
  kRoundTripTime = 3,
  kMaxConcurrentStreams = 4,
  kCurrentCwnd = 5,
  kDownloadRetransRate = 6,
  kInitialWindowSize = 7,
  kClientCertificateVectorSize = 8,
};

// Header name/value pairs, names lowercase, in the order they were given or read. On the wire a
// name appears once and several values are joined by NUL; encoding merges repeated names that
// way and decoding splits them again, so a value must not itself contain NUL.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of `name` (compared case-insensitively); "" when absent.
std::string_view FindHeader(const Headers& headers, std::string_view name);

struct SynStreamFrame {
  uint32_t stream_id = 0;
  uint32_t associated_stream_id = 0;
  uint8_t priority = 0;  // 0 (highest) .. 7
  uint8_t slot = 0;      // credential slot, unused by Kubernetes
  uint8_t flags = 0;     // kFlagFin, kFlagUnidirectional
  Headers headers;
  bool operator==(const SynStreamFrame&) const = default;
};

struct SynReplyFrame {
  uint32_t stream_id = 0;
  uint8_t flags = 0;  // kFlagFin
  Headers headers;
  bool operator==(const SynReplyFrame&) const = default;
};

struct RstStreamFrame {
  uint32_t stream_id = 0;
  RstStatus status = RstStatus::kCancel;
  bool operator==(const RstStreamFrame&) const = default;
};

struct Setting {
  uint8_t flags = 0;  // per-setting persistence flags, ignored
  uint32_t id = 0;    // a SettingId, 24 bits
  uint32_t value = 0;
  bool operator==(const Setting&) const = default;
};

struct SettingsFrame {
  uint8_t flags = 0;  // kFlagClearSettings
  std::vector<Setting> settings;
  bool operator==(const SettingsFrame&) const = default;
};

struct PingFrame {
  uint32_t id = 0;  // odd from the client, even from the server
  bool operator==(const PingFrame&) const = default;
};

struct GoAwayFrame {
  uint32_t last_good_stream_id = 0;
  GoAwayStatus status = GoAwayStatus::kOk;
  bool operator==(const GoAwayFrame&) const = default;
};

struct HeadersFrame {
  uint32_t stream_id = 0;
  uint8_t flags = 0;  // kFlagFin
  Headers headers;
  bool operator==(const HeadersFrame&) const = default;
};

struct WindowUpdateFrame {
  uint32_t stream_id = 0;  // 0: the session window (SPDY/3.1)
  uint32_t delta = 0;      // 1 .. 2^31-1
  bool operator==(const WindowUpdateFrame&) const = default;
};

struct DataFrame {
  uint32_t stream_id = 0;
  uint8_t flags = 0;  // kFlagFin
  std::string data;
  bool operator==(const DataFrame&) const = default;
};

using Frame = std::variant<SynStreamFrame, SynReplyFrame, RstStreamFrame, SettingsFrame, PingFrame,
                           GoAwayFrame, HeadersFrame, WindowUpdateFrame, DataFrame>;

// The uncompressed name/value block of SPDY/3: a 32-bit count, then per pair a 32-bit name
// length, the name, a 32-bit value length, the value.
// Errors: InvalidArgument for an empty header name.
StatusOr<std::string> EncodeHeaderBlock(const Headers& headers);
// Errors: InvalidArgument for a truncated block, trailing bytes, or an empty name.
StatusOr<Headers> DecodeHeaderBlock(std::string_view block);

// The SPDY/3 zlib dictionary (1423 bytes), a constant of the protocol.
std::string_view HeaderDictionary();

// Deflate side of one direction of a connection: every header block a connection sends goes
// through the same context, in the order the frames are written. Not thread-safe.
class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;

  // Encodes and compresses `headers`, ending with a sync flush so that the peer can inflate the
  // block from this frame alone. Errors: EncodeHeaderBlock's; Internal for a zlib failure,
  // after which the context is unusable.
  StatusOr<std::string> Compress(const Headers& headers);

 private:
  struct ZDeleter {
    void operator()(z_stream_s* z) const;
  };
  std::unique_ptr<z_stream_s, ZDeleter> z_;
  Status status_;  // sticky zlib failure
};

// Inflate side of one direction. Not thread-safe.
class HeaderDecompressor {
 public:
  explicit HeaderDecompressor(size_t max_block_bytes = kDefaultMaxHeaderBlockBytes);
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;

  // Inflates one frame's compressed block (all of it must be consumed) and decodes it.
  // Errors: InvalidArgument for corrupt data, a block inflating past the limit, or a malformed
  // header block; every error is final for this context.
  StatusOr<Headers> Decompress(std::string_view compressed);

 private:
  StatusOr<std::string> Inflate(std::string_view compressed);

  struct ZDeleter {
    void operator()(z_stream_s* z) const;
  };
  std::unique_ptr<z_stream_s, ZDeleter> z_;
  size_t max_block_bytes_;
  Status status_;
};

// Serializes one frame. Header-carrying frames (SYN_STREAM, SYN_REPLY, HEADERS) advance
// `compressor`, so the result must be sent, and sent in the order it was produced.
// Errors: InvalidArgument for a field the wire cannot carry (stream id 0 or above 2^31-1 where
// a stream is required, priority above 7, a payload above kMaxFrameLength, RST status 0,
// WINDOW_UPDATE delta 0); the compressor's errors.
StatusOr<std::string> Serialize(const Frame& frame, HeaderCompressor& compressor);
// The DATA frame for `data`, without building a DataFrame first (the hot path).
// Errors: InvalidArgument for a bad stream id or a payload above kMaxFrameLength.
StatusOr<std::string> SerializeData(uint32_t stream_id, uint8_t flags, std::string_view data);

struct ParserLimits {
  // Longest frame payload accepted; a longer one is an error as soon as its header is read.
  size_t max_frame_length = kMaxFrameLength;
  size_t max_header_block_bytes = kDefaultMaxHeaderBlockBytes;
};

// Turns the bytes of one direction of a connection into frames. Feed() what was read, then call
// Next() until it returns nullopt. Holds at most one frame plus what was fed and not yet parsed.
// Not thread-safe.
class FrameParser {
 public:
  explicit FrameParser(ParserLimits limits = {});

  void Feed(std::string_view bytes);

  // The next complete frame; nullopt when more bytes are needed. Unknown control frame types are
  // skipped. Errors: InvalidArgument for a malformed frame, an unsupported version, a frame over
  // the limit, or a corrupt header block. An error is final (the byte stream and the compression
  // context cannot be resynchronized): every later call returns it again.
  StatusOr<std::optional<Frame>> Next();

  // Bytes held, for tests of the memory bound.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t available() const { return buf_.size() - pos_; }
  void DiscardSkipped();
  void Compact();
  StatusOr<Frame> ParseControl(uint16_t type, uint8_t flags, std::string_view payload);
  Status Fail(Status status);

  ParserLimits limits_;
  HeaderDecompressor decompressor_;
  std::string buf_;
  size_t pos_ = 0;
  size_t skip_remaining_ = 0;  // payload bytes of an unknown control frame still to drop
  Status error_;
};

}  // namespace crio::streaming::spdy
