#pragma once
// Whole-tree filesystem operations used by the store: copy (vfs driver), remove, measure.
// All of them work fd-relative and never follow symlinks found inside the tree, because layer
// contents come from images and may hold hostile symlinks.
// TODO(storage): move to src/os next to the other syscall wrappers once that folder has a
// filesystem module.

#include <cstdint>
#include <string>

#include "util/status.h"

namespace crio::storage {

// Copies everything below `src_dir` into the existing, empty directory `dst_dir` (cp -a):
// file types (regular, dir, symlink, device, fifo, socket), ownership, mode bits, xattrs
// (including security.* and trusted.*), timestamps, and hardlinks between files of the tree.
// Regular files are cloned (FICLONE) where the filesystem can, else copied with
// copy_file_range. The attributes of `dst_dir` itself are copied from `src_dir`.
// Errors: the first failing syscall, naming the path.
Status CopyTree(const std::string& src_dir, const std::string& dst_dir);

// rm -rf `path`. OK if it does not exist. A mount found below `path` is detached first
// (umount2 MNT_DETACH) and never descended into, so a stale container mount can never make us
// delete through it.
Status RemoveTree(const std::string& path);

struct TreeUsage {
  uint64_t bytes = 0;   // allocated bytes (st_blocks * 512)
  uint64_t inodes = 0;  // distinct inodes, hardlinks counted once
};

// Space and inodes used below (and including) `path`, staying on the filesystem of `path`
// (mounts below it are skipped). NotFound if `path` does not exist.
StatusOr<TreeUsage> MeasureTree(const std::string& path);

// The mount point of the filesystem that holds `path` (walking up until st_dev changes).
StatusOr<std::string> FindMountPoint(const std::string& path);

// fsync(2) of a file or directory by path.
Status FsyncPath(const std::string& path);

// mkdir that treats an existing directory as success.
Status MakeDir(const std::string& path, unsigned mode);

}  // namespace crio::storage
