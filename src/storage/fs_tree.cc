#include "storage/fs_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "os/mount_point.h"
#include "os/unique_fd.h"

namespace crio::storage {
namespace {

using os::UniqueFd;
using InodeKey = std::pair<dev_t, ino_t>;

// Path of `name` inside the directory open as `dfd`, usable with l*xattr and umount2 without
// re-walking (and re-trusting) the directories above it.
std::string FdPath(int dfd, const char* name) {
  return absl::StrCat("/proc/self/fd/", dfd, "/", name);
}

std::string Join(const std::string& dir, const char* name) { return absl::StrCat(dir, "/", name); }

// Entry names of an open directory ("." and ".." left out). Read fully before the caller
// changes the directory, since readdir order is unspecified while entries are removed.
StatusOr<std::vector<std::string>> ListDir(int dfd, const std::string& path) {
  int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    return ErrnoError(errno, absl::StrCat("dup `", path, "`"));
  }
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    close(dup_fd);
    return ErrnoError(err, absl::StrCat("opendir `", path, "`"));
  }
  rewinddir(dir);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* ent = readdir(dir);
    if (ent == nullptr) {
      int err = errno;
      closedir(dir);
      if (err != 0) {
        return ErrnoError(err, absl::StrCat("readdir `", path, "`"));
      }
      return names;
    }
    std::string_view name = ent->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
}

StatusOr<UniqueFd> OpenDirAt(int dfd, const char* name, const std::string& path) {
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("open `", path, "`"));
  }
  return UniqueFd(fd);
}

// ---- copy ----------------------------------------------------------------------------------

struct CopyContext {
  int dst_root_fd;
  // First copy of each multiply-linked inode, relative to the destination root.
  std::map<InodeKey, std::string> first_link;
};

Status CopyXattrs(const std::string& src, const std::string& dst, bool is_symlink,
                  const std::string& display) {
  ssize_t len = llistxattr(src.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) {
      return absl::OkStatus();
    }
    return ErrnoError(errno, absl::StrCat("listxattr `", display, "`"));
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = llistxattr(src.c_str(), names.data(), names.size());
  if (len < 0) {
    return ErrnoError(errno, absl::StrCat("listxattr `", display, "`"));
  }
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t vlen = lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) {
      return ErrnoError(errno, absl::StrCat("getxattr ", name, " `", display, "`"));
    }
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) {
      return ErrnoError(errno, absl::StrCat("getxattr ", name, " `", display, "`"));
    }
    value.resize(static_cast<size_t>(vlen));
    if (lsetxattr(dst.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      // The destination filesystem may not support a namespace, and the kernel refuses user.*
      // attributes on symlinks; neither can be reproduced, and neither matters for a rootfs.
      if (errno == ENOTSUP || (errno == EPERM && is_symlink)) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("setxattr ", name, " `", display, "`"));
    }
  }
  return absl::OkStatus();
}

// Ownership first (chown clears set-id bits and file capabilities), then mode, xattrs, times.
Status CopyAttributesAt(int src_dfd, int dst_dfd, const char* name, const struct stat& st,
                        const std::string& display) {
  if (fchownat(dst_dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("chown `", display, "`"));
  }
  bool is_symlink = S_ISLNK(st.st_mode);
  if (!is_symlink && fchmodat(dst_dfd, name, st.st_mode & 07777, 0) != 0) {
    return ErrnoError(errno, absl::StrCat("chmod `", display, "`"));
  }
  RETURN_IF_ERROR(CopyXattrs(FdPath(src_dfd, name), FdPath(dst_dfd, name), is_symlink, display));
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (utimensat(dst_dfd, name, times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("utimensat `", display, "`"));
  }
  return absl::OkStatus();
}

Status CopyFileData(int in, int out, const std::string& display) {
  if (ioctl(out, FICLONE, in) == 0) {
    return absl::OkStatus();
  }
  bool copied_any = false;
  while (true) {
    ssize_t n = copy_file_range(in, nullptr, out, nullptr, size_t{1} << 30, 0);
    if (n > 0) {
      copied_any = true;
      continue;
    }
    if (n == 0) {
      return absl::OkStatus();
    }
    if (errno == EINTR) {
      continue;
    }
    if (copied_any ||
        (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)) {
      return ErrnoError(errno, absl::StrCat("copy_file_range `", display, "`"));
    }
    break;  // Not supported between these files: plain read/write below.
  }
  std::vector<char> buf(128 * 1024);
  while (true) {
    ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ErrnoError(errno, absl::StrCat("read `", display, "`"));
    }
    if (n == 0) {
      return absl::OkStatus();
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w < 0) {
        return ErrnoError(errno, absl::StrCat("write copy of `", display, "`"));
      }
      done += w;
    }
  }
}

Status CopyRegular(int src_dfd, int dst_dfd, const char* name, const std::string& display) {
  UniqueFd in(openat(src_dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) {
    return ErrnoError(errno, absl::StrCat("open `", display, "`"));
  }
  UniqueFd out(openat(dst_dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) {
    return ErrnoError(errno, absl::StrCat("create copy of `", display, "`"));
  }
  return CopyFileData(in.get(), out.get(), display);
}

Status CopyDir(int src_dfd, int dst_dfd, const std::string& src_path, const std::string& rel,
               CopyContext& ctx);

Status CopyEntry(int src_dfd, int dst_dfd, const std::string& src_path, const std::string& rel,
                 const std::string& name, CopyContext& ctx) {
  std::string display = Join(src_path, name.c_str());
  std::string entry_rel = rel.empty() ? name : absl::StrCat(rel, "/", name);
  struct stat st;
  if (fstatat(src_dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("stat `", display, "`"));
  }
  bool multi_linked = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
  if (multi_linked) {
    auto it = ctx.first_link.find({st.st_dev, st.st_ino});
    if (it != ctx.first_link.end()) {
      if (linkat(ctx.dst_root_fd, it->second.c_str(), dst_dfd, name.c_str(), 0) != 0) {
        return ErrnoError(errno, absl::StrCat("link copy of `", display, "`"));
      }
      return absl::OkStatus();
    }
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (mkdirat(dst_dfd, name.c_str(), 0700) != 0) {
        return ErrnoError(errno, absl::StrCat("mkdir copy of `", display, "`"));
      }
      ASSIGN_OR_RETURN(UniqueFd sub_src, OpenDirAt(src_dfd, name.c_str(), display));
      ASSIGN_OR_RETURN(UniqueFd sub_dst, OpenDirAt(dst_dfd, name.c_str(), display));
      RETURN_IF_ERROR(CopyDir(sub_src.get(), sub_dst.get(), display, entry_rel, ctx));
      break;
    }
    case S_IFREG:
      RETURN_IF_ERROR(CopyRegular(src_dfd, dst_dfd, name.c_str(), display));
      break;
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1, '\0');
      ssize_t n = readlinkat(src_dfd, name.c_str(), target.data(), target.size());
      if (n < 0) {
        return ErrnoError(errno, absl::StrCat("readlink `", display, "`"));
      }
      target.resize(static_cast<size_t>(n));
      if (symlinkat(target.c_str(), dst_dfd, name.c_str()) != 0) {
        return ErrnoError(errno, absl::StrCat("symlink copy of `", display, "`"));
      }
      break;
    }
    default:  // char/block devices (including overlay whiteouts), fifos, sockets
      if (mknodat(dst_dfd, name.c_str(), st.st_mode & S_IFMT, st.st_rdev) != 0) {
        return ErrnoError(errno, absl::StrCat("mknod copy of `", display, "`"));
      }
      break;
  }
  RETURN_IF_ERROR(CopyAttributesAt(src_dfd, dst_dfd, name.c_str(), st, display));
  if (multi_linked) {
    ctx.first_link.emplace(InodeKey{st.st_dev, st.st_ino}, entry_rel);
  }
  return absl::OkStatus();
}

Status CopyDir(int src_dfd, int dst_dfd, const std::string& src_path, const std::string& rel,
               CopyContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(src_dfd, src_path));
  for (const std::string& name : names) {
    RETURN_IF_ERROR(CopyEntry(src_dfd, dst_dfd, src_path, rel, name, ctx));
  }
  return absl::OkStatus();
}

// ---- remove --------------------------------------------------------------------------------

Status DetachIfMounted(int dfd, const char* name, const std::string& display) {
  return Annotate(os::DetachMount(FdPath(dfd, name)), absl::StrCat("`", display, "`"));
}

Status RemoveContents(int dfd, const std::string& path, dev_t dev) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dfd, path));
  for (const std::string& name : names) {
    std::string display = Join(path, name.c_str());
    struct stat st;
    if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("stat `", display, "`"));
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) {
        RETURN_IF_ERROR(DetachIfMounted(dfd, name.c_str(), display));
      }
      ASSIGN_OR_RETURN(UniqueFd sub, OpenDirAt(dfd, name.c_str(), display));
      RETURN_IF_ERROR(RemoveContents(sub.get(), display, dev));
    }
    if (unlinkat(dfd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
        errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("remove `", display, "`"));
    }
  }
  return absl::OkStatus();
}

// ---- measure -------------------------------------------------------------------------------

struct MeasureContext {
  dev_t dev;
  std::set<InodeKey> seen_multi_linked;
  TreeUsage usage;
};

void Count(const struct stat& st, MeasureContext& ctx) {
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
      !ctx.seen_multi_linked.insert({st.st_dev, st.st_ino}).second) {
    return;
  }
  ctx.usage.inodes++;
  ctx.usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
}

Status MeasureDir(int dfd, const std::string& path, MeasureContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dfd, path));
  for (const std::string& name : names) {
    std::string display = Join(path, name.c_str());
    struct stat st;
    if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        continue;  // removed while we walk (a layer being deleted): not ours to count
      }
      return ErrnoError(errno, absl::StrCat("stat `", display, "`"));
    }
    if (st.st_dev != ctx.dev) {
      continue;  // a mount (e.g. a container rootfs): its space belongs to its own filesystem
    }
    Count(st, ctx);
    if (S_ISDIR(st.st_mode)) {
      StatusOr<UniqueFd> sub = OpenDirAt(dfd, name.c_str(), display);
      if (!sub.ok() && absl::IsNotFound(sub.status())) {
        continue;
      }
      RETURN_IF_ERROR(sub.status());
      Status st_walk = MeasureDir(sub->get(), display, ctx);
      if (!st_walk.ok() && !absl::IsNotFound(st_walk)) {
        return st_walk;
      }
    }
  }
  return absl::OkStatus();
}

bool IsPathPrefix(const std::string& prefix, const std::string& path) {
  if (prefix == "/") {
    return true;
  }
  return path.compare(0, prefix.size(), prefix) == 0 &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

Status CopyTree(const std::string& src_dir, const std::string& dst_dir) {
  ASSIGN_OR_RETURN(UniqueFd src, OpenDirAt(AT_FDCWD, src_dir.c_str(), src_dir));
  ASSIGN_OR_RETURN(UniqueFd dst, OpenDirAt(AT_FDCWD, dst_dir.c_str(), dst_dir));
  CopyContext ctx{dst.get(), {}};
  RETURN_IF_ERROR(CopyDir(src.get(), dst.get(), src_dir, "", ctx));
  struct stat st;
  if (fstat(src.get(), &st) != 0) {
    return ErrnoError(errno, absl::StrCat("stat `", src_dir, "`"));
  }
  return CopyAttributesAt(src.get(), dst.get(), ".", st, src_dir);
}

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::OkStatus();
    }
    return ErrnoError(errno, absl::StrCat("stat `", path, "`"));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("remove `", path, "`"));
    }
    return absl::OkStatus();
  }
  // If `path` itself is a mount point, detach it so that we delete the directory underneath.
  std::string parent = path.substr(0, path.find_last_of('/'));
  struct stat parent_st;
  if (!parent.empty() && lstat(parent.c_str(), &parent_st) == 0 && parent_st.st_dev != st.st_dev) {
    RETURN_IF_ERROR(os::DetachMount(path));
    if (lstat(path.c_str(), &st) != 0) {
      return ErrnoError(errno, absl::StrCat("stat `", path, "`"));
    }
  }
  ASSIGN_OR_RETURN(UniqueFd fd, OpenDirAt(AT_FDCWD, path.c_str(), path));
  RETURN_IF_ERROR(RemoveContents(fd.get(), path, st.st_dev));
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("rmdir `", path, "`"));
  }
  return absl::OkStatus();
}

StatusOr<TreeUsage> MeasureTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return ErrnoError(errno, absl::StrCat("stat `", path, "`"));
  }
  MeasureContext ctx{st.st_dev, {}, {}};
  Count(st, ctx);
  if (S_ISDIR(st.st_mode)) {
    ASSIGN_OR_RETURN(UniqueFd fd, OpenDirAt(AT_FDCWD, path.c_str(), path));
    RETURN_IF_ERROR(MeasureDir(fd.get(), path, ctx));
  }
  return ctx.usage;
}

StatusOr<std::string> FindMountPoint(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return ErrnoError(errno, absl::StrCat("realpath `", path, "`"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> mount_points, os::ListMountPoints());
  // The last matching entry wins for equal mount points: later mounts stack on earlier ones.
  std::string best = "/";
  for (std::string& mount_point : mount_points) {
    if (IsPathPrefix(mount_point, resolved) && mount_point.size() >= best.size()) {
      best = std::move(mount_point);
    }
  }
  return best;
}

Status FsyncPath(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("open `", path, "`"));
  }
  if (fsync(fd.get()) != 0) {
    return ErrnoError(errno, absl::StrCat("fsync `", path, "`"));
  }
  return absl::OkStatus();
}

Status MakeDir(const std::string& path, unsigned mode) {
  if (mkdir(path.c_str(), mode) == 0) {
    return absl::OkStatus();
  }
  int err = errno;
  struct stat st;
  if (err == EEXIST && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::OkStatus();
  }
  return ErrnoError(err, absl::StrCat("mkdir `", path, "`"));
}

}  // namespace crio::storage
