#include "streaming/spdy_frame.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace crio::streaming::spdy {
namespace {

// The SPDY/3 header compression dictionary, as published in the SPDY/3 draft (section 2.6.10.1)
// and used byte for byte by spdystream/spdy/dictionary.go. Protocol data, not code.
constexpr unsigned char kDictionary[] = {
    0x00, 0x00, 0x00, 0x07, 0x6f, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x73, 0x00, 0x00, 0x00, 0x04, 0x68,
    0x65, 0x61, 0x64, 0x00, 0x00, 0x00, 0x04, 0x70, 0x6f, 0x73, 0x74, 0x00, 0x00, 0x00, 0x03, 0x70,
    0x75, 0x74, 0x00, 0x00, 0x00, 0x06, 0x64, 0x65, 0x6c, 0x65, 0x74, 0x65, 0x00, 0x00, 0x00, 0x05,
    0x74, 0x72, 0x61, 0x63, 0x65, 0x00, 0x00, 0x00, 0x06, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x00,
    0x00, 0x00, 0x0e, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x2d, 0x63, 0x68, 0x61, 0x72, 0x73, 0x65,
    0x74, 0x00, 0x00, 0x00, 0x0f, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x2d, 0x65, 0x6e, 0x63, 0x6f,
    0x64, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x0f, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x2d, 0x6c,
    0x61, 0x6e, 0x67, 0x75, 0x61, 0x67, 0x65, 0x00, 0x00, 0x00, 0x0d, 0x61, 0x63, 0x63, 0x65, 0x70,
    0x74, 0x2d, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x73, 0x00, 0x00, 0x00, 0x03, 0x61, 0x67, 0x65, 0x00,
    0x00, 0x00, 0x05, 0x61, 0x6c, 0x6c, 0x6f, 0x77, 0x00, 0x00, 0x00, 0x0d, 0x61, 0x75, 0x74, 0x68,
    0x6f, 0x72, 0x69, 0x7a, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x0d, 0x63, 0x61, 0x63,
    0x68, 0x65, 0x2d, 0x63, 0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c, 0x00, 0x00, 0x00, 0x0a, 0x63, 0x6f,
    0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x0c, 0x63, 0x6f, 0x6e, 0x74,
    0x65, 0x6e, 0x74, 0x2d, 0x62, 0x61, 0x73, 0x65, 0x00, 0x00, 0x00, 0x10, 0x63, 0x6f, 0x6e, 0x74,
    0x65, 0x6e, 0x74, 0x2d, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x10,
    0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x61, 0x6e, 0x67, 0x75, 0x61, 0x67, 0x65,
    0x00, 0x00, 0x00, 0x0e, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x65, 0x6e, 0x67,
    0x74, 0x68, 0x00, 0x00, 0x00, 0x10, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x6f,
    0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x0b, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e,
    0x74, 0x2d, 0x6d, 0x64, 0x35, 0x00, 0x00, 0x00, 0x0d, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74,
    0x2d, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x00, 0x00, 0x00, 0x0c, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e,
    0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x00, 0x00, 0x00, 0x04, 0x64, 0x61, 0x74, 0x65, 0x00, 0x00,
    0x00, 0x04, 0x65, 0x74, 0x61, 0x67, 0x00, 0x00, 0x00, 0x06, 0x65, 0x78, 0x70, 0x65, 0x63, 0x74,
    0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x70, 0x69, 0x72, 0x65, 0x73, 0x00, 0x00, 0x00, 0x04, 0x66,
    0x72, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x00, 0x00, 0x00, 0x08, 0x69,
    0x66, 0x2d, 0x6d, 0x61, 0x74, 0x63, 0x68, 0x00, 0x00, 0x00, 0x11, 0x69, 0x66, 0x2d, 0x6d, 0x6f,
    0x64, 0x69, 0x66, 0x69, 0x65, 0x64, 0x2d, 0x73, 0x69, 0x6e, 0x63, 0x65, 0x00, 0x00, 0x00, 0x0d,
    0x69, 0x66, 0x2d, 0x6e, 0x6f, 0x6e, 0x65, 0x2d, 0x6d, 0x61, 0x74, 0x63, 0x68, 0x00, 0x00, 0x00,
    0x08, 0x69, 0x66, 0x2d, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x00, 0x00, 0x00, 0x13, 0x69, 0x66, 0x2d,
    0x75, 0x6e, 0x6d, 0x6f, 0x64, 0x69, 0x66, 0x69, 0x65, 0x64, 0x2d, 0x73, 0x69, 0x6e, 0x63, 0x65,
    0x00, 0x00, 0x00, 0x0d, 0x6c, 0x61, 0x73, 0x74, 0x2d, 0x6d, 0x6f, 0x64, 0x69, 0x66, 0x69, 0x65,
    0x64, 0x00, 0x00, 0x00, 0x08, 0x6c, 0x6f, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00,
    0x0c, 0x6d, 0x61, 0x78, 0x2d, 0x66, 0x6f, 0x72, 0x77, 0x61, 0x72, 0x64, 0x73, 0x00, 0x00, 0x00,
    0x06, 0x70, 0x72, 0x61, 0x67, 0x6d, 0x61, 0x00, 0x00, 0x00, 0x12, 0x70, 0x72, 0x6f, 0x78, 0x79,
    0x2d, 0x61, 0x75, 0x74, 0x68, 0x65, 0x6e, 0x74, 0x69, 0x63, 0x61, 0x74, 0x65, 0x00, 0x00, 0x00,
    0x13, 0x70, 0x72, 0x6f, 0x78, 0x79, 0x2d, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x61,
    0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x05, 0x72, 0x61, 0x6e, 0x67, 0x65, 0x00, 0x00, 0x00,
    0x07, 0x72, 0x65, 0x66, 0x65, 0x72, 0x65, 0x72, 0x00, 0x00, 0x00, 0x0b, 0x72, 0x65, 0x74, 0x72,
    0x79, 0x2d, 0x61, 0x66, 0x74, 0x65, 0x72, 0x00, 0x00, 0x00, 0x06, 0x73, 0x65, 0x72, 0x76, 0x65,
    0x72, 0x00, 0x00, 0x00, 0x02, 0x74, 0x65, 0x00, 0x00, 0x00, 0x07, 0x74, 0x72, 0x61, 0x69, 0x6c,
    0x65, 0x72, 0x00, 0x00, 0x00, 0x11, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72, 0x2d, 0x65,
    0x6e, 0x63, 0x6f, 0x64, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x07, 0x75, 0x70, 0x67, 0x72, 0x61,
    0x64, 0x65, 0x00, 0x00, 0x00, 0x0a, 0x75, 0x73, 0x65, 0x72, 0x2d, 0x61, 0x67, 0x65, 0x6e, 0x74,
    0x00, 0x00, 0x00, 0x04, 0x76, 0x61, 0x72, 0x79, 0x00, 0x00, 0x00, 0x03, 0x76, 0x69, 0x61, 0x00,
    0x00, 0x00, 0x07, 0x77, 0x61, 0x72, 0x6e, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x10, 0x77, 0x77,
    0x77, 0x2d, 0x61, 0x75, 0x74, 0x68, 0x65, 0x6e, 0x74, 0x69, 0x63, 0x61, 0x74, 0x65, 0x00, 0x00,
    0x00, 0x06, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x00, 0x00, 0x00, 0x03, 0x67, 0x65, 0x74, 0x00,
    0x00, 0x00, 0x06, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x00, 0x00, 0x00, 0x06, 0x32, 0x30, 0x30,
    0x20, 0x4f, 0x4b, 0x00, 0x00, 0x00, 0x07, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x00, 0x00,
    0x00, 0x08, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x00, 0x00, 0x03, 0x75, 0x72,
    0x6c, 0x00, 0x00, 0x00, 0x06, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63, 0x00, 0x00, 0x00, 0x0a, 0x73,
    0x65, 0x74, 0x2d, 0x63, 0x6f, 0x6f, 0x6b, 0x69, 0x65, 0x00, 0x00, 0x00, 0x0a, 0x6b, 0x65, 0x65,
    0x70, 0x2d, 0x61, 0x6c, 0x69, 0x76, 0x65, 0x00, 0x00, 0x00, 0x06, 0x6f, 0x72, 0x69, 0x67, 0x69,
    0x6e, 0x31, 0x30, 0x30, 0x31, 0x30, 0x31, 0x32, 0x30, 0x31, 0x32, 0x30, 0x32, 0x32, 0x30, 0x35,
    0x32, 0x30, 0x36, 0x33, 0x30, 0x30, 0x33, 0x30, 0x32, 0x33, 0x30, 0x33, 0x33, 0x30, 0x34, 0x33,
    0x30, 0x35, 0x33, 0x30, 0x36, 0x33, 0x30, 0x37, 0x34, 0x30, 0x32, 0x34, 0x30, 0x35, 0x34, 0x30,
    0x36, 0x34, 0x30, 0x37, 0x34, 0x30, 0x38, 0x34, 0x30, 0x39, 0x34, 0x31, 0x30, 0x34, 0x31, 0x31,
    0x34, 0x31, 0x32, 0x34, 0x31, 0x33, 0x34, 0x31, 0x34, 0x34, 0x31, 0x35, 0x34, 0x31, 0x36, 0x34,
    0x31, 0x37, 0x35, 0x30, 0x32, 0x35, 0x30, 0x34, 0x35, 0x30, 0x35, 0x32, 0x30, 0x33, 0x20, 0x4e,
    0x6f, 0x6e, 0x2d, 0x41, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x74, 0x61, 0x74, 0x69, 0x76, 0x65,
    0x20, 0x49, 0x6e, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x32, 0x30, 0x34, 0x20,
    0x4e, 0x6f, 0x20, 0x43, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x33, 0x30, 0x31, 0x20, 0x4d, 0x6f,
    0x76, 0x65, 0x64, 0x20, 0x50, 0x65, 0x72, 0x6d, 0x61, 0x6e, 0x65, 0x6e, 0x74, 0x6c, 0x79, 0x34,
    0x30, 0x30, 0x20, 0x42, 0x61, 0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x34, 0x30,
    0x31, 0x20, 0x55, 0x6e, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x65, 0x64, 0x34, 0x30,
    0x33, 0x20, 0x46, 0x6f, 0x72, 0x62, 0x69, 0x64, 0x64, 0x65, 0x6e, 0x34, 0x30, 0x34, 0x20, 0x4e,
    0x6f, 0x74, 0x20, 0x46, 0x6f, 0x75, 0x6e, 0x64, 0x35, 0x30, 0x30, 0x20, 0x49, 0x6e, 0x74, 0x65,
    0x72, 0x6e, 0x61, 0x6c, 0x20, 0x53, 0x65, 0x72, 0x76, 0x65, 0x72, 0x20, 0x45, 0x72, 0x72, 0x6f,
    0x72, 0x35, 0x30, 0x31, 0x20, 0x4e, 0x6f, 0x74, 0x20, 0x49, 0x6d, 0x70, 0x6c, 0x65, 0x6d, 0x65,
    0x6e, 0x74, 0x65, 0x64, 0x35, 0x30, 0x33, 0x20, 0x53, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x20,
    0x55, 0x6e, 0x61, 0x76, 0x61, 0x69, 0x6c, 0x61, 0x62, 0x6c, 0x65, 0x4a, 0x61, 0x6e, 0x20, 0x46,
    0x65, 0x62, 0x20, 0x4d, 0x61, 0x72, 0x20, 0x41, 0x70, 0x72, 0x20, 0x4d, 0x61, 0x79, 0x20, 0x4a,
    0x75, 0x6e, 0x20, 0x4a, 0x75, 0x6c, 0x20, 0x41, 0x75, 0x67, 0x20, 0x53, 0x65, 0x70, 0x74, 0x20,
    0x4f, 0x63, 0x74, 0x20, 0x4e, 0x6f, 0x76, 0x20, 0x44, 0x65, 0x63, 0x20, 0x30, 0x30, 0x3a, 0x30,
    0x30, 0x3a, 0x30, 0x30, 0x20, 0x4d, 0x6f, 0x6e, 0x2c, 0x20, 0x54, 0x75, 0x65, 0x2c, 0x20, 0x57,
    0x65, 0x64, 0x2c, 0x20, 0x54, 0x68, 0x75, 0x2c, 0x20, 0x46, 0x72, 0x69, 0x2c, 0x20, 0x53, 0x61,
    0x74, 0x2c, 0x20, 0x53, 0x75, 0x6e, 0x2c, 0x20, 0x47, 0x4d, 0x54, 0x63, 0x68, 0x75, 0x6e, 0x6b,
    0x65, 0x64, 0x2c, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x68, 0x74, 0x6d, 0x6c, 0x2c, 0x69, 0x6d, 0x61,
    0x67, 0x65, 0x2f, 0x70, 0x6e, 0x67, 0x2c, 0x69, 0x6d, 0x61, 0x67, 0x65, 0x2f, 0x6a, 0x70, 0x67,
    0x2c, 0x69, 0x6d, 0x61, 0x67, 0x65, 0x2f, 0x67, 0x69, 0x66, 0x2c, 0x61, 0x70, 0x70, 0x6c, 0x69,
    0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x78, 0x6d, 0x6c, 0x2c, 0x61, 0x70, 0x70, 0x6c, 0x69,
    0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x78, 0x68, 0x74, 0x6d, 0x6c, 0x2b, 0x78, 0x6d, 0x6c,
    0x2c, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x2c, 0x74, 0x65, 0x78, 0x74,
    0x2f, 0x6a, 0x61, 0x76, 0x61, 0x73, 0x63, 0x72, 0x69, 0x70, 0x74, 0x2c, 0x70, 0x75, 0x62, 0x6c,
    0x69, 0x63, 0x70, 0x72, 0x69, 0x76, 0x61, 0x74, 0x65, 0x6d, 0x61, 0x78, 0x2d, 0x61, 0x67, 0x65,
    0x3d, 0x67, 0x7a, 0x69, 0x70, 0x2c, 0x64, 0x65, 0x66, 0x6c, 0x61, 0x74, 0x65, 0x2c, 0x73, 0x64,
    0x63, 0x68, 0x63, 0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x3d, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x63,
    0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x3d, 0x69, 0x73, 0x6f, 0x2d, 0x38, 0x38, 0x35, 0x39, 0x2d,
    0x31, 0x2c, 0x75, 0x74, 0x66, 0x2d, 0x2c, 0x2a, 0x2c, 0x65, 0x6e, 0x71, 0x3d, 0x30, 0x2e,
};
static_assert(sizeof(kDictionary) == 1423, "the SPDY/3 dictionary is 1423 bytes");

constexpr uint32_t kStreamIdMask = 0x7fffffff;
constexpr size_t kFrameHeaderLength = 8;
constexpr size_t kInflateChunk = 16 * 1024;

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void PutU32(std::string* out, uint32_t v) {
  PutU16(out, static_cast<uint16_t>(v >> 16));
  PutU16(out, static_cast<uint16_t>(v));
}

uint32_t GetU32(std::string_view bytes, size_t at) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), AsciiLower);
  return out;
}

void AppendControlHeader(std::string* out, FrameType type, uint8_t flags, size_t length) {
  PutU16(out, 0x8000 | kVersion);
  PutU16(out, static_cast<uint16_t>(type));
  PutU32(out, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(length));
}

Status CheckStreamId(uint32_t id, std::string_view what) {
  if (id == 0 || id > kMaxStreamId) {
    return InvalidArgument(absl::StrCat("spdy: ", std::string(what), ": invalid stream id ", id));
  }
  return absl::OkStatus();
}

Status CheckPayload(size_t length, std::string_view what) {
  if (length > kMaxFrameLength) {
    return InvalidArgument(absl::StrCat("spdy: ", std::string(what), " payload of ", length,
                                        " bytes exceeds the 24-bit length field"));
  }
  return absl::OkStatus();
}

// SYN_STREAM, SYN_REPLY and HEADERS: fixed fields, then the compressed header block.
StatusOr<std::string> HeaderBearingFrame(FrameType type, uint8_t flags, std::string_view fixed,
                                         const Headers& headers, HeaderCompressor& compressor,
                                         std::string_view what) {
  ASSIGN_OR_RETURN(std::string block, compressor.Compress(headers));
  RETURN_IF_ERROR(CheckPayload(fixed.size() + block.size(), what));
  std::string out;
  out.reserve(kFrameHeaderLength + fixed.size() + block.size());
  AppendControlHeader(&out, type, flags, fixed.size() + block.size());
  out.append(fixed);
  out.append(block);
  return out;
}

StatusOr<std::string> SerializeFrame(const SynStreamFrame& f, HeaderCompressor& compressor) {
  RETURN_IF_ERROR(CheckStreamId(f.stream_id, "SYN_STREAM"));
  if (f.associated_stream_id > kMaxStreamId || f.priority > 7) {
    return InvalidArgument("spdy: SYN_STREAM: associated stream id or priority out of range");
  }
  std::string fixed;
  PutU32(&fixed, f.stream_id);
  PutU32(&fixed, f.associated_stream_id);
  fixed.push_back(static_cast<char>(f.priority << 5));
  fixed.push_back(static_cast<char>(f.slot));
  return HeaderBearingFrame(FrameType::kSynStream, f.flags, fixed, f.headers, compressor,
                            "SYN_STREAM");
}

StatusOr<std::string> SerializeFrame(const SynReplyFrame& f, HeaderCompressor& compressor) {
  RETURN_IF_ERROR(CheckStreamId(f.stream_id, "SYN_REPLY"));
  std::string fixed;
  PutU32(&fixed, f.stream_id);
  return HeaderBearingFrame(FrameType::kSynReply, f.flags, fixed, f.headers, compressor,
                            "SYN_REPLY");
}

StatusOr<std::string> SerializeFrame(const HeadersFrame& f, HeaderCompressor& compressor) {
  RETURN_IF_ERROR(CheckStreamId(f.stream_id, "HEADERS"));
  std::string fixed;
  PutU32(&fixed, f.stream_id);
  return HeaderBearingFrame(FrameType::kHeaders, f.flags, fixed, f.headers, compressor, "HEADERS");
}

StatusOr<std::string> SerializeFrame(const RstStreamFrame& f, HeaderCompressor&) {
  RETURN_IF_ERROR(CheckStreamId(f.stream_id, "RST_STREAM"));
  if (static_cast<uint32_t>(f.status) == 0) {
    return InvalidArgument("spdy: RST_STREAM: status 0 is invalid");
  }
  std::string out;
  AppendControlHeader(&out, FrameType::kRstStream, 0, 8);
  PutU32(&out, f.stream_id);
  PutU32(&out, static_cast<uint32_t>(f.status));
  return out;
}

StatusOr<std::string> SerializeFrame(const SettingsFrame& f, HeaderCompressor&) {
  const size_t length = 4 + 8 * f.settings.size();
  RETURN_IF_ERROR(CheckPayload(length, "SETTINGS"));
  std::string out;
  AppendControlHeader(&out, FrameType::kSettings, f.flags, length);
  PutU32(&out, static_cast<uint32_t>(f.settings.size()));
  for (const Setting& s : f.settings) {
    if (s.id > 0xffffff) {
      return InvalidArgument(absl::StrCat("spdy: SETTINGS: id ", s.id, " exceeds 24 bits"));
    }
    PutU32(&out, static_cast<uint32_t>(s.flags) << 24 | s.id);
    PutU32(&out, s.value);
  }
  return out;
}

StatusOr<std::string> SerializeFrame(const PingFrame& f, HeaderCompressor&) {
  std::string out;
  AppendControlHeader(&out, FrameType::kPing, 0, 4);
  PutU32(&out, f.id);
  return out;
}

StatusOr<std::string> SerializeFrame(const GoAwayFrame& f, HeaderCompressor&) {
  if (f.last_good_stream_id > kMaxStreamId) {
    return InvalidArgument("spdy: GOAWAY: last good stream id exceeds 31 bits");
  }
  std::string out;
  AppendControlHeader(&out, FrameType::kGoAway, 0, 8);
  PutU32(&out, f.last_good_stream_id);
  PutU32(&out, static_cast<uint32_t>(f.status));
  return out;
}

StatusOr<std::string> SerializeFrame(const WindowUpdateFrame& f, HeaderCompressor&) {
  if (f.stream_id > kMaxStreamId || f.delta == 0 || f.delta > kMaxStreamId) {
    return InvalidArgument("spdy: WINDOW_UPDATE: stream id or delta out of range");
  }
  std::string out;
  AppendControlHeader(&out, FrameType::kWindowUpdate, 0, 8);
  PutU32(&out, f.stream_id);
  PutU32(&out, f.delta);
  return out;
}

StatusOr<std::string> SerializeFrame(const DataFrame& f, HeaderCompressor&) {
  return SerializeData(f.stream_id, f.flags, f.data);
}

// Reads the fields of a header block in order, failing on the first short read.
class BlockReader {
 public:
  explicit BlockReader(std::string_view block) : block_(block) {}

  bool ReadU32(uint32_t* v) {
    if (block_.size() < 4) return false;
    *v = GetU32(block_, 0);
    block_.remove_prefix(4);
    return true;
  }

  bool ReadString(std::string_view* s) {
    uint32_t length = 0;
    if (!ReadU32(&length) || block_.size() < length) return false;
    *s = block_.substr(0, length);
    block_.remove_prefix(length);
    return true;
  }

  size_t remaining() const { return block_.size(); }

 private:
  std::string_view block_;
};

}  // namespace

std::string_view HeaderDictionary() {
  return {reinterpret_cast<const char*>(kDictionary), sizeof(kDictionary)};
}

std::string_view RstStatusName(RstStatus status) {
  static constexpr std::array<std::string_view, 12> kNames = {"UNKNOWN",
                                                              "PROTOCOL_ERROR",
                                                              "INVALID_STREAM",
                                                              "REFUSED_STREAM",
                                                              "UNSUPPORTED_VERSION",
                                                              "CANCEL",
                                                              "INTERNAL_ERROR",
                                                              "FLOW_CONTROL_ERROR",
                                                              "STREAM_IN_USE",
                                                              "STREAM_ALREADY_CLOSED",
                                                              "INVALID_CREDENTIALS",
                                                              "FRAME_TOO_LARGE"};
  auto index = static_cast<uint32_t>(status);
  return index < kNames.size() ? kNames[index] : kNames[0];
}

std::string_view FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return value;
    }
  }
  return {};
}

StatusOr<std::string> EncodeHeaderBlock(const Headers& headers) {
  // A name may appear only once in a block: repeated names become one NUL-joined value, placed
  // where the name first appeared.
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& [name, value] : headers) {
    if (name.empty()) {
      return InvalidArgument("spdy: empty header name");
    }
    std::string lower = ToLower(name);
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const auto& entry) { return entry.first == lower; });
    if (it == merged.end()) {
      merged.emplace_back(std::move(lower), value);
    } else {
      it->second.push_back('\0');
      it->second.append(value);
    }
  }
  std::string block;
  PutU32(&block, static_cast<uint32_t>(merged.size()));
  for (const auto& [name, value] : merged) {
    PutU32(&block, static_cast<uint32_t>(name.size()));
    block.append(name);
    PutU32(&block, static_cast<uint32_t>(value.size()));
    block.append(value);
  }
  return block;
}

StatusOr<Headers> DecodeHeaderBlock(std::string_view block) {
  BlockReader reader(block);
  uint32_t count = 0;
  // Each pair takes at least 8 bytes, so a count the block cannot hold is caught before any
  // allocation sized by it.
  if (!reader.ReadU32(&count) || count > reader.remaining() / 8) {
    return InvalidArgument("spdy: truncated header block");
  }
  Headers headers;
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view name;
    std::string_view value;
    if (!reader.ReadString(&name) || !reader.ReadString(&value)) {
      return InvalidArgument("spdy: truncated header block");
    }
    if (name.empty()) {
      return InvalidArgument("spdy: empty header name");
    }
    // Names must be lowercase; spdystream lowercases what it sends, so folding costs nothing
    // and tolerates a sloppy peer.
    std::string lower = ToLower(name);
    for (;;) {
      size_t nul = value.find('\0');
      headers.emplace_back(lower, std::string(value.substr(0, nul)));
      if (nul == std::string_view::npos) break;
      value.remove_prefix(nul + 1);
    }
  }
  if (reader.remaining() != 0) {
    return InvalidArgument("spdy: trailing bytes after header block");
  }
  return headers;
}

void HeaderCompressor::ZDeleter::operator()(z_stream_s* z) const {
  deflateEnd(z);
  delete z;
}

HeaderCompressor::HeaderCompressor() = default;
HeaderCompressor::~HeaderCompressor() = default;

StatusOr<std::string> HeaderCompressor::Compress(const Headers& headers) {
  RETURN_IF_ERROR(status_);
  ASSIGN_OR_RETURN(std::string block, EncodeHeaderBlock(headers));
  if (!z_) {
    // Best compression, like spdystream's zlib.NewWriterLevelDict; the level only changes how
    // small the output is, never whether the peer can read it.
    auto z = std::make_unique<z_stream_s>();
    if (deflateInit(z.get(), Z_BEST_COMPRESSION) != Z_OK) {
      return status_ = Internal("spdy: deflateInit failed");
    }
    z_.reset(z.release());
    if (deflateSetDictionary(z_.get(), kDictionary, sizeof(kDictionary)) != Z_OK) {
      return status_ = Internal("spdy: deflateSetDictionary failed");
    }
  }
  z_->next_in = reinterpret_cast<Bytef*>(block.data());
  z_->avail_in = static_cast<uInt>(block.size());
  std::string out;
  std::array<char, kInflateChunk> chunk;
  // Z_SYNC_FLUSH emits everything buffered; deflate is done once it leaves output space unused.
  do {
    z_->next_out = reinterpret_cast<Bytef*>(chunk.data());
    z_->avail_out = static_cast<uInt>(chunk.size());
    int rc = deflate(z_.get(), Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return status_ = Internal(absl::StrCat("spdy: deflate failed (", rc, ")"));
    }
    out.append(chunk.data(), chunk.size() - z_->avail_out);
  } while (z_->avail_out == 0);
  return out;
}

void HeaderDecompressor::ZDeleter::operator()(z_stream_s* z) const {
  inflateEnd(z);
  delete z;
}

HeaderDecompressor::HeaderDecompressor(size_t max_block_bytes)
    : max_block_bytes_(max_block_bytes) {}
HeaderDecompressor::~HeaderDecompressor() = default;

StatusOr<Headers> HeaderDecompressor::Decompress(std::string_view compressed) {
  auto block = Inflate(compressed);
  if (!block.ok()) {
    status_ = block.status();
    return status_;
  }
  auto headers = DecodeHeaderBlock(*block);
  if (!headers.ok()) {
    status_ = headers.status();
  }
  return headers;
}

StatusOr<std::string> HeaderDecompressor::Inflate(std::string_view compressed) {
  RETURN_IF_ERROR(status_);
  if (!z_) {
    auto z = std::make_unique<z_stream_s>();
    if (inflateInit(z.get()) != Z_OK) {
      return Internal("spdy: inflateInit failed");
    }
    z_.reset(z.release());
  }
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z_->avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  std::array<char, kInflateChunk> chunk;
  for (;;) {
    z_->next_out = reinterpret_cast<Bytef*>(chunk.data());
    z_->avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(z_.get(), Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      // The first block names the dictionary by its Adler-32; zlib checks it matches ours.
      if (inflateSetDictionary(z_.get(), kDictionary, sizeof(kDictionary)) != Z_OK) {
        return InvalidArgument("spdy: header block uses an unknown zlib dictionary");
      }
      continue;
    }
    if (rc == Z_STREAM_END) {
      // A peer never ends its compression stream: later header blocks could not be read.
      return InvalidArgument("spdy: peer ended its header compression stream");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return InvalidArgument(
          absl::StrCat("spdy: corrupt compressed header block: ", z_->msg ? z_->msg : "zlib"));
    }
    const size_t produced = chunk.size() - z_->avail_out;
    if (out.size() + produced > max_block_bytes_) {
      return InvalidArgument(
          absl::StrCat("spdy: header block inflates past ", max_block_bytes_, " bytes"));
    }
    out.append(chunk.data(), produced);
    if (z_->avail_out != 0) {
      // Output space left over: zlib has taken all the input it can use.
      if (z_->avail_in != 0) {
        return InvalidArgument("spdy: compressed header block has trailing bytes");
      }
      return out;
    }
  }
}

StatusOr<std::string> Serialize(const Frame& frame, HeaderCompressor& compressor) {
  return std::visit([&](const auto& f) { return SerializeFrame(f, compressor); }, frame);
}

StatusOr<std::string> SerializeData(uint32_t stream_id, uint8_t flags, std::string_view data) {
  RETURN_IF_ERROR(CheckStreamId(stream_id, "DATA"));
  RETURN_IF_ERROR(CheckPayload(data.size(), "DATA"));
  std::string out;
  out.reserve(kFrameHeaderLength + data.size());
  PutU32(&out, stream_id);
  PutU32(&out, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

FrameParser::FrameParser(ParserLimits limits)
    : limits_(limits), decompressor_(limits.max_header_block_bytes) {}

void FrameParser::Feed(std::string_view bytes) {
  if (!error_.ok()) {
    return;  // nothing more will be parsed; do not hold the bytes
  }
  if (skip_remaining_ > 0 && available() == 0) {
    // The tail of a skipped frame never needs to be stored.
    size_t n = std::min(skip_remaining_, bytes.size());
    skip_remaining_ -= n;
    bytes.remove_prefix(n);
  }
  buf_.append(bytes);
}

void FrameParser::DiscardSkipped() {
  size_t n = std::min(skip_remaining_, available());
  pos_ += n;
  skip_remaining_ -= n;
}

void FrameParser::Compact() {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024 && pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

Status FrameParser::Fail(Status status) {
  error_ = std::move(status);
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  return error_;
}

StatusOr<std::optional<Frame>> FrameParser::Next() {
  RETURN_IF_ERROR(error_);
  for (;;) {
    DiscardSkipped();
    if (skip_remaining_ > 0 || available() < kFrameHeaderLength) {
      Compact();
      return std::nullopt;
    }
    std::string_view head(buf_.data() + pos_, kFrameHeaderLength);
    const uint32_t first = GetU32(head, 0);
    const uint32_t flags_length = GetU32(head, 4);
    const uint8_t flags = static_cast<uint8_t>(flags_length >> 24);
    const size_t length = flags_length & 0xffffff;
    if (length > limits_.max_frame_length) {
      return Fail(InvalidArgument(absl::StrCat(
          "spdy: frame of ", length, " bytes exceeds the limit of ", limits_.max_frame_length)));
    }
    const bool control = (first & 0x80000000) != 0;
    const uint16_t type = static_cast<uint16_t>(first & 0xffff);
    if (control) {
      const uint16_t version = static_cast<uint16_t>((first >> 16) & 0x7fff);
      if (version != kVersion) {
        return Fail(InvalidArgument(absl::StrCat("spdy: unsupported version ", version)));
      }
      if (type < 1 || type > 9 || type == 5) {
        pos_ += kFrameHeaderLength;
        skip_remaining_ = length;
        continue;
      }
    }
    if (available() < kFrameHeaderLength + length) {
      Compact();
      return std::nullopt;
    }
    std::string_view payload(buf_.data() + pos_ + kFrameHeaderLength, length);
    pos_ += kFrameHeaderLength + length;
    StatusOr<Frame> frame = InvalidArgument("unset");
    if (control) {
      frame = ParseControl(type, flags, payload);
    } else {
      const uint32_t stream_id = first & kStreamIdMask;
      if (stream_id == 0) {
        return Fail(InvalidArgument("spdy: DATA frame on stream 0"));
      }
      frame = DataFrame{stream_id, flags, std::string(payload)};
    }
    if (!frame.ok()) {
      return Fail(frame.status());
    }
    Compact();
    return std::optional<Frame>(std::move(*frame));
  }
}

StatusOr<Frame> FrameParser::ParseControl(uint16_t type, uint8_t flags, std::string_view p) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        absl::StrCat("spdy: invalid control frame of type ", type, ": ", std::string(why)));
  };
  auto stream_id_at = [&](size_t at) { return GetU32(p, at) & kStreamIdMask; };
  switch (static_cast<FrameType>(type)) {
    case FrameType::kSynStream: {
      if (p.size() < 10) return bad("too short");
      SynStreamFrame f;
      f.stream_id = stream_id_at(0);
      f.associated_stream_id = stream_id_at(4);
      f.priority = static_cast<uint8_t>(static_cast<unsigned char>(p[8]) >> 5);
      f.slot = static_cast<uint8_t>(p[9]);
      f.flags = flags;
      // Inflate before judging the ids: the compression context must see every block.
      ASSIGN_OR_RETURN(f.headers, decompressor_.Decompress(p.substr(10)));
      if (f.stream_id == 0) return bad("stream id 0");
      return f;
    }
    case FrameType::kSynReply:
    case FrameType::kHeaders: {
      if (p.size() < 4) return bad("too short");
      const uint32_t id = stream_id_at(0);
      ASSIGN_OR_RETURN(Headers headers, decompressor_.Decompress(p.substr(4)));
      if (id == 0) return bad("stream id 0");
      if (static_cast<FrameType>(type) == FrameType::kSynReply) {
        return SynReplyFrame{id, flags, std::move(headers)};
      }
      return HeadersFrame{id, flags, std::move(headers)};
    }
    case FrameType::kRstStream: {
      if (p.size() != 8) return bad("length is not 8");
      RstStreamFrame f{stream_id_at(0), static_cast<RstStatus>(GetU32(p, 4))};
      if (f.stream_id == 0 || static_cast<uint32_t>(f.status) == 0) {
        return bad("stream id or status 0");
      }
      return f;
    }
    case FrameType::kSettings: {
      if (p.size() < 4) return bad("too short");
      const uint32_t count = GetU32(p, 0);
      if (count != (p.size() - 4) / 8 || (p.size() - 4) % 8 != 0) {
        return bad("entry count does not match the length");
      }
      SettingsFrame f;
      f.flags = flags;
      f.settings.reserve(count);
      for (uint32_t i = 0; i < count; ++i) {
        const uint32_t flags_id = GetU32(p, 4 + 8 * i);
        f.settings.push_back(
            {static_cast<uint8_t>(flags_id >> 24), flags_id & 0xffffff, GetU32(p, 8 + 8 * i)});
      }
      return f;
    }
    case FrameType::kPing:
      if (p.size() != 4) return bad("length is not 4");
      return PingFrame{GetU32(p, 0)};
    case FrameType::kGoAway:
      if (p.size() != 8) return bad("length is not 8");
      return GoAwayFrame{stream_id_at(0), static_cast<GoAwayStatus>(GetU32(p, 4))};
    case FrameType::kWindowUpdate:
      if (p.size() != 8) return bad("length is not 8");
      return WindowUpdateFrame{stream_id_at(0), GetU32(p, 4) & kStreamIdMask};
  }
  return bad("unknown type");  // unreachable: Next() skips unknown types
}

}  // namespace crio::streaming::spdy
