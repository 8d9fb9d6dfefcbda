#include "os/mount_point.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <fstream>
#include <sstream>

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

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountPath(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::strtol(s.substr(i + 1, 3).c_str(), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> MountsBelow(const std::string& dir) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/self/mountinfo");
  const std::string prefix = dir.back() == '/' ? dir : dir + "/";
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    mount_point = UnescapeMountPath(mount_point);
    if (mount_point == dir || mount_point.rfind(prefix, 0) == 0) mounts.push_back(mount_point);
  }
  // Deepest first: children before their parents.
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return mounts;
}

Status UnmountAllBelow(const std::string& dir) {
  Status first;
  for (const std::string& mount : MountsBelow(dir)) {
    if (umount2(mount.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
        errno != ENOENT && first.ok()) {
      first = ErrnoError(errno, absl::StrCat("unmount ", mount));
    }
  }
  return first;
}

}  // namespace crio::os
