#pragma once
// What `crio version` prints: our build identity and the versions of the libraries linked in.

#include <string>

namespace crio::cmd {
std::string ShortVersion();
std::string VersionText();
std::string VersionJson();
}  // namespace crio::cmd
