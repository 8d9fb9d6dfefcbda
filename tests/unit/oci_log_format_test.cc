// The CRI log format parser (oci/log_format.h).
#include <gtest/gtest.h>

#include "oci/log_format.h"

namespace crio::oci {
namespace {

using std::chrono::system_clock;
using namespace std::chrono_literals;

system_clock::time_point At(std::chrono::sys_days day, std::chrono::nanoseconds since_midnight) {
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(day.time_since_epoch() + since_midnight));
}

constexpr auto kDay = std::chrono::sys_days(std::chrono::year(2024) / 5 / 1);

TEST(ParseRfc3339, ZuluWithNanos) {
  auto t = ParseRfc3339("2024-05-01T10:20:30.123456789Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, At(kDay, 10h + 20min + 30s + 123456789ns));
}

TEST(ParseRfc3339, NumericOffsetAsConmonWrites) {
  // 13:20:42+01:00 is 12:20:42 UTC.
  auto t = ParseRfc3339("2024-05-01T13:20:42.999999999+01:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, At(kDay, 12h + 20min + 42s + 999999999ns));
  EXPECT_EQ(*ParseRfc3339("2024-05-01T00:30:00-02:30"), At(kDay, 3h));
}

TEST(ParseRfc3339, ShortFractionAndNone) {
  EXPECT_EQ(*ParseRfc3339("2024-05-01T00:00:00.5Z"), At(kDay, 500ms));
  EXPECT_EQ(*ParseRfc3339("2024-05-01T00:00:01Z"), At(kDay, 1s));
}

TEST(ParseRfc3339, Malformed_InvalidArgument) {
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01T00:00:00", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
        "2024-05-01T00:00:00.Z", "2024-05-01T00:00:00+0100", "2024-05-01T00:00:00Zjunk",
        "2024-05-01 00:00:00Z"}) {
    EXPECT_EQ(ParseRfc3339(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FormatRfc3339Nano, RoundTripsThroughParse) {
  auto t = At(kDay, 1h + 2min + 3s + 4ns);
  EXPECT_EQ(FormatRfc3339Nano(t), "2024-05-01T01:02:03.000000004Z");
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339Nano(t)), t);
}

TEST(ParseLogLine, FullStdoutLine) {
  auto line = ParseLogLine("2024-05-01T00:00:00.000000001Z stdout F hello world\n");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->time, At(kDay, 1ns));
  EXPECT_EQ(line->stream, LogStream::kStdout);
  EXPECT_FALSE(line->partial);
  EXPECT_EQ(line->message, "hello world");
}

TEST(ParseLogLine, PartialStderrKeepsInnerSpaces) {
  auto line = ParseLogLine("2024-05-01T00:00:00Z stderr P  two  spaces ");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->stream, LogStream::kStderr);
  EXPECT_TRUE(line->partial);
  EXPECT_EQ(line->message, " two  spaces ");
}

TEST(ParseLogLine, EmptyMessageWithOrWithoutSpace) {
  EXPECT_EQ(ParseLogLine("2024-05-01T00:00:00Z stdout F ")->message, "");
  EXPECT_EQ(ParseLogLine("2024-05-01T00:00:00Z stdout F")->message, "");
}

TEST(ParseLogLine, TagWithExtras_FirstTagCounts) {
  auto line = ParseLogLine("2024-05-01T00:00:00Z stdout P:extra x");
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->partial);
}

TEST(ParseLogLine, BadFields_InvalidArgumentNamingField) {
  EXPECT_NE(ParseLogLine("2024-05-01T00:00:00Z stdin F x").status().message().find("stream"),
            absl::string_view::npos);
  EXPECT_NE(ParseLogLine("2024-05-01T00:00:00Z stdout X x").status().message().find("tag"),
            absl::string_view::npos);
  EXPECT_NE(ParseLogLine("yesterday stdout F x").status().message().find("timestamp"),
            absl::string_view::npos);
  EXPECT_EQ(ParseLogLine("2024-05-01T00:00:00Z").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseLog, PartialChunksJoinedPerStream) {
  const char* log =
      "2024-05-01T00:00:01Z stdout P hel\n"
      "2024-05-01T00:00:02Z stderr F error line\n"
      "2024-05-01T00:00:03Z stdout P lo \n"
      "2024-05-01T00:00:04Z stdout F world\n"
      "\n"
      "2024-05-01T00:00:05Z stdout F second\n";
  auto entries = ParseLog(log);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0], (LogEntry{At(kDay, 2s), LogStream::kStderr, "error line", true}));
  EXPECT_EQ((*entries)[1], (LogEntry{At(kDay, 1s), LogStream::kStdout, "hello world", true}));
  EXPECT_EQ((*entries)[2], (LogEntry{At(kDay, 5s), LogStream::kStdout, "second", true}));
}

TEST(ParseLog, TrailingPartialAndUnterminatedLine_ReportedIncomplete) {
  auto entries = ParseLog(
      "2024-05-01T00:00:01Z stdout F one\n"
      "2024-05-01T00:00:02Z stdout P tw");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].message, "tw");
  EXPECT_FALSE((*entries)[1].complete);
}

TEST(ParseLog, BadLine_ErrorNamesLineNumber) {
  auto entries = ParseLog(
      "2024-05-01T00:00:01Z stdout F one\n"
      "garbage\n");
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(entries.status().message().substr(0, 7), "line 2:");
}

TEST(LogJoiner, FlushClearsPending) {
  LogJoiner joiner;
  EXPECT_FALSE(joiner.Add(LogLine{At(kDay, 1s), LogStream::kStdout, true, "a"}));
  auto full = joiner.Add(LogLine{At(kDay, 2s), LogStream::kStdout, false, "b"});
  ASSERT_TRUE(full);
  EXPECT_EQ(full->message, "ab");
  EXPECT_EQ(full->time, At(kDay, 1s));
  EXPECT_FALSE(joiner.Add(LogLine{At(kDay, 3s), LogStream::kStderr, true, "c"}));
  auto rest = joiner.Flush();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].message, "c");
  EXPECT_TRUE(joiner.Flush().empty());
}

}  // namespace
}  // namespace crio::oci
