#pragma once
// The client side of the streaming protocols, as crictl speaks them: an HTTP upgrade to
// SPDY/3.1, then one stream per channel (remote command) or a data and an error stream per
// forwarded connection (port forward). Used by crioctl and by the tests.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "streaming/remote_command.h"
#include "streaming/spdy_connection.h"
#include "util/status.h"

namespace crio::streaming {

struct SpdyDial {
  std::unique_ptr<spdy::Connection> conn;  // started, client role
  std::string protocol;                    // what the server chose
};

// POSTs an upgrade to `url` (http://host:port/path) offering `protocols` in order of
// preference. Errors: InvalidArgument for a URL that is not http://; Unavailable for a refused
// connection; FailedPrecondition "unable to upgrade connection: <status> <body>" when the
// server answers anything but 101 with a protocol.
StatusOr<SpdyDial> DialSpdy(const std::string& url, const std::vector<std::string>& protocols,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct RemoteCommandClientOptions {
  // Which channels to open: must match the Exec/Attach request.
  bool stdin = false;
  bool stdout = true;
  bool stderr = true;
  bool tty = false;
  // Protocols offered, newest first.
  std::vector<std::string> protocols = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                        "v2.channel.k8s.io", "channel.k8s.io"};
  // Local fds: read for stdin (until EOF), written with the output.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Terminal sizes to send (tty only); blocks for the next, nullopt when there are no more.
  std::function<std::optional<TerminalSize>()> next_resize;
};

// Runs an exec or attach against the URL an Exec/Attach RPC returned and returns the exit
// code (v4; 0 for older protocols unless the server reported an error).
// Errors: DialSpdy's; Internal with the server's message for a failure on the error stream.
StatusOr<int> RunRemoteCommandClient(const std::string& url,
                                     const RemoteCommandClientOptions& options);

// Opens the data and error streams for one forwarded connection to `port` and copies between
// them and `local_fd` until both sides are done. Errors: the server's message from the error
// stream, or the stream's error.
Status ForwardOneConnection(spdy::Connection& conn, int port, int request_id, int local_fd);

}  // namespace crio::streaming
