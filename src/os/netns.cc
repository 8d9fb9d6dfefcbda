#include "os/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <thread>

#include "os/socket.h"

namespace crio::os {

Status RunInNetworkNamespace(const std::string& netns_path, const std::function<Status()>& fn) {
  Status result;
  std::thread worker([&] {
    UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) {
      result = ErrnoError(errno, absl::StrCat("open network namespace ", netns_path));
      return;
    }
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = ErrnoError(errno, absl::StrCat("enter network namespace ", netns_path));
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

StatusOr<UniqueFd> ConnectLocalhostInNetns(const std::string& netns_path, int port) {
  StatusOr<UniqueFd> conn = Internal("not connected");
  auto dial = [&]() -> Status {
    conn = ConnectTcp("127.0.0.1", port);
    if (!conn.ok()) {
      if (auto v6 = ConnectTcp("::1", port); v6.ok()) conn = std::move(v6);
    }
    return absl::OkStatus();
  };
  if (netns_path.empty()) {
    RETURN_IF_ERROR(dial());
  } else {
    RETURN_IF_ERROR(RunInNetworkNamespace(netns_path, dial));
  }
  if (!conn.ok()) {
    return Annotate(conn.status(), absl::StrCat("connect to localhost port ", port));
  }
  return conn;
}

}  // namespace crio::os
