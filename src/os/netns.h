#pragma once
// Work inside another network namespace without moving the daemon: setns() applies to the
// calling thread only, so the work runs on a short-lived thread of its own. A socket keeps
// the namespace it was created in, so a connected fd made there is usable from any thread.

#include <functional>
#include <string>

#include "os/unique_fd.h"
#include "util/status.h"

namespace crio::os {

// Runs `fn` on a new thread that has joined the network namespace at `netns_path` (a bind
// mount or /proc/<pid>/ns/net) and waits for it. Errors: the open/setns errno naming the
// path; otherwise what `fn` returns.
Status RunInNetworkNamespace(const std::string& netns_path, const std::function<Status()>& fn);

// A TCP connection to localhost:`port` made inside `netns_path` (empty: this namespace),
// trying IPv4 127.0.0.1 first, then IPv6 ::1.
// Errors: the namespace's errors; the last connect errno naming the port.
StatusOr<UniqueFd> ConnectLocalhostInNetns(const std::string& netns_path, int port);

}  // namespace crio::os
