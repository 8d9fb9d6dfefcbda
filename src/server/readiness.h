#pragma once
// Runtime and network readiness, as reported by the CRI Status RPC.

#include <string>

#include "config/config.h"

namespace crio::server {

struct Condition {
  bool ready = false;
  std::string reason;   // CamelCase, empty when ready
  std::string message;  // human-readable, empty when ready
};

// Ready when the default handler's runtime binary and its monitor are executable.
Condition CheckRuntimeReady(const config::Config& config);
// Ready when the CNI config dir holds at least one network configuration file.
Condition CheckNetworkReady(const config::NetworkConfig& network);

}  // namespace crio::server
