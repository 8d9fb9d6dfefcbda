#pragma once
// Small file and clock helpers shared by the lifecycle translation units.
#include <cstdint>
#include <string>

#include "util/status.h"

namespace crio::lifecycle::internal {

// Nanoseconds since the Unix epoch, as CRI timestamps are.
int64_t NowNs();
// The whole file, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);
// mkdir -p. Internal on failure.
Status MakeDirs(const std::string& path);
// rm -rf; OK when absent. Internal on failure.
Status RemoveAll(const std::string& path);
// Whether /sys/fs/cgroup is the unified (v2) hierarchy.
bool IsCgroupV2();

}  // namespace crio::lifecycle::internal
