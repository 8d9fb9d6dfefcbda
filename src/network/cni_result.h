#pragma once
// CNI plugin results and errors, for every result format a plugin may print: 0.1.0/0.2.0
// ("ip4"/"ip6" objects) and 0.3.0 through 1.1.0 ("interfaces"/"ips"). Results are normalised to
// one struct and can be written back in any supported version, which is how a prevResult is
// handed to the next plugin of a list in the list's own version.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace crio::network {

struct CniInterface {
  std::string name;
  std::string mac;
  std::string sandbox;  // netns path; empty for host-side interfaces
};

struct CniIp {
  std::string address;           // CIDR, e.g. "10.1.2.3/24"
  std::string gateway;           // may be empty
  std::optional<int> interface;  // index into interfaces
  bool v6 = false;
};

struct CniResult {
  std::string cni_version;
  std::vector<CniInterface> interfaces;
  std::vector<CniIp> ips;
  nlohmann::json routes = nlohmann::json::array();
  nlohmann::json dns = nlohmann::json::object();
};

// Parses a plugin's successful output. Errors: InvalidArgument when it is not JSON or not a
// result object (e.g. a malformed "ips" entry).
StatusOr<CniResult> ParseResult(std::string_view text);

// `result` in the format of `version` (0.1.0 ... 1.1.0). 0.2.0 and older keep only the first
// address of each family, as that format can hold no more.
nlohmann::json ResultToJson(const CniResult& result, const std::string& version);

// The pod's addresses without prefix length: those on a sandbox interface (or with no interface
// named), IPv4 first, in result order.
std::vector<std::string> PodIps(const CniResult& result);

// A plugin's error object {"code", "msg", "details"}; nullopt when `text` is not one.
struct CniError {
  int code = 0;
  std::string msg;
  std::string details;
};
std::optional<CniError> ParseError(std::string_view text);

}  // namespace crio::network
