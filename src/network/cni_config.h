#pragma once
// CNI network configuration files: discovery in a directory and parsing of .conflist, .conf and
// .json files (CNI spec 0.1.0 to 1.1.0). A single-plugin .conf is lifted into a one-plugin list
// so the rest of the module only deals with lists.

#include <compare>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace crio::network {

// A CNI spec version as (major, minor, patch); comparable.
struct CniVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  auto operator<=>(const CniVersion&) const = default;
};
// Parses "1.0.0" (a missing patch is 0). Errors: InvalidArgument for anything else.
StatusOr<CniVersion> ParseCniVersion(std::string_view text);
// Whether this runtime can drive plugins at `version`: 0.1.0 through 1.1.0.
bool IsSupportedVersion(const CniVersion& version);

// One network: a list of plugins run in order on ADD, reverse order on DEL.
struct NetworkConfigList {
  std::string name;
  std::string cni_version;  // as written in the file
  bool disable_check = false;
  std::vector<nlohmann::json> plugins;  // each object has at least a string "type"
  std::string source;                   // file it came from ("" when built in memory)
  // The list as a conflist document: what the cache stores so DEL works after a restart.
  nlohmann::json ToJson() const;
};

// Parses a .conflist document. Errors: InvalidArgument naming what is wrong (not JSON, no name,
// unsupported cniVersion, no plugins, a plugin without a type).
StatusOr<NetworkConfigList> ParseConfigList(std::string_view bytes);
// Parses a single-plugin .conf/.json document into a one-plugin list. Errors: as above.
StatusOr<NetworkConfigList> ParseSingleConfig(std::string_view bytes);
// Reads and parses `path` by its extension. Errors: NotFound/ErrnoError on read, InvalidArgument
// for a malformed file or an extension that is not .conf/.conflist/.json.
StatusOr<NetworkConfigList> LoadConfigFile(const std::string& path);

struct Discovery {
  bool found = false;
  NetworkConfigList network;          // valid when found
  std::vector<std::string> warnings;  // one per skipped (malformed) file
  std::string error;                  // why nothing was found, when !found
};
// The network to use from `dir`: the first valid file in lexical order, or the one whose name is
// `default_name` when that is set. Malformed files are skipped with a warning.
Discovery DiscoverNetwork(const std::string& dir, const std::string& default_name);

}  // namespace crio::network
