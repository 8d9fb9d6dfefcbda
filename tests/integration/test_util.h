#pragma once
// Helpers shared by the integration tests: the process-wide test registry and small host
// inspection functions (PATH lookup, polling, cgroup trees).
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "registry_fixture.h"
#include "util/status.h"

namespace crio::testing {

// One registry with the test images for the whole test program, started on first use and
// stopped when the program's tests end. A failed start is remembered and returned each time.
StatusOr<RegistryFixture*> SharedTestRegistry();

// Absolute path of `name` in $PATH, or "".
std::string PathOf(const std::string& name);
bool OnPath(const std::string& name);
bool Contains(const std::string& haystack, const std::string& needle);
// `n` random lowercase hex digits; thread-safe.
std::string RandomHex(size_t n);
// Trailing newlines, carriage returns and spaces removed.
std::string Trim(std::string s);
// The items, one per line.
std::string Join(const std::vector<std::string>& items);
// Polls `done` every `step` until it returns true (true) or `timeout` has passed (false).
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(100));

// The cgroup hierarchy roots: /sys/fs/cgroup on v2, each v1 hierarchy below it otherwise.
std::vector<std::string> CgroupHierarchies();
// Subdirectories (recursively) of `dir`, relative to it.
std::vector<std::string> SubDirs(const std::string& dir);
// rmdir of a cgroup tree, deepest first (cgroup files vanish with their directory).
void RemoveCgroupTree(const std::string& dir);
// crun 1.8 refuses hybrid cgroup hosts whose v2 tree has controllers ("cgroups in hybrid mode
// not supported"); there tests run crun behind a wrapper hiding /sys/fs/cgroup/unified in a
// private mount namespace. runc handles hybrid mode itself.
bool CrunNeedsHybridWorkaround();

// GET `path` over the unix socket `socket` (libcurl); the body, "" on failure; `code` gets the
// HTTP status.
std::string HttpGetUnix(const std::string& socket, const std::string& path, long* code);
// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreeLocalPort();
// Prometheus text format: each sample line's "name{labels}" -> value.
std::map<std::string, double> ParseSamples(const std::string& text);

}  // namespace crio::testing
