#include "os/service_notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "os/unique_fd.h"

namespace crio::os {
namespace {

std::string& NotifySocket() {
  static std::string path;
  return path;
}

}  // namespace

void TakeNotifySocketFromEnvironment() {
  if (const char* path = ::getenv("NOTIFY_SOCKET"); path != nullptr) NotifySocket() = path;
  ::unsetenv("NOTIFY_SOCKET");
}

void NotifyServiceManager(std::string_view state) {
  const std::string& path = NotifySocket();
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket
  socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return;
  (void)::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
}

}  // namespace crio::os
