#include "container/spec_mounts.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <deque>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "os/file.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::container {
namespace spec_internal {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

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

// crio.conf read_only: writable scratch space where programs expect it. "tmpcopyup" (runc and
// crun) copies the image's content into the tmpfs.
void AddReadOnlyScratchMounts(MountList& mounts) {
  for (const auto& [dest, mode] : std::vector<std::pair<std::string, std::string>>{
           {"/run", "mode=0755"}, {"/tmp", "mode=1777"}, {"/var/tmp", "mode=1777"}}) {
    mounts.Add(
        Mount(dest, "tmpfs", "tmpfs", {"rw", "noexec", "nosuid", "nodev", "tmpcopyup", mode}));
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

// image_volumes = "bind": a bind mount of a fresh directory (PrepareRootfs) per image volume.
void AddImageVolumeBinds(const ContainerContext& ctx, const std::set<std::string>& cri_destinations,
                         std::vector<json>& binds) {
  const SpecInputs& in = ctx.in;
  if (in.image == nullptr || in.image_volumes != "bind") {
    return;
  }
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
void SortByDepth(std::vector<json>& binds) {
  std::stable_sort(binds.begin(), binds.end(), [](const json& a, const json& b) {
    return PathDepth(CleanPath(a["destination"].get<std::string>())) <
           PathDepth(CleanPath(b["destination"].get<std::string>()));
  });
}

}  // namespace

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

Status AddContainerMounts(const ContainerContext& ctx, const NamespacePlan& plan, json& spec) {
  ASSIGN_OR_RETURN(CriMounts cri, ConvertCriMounts(ctx.config, ctx.rc, ctx.host));
  std::set<std::string> cri_destinations;
  for (const json& m : cri.mounts) {
    cri_destinations.insert(CleanPath(m["destination"].get<std::string>()));
  }
  MountList mounts(cri_destinations);
  AddStandardMounts(mounts, ctx.privileged);
  AddShmMount(mounts, ctx.in.pod, plan.host_ipc);
  AddPodFileMounts(mounts, ctx.in.pod, plan.host_net, ctx.readonly_root);
  if (ctx.rc.read_only) {
    AddReadOnlyScratchMounts(mounts);
  }
  std::vector<json> binds = std::move(cri.mounts);
  AddImageVolumeBinds(ctx, cri_destinations, binds);
  SortByDepth(binds);
  for (json& m : binds) mounts.AddUnchecked(std::move(m));
  spec["mounts"] = mounts.Take();
  if (!cri.rootfs_propagation.empty()) spec["linux"]["rootfsPropagation"] = cri.rootfs_propagation;
  return absl::OkStatus();
}

json SandboxMounts(const PodResources& pod, const NamespacePlan& plan) {
  MountList mounts({});
  AddStandardMounts(mounts, false);
  AddShmMount(mounts, pod, plan.host_ipc);
  if (!pod.resolv_conf_file.empty()) {
    mounts.Add(Mount("/etc/resolv.conf", "bind", pod.resolv_conf_file,
                     {"ro", "bind", "nodev", "nosuid", "noexec"}));
  }
  if (!pod.hostname_file.empty()) {
    mounts.Add(Mount("/etc/hostname", "bind", pod.hostname_file, {"ro", "bind"}));
  }
  return mounts.Take();
}

}  // namespace spec_internal

// ---------------------------------------------------------------------------------------------
// PrepareRootfs

namespace {

using spec_internal::CleanPath;

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
