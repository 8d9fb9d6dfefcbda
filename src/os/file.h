#pragma once
// Whole files: reading small ones (configuration, /proc and cgroup files, bundles' specs) and
// replacing one atomically (state records, caches, specs). The one such helper of each kind in
// the project.

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace crio::os {

// Reads the whole file at `path`, refusing files larger than `max_size` bytes.
// Errors: errno-derived status "open `path`: ..." (NotFound for ENOENT), InvalidArgument when
// the file is too large.
StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_size = 4 << 20);

// Replaces the file at `path` with `contents`: readers and a crash see the old file or the new
// one, never a torn mix. The data goes to a temp file of a unique name in the same directory
// (`<path>.<random>.tmp`, so concurrent writers never share one and directory scans can skip
// the ".tmp" suffix), which is fsynced, renamed over `path`, and then the directory is fsynced.
// `mode` is the new file's mode, subject to the umask like open(2)'s.
// Errors: the failing call's errno naming the path; the temp file is removed on every failure.
// A failing directory fsync is reported although `path` already has the new contents.
Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode = 0600);

// Makes `link_path` a symlink to `target`, replacing what is there in one rename, through a
// temp name as unique as WriteFileAtomic's. Not fsynced: callers recreate links they lose.
// Errors: the failing symlink/rename errno naming the path.
Status ReplaceSymlink(const std::string& target, const std::string& link_path);

// `length` random lowercase base32 characters (getrandom): names for temp files and dirs.
std::string RandomName(size_t length);

}  // namespace crio::os
