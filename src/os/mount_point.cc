#include "os/mount_point.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

}  // namespace crio::os
