#pragma once
// The systemd cgroup driver, CRI-O's cgroup_manager = "systemd" (internal/config/cgmgr/systemd*).
//
// Naming: the kubelet passes a slice name as cgroup_parent ("kubepods-besteffort-pod<uid>.slice";
// empty means "system.slice"). A slice name expands to its path by its dashes
// (/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice). A container's
// linux.cgroupsPath is "<slice>:crio:<id>": the runtime, run with --systemd-cgroup (conmon -s),
// asks systemd for the transient unit crio-<id>.scope in that slice. conmon goes into its own
// transient scope crio-conmon-<id>.scope, in the pod's slice or in the handler's monitor_cgroup
// when that names a slice. The pod's sandbox cgroup "<expanded slice>/crio-<pod id>" is a plain
// directory, as CRI-O makes it (a scope without a process cannot exist).
//
// What systemd does not do for us (the sandbox directory, reading stats, writing a pod's limits
// the moment they change) goes through a CgroupfsManager over the same hierarchies.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "cgroups/cgroup_manager.h"
#include "cgroups/systemd_bus.h"

namespace crio::cgroups {

inline constexpr char kDefaultSystemdSlice[] = "system.slice";
// Marks the pod slices we started ourselves (the kubelet normally starts them): only these are
// stopped when their last pod goes.
inline constexpr char kOurSliceDescription[] = "crio-cpp pod slice";

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "/". InvalidArgument for a
// name that is not a slice, holds '/', or has an empty dash-separated part. Pure.
StatusOr<std::string> ExpandSlice(std::string_view slice);

// The slice a pod's cgroup_parent names: empty -> "system.slice"; a path's last component
// ("/kubepods.slice/kubepods-pod1.slice" -> "kubepods-pod1.slice"). InvalidArgument when that is
// not a slice (a cgroupfs parent given to the systemd driver). Pure.
StatusOr<std::string> PodSlice(std::string_view cgroup_parent);

// The unit properties that carry a pod's limits (the kubelet's own choice of properties):
// v1 CPUShares, MemoryLimit; v2 CPUWeight, MemoryMax, AllowedCPUs, AllowedMemoryNodes; both
// CPUQuotaPerSecUSec and CPUQuotaPeriodUSec. cpusets on v1 are not systemd's: they are written
// to the files only. InvalidArgument for a cpuset list that does not parse. Pure.
StatusOr<UnitProperties> PodResourceProperties(const PodResources& resources,
                                               CgroupVersion version);

// "0-2,5" -> the little-endian bitmask systemd's AllowedCPUs takes ({0x27}). Pure.
StatusOr<std::vector<uint8_t>> CpuListToMask(std::string_view list);

class SystemdManager : public CgroupManager {
 public:
  // Connects to the system bus and detects the cgroup layout. Unavailable when systemd does not
  // answer on the bus.
  static StatusOr<std::unique_ptr<SystemdManager>> Create();

  // `proc_root` is where PlaceMonitor reads <pid>/cgroup to see the move done.
  SystemdManager(SystemdBusPtr bus, std::unique_ptr<CgroupfsManager> files,
                 std::string proc_root = "/proc",
                 std::chrono::milliseconds placement_timeout = std::chrono::seconds(10));

  std::string_view Name() const override { return kSystemdManagerName; }
  StatusOr<std::string> PodCgroupPath(std::string_view cgroup_parent) const override;
  StatusOr<std::string> ContainerCgroupPath(std::string_view cgroup_parent,
                                            std::string_view id) const override;
  StatusOr<std::string> OciCgroupsPath(std::string_view cgroup_parent,
                                       std::string_view id) const override;
  // Starts the pod's slice when no unit of that name is loaded (the kubelet starts it on a
  // node; crictl and tests do not), then makes the sandbox directory under it.
  StatusOr<std::string> CreatePodCgroup(std::string_view cgroup_parent,
                                        std::string_view pod_id) override;
  // Sets the slice's unit properties (so systemd keeps them) and writes the files (so they hold
  // at once). `path` is the pod's expanded slice.
  Status ApplyPodResources(const std::string& path, const PodResources& resources) override;
  // Removes the directory; for a pod's sandbox directory, also stops the pod slice when we
  // started it and no process is left in it.
  Status RemoveCgroup(const std::string& path) override;
  Status MoveProcess(pid_t pid, const std::string& path) override;
  StatusOr<CgroupStats> ReadStats(const std::string& path, unsigned parts = kAllStats) override;
  // Starts crio-conmon-<id>.scope holding `pid` and waits until the kernel shows it there.
  Status PlaceMonitor(pid_t pid, std::string_view cgroup_parent, std::string_view id,
                      std::string_view monitor_cgroup) override;

 private:
  Status EnsureSlice(const std::string& slice);
  void StopSliceIfOursAndEmpty(const std::string& slice);
  Status WaitInCgroup(pid_t pid, std::string_view cgroup_suffix);

  SystemdBusPtr bus_;
  std::unique_ptr<CgroupfsManager> files_;
  std::string proc_root_;
  std::chrono::milliseconds placement_timeout_;
};

// Which manager to use (ChooseCgroupManager with the real PID 1), built: cgroupfs detects the
// host layout, systemd also connects to the bus. Errors: InvalidArgument for an unknown name;
// DetectCgroupLayout errors; Unavailable when systemd runs but does not answer on the bus.
StatusOr<ResolvedCgroupManager> ResolveCgroupManager(std::string_view configured);

}  // namespace crio::cgroups
