#pragma once
// Mounts and mount-point queries for the modules that mount things (sandbox pins and shm,
// storage's overlays): every mount(2) and umount2(2) of the daemon goes through here.

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::os {

// True if `path` (not following a final symlink) is the root of a mount; false if it is missing.
// Checked before umount2 so that cleaning up works without privileges when nothing is mounted
// (umount2 answers EPERM before it would say EINVAL).
StatusOr<bool> IsMountRoot(const std::string& path);

// mount(2) of a filesystem of type `fstype` on `target`.
// Errors: the errno, "mount <fstype> on `target`".
Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
             unsigned long flags, const std::string& data);

// The same mount made from the directory `dir`: a relative `target`, and relative paths inside
// `data` (overlay's lowerdir list, which must fit in a page), resolve against `dir`. It runs in
// a short-lived child with a cwd of its own, so the cwd of the daemon's threads never moves.
// Errors: the mount's errno as Mount's; chdir's naming `dir`; the clone's.
Status MountFrom(const std::string& dir, const std::string& source, const std::string& target,
                 const std::string& fstype, unsigned long flags, const std::string& data);

// Bind-mounts `source` (a file or directory, e.g. /proc/<pid>/ns/net) on `target`.
// Errors: the errno, "bind mount `source` on `target`".
Status BindMount(const std::string& source, const std::string& target);

// Lazily detaches the mount at `target` (umount2 MNT_DETACH, not following a final symlink).
// OK when nothing is mounted there (EINVAL) or `target` does not exist (ENOENT).
// Errors: the errno otherwise, "umount `target`".
Status DetachMount(const std::string& target);

// Mount points in /proc/self/mountinfo, unescaped, in table order: a later one with the same
// path is mounted over an earlier one. Errors: ReadSmallFile's.
StatusOr<std::vector<std::string>> ListMountPoints();

// Undoes mountinfo's escaping of space, tab, newline and backslash as \ooo.
std::string UnescapeMountInfo(std::string_view field);

// Mount points at or below `dir` in /proc/self/mountinfo, deepest first.
std::vector<std::string> MountsBelow(const std::string& dir);
// Lazily unmounts every mount at or below `dir`, deepest first. The first error other than
// "not mounted" is returned after trying all.
Status UnmountAllBelow(const std::string& dir);

}  // namespace crio::os
