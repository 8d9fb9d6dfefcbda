#include "storage/overlay.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/fs_tree.h"
#include "util/log.h"

namespace crio::storage {
namespace {

bool HasOverlaySeparator(const std::string& s) {
  return s.find_first_of(",:\\") != std::string::npos;
}

Status CheckPathPart(const std::string& what, const std::string& s) {
  if (s.empty()) {
    return InvalidArgument(absl::StrCat("overlay ", what, " is empty"));
  }
  if (HasOverlaySeparator(s)) {
    return InvalidArgument(absl::StrCat("overlay ", what, " `", s, "` contains ',', ':' or '\\'"));
  }
  return absl::OkStatus();
}

size_t MaxMountData() {
  long page = sysconf(_SC_PAGESIZE);
  return static_cast<size_t>(page > 0 ? page : 4096) - 1;  // the kernel wants a NUL in the page
}

Status MountErrno(int err, const OverlaySpec& spec) {
  return ErrnoError(err, absl::StrCat("mount overlay `", spec.target, "`"));
}

// Runs in a clone(CLONE_VM | CLONE_VFORK) child: its own cwd, shared memory, parent suspended.
// Only async-signal-safe syscalls; the result travels as the exit code (0 or an errno).
struct RelativeMountArgs {
  const char* dir;
  const char* target;
  const char* data;
};

int RelativeMountChild(void* arg) {
  auto* a = static_cast<RelativeMountArgs*>(arg);
  if (chdir(a->dir) != 0) {
    return errno;
  }
  if (mount("overlay", a->target, "overlay", 0, a->data) != 0) {
    return errno;
  }
  return 0;
}

Status MountRelative(const OverlaySpec& spec, const std::string& data) {
  RelativeMountArgs args{spec.link_dir.c_str(), spec.target.c_str(), data.c_str()};
  constexpr size_t kStackSize = 64 * 1024;
  std::vector<char> stack(kStackSize);
  // No CLONE_FS: the child's chdir must not move the cwd of the daemon's other threads.
  pid_t pid = clone(RelativeMountChild, stack.data() + stack.size(),
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) {
    return ErrnoError(errno, "clone for overlay mount");
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      return ErrnoError(errno, "wait for overlay mount child");
    }
  }
  if (!WIFEXITED(wstatus)) {
    return Internal(absl::StrCat("overlay mount child for `", spec.target, "` died"));
  }
  int err = WEXITSTATUS(wstatus);
  if (err != 0) {
    return Annotate(MountErrno(err, spec), "with relative lowerdir");
  }
  return absl::OkStatus();
}

}  // namespace

ScopedMount::~ScopedMount() {
  if (target_.empty()) {
    return;
  }
  Status st = UnmountDetach(target_);
  if (!st.ok()) {
    CRIO_LOG_WARN("rollback of mount {} failed: {}", target_, Message(st));
  }
}

StatusOr<std::string> OverlayMountData(const OverlaySpec& spec, bool relative_lowers) {
  if (spec.lower_links.empty()) {
    return InvalidArgument("overlay mount needs at least one lower dir");
  }
  RETURN_IF_ERROR(CheckPathPart("link dir", spec.link_dir));
  RETURN_IF_ERROR(CheckPathPart("upper dir", spec.upper_dir));
  RETURN_IF_ERROR(CheckPathPart("work dir", spec.work_dir));
  std::vector<std::string> lowers;
  lowers.reserve(spec.lower_links.size());
  for (const std::string& link : spec.lower_links) {
    RETURN_IF_ERROR(CheckPathPart("lower dir", link));
    lowers.push_back(relative_lowers ? link : absl::StrCat(spec.link_dir, "/", link));
  }
  std::string data = absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":"),
                                  ",upperdir=", spec.upper_dir, ",workdir=", spec.work_dir);
  if (!spec.options.empty()) {
    absl::StrAppend(&data, ",", spec.options);
  }
  if (!spec.mount_label.empty()) {
    if (spec.mount_label.find('"') != std::string::npos) {
      return InvalidArgument(absl::StrCat("mount label `", spec.mount_label, "` contains '\"'"));
    }
    absl::StrAppend(&data, ",context=\"", spec.mount_label, "\"");
  }
  if (data.size() > MaxMountData()) {
    return InvalidArgument(absl::StrCat("overlay mount data for `", spec.target, "` is ",
                                        data.size(), " bytes (", spec.lower_links.size(),
                                        " layers), more than the ", MaxMountData(),
                                        " bytes the kernel accepts"));
  }
  return data;
}

Status MountOverlay(const OverlaySpec& spec, LowerPaths mode) {
  if (mode != LowerPaths::kRelative) {
    StatusOr<std::string> data = OverlayMountData(spec, /*relative_lowers=*/false);
    if (data.ok()) {
      if (mount("overlay", spec.target.c_str(), "overlay", 0, data->c_str()) != 0) {
        return MountErrno(errno, spec);
      }
      return absl::OkStatus();
    }
    if (mode == LowerPaths::kAbsolute) {
      return data.status();
    }
  }
  ASSIGN_OR_RETURN(std::string data, OverlayMountData(spec, /*relative_lowers=*/true));
  return MountRelative(spec, data);
}

Status UnmountDetach(const std::string& target) {
  if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("umount `", target, "`"));
  }
  return absl::OkStatus();
}

bool IsMountPoint(const std::string& path) {
  struct statx stx;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0) {
    return false;
  }
  if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0) {
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  // Kernels before 5.8: a different device than the parent (true for every overlay mount).
  struct stat self;
  struct stat parent;
  std::string parent_path = absl::StrCat(path, "/..");
  return lstat(path.c_str(), &self) == 0 && stat(parent_path.c_str(), &parent) == 0 &&
         self.st_dev != parent.st_dev;
}

Status EnsureSymlink(const std::string& link_path, const std::string& target) {
  if (symlink(target.c_str(), link_path.c_str()) == 0) {
    return absl::OkStatus();
  }
  if (errno != EEXIST) {
    return ErrnoError(errno, absl::StrCat("symlink `", link_path, "`"));
  }
  char buf[PATH_MAX];
  ssize_t n = readlink(link_path.c_str(), buf, sizeof(buf));
  if (n >= 0 && std::string(buf, static_cast<size_t>(n)) == target) {
    return absl::OkStatus();
  }
  // A stale link (or something else) under our name: replace it atomically.
  std::string tmp = absl::StrCat(link_path, ".tmp");
  unlink(tmp.c_str());
  if (symlink(target.c_str(), tmp.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("symlink `", tmp, "`"));
  }
  if (rename(tmp.c_str(), link_path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoError(err, absl::StrCat("rename to `", link_path, "`"));
  }
  return absl::OkStatus();
}

StatusOr<std::string> ProbeOverlay(const std::string& scratch_dir,
                                   const std::vector<std::string>& candidates) {
  Status last = Unavailable("no overlay option set to try");
  for (const std::string& options : candidates) {
    for (const char* sub : {"lower", "upper", "work", "merged"}) {
      RETURN_IF_ERROR(MakeDir(absl::StrCat(scratch_dir, "/", sub), 0700));
    }
    { std::ofstream(absl::StrCat(scratch_dir, "/lower/probe")) << "probe"; }
    OverlaySpec spec{scratch_dir,
                     {"lower"},
                     absl::StrCat(scratch_dir, "/upper"),
                     absl::StrCat(scratch_dir, "/work"),
                     absl::StrCat(scratch_dir, "/merged"),
                     options,
                     ""};
    last = MountOverlay(spec, LowerPaths::kAbsolute);
    if (last.ok()) {
      ScopedMount guard(spec.target);
      struct stat st;
      if (stat(absl::StrCat(spec.target, "/probe").c_str(), &st) != 0) {
        last = Internal(absl::StrCat("overlay probe mount at `", spec.target,
                                     "` does not show the lower file"));
      }
    }
    // Empty the scratch dir for the next candidate (also removes overlay's work/work).
    for (const char* sub : {"lower", "upper", "work", "merged"}) {
      RETURN_IF_ERROR(RemoveTree(absl::StrCat(scratch_dir, "/", sub)));
    }
    if (last.ok()) {
      return options;
    }
  }
  return last;
}

}  // namespace crio::storage
