#include "container/spec_builder.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "container/image_user.h"
#include "container/seccomp_default.h"
#include "os/file.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

constexpr char kOciVersion[] = "1.1.0";
constexpr char kDefaultPathEnv[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// CRI-O refuses memory limits below this (cgmgr.VerifyMemoryIsEnough): the runtime and the
// container's first process would not fit.
constexpr int64_t kMinMemoryLimit = 12 * 1024 * 1024;
// CRI-O's infra container: nearly never OOM-killed, and a minimal CPU weight.
constexpr int kInfraOomScoreAdj = -998;
constexpr uint64_t kInfraCpuShares = 2;

constexpr char kAnnotationContainerId[] = "io.kubernetes.cri-o.ContainerID";
constexpr char kAnnotationSandboxId[] = "io.kubernetes.cri-o.SandboxID";
constexpr char kAnnotationContainerType[] = "io.kubernetes.cri-o.ContainerType";

// Paths hidden from non-privileged containers: containers/common's defaults plus the two CRI-O
// adds (/proc/asound, /proc/interrupts). The kubelet's lists are merged in, never replace these.
const std::vector<std::string>& DefaultMaskedPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/acpi",        "/proc/asound",   "/proc/interrupts",
      "/proc/kcore",       "/proc/keys",     "/proc/latency_stats",
      "/proc/sched_debug", "/proc/scsi",     "/proc/timer_list",
      "/proc/timer_stats", "/sys/dev/block", "/sys/devices/virtual/powercap",
      "/sys/firmware",     "/sys/fs/selinux"};
  return kPaths;
}

const std::vector<std::string>& DefaultReadonlyPaths() {
  static const std::vector<std::string> kPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                  "/proc/sysrq-trigger"};
  return kPaths;
}

// Capability names by number (linux/capability.h), CAP_CHOWN = 0 .. CAP_CHECKPOINT_RESTORE = 40.
// clang-format off
constexpr const char* kCapNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH",  "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",            "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",         "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",       "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",         "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",   "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",           "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",      "CAP_PERFMON",          "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};
// clang-format on
constexpr int kKnownCaps = sizeof(kCapNames) / sizeof(kCapNames[0]);
constexpr int kCapSysAdmin = 21;

// ---------------------------------------------------------------------------------------------
// Small helpers

const HostInfo& HostFor(const HostInfo* given, bool cgroup_v2) {
  if (given != nullptr) {
    return *given;
  }
  static const HostInfo kV1 = ProbeHost(false);
  static const HostInfo kV2 = ProbeHost(true);
  return cgroup_v2 ? kV2 : kV1;
}

std::string ReadTrimmed(const std::string& path) {
  auto text = os::ReadSmallFile(path, 4096);
  if (!text.ok()) {
    return "";
  }
  std::string out = *text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Lexically cleaned absolute path ("/a/b/../c/" -> "/a/c"), as Go's filepath.Clean.
std::string CleanPath(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

int PathDepth(const std::string& path) {
  return static_cast<int>(std::count(path.begin(), path.end(), '/'));
}

json Mount(std::string destination, std::string type, std::string source,
           std::vector<std::string> options) {
  return {{"destination", std::move(destination)},
          {"type", std::move(type)},
          {"source", std::move(source)},
          {"options", std::move(options)}};
}

// Replace-by-key environment list, in first-set order (runtime-tools AddProcessEnv semantics).
class EnvList {
 public:
  void Set(const std::string& entry) {
    const std::string key = entry.substr(0, entry.find('='));
    for (std::string& e : entries_) {
      if (e.substr(0, e.find('=')) == key) {
        e = entry.find('=') == std::string::npos ? key + "=" : entry;
        return;
      }
    }
    entries_.push_back(entry.find('=') == std::string::npos ? key + "=" : entry);
  }
  void Set(const std::string& key, const std::string& value) { Set(key + "=" + value); }
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::vector<std::string> entries_;
};

// ---------------------------------------------------------------------------------------------
// Process

// The kubelet/Docker merge rule (CRI-O SpecSetProcessArgs): the CRI command replaces the image
// Entrypoint and drops its Cmd; CRI args replace the image Cmd.
StatusOr<std::vector<std::string>> ProcessArgs(const v1::ContainerConfig& config,
                                               const image::ImageConfig* image) {
  std::vector<std::string> command(config.command().begin(), config.command().end());
  std::vector<std::string> args(config.args().begin(), config.args().end());
  if (command.empty() && image != nullptr) {
    if (args.empty()) {
      args = image->config.cmd;
    }
    command = image->config.entrypoint;
  }
  std::vector<std::string> out = command;
  out.insert(out.end(), args.begin(), args.end());
  if (out.empty()) {
    return InvalidArgument(
        "container has no command: set command or args, or use an image "
        "with an Entrypoint or Cmd");
  }
  return out;
}

StatusOr<json> Rlimits(const std::vector<std::string>& ulimits) {
  static const std::set<std::string> kNames = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  std::map<std::string, json> by_type;
  std::vector<std::string> order;
  for (const std::string& u : ulimits) {
    const size_t eq = u.find('=');
    const std::string name = absl::AsciiStrToLower(u.substr(0, eq));
    if (eq == std::string::npos || kNames.count(name) == 0) {
      return InvalidArgument(absl::StrCat("invalid ulimit \"", u, "\": want name=soft:hard"));
    }
    std::vector<std::string> parts = absl::StrSplit(u.substr(eq + 1), ':');
    if (parts.size() > 2) {
      return InvalidArgument(absl::StrCat("invalid ulimit \"", u, "\": want name=soft:hard"));
    }
    uint64_t values[2] = {0, 0};
    for (size_t i = 0; i < 2; ++i) {
      const std::string& text = parts[std::min(i, parts.size() - 1)];
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size() || v < -1) {
        return InvalidArgument(
            absl::StrCat("invalid ulimit \"", u, "\": bad value \"", text, "\""));
      }
      values[i] = v == -1 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(v);
    }
    if (values[0] > values[1]) {
      return InvalidArgument(absl::StrCat("invalid ulimit \"", u, "\": soft exceeds hard"));
    }
    const std::string type = "RLIMIT_" + absl::AsciiStrToUpper(name);
    if (by_type.count(type) == 0) {
      order.push_back(type);
    }
    by_type[type] = {{"type", type}, {"soft", values[0]}, {"hard", values[1]}};
  }
  json out = json::array();
  for (const std::string& t : order) {
    out.push_back(by_type[t]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Capabilities

std::string CapName(const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  return absl::StartsWith(upper, "CAP_") ? upper : "CAP_" + upper;
}

StatusOr<int> CapIndex(const std::string& name, const HostInfo& host, std::string_view what) {
  const std::string full = CapName(name);
  const int last = std::min(host.cap_last_cap, kKnownCaps - 1);
  for (int i = 0; i <= last; ++i) {
    if (full == kCapNames[i]) {
      return i;
    }
  }
  return InvalidArgument(absl::StrCat("unknown capability \"", full, "\" to ", std::string(what)));
}

std::vector<std::string> CapList(const std::set<int>& caps) {
  std::vector<std::string> out;
  for (int c : caps) {
    out.emplace_back(kCapNames[c]);
  }
  return out;
}

bool InBoundingSet(int cap, const HostInfo& host) {
  return cap < 64 && (host.bounding_caps & (uint64_t{1} << cap)) != 0;
}

// Every capability the kernel knows and the daemon can pass on.
std::set<int> AllCaps(const HostInfo& host) {
  std::set<int> out;
  for (int i = 0; i <= std::min(host.cap_last_cap, kKnownCaps - 1); ++i) {
    if (InBoundingSet(i, host)) {
      out.insert(i);
    }
  }
  return out;
}

// CRI-O SpecSetupCapabilities: "ALL" in add starts from every capability and "ALL" in drop from
// none (drop wins over add, but explicitly added capabilities survive both); without either the
// configured defaults are the start. Then individual adds, then individual drops.
StatusOr<std::set<int>> ContainerCaps(const v1::Capability& caps,
                                      const std::vector<std::string>& defaults,
                                      const HostInfo& host) {
  auto is_all = [](const std::string& c) { return absl::EqualsIgnoreCase(c, "ALL"); };
  const bool add_all =
      std::any_of(caps.add_capabilities().begin(), caps.add_capabilities().end(), is_all);
  const bool drop_all =
      std::any_of(caps.drop_capabilities().begin(), caps.drop_capabilities().end(), is_all);
  std::set<int> out;
  if (add_all && !drop_all) {
    out = AllCaps(host);
  }
  std::vector<std::string> adds(caps.add_capabilities().begin(), caps.add_capabilities().end());
  if (!add_all && !drop_all) {
    adds.insert(adds.end(), defaults.begin(), defaults.end());
  }
  for (const std::string& c : adds) {
    if (!is_all(c)) {
      ASSIGN_OR_RETURN(int index, CapIndex(c, host, "add"));
      if (!InBoundingSet(index, host)) {
        return InvalidArgument(absl::StrCat("capability ", kCapNames[index],
                                            " cannot be added: the runtime does not have it "
                                            "(not in crio's bounding set)"));
      }
      out.insert(index);
    }
  }
  for (const std::string& c : caps.drop_capabilities()) {
    if (!is_all(c)) {
      ASSIGN_OR_RETURN(int index, CapIndex(c, host, "drop"));
      out.erase(index);
    }
  }
  return out;
}

json CapabilitiesJson(const std::set<int>& caps, bool inheritable) {
  const std::vector<std::string> list = CapList(caps);
  return {{"bounding", list},
          {"effective", list},
          {"permitted", list},
          {"inheritable", inheritable ? list : std::vector<std::string>{}},
          {"ambient", json::array()}};
}

// ---------------------------------------------------------------------------------------------
// Namespaces

struct NamespacePlan {
  std::string pid;       // path when joining
  bool pid_new = false;  // new private namespace
  bool host_net = false;
  bool host_ipc = false;
  bool host_uts = false;
};

json NamespacesJson(const PodResources& pod, const NamespacePlan& plan, bool cgroupns) {
  json out = json::array();
  auto add = [&out](const char* type, const std::string& path) {
    json ns = {{"type", type}};
    if (!path.empty()) {
      ns["path"] = path;
    }
    out.push_back(std::move(ns));
  };
  if (!plan.pid.empty() || plan.pid_new) {
    add("pid", plan.pid);
  }
  if (!plan.host_net) {
    add("network", pod.netns_path);
  }
  if (!plan.host_ipc) {
    add("ipc", pod.ipcns_path);
  }
  if (!plan.host_uts) {
    add("uts", pod.utsns_path);
  }
  add("mount", "");
  if (cgroupns) {
    add("cgroup", "");
  }
  return out;
}

bool UsernsRequested(const v1::NamespaceOption& ns) {
  return ns.has_userns_options() && ns.userns_options().mode() == v1::POD;
}

// ---------------------------------------------------------------------------------------------
// Sysctls

enum class SysctlKind { kNet, kIpc, kOther };

SysctlKind ClassifySysctl(std::string name) {
  std::replace(name.begin(), name.end(), '/', '.');
  if (absl::StartsWith(name, "net.")) return SysctlKind::kNet;
  if (absl::StartsWith(name, "kernel.shm") || absl::StartsWith(name, "kernel.msg") ||
      name == "kernel.sem" || absl::StartsWith(name, "fs.mqueue.")) {
    return SysctlKind::kIpc;
  }
  return SysctlKind::kOther;
}

Status ValidateSysctl(const std::string& name, bool host_net, bool host_ipc) {
  switch (ClassifySysctl(name)) {
    case SysctlKind::kNet:
      if (host_net) {
        return InvalidArgument(
            absl::StrCat("sysctl \"", name, "\" is not allowed with the host network namespace"));
      }
      return absl::OkStatus();
    case SysctlKind::kIpc:
      if (host_ipc) {
        return InvalidArgument(
            absl::StrCat("sysctl \"", name, "\" is not allowed with the host IPC namespace"));
      }
      return absl::OkStatus();
    case SysctlKind::kOther:
      break;
  }
  return InvalidArgument(
      absl::StrCat("sysctl \"", name, "\" is not namespaced and would change the host"));
}

StatusOr<json> Sysctls(const v1::PodSandboxConfig& sandbox, const config::RuntimeConfig& rc,
                       bool host_net, bool host_ipc) {
  ASSIGN_OR_RETURN(auto merged, PodSysctls(sandbox, rc, host_net, host_ipc));
  json result = json::object();
  for (const auto& [k, v] : merged) {
    result[k] = v;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Resources

}  // namespace

nlohmann::json CpuResourcesJson(const runtime::v1::LinuxContainerResources& r) {
  json cpu = json::object();
  if (r.cpu_shares() > 0) cpu["shares"] = static_cast<uint64_t>(r.cpu_shares());
  if (r.cpu_quota() != 0) cpu["quota"] = r.cpu_quota();
  if (r.cpu_period() > 0) cpu["period"] = static_cast<uint64_t>(r.cpu_period());
  if (!r.cpuset_cpus().empty()) cpu["cpus"] = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) cpu["mems"] = r.cpuset_mems();
  return cpu;
}

namespace {

StatusOr<json> ResourcesJson(const v1::LinuxContainerResources& r, bool cgroup_v2,
                             const HostInfo& host) {
  json out = json::object();
  json cpu = CpuResourcesJson(r);
  if (!cpu.empty()) out["cpu"] = std::move(cpu);

  if (r.memory_limit_in_bytes() != 0) {
    const int64_t limit = r.memory_limit_in_bytes();
    if (limit < kMinMemoryLimit) {
      return InvalidArgument(absl::StrCat(
          "memory limit ", limit, " is too low; it must be at least ", kMinMemoryLimit, " bytes"));
    }
    json memory = {{"limit", limit}};
    int64_t swap = limit;  // no swap unless the kubelet grants some
    if (r.memory_swap_limit_in_bytes() != 0) {
      if (r.memory_swap_limit_in_bytes() > 0 && r.memory_swap_limit_in_bytes() < limit) {
        return InvalidArgument(absl::StrCat("memory swap limit ", r.memory_swap_limit_in_bytes(),
                                            " cannot be lower than memory limit ", limit));
      }
      swap = r.memory_swap_limit_in_bytes();
    }
    // Setting swap where the kernel does not account it makes the runtime fail.
    if (host.memory_swap) {
      memory["swap"] = swap;
    }
    out["memory"] = std::move(memory);
  }

  if (!host.hugetlb && r.hugepage_limits_size() > 0) {
    // As CRI-O: the limits cannot be set where the controller is missing; the pages are still
    // bounded by what the host reserved.
    CRIO_LOG_WARN("hugetlb cgroup controller not available: {} hugepage limit(s) not applied",
                  r.hugepage_limits_size());
  }
  if (host.hugetlb && r.hugepage_limits_size() > 0) {
    json limits = json::array();
    for (const v1::HugepageLimit& h : r.hugepage_limits()) {
      limits.push_back({{"pageSize", h.page_size()}, {"limit", h.limit()}});
    }
    out["hugepageLimits"] = std::move(limits);
  }

  if (r.unified_size() > 0) {
    if (!cgroup_v2) {
      return InvalidArgument("unified cgroup resources need cgroup v2, but the host uses v1");
    }
    json unified = json::object();
    for (const auto& [k, v] : r.unified()) {
      unified[k] = v;
    }
    out["unified"] = std::move(unified);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Devices

struct HostDevice {
  std::string type;  // "c" or "b"
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

std::optional<HostDevice> DeviceFromStat(const struct stat& st) {
  HostDevice d;
  if (S_ISCHR(st.st_mode)) {
    d.type = "c";
  } else if (S_ISBLK(st.st_mode)) {
    d.type = "b";
  } else {
    return std::nullopt;
  }
  d.major = major(st.st_rdev);
  d.minor = minor(st.st_rdev);
  d.mode = st.st_mode & 07777;
  d.uid = st.st_uid;
  d.gid = st.st_gid;
  return d;
}

json DeviceJson(const std::string& path, const HostDevice& d) {
  return {{"path", path},       {"type", d.type}, {"major", d.major}, {"minor", d.minor},
          {"fileMode", d.mode}, {"uid", d.uid},   {"gid", d.gid}};
}

json DeviceRule(const HostDevice& d, const std::string& access) {
  return {{"allow", true},
          {"type", d.type},
          {"major", d.major},
          {"minor", d.minor},
          {"access", access}};
}

// The device cgroup: deny everything, then allow what every container needs. The runtime
// creates these nodes itself (runtime-spec "Default Devices"); listing the rules here keeps the
// spec complete instead of relying on each runtime's built-in allowlist.
json DefaultDeviceRules() {
  auto allow = [](const char* type, std::optional<int64_t> maj, std::optional<int64_t> min,
                  const char* access) {
    json r = {{"allow", true}, {"type", type}, {"access", access}};
    if (maj) r["major"] = *maj;
    if (min) r["minor"] = *min;
    return r;
  };
  return json::array({
      {{"allow", false}, {"access", "rwm"}},
      allow("c", std::nullopt, std::nullopt, "m"),  // mknod is still gated by CAP_MKNOD
      allow("b", std::nullopt, std::nullopt, "m"),
      allow("c", 1, 3, "rwm"),               // /dev/null
      allow("c", 1, 5, "rwm"),               // /dev/zero
      allow("c", 1, 7, "rwm"),               // /dev/full
      allow("c", 1, 8, "rwm"),               // /dev/random
      allow("c", 1, 9, "rwm"),               // /dev/urandom
      allow("c", 5, 0, "rwm"),               // /dev/tty
      allow("c", 5, 1, "rwm"),               // /dev/console
      allow("c", 5, 2, "rwm"),               // /dev/ptmx
      allow("c", 136, std::nullopt, "rwm"),  // /dev/pts/*
  });
}

// Recursively lists device nodes under `dir` (lstat: symlinks are not devices), mapping
// `dir` to `container_dir`. Skips what runc's HostDevices skips.
void WalkDevices(const std::string& dir, const std::string& container_dir,
                 std::vector<std::pair<std::string, HostDevice>>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") {
      names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  static const std::set<std::string> kSkipDirs = {"pts", ".lxc", ".lxd-mounts", ".udev",
                                                  "shm", "fd",   "mqueue"};
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (kSkipDirs.count(name) == 0) {
        WalkDevices(path, container_dir + "/" + name, out);
      }
      continue;
    }
    if (name == "console") {
      continue;  // the runtime sets up the console itself
    }
    std::optional<HostDevice> dev = DeviceFromStat(st);
    if (dev && !(dev->major == 0 && dev->minor == 0)) {
      out.emplace_back(container_dir + "/" + name, *dev);
    }
  }
}

Status ValidatePermissions(const std::string& perms) {
  if (perms.find_first_not_of("rwm") != std::string::npos) {
    return InvalidArgument(
        absl::StrCat("invalid device permissions \"", perms, "\": use any of r, w, m"));
  }
  return absl::OkStatus();
}

// Fills linux.devices and linux.resources.devices.
Status AddDevices(const v1::ContainerConfig& config, bool privileged, const HostInfo& host,
                  json& devices, json& rules) {
  devices = json::array();
  if (privileged) {
    std::vector<std::pair<std::string, HostDevice>> found;
    WalkDevices(host.dev_dir, "/dev", found);
    for (const auto& [path, dev] : found) {
      devices.push_back(DeviceJson(path, dev));
    }
    rules = json::array({{{"allow", true}, {"access", "rwm"}}});
  } else {
    rules = DefaultDeviceRules();
  }
  for (const v1::Device& d : config.devices()) {
    if (d.host_path().empty() || d.container_path().empty()) {
      return InvalidArgument("device needs host_path and container_path");
    }
    const std::string perms = d.permissions().empty() ? "rwm" : d.permissions();
    RETURN_IF_ERROR(ValidatePermissions(perms));
    struct stat st;
    if (::stat(d.host_path().c_str(), &st) != 0) {
      return InvalidArgument(
          absl::StrCat("device \"", d.host_path(), "\": ", std::strerror(errno)));
    }
    if (S_ISDIR(st.st_mode)) {
      std::vector<std::pair<std::string, HostDevice>> found;
      WalkDevices(d.host_path(), d.container_path(), found);
      for (const auto& [path, dev] : found) {
        devices.push_back(DeviceJson(path, dev));
        if (!privileged) rules.push_back(DeviceRule(dev, perms));
      }
      continue;
    }
    std::optional<HostDevice> dev = DeviceFromStat(st);
    if (!dev) {
      return InvalidArgument(absl::StrCat("\"", d.host_path(), "\" is not a device node"));
    }
    devices.push_back(DeviceJson(d.container_path(), *dev));
    if (!privileged) rules.push_back(DeviceRule(*dev, perms));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Seccomp and AppArmor

StatusOr<json> LoadSeccompFile(const std::string& path, const std::vector<std::string>& caps,
                               const HostInfo& host, bool from_request) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument(absl::StrCat("seccomp profile path \"", path, "\" is not absolute"));
  }
  auto text = os::ReadSmallFile(path);
  if (!text.ok()) {
    if (from_request) {
      return InvalidArgument(
          absl::StrCat("seccomp profile \"", path, "\" cannot be read: ", Message(text.status())));
    }
    return Annotate(text.status(), "seccomp profile");
  }
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return InvalidArgument(absl::StrCat("seccomp profile \"", path, "\" is not valid JSON"));
  }
  auto oci = SeccompProfileToOci(doc, caps, {host.machine, host.kernel_release});
  if (!oci.ok()) {
    return InvalidArgument(absl::StrCat("\"", path, "\": ", Message(oci.status())));
  }
  return *oci;
}

enum class ProfileKind { kRuntimeDefault, kUnconfined, kLocalhost };

struct ProfileChoice {
  ProfileKind kind = ProfileKind::kRuntimeDefault;
  std::string localhost;  // path (seccomp) or profile name (AppArmor)
};

// The deprecated string fields: "runtime/default", "docker/default", "unconfined",
// "localhost/<ref>"; "" means RuntimeDefault.
StatusOr<ProfileChoice> LegacyProfile(const std::string& value, const char* what) {
  if (value.empty() || value == "runtime/default" || value == "docker/default") {
    return ProfileChoice{};
  }
  if (value == "unconfined") {
    return ProfileChoice{ProfileKind::kUnconfined, ""};
  }
  if (absl::StartsWith(value, "localhost/")) {
    return ProfileChoice{ProfileKind::kLocalhost, value.substr(strlen("localhost/"))};
  }
  return InvalidArgument(absl::StrCat("unknown ", what, " profile \"", value, "\""));
}

ProfileChoice FromSecurityProfile(const v1::SecurityProfile& p) {
  switch (p.profile_type()) {
    case v1::SecurityProfile::Unconfined:
      return {ProfileKind::kUnconfined, ""};
    case v1::SecurityProfile::Localhost:
      return {ProfileKind::kLocalhost, p.localhost_ref()};
    default:
      return {};
  }
}

// Old kubelets still send the deprecated string fields; read them in one place.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::string LegacySeccompProfile(const v1::LinuxContainerSecurityContext& sc) {
  return sc.seccomp_profile_path();
}
std::string LegacySeccompProfile(const v1::LinuxSandboxSecurityContext& sc) {
  return sc.seccomp_profile_path();
}
std::string LegacyAppArmorProfile(const v1::LinuxContainerSecurityContext& sc) {
  return sc.apparmor_profile();
}
#pragma GCC diagnostic pop

// linux.seccomp, or null for none. Mirrors CRI-O's setupSeccomp: privileged containers are
// unconfined unless privileged_seccomp_profile is set; an absent profile is RuntimeDefault
// unless seccomp_use_default_when_empty is false, then unconfined.
StatusOr<json> SeccompFor(bool has_profile, const v1::SecurityProfile& profile,
                          const std::string& legacy, bool privileged,
                          const config::RuntimeConfig& rc, const std::vector<std::string>& caps,
                          const HostInfo& host) {
  if (privileged) {
    if (rc.privileged_seccomp_profile.empty()) {
      return json();
    }
    return LoadSeccompFile(rc.privileged_seccomp_profile, caps, host, false);
  }
  if (!has_profile && legacy.empty() && !rc.seccomp_use_default_when_empty) {
    return json();  // nothing asked for: unconfined, as the CRI says
  }
  ProfileChoice choice;
  if (has_profile) {
    choice = FromSecurityProfile(profile);
  } else {
    ASSIGN_OR_RETURN(choice, LegacyProfile(legacy, "seccomp"));
  }
  switch (choice.kind) {
    case ProfileKind::kUnconfined:
      return json();
    case ProfileKind::kLocalhost:
      return LoadSeccompFile(choice.localhost, caps, host, true);
    case ProfileKind::kRuntimeDefault:
      break;
  }
  if (!rc.seccomp_profile.empty()) {
    return LoadSeccompFile(rc.seccomp_profile, caps, host, false);
  }
  return DefaultSeccompProfile(caps, {host.machine, host.kernel_release});
}

// process.apparmorProfile, "" for none (AppArmor off or privileged, as in CRI-O).
StatusOr<std::string> AppArmorFor(bool has_profile, const v1::SecurityProfile& profile,
                                  const std::string& legacy, bool privileged,
                                  const config::RuntimeConfig& rc, const HostInfo& host) {
  if (!host.apparmor_enabled || privileged) {
    return std::string();
  }
  ProfileChoice choice;
  if (has_profile) {
    choice = FromSecurityProfile(profile);
  } else {
    ASSIGN_OR_RETURN(choice, LegacyProfile(legacy, "apparmor"));
  }
  switch (choice.kind) {
    case ProfileKind::kUnconfined:
      return std::string("unconfined");
    case ProfileKind::kLocalhost: {
      std::string name = choice.localhost;
      if (absl::StartsWith(name, "localhost/")) {
        name = name.substr(strlen("localhost/"));
      }
      if (name.empty()) {
        return InvalidArgument("apparmor Localhost profile needs a name");
      }
      return name;
    }
    case ProfileKind::kRuntimeDefault:
      break;
  }
  return rc.apparmor_profile;
}

// ---------------------------------------------------------------------------------------------
// Mounts

// The mounts every container gets, in CRI-O's order, minus those a CRI mount overrides.
class MountList {
 public:
  explicit MountList(std::set<std::string> cri_destinations) : cri_(std::move(cri_destinations)) {}

  bool Overridden(const std::string& destination) const {
    if (cri_.count(destination) > 0) return true;
    if (cri_.count("/dev") > 0 && absl::StartsWith(destination, "/dev/")) return true;
    if (cri_.count("/sys") > 0 && absl::StartsWith(destination, "/sys/")) return true;
    return false;
  }
  void Add(json mount) {
    if (!Overridden(mount["destination"].get<std::string>())) {
      mounts_.push_back(std::move(mount));
    }
  }
  void AddUnchecked(json mount) { mounts_.push_back(std::move(mount)); }
  json Take() { return std::move(mounts_); }

 private:
  std::set<std::string> cri_;
  json mounts_ = json::array();
};

void AddStandardMounts(MountList& mounts, bool privileged) {
  mounts.Add(Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.Add(Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.Add(Mount("/dev/pts", "devpts", "devpts",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.Add(Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (privileged) {
    // CRI-O's addSysfsMounts: writable, and slave so host changes (new devices) show up.
    mounts.Add(Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "rw", "rslave"}));
    mounts.Add(Mount("/sys/fs/cgroup", "cgroup", "cgroup",
                     {"nosuid", "noexec", "nodev", "rw", "relatime", "rslave"}));
  } else {
    mounts.Add(Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    mounts.Add(Mount("/sys/fs/cgroup", "cgroup", "cgroup",
                     {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  }
}

void AddShmMount(MountList& mounts, const PodResources& pod, bool host_ipc) {
  if (!pod.shm_path.empty()) {
    mounts.Add(Mount("/dev/shm", "bind", pod.shm_path, {"rw", "bind"}));
  } else if (host_ipc) {
    mounts.Add(Mount("/dev/shm", "bind", "/dev/shm", {"rw", "bind"}));
  } else {
    mounts.Add(Mount("/dev/shm", "tmpfs", "shm",
                     {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  }
}

// /etc/hostname, /etc/resolv.conf and /etc/hosts from the pod directory; read-only when the
// rootfs is (CRI-O setupContainerMounts).
void AddPodFileMounts(MountList& mounts, const PodResources& pod, bool host_net, bool readonly) {
  const std::string rw = readonly ? "ro" : "rw";
  if (!pod.hostname_file.empty()) {
    mounts.Add(Mount("/etc/hostname", "bind", pod.hostname_file, {rw, "bind"}));
  }
  if (!pod.resolv_conf_file.empty()) {
    mounts.Add(Mount("/etc/resolv.conf", "bind", pod.resolv_conf_file,
                     {rw, "bind", "nodev", "nosuid", "noexec"}));
  }
  if (!pod.hosts_file.empty()) {
    mounts.Add(Mount("/etc/hosts", "bind", pod.hosts_file, {rw, "bind"}));
  } else if (host_net) {
    mounts.Add(Mount("/etc/hosts", "bind", "/etc/hosts", {rw, "bind"}));
  }
}

struct CriMounts {
  std::vector<json> mounts;  // in request order; sorted by depth later
  std::string rootfs_propagation;
};

json IdMappings(const google::protobuf::RepeatedPtrField<v1::IDMapping>& m) {
  json out = json::array();
  for (const v1::IDMapping& id : m) {
    out.push_back(
        {{"containerID", id.container_id()}, {"hostID", id.host_id()}, {"size", id.length()}});
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountInfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::isdigit(static_cast<unsigned char>(field[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(field[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(field[i + 3]))) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

struct HostMount {
  std::string mount_point;
  std::string tags;  // optional fields, e.g. "shared:1 master:2"
};

// The mount holding `path` in a /proc/<pid>/mountinfo text: the longest mount point that is
// `path` or a parent of it; among equal ones the last (it covers the others).
std::optional<HostMount> MountHolding(const std::string& mountinfo, const std::string& path) {
  std::optional<HostMount> best;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 7) {
      continue;
    }
    const std::string point = UnescapeMountInfo(fields[4]);
    const bool holds = point == "/" || path == point || absl::StartsWith(path, point + "/");
    if (!holds || (best && point.size() < best->mount_point.size())) {
      continue;
    }
    HostMount m{point, ""};
    for (size_t i = 6; i < fields.size() && fields[i] != "-"; ++i) {
      absl::StrAppend(&m.tags, m.tags.empty() ? "" : " ", fields[i]);
    }
    best = std::move(m);
  }
  return best;
}

// The kubelet asks for HostToContainer/Bidirectional expecting mounts to travel; that only
// happens when the host side is a slave or shared mount, so refuse instead of silently not
// propagating (CRI-O does the same).
Status CheckPropagationSource(const std::string& source, v1::MountPropagation propagation,
                              const HostInfo& host) {
  if (propagation != v1::PROPAGATION_BIDIRECTIONAL &&
      propagation != v1::PROPAGATION_HOST_TO_CONTAINER) {
    return absl::OkStatus();
  }
  std::error_code ec;
  const std::string real = std::filesystem::canonical(source, ec).string();
  if (ec) {
    return absl::OkStatus();  // a missing source is reported when the runtime mounts it
  }
  auto table = os::ReadSmallFile(host.mountinfo_path, 64 << 20);
  if (!table.ok()) {
    return Annotate(table.status(), "read the mount table");
  }
  std::optional<HostMount> m = MountHolding(*table, real);
  if (!m) {
    return absl::OkStatus();
  }
  const bool shared = absl::StrContains(m->tags, "shared:");
  const bool slave = absl::StrContains(m->tags, "master:");
  if (propagation == v1::PROPAGATION_BIDIRECTIONAL && !shared) {
    return InvalidArgument(absl::StrCat("path \"", source, "\" is mounted on \"", m->mount_point,
                                        "\" but it is not a shared mount"));
  }
  if (!shared && !slave) {
    return InvalidArgument(absl::StrCat("path \"", source, "\" is mounted on \"", m->mount_point,
                                        "\" but it is not a shared or slave mount"));
  }
  return absl::OkStatus();
}

StatusOr<CriMounts> ConvertCriMounts(const v1::ContainerConfig& config,
                                     const config::RuntimeConfig& rc, const HostInfo& host) {
  CriMounts out;
  for (const v1::Mount& m : config.mounts()) {
    if (m.container_path().empty()) {
      return InvalidArgument("mount.container_path is empty");
    }
    if (!m.image().image().empty()) {
      return Unimplemented(absl::StrCat("image volume mounts (", m.image().image(), " at ",
                                        m.container_path(), ") are not supported yet"));
    }
    if (m.host_path().empty()) {
      return InvalidArgument(absl::StrCat("mount ", m.container_path(), ": host_path is empty"));
    }
    std::string source = rc.bind_mount_prefix.empty()
                             ? m.host_path()
                             : CleanPath(rc.bind_mount_prefix + "/" + m.host_path());
    // The kubelet creates volume sources itself; a missing one is passed through (the runtime
    // reports it) unless the operator listed it as one that must never become a directory.
    if (!PathExists(source)) {
      for (const std::string& reject : rc.absent_mount_sources_to_reject) {
        if (CleanPath(source) == reject) {
          return InvalidArgument(absl::StrCat("cannot mount ", reject,
                                              ": path does not exist and would be created as "
                                              "a directory"));
        }
      }
    }
    RETURN_IF_ERROR(CheckPropagationSource(source, m.propagation(), host));
    std::vector<std::string> options = {"rbind"};
    switch (m.propagation()) {
      case v1::PROPAGATION_BIDIRECTIONAL:
        options.push_back("rshared");
        out.rootfs_propagation = "rshared";
        break;
      case v1::PROPAGATION_HOST_TO_CONTAINER:
        options.push_back("rslave");
        if (out.rootfs_propagation != "rshared") {
          out.rootfs_propagation = "rslave";
        }
        break;
      default:
        options.push_back("rprivate");
        break;
    }
    if (m.recursive_read_only()) {
      if (!m.readonly()) {
        return InvalidArgument(absl::StrCat("mount ", m.container_path(),
                                            ": recursive read-only conflicts with read-write"));
      }
      if (m.propagation() != v1::PROPAGATION_PRIVATE) {
        return InvalidArgument(absl::StrCat("mount ", m.container_path(),
                                            ": recursive read-only needs private propagation"));
      }
      // "rro" (mount_setattr MOUNT_ATTR_RDONLY with AT_RECURSIVE) is understood by crun >= 1.4
      // and runc >= 1.1; "ro" keeps at least the top mount read-only on older runtimes.
      options.push_back("ro");
      options.push_back("rro");
    } else {
      options.push_back(m.readonly() ? "ro" : "rw");
    }
    // selinux_relabel needs SELinux labelling, which crio-cpp does not do: ignored.
    json mount = Mount(m.container_path(), "bind", source, options);
    if (m.uidmappings_size() > 0) mount["uidMappings"] = IdMappings(m.uidmappings());
    if (m.gidmappings_size() > 0) mount["gidMappings"] = IdMappings(m.gidmappings());
    out.mounts.push_back(std::move(mount));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Masked and read-only paths

std::vector<std::string> MergedPaths(const std::vector<std::string>& defaults,
                                     const google::protobuf::RepeatedPtrField<std::string>& cri) {
  std::set<std::string> all(defaults.begin(), defaults.end());
  for (const std::string& p : cri) {
    if (!p.empty()) all.insert(p);
  }
  return {all.begin(), all.end()};
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

Status CheckUserns(const v1::PodSandboxConfig& sandbox, const v1::NamespaceOption* ctr_ns) {
  if (UsernsRequested(sandbox.linux().security_context().namespace_options()) ||
      (ctr_ns != nullptr && UsernsRequested(*ctr_ns))) {
    return FailedPrecondition("user namespaces are not supported yet");
  }
  return absl::OkStatus();
}

// Without CAP_SYS_RESOURCE (bit 24 of CapEff) no process we start can go below our own score.
int ProbeMinOomScoreAdj() {
  auto status = os::ReadSmallFile("/proc/self/status", 1 << 16);
  constexpr std::string_view kCapEff = "\nCapEff:\t";
  const size_t pos = status.ok() ? status->find(kCapEff) : std::string::npos;
  if (pos == std::string::npos) {
    return -1000;
  }
  uint64_t eff = 0;
  const char* begin = status->data() + pos + kCapEff.size();
  if (std::from_chars(begin, status->data() + status->size(), eff, 16).ec != std::errc() ||
      (eff & (uint64_t{1} << 24)) != 0) {
    return -1000;
  }
  const std::string own = ReadTrimmed("/proc/self/oom_score_adj");
  int score = 0;
  if (std::from_chars(own.data(), own.data() + own.size(), score).ec != std::errc()) {
    return 0;
  }
  return score;
}

uint64_t ProbeBoundingCaps() {
  auto status = os::ReadSmallFile("/proc/self/status", 1 << 16);
  constexpr std::string_view kCapBnd = "\nCapBnd:\t";
  const size_t pos = status.ok() ? status->find(kCapBnd) : std::string::npos;
  uint64_t bounding = 0;
  if (pos == std::string::npos || std::from_chars(status->data() + pos + kCapBnd.size(),
                                                  status->data() + status->size(), bounding, 16)
                                          .ec != std::errc()) {
    return ~uint64_t{0};
  }
  return bounding;
}

int64_t OomScoreAdj(int64_t requested, const HostInfo& host) {
  if (requested < host.min_oom_score_adj) {
    CRIO_LOG_DEBUG("oom_score_adj {} raised to {}: no CAP_SYS_RESOURCE to lower it", requested,
                   host.min_oom_score_adj);
    return host.min_oom_score_adj;
  }
  return requested;
}

json BaseSpec(const std::string& rootfs, bool readonly) {
  return {{"ociVersion", kOciVersion}, {"root", {{"path", rootfs}, {"readonly", readonly}}}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

HostInfo ProbeHost(bool cgroup_v2) {
  HostInfo host;
  const std::string last = ReadTrimmed("/proc/sys/kernel/cap_last_cap");
  int value = 0;
  if (!last.empty() &&
      std::from_chars(last.data(), last.data() + last.size(), value).ec == std::errc()) {
    host.cap_last_cap = value;
  }
  host.apparmor_enabled =
      absl::StartsWith(ReadTrimmed("/sys/module/apparmor/parameters/enabled"), "Y");
  if (cgroup_v2) {
    // Look where this process lives: the root cgroup has no memory.swap.* files.
    std::string self = ReadTrimmed("/proc/self/cgroup");  // "0::/path"
    std::string rel = self.size() > 3 && absl::StartsWith(self, "0::") ? self.substr(3) : "/";
    host.memory_swap = PathExists(CleanPath("/sys/fs/cgroup/" + rel + "/memory.swap.current")) ||
                       PathExists(CleanPath("/sys/fs/cgroup/" + rel + "/memory.swap.max"));
    host.hugetlb = absl::StrContains(ReadTrimmed("/sys/fs/cgroup/cgroup.controllers"), "hugetlb");
  } else {
    host.memory_swap = PathExists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    host.hugetlb = PathExists("/sys/fs/cgroup/hugetlb");
  }
  host.min_oom_score_adj = ProbeMinOomScoreAdj();
  host.bounding_caps = ProbeBoundingCaps();
  struct utsname u;
  if (::uname(&u) == 0) {
    host.machine = u.machine;
    host.kernel_release = u.release;
  }
  return host;
}

StatusOr<std::map<std::string, std::string>> PodSysctls(const v1::PodSandboxConfig& sandbox,
                                                        const config::RuntimeConfig& rc,
                                                        bool host_network, bool host_ipc) {
  std::map<std::string, std::string> out;
  for (const std::string& kv : rc.default_sysctls) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key.empty()) {
      CRIO_LOG_WARN("skipping invalid default sysctl \"{}\": want key=value", kv);
      continue;
    }
    if (Status s = ValidateSysctl(key, host_network, host_ipc); !s.ok()) {
      CRIO_LOG_WARN("skipping default sysctl: {}", Message(s));
      continue;
    }
    out[key] = kv.substr(eq + 1);
  }
  for (const auto& [key, value] : sandbox.linux().sysctls()) {
    if (key.empty()) {
      return InvalidArgument("empty sysctl name");
    }
    RETURN_IF_ERROR(ValidateSysctl(key, host_network, host_ipc));
    out[key] = value;
  }
  return out;
}

StatusOr<nlohmann::json> BuildSpec(const SpecInputs& in) {
  if (in.config == nullptr || in.sandbox == nullptr || in.runtime == nullptr) {
    return InvalidArgument("BuildSpec needs config, sandbox and runtime configuration");
  }
  const v1::ContainerConfig& config = *in.config;
  const v1::PodSandboxConfig& sandbox = *in.sandbox;
  const config::RuntimeConfig& rc = *in.runtime;
  const HostInfo& host = HostFor(in.host, in.cgroup_v2);
  const v1::LinuxContainerSecurityContext& sc = config.linux().security_context();
  const v1::NamespaceOption& ns = sc.namespace_options();

  RETURN_IF_ERROR(CheckUserns(sandbox, &ns));
  const bool privileged = sc.privileged();
  if (privileged && !sandbox.linux().security_context().privileged()) {
    return InvalidArgument("no privileged container allowed in a non-privileged sandbox");
  }
  const bool readonly_root = sc.readonly_rootfs() || rc.read_only;

  json spec = BaseSpec(in.rootfs, readonly_root);

  // --- process ---------------------------------------------------------------------------------
  json process = json::object();
  ASSIGN_OR_RETURN(std::vector<std::string> args, ProcessArgs(config, in.image));
  process["terminal"] = config.tty();
  process["args"] = args;

  UserRequest user_req;
  if (sc.has_run_as_user()) user_req.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) user_req.run_as_group = sc.run_as_group().value();
  user_req.run_as_username = sc.run_as_username();
  if (in.image != nullptr) user_req.image_user = in.image->config.user;
  user_req.supplemental_groups.assign(sc.supplemental_groups().begin(),
                                      sc.supplemental_groups().end());
  user_req.merge_image_groups = sc.supplemental_groups_policy() != v1::Strict;
  user_req.run_as_non_root = in.run_as_non_root;
  ASSIGN_OR_RETURN(ResolvedUser user, ResolveUser(user_req, in.etc_passwd, in.etc_group));
  process["user"] = {
      {"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}};

  // Lowest precedence first (CRI-O): runtime defaults, crio.conf default_env, the image's Env,
  // then the CRI envs.
  EnvList env;
  env.Set(kDefaultPathEnv);
  if (config.tty()) env.Set("TERM", "xterm");
  env.Set("HOSTNAME", in.pod.hostname);
  for (const std::string& e : rc.default_env) env.Set(e);
  if (in.image != nullptr) {
    for (const std::string& e : in.image->config.env) env.Set(e);
  }
  for (const v1::KeyValue& kv : config.envs()) env.Set(kv.key(), kv.value());
  process["env"] = env.entries();

  std::string cwd = "/";
  if (in.image != nullptr && !in.image->config.working_dir.empty()) {
    cwd = in.image->config.working_dir;
  }
  if (!config.working_dir().empty()) cwd = config.working_dir();
  process["cwd"] = cwd;

  std::set<int> caps;
  if (privileged) {
    caps = AllCaps(host);
  } else {
    ASSIGN_OR_RETURN(caps, ContainerCaps(sc.capabilities(), rc.default_capabilities, host));
  }
  process["capabilities"] = CapabilitiesJson(caps, rc.add_inheritable_capabilities);
  ASSIGN_OR_RETURN(process["rlimits"], Rlimits(rc.default_ulimits));
  process["noNewPrivileges"] = sc.no_new_privs();
  if (sc.no_new_privs() && (privileged || caps.count(kCapSysAdmin) > 0)) {
    CRIO_LOG_WARN("container {}: noNewPrivileges has no effect with CAP_SYS_ADMIN or privileged",
                  in.container_id);
  }
  ASSIGN_OR_RETURN(std::string apparmor,
                   AppArmorFor(sc.has_apparmor(), sc.apparmor(), LegacyAppArmorProfile(sc),
                               privileged, rc, host));
  if (!apparmor.empty()) process["apparmorProfile"] = apparmor;
  if (config.linux().has_resources()) {
    process["oomScoreAdj"] = OomScoreAdj(config.linux().resources().oom_score_adj(), host);
  }
  spec["process"] = std::move(process);

  // --- namespaces ------------------------------------------------------------------------------
  NamespacePlan plan;
  plan.host_net = in.pod.host_network || ns.network() == v1::NODE;
  plan.host_ipc = in.pod.host_ipc || ns.ipc() == v1::NODE;
  plan.host_uts = plan.host_net && in.pod.utsns_path.empty();
  switch (ns.pid()) {
    case v1::NODE:
      break;
    case v1::TARGET:
      if (in.target_pidns_path.empty()) {
        return InvalidArgument("pid namespace TARGET needs the target container's namespace");
      }
      plan.pid = in.target_pidns_path;
      break;
    case v1::POD:
      if (in.pod.host_pid) break;
      if (!in.pod.pidns_path.empty()) {
        plan.pid = in.pod.pidns_path;
        break;
      }
      CRIO_LOG_WARN("container {}: pod {} has no shared PID namespace; using a private one",
                    in.container_id, in.pod.pod_id);
      plan.pid_new = true;
      break;
    default:
      plan.pid_new = !in.pod.host_pid;
      break;
  }
  if (!plan.host_uts) spec["hostname"] = in.pod.hostname;

  // --- mounts ----------------------------------------------------------------------------------
  ASSIGN_OR_RETURN(CriMounts cri, ConvertCriMounts(config, rc, host));
  std::set<std::string> cri_destinations;
  for (const json& m : cri.mounts) {
    cri_destinations.insert(CleanPath(m["destination"].get<std::string>()));
  }
  MountList mounts(cri_destinations);
  AddStandardMounts(mounts, privileged);
  AddShmMount(mounts, in.pod, plan.host_ipc);
  AddPodFileMounts(mounts, in.pod, plan.host_net, readonly_root);
  if (rc.read_only) {
    // crio.conf read_only: writable scratch space where programs expect it. "tmpcopyup" (runc
    // and crun) copies the image's content into the tmpfs.
    for (const auto& [dest, mode] : std::vector<std::pair<std::string, std::string>>{
             {"/run", "mode=0755"}, {"/tmp", "mode=1777"}, {"/var/tmp", "mode=1777"}}) {
      mounts.Add(
          Mount(dest, "tmpfs", "tmpfs", {"rw", "noexec", "nosuid", "nodev", "tmpcopyup", mode}));
    }
  }
  std::vector<json> binds = std::move(cri.mounts);
  if (in.image != nullptr && in.image_volumes == "bind") {
    for (const std::string& volume : in.image->config.volumes) {
      const std::string dest = CleanPath(volume);
      if (dest.empty() || dest.front() != '/' || cri_destinations.count(dest) > 0) {
        continue;  // not a path, or a CRI mount (the kubelet's volume) takes the place
      }
      if (in.image_volume_dir.empty()) {
        CRIO_LOG_WARN("container {}: image volume {} left unmounted: no volume directory",
                      in.container_id, dest);
        continue;
      }
      binds.push_back(Mount(dest, "bind", ImageVolumeSource(in.image_volume_dir, dest),
                            {"rbind", "rprivate", "rw"}));
    }
  }
  // Parents before children, so a shallow mount never hides a deeper one (CRI-O orderedMounts).
  std::stable_sort(binds.begin(), binds.end(), [](const json& a, const json& b) {
    return PathDepth(CleanPath(a["destination"].get<std::string>())) <
           PathDepth(CleanPath(b["destination"].get<std::string>()));
  });
  for (json& m : binds) mounts.AddUnchecked(std::move(m));
  spec["mounts"] = mounts.Take();

  // --- linux -----------------------------------------------------------------------------------
  json linux = json::object();
  linux["namespaces"] = NamespacesJson(in.pod, plan, in.cgroup_v2 && !privileged);
  json resources = json::object();
  if (config.linux().has_resources()) {
    ASSIGN_OR_RETURN(resources, ResourcesJson(config.linux().resources(), in.cgroup_v2, host));
  }
  if (rc.pids_limit > 0) resources["pids"] = {{"limit", rc.pids_limit}};
  json devices;
  json device_rules;
  RETURN_IF_ERROR(AddDevices(config, privileged, host, devices, device_rules));
  resources["devices"] = std::move(device_rules);
  linux["resources"] = std::move(resources);
  linux["devices"] = std::move(devices);
  if (!in.cgroups_path.empty()) linux["cgroupsPath"] = in.cgroups_path;
  ASSIGN_OR_RETURN(json sysctls, Sysctls(sandbox, rc, plan.host_net, plan.host_ipc));
  if (!sysctls.empty()) linux["sysctl"] = std::move(sysctls);
  if (!privileged) {
    linux["maskedPaths"] = MergedPaths(DefaultMaskedPaths(), sc.masked_paths());
    linux["readonlyPaths"] = MergedPaths(DefaultReadonlyPaths(), sc.readonly_paths());
  }
  ASSIGN_OR_RETURN(json seccomp,
                   SeccompFor(sc.has_seccomp(), sc.seccomp(), LegacySeccompProfile(sc), privileged,
                              rc, CapList(caps), host));
  if (!seccomp.is_null()) linux["seccomp"] = std::move(seccomp);
  if (!cri.rootfs_propagation.empty()) linux["rootfsPropagation"] = cri.rootfs_propagation;
  spec["linux"] = std::move(linux);

  // --- annotations -----------------------------------------------------------------------------
  json annotations = json::object();
  for (const auto& [k, v] : config.annotations()) annotations[k] = v;
  annotations[kAnnotationContainerId] = in.container_id;
  annotations[kAnnotationSandboxId] = in.pod.pod_id;
  annotations[kAnnotationContainerType] = "container";
  spec["annotations"] = std::move(annotations);
  return spec;
}

StatusOr<nlohmann::json> BuildSandboxSpec(const SandboxSpecInputs& in) {
  if (in.sandbox == nullptr || in.runtime == nullptr) {
    return InvalidArgument("BuildSandboxSpec needs sandbox and runtime configuration");
  }
  const v1::PodSandboxConfig& sandbox = *in.sandbox;
  const config::RuntimeConfig& rc = *in.runtime;
  const HostInfo& host = HostFor(in.host, in.cgroup_v2);
  const v1::LinuxSandboxSecurityContext& sc = sandbox.linux().security_context();
  RETURN_IF_ERROR(CheckUserns(sandbox, nullptr));

  std::vector<std::string> args;
  if (!in.pause_command.empty()) {
    args.push_back(in.pause_command);
  } else if (in.image != nullptr) {
    args = in.image->config.entrypoint;
    args.insert(args.end(), in.image->config.cmd.begin(), in.image->config.cmd.end());
  }
  if (args.empty()) {
    return InvalidArgument(
        "cannot run the pause image: neither pause_command nor the image's "
        "Entrypoint or Cmd is set");
  }

  // The infra container's root is never written to.
  json spec = BaseSpec(in.rootfs, true);
  json process = json::object();
  process["terminal"] = false;
  process["args"] = args;
  const uint32_t uid = sc.has_run_as_user() ? static_cast<uint32_t>(sc.run_as_user().value()) : 0;
  const uint32_t gid = sc.has_run_as_group() ? static_cast<uint32_t>(sc.run_as_group().value()) : 0;
  if ((sc.has_run_as_user() && (sc.run_as_user().value() < 0 ||
                                sc.run_as_user().value() > std::numeric_limits<uint32_t>::max())) ||
      (sc.has_run_as_group() &&
       (sc.run_as_group().value() < 0 ||
        sc.run_as_group().value() > std::numeric_limits<uint32_t>::max()))) {
    return InvalidArgument("pod run_as_user/run_as_group out of range");
  }
  std::vector<uint32_t> gids = {gid};
  for (int64_t g : sc.supplemental_groups()) {
    if (g < 0 || g > std::numeric_limits<uint32_t>::max()) {
      return InvalidArgument(absl::StrCat("supplemental group ", g, " is out of range"));
    }
    if (std::find(gids.begin(), gids.end(), static_cast<uint32_t>(g)) == gids.end()) {
      gids.push_back(static_cast<uint32_t>(g));
    }
  }
  process["user"] = {{"uid", uid}, {"gid", gid}, {"additionalGids", gids}};
  EnvList env;
  env.Set(kDefaultPathEnv);
  process["env"] = env.entries();
  process["cwd"] = "/";
  ASSIGN_OR_RETURN(std::set<int> caps,
                   ContainerCaps(v1::Capability(), rc.default_capabilities, host));
  process["capabilities"] = CapabilitiesJson(caps, rc.add_inheritable_capabilities);
  ASSIGN_OR_RETURN(process["rlimits"], Rlimits(rc.default_ulimits));
  process["noNewPrivileges"] = true;
  process["oomScoreAdj"] = OomScoreAdj(kInfraOomScoreAdj, host);
  ASSIGN_OR_RETURN(std::string apparmor,
                   AppArmorFor(sc.has_apparmor(), sc.apparmor(), "", sc.privileged(), rc, host));
  if (!apparmor.empty()) process["apparmorProfile"] = apparmor;
  spec["process"] = std::move(process);

  const v1::NamespaceOption& ns = sc.namespace_options();
  NamespacePlan plan;
  plan.host_net = in.pod.host_network || ns.network() == v1::NODE;
  plan.host_ipc = in.pod.host_ipc || ns.ipc() == v1::NODE;
  plan.host_uts = plan.host_net && in.pod.utsns_path.empty();
  // The infra process is the pod's PID namespace, unless the pod uses the host's.
  plan.pid_new = !(in.pod.host_pid || ns.pid() == v1::NODE);
  if (!plan.host_uts) spec["hostname"] = in.pod.hostname;

  MountList mounts({});
  AddStandardMounts(mounts, false);
  AddShmMount(mounts, in.pod, plan.host_ipc);
  if (!in.pod.resolv_conf_file.empty()) {
    mounts.Add(Mount("/etc/resolv.conf", "bind", in.pod.resolv_conf_file,
                     {"ro", "bind", "nodev", "nosuid", "noexec"}));
  }
  if (!in.pod.hostname_file.empty()) {
    mounts.Add(Mount("/etc/hostname", "bind", in.pod.hostname_file, {"ro", "bind"}));
  }
  spec["mounts"] = mounts.Take();

  json linux = json::object();
  linux["namespaces"] = NamespacesJson(in.pod, plan, in.cgroup_v2 && !sc.privileged());
  json resources = {{"cpu", {{"shares", kInfraCpuShares}}}, {"devices", DefaultDeviceRules()}};
  if (!rc.infra_ctr_cpuset.empty()) resources["cpu"]["cpus"] = rc.infra_ctr_cpuset;
  linux["resources"] = std::move(resources);
  linux["devices"] = json::array();
  if (!in.cgroups_path.empty()) linux["cgroupsPath"] = in.cgroups_path;
  ASSIGN_OR_RETURN(json sysctls, Sysctls(sandbox, rc, plan.host_net, plan.host_ipc));
  if (!sysctls.empty()) linux["sysctl"] = std::move(sysctls);
  linux["maskedPaths"] = DefaultMaskedPaths();
  linux["readonlyPaths"] = DefaultReadonlyPaths();
  ASSIGN_OR_RETURN(json seccomp,
                   SeccompFor(sc.has_seccomp(), sc.seccomp(), LegacySeccompProfile(sc),
                              sc.privileged(), rc, CapList(caps), host));
  if (!seccomp.is_null()) linux["seccomp"] = std::move(seccomp);
  spec["linux"] = std::move(linux);

  json annotations = json::object();
  for (const auto& [k, v] : sandbox.annotations()) annotations[k] = v;
  annotations[kAnnotationContainerId] = in.sandbox_id;
  annotations[kAnnotationSandboxId] = in.sandbox_id;
  annotations[kAnnotationContainerType] = "sandbox";
  spec["annotations"] = std::move(annotations);
  return spec;
}

// ---------------------------------------------------------------------------------------------
// PrepareRootfs

namespace {

// Opens `rel` (relative to the rootfs fd) as a directory, resolving symlinks as if `rootfs_fd`
// were "/" (openat2 RESOLVE_IN_ROOT), so nothing outside the rootfs is reachable.
os::UniqueFd OpenInRoot(int rootfs_fd, const std::string& rel) {
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return os::UniqueFd(static_cast<int>(
      ::syscall(SYS_openat2, rootfs_fd, rel.empty() ? "." : rel.c_str(), &how, sizeof how)));
}

// mkdir -p of `path` inside the rootfs with SecureJoin semantics (CRI-O uses
// filepath-securejoin): symlinks, even dangling ones, are followed as if the rootfs were "/", and
// missing directories are created where they resolve to.
// `owner` (uid, gid) is applied to directories this call creates; nullopt leaves them owned by
// the daemon.
Status MakeDirInRoot(int rootfs_fd, const std::string& rootfs, const std::string& path,
                     std::optional<std::pair<uint32_t, uint32_t>> owner) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument(absl::StrCat("path \"", path, "\" is not absolute"));
  }
  constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS
  std::deque<std::string> todo;
  for (absl::string_view p : absl::StrSplit(CleanPath(path), '/', absl::SkipEmpty())) {
    todo.emplace_back(p);
  }
  std::string rel;  // path relative to the rootfs, resolved by openat2 on each use
  os::UniqueFd parent = OpenInRoot(rootfs_fd, rel);
  if (!parent) {
    return ErrnoError(errno, absl::StrCat("open `", rootfs, "`"));
  }
  int links = 0;
  while (!todo.empty()) {
    const std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") {
      continue;
    }
    const std::string candidate = rel.empty() ? part : rel + "/" + part;
    const std::string shown = absl::StrCat(rootfs, "/", candidate);
    os::UniqueFd next = OpenInRoot(rootfs_fd, candidate);
    if (!next && errno == ENOENT) {
      if (::mkdirat(parent.get(), part.c_str(), 0755) == 0) {
        if (owner && ::fchownat(parent.get(), part.c_str(), owner->first, owner->second,
                                AT_SYMLINK_NOFOLLOW) != 0) {
          return ErrnoError(errno, absl::StrCat("chown `", shown, "`"));
        }
        next = OpenInRoot(rootfs_fd, candidate);
      } else if (errno == EEXIST) {
        // A dangling symlink: continue from its target, inside the rootfs.
        char target[PATH_MAX];
        const ssize_t n = ::readlinkat(parent.get(), part.c_str(), target, sizeof target - 1);
        if (n <= 0) {
          return InvalidArgument(absl::StrCat("`", shown, "` exists but is not a directory"));
        }
        if (++links > kMaxSymlinks) {
          return InvalidArgument(absl::StrCat("too many symlinks resolving `", shown, "`"));
        }
        const std::string link(target, static_cast<size_t>(n));
        std::vector<std::string> parts = absl::StrSplit(link, '/', absl::SkipEmpty());
        todo.insert(todo.begin(), parts.begin(), parts.end());
        if (link.front() == '/') {
          rel.clear();
          parent = OpenInRoot(rootfs_fd, rel);
          if (!parent) {
            return ErrnoError(errno, absl::StrCat("open `", rootfs, "`"));
          }
        }
        continue;
      } else {
        return ErrnoError(errno, absl::StrCat("mkdir `", shown, "`"));
      }
    }
    if (!next) {
      if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT) {
        return InvalidArgument(absl::StrCat("`", shown, "` exists but is not a directory"));
      }
      return ErrnoError(errno, absl::StrCat("open `", shown, "`"));
    }
    rel = candidate;
    parent = std::move(next);
  }
  return absl::OkStatus();
}

}  // namespace

std::string ImageVolumeSource(const std::string& dir, const std::string& destination) {
  // Hex of the cleaned path: unique per destination and a single safe file name.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string name = "vol-";
  for (unsigned char c : CleanPath(destination)) {
    name += kDigits[c >> 4];
    name += kDigits[c & 15];
  }
  return dir + "/" + name;
}

Status PrepareRootfs(const std::string& rootfs, const std::string& cwd,
                     const std::vector<std::string>& volumes, const std::string& image_volumes,
                     uint32_t uid, uint32_t gid, const std::string& bind_volume_dir) {
  os::UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    return ErrnoError(errno, absl::StrCat("open `", rootfs, "`"));
  }
  // As in CRI-O: a missing working directory is created by (and owned by) the daemon, while
  // image volume directories go to the container user so it can write there.
  RETURN_IF_ERROR(MakeDirInRoot(root.get(), rootfs, cwd, std::nullopt));
  if (image_volumes == "mkdir") {
    for (const std::string& v : volumes) {
      RETURN_IF_ERROR(MakeDirInRoot(root.get(), rootfs, v, std::make_pair(uid, gid)));
    }
  }
  if (image_volumes == "bind" && !bind_volume_dir.empty() && !volumes.empty()) {
    if (::mkdir(bind_volume_dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(errno, absl::StrCat("mkdir `", bind_volume_dir, "`"));
    }
    for (const std::string& v : volumes) {
      const std::string source = ImageVolumeSource(bind_volume_dir, v);
      if (::mkdir(source.c_str(), 0755) != 0) {
        if (errno == EEXIST) continue;
        return ErrnoError(errno, absl::StrCat("mkdir `", source, "`"));
      }
      if (::chown(source.c_str(), uid, gid) != 0) {
        return ErrnoError(errno, absl::StrCat("chown `", source, "`"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace crio::container
