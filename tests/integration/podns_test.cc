// Root tests of pod-level OS resources against the real kernel: namespace pinning
// (src/sandbox/namespaces.h), the pod /dev/shm tmpfs (src/sandbox/pod_files.h) and pod cgroups
// (src/cgroups/cgroup_manager.h). Each test skips itself when the kernel refuses with EPERM, and
// removes every mount, file, cgroup directory and child process it made, also on failure.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cgroups/cgroup_manager.h"
#include "cgroups/systemd_manager.h"
#include "sandbox/namespaces.h"
#include "sandbox/pod_files.h"

extern char** environ;

namespace crio {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

#define SKIP_IF_NOT_PERMITTED(status)                     \
  do {                                                    \
    if (absl::IsPermissionDenied(status)) {               \
      GTEST_SKIP() << "not permitted here: " << (status); \
    }                                                     \
  } while (0)

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[rng() % 16]);
  }
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

struct MountEntry {
  std::string mount_point;
  std::string options;
  std::string fstype;
};

std::vector<MountEntry> Mounts(const std::string& mountinfo_path = "/proc/self/mountinfo") {
  std::vector<MountEntry> out;
  std::istringstream in(ReadAll(mountinfo_path));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) {
      f.push_back(w);
    }
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 2) {
      continue;
    }
    out.push_back({f[4], f[5], *(dash + 1)});
  }
  return out;
}

int CountMountsUnder(const std::string& prefix, const std::string& fstype,
                     const std::string& mountinfo_path = "/proc/self/mountinfo") {
  int n = 0;
  for (const MountEntry& m : Mounts(mountinfo_path)) {
    if (m.mount_point.rfind(prefix, 0) == 0 && m.fstype == fstype) {
      ++n;
    }
  }
  return n;
}

bool IsNsfs(const std::string& path) {
  struct statfs fs;
  return statfs(path.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool NoChildProcesses() { return waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD; }

// Detaches every mount below `dir` (deepest first) and removes the tree.
void ForceCleanDir(const std::string& dir) {
  if (dir.empty()) {
    return;
  }
  for (int round = 0; round < 4; ++round) {
    std::vector<std::string> targets;
    for (const MountEntry& m : Mounts()) {
      if (m.mount_point.rfind(dir + "/", 0) == 0) {
        targets.push_back(m.mount_point);
      }
    }
    if (targets.empty()) {
      break;
    }
    std::sort(targets.rbegin(), targets.rend());
    for (const std::string& t : targets) {
      umount2(t.c_str(), MNT_DETACH);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Runs `fn` on a fresh thread that first joins the namespaces at `paths` (setns is per thread
// for net, ipc and uts), so the test process itself never changes namespace.
template <typename Fn>
void InNamespaces(const std::vector<std::string>& paths, Fn fn) {
  std::thread t([&] {
    for (const std::string& p : paths) {
      int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0) << p;
      ASSERT_EQ(setns(fd, 0), 0) << p << ": " << strerror(errno);
      close(fd);
    }
    fn();
  });
  t.join();
}

// posix_spawn'ed child that is killed and reaped on destruction.
class SpawnedChild {
 public:
  explicit SpawnedChild(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (std::string& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) {
      pid_ = -1;
    }
  }
  ~SpawnedChild() { Kill(); }
  pid_t pid() const { return pid_; }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
};

// ------------------------------------------------------------------------------------------------
// Namespace pinning

class PodnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crio-podns-XXXXXX";
    char* dir = mkdtemp(tmpl);
    ASSERT_NE(dir, nullptr);
    dir_ = dir;
  }
  void TearDown() override { ForceCleanDir(dir_); }

  sandbox::PinRequest Request(const std::string& pod_id) const {
    sandbox::PinRequest r;
    r.namespaces_dir = dir_ + "/run";
    r.pod_id = pod_id;
    r.net = r.ipc = r.uts = true;
    return r;
  }

  std::string dir_;
};

TEST_F(PodnsTest, PinNetIpcUts_NsfsMountsLoUpSysctlsInsideOnly) {
  std::string host_port_start = Trim(ReadAll("/proc/sys/net/ipv4/ip_unprivileged_port_start"));
  std::string host_shmmni = Trim(ReadAll("/proc/sys/kernel/shmmni"));
  std::string want_shmmni = host_shmmni == "1234" ? "1235" : "1234";
  std::string want_port_start = host_port_start == "0" ? "80" : "0";

  sandbox::PinRequest req = Request(RandomHex(64));
  req.sysctls = {{"net.ipv4.ip_unprivileged_port_start", want_port_start},
                 {"kernel.shmmni", want_shmmni}};
  auto pins = sandbox::PinNamespaces(req);
  SKIP_IF_NOT_PERMITTED(pins.status());
  ASSERT_TRUE(pins.ok()) << pins.status();

  EXPECT_EQ(pins->net_path, req.namespaces_dir + "/netns/" + req.pod_id);
  EXPECT_EQ(pins->ipc_path, req.namespaces_dir + "/ipcns/" + req.pod_id);
  EXPECT_EQ(pins->uts_path, req.namespaces_dir + "/utsns/" + req.pod_id);
  EXPECT_TRUE(pins->user_path.empty());
  for (const std::string* p : {&pins->net_path, &pins->ipc_path, &pins->uts_path}) {
    EXPECT_TRUE(IsNsfs(*p)) << *p;
  }
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 3);
  EXPECT_TRUE(sandbox::HasRealNetns(pins->net_path));
  EXPECT_FALSE(sandbox::HasRealNetns(pins->ipc_path));
  EXPECT_NE(Inode(pins->net_path), Inode("/proc/self/ns/net"));
  EXPECT_NE(Inode(pins->ipc_path), Inode("/proc/self/ns/ipc"));
  EXPECT_NE(Inode(pins->uts_path), Inode("/proc/self/ns/uts"));
  EXPECT_TRUE(NoChildProcesses());

  std::vector<std::string> interfaces;
  bool lo_up = false;
  std::string port_start_inside;
  std::string shmmni_inside;
  InNamespaces({pins->net_path, pins->ipc_path}, [&] {
    struct if_nameindex* list = if_nameindex();
    for (struct if_nameindex* i = list; i != nullptr && i->if_index != 0; ++i) {
      interfaces.push_back(i->if_name);
    }
    if_freenameindex(list);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {};
    strcpy(ifr.ifr_name, "lo");
    if (sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
      lo_up = (ifr.ifr_flags & IFF_UP) != 0;
    }
    close(sock);
    port_start_inside = Trim(ReadAll("/proc/sys/net/ipv4/ip_unprivileged_port_start"));
    shmmni_inside = Trim(ReadAll("/proc/sys/kernel/shmmni"));
  });
  EXPECT_THAT(interfaces, ::testing::ElementsAre("lo"));
  EXPECT_TRUE(lo_up);
  EXPECT_EQ(port_start_inside, want_port_start);
  EXPECT_EQ(shmmni_inside, want_shmmni);
  EXPECT_EQ(Trim(ReadAll("/proc/sys/net/ipv4/ip_unprivileged_port_start")), host_port_start);
  EXPECT_EQ(Trim(ReadAll("/proc/sys/kernel/shmmni")), host_shmmni);

  ASSERT_TRUE(sandbox::UnpinNamespaces(*pins).ok());
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 0);
  for (const std::string* p : {&pins->net_path, &pins->ipc_path, &pins->uts_path}) {
    EXPECT_FALSE(std::filesystem::exists(*p)) << *p;
  }
  EXPECT_TRUE(sandbox::UnpinNamespaces(*pins).ok());
  EXPECT_FALSE(sandbox::HasRealNetns(pins->net_path));
}

TEST_F(PodnsTest, PinTwiceSamePod_AlreadyExistsFirstPinIntact) {
  sandbox::PinRequest req = Request(RandomHex(16));
  auto first = sandbox::PinNamespaces(req);
  SKIP_IF_NOT_PERMITTED(first.status());
  ASSERT_TRUE(first.ok()) << first.status();
  ino_t netns = Inode(first->net_path);

  auto second = sandbox::PinNamespaces(req);
  EXPECT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
  EXPECT_EQ(Inode(first->net_path), netns);
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 3);
  EXPECT_TRUE(NoChildProcesses());
  EXPECT_TRUE(sandbox::UnpinNamespaces(*first).ok());
}

TEST_F(PodnsTest, SysctlFailsInsideChild_ErrorNamesItAndNothingLeft) {
  sandbox::PinRequest req = Request(RandomHex(16));
  req.sysctls = {{"net.ipv4.conf.nosuchif0.rp_filter", "1"}};
  auto pins = sandbox::PinNamespaces(req);
  SKIP_IF_NOT_PERMITTED(pins.status());
  ASSERT_FALSE(pins.ok());
  EXPECT_TRUE(absl::IsNotFound(pins.status())) << pins.status();
  EXPECT_THAT(Message(pins.status()), HasSubstr("net.ipv4.conf.nosuchif0.rp_filter"));
  EXPECT_THAT(Message(pins.status()), HasSubstr(req.pod_id));
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 0);
  sandbox::PinnedNamespaces paths = sandbox::PinPathsFor(req.namespaces_dir, req.pod_id);
  EXPECT_FALSE(std::filesystem::exists(paths.net_path));
  EXPECT_FALSE(std::filesystem::exists(paths.ipc_path));
  EXPECT_FALSE(std::filesystem::exists(paths.uts_path));
  EXPECT_TRUE(NoChildProcesses());
}

TEST_F(PodnsTest, TwentyPodsInParallel_DistinctNamespacesNoLeak) {
  constexpr int kPods = 20;
  int nsfs_before = CountMountsUnder("/", "nsfs");
  std::vector<StatusOr<sandbox::PinnedNamespaces>> results(kPods, Internal("not run"));
  std::vector<Status> unpinned(kPods);
  std::vector<std::string> ids;
  for (int i = 0; i < kPods; ++i) {
    ids.push_back(RandomHex(64));
  }
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] {
        sandbox::PinRequest req = Request(ids[static_cast<size_t>(i)]);
        req.sysctls = {{"net.ipv4.ping_group_range", "0 0"}};
        results[static_cast<size_t>(i)] = sandbox::PinNamespaces(req);
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }
  SKIP_IF_NOT_PERMITTED(results[0].status());
  std::set<ino_t> netns_inodes;
  for (int i = 0; i < kPods; ++i) {
    ASSERT_TRUE(results[static_cast<size_t>(i)].ok()) << results[static_cast<size_t>(i)].status();
    netns_inodes.insert(Inode(results[static_cast<size_t>(i)]->net_path));
  }
  EXPECT_EQ(netns_inodes.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 3 * kPods);
  EXPECT_TRUE(NoChildProcesses());
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] {
        unpinned[static_cast<size_t>(i)] =
            sandbox::UnpinNamespaces(*results[static_cast<size_t>(i)]);
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }
  for (const Status& s : unpinned) {
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 0);
  EXPECT_EQ(CountMountsUnder("/", "nsfs"), nsfs_before);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/run/netns"));
}

TEST_F(PodnsTest, UnpinWhileAnotherMountNamespaceHoldsACopy_CopyDetachedToo) {
  sandbox::PinRequest req = Request(RandomHex(16));
  req.ipc = req.uts = false;
  auto pins = sandbox::PinNamespaces(req);
  SKIP_IF_NOT_PERMITTED(pins.status());
  ASSERT_TRUE(pins.ok()) << pins.status();

  // A process in a private copy of our mount namespace, made after the pin existed.
  SpawnedChild holder({"unshare", "--mount", "--propagation", "private", "sleep", "60"});
  ASSERT_GT(holder.pid(), 0);
  std::string other_mountinfo = "/proc/" + std::to_string(holder.pid()) + "/mountinfo";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Inode("/proc/" + std::to_string(holder.pid()) + "/ns/mnt") == Inode("/proc/self/ns/mnt") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_NE(Inode("/proc/" + std::to_string(holder.pid()) + "/ns/mnt"), Inode("/proc/self/ns/mnt"));
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs", other_mountinfo), 1);

  ASSERT_TRUE(sandbox::UnpinNamespaces(*pins).ok());
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 0);
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs", other_mountinfo), 0);
}

TEST_F(PodnsTest, PinUserAndNet_NetnsOwnedByPinnedUserns) {
  sandbox::PinRequest req = Request(RandomHex(16));
  req.ipc = req.uts = false;
  req.user = true;
  req.uid_map = "0 100000 65536";
  req.gid_map = "0 100000 65536";
  req.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  auto pins = sandbox::PinNamespaces(req);
  SKIP_IF_NOT_PERMITTED(pins.status());
  if (absl::IsInvalidArgument(pins.status()) || absl::IsFailedPrecondition(pins.status())) {
    GTEST_SKIP() << "user namespaces unavailable: " << pins.status();
  }
  ASSERT_TRUE(pins.ok()) << pins.status();
  EXPECT_TRUE(IsNsfs(pins->user_path));
  EXPECT_TRUE(sandbox::HasRealNetns(pins->net_path));

  int netns = open(pins->net_path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(netns, 0);
  int owner = ioctl(netns, NS_GET_USERNS);
  close(netns);
  ASSERT_GE(owner, 0) << strerror(errno);
  struct stat owner_st;
  ASSERT_EQ(fstat(owner, &owner_st), 0);
  close(owner);
  EXPECT_EQ(owner_st.st_ino, Inode(pins->user_path));

  ASSERT_TRUE(sandbox::UnpinNamespaces(*pins).ok());
  EXPECT_EQ(CountMountsUnder(dir_, "nsfs"), 0);
  EXPECT_TRUE(NoChildProcesses());
}

// ------------------------------------------------------------------------------------------------
// /dev/shm

TEST_F(PodnsTest, MountShm_TmpfsWithSizeModeAndFlags_UnmountIdempotent) {
  constexpr uint64_t kSize = 32ull << 20;
  auto shm = sandbox::MountShm(dir_, kSize);
  SKIP_IF_NOT_PERMITTED(shm.status());
  ASSERT_TRUE(shm.ok()) << shm.status();
  EXPECT_EQ(*shm, dir_ + "/shm");

  struct statfs fs;
  ASSERT_EQ(statfs(shm->c_str(), &fs), 0);
  EXPECT_EQ(fs.f_type, TMPFS_MAGIC);
  EXPECT_EQ(static_cast<uint64_t>(fs.f_blocks) * static_cast<uint64_t>(fs.f_bsize), kSize);
  struct stat st;
  ASSERT_EQ(stat(shm->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  bool found = false;
  for (const MountEntry& m : Mounts()) {
    if (m.mount_point != *shm) {
      continue;
    }
    found = true;
    EXPECT_THAT(m.options, HasSubstr("nosuid"));
    EXPECT_THAT(m.options, HasSubstr("nodev"));
    EXPECT_THAT(m.options, HasSubstr("noexec"));
  }
  EXPECT_TRUE(found);

  EXPECT_TRUE(absl::IsAlreadyExists(sandbox::MountShm(dir_, kSize).status()));
  EXPECT_EQ(CountMountsUnder(*shm, "tmpfs"), 1);

  ASSERT_TRUE(sandbox::UnmountShm(*shm).ok());
  EXPECT_EQ(CountMountsUnder(*shm, "tmpfs"), 0);
  EXPECT_FALSE(std::filesystem::exists(*shm));
  EXPECT_TRUE(sandbox::UnmountShm(*shm).ok());
}

TEST_F(PodnsTest, MountShm_DefaultSize64MiB) {
  auto shm = sandbox::MountShm(dir_);
  SKIP_IF_NOT_PERMITTED(shm.status());
  ASSERT_TRUE(shm.ok()) << shm.status();
  struct statfs fs;
  ASSERT_EQ(statfs(shm->c_str(), &fs), 0);
  EXPECT_EQ(static_cast<uint64_t>(fs.f_blocks) * static_cast<uint64_t>(fs.f_bsize),
            65536ull * 1024);
  EXPECT_TRUE(sandbox::UnmountShm(*shm).ok());
}

// ------------------------------------------------------------------------------------------------
// cgroups

class PodCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override { parent_ = "/crio-cpp-test-" + RandomHex(12); }

  // Removes whatever the test left under parent_ in every hierarchy, deepest first. Child
  // processes are already gone: SpawnedChild kills and reaps when the test body returns.
  void TearDown() override {
    std::vector<std::string> roots;
    for (const auto& entry : std::filesystem::directory_iterator(cgroups::kCgroupRoot)) {
      roots.push_back(entry.path().string() + parent_);
    }
    roots.push_back(std::string(cgroups::kCgroupRoot) + parent_);
    for (const std::string& root : roots) {
      std::error_code ec;
      if (!std::filesystem::is_directory(root, ec)) {
        continue;
      }
      std::vector<std::string> dirs;
      for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
           it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
          break;
        }
        if (it->is_directory(ec)) {
          dirs.push_back(it->path().string());
        }
      }
      std::sort(dirs.rbegin(), dirs.rend());
      for (const std::string& d : dirs) {
        rmdir(d.c_str());
      }
      rmdir(root.c_str());
    }
  }

  std::string parent_;
};

TEST_F(PodCgroupTest, RealV1Hierarchies_CreateLimitMoveStatsRemove) {
  auto layout = cgroups::DetectCgroupLayout();
  ASSERT_TRUE(layout.ok()) << layout.status();
  if (layout->version != cgroups::CgroupVersion::kV1) {
    GTEST_SKIP() << "host uses cgroup v2";
  }
  cgroups::CgroupfsManager mgr(cgroups::MakeHostCgroupFs(), *layout);
  const std::string pod = RandomHex(16);
  auto sandbox_cg = mgr.CreatePodCgroup(parent_, pod);
  SKIP_IF_NOT_PERMITTED(sandbox_cg.status());
  ASSERT_TRUE(sandbox_cg.ok()) << sandbox_cg.status();
  EXPECT_EQ(*sandbox_cg, parent_ + "/crio-" + pod);

  const std::string root = cgroups::kCgroupRoot;
  for (const char* controller : {"cpu", "cpuacct", "memory", "pids", "cpuset"}) {
    ASSERT_TRUE(layout->v1_controllers.count(controller)) << controller;
    std::string dir = root + "/" + layout->v1_controllers.at(controller) + *sandbox_cg;
    EXPECT_TRUE(std::filesystem::is_directory(dir)) << dir;
  }
  std::string cpuset_dir = root + "/" + layout->v1_controllers.at("cpuset");
  EXPECT_EQ(Trim(ReadAll(cpuset_dir + *sandbox_cg + "/cpuset.cpus")),
            Trim(ReadAll(cpuset_dir + "/cpuset.cpus")));
  EXPECT_FALSE(Trim(ReadAll(cpuset_dir + *sandbox_cg + "/cpuset.mems")).empty());

  cgroups::PodResources res;
  res.cpu_shares = 512;
  res.cpu_quota_us = 50000;
  res.cpu_period_us = 100000;
  res.memory_limit_bytes = 64ll << 20;
  Status applied = mgr.ApplyPodResources(*sandbox_cg, res);
  ASSERT_TRUE(applied.ok()) << applied;
  std::string cpu_dir = root + "/" + layout->v1_controllers.at("cpu") + *sandbox_cg;
  std::string mem_dir = root + "/" + layout->v1_controllers.at("memory") + *sandbox_cg;
  EXPECT_EQ(Trim(ReadAll(cpu_dir + "/cpu.shares")), "512");
  EXPECT_EQ(Trim(ReadAll(cpu_dir + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(Trim(ReadAll(cpu_dir + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(Trim(ReadAll(mem_dir + "/memory.limit_in_bytes")), std::to_string(64 << 20));

  // A stand-in for conmon, moved into its cgroup.
  SpawnedChild conmon({"sleep", "60"});
  ASSERT_GT(conmon.pid(), 0);
  std::string conmon_cg = cgroups::ConmonCgroupPath(parent_, "ctr1").value();
  Status moved = mgr.MoveProcess(conmon.pid(), conmon_cg);
  ASSERT_TRUE(moved.ok()) << moved;
  std::string conmon_mem = root + "/" + layout->v1_controllers.at("memory") + conmon_cg;
  EXPECT_THAT(ReadAll(conmon_mem + "/cgroup.procs"), HasSubstr(std::to_string(conmon.pid())));
  EXPECT_THAT(ReadAll("/proc/" + std::to_string(conmon.pid()) + "/cgroup"),
              HasSubstr("pids:" + conmon_cg));

  auto stats = mgr.ReadStats(conmon_cg);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->pids_current, 1u);
  EXPECT_TRUE(stats->memory_usage_bytes.has_value());
  EXPECT_TRUE(stats->cpu_usage_ns.has_value());
  EXPECT_TRUE(stats->memory_working_set_bytes.has_value());

  // Occupied: removal reports busy within the timeout instead of hanging.
  cgroups::CgroupfsManager impatient(cgroups::MakeHostCgroupFs(), *layout,
                                     std::chrono::milliseconds(20));
  EXPECT_TRUE(absl::IsFailedPrecondition(impatient.RemoveCgroup(conmon_cg)));

  conmon.Kill();
  Status removed = mgr.RemoveCgroup(conmon_cg);
  ASSERT_TRUE(removed.ok()) << removed;
  ASSERT_TRUE(mgr.RemoveCgroup(*sandbox_cg).ok());
  ASSERT_TRUE(mgr.RemoveCgroup(parent_).ok());
  for (const auto& [controller, hierarchy] : layout->v1_controllers) {
    EXPECT_FALSE(std::filesystem::exists(root + "/" + hierarchy + parent_)) << controller;
  }
  EXPECT_TRUE(mgr.RemoveCgroup(*sandbox_cg).ok());
  EXPECT_TRUE(absl::IsNotFound(mgr.ReadStats(*sandbox_cg).status()));
}

TEST_F(PodCgroupTest, HybridUnifiedV2Tree_CreateMoveRemove) {
  const std::string unified = std::string(cgroups::kCgroupRoot) + "/unified";
  struct statfs fs;
  if (statfs(unified.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    GTEST_SKIP() << "no hybrid cgroup2 mount at " << unified;
  }
  cgroups::CgroupLayout layout;
  layout.version = cgroups::CgroupVersion::kV2;
  cgroups::CgroupfsManager mgr(cgroups::MakeHostCgroupFs(unified), layout);
  auto sandbox_cg = mgr.CreatePodCgroup(parent_, "pod");
  SKIP_IF_NOT_PERMITTED(sandbox_cg.status());
  ASSERT_TRUE(sandbox_cg.ok()) << sandbox_cg.status();
  EXPECT_TRUE(std::filesystem::is_directory(unified + *sandbox_cg));

  SpawnedChild proc({"sleep", "60"});
  ASSERT_GT(proc.pid(), 0);
  std::string cg = parent_ + "/crio-conmon-x";
  Status moved = mgr.MoveProcess(proc.pid(), cg);
  ASSERT_TRUE(moved.ok()) << moved;
  EXPECT_THAT(ReadAll("/proc/" + std::to_string(proc.pid()) + "/cgroup"),
              HasSubstr("0::" + cg + "\n"));
  auto stats = mgr.ReadStats(cg);
  ASSERT_TRUE(stats.ok()) << stats.status();

  proc.Kill();
  ASSERT_TRUE(mgr.RemoveCgroup(cg).ok());
  ASSERT_TRUE(mgr.RemoveCgroup(*sandbox_cg).ok());
  ASSERT_TRUE(mgr.RemoveCgroup(parent_).ok());
  EXPECT_FALSE(std::filesystem::exists(unified + parent_));
}

TEST(ResolveCgroupManager, SystemdConfiguredOnThisHost_MatchesPid1) {
  auto resolved = cgroups::ResolveCgroupManager("systemd");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  auto pid1 = cgroups::InitProcessName();
  ASSERT_TRUE(pid1.ok()) << pid1.status();
  if (*pid1 == "systemd") {
    EXPECT_EQ(resolved->manager->Name(), "systemd");
    EXPECT_TRUE(resolved->warning.empty());
  } else {
    EXPECT_EQ(resolved->manager->Name(), "cgroupfs");
    EXPECT_THAT(resolved->warning, HasSubstr(*pid1));
  }
}

}  // namespace
}  // namespace crio
