#include "cgroups/cgroup_manager.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "os/unique_fd.h"
#include "util/strings.h"

namespace crio::cgroups {
namespace {

using os::UniqueFd;
using util::TrimSpace;

constexpr uint64_t kMinShares = 2;
constexpr uint64_t kMaxShares = 262144;

// Joins non-empty parts with '/', dropping a leading '/' so the result is relative to the root.
std::string Rel(std::string_view hierarchy, std::string_view path, std::string_view file = {}) {
  std::string out(hierarchy);
  auto append = [&out](std::string_view part) {
    while (!part.empty() && part.front() == '/') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == '/') {
      part.remove_suffix(1);
    }
    if (part.empty()) {
      return;
    }
    if (!out.empty()) {
      out.push_back('/');
    }
    out.append(part);
  };
  append(path);
  append(file);
  return out;
}

// Splits on `sep`, keeping empty pieces (absl::StrSplit yields absl::string_view here).
std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// Value of `key` in a "key value\n" file such as memory.stat or cpu.stat.
std::optional<uint64_t> FlatKeyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : Split(text, '\n')) {
    size_t space = line.find(' ');
    if (space != std::string_view::npos && line.substr(0, space) == key) {
      return util::ParseUint64(TrimSpace(line.substr(space + 1)));
    }
  }
  return std::nullopt;
}

bool IsCgroupNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || c == '@' || c == '=' || c == '+';
}

// "/a/b" from "a//b/", rejecting "." / ".." components and odd characters.
StatusOr<std::string> CleanCgroupPath(std::string_view path) {
  std::string out;
  for (std::string_view part : Split(path, '/')) {
    if (part.empty()) {
      continue;
    }
    bool ok = part != "." && part != "..";
    for (char c : part) {
      ok = ok && IsCgroupNameChar(c);
    }
    if (!ok) {
      return InvalidArgument(absl::StrCat("invalid cgroup path \"", std::string(path), "\""));
    }
    absl::StrAppend(&out, "/", std::string(part));
  }
  return out.empty() ? std::string("/") : out;
}

Status ValidateId(std::string_view kind, std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) {
    ok = ok && IsCgroupNameChar(c) && c != '.';
  }
  if (!ok) {
    return InvalidArgument(absl::StrCat("invalid ", std::string(kind), " \"", std::string(id),
                                        "\" for a cgroup name"));
  }
  return absl::OkStatus();
}

// An absolute, clean cgroup path that is not the root (which we must never write or remove).
Status ValidateCgroupPath(const std::string& path) {
  auto clean = CleanCgroupPath(path);
  if (!clean.ok()) {
    return clean.status();
  }
  if (path.empty() || path[0] != '/' || *clean != path || path == "/") {
    return InvalidArgument(
        absl::StrCat("cgroup path must be absolute and clean, not the root: \"", path, "\""));
  }
  return absl::OkStatus();
}

// Unescapes mountinfo's octal escapes (\040 for space, \011, \012, \134).
std::string UnescapeMountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const std::set<std::string>& KnownV1Controllers() {
  static const auto* known = new std::set<std::string>{
      "cpu",   "cpuacct",    "cpuset",   "memory",  "devices", "freezer", "net_cls",
      "blkio", "perf_event", "net_prio", "hugetlb", "pids",    "rdma",    "misc"};
  return *known;
}

// --- The real filesystem -------------------------------------------------------------------------

class HostCgroupFs : public CgroupFs {
 public:
  explicit HostCgroupFs(std::string root) : root_(std::move(root)) {}

  StatusOr<std::string> Read(const std::string& rel) override {
    std::string path = Abs(rel);
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return ErrnoError(errno, absl::StrCat("open `", path, "`"));
    }
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd.get(), buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return ErrnoError(errno, absl::StrCat("read `", path, "`"));
      }
      if (n == 0) {
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
      // cgroup and proc files fill the buffer as far as their content goes: a short read is the
      // end, and skipping the read that would return 0 saves a syscall per file (stats read
      // thousands of these per request).
      if (static_cast<size_t>(n) < sizeof(buf)) {
        return out;
      }
    }
  }

  Status Write(const std::string& rel, std::string_view value) override {
    std::string path = Abs(rel);
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) {
      return ErrnoError(errno, absl::StrCat("open `", path, "`"));
    }
    // cgroupfs parses each write(2) as a whole value; a short write would split it.
    ssize_t n;
    do {
      n = write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      return ErrnoError(errno, absl::StrCat("write \"", std::string(value), "\" to `", path, "`"));
    }
    if (static_cast<size_t>(n) != value.size()) {
      return Internal(absl::StrCat("short write to `", path, "`"));
    }
    return absl::OkStatus();
  }

  Status MakeDir(const std::string& rel) override {
    std::string path = Abs(rel);
    if (mkdir(path.c_str(), 0755) != 0) {
      return ErrnoError(errno, absl::StrCat("mkdir `", path, "`"));
    }
    return absl::OkStatus();
  }

  Status RemoveDir(const std::string& rel) override {
    std::string path = Abs(rel);
    if (rmdir(path.c_str()) != 0) {
      return ErrnoError(errno, absl::StrCat("rmdir `", path, "`"));
    }
    return absl::OkStatus();
  }

  bool Exists(const std::string& rel) override {
    struct stat st;
    return stat(Abs(rel).c_str(), &st) == 0;
  }

 private:
  std::string Abs(const std::string& rel) const {
    return rel.empty() ? root_ : absl::StrCat(root_, "/", rel);
  }

  std::string root_;
};

StatusOr<std::string> ReadSelfMountinfo() {
  HostCgroupFs proc("/proc");
  return proc.Read("self/mountinfo");
}

}  // namespace

CgroupFsPtr MakeHostCgroupFs(std::string root) {
  return std::make_unique<HostCgroupFs>(std::move(root));
}

// --- Layout
// ----------------------------------------------------------------------------------------

CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view root,
                               CgroupVersion version) {
  CgroupLayout layout;
  layout.version = version;
  if (version == CgroupVersion::kV2) {
    return layout;
  }
  std::string prefix = absl::StrCat(std::string(root), "/");
  for (std::string_view line : Split(mountinfo, '\n')) {
    std::vector<std::string_view> fields = Split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) {
      continue;
    }
    std::string mount_point = UnescapeMountinfo(fields[4]);
    std::string_view fstype = *(dash + 1);
    std::string_view super_options = *(dash + 3);
    if (mount_point.rfind(prefix, 0) != 0) {
      continue;
    }
    std::string dir = mount_point.substr(prefix.size());
    if (dir.empty() || dir.find('/') != std::string::npos) {
      continue;
    }
    if (fstype == "cgroup2") {
      layout.v1_hierarchies.push_back(dir);
      continue;
    }
    if (fstype != "cgroup") {
      continue;
    }
    layout.v1_hierarchies.push_back(dir);
    for (std::string_view opt : Split(super_options, ',')) {
      std::string name(opt);
      if (KnownV1Controllers().count(name) != 0 && layout.v1_controllers.count(name) == 0) {
        layout.v1_controllers[name] = dir;
      }
    }
  }
  return layout;
}

StatusOr<CgroupLayout> DetectCgroupLayout(const std::string& root) {
  struct statfs fs;
  if (statfs(root.c_str(), &fs) != 0) {
    return ErrnoError(errno, absl::StrCat("statfs `", root, "`"));
  }
  if (fs.f_type == CGROUP2_SUPER_MAGIC) {
    return ParseCgroupLayout("", root, CgroupVersion::kV2);
  }
  if (fs.f_type != TMPFS_MAGIC) {
    return FailedPrecondition(absl::StrCat("`", root, "` is neither cgroup2 nor a tmpfs of v1 ",
                                           "hierarchies (f_type 0x", absl::Hex(fs.f_type), ")"));
  }
  ASSIGN_OR_RETURN(std::string mountinfo, ReadSelfMountinfo());
  CgroupLayout layout = ParseCgroupLayout(mountinfo, root, CgroupVersion::kV1);
  if (layout.v1_controllers.empty()) {
    return FailedPrecondition(absl::StrCat("no cgroup v1 controllers mounted under `", root, "`"));
  }
  return layout;
}

// --- Naming
// ----------------------------------------------------------------------------------------

StatusOr<std::string> NormalizeCgroupParent(std::string_view parent) {
  if (parent.empty()) {
    return std::string(kDefaultCgroupParent);
  }
  std::string_view base = parent;
  while (!base.empty() && base.back() == '/') {
    base.remove_suffix(1);
  }
  base = base.substr(base.rfind('/') == std::string_view::npos ? 0 : base.rfind('/') + 1);
  if (base.size() >= 6 && base.substr(base.size() - 6) == ".slice") {
    return InvalidArgument(
        absl::StrCat("cgroup parent \"", std::string(parent),
                     "\" is a systemd slice but the cgroup manager is cgroupfs; configure the "
                     "kubelet's cgroupDriver and crio's cgroup_manager alike"));
  }
  return CleanCgroupPath(parent);
}

StatusOr<std::string> ContainerCgroupPath(std::string_view parent, std::string_view id) {
  RETURN_IF_ERROR(ValidateId("container id", id));
  ASSIGN_OR_RETURN(std::string base, NormalizeCgroupParent(parent));
  return absl::StrCat(base == "/" ? "" : base, "/crio-", std::string(id));
}

StatusOr<std::string> ConmonCgroupPath(std::string_view parent, std::string_view id) {
  RETURN_IF_ERROR(ValidateId("container id", id));
  ASSIGN_OR_RETURN(std::string base, NormalizeCgroupParent(parent));
  return absl::StrCat(base == "/" ? "" : base, "/crio-conmon-", std::string(id));
}

Psi ParsePressure(std::string_view text) {
  Psi psi;
  for (std::string_view line : Split(text, '\n')) {
    std::optional<PsiLine>* target = nullptr;
    if (line.starts_with("some ")) target = &psi.some;
    if (line.starts_with("full ")) target = &psi.full;
    if (!target) continue;
    PsiLine parsed;
    for (std::string_view field : Split(line.substr(5), ' ')) {
      size_t eq = field.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = field.substr(0, eq);
      std::string value(field.substr(eq + 1));
      if (key == "total") {
        parsed.total_us = util::ParseUint64(TrimSpace(value)).value_or(0);
      } else if (key == "avg10" || key == "avg60" || key == "avg300") {
        double v = std::strtod(value.c_str(), nullptr);
        (key == "avg10" ? parsed.avg10 : key == "avg60" ? parsed.avg60 : parsed.avg300) = v;
      }
    }
    *target = parsed;
  }
  return psi;
}

uint64_t CpuSharesToWeight(uint64_t shares) {
  shares = std::clamp(shares, kMinShares, kMaxShares);
  return 1 + ((shares - 2) * 9999) / 262142;
}

// --- CgroupfsManager
// -------------------------------------------------------------------------------

const std::vector<std::string>& CgroupfsManager::ManagedV1Controllers() {
  static const auto* controllers =
      new std::vector<std::string>{"cpu", "cpuacct", "cpuset", "memory", "pids"};
  return *controllers;
}

StatusOr<std::unique_ptr<CgroupfsManager>> CgroupfsManager::Create() {
  ASSIGN_OR_RETURN(CgroupLayout layout, DetectCgroupLayout(kCgroupRoot));
  return std::make_unique<CgroupfsManager>(MakeHostCgroupFs(kCgroupRoot), std::move(layout));
}

CgroupfsManager::CgroupfsManager(CgroupFsPtr fs, CgroupLayout layout,
                                 std::chrono::milliseconds busy_timeout)
    : fs_(std::move(fs)), layout_(std::move(layout)), busy_timeout_(busy_timeout) {}

std::vector<std::string> CgroupfsManager::CreationHierarchies() const {
  if (layout_.version == CgroupVersion::kV2) {
    return {""};
  }
  std::vector<std::string> out;
  for (const std::string& controller : ManagedV1Controllers()) {
    auto it = layout_.v1_controllers.find(controller);
    if (it != layout_.v1_controllers.end() &&
        std::find(out.begin(), out.end(), it->second) == out.end()) {
      out.push_back(it->second);
    }
  }
  return out;
}

std::string CgroupfsManager::FilePath(std::string_view controller, const std::string& path,
                                      std::string_view file) const {
  if (layout_.version == CgroupVersion::kV2) {
    return Rel("", path, file);
  }
  auto it = layout_.v1_controllers.find(std::string(controller));
  // A controller that is not mounted maps to a path that does not exist: NotFound on use.
  std::string hierarchy = it != layout_.v1_controllers.end() ? it->second : std::string(controller);
  return Rel(hierarchy, path, file);
}

Status CgroupfsManager::InitV1Cpuset(const std::string& rel_dir, const std::string& rel_parent) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    std::string own_path = absl::StrCat(rel_dir, "/", file);
    ASSIGN_OR_RETURN(std::string own, fs_->Read(own_path));
    if (!TrimSpace(own).empty()) {
      continue;
    }
    ASSIGN_OR_RETURN(std::string inherited, fs_->Read(absl::StrCat(rel_parent, "/", file)));
    std::string_view value = TrimSpace(inherited);
    if (value.empty()) {
      return FailedPrecondition(
          absl::StrCat("parent cgroup `", rel_parent, "` has an empty ", file));
    }
    RETURN_IF_ERROR(fs_->Write(own_path, value));
  }
  return absl::OkStatus();
}

Status CgroupfsManager::EnableV2Controllers(const std::string& rel_parent) {
  static const std::vector<std::string> kWanted = {"cpu", "cpuset", "memory", "pids"};
  ASSIGN_OR_RETURN(std::string available, fs_->Read(Rel(rel_parent, "", "cgroup.controllers")));
  std::string subtree_file = Rel(rel_parent, "", "cgroup.subtree_control");
  ASSIGN_OR_RETURN(std::string enabled, fs_->Read(subtree_file));
  auto words = [](std::string_view text) {
    std::set<std::string> out;
    for (std::string_view w : Split(TrimSpace(text), ' ')) {
      if (!TrimSpace(w).empty()) {
        out.insert(std::string(TrimSpace(w)));
      }
    }
    return out;
  };
  std::set<std::string> have = words(available);
  std::set<std::string> on = words(enabled);
  for (const std::string& controller : kWanted) {
    if (have.count(controller) == 0 || on.count(controller) != 0) {
      continue;
    }
    // One controller per write: a combined write fails as a whole.
    RETURN_IF_ERROR(fs_->Write(subtree_file, absl::StrCat("+", controller)));
  }
  return absl::OkStatus();
}

Status CgroupfsManager::EnsureCgroup(const std::string& hierarchy, const std::string& path) {
  // The shared default parent may be removed by another daemon's last pod between two of our
  // mkdirs (RemoveCgroup); then the walk starts over.
  constexpr int kAttempts = 3;
  Status made;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    made = MakeCgroupDirs(hierarchy, path);
    if (!absl::IsNotFound(made)) {
      break;
    }
  }
  return made;
}

Status CgroupfsManager::MakeCgroupDirs(const std::string& hierarchy, const std::string& path) {
  const bool cpuset = layout_.version == CgroupVersion::kV1 &&
                      layout_.v1_controllers.count("cpuset") != 0 &&
                      layout_.v1_controllers.at("cpuset") == hierarchy;
  std::string current = "/";
  for (std::string_view part : Split(path, '/')) {
    if (part.empty()) {
      continue;
    }
    std::string parent_rel = Rel(hierarchy, current);
    if (layout_.version == CgroupVersion::kV2) {
      RETURN_IF_ERROR(EnableV2Controllers(parent_rel));
    }
    current = absl::StrCat(current == "/" ? "" : current, "/", std::string(part));
    std::string rel = Rel(hierarchy, current);
    Status made = fs_->MakeDir(rel);
    if (!made.ok() && !absl::IsAlreadyExists(made)) {
      return made;
    }
    // Also for an existing directory: another thread may have made it and not initialised it yet.
    if (cpuset) {
      RETURN_IF_ERROR(InitV1Cpuset(rel, parent_rel));
    }
  }
  return absl::OkStatus();
}

StatusOr<std::string> CgroupfsManager::CreatePodCgroup(std::string_view cgroup_parent,
                                                       std::string_view pod_id) {
  ASSIGN_OR_RETURN(std::string sandbox_path, cgroups::ContainerCgroupPath(cgroup_parent, pod_id));
  RETURN_IF_ERROR(Annotate(CreateCgroup(sandbox_path), absl::StrCat("pod ", std::string(pod_id))));
  return sandbox_path;
}

Status CgroupfsManager::CreateCgroup(const std::string& path) {
  RETURN_IF_ERROR(ValidateCgroupPath(path));
  for (const std::string& hierarchy : CreationHierarchies()) {
    RETURN_IF_ERROR(Annotate(EnsureCgroup(hierarchy, path), absl::StrCat("create cgroup ", path)));
  }
  return absl::OkStatus();
}

Status CgroupfsManager::ApplyV1(const std::string& path, const PodResources& r) {
  if (r.cpu_shares) {
    RETURN_IF_ERROR(fs_->Write(FilePath("cpu", path, "cpu.shares"),
                               absl::StrCat(std::clamp(*r.cpu_shares, kMinShares, kMaxShares))));
  }
  std::string period_file = FilePath("cpu", path, "cpu.cfs_period_us");
  std::string quota_file = FilePath("cpu", path, "cpu.cfs_quota_us");
  std::string quota = r.cpu_quota_us && *r.cpu_quota_us > 0 ? absl::StrCat(*r.cpu_quota_us) : "-1";
  if (r.cpu_period_us) {
    Status period_set = fs_->Write(period_file, absl::StrCat(*r.cpu_period_us));
    // The kernel checks the new period against the current quota; if that fails, set the quota
    // first and try again (as runc does).
    if (!period_set.ok() && r.cpu_quota_us && absl::IsInvalidArgument(period_set)) {
      RETURN_IF_ERROR(fs_->Write(quota_file, quota));
      period_set = fs_->Write(period_file, absl::StrCat(*r.cpu_period_us));
    }
    RETURN_IF_ERROR(period_set);
  }
  if (r.cpu_quota_us) {
    RETURN_IF_ERROR(fs_->Write(quota_file, quota));
  }
  if (r.memory_limit_bytes) {
    RETURN_IF_ERROR(fs_->Write(
        FilePath("memory", path, "memory.limit_in_bytes"),
        *r.memory_limit_bytes > 0 ? absl::StrCat(*r.memory_limit_bytes) : std::string("-1")));
  }
  if (r.cpuset_cpus) {
    RETURN_IF_ERROR(fs_->Write(FilePath("cpuset", path, "cpuset.cpus"), *r.cpuset_cpus));
  }
  if (r.cpuset_mems) {
    RETURN_IF_ERROR(fs_->Write(FilePath("cpuset", path, "cpuset.mems"), *r.cpuset_mems));
  }
  return absl::OkStatus();
}

Status CgroupfsManager::ApplyV2(const std::string& path, const PodResources& r) {
  if (r.cpu_shares) {
    RETURN_IF_ERROR(fs_->Write(FilePath("cpu", path, "cpu.weight"),
                               absl::StrCat(CpuSharesToWeight(*r.cpu_shares))));
  }
  if (r.cpu_quota_us || r.cpu_period_us) {
    std::string max_file = FilePath("cpu", path, "cpu.max");
    std::string quota;
    if (r.cpu_quota_us) {
      quota = *r.cpu_quota_us > 0 ? absl::StrCat(*r.cpu_quota_us) : "max";
    } else {
      // Only the period changes: keep the current quota ("$MAX $PERIOD").
      ASSIGN_OR_RETURN(std::string current, fs_->Read(max_file));
      std::string_view cur = TrimSpace(current);
      quota = std::string(cur.substr(0, cur.find(' ')));
    }
    std::string value = r.cpu_period_us ? absl::StrCat(quota, " ", *r.cpu_period_us) : quota;
    RETURN_IF_ERROR(fs_->Write(max_file, value));
  }
  if (r.memory_limit_bytes) {
    RETURN_IF_ERROR(fs_->Write(
        FilePath("memory", path, "memory.max"),
        *r.memory_limit_bytes > 0 ? absl::StrCat(*r.memory_limit_bytes) : std::string("max")));
  }
  if (r.cpuset_cpus) {
    RETURN_IF_ERROR(fs_->Write(FilePath("cpuset", path, "cpuset.cpus"), *r.cpuset_cpus));
  }
  if (r.cpuset_mems) {
    RETURN_IF_ERROR(fs_->Write(FilePath("cpuset", path, "cpuset.mems"), *r.cpuset_mems));
  }
  return absl::OkStatus();
}

Status CgroupfsManager::ApplyPodResources(const std::string& path, const PodResources& resources) {
  RETURN_IF_ERROR(ValidateCgroupPath(path));
  Status s =
      layout_.version == CgroupVersion::kV2 ? ApplyV2(path, resources) : ApplyV1(path, resources);
  return Annotate(s, absl::StrCat("apply resources to cgroup ", path));
}

Status CgroupfsManager::RemoveDirWaiting(const std::string& rel,
                                         std::chrono::steady_clock::time_point deadline) {
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    Status s = fs_->RemoveDir(rel);
    if (s.ok() || absl::IsNotFound(s)) {
      return absl::OkStatus();
    }
    // EBUSY: tasks that were just killed are still leaving the cgroup.
    if (!absl::IsFailedPrecondition(s) || std::chrono::steady_clock::now() >= deadline) {
      return s;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

Status CgroupfsManager::RemoveCgroup(const std::string& path) {
  RETURN_IF_ERROR(ValidateCgroupPath(path));
  std::vector<std::string> hierarchies;
  if (layout_.version == CgroupVersion::kV2) {
    hierarchies = {""};
  } else {
    hierarchies = layout_.v1_hierarchies;
    for (const std::string& h : CreationHierarchies()) {
      if (std::find(hierarchies.begin(), hierarchies.end(), h) == hierarchies.end()) {
        hierarchies.push_back(h);
      }
    }
  }
  // One deadline for all hierarchies: the same exiting tasks keep each of them busy.
  auto deadline = std::chrono::steady_clock::now() + busy_timeout_;
  Status first;
  for (const std::string& hierarchy : hierarchies) {
    Status s = RemoveDirWaiting(Rel(hierarchy, path), deadline);
    if (!s.ok() && first.ok()) {
      first = Annotate(s, absl::StrCat("remove cgroup ", path));
    }
  }
  if (first.ok() && std::filesystem::path(path).parent_path() == kDefaultCgroupParent) {
    RemoveDefaultParentIfUnused(hierarchies);
  }
  return first;
}

void CgroupfsManager::RemoveDefaultParentIfUnused(const std::vector<std::string>& hierarchies) {
  // The default parent is ours (the kubelet's parents are not): it goes with its last pod. One
  // rmdir per hierarchy, no waiting: EBUSY means other pods still live in it. Every pod of any
  // daemon has its sandbox directory in the hierarchies we create in, so those go first; only
  // when they are gone is no pod left whose runtime may be creating a container directory in
  // the others (freezer, devices, ...), which we never create in.
  const std::vector<std::string> ours = CreationHierarchies();
  for (const std::string& hierarchy : ours) {
    Status removed = fs_->RemoveDir(Rel(hierarchy, kDefaultCgroupParent));
    if (!removed.ok() && !absl::IsNotFound(removed)) return;
  }
  for (const std::string& hierarchy : hierarchies) {
    if (std::find(ours.begin(), ours.end(), hierarchy) != ours.end()) continue;
    (void)fs_->RemoveDir(Rel(hierarchy, kDefaultCgroupParent));
  }
}

Status CgroupfsManager::MoveProcess(pid_t pid, const std::string& path) {
  RETURN_IF_ERROR(ValidateCgroupPath(path));
  std::string context = absl::StrCat("move process ", pid, " to cgroup ", path);
  for (const std::string& hierarchy : CreationHierarchies()) {
    RETURN_IF_ERROR(Annotate(EnsureCgroup(hierarchy, path), context));
    RETURN_IF_ERROR(
        Annotate(fs_->Write(Rel(hierarchy, path, "cgroup.procs"), absl::StrCat(pid)), context));
  }
  return absl::OkStatus();
}

StatusOr<CgroupStats> CgroupfsManager::ReadStats(const std::string& path, unsigned parts) {
  RETURN_IF_ERROR(ValidateCgroupPath(path));
  auto read_u64 = [this](const std::string& rel) -> std::optional<uint64_t> {
    auto text = fs_->Read(rel);
    return text.ok() ? util::ParseUint64(TrimSpace(*text)) : std::nullopt;
  };
  auto read_keyed = [this](const std::string& rel, std::string_view key) {
    auto text = fs_->Read(rel);
    return text.ok() ? FlatKeyedValue(*text, key) : std::nullopt;
  };
  auto read_psi = [this, &path](std::string_view file) -> std::optional<Psi> {
    auto text = fs_->Read(FilePath("cpu", path, file));
    if (!text.ok()) return std::nullopt;
    return ParsePressure(*text);
  };
  const bool cpu = parts & kCpuStats, memory = parts & kMemoryStats, pids = parts & kPidsStats,
             oom = parts & kOomStats, pressure = parts & kPressureStats;
  CgroupStats stats;
  std::optional<uint64_t> inactive_file;
  if (layout_.version == CgroupVersion::kV2) {
    if (memory) {
      stats.memory_usage_bytes = read_u64(FilePath("memory", path, "memory.current"));
      auto memory_stat = fs_->Read(FilePath("memory", path, "memory.stat"));
      if (memory_stat.ok()) {
        inactive_file = FlatKeyedValue(*memory_stat, "inactive_file");
        stats.memory_rss_bytes = FlatKeyedValue(*memory_stat, "anon");
        stats.memory_page_faults = FlatKeyedValue(*memory_stat, "pgfault");
        stats.memory_major_page_faults = FlatKeyedValue(*memory_stat, "pgmajfault");
      }
      stats.memory_limit_bytes = read_u64(FilePath("memory", path, "memory.max"));  // "max": none
      stats.swap_usage_bytes = read_u64(FilePath("memory", path, "memory.swap.current"));
      stats.swap_limit_bytes = read_u64(FilePath("memory", path, "memory.swap.max"));
    }
    if (oom) stats.oom_kills = read_keyed(FilePath("memory", path, "memory.events"), "oom_kill");
    if (cpu) {
      auto usage_usec = read_keyed(FilePath("cpu", path, "cpu.stat"), "usage_usec");
      if (usage_usec) stats.cpu_usage_ns = *usage_usec * 1000;
    }
    if (pressure && cpu) stats.cpu_pressure = read_psi("cpu.pressure");
    if (pressure && memory) {
      stats.memory_pressure = read_psi("memory.pressure");
      stats.io_pressure = read_psi("io.pressure");
    }
  } else {
    if (memory) {
      stats.memory_usage_bytes = read_u64(FilePath("memory", path, "memory.usage_in_bytes"));
      auto memory_stat = fs_->Read(FilePath("memory", path, "memory.stat"));
      if (memory_stat.ok()) {
        inactive_file = FlatKeyedValue(*memory_stat, "total_inactive_file");
        stats.memory_rss_bytes = FlatKeyedValue(*memory_stat, "total_rss");
        stats.memory_page_faults = FlatKeyedValue(*memory_stat, "total_pgfault");
        stats.memory_major_page_faults = FlatKeyedValue(*memory_stat, "total_pgmajfault");
        // memory.stat also carries the limit and (with swap accounting) the swap in use, which
        // saves opening memory.limit_in_bytes and memory.memsw.usage_in_bytes. v1 reports "no
        // limit" as PAGE_COUNTER_MAX rounded to pages: anything past 2^62 is that.
        auto limit = FlatKeyedValue(*memory_stat, "hierarchical_memory_limit");
        if (limit && *limit < (uint64_t{1} << 62)) stats.memory_limit_bytes = limit;
        stats.swap_usage_bytes = FlatKeyedValue(*memory_stat, "total_swap");
      }
    }
    if (oom)
      stats.oom_kills = read_keyed(FilePath("memory", path, "memory.oom_control"), "oom_kill");
    if (cpu) stats.cpu_usage_ns = read_u64(FilePath("cpuacct", path, "cpuacct.usage"));
  }
  if (pids) stats.pids_current = read_u64(FilePath("pids", path, "pids.current"));
  // Nothing readable: tell a missing cgroup (checked only now, to keep the common case to the
  // reads alone) from one whose controllers are not enabled.
  if (!stats.memory_usage_bytes && !stats.cpu_usage_ns && !stats.pids_current) {
    bool exists = false;
    for (const std::string& hierarchy : CreationHierarchies()) {
      exists = exists || fs_->Exists(Rel(hierarchy, path));
    }
    if (!exists) return NotFound(absl::StrCat("cgroup ", path, " does not exist"));
  }
  if (stats.memory_usage_bytes) {
    // Working set as the kubelet computes it: usage minus inactive file cache, floored at 0.
    uint64_t inactive = inactive_file.value_or(0);
    stats.memory_working_set_bytes =
        *stats.memory_usage_bytes > inactive ? *stats.memory_usage_bytes - inactive : 0;
  }
  return stats;
}

// --- Choosing a manager
// ----------------------------------------------------------------------------

StatusOr<std::string> InitProcessName(const std::string& proc_root) {
  auto fs = MakeHostCgroupFs(proc_root);
  ASSIGN_OR_RETURN(std::string comm, fs->Read("1/comm"));
  return std::string(TrimSpace(comm));
}

StatusOr<CgroupManagerChoice> ChooseCgroupManager(std::string_view configured,
                                                  std::string_view pid1_name) {
  CgroupManagerChoice choice;
  if (configured == kCgroupfsManagerName) {
    return choice;
  }
  if (configured != kSystemdManagerName) {
    return InvalidArgument(absl::StrCat("unknown cgroup_manager \"", std::string(configured),
                                        "\" (want \"systemd\" or \"cgroupfs\")"));
  }
  if (pid1_name == "systemd") {
    choice.kind = CgroupManagerKind::kSystemd;
    return choice;
  }
  choice.warning = absl::StrCat(
      "cgroup_manager = \"systemd\" but systemd is not running (PID 1 is ", std::string(pid1_name),
      "); falling back to \"cgroupfs\". Configure the kubelet with "
      "cgroupDriver: cgroupfs to match.");
  return choice;
}

}  // namespace crio::cgroups
