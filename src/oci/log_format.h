#pragma once
// The CRI container log format (what conmon's k8s-file driver writes, what the kubelet and
// `crioctl logs` read): one record per line,
//   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <message>
// "P" marks a partial chunk whose message continues in the next record of the same stream; "F"
// ends a message. conmon stamps with the local offset ("...999999999+01:00"); "Z" is accepted.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::oci {

enum class LogStream { kStdout, kStderr };

std::string_view LogStreamName(LogStream stream);  // "stdout" / "stderr"

// One record.
struct LogLine {
  std::chrono::system_clock::time_point time;
  LogStream stream = LogStream::kStdout;
  bool partial = false;  // tag "P"
  std::string message;   // without the record's newline

  bool operator==(const LogLine&) const = default;
};

// A whole message: the P chunks of one stream joined with the F chunk that ends them.
struct LogEntry {
  std::chrono::system_clock::time_point time;  // of the first chunk
  LogStream stream = LogStream::kStdout;
  std::string message;
  bool complete = true;  // false when the log ended before the F chunk

  bool operator==(const LogEntry&) const = default;
};

// Parses one record; a trailing "\n" is ignored. A record without the space after the tag has
// an empty message. Tags may carry ':'-separated extras ("F:x"); only the first is used.
// Errors: InvalidArgument naming the malformed field.
StatusOr<LogLine> ParseLogLine(std::string_view line);

// RFC 3339 with up to 9 fractional digits and "Z" or a numeric offset.
// Errors: InvalidArgument.
StatusOr<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

// UTC, always 9 fractional digits: "2024-05-01T10:00:00.000000001Z".
std::string FormatRfc3339Nano(std::chrono::system_clock::time_point time);

// Joins records into messages, keeping stdout and stderr chunks apart. Not thread-safe.
class LogJoiner {
 public:
  // Returns the message `line` completes, if any.
  std::optional<LogEntry> Add(LogLine line);
  // Messages still waiting for their F chunk, oldest first, marked incomplete; clears them.
  std::vector<LogEntry> Flush();

 private:
  std::optional<LogEntry> pending_[2];  // by LogStream
};

// Parses a log file's contents into messages (incomplete trailing ones included). Empty lines
// are skipped. Errors: InvalidArgument "line N: ..." for the first malformed record.
StatusOr<std::vector<LogEntry>> ParseLog(std::string_view content);

}  // namespace crio::oci
