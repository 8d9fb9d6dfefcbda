#include "os/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <set>

#include "os/process.h"
#include "os/unique_fd.h"

namespace crio::os {
namespace {

// Parent pid from the text of /proc/<pid>/stat, or -1. comm (field 2) may hold spaces and
// parentheses, so the fields after it are found from the last ')'.
pid_t ParentFromStat(std::string_view stat) {
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return -1;
  std::string_view rest = stat.substr(close + 1);  // " S 123 ..."
  std::size_t state = rest.find_first_not_of(' ');
  if (state == std::string_view::npos) return -1;
  std::size_t ppid_start = rest.find_first_not_of(' ', state + 1);
  if (ppid_start == std::string_view::npos) return -1;
  pid_t ppid = -1;
  auto [end, ec] = std::from_chars(rest.data() + ppid_start, rest.data() + rest.size(), ppid);
  return ec == std::errc() ? ppid : -1;
}

pid_t ReadParent(const std::string& proc_root, pid_t pid) {
  std::string path = proc_root + "/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return -1;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return -1;
  return ParentFromStat(std::string_view(buf, static_cast<std::size_t>(n)));
}

constexpr std::chrono::milliseconds kReapTimeout{1000};

struct FrozenMember {
  pid_t pid;
  int depth;  // 0 for the root
  PidFd pidfd;
};

struct FrozenTree {
  std::vector<FrozenMember> members;  // the root first
  int max_depth = 0;
};

// Stops `root` and its descendants with SIGSTOP, looking again until no new descendant appears
// (a running member could fork after a look). pidfds pin each member, so a pid reused after its
// process died is never signalled. Empty when `root` is gone.
StatusOr<FrozenTree> FreezeTree(pid_t root, const std::string& proc_root) {
  FrozenTree tree;
  std::map<pid_t, int> depth_of;
  constexpr int kMaxLooks = 20;
  for (int look = 0; look < kMaxLooks; ++look) {
    std::map<pid_t, pid_t> parents = ReadParentPids(proc_root);
    bool found_new = false;
    for (pid_t pid : ProcessTree(root, parents)) {  // parents before children
      if (depth_of.contains(pid)) continue;
      auto parent_depth = depth_of.find(parents[pid]);
      int depth = pid == root ? 0 : parent_depth == depth_of.end() ? -1 : parent_depth->second + 1;
      if (depth < 0) continue;  // its parent was gone when we looked: next look
      auto pidfd = PidFd::Open(pid);
      if (!pidfd.ok()) continue;  // already gone
      RETURN_IF_ERROR(pidfd->Signal(SIGSTOP));
      depth_of[pid] = depth;
      tree.max_depth = std::max(tree.max_depth, depth);
      tree.members.push_back({pid, depth, std::move(*pidfd)});
      found_new = true;
    }
    if (!found_new) break;
  }
  return tree;
}

}  // namespace

std::map<pid_t, pid_t> ReadParentPids(const std::string& proc_root) {
  std::map<pid_t, pid_t> parents;
  DIR* dir = ::opendir(proc_root.c_str());
  if (dir == nullptr) return parents;
  while (dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    std::string_view name = entry->d_name;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end != name.data() + name.size() || pid <= 0) continue;
    if (pid_t ppid = ReadParent(proc_root, pid); ppid >= 0) parents[pid] = ppid;
  }
  ::closedir(dir);
  return parents;
}

std::vector<pid_t> ProcessTree(pid_t root, const std::map<pid_t, pid_t>& parents) {
  if (!parents.contains(root)) return {};
  std::multimap<pid_t, pid_t> children;
  for (auto [pid, ppid] : parents) children.emplace(ppid, pid);
  std::vector<pid_t> tree;
  std::deque<pid_t> queue = {root};
  std::set<pid_t> seen = {root};
  while (!queue.empty()) {
    pid_t pid = queue.front();
    queue.pop_front();
    tree.push_back(pid);
    auto [first, last] = children.equal_range(pid);
    for (auto it = first; it != last; ++it) {
      if (seen.insert(it->second).second) queue.push_back(it->second);
    }
  }
  return tree;
}

StatusOr<int> KillProcessTree(pid_t root, const std::string& proc_root) {
  // Descendants die first, level by level, each while its parent runs to reap it: a killed
  // parent would leave its children to the container's init, which often never reaps (a
  // `sleep` as PID 1), and pgrep shows zombies too. The root goes last, reaped by its own
  // parent (the OCI runtime's exec).
  int killed = 0;
  constexpr int kMaxRounds = 5;
  for (int round = 0; round < kMaxRounds; ++round) {
    ASSIGN_OR_RETURN(FrozenTree tree, FreezeTree(root, proc_root));
    if (tree.members.size() <= 1) break;
    for (int depth = tree.max_depth; depth >= 1; --depth) {
      std::vector<PidFd*> level;
      for (auto& member : tree.members) {
        if (member.depth == depth) {
          RETURN_IF_ERROR(member.pidfd.Signal(SIGKILL));
          level.push_back(&member.pidfd);
          ++killed;
        }
      }
      for (auto& member : tree.members) {
        if (member.depth == depth - 1) RETURN_IF_ERROR(member.pidfd.Signal(SIGCONT));
      }
      for (PidFd* pidfd : level) (void)pidfd->WaitReaped(kReapTimeout);
    }
  }
  auto pidfd = PidFd::Open(root);
  if (!pidfd.ok()) return killed;  // already gone
  RETURN_IF_ERROR(pidfd->Signal(SIGKILL));
  (void)pidfd->WaitReaped(kReapTimeout);
  return killed + 1;
}

}  // namespace crio::os
