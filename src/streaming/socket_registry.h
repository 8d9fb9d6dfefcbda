#pragma once
// The sockets of the port-forwards in flight on one streaming connection, so that the end of
// the connection can shut them down under the threads copying them. A socket is unregistered
// before it is closed, so a reused fd number is never shut down by mistake.

#include <sys/socket.h>

#include <mutex>
#include <set>

namespace crio::streaming {

class SocketRegistry {
 public:
  void Add(int fd) {
    std::lock_guard lock(mu_);
    fds_.insert(fd);
  }
  void Remove(int fd) {
    std::lock_guard lock(mu_);
    fds_.erase(fd);
  }
  void ShutdownAll() {
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  std::mutex mu_;
  std::set<int> fds_;
};

}  // namespace crio::streaming
