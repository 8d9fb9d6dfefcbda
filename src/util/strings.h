#pragma once
// Small string helpers shared across modules.

#include <string>
#include <string_view>
#include <vector>

namespace crio::util {

// Splits on `sep`, dropping empty parts.
std::vector<std::string> SplitNonEmpty(std::string_view s, char sep);
bool HasPrefix(std::string_view s, std::string_view prefix);
// Quotes a string for TOML basic strings / JSON (escapes \, ", control chars).
std::string QuoteString(std::string_view s);

}  // namespace crio::util
