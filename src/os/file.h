#pragma once
// Reading small files whole: configuration (registries.conf, policy.json, auth.json, certs),
// /proc and cgroup files, bundles' specs. The one such helper in the project.

#include <cstddef>
#include <string>

#include "util/status.h"

namespace crio::os {

// Reads the whole file at `path`, refusing files larger than `max_size` bytes.
// Errors: errno-derived status "open `path`: ..." (NotFound for ENOENT), InvalidArgument when
// the file is too large.
StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_size = 4 << 20);

}  // namespace crio::os
