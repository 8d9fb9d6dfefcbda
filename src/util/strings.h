#pragma once
// Small string helpers shared across modules.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crio::util {

// Splits on `sep`, dropping empty parts.
std::vector<std::string> SplitNonEmpty(std::string_view s, char sep);
bool HasPrefix(std::string_view s, std::string_view prefix);
// `s` without leading and trailing spaces, tabs and newlines.
std::string_view TrimSpace(std::string_view s);
// A whole decimal unsigned number: no sign, no spaces, nothing after it; nullopt otherwise
// (also on overflow).
std::optional<uint64_t> ParseUint64(std::string_view s);
// The last component of a '/'-separated path, ignoring trailing slashes ("a/b/" gives "b").
std::string Basename(std::string_view path);
// Quotes a string for TOML basic strings / JSON (escapes \, ", control chars).
std::string QuoteString(std::string_view s);

}  // namespace crio::util
