#include "container/spec_resources.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/log.h"

namespace crio::container {

nlohmann::json CpuResourcesJson(const runtime::v1::LinuxContainerResources& r) {
  nlohmann::json cpu = nlohmann::json::object();
  if (r.cpu_shares() > 0) cpu["shares"] = static_cast<uint64_t>(r.cpu_shares());
  if (r.cpu_quota() != 0) cpu["quota"] = r.cpu_quota();
  if (r.cpu_period() > 0) cpu["period"] = static_cast<uint64_t>(r.cpu_period());
  if (!r.cpuset_cpus().empty()) cpu["cpus"] = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) cpu["mems"] = r.cpuset_mems();
  return cpu;
}

namespace spec_internal {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

// CRI-O refuses memory limits below this (cgmgr.VerifyMemoryIsEnough): the runtime and the
// container's first process would not fit.
constexpr int64_t kMinMemoryLimit = 12 * 1024 * 1024;
// CRI-O's infra container: a minimal CPU weight.
constexpr uint64_t kInfraCpuShares = 2;

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

}  // namespace

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

// The runtime creates these nodes itself (runtime-spec "Default Devices"); listing the rules
// here keeps the spec complete instead of relying on each runtime's built-in allowlist.
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

Status AddContainerResources(const ContainerContext& ctx, json& spec) {
  json resources = json::object();
  if (ctx.config.linux().has_resources()) {
    ASSIGN_OR_RETURN(resources,
                     ResourcesJson(ctx.config.linux().resources(), ctx.in.cgroup_v2, ctx.host));
  }
  if (ctx.rc.pids_limit > 0) resources["pids"] = {{"limit", ctx.rc.pids_limit}};
  json devices;
  json device_rules;
  RETURN_IF_ERROR(AddDevices(ctx.config, ctx.privileged, ctx.host, devices, device_rules));
  resources["devices"] = std::move(device_rules);
  json& linux = spec["linux"];
  linux["resources"] = std::move(resources);
  linux["devices"] = std::move(devices);
  if (!ctx.in.cgroups_path.empty()) linux["cgroupsPath"] = ctx.in.cgroups_path;
  return absl::OkStatus();
}

void AddSandboxResources(const SandboxContext& ctx, json& spec) {
  json resources = {{"cpu", {{"shares", kInfraCpuShares}}}, {"devices", DefaultDeviceRules()}};
  if (!ctx.rc.infra_ctr_cpuset.empty()) resources["cpu"]["cpus"] = ctx.rc.infra_ctr_cpuset;
  json& linux = spec["linux"];
  linux["resources"] = std::move(resources);
  linux["devices"] = json::array();
  if (!ctx.in.cgroups_path.empty()) linux["cgroupsPath"] = ctx.in.cgroups_path;
}

}  // namespace spec_internal
}  // namespace crio::container
