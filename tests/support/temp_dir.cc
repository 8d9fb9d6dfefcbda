#include "support/temp_dir.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace crio::testing {
namespace {

namespace fs = std::filesystem;

// Mount points at or below `root`, deepest first, from /proc/self/mountinfo.
std::vector<std::string> MountsAtOrBelow(const std::string& root) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, source_root, target;
    fields >> id >> parent >> devno >> source_root >> target;
    if (target == root || target.rfind(root + "/", 0) == 0) mounts.push_back(target);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return mounts;
}

// Removes `path` and, when it is a directory on device `dev`, everything below it. A symlink is
// removed itself, never followed; a directory on another device (a mount the unmount could not
// remove) is left alone, so its contents survive.
void RemoveTree(const std::string& path, dev_t dev) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlink(path.c_str());
    return;
  }
  if (st.st_dev != dev) return;
  // Listed first: removing entries while iterating would skip some.
  std::vector<std::string> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    children.push_back(entry.path().string());
  }
  for (const auto& child : children) RemoveTree(child, dev);
  ::rmdir(path.c_str());
}

}  // namespace

TempDir::TempDir(const std::string& base, const std::string& prefix) {
  std::string pattern = base + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  for (const auto& mount : MountsAtOrBelow(path_)) ::umount2(mount.c_str(), MNT_DETACH);
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0) RemoveTree(path_, st.st_dev);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  const std::string path = Sub(name);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream(path, std::ios::trunc) << content;
  return path;
}

}  // namespace crio::testing
