#pragma once
// Pod and conmon cgroups, CRI-O's `cgroup_manager` (internal/config/cgmgr).
//
// Naming (cgroupfs, as in CRI-O): the kubelet passes the pod's cgroup_parent (e.g.
// "/kubepods/besteffort/pod<uid>"); the pod cgroup is that parent itself. Inside it, a container
// goes to "<parent>/crio-<container id>" (the OCI spec's linux.cgroupsPath; runc creates it), the
// spoofed/infra sandbox container to "<parent>/crio-<pod id>", and conmon to
// "<parent>/crio-conmon-<container id>". An empty parent means "/crio-cpp".
//
// Hierarchies: on cgroup v1 (including the hybrid layout of this host: /sys/fs/cgroup is a tmpfs
// holding one mount per controller plus an empty cgroup2 at /sys/fs/cgroup/unified) every
// controller we manage (cpu, cpuacct, cpuset, memory, pids) has its own tree and a cgroup is one
// directory per hierarchy. On v2 (/sys/fs/cgroup is cgroup2) it is one directory, and the
// controllers must be enabled in every ancestor's cgroup.subtree_control.
//
// All file I/O goes through CgroupFs so tests run against an in-memory fake.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::cgroups {

inline constexpr char kCgroupRoot[] = "/sys/fs/cgroup";
inline constexpr char kDefaultCgroupParent[] = "/crio-cpp";
inline constexpr char kCgroupfsManagerName[] = "cgroupfs";
inline constexpr char kSystemdManagerName[] = "systemd";

// The seam for every cgroup file operation. `rel` is relative to the cgroup root (no leading
// '/'), e.g. "memory/kubepods/pod1/memory.limit_in_bytes" (v1) or "kubepods/pod1/memory.max"
// (v2). Error codes follow errno (ErrnoError): NotFound for a missing file or directory,
// AlreadyExists from MakeDir when the directory exists, FailedPrecondition from RemoveDir while
// the cgroup still has processes or children (EBUSY), InvalidArgument for a value the kernel
// rejects. Implementations must be thread-safe.
class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  virtual StatusOr<std::string> Read(const std::string& rel) = 0;
  // Writes to an existing file (cgroupfs files cannot be created).
  virtual Status Write(const std::string& rel, std::string_view value) = 0;
  virtual Status MakeDir(const std::string& rel) = 0;
  virtual Status RemoveDir(const std::string& rel) = 0;
  virtual bool Exists(const std::string& rel) = 0;
};
using CgroupFsPtr = std::unique_ptr<CgroupFs>;

// The real filesystem under `root` (normally /sys/fs/cgroup).
CgroupFsPtr MakeHostCgroupFs(std::string root = kCgroupRoot);

enum class CgroupVersion { kV1, kV2 };

struct CgroupLayout {
  CgroupVersion version = CgroupVersion::kV1;
  // v1: controller -> hierarchy directory under the root ("cpu" -> "cpu,cpuacct" when they are
  // co-mounted). Named hierarchies (name=systemd) are not controllers and are not listed.
  std::map<std::string, std::string> v1_controllers;
  // v1: every hierarchy directory under the root, including named ones and, in the hybrid
  // layout, "unified"; RemoveCgroup tries each so no directory that runc made is left behind.
  std::vector<std::string> v1_hierarchies;
};

// Parses /proc/self/mountinfo text for the cgroup mounts directly under `root`. Pure.
CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view root,
                               CgroupVersion version);

// statfs(`root`): CGROUP2_SUPER_MAGIC -> v2, TMPFS_MAGIC -> v1 (legacy or hybrid), then reads
// /proc/self/mountinfo. FailedPrecondition for anything else (no cgroups mounted).
StatusOr<CgroupLayout> DetectCgroupLayout(const std::string& root = kCgroupRoot);

// --- Naming (pure) -----------------------------------------------------------------------------

// "/" + parent without trailing or duplicate '/', or kDefaultCgroupParent when empty.
// InvalidArgument for a systemd slice ("*.slice": the kubelet uses the systemd driver but we
// were configured with cgroupfs), "." or ".." components, or characters that are not allowed.
StatusOr<std::string> NormalizeCgroupParent(std::string_view parent);
// "<normalized parent>/crio-<id>": containers and the sandbox (infra) container.
StatusOr<std::string> ContainerCgroupPath(std::string_view parent, std::string_view id);
// "<normalized parent>/crio-conmon-<id>".
StatusOr<std::string> ConmonCgroupPath(std::string_view parent, std::string_view id);

// --- Resources ---------------------------------------------------------------------------------

// CRI LinuxContainerResources subset for UpdatePodSandboxResources. The caller maps CRI's
// "0 = unset" convention to nullopt.
struct PodResources {
  std::optional<uint64_t> cpu_shares;   // v1 cpu.shares; v2 cpu.weight via CpuSharesToWeight
  std::optional<int64_t> cpu_quota_us;  // <= 0 or -1 = unlimited
  std::optional<uint64_t> cpu_period_us;
  std::optional<int64_t> memory_limit_bytes;  // <= 0 = unlimited
  std::optional<std::string> cpuset_cpus;
  std::optional<std::string> cpuset_mems;
};

// Kubernetes' cpu.shares -> cpu.weight conversion, shares clamped to [2, 262144]:
// weight = 1 + ((shares - 2) * 9999) / 262142, so 2 -> 1, 1024 -> 39, 262144 -> 10000.
uint64_t CpuSharesToWeight(uint64_t shares);

// Pressure stall information of one resource (v2 cpu.pressure, memory.pressure, io.pressure).
struct PsiLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;
  uint64_t total_us = 0;  // the kernel counts stalled time in microseconds
};
struct Psi {
  std::optional<PsiLine> some, full;
};
// Parses a pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull ..."). Pure.
Psi ParsePressure(std::string_view text);

struct CgroupStats {
  std::optional<uint64_t> memory_usage_bytes;        // v1 memory.usage_in_bytes, v2 memory.current
  std::optional<uint64_t> memory_working_set_bytes;  // usage minus inactive file pages
  std::optional<uint64_t> memory_rss_bytes;          // v1 total_rss, v2 anon
  std::optional<uint64_t> memory_page_faults;        // v1 total_pgfault, v2 pgfault
  std::optional<uint64_t> memory_major_page_faults;  // v1 total_pgmajfault, v2 pgmajfault
  // The memory limit; nullopt when unlimited (v1's PAGE_COUNTER_MAX, v2's "max").
  std::optional<uint64_t> memory_limit_bytes;
  std::optional<uint64_t> swap_usage_bytes;  // v1 memsw minus memory usage, v2 memory.swap.current
  std::optional<uint64_t> swap_limit_bytes;  // v2 memory.swap.max; nullopt when unlimited
  std::optional<uint64_t> oom_kills;         // v1 memory.oom_control, v2 memory.events oom_kill
  std::optional<uint64_t> cpu_usage_ns;      // v1 cpuacct.usage, v2 cpu.stat usage_usec
  std::optional<uint64_t> pids_current;      // pids.current
  // v2 only (v1 has no pressure files).
  std::optional<Psi> cpu_pressure, memory_pressure, io_pressure;
};

// Which counters ReadStats reads: a caller asks only for what its answer carries (the CRI's
// ContainerStats has no process count or OOM kills), which saves whole files per cgroup.
enum StatsParts : unsigned {
  kCpuStats = 1u << 0,       // cpu_usage_ns (+ cpu_pressure)
  kMemoryStats = 1u << 1,    // memory_*, swap_* (+ memory_pressure, io_pressure)
  kPidsStats = 1u << 2,      // pids_current
  kOomStats = 1u << 3,       // oom_kills
  kPressureStats = 1u << 4,  // the PSI of the parts above (v2)
  kAllStats = kCpuStats | kMemoryStats | kPidsStats | kOomStats | kPressureStats,
};

// --- Managers ----------------------------------------------------------------------------------

// Thread-safe. Paths are absolute cgroup paths ("/kubepods/pod1/crio-abc").
class CgroupManager {
 public:
  virtual ~CgroupManager() = default;

  virtual std::string_view Name() const = 0;

  // --- Naming. The defaults are cgroupfs's (see the top of this file).
  // The pod's cgroup, as an absolute path: the kubelet's cgroup_parent.
  virtual StatusOr<std::string> PodCgroupPath(std::string_view cgroup_parent) const {
    return NormalizeCgroupParent(cgroup_parent);
  }
  // Where container (or infra container) `id` of the pod lives, as an absolute path.
  virtual StatusOr<std::string> ContainerCgroupPath(std::string_view cgroup_parent,
                                                    std::string_view id) const {
    return cgroups::ContainerCgroupPath(cgroup_parent, id);
  }
  // The OCI spec's linux.cgroupsPath for that container: the same path for cgroupfs.
  virtual StatusOr<std::string> OciCgroupsPath(std::string_view cgroup_parent,
                                               std::string_view id) const {
    return cgroups::ContainerCgroupPath(cgroup_parent, id);
  }

  // Puts the monitor (conmon) of container `id` where the handler's `monitor_cgroup` says, before
  // it starts the container. The default leaves it in the daemon's cgroup: cgroupfs does not
  // move conmon yet.
  virtual Status PlaceMonitor(pid_t /*pid*/, std::string_view /*cgroup_parent*/,
                              std::string_view /*id*/, std::string_view /*monitor_cgroup*/) {
    return absl::OkStatus();
  }

  // Makes sure the pod cgroup (the normalized `cgroup_parent`, with any missing ancestors) and
  // the sandbox cgroup "<parent>/crio-<pod_id>" exist in every managed hierarchy, initialising
  // cpuset.cpus/mems of new v1 cpuset directories from their parent (a v1 cpuset cgroup with
  // empty sets rejects tasks). Idempotent. Returns the sandbox cgroup path, which is also the
  // infra container's linux.cgroupsPath. Errors: InvalidArgument from NormalizeCgroupParent or a
  // bad pod id; CgroupFs errors annotated with the directory.
  virtual StatusOr<std::string> CreatePodCgroup(std::string_view cgroup_parent,
                                                std::string_view pod_id) = 0;

  // Writes the set fields of `resources` to cgroup `path` (v1: cpu.shares, cpu.cfs_period_us,
  // cpu.cfs_quota_us, memory.limit_in_bytes, cpuset.*; v2: cpu.weight, cpu.max, memory.max,
  // cpuset.*). NotFound if the cgroup is missing; InvalidArgument if the kernel rejects a value.
  virtual Status ApplyPodResources(const std::string& path, const PodResources& resources) = 0;

  // Removes cgroup `path` (one rmdir per hierarchy; not recursive). While the kernel answers
  // EBUSY because processes are still exiting, retries until `busy_timeout` has passed, then
  // returns FailedPrecondition. Idempotent: already-removed directories are fine. A cgroup
  // directly under the default parent takes the parent with it once no other pod uses it.
  virtual Status RemoveCgroup(const std::string& path) = 0;

  // Creates cgroup `path` like CreatePodCgroup does its directories and moves process `pid`
  // into it (cgroup.procs in every managed hierarchy), e.g. conmon into
  // ConmonCgroupPath(parent, id). NotFound if the process is gone.
  virtual Status MoveProcess(pid_t pid, const std::string& path) = 0;

  // Reads usage counters of `path`; a counter whose file is missing stays nullopt. NotFound if
  // the cgroup itself is missing.
  virtual StatusOr<CgroupStats> ReadStats(const std::string& path, unsigned parts = kAllStats) = 0;
};
using CgroupManagerPtr = std::unique_ptr<CgroupManager>;

class CgroupfsManager : public CgroupManager {
 public:
  // Controllers a pod cgroup is created in on v1 (those present in the layout).
  static const std::vector<std::string>& ManagedV1Controllers();

  // Detects the layout of the real /sys/fs/cgroup.
  static StatusOr<std::unique_ptr<CgroupfsManager>> Create();

  CgroupfsManager(CgroupFsPtr fs, CgroupLayout layout,
                  std::chrono::milliseconds busy_timeout = std::chrono::seconds(2));

  const CgroupLayout& layout() const { return layout_; }

  // mkdir -p of absolute cgroup `path` in every managed hierarchy (see CreatePodCgroup), with no
  // naming rules applied: the systemd manager makes the pod's sandbox cgroup under a slice.
  Status CreateCgroup(const std::string& path);

  // CgroupManager
  std::string_view Name() const override { return kCgroupfsManagerName; }
  StatusOr<std::string> CreatePodCgroup(std::string_view cgroup_parent,
                                        std::string_view pod_id) override;
  Status ApplyPodResources(const std::string& path, const PodResources& resources) override;
  Status RemoveCgroup(const std::string& path) override;
  Status MoveProcess(pid_t pid, const std::string& path) override;
  StatusOr<CgroupStats> ReadStats(const std::string& path, unsigned parts = kAllStats) override;

 private:
  // Hierarchy directories (relative to the root) a new cgroup is created in; {""} on v2.
  std::vector<std::string> CreationHierarchies() const;
  // Relative file path of `file` of cgroup `path` in the hierarchy of `controller`.
  std::string FilePath(std::string_view controller, const std::string& path,
                       std::string_view file) const;
  // mkdir -p of `path` in `hierarchy`, with cpuset init (v1) or subtree_control (v2).
  Status EnsureCgroup(const std::string& hierarchy, const std::string& path);
  // One pass of EnsureCgroup; NotFound when an ancestor vanished under it.
  Status MakeCgroupDirs(const std::string& hierarchy, const std::string& path);
  void RemoveDefaultParentIfUnused(const std::vector<std::string>& hierarchies);
  Status InitV1Cpuset(const std::string& rel_dir, const std::string& rel_parent);
  Status EnableV2Controllers(const std::string& rel_parent);
  Status ApplyV1(const std::string& path, const PodResources& r);
  Status ApplyV2(const std::string& path, const PodResources& r);
  Status RemoveDirWaiting(const std::string& rel, std::chrono::steady_clock::time_point deadline);

  CgroupFsPtr fs_;
  CgroupLayout layout_;
  std::chrono::milliseconds busy_timeout_;
};

// Name of PID 1 from <proc_root>/1/comm, e.g. "systemd". NotFound/PermissionDenied from open.
StatusOr<std::string> InitProcessName(const std::string& proc_root = "/proc");

enum class CgroupManagerKind { kCgroupfs, kSystemd };
struct CgroupManagerChoice {
  CgroupManagerKind kind = CgroupManagerKind::kCgroupfs;
  std::string warning;  // non-empty when the configured manager was replaced
};

// Decides which manager to use for the configured `cgroup_manager` ("cgroupfs", "systemd"):
// "systemd" while PID 1 (`pid1_name`) is not systemd falls back to cgroupfs with a warning for
// the daemon to log. InvalidArgument for any other name. Pure.
StatusOr<CgroupManagerChoice> ChooseCgroupManager(std::string_view configured,
                                                  std::string_view pid1_name);

struct ResolvedCgroupManager {
  CgroupManagerPtr manager;
  std::string warning;
};

// ResolveCgroupManager, which builds either manager, is in systemd_manager.h.

}  // namespace crio::cgroups
