#include "cgroups/systemd_manager.h"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "os/file.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::cgroups {
namespace {

constexpr char kSliceSuffix[] = ".slice";
constexpr uint64_t kUnlimited = UINT64_MAX;  // systemd's "infinity"

std::string ConmonUnit(std::string_view id) {
  return absl::StrCat("crio-conmon-", std::string(id), ".scope");
}

}  // namespace

StatusOr<std::string> ExpandSlice(std::string_view slice) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        absl::StrCat("invalid systemd slice \"", std::string(slice), "\": ", std::string(why)));
  };
  if (!slice.ends_with(kSliceSuffix)) return bad("not a .slice");
  if (slice.find('/') != std::string_view::npos) return bad("a slice name holds no '/'");
  if (slice == "-.slice") return std::string("/");
  std::string_view name = slice.substr(0, slice.size() - std::strlen(kSliceSuffix));
  if (name.empty() || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string_view::npos) {
    return bad("empty part between dashes");
  }
  std::string path;
  for (size_t dash = name.find('-');; dash = name.find('-', dash + 1)) {
    std::string_view prefix = dash == std::string_view::npos ? name : name.substr(0, dash);
    absl::StrAppend(&path, "/", std::string(prefix), kSliceSuffix);
    if (dash == std::string_view::npos) break;
  }
  return path;
}

StatusOr<std::string> PodSlice(std::string_view cgroup_parent) {
  if (cgroup_parent.empty()) return std::string(kDefaultSystemdSlice);
  std::string slice = util::Basename(cgroup_parent);
  if (!slice.ends_with(kSliceSuffix)) {
    // CRI-O's words, so operators searching for them find the cause: a driver mismatch.
    return InvalidArgument(absl::StrCat(
        "cgroup_parent: configured with the systemd cgroup manager, but did not "
        "receive a slice as parent: \"",
        std::string(cgroup_parent), "\" (the kubelet's cgroupDriver must be systemd)"));
  }
  RETURN_IF_ERROR(ExpandSlice(slice).status());
  return slice;
}

StatusOr<std::vector<uint8_t>> CpuListToMask(std::string_view list) {
  std::vector<uint8_t> mask;
  auto set = [&mask](uint64_t bit) {
    if (mask.size() <= bit / 8) mask.resize(bit / 8 + 1, 0);
    mask[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  };
  for (const std::string& piece : util::SplitNonEmpty(list, ',')) {
    std::string_view part = piece;
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\n')) part.remove_suffix(1);
    size_t dash = part.find('-');
    auto first = util::ParseUint64(part.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : util::ParseUint64(part.substr(dash + 1));
    if (!first || !last || *last < *first || *last > 8191) {
      return InvalidArgument(absl::StrCat("invalid cpu list \"", std::string(list), "\""));
    }
    for (uint64_t bit = *first; bit <= *last; ++bit) set(bit);
  }
  return mask;
}

StatusOr<UnitProperties> PodResourceProperties(const PodResources& r, CgroupVersion version) {
  const bool v2 = version == CgroupVersion::kV2;
  UnitProperties props;
  if (r.cpu_shares) {
    if (v2) {
      props.push_back({"CPUWeight", CpuSharesToWeight(*r.cpu_shares)});
    } else {
      props.push_back({"CPUShares", *r.cpu_shares});
    }
  }
  if (r.cpu_quota_us || r.cpu_period_us) {
    // systemd takes the quota as CPU time per second of wall time.
    uint64_t period = r.cpu_period_us.value_or(100000);
    if (period == 0) period = 100000;
    uint64_t per_sec = kUnlimited;
    if (r.cpu_quota_us && *r.cpu_quota_us > 0) {
      per_sec = static_cast<uint64_t>(*r.cpu_quota_us) * 1000000 / period;
      // systemd rounds CPUQuotaPerSecUSec to 10 ms; below that it would mean "no quota".
      if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
    }
    props.push_back({"CPUQuotaPerSecUSec", per_sec});
    if (r.cpu_period_us) props.push_back({"CPUQuotaPeriodUSec", period});
  }
  if (r.memory_limit_bytes) {
    uint64_t limit =
        *r.memory_limit_bytes > 0 ? static_cast<uint64_t>(*r.memory_limit_bytes) : kUnlimited;
    props.push_back({v2 ? "MemoryMax" : "MemoryLimit", limit});
  }
  if (v2 && r.cpuset_cpus && !r.cpuset_cpus->empty()) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> mask, CpuListToMask(*r.cpuset_cpus));
    props.push_back({"AllowedCPUs", std::move(mask)});
  }
  if (v2 && r.cpuset_mems && !r.cpuset_mems->empty()) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> mask, CpuListToMask(*r.cpuset_mems));
    props.push_back({"AllowedMemoryNodes", std::move(mask)});
  }
  return props;
}

// --- SystemdManager ----------------------------------------------------------------------------

StatusOr<std::unique_ptr<SystemdManager>> SystemdManager::Create() {
  ASSIGN_OR_RETURN(SystemdBusPtr bus, ConnectSystemBus());
  ASSIGN_OR_RETURN(std::unique_ptr<CgroupfsManager> files, CgroupfsManager::Create());
  return std::make_unique<SystemdManager>(std::move(bus), std::move(files));
}

SystemdManager::SystemdManager(SystemdBusPtr bus, std::unique_ptr<CgroupfsManager> files,
                               std::string proc_root, std::chrono::milliseconds placement_timeout)
    : bus_(std::move(bus)),
      files_(std::move(files)),
      proc_root_(std::move(proc_root)),
      placement_timeout_(placement_timeout) {}

StatusOr<std::string> SystemdManager::PodCgroupPath(std::string_view cgroup_parent) const {
  ASSIGN_OR_RETURN(std::string slice, PodSlice(cgroup_parent));
  return ExpandSlice(slice);
}

StatusOr<std::string> SystemdManager::ContainerCgroupPath(std::string_view cgroup_parent,
                                                          std::string_view id) const {
  ASSIGN_OR_RETURN(std::string pod, PodCgroupPath(cgroup_parent));
  return absl::StrCat(pod == "/" ? "" : pod, "/crio-", std::string(id), ".scope");
}

StatusOr<std::string> SystemdManager::OciCgroupsPath(std::string_view cgroup_parent,
                                                     std::string_view id) const {
  ASSIGN_OR_RETURN(std::string slice, PodSlice(cgroup_parent));
  return absl::StrCat(slice, ":crio:", std::string(id));
}

Status SystemdManager::EnsureSlice(const std::string& slice) {
  ASSIGN_OR_RETURN(std::optional<std::string> description, bus_->UnitDescription(slice));
  if (description) return absl::OkStatus();
  UnitProperties props = {{"Description", std::string(kOurSliceDescription)}};
  Status started = bus_->StartTransientUnit(slice, props);
  // Another pod of the same slice may have started it between the two calls.
  if (absl::IsAlreadyExists(started)) return absl::OkStatus();
  if (started.ok()) CRIO_LOG_INFO("started systemd slice {}", slice);
  return started;
}

StatusOr<std::string> SystemdManager::CreatePodCgroup(std::string_view cgroup_parent,
                                                      std::string_view pod_id) {
  ASSIGN_OR_RETURN(std::string slice, PodSlice(cgroup_parent));
  ASSIGN_OR_RETURN(std::string slice_path, ExpandSlice(slice));
  RETURN_IF_ERROR(Annotate(EnsureSlice(slice), absl::StrCat("pod ", std::string(pod_id))));
  std::string sandbox =
      absl::StrCat(slice_path == "/" ? "" : slice_path, "/crio-", std::string(pod_id));
  RETURN_IF_ERROR(
      Annotate(files_->CreateCgroup(sandbox), absl::StrCat("pod ", std::string(pod_id))));
  return sandbox;
}

Status SystemdManager::ApplyPodResources(const std::string& path, const PodResources& resources) {
  std::string slice = util::Basename(path);
  if (!slice.ends_with(kSliceSuffix)) {
    return InvalidArgument(absl::StrCat("pod cgroup ", path, " is not a systemd slice"));
  }
  ASSIGN_OR_RETURN(UnitProperties props,
                   PodResourceProperties(resources, files_->layout().version));
  if (!props.empty()) RETURN_IF_ERROR(bus_->SetUnitProperties(slice, props));
  return files_->ApplyPodResources(path, resources);
}

void SystemdManager::StopSliceIfOursAndEmpty(const std::string& slice) {
  auto description = bus_->UnitDescription(slice);
  if (!description.ok() || !*description || **description != kOurSliceDescription) return;
  auto processes = bus_->UnitProcessCount(slice);
  if (!processes.ok() || *processes > 0) return;
  if (Status stopped = bus_->StopUnit(slice); !stopped.ok() && !absl::IsNotFound(stopped)) {
    CRIO_LOG_WARN("stop systemd slice {}: {}", slice, stopped.message());
    return;
  }
  CRIO_LOG_INFO("stopped systemd slice {}: its last pod is gone", slice);
}

Status SystemdManager::RemoveCgroup(const std::string& path) {
  RETURN_IF_ERROR(files_->RemoveCgroup(path));
  std::filesystem::path fs_path(path);
  std::string parent = fs_path.parent_path().filename().string();
  if (fs_path.filename().string().rfind("crio-", 0) == 0 && parent.ends_with(kSliceSuffix) &&
      parent != kDefaultSystemdSlice) {
    StopSliceIfOursAndEmpty(parent);
  }
  return absl::OkStatus();
}

Status SystemdManager::MoveProcess(pid_t pid, const std::string& path) {
  return files_->MoveProcess(pid, path);
}

StatusOr<CgroupStats> SystemdManager::ReadStats(const std::string& path, unsigned parts) {
  return files_->ReadStats(path, parts);
}

Status SystemdManager::WaitInCgroup(pid_t pid, std::string_view cgroup_suffix) {
  const std::string file = absl::StrCat(proc_root_, "/", pid, "/cgroup");
  const auto deadline = std::chrono::steady_clock::now() + placement_timeout_;
  for (auto backoff = std::chrono::milliseconds(1);;
       backoff = std::min(backoff * 2, std::chrono::milliseconds(50))) {
    auto text = os::ReadSmallFile(file);
    if (!text.ok()) return Annotate(text.status(), "read the monitor's cgroup");
    for (const std::string& line : util::SplitNonEmpty(*text, '\n')) {
      if (line.ends_with(cgroup_suffix)) return absl::OkStatus();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceeded(absl::StrCat("process ", pid, " did not reach ",
                                           std::string(cgroup_suffix), " within ",
                                           placement_timeout_.count(), " ms"));
    }
    std::this_thread::sleep_for(backoff);
  }
}

Status SystemdManager::PlaceMonitor(pid_t pid, std::string_view cgroup_parent, std::string_view id,
                                    std::string_view monitor_cgroup) {
  std::string slice;
  if (monitor_cgroup.ends_with(kSliceSuffix)) {
    ASSIGN_OR_RETURN(slice, PodSlice(monitor_cgroup));
  } else {
    ASSIGN_OR_RETURN(slice, PodSlice(cgroup_parent));
  }
  const std::string unit = ConmonUnit(id);
  UnitProperties props = {
      {"Description", absl::StrCat("crio-cpp conmon of container ", std::string(id))},
      {"Slice", slice},
      {"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}},
      {"Delegate", true},
      {"DefaultDependencies", false},
      // conmon ignores SIGPIPE: at shutdown systemd's stop leaves it to wait for its container.
      {"KillSignal", int32_t{SIGPIPE}},
      {"After", std::vector<std::string>{"crio.service"}},
      // A scope whose process is gone is collected instead of staying in `systemctl --failed`.
      {"CollectMode", std::string("inactive-or-failed")},
  };
  RETURN_IF_ERROR(Annotate(bus_->StartTransientUnit(unit, props), "place conmon"));
  return Annotate(WaitInCgroup(pid, absl::StrCat("/", unit)),
                  absl::StrCat("place conmon in ", unit));
}

// --- Choosing a manager ------------------------------------------------------------------------

StatusOr<ResolvedCgroupManager> ResolveCgroupManager(std::string_view configured) {
  auto pid1 = InitProcessName();
  // Without /proc/1/comm (e.g. hidepid) assume no systemd: cgroupfs works everywhere.
  std::string pid1_name = pid1.ok() ? *pid1 : std::string("unknown");
  ASSIGN_OR_RETURN(CgroupManagerChoice choice, ChooseCgroupManager(configured, pid1_name));
  ResolvedCgroupManager resolved;
  resolved.warning = choice.warning;
  if (choice.kind == CgroupManagerKind::kSystemd) {
    auto systemd = SystemdManager::Create();
    if (!systemd.ok()) {
      return Annotate(systemd.status(), "cgroup_manager = \"systemd\"");
    }
    resolved.manager = *std::move(systemd);
    return resolved;
  }
  ASSIGN_OR_RETURN(resolved.manager, CgroupfsManager::Create());
  return resolved;
}

}  // namespace crio::cgroups
