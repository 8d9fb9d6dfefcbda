// ParseGoDuration: Go's time.ParseDuration, the syntax of CRI-O's duration options.

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "util/strings.h"

namespace crio::config {
namespace {

using Int128 = unsigned __int128;

struct DurationUnitInfo {
  std::string_view name;
  uint64_t nanoseconds;
};

// Go's units; micro may be spelled "us", "µs" (U+00B5) or "μs" (U+03BC).
constexpr DurationUnitInfo kDurationUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},
    {"\xCE\xBCs", 1000},
    {"ms", 1000 * 1000},
    {"s", 1000ULL * 1000 * 1000},
    {"m", 60ULL * 1000 * 1000 * 1000},
    {"h", 3600ULL * 1000 * 1000 * 1000},
};

StatusOr<uint64_t> DurationUnit(std::string_view unit, std::string_view text) {
  for (const DurationUnitInfo& info : kDurationUnits) {
    if (info.name == unit) {
      return info.nanoseconds;
    }
  }
  if (unit.empty()) {
    return InvalidArgument(absl::StrCat("missing unit in duration ", util::QuoteString(text)));
  }
  return InvalidArgument(absl::StrCat("unknown unit ", util::QuoteString(unit), " in duration ",
                                      util::QuoteString(text)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const Status invalid =
      InvalidArgument(absl::StrCat("invalid duration ", util::QuoteString(text)));
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return std::chrono::nanoseconds(0);
  }
  if (s.empty()) {
    return invalid;
  }
  // Go allows up to 2^63 nanoseconds for a negative duration, one less for a positive one.
  const Int128 limit = (Int128{1} << 63) - (negative ? 0 : 1);
  Int128 total = 0;
  while (!s.empty()) {
    Int128 whole = 0;
    size_t whole_digits = 0;
    for (; !s.empty() && IsDigit(s.front()); s.remove_prefix(1), ++whole_digits) {
      whole = whole * 10 + static_cast<unsigned>(s.front() - '0');
      if (whole > limit) {
        return invalid;
      }
    }
    Int128 fraction = 0;
    Int128 scale = 1;
    size_t fraction_digits = 0;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      for (; !s.empty() && IsDigit(s.front()); s.remove_prefix(1), ++fraction_digits) {
        // Digits past 10^-18 cannot change a nanosecond count of any unit up to an hour.
        if (scale < Int128{1000000000000000000ULL}) {
          fraction = fraction * 10 + static_cast<unsigned>(s.front() - '0');
          scale *= 10;
        }
      }
    }
    if (whole_digits == 0 && fraction_digits == 0) {
      return invalid;
    }
    size_t unit_end = 0;
    while (unit_end < s.size() && !IsDigit(s[unit_end]) && s[unit_end] != '.') {
      ++unit_end;
    }
    ASSIGN_OR_RETURN(uint64_t unit, DurationUnit(s.substr(0, unit_end), text));
    s.remove_prefix(unit_end);
    total += whole * unit + fraction * unit / scale;  // < 2^128: whole <= 2^63, unit < 2^42
    if (total > limit) {
      return invalid;
    }
  }
  if (!negative) {
    return std::chrono::nanoseconds(static_cast<int64_t>(total));
  }
  if (total == (Int128{1} << 63)) {
    return std::chrono::nanoseconds(std::numeric_limits<int64_t>::min());
  }
  return std::chrono::nanoseconds(-static_cast<int64_t>(total));
}

}  // namespace crio::config
