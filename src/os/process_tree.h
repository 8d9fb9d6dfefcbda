#pragma once
// Whole process trees, found through /proc. A command run in a container often forks (`sh -c
// "sleep 4; echo hi"`): killing only the process we started orphans its children to the
// container's init, where no parent link finds them again, so timeouts kill the tree.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::os {

// pid -> parent pid of every process listed in `proc_root` (field 4 of <pid>/stat). Processes
// that exit while the directory is read are left out.
std::map<pid_t, pid_t> ReadParentPids(const std::string& proc_root = "/proc");

// `root` followed by all its descendants in `parents`, parents before children. Only `root`
// when it has none; empty when `root` is not in `parents`.
std::vector<pid_t> ProcessTree(pid_t root, const std::map<pid_t, pid_t>& parents);

// Kills `root` and all its descendants so that none is left behind, not even as a zombie:
// the tree is frozen with SIGSTOP, then killed from the deepest level up, each level while its
// parents run again to reap it; the root goes last and is left to its own parent to reap.
// A root that is already gone is OK. Returns how many processes were killed.
StatusOr<int> KillProcessTree(pid_t root, const std::string& proc_root = "/proc");

}  // namespace crio::os
