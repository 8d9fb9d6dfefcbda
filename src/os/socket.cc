#include "os/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>

namespace crio::os {

namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

StatusOr<AddrInfoPtr> Resolve(const std::string& host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0) {
    return InvalidArgument(absl::StrCat("resolve ", host, ": ", gai_strerror(rc)));
  }
  return AddrInfoPtr(result);
}

std::string HostPort(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

// Fills `addr` for `path`; long paths go through an O_PATH fd of their directory, which the
// caller keeps open in `dir_fd` until connect/bind is done.
Status UnixAddress(const std::string& path, sockaddr_un& addr, UniqueFd& dir_fd) {
  addr = {};
  addr.sun_family = AF_UNIX;
  std::string target = path;
  if (target.size() >= sizeof(addr.sun_path)) {
    std::filesystem::path p(path);
    dir_fd.reset(::open(p.parent_path().c_str(), O_PATH | O_CLOEXEC | O_DIRECTORY));
    if (!dir_fd) {
      return ErrnoError(errno, absl::StrCat("open directory of socket ", path));
    }
    target = absl::StrCat("/proc/self/fd/", dir_fd.get(), "/", p.filename().string());
    if (target.size() >= sizeof(addr.sun_path)) {
      return InvalidArgument(absl::StrCat("socket path too long: ", path));
    }
  }
  std::memcpy(addr.sun_path, target.c_str(), target.size() + 1);
  return absl::OkStatus();
}

}  // namespace

StatusOr<UniqueFd> ListenTcp(const std::string& host, int port, int backlog) {
  ASSIGN_OR_RETURN(AddrInfoPtr addrs, Resolve(host, port, /*passive=*/true));
  int last_errno = EADDRNOTAVAIL;
  for (addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), backlog) != 0) {
      last_errno = errno;
      continue;
    }
    return fd;
  }
  return ErrnoError(last_errno, absl::StrCat("listen on ", HostPort(host, port)));
}

StatusOr<UniqueFd> ListenUnix(const std::string& path, int type, int mode) {
  sockaddr_un addr{};
  UniqueFd dir_fd;
  RETURN_IF_ERROR(UnixAddress(path, addr, dir_fd));
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("socket for ", path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove old socket ", path));
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError(errno, absl::StrCat("bind ", path));
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return ErrnoError(errno, absl::StrCat("chmod ", path));
  }
  if (::listen(fd.get(), 128) != 0) {
    return ErrnoError(errno, absl::StrCat("listen on ", path));
  }
  return fd;
}

StatusOr<int> BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError(errno, "getsockname");
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

StatusOr<UniqueFd> ConnectTcp(const std::string& host, int port) {
  ASSIGN_OR_RETURN(AddrInfoPtr addrs, Resolve(host, port, /*passive=*/false));
  int last_errno = EADDRNOTAVAIL;
  for (addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last_errno = errno;
      continue;
    }
    int rc;
    do {
      rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      return fd;
    }
    last_errno = errno;
  }
  return ErrnoError(last_errno, absl::StrCat("connect to ", HostPort(host, port)));
}

StatusOr<UniqueFd> ConnectUnix(const std::string& path, int type) {
  sockaddr_un addr{};
  UniqueFd dir_fd;
  RETURN_IF_ERROR(UnixAddress(path, addr, dir_fd));
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("socket for ", path));
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError(errno, absl::StrCat("connect to ", path));
  }
  return fd;
}

Status WriteAll(int fd, std::string_view data) {
  bool is_socket = true;
  while (!data.empty()) {
    ssize_t n = is_socket ? ::send(fd, data.data(), data.size(), MSG_NOSIGNAL)
                          : ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOTSOCK && is_socket) {
        is_socket = false;
        continue;
      }
      return ErrnoError(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace crio::os
