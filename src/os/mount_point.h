#pragma once
// Mount-point queries shared by the modules that mount things (sandbox pins, shm).

#include <string>
#include <vector>

#include "util/status.h"

namespace crio::os {

// True if `path` (not following a final symlink) is the root of a mount; false if it is missing.
// Checked before umount2 so that cleaning up works without privileges when nothing is mounted
// (umount2 answers EPERM before it would say EINVAL).
StatusOr<bool> IsMountRoot(const std::string& path);

// Mount points at or below `dir` in /proc/self/mountinfo, deepest first.
std::vector<std::string> MountsBelow(const std::string& dir);
// Lazily unmounts every mount at or below `dir`, deepest first. The first error other than
// "not mounted" is returned after trying all.
Status UnmountAllBelow(const std::string& dir);

}  // namespace crio::os
