#pragma once
// Sockets: the one place that turns addresses into listening or connected fds.

#include <sys/socket.h>

#include <string>

#include "os/unique_fd.h"
#include "util/status.h"

namespace crio::os {

// A TCP listener on `host` ("127.0.0.1", "::1", "0.0.0.0", "localhost" ...) and `port` (0: the
// kernel picks a free one; read it back with BoundPort). SO_REUSEADDR, close-on-exec.
// Errors: InvalidArgument for an unresolvable host; the bind/listen errno naming host:port.
StatusOr<UniqueFd> ListenTcp(const std::string& host, int port, int backlog = 128);

// A listener on the unix socket `path` (an existing socket file is replaced) with `mode`.
// Errors: InvalidArgument for a path too long for sockaddr_un; the errno naming the path.
StatusOr<UniqueFd> ListenUnix(const std::string& path, int type = SOCK_STREAM, int mode = 0660);

// The local port a TCP socket is bound to. Errors: the getsockname errno.
StatusOr<int> BoundPort(int fd);

// A connected TCP socket to host:port, trying each address the host resolves to.
// Errors: InvalidArgument for an unresolvable host; the last connect errno.
StatusOr<UniqueFd> ConnectTcp(const std::string& host, int port);

// A socket of `type` (SOCK_STREAM, SOCK_SEQPACKET) connected to the unix socket `path`.
// Paths longer than sockaddr_un allows are reached through their directory's /proc/self/fd.
// Errors: the errno naming the path.
StatusOr<UniqueFd> ConnectUnix(const std::string& path, int type = SOCK_STREAM);

// Writes all of `data` to a socket or pipe, retrying short writes and EINTR (MSG_NOSIGNAL for
// sockets, so a vanished peer is EPIPE rather than SIGPIPE). Errors: the errno.
Status WriteAll(int fd, std::string_view data);

}  // namespace crio::os
