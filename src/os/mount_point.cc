#include "os/mount_point.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "os/file.h"
#include "os/process.h"
#include "util/strings.h"

namespace crio::os {

StatusOr<bool> IsMountRoot(const std::string& path) {
  struct statx stx;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS,
            &stx) != 0) {
    if (errno == ENOENT) {
      return false;
    }
    return ErrnoError(errno, absl::StrCat("statx `", path, "`"));
  }
  if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0) {
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  // Kernels before 5.8: a mount root lives on another device than its parent directory.
  std::string parent = path.substr(0, path.find_last_of('/') + 1) + ".";
  struct stat parent_st;
  if (stat(parent.c_str(), &parent_st) != 0) {
    return ErrnoError(errno, absl::StrCat("stat `", parent, "`"));
  }
  return makedev(stx.stx_dev_major, stx.stx_dev_minor) != parent_st.st_dev;
}

namespace {

// What MountFrom's child needs. It shares our memory, so `chdir_failed` comes back directly.
struct MountFromArgs {
  const char* dir;
  const char* source;
  const char* target;
  const char* fstype;
  unsigned long flags;
  const char* data;
  bool chdir_failed;  // safe to read once it exits: CLONE_VFORK suspends us until then
};

// Runs in a CLONE_VM | CLONE_VFORK child: only raw syscalls; the result is the exit code
// (0 or an errno).
int MountFromChild(void* opaque) {
  auto* args = static_cast<MountFromArgs*>(opaque);
  if (chdir(args->dir) != 0) {
    args->chdir_failed = true;
    return errno;
  }
  if (mount(args->source, args->target, args->fstype, args->flags, args->data) != 0) {
    return errno;
  }
  return 0;
}

// The fifth field of a mountinfo line (id, parent, major:minor, root, mount point, ...),
// still escaped; empty for a short line.
std::string_view MountPointField(std::string_view line) {
  size_t start = 0;
  for (int field = 0; field < 4; ++field) {
    size_t space = line.find(' ', start);
    if (space == std::string_view::npos) {
      return {};
    }
    start = space + 1;
  }
  return line.substr(start, line.find(' ', start) - start);
}

}  // namespace

Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
             unsigned long flags, const std::string& data) {
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("mount ", fstype, " on `", target, "`"));
  }
  return absl::OkStatus();
}

Status MountFrom(const std::string& dir, const std::string& source, const std::string& target,
                 const std::string& fstype, unsigned long flags, const std::string& data) {
  MountFromArgs args{dir.c_str(), source.c_str(), target.c_str(), fstype.c_str(),
                     flags,       data.c_str(),   false};
  // No CLONE_FS: the child's chdir must not move the cwd of the daemon's other threads.
  ASSIGN_OR_RETURN(ChildProcess child,
                   CloneChild(CLONE_VM | CLONE_VFORK, MountFromChild, &args, 64 << 10));
  ASSIGN_OR_RETURN(ExitStatus exit, child.Wait());
  if (exit.signal != 0) {
    return Internal(absl::StrCat("mount child for `", target, "` died: ", exit.ToString()));
  }
  if (exit.exit_code == 0) {
    return absl::OkStatus();
  }
  if (args.chdir_failed) {
    return ErrnoError(exit.exit_code, absl::StrCat("chdir `", dir, "` to mount"));
  }
  return ErrnoError(exit.exit_code,
                    absl::StrCat("mount ", fstype, " on `", target, "` from `", dir, "`"));
}

Status BindMount(const std::string& source, const std::string& target) {
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError(errno, absl::StrCat("bind mount `", source, "` on `", target, "`"));
  }
  return absl::OkStatus();
}

Status DetachMount(const std::string& target) {
  if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("umount `", target, "`"));
  }
  return absl::OkStatus();
}

std::string UnescapeMountInfo(std::string_view field) {
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

StatusOr<std::vector<std::string>> ListMountPoints() {
  // Read whole: the kernel builds the table per read anyway, and 64 MiB is ~400k mounts.
  ASSIGN_OR_RETURN(std::string table, ReadSmallFile("/proc/self/mountinfo", 64 << 20));
  std::vector<std::string> points;
  for (const std::string& line : util::SplitNonEmpty(table, '\n')) {
    std::string_view field = MountPointField(line);
    if (!field.empty()) {
      points.push_back(UnescapeMountInfo(field));
    }
  }
  return points;
}

std::vector<std::string> MountsBelow(const std::string& dir) {
  std::vector<std::string> mounts;
  const std::string prefix = dir.back() == '/' ? dir : dir + "/";
  // An unreadable table lists nothing, as an empty one would.
  for (std::string& point : ListMountPoints().value_or(std::vector<std::string>())) {
    if (point == dir || point.starts_with(prefix)) {
      mounts.push_back(std::move(point));
    }
  }
  // Deepest first: children before their parents.
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return mounts;
}

Status UnmountAllBelow(const std::string& dir) {
  Status first;
  for (const std::string& mount : MountsBelow(dir)) {
    Status detached = DetachMount(mount);
    if (!detached.ok() && first.ok()) {
      first = detached;
    }
  }
  return first;
}

}  // namespace crio::os
