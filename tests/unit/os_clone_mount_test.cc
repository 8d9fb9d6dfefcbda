// Children made by clone(2) (os::CloneChild, src/os/process.h) and the mount wrappers
// (src/os/mount_point.h). Mounting needs root; those tests skip without it.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "os/mount_point.h"
#include "os/process.h"

namespace crio::os {
namespace {

namespace fs = std::filesystem;

int ReturnSeven(void*) { return 7; }

int SetFlag(void* arg) {
  *static_cast<int*>(arg) = 42;
  return 0;
}

int SetHostname(void*) {
  static const char kName[] = "crio-clone-test";
  return sethostname(kName, sizeof(kName) - 1) == 0 ? 0 : 1;
}

// 0 when every catchable signal is blocked in the child.
int CheckAllBlocked(void*) {
  sigset_t mask;
  if (sigprocmask(SIG_BLOCK, nullptr, &mask) != 0) return 2;
  return sigismember(&mask, SIGTERM) == 1 && sigismember(&mask, SIGCHLD) == 1 ? 0 : 1;
}

std::string Hostname() {
  struct utsname u;
  uname(&u);
  return u.nodename;
}

TEST(OsCloneChild, RunsFunctionAndReportsItsReturnAsExitCode) {
  auto child = CloneChild(0, ReturnSeven, nullptr);
  ASSERT_TRUE(child.ok()) << child.status();
  auto exit = child->Wait();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_code, 7);
  EXPECT_EQ(exit->signal, 0);
}

TEST(OsCloneChild, WithoutCloneVm_ChildWritesItsOwnCopy) {
  int flag = 0;
  auto child = CloneChild(0, SetFlag, &flag);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->Wait()->Success());
  EXPECT_EQ(flag, 0);
}

TEST(OsCloneChild, CloneVmVfork_SharesMemoryAndIsDoneWithItOnReturn) {
  int flag = 0;
  auto child = CloneChild(CLONE_VM | CLONE_VFORK, SetFlag, &flag, 64 << 10);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(flag, 42);
  // Released as its memory goes, which is a moment before it can be reaped.
  ASSERT_TRUE(child->Wait()->Success());
}

TEST(OsCloneChild, CloneVmWithoutVfork_InvalidArgument) {
  int flag = 0;
  EXPECT_EQ(CloneChild(CLONE_VM, SetFlag, &flag).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(flag, 0);
}

TEST(OsCloneChild, ChildStartsWithSignalsBlockedAndOurMaskIsKept) {
  sigset_t before;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &before), 0);
  auto child = CloneChild(0, CheckAllBlocked, nullptr);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(child->Wait()->exit_code, 0);
  sigset_t after;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &after), 0);
  EXPECT_EQ(sigismember(&after, SIGTERM), sigismember(&before, SIGTERM));
}

TEST(OsCloneChild, NewUtsNamespace_HostnameChangeStaysInside) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string ours = Hostname();
  auto child = CloneChild(CLONE_NEWUTS, SetHostname, nullptr);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(child->Wait()->Success());
  EXPECT_EQ(Hostname(), ours);
}

TEST(OsCloneChild, DroppedChild_KilledAndReaped) {
  auto child = CloneChild(
      0,
      [](void*) -> int {
        pause();
        return 0;
      },
      nullptr);
  ASSERT_TRUE(child.ok()) << child.status();
  const pid_t pid = child->pid();
  { ChildProcess dropped = *std::move(child); }
  EXPECT_EQ(kill(pid, 0), -1);  // reaped: the pid no longer names our child
}

TEST(OsMountInfo, Unescape_OctalEscapesOnly) {
  EXPECT_EQ(UnescapeMountInfo("/a\\040b"), "/a b");
  EXPECT_EQ(UnescapeMountInfo("\\134x\\011"), "\\x\t");
  EXPECT_EQ(UnescapeMountInfo("/no\\09x"), "/no\\09x");
  EXPECT_EQ(UnescapeMountInfo("/end\\04"), "/end\\04");
}

class OsMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/crio-os-mount-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    EXPECT_TRUE(UnmountAllBelow(dir_).ok());
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static bool Listed(const std::string& path) {
    auto points = ListMountPoints();
    return points.ok() && std::find(points->begin(), points->end(), path) != points->end();
  }

  std::string dir_;
};

TEST_F(OsMountTest, MountListDetach_TmpfsWithASpaceInItsPath) {
  const std::string target = dir_ + "/with space";
  ASSERT_TRUE(fs::create_directory(target));
  ASSERT_TRUE(Mount("tmpfs", target, "tmpfs", MS_NOSUID, "size=1m").ok());
  EXPECT_TRUE(*IsMountRoot(target));
  EXPECT_TRUE(Listed(target));
  EXPECT_EQ(MountsBelow(dir_), std::vector<std::string>{target});
  ASSERT_TRUE(DetachMount(target).ok());
  EXPECT_FALSE(*IsMountRoot(target));
  EXPECT_FALSE(Listed(target));
  EXPECT_TRUE(DetachMount(target).ok());             // not mounted: EINVAL is fine
  EXPECT_TRUE(DetachMount(dir_ + "/missing").ok());  // gone: ENOENT is fine
}

TEST_F(OsMountTest, Mount_UnknownFilesystem_ErrorNamingTarget) {
  Status st = Mount("x", dir_, "no-such-fs", 0, "");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("mount no-such-fs on `" + dir_ + "`"), std::string::npos) << st;
}

TEST_F(OsMountTest, BindMount_FileShowsSourceContents) {
  std::ofstream(dir_ + "/source") << "from source";
  std::ofstream(dir_ + "/target") << "";
  ASSERT_TRUE(BindMount(dir_ + "/source", dir_ + "/target").ok());
  std::ifstream in(dir_ + "/target");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "from source");
  EXPECT_TRUE(DetachMount(dir_ + "/target").ok());
}

TEST_F(OsMountTest, MountFrom_RelativeTargetResolvedInDirAndOurCwdKept) {
  ASSERT_TRUE(fs::create_directory(dir_ + "/sub"));
  const fs::path cwd = fs::current_path();
  ASSERT_TRUE(MountFrom(dir_, "tmpfs", "sub", "tmpfs", 0, "size=1m").ok());
  EXPECT_EQ(fs::current_path(), cwd);
  EXPECT_TRUE(*IsMountRoot(dir_ + "/sub"));
}

TEST_F(OsMountTest, MountFrom_MissingDir_NotFoundNamingChdir) {
  Status st = MountFrom(dir_ + "/missing", "tmpfs", "sub", "tmpfs", 0, "");
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(st.message().find("chdir"), std::string::npos) << st;
}

TEST_F(OsMountTest, UnmountAllBelow_NestedMounts_AllGone) {
  ASSERT_TRUE(fs::create_directory(dir_ + "/a"));
  ASSERT_TRUE(Mount("tmpfs", dir_ + "/a", "tmpfs", 0, "size=1m").ok());
  ASSERT_TRUE(fs::create_directory(dir_ + "/a/b"));
  ASSERT_TRUE(Mount("tmpfs", dir_ + "/a/b", "tmpfs", 0, "size=1m").ok());
  EXPECT_EQ(MountsBelow(dir_), (std::vector<std::string>{dir_ + "/a/b", dir_ + "/a"}));
  ASSERT_TRUE(UnmountAllBelow(dir_).ok());
  EXPECT_TRUE(MountsBelow(dir_).empty());
}

}  // namespace
}  // namespace crio::os
