#pragma once
// A small HTTP/1.1 client over a unix socket (libcurl): `crio status` reading the daemon's
// inspect endpoints.

#include <chrono>
#include <string>

#include "util/status.h"

namespace crio::http {

struct Reply {
  long code = 0;
  std::string body;
};

// GET `target` ("/info") from the server on unix socket `socket`. Errors: Unavailable when
// nothing answers on the socket (naming it); DeadlineExceeded after `timeout`.
StatusOr<Reply> GetOverUnixSocket(const std::string& socket, const std::string& target,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace crio::http
