#include "os/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
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
  // pidfds pin each member, so a pid reused after its process died is never signalled.
  std::map<pid_t, PidFd> stopped;
  constexpr int kMaxLooks = 20;
  for (int look = 0; look < kMaxLooks; ++look) {
    bool found_new = false;
    for (pid_t pid : ProcessTree(root, ReadParentPids(proc_root))) {
      if (stopped.contains(pid)) continue;
      auto pidfd = PidFd::Open(pid);
      if (!pidfd.ok()) continue;  // already gone
      RETURN_IF_ERROR(pidfd->Signal(SIGSTOP));
      stopped.emplace(pid, std::move(*pidfd));
      found_new = true;
    }
    if (!found_new) break;
  }
  for (auto& [pid, pidfd] : stopped) RETURN_IF_ERROR(pidfd.Signal(SIGKILL));
  return static_cast<int>(stopped.size());
}

}  // namespace crio::os
