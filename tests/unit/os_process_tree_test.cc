// os::ProcessTree and os::KillProcessTree: whole trees, as an ExecSync timeout needs them.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "os/process.h"
#include "os/process_tree.h"
#include "support/temp_dir.h"

namespace crio::os {
namespace {

using std::chrono::milliseconds;

TEST(ProcessTree, RootThenDescendantsBreadthFirst) {
  // 10 -> 11 -> 13, 10 -> 12; 20 is unrelated; 1 is everyone's ancestor.
  std::map<pid_t, pid_t> parents = {{1, 0},   {10, 1}, {11, 10}, {12, 10},
                                    {13, 11}, {20, 1}, {21, 20}};
  EXPECT_EQ(ProcessTree(10, parents), (std::vector<pid_t>{10, 11, 12, 13}));
  EXPECT_EQ(ProcessTree(13, parents), (std::vector<pid_t>{13}));
  EXPECT_TRUE(ProcessTree(99, parents).empty());
}

TEST(ReadParentPids, ParsesStatWithSpacesAndParensInComm) {
  testing::TempDir tmp;
  const std::string& root = tmp.path();
  ASSERT_FALSE(root.empty());
  auto write_stat = [&](const std::string& pid, const std::string& text) {
    std::filesystem::create_directories(root + "/" + pid);
    std::ofstream(root + "/" + pid + "/stat") << text;
  };
  write_stat("7", "7 (a (b) c) S 3 7 7 0 -1");
  write_stat("8", "8 (sh) R 7 8 8 0 -1");
  write_stat("self", "9 (x) R 1 9 9 0 -1");  // not a pid directory
  write_stat("9", "garbage");
  std::map<pid_t, pid_t> parents = ReadParentPids(root);
  EXPECT_EQ(parents, (std::map<pid_t, pid_t>{{7, 3}, {8, 7}}));
}

bool Exists(pid_t pid) { return std::filesystem::exists("/proc/" + std::to_string(pid)); }

TEST(KillProcessTree, KillsShellAndTheChildrenItForked) {
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", "sleep 60 & sleep 60 & wait"};
  auto shell = Spawn(request);
  ASSERT_TRUE(shell.ok()) << shell.status();
  std::vector<pid_t> tree;
  for (int i = 0; i < 500 && tree.size() < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    tree = ProcessTree(shell->pid(), ReadParentPids());
  }
  ASSERT_EQ(tree.size(), 3u) << "the shell did not start its two sleeps";

  auto killed = KillProcessTree(shell->pid());
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_GE(*killed, 2);
  // The shell reaped its sleeps (it ran again for that) and then died or finished its `wait`.
  auto status = shell->Wait(milliseconds(5000));
  ASSERT_TRUE(status.ok()) << status.status();
  // Dead and reaped: not left running, nor as zombies of an init that never reaps.
  EXPECT_FALSE(Exists(tree[1]));
  EXPECT_FALSE(Exists(tree[2]));
}

TEST(KillProcessTree, GoneRootKillsNothing) {
  SpawnRequest request;
  request.argv = {"/bin/true"};
  auto child = Spawn(request);
  ASSERT_TRUE(child.ok()) << child.status();
  pid_t pid = child->pid();
  ASSERT_TRUE(child->Wait().ok());
  auto killed = KillProcessTree(pid);
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(*killed, 0);
}

}  // namespace
}  // namespace crio::os
