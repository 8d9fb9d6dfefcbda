#pragma once
// overlayfs mounting for container root filesystems.
//
// overlay's mount data is limited to one page (4096 bytes on x86-64), so a long lowerdir list of
// absolute layer paths does not fit. As in containers/storage, every layer gets a short symlink
// `<layers>/l/<link-id>` -> `../<layer-id>/diff`, and the lowerdir list names those links.
// MountOverlay uses absolute link paths when they fit in a page; otherwise it mounts from a
// short-lived child (clone with its own cwd) whose working directory is the link dir, so every
// lower entry is just "<link-id>:". With 12-character link ids that allows roughly 250 layers;
// overlay itself stops at 500.
// The mount syscalls themselves are src/os's (os/mount_point.h).

#include <string>
#include <vector>

#include "util/status.h"

namespace crio::storage {

// Detaches the mount at `target` (umount2 MNT_DETACH) on destruction unless Release()d.
// Guards the failure path between a mount and the bookkeeping that records it.
class ScopedMount {
 public:
  ScopedMount() = default;
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  ScopedMount(ScopedMount&& other) noexcept : target_(std::move(other.target_)) {
    other.target_.clear();
  }
  ScopedMount& operator=(ScopedMount&&) = delete;
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  ~ScopedMount();

  // The mount now outlives this guard.
  void Release() { target_.clear(); }

 private:
  std::string target_;
};

struct OverlaySpec {
  std::string link_dir;                  // absolute dir holding the lower entries
  std::vector<std::string> lower_links;  // entry names in link_dir, topmost first; >= 1
  std::string upper_dir;                 // absolute
  std::string work_dir;                  // absolute, empty dir on the same filesystem as upper
  std::string target;                    // absolute mount point
  std::string options;                   // extra options, e.g. "index=off,metacopy=off"
  std::string mount_label;               // SELinux context for context="..."; empty = none
};

enum class LowerPaths {
  kAuto,      // absolute if the data fits in a page, else relative
  kAbsolute,  // lowerdir=<link_dir>/<link>:...
  kRelative,  // lowerdir=<link>:... mounted from a child whose cwd is link_dir
};

// The mount(2) data string for `spec`. InvalidArgument if a path contains ',', ':' or '\'
// (overlay would split on them), the label contains '"', or the result exceeds a page.
StatusOr<std::string> OverlayMountData(const OverlaySpec& spec, bool relative_lowers);

// Mounts `spec`. Errors: InvalidArgument as above (also for too many layers); the mount errno
// otherwise (PermissionDenied for EPERM, so callers/tests can tell "not allowed here").
Status MountOverlay(const OverlaySpec& spec, LowerPaths mode = LowerPaths::kAuto);

// True if `path` is the root of a mount (os::IsMountRoot, any error read as false).
bool IsMountPoint(const std::string& path);

// Makes `link_path` a symlink to `target`, replacing a symlink that points elsewhere.
Status EnsureSymlink(const std::string& link_path, const std::string& target);

// Checks that overlay mounts work for an upper dir on the filesystem of `scratch_dir` (which must
// exist and be empty; it is emptied again afterwards). Returns the first extra-option string of
// `candidates` that mounted and showed a lower file. Error: the last mount failure.
StatusOr<std::string> ProbeOverlay(const std::string& scratch_dir,
                                   const std::vector<std::string>& candidates);

}  // namespace crio::storage
