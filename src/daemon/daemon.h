#pragma once
// Wiring and lifetimes: builds the services, serves the CRI socket, handles signals.

#include <functional>

#include "config/config.h"
#include "util/status.h"

namespace crio::daemon {

struct Options {
  config::Config config;
  // Re-reads files and flags on SIGHUP; the reloadable options of the result are applied.
  std::function<StatusOr<config::Config>()> reload;
};

// Strips an optional "unix://" prefix: CRI-O accepts both forms for `listen`.
std::string SocketPathFromListen(const std::string& listen);

// Serves until SIGTERM or SIGINT, then finishes in-flight calls and removes the socket.
// Must be called from the main thread before any other thread starts.
Status Run(Options options);

}  // namespace crio::daemon
