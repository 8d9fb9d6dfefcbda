#pragma once
// The systemd D-Bus API we use (org.freedesktop.systemd1.Manager), behind a seam so the
// systemd cgroup manager's logic is unit tested against a fake. The real client is libsystemd's
// sd-bus on the system bus (DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/status.h"

namespace crio::cgroups {

// One unit property as systemd's API types it: "b", "i", "t", "s", "as", "au" (PIDs) or "ay"
// (CPU and NUMA node bitmasks).
using UnitPropertyValue =
    std::variant<bool, int32_t, uint64_t, std::string, std::vector<std::string>,
                 std::vector<uint32_t>, std::vector<uint8_t>>;
struct UnitProperty {
  std::string name;
  UnitPropertyValue value;

  bool operator==(const UnitProperty&) const = default;
};
using UnitProperties = std::vector<UnitProperty>;

// Thread-safe. Errors carry systemd's own message; AlreadyExists when a transient unit of that
// name is loaded already (org.freedesktop.systemd1.UnitExists), NotFound for a unit that is not
// loaded (NoSuchUnit), Unavailable when the bus cannot be reached.
class SystemdBus {
 public:
  virtual ~SystemdBus() = default;
  // StartTransientUnit(name, "fail", properties, []). Returns when systemd has queued the job.
  virtual Status StartTransientUnit(const std::string& name, const UnitProperties& properties) = 0;
  // StopUnit(name, "replace"). NotFound when the unit is not loaded.
  virtual Status StopUnit(const std::string& name) = 0;
  // SetUnitProperties(name, runtime = true, properties).
  virtual Status SetUnitProperties(const std::string& name, const UnitProperties& properties) = 0;
  // How many processes the unit's cgroup subtree holds (GetUnitProcesses). NotFound when the
  // unit is not loaded.
  virtual StatusOr<size_t> UnitProcessCount(const std::string& name) = 0;
  // The unit's Description, or nullopt when no unit of that name is loaded.
  virtual StatusOr<std::optional<std::string>> UnitDescription(const std::string& name) = 0;
};
using SystemdBusPtr = std::unique_ptr<SystemdBus>;

// Connects to the system bus (the connection is reopened after the bus restarts). Unavailable
// with the socket's error when nothing listens.
StatusOr<SystemdBusPtr> ConnectSystemBus();

}  // namespace crio::cgroups
