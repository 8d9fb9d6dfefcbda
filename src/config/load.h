#pragma once
// What load.cc shares with toml_writer.cc, which re-parses the workload tables it prints. Not
// for use outside src/config; the public API is config.h.

#include <toml++/toml.h>

#include <string_view>

#include "util/status.h"

namespace crio::config::config_internal {

// toml::parse without exceptions: InvalidArgument "FILE:LINE:COL: parse error: ..." for
// unparsable text.
StatusOr<toml::table> ParseToml(std::string_view text, std::string_view file);

}  // namespace crio::config::config_internal
