#include "oci/log_format.h"

#include <algorithm>
#include <cstdio>

namespace crio::oci {
namespace {

using std::chrono::system_clock;

// Reads exactly `width` digits at `pos`.
bool Digits(std::string_view s, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > s.size()) {
    return false;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    value = value * 10 + (s[i] - '0');
  }
  out = value;
  return true;
}

bool Expect(std::string_view s, std::size_t pos, char c) { return pos < s.size() && s[pos] == c; }

}  // namespace

std::string_view LogStreamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

StatusOr<system_clock::time_point> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return InvalidArgument(absl::StrCat("malformed timestamp \"", std::string(s), "\""));
  };
  int year, month, day, hour, minute, second;
  // "YYYY-MM-DDTHH:MM:SS"
  if (!Digits(s, 0, 4, year) || !Expect(s, 4, '-') || !Digits(s, 5, 2, month) ||
      !Expect(s, 7, '-') || !Digits(s, 8, 2, day) || !(Expect(s, 10, 'T') || Expect(s, 10, 't')) ||
      !Digits(s, 11, 2, hour) || !Expect(s, 13, ':') || !Digits(s, 14, 2, minute) ||
      !Expect(s, 16, ':') || !Digits(s, 17, 2, second)) {
    return bad();
  }
  std::size_t pos = 19;
  int64_t nanos = 0;
  if (Expect(s, pos, '.')) {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) {
      return bad();
    }
    for (std::size_t i = digits; i < 9; ++i) {
      nanos *= 10;
    }
  }
  int offset_minutes = 0;
  if (Expect(s, pos, 'Z') || Expect(s, pos, 'z')) {
    ++pos;
  } else if (Expect(s, pos, '+') || Expect(s, pos, '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || !Expect(s, pos + 3, ':') || !Digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return bad();
    }
    offset_minutes = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) {
    return bad();
  }
  using namespace std::chrono;
  year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                      std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  auto t =
      sys_days(date) + hours(hour) + minutes(minute) + seconds(second) - minutes(offset_minutes);
  return system_clock::time_point(
      duration_cast<system_clock::duration>(t.time_since_epoch() + nanoseconds(nanos)));
}

std::string FormatRfc3339Nano(system_clock::time_point time) {
  using namespace std::chrono;
  auto ns = time_point_cast<nanoseconds>(time);
  auto day_start = floor<days>(ns);
  year_month_day date(day_start);
  auto since_midnight = ns - day_start;
  auto h = duration_cast<hours>(since_midnight);
  auto m = duration_cast<minutes>(since_midnight - h);
  auto sec = duration_cast<seconds>(since_midnight - h - m);
  auto frac = since_midnight - h - m - sec;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(h.count()),
                static_cast<int>(m.count()), static_cast<int>(sec.count()),
                static_cast<long long>(frac.count()));
  return buf;
}

StatusOr<LogLine> ParseLogLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  LogLine out;
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return InvalidArgument("log record has no stream field");
  }
  ASSIGN_OR_RETURN(out.time, ParseRfc3339(line.substr(0, sp1)));
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    return InvalidArgument("log record has no tag field");
  }
  std::string_view stream = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (stream == "stdout") {
    out.stream = LogStream::kStdout;
  } else if (stream == "stderr") {
    out.stream = LogStream::kStderr;
  } else {
    return InvalidArgument(absl::StrCat("unknown log stream \"", std::string(stream), "\""));
  }
  std::size_t sp3 = line.find(' ', sp2 + 1);
  std::string_view tags =
      line.substr(sp2 + 1, sp3 == std::string_view::npos ? line.npos : sp3 - sp2 - 1);
  std::string_view tag = tags.substr(0, tags.find(':'));
  if (tag == "P") {
    out.partial = true;
  } else if (tag != "F") {
    return InvalidArgument(absl::StrCat("unknown log tag \"", std::string(tags), "\""));
  }
  if (sp3 != std::string_view::npos) {
    out.message = std::string(line.substr(sp3 + 1));
  }
  return out;
}

std::optional<LogEntry> LogJoiner::Add(LogLine line) {
  std::optional<LogEntry>& pending = pending_[static_cast<int>(line.stream)];
  if (!pending) {
    pending = LogEntry{line.time, line.stream, std::move(line.message), true};
  } else {
    pending->message += line.message;
  }
  if (line.partial) {
    return std::nullopt;
  }
  return std::exchange(pending, std::nullopt);
}

std::vector<LogEntry> LogJoiner::Flush() {
  std::vector<LogEntry> out;
  for (auto& pending : pending_) {
    if (pending) {
      pending->complete = false;
      out.push_back(*std::move(pending));
      pending.reset();
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LogEntry& a, const LogEntry& b) { return a.time < b.time; });
  return out;
}

StatusOr<std::vector<LogEntry>> ParseLog(std::string_view content) {
  std::vector<LogEntry> entries;
  LogJoiner joiner;
  std::size_t line_no = 0;
  while (!content.empty()) {
    ++line_no;
    std::size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    if (line.empty()) {
      continue;
    }
    auto parsed = ParseLogLine(line);
    if (!parsed.ok()) {
      return InvalidArgument(absl::StrCat("line ", line_no, ": ", parsed.status().message()));
    }
    if (auto entry = joiner.Add(*std::move(parsed))) {
      entries.push_back(*std::move(entry));
    }
  }
  for (LogEntry& entry : joiner.Flush()) {
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace crio::oci
