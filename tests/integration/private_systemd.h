#pragma once
// A real systemd as PID 1 of private namespaces (tests/fixtures/private_systemd.sh), for tests
// of the systemd cgroup driver and of crio.service on a host that did not boot with systemd.
// Everything it makes in the cgroup hierarchies lives under one directory of its own, removed
// with it.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "util/status.h"

namespace crio::testing {

class PrivateSystemd {
 public:
  // Boots it (about a second) with dbus started. FailedPrecondition when /lib/systemd/systemd or
  // dbus-daemon is missing; Internal with the script's output when the boot fails.
  static StatusOr<std::unique_ptr<PrivateSystemd>> Start();
  ~PrivateSystemd();  // systemctl exit, then removes every cgroup it left

  pid_t pid() const { return pid_; }
  // A command prefix running its argument inside the namespaces (mount, PID, cgroup).
  std::vector<std::string> Enter() const;
  CommandResult Run(const std::vector<std::string>& argv) const;
  CommandResult Systemctl(const std::vector<std::string>& args) const;
  // `systemctl show -p <property> --value <unit>`, trimmed.
  std::string Property(const std::string& unit, const std::string& property) const;
  // The absolute path of cgroup `path` (as seen inside) in host hierarchy `hierarchy`
  // ("memory", "systemd", ...).
  std::string HostCgroupDir(const std::string& hierarchy, const std::string& path) const;

 private:
  PrivateSystemd() = default;
  std::unique_ptr<TempDir> state_;
  pid_t pid_ = -1;
};

}  // namespace crio::testing
