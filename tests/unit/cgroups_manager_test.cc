// Unit tests of the cgroup manager (src/cgroups/cgroup_manager.h) against an in-memory CgroupFs
// that behaves like cgroupfs where it matters: files appear with their directory, writes need an
// existing file, v2 controller files appear only when the parent enables the controller, rmdir
// removes the files but refuses while children exist or the cgroup is "busy".
// The real /sys/fs/cgroup is exercised in tests/integration/podns_test.cc.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/cgroup_manager.h"
#include "cgroups/systemd_manager.h"

namespace crio::cgroups {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::string Parent(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string Base(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// Shared state so tests can inspect it after handing the fake to the manager.
struct FakeState {
  std::mutex mu;
  CgroupVersion version = CgroupVersion::kV1;
  std::set<std::string> dirs = {""};
  std::map<std::string, std::string> files;
  std::vector<std::pair<std::string, std::string>> writes;  // in order
  std::map<std::string, int> busy;                          // rel dir -> EBUSY answers left
  std::map<std::string, Status> write_errors;               // rel file -> error (one-shot)
  int rmdir_calls = 0;
};

class FakeCgroupFs : public CgroupFs {
 public:
  explicit FakeCgroupFs(std::shared_ptr<FakeState> state) : s_(std::move(state)) {}

  StatusOr<std::string> Read(const std::string& rel) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    auto it = s_->files.find(rel);
    if (it == s_->files.end()) {
      return NotFound("no file " + rel);
    }
    return it->second;
  }

  Status Write(const std::string& rel, std::string_view value) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->writes.emplace_back(rel, std::string(value));
    auto err = s_->write_errors.find(rel);
    if (err != s_->write_errors.end()) {
      Status s = err->second;
      s_->write_errors.erase(err);
      return s;
    }
    auto it = s_->files.find(rel);
    if (it == s_->files.end()) {
      return NotFound("no file " + rel);
    }
    if (Base(rel) == "cgroup.subtree_control") {
      std::string v(value);
      if (v.empty() || v[0] != '+') {
        return InvalidArgument("bad subtree_control write " + v);
      }
      it->second += (it->second.empty() ? "" : " ") + v.substr(1);
    } else if (Base(rel) == "cgroup.procs") {
      it->second += std::string(value) + "\n";
    } else {
      it->second = std::string(value);
    }
    return absl::OkStatus();
  }

  Status MakeDir(const std::string& rel) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->dirs.count(rel) != 0) {
      return AlreadyExists("exists " + rel);
    }
    if (s_->dirs.count(Parent(rel)) == 0) {
      return NotFound("no parent for " + rel);
    }
    s_->dirs.insert(rel);
    Populate(rel);
    return absl::OkStatus();
  }

  Status RemoveDir(const std::string& rel) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    ++s_->rmdir_calls;
    if (s_->dirs.count(rel) == 0) {
      return NotFound("no dir " + rel);
    }
    auto busy = s_->busy.find(rel);
    if (busy != s_->busy.end() && busy->second > 0) {
      --busy->second;
      return FailedPrecondition("rmdir " + rel + ": Device or resource busy");
    }
    for (const std::string& d : s_->dirs) {
      if (d.size() > rel.size() && d.compare(0, rel.size() + 1, rel + "/") == 0) {
        return FailedPrecondition("rmdir " + rel + ": has children");
      }
    }
    s_->dirs.erase(rel);
    for (auto it = s_->files.begin(); it != s_->files.end();) {
      it = Parent(it->first) == rel ? s_->files.erase(it) : std::next(it);
    }
    return absl::OkStatus();
  }

  bool Exists(const std::string& rel) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->dirs.count(rel) != 0 || s_->files.count(rel) != 0;
  }

 private:
  void Put(const std::string& dir, const std::string& file, const std::string& value) {
    s_->files[dir + "/" + file] = value;
  }

  // The files the kernel creates with a new cgroup directory.
  void Populate(const std::string& rel) {
    if (s_->version == CgroupVersion::kV2) {
      std::string parent_subtree =
          s_->files[Parent(rel).empty() ? "cgroup.subtree_control"
                                        : Parent(rel) + "/cgroup.subtree_control"];
      Put(rel, "cgroup.procs", "");
      Put(rel, "cgroup.controllers", parent_subtree);
      Put(rel, "cgroup.subtree_control", "");
      std::set<std::string> on;
      std::istringstream in(parent_subtree);
      for (std::string c; in >> c;) {
        on.insert(c);
      }
      if (on.count("cpu")) {
        Put(rel, "cpu.weight", "100");
        Put(rel, "cpu.max", "max 100000");
        Put(rel, "cpu.stat", "usage_usec 0\n");
      }
      if (on.count("memory")) {
        Put(rel, "memory.max", "max");
        Put(rel, "memory.current", "0");
        Put(rel, "memory.stat", "anon 0\ninactive_file 0\n");
      }
      if (on.count("pids")) {
        Put(rel, "pids.current", "0");
      }
      if (on.count("cpuset")) {
        Put(rel, "cpuset.cpus", "");
        Put(rel, "cpuset.mems", "");
      }
      return;
    }
    std::string hierarchy = rel.substr(0, rel.find('/'));
    Put(rel, "cgroup.procs", "");
    if (hierarchy == "cpu") {
      Put(rel, "cpu.shares", "1024");
      Put(rel, "cpu.cfs_period_us", "100000");
      Put(rel, "cpu.cfs_quota_us", "-1");
    } else if (hierarchy == "cpuacct") {
      Put(rel, "cpuacct.usage", "0");
    } else if (hierarchy == "cpuset") {
      Put(rel, "cpuset.cpus", "");
      Put(rel, "cpuset.mems", "");
    } else if (hierarchy == "memory") {
      Put(rel, "memory.limit_in_bytes", "9223372036854771712");
      Put(rel, "memory.usage_in_bytes", "0");
      Put(rel, "memory.stat", "cache 0\ntotal_inactive_file 0\n");
    } else if (hierarchy == "pids") {
      Put(rel, "pids.current", "0");
    }
  }

  std::shared_ptr<FakeState> s_;
};

// The layout of this host: one hierarchy per controller plus name=systemd and unified.
CgroupLayout HybridLayout() {
  CgroupLayout layout;
  layout.version = CgroupVersion::kV1;
  for (const char* c :
       {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
    layout.v1_controllers[c] = c;
    layout.v1_hierarchies.push_back(c);
  }
  layout.v1_hierarchies.push_back("systemd");
  layout.v1_hierarchies.push_back("unified");
  return layout;
}

std::shared_ptr<FakeState> V1State() {
  auto state = std::make_shared<FakeState>();
  for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
                        "systemd", "unified"}) {
    state->dirs.insert(h);
  }
  state->files["cpuset/cpuset.cpus"] = "0-3\n";
  state->files["cpuset/cpuset.mems"] = "0\n";
  return state;
}

std::shared_ptr<FakeState> V2State(const std::string& root_controllers) {
  auto state = std::make_shared<FakeState>();
  state->version = CgroupVersion::kV2;
  state->files["cgroup.controllers"] = root_controllers;
  state->files["cgroup.subtree_control"] = "";
  return state;
}

CgroupLayout V2Layout() {
  CgroupLayout layout;
  layout.version = CgroupVersion::kV2;
  return layout;
}

std::unique_ptr<CgroupfsManager> Manager(
    std::shared_ptr<FakeState> state, CgroupLayout layout,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) {
  return std::make_unique<CgroupfsManager>(std::make_unique<FakeCgroupFs>(std::move(state)),
                                           std::move(layout), timeout);
}

// --- Naming ------------------------------------------------------------------------------------

TEST(NormalizeCgroupParent, EmptyOrMessy_DefaultOrCleaned) {
  EXPECT_EQ(NormalizeCgroupParent("").value(), "/crio-cpp");
  EXPECT_EQ(NormalizeCgroupParent("kubepods/besteffort/").value(), "/kubepods/besteffort");
  EXPECT_EQ(NormalizeCgroupParent("//kubepods//burstable/pod1").value(),
            "/kubepods/burstable/pod1");
}

TEST(NormalizeCgroupParent, SystemdSlice_InvalidArgumentExplainingTheMismatch) {
  auto p = NormalizeCgroupParent("kubepods-besteffort-pod1.slice");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(p.status()));
  EXPECT_THAT(Message(p.status()), HasSubstr("systemd slice"));
}

TEST(NormalizeCgroupParent, DotDot_InvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(NormalizeCgroupParent("/kubepods/../etc").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(NormalizeCgroupParent("/kube pods").status()));
}

TEST(ContainerCgroupPath, CrioNaming) {
  EXPECT_EQ(ContainerCgroupPath("/kubepods/besteffort/pod1", "abc").value(),
            "/kubepods/besteffort/pod1/crio-abc");
  EXPECT_EQ(ContainerCgroupPath("", "abc").value(), "/crio-cpp/crio-abc");
  EXPECT_EQ(ConmonCgroupPath("/kubepods/pod1", "abc").value(), "/kubepods/pod1/crio-conmon-abc");
  EXPECT_TRUE(absl::IsInvalidArgument(ContainerCgroupPath("/k", "a/b").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ContainerCgroupPath("/k", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ContainerCgroupPath("/k", "..").status()));
}

TEST(CpuSharesToWeight, KubernetesFormula) {
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(1024), 39u);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(0), 1u);             // clamped up to 2
  EXPECT_EQ(CpuSharesToWeight(1u << 30), 10000u);  // clamped down
  EXPECT_EQ(CpuSharesToWeight(512), 1 + ((512 - 2) * 9999) / 262142);
}

// --- Layout parsing ----------------------------------------------------------------------------

TEST(ParseCgroupLayout, HybridHostMountinfo_ControllersAndHierarchies) {
  const char* mountinfo =
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "41 26 0:4 net:[4026532176] /tmp/x rw - nsfs nsfs rw\n";
  CgroupLayout layout = ParseCgroupLayout(mountinfo, "/sys/fs/cgroup", CgroupVersion::kV1);
  EXPECT_THAT(
      layout.v1_controllers,
      UnorderedElementsAre(Pair("cpu", "cpu"), Pair("cpuacct", "cpuacct"), Pair("cpuset", "cpuset"),
                           Pair("memory", "memory"), Pair("pids", "pids")));
  EXPECT_THAT(layout.v1_hierarchies,
              ElementsAre("cpu", "cpuacct", "cpuset", "memory", "pids", "systemd", "unified"));
}

TEST(ParseCgroupLayout, CoMountedCpuCpuacct_BothMapToOneHierarchy) {
  const char* mountinfo =
      "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:8 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "26 24 0:23 / /sys/fs/cgroup/net_cls,net_prio rw shared:9 - cgroup cgroup "
      "rw,net_cls,net_prio\n";
  CgroupLayout layout = ParseCgroupLayout(mountinfo, "/sys/fs/cgroup", CgroupVersion::kV1);
  EXPECT_EQ(layout.v1_controllers.at("cpu"), "cpu,cpuacct");
  EXPECT_EQ(layout.v1_controllers.at("cpuacct"), "cpu,cpuacct");
  EXPECT_EQ(layout.v1_controllers.at("net_prio"), "net_cls,net_prio");
  EXPECT_THAT(layout.v1_hierarchies, ElementsAre("cpu,cpuacct", "net_cls,net_prio"));
}

TEST(ParseCgroupLayout, V2_NoV1Data) {
  CgroupLayout layout = ParseCgroupLayout("garbage", "/sys/fs/cgroup", CgroupVersion::kV2);
  EXPECT_EQ(layout.version, CgroupVersion::kV2);
  EXPECT_THAT(layout.v1_controllers, IsEmpty());
}

// --- v1 ----------------------------------------------------------------------------------------

TEST(CgroupfsManagerV1, CreatePodCgroup_DirsInEveryManagedControllerOnly) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto path = mgr->CreatePodCgroup("/kubepods/besteffort", "pod1");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, "/kubepods/besteffort/crio-pod1");
  for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "pids"}) {
    EXPECT_EQ(state->dirs.count(std::string(h) + "/kubepods/besteffort/crio-pod1"), 1u) << h;
  }
  EXPECT_EQ(state->dirs.count("devices/kubepods"), 0u);
  EXPECT_EQ(state->dirs.count("systemd/kubepods"), 0u);
}

TEST(CgroupfsManagerV1, CreatePodCgroup_CpusetCopiedFromParentAtEveryLevel) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/kubepods", "pod1").ok());
  EXPECT_EQ(state->files["cpuset/kubepods/cpuset.cpus"], "0-3");
  EXPECT_EQ(state->files["cpuset/kubepods/cpuset.mems"], "0");
  EXPECT_EQ(state->files["cpuset/kubepods/crio-pod1/cpuset.cpus"], "0-3");
  EXPECT_EQ(state->files["cpuset/kubepods/crio-pod1/cpuset.mems"], "0");
}

TEST(CgroupfsManagerV1, CreatePodCgroup_ExistingParentKeepsItsCpuset) {
  auto state = V1State();
  state->dirs.insert("cpuset/kubepods");
  state->files["cpuset/kubepods/cpuset.cpus"] = "1";
  state->files["cpuset/kubepods/cpuset.mems"] = "0";
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/kubepods", "pod1").ok());
  EXPECT_EQ(state->files["cpuset/kubepods/cpuset.cpus"], "1");
  EXPECT_EQ(state->files["cpuset/kubepods/crio-pod1/cpuset.cpus"], "1");
}

TEST(CgroupfsManagerV1, CreatePodCgroup_TwiceIsIdempotent) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("", "pod1").ok());
  auto again = mgr->CreatePodCgroup("", "pod1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, "/crio-cpp/crio-pod1");
}

TEST(CgroupfsManagerV1, CreatePodCgroup_CoMountedCpuCpuacct_OneDirectory) {
  auto state = std::make_shared<FakeState>();
  state->dirs.insert("cpu,cpuacct");
  state->dirs.insert("memory");
  CgroupLayout layout;
  layout.v1_controllers = {
      {"cpu", "cpu,cpuacct"}, {"cpuacct", "cpu,cpuacct"}, {"memory", "memory"}};
  layout.v1_hierarchies = {"cpu,cpuacct", "memory"};
  auto mgr = Manager(state, layout);
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  EXPECT_EQ(state->dirs.count("cpu,cpuacct/k/crio-p"), 1u);
  EXPECT_EQ(state->dirs.count("memory/k/crio-p"), 1u);
}

TEST(CgroupfsManagerV1, CreatePodCgroup_SlicePath_InvalidArgumentNothingCreated) {
  auto state = V1State();
  size_t dirs_before = state->dirs.size();
  auto mgr = Manager(state, HybridLayout());
  auto path = mgr->CreatePodCgroup("kubepods.slice", "pod1");
  EXPECT_TRUE(absl::IsInvalidArgument(path.status()));
  EXPECT_EQ(state->dirs.size(), dirs_before);
}

TEST(CgroupfsManagerV1, ApplyPodResources_WritesV1Files) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto path = mgr->CreatePodCgroup("/kubepods", "pod1");
  ASSERT_TRUE(path.ok());
  PodResources r;
  r.cpu_shares = 512;
  r.cpu_quota_us = 50000;
  r.cpu_period_us = 100000;
  r.memory_limit_bytes = 128 << 20;
  r.cpuset_cpus = "0-1";
  Status s = mgr->ApplyPodResources(*path, r);
  ASSERT_TRUE(s.ok()) << s;
  const std::string dir = "/kubepods/crio-pod1/";
  EXPECT_EQ(state->files["cpu" + dir + "cpu.shares"], "512");
  EXPECT_EQ(state->files["cpu" + dir + "cpu.cfs_quota_us"], "50000");
  EXPECT_EQ(state->files["cpu" + dir + "cpu.cfs_period_us"], "100000");
  EXPECT_EQ(state->files["memory" + dir + "memory.limit_in_bytes"], "134217728");
  EXPECT_EQ(state->files["cpuset" + dir + "cpuset.cpus"], "0-1");
}

TEST(CgroupfsManagerV1, ApplyPodResources_UnlimitedAndClampedValues) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto path = mgr->CreatePodCgroup("/kubepods", "pod1");
  ASSERT_TRUE(path.ok());
  PodResources r;
  r.cpu_shares = 1;
  r.cpu_quota_us = -1;
  r.memory_limit_bytes = 0;
  ASSERT_TRUE(mgr->ApplyPodResources(*path, r).ok());
  EXPECT_EQ(state->files["cpu/kubepods/crio-pod1/cpu.shares"], "2");
  EXPECT_EQ(state->files["cpu/kubepods/crio-pod1/cpu.cfs_quota_us"], "-1");
  EXPECT_EQ(state->files["memory/kubepods/crio-pod1/memory.limit_in_bytes"], "-1");
}

TEST(CgroupfsManagerV1, ApplyPodResources_PeriodRejected_QuotaFirstThenPeriod) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto path = mgr->CreatePodCgroup("/k", "p");
  ASSERT_TRUE(path.ok());
  state->write_errors["cpu/k/crio-p/cpu.cfs_period_us"] = InvalidArgument("EINVAL");
  state->writes.clear();
  PodResources r;
  r.cpu_quota_us = 20000;
  r.cpu_period_us = 10000;
  ASSERT_TRUE(mgr->ApplyPodResources(*path, r).ok());
  EXPECT_THAT(state->writes, ElementsAre(Pair("cpu/k/crio-p/cpu.cfs_period_us", "10000"),
                                         Pair("cpu/k/crio-p/cpu.cfs_quota_us", "20000"),
                                         Pair("cpu/k/crio-p/cpu.cfs_period_us", "10000"),
                                         Pair("cpu/k/crio-p/cpu.cfs_quota_us", "20000")));
  EXPECT_EQ(state->files["cpu/k/crio-p/cpu.cfs_period_us"], "10000");
}

TEST(CgroupfsManagerV1, ApplyPodResources_MissingCgroup_NotFoundWithPath) {
  auto mgr = Manager(V1State(), HybridLayout());
  PodResources r;
  r.cpu_shares = 100;
  Status s = mgr->ApplyPodResources("/nope", r);
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(Message(s), HasSubstr("/nope"));
}

TEST(CgroupfsManagerV1, ApplyPodResources_RootOrRelativePath_InvalidArgument) {
  auto mgr = Manager(V1State(), HybridLayout());
  EXPECT_TRUE(absl::IsInvalidArgument(mgr->ApplyPodResources("/", PodResources{})));
  EXPECT_TRUE(absl::IsInvalidArgument(mgr->ApplyPodResources("kubepods", PodResources{})));
  EXPECT_TRUE(absl::IsInvalidArgument(mgr->ApplyPodResources("/a/../b", PodResources{})));
}

TEST(CgroupfsManagerV1, RemoveCgroup_EveryHierarchyAndIdempotent) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  // A directory runc made in a hierarchy we do not manage must go too.
  state->dirs.insert("devices/k");
  state->dirs.insert("devices/k/crio-p");
  ASSERT_TRUE(mgr->RemoveCgroup("/k/crio-p").ok());
  ASSERT_TRUE(mgr->RemoveCgroup("/k").ok());
  for (const std::string& d : state->dirs) {
    EXPECT_EQ(d.find("/k"), std::string::npos) << d;
  }
  EXPECT_EQ(state->files.count("cpu/k/crio-p/cpu.shares"), 0u);
  EXPECT_TRUE(mgr->RemoveCgroup("/k/crio-p").ok());
}

TEST(CgroupfsManagerV1, RemoveCgroup_BusyForAWhile_Retries) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->busy["memory/k/crio-p"] = 3;
  Status s = mgr->RemoveCgroup("/k/crio-p");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(state->dirs.count("memory/k/crio-p"), 0u);
  EXPECT_EQ(state->busy["memory/k/crio-p"], 0);
}

TEST(CgroupfsManagerV1, RemoveCgroup_BusyForever_FailedPreconditionAfterTimeoutOthersRemoved) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout(), std::chrono::milliseconds(30));
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->busy["pids/k/crio-p"] = 1 << 30;
  auto start = std::chrono::steady_clock::now();
  Status s = mgr->RemoveCgroup("/k/crio-p");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(Message(s), HasSubstr("/k/crio-p"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(30));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(state->dirs.count("pids/k/crio-p"), 1u);
  EXPECT_EQ(state->dirs.count("memory/k/crio-p"), 0u);
}

TEST(CgroupfsManagerV1, RemoveCgroup_LastPodOfDefaultParent_TakesTheParent) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto first = mgr->CreatePodCgroup("", "p1");
  auto second = mgr->CreatePodCgroup("", "p2");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(*first, "/crio-cpp/crio-p1");
  ASSERT_TRUE(mgr->RemoveCgroup(*first).ok());
  EXPECT_EQ(state->dirs.count("memory/crio-cpp"), 1u) << "p2 still lives there";
  ASSERT_TRUE(mgr->RemoveCgroup(*second).ok());
  for (const std::string& d : state->dirs) {
    EXPECT_EQ(d.find("crio-cpp"), std::string::npos) << d;
  }
}

// A runtime creates container directories in hierarchies we never create in (freezer, ...).
// While any pod lives, the default parent there must stay, even when it is empty for a moment.
TEST(CgroupfsManagerV1, RemoveCgroup_DefaultParentInOtherHierarchies_StaysWhilePodsLive) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto first = mgr->CreatePodCgroup("", "p1");
  auto second = mgr->CreatePodCgroup("", "p2");
  ASSERT_TRUE(first.ok() && second.ok());
  state->dirs.insert("freezer/crio-cpp");  // runc between its two mkdirs
  ASSERT_TRUE(mgr->RemoveCgroup(*first).ok());
  EXPECT_EQ(state->dirs.count("freezer/crio-cpp"), 1u);
  ASSERT_TRUE(mgr->RemoveCgroup(*second).ok());
  EXPECT_EQ(state->dirs.count("freezer/crio-cpp"), 0u);
}

TEST(CgroupfsManagerV1, RemoveCgroup_KubeletParent_StaysWhenEmpty) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  auto sandbox = mgr->CreatePodCgroup("/kubepods/pod1", "p1");
  ASSERT_TRUE(sandbox.ok());
  ASSERT_TRUE(mgr->RemoveCgroup(*sandbox).ok());
  EXPECT_EQ(state->dirs.count("memory/kubepods/pod1"), 1u);
}

TEST(CgroupfsManagerV1, CreatePodCgroup_DefaultParentRemovedMidWalk_StartsOver) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  // Another daemon's last pod removes the shared parent right after we made it.
  state->write_errors["cpuset/crio-cpp/cpuset.cpus"] = NotFound("cgroup removed under us");
  auto sandbox = mgr->CreatePodCgroup("", "p1");
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  EXPECT_EQ(state->dirs.count("cpuset/crio-cpp/crio-p1"), 1u);
}

TEST(CgroupfsManagerV1, MoveProcess_CreatesConmonCgroupAndWritesProcs) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  std::string conmon = ConmonCgroupPath("/k", "c1").value();
  ASSERT_TRUE(mgr->MoveProcess(4242, conmon).ok());
  for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "pids"}) {
    EXPECT_EQ(state->files[std::string(h) + "/k/crio-conmon-c1/cgroup.procs"], "4242\n") << h;
  }
  EXPECT_EQ(state->files["cpuset/k/crio-conmon-c1/cpuset.cpus"], "0-3");
}

TEST(CgroupfsManagerV1, ReadStats_ParsesCountersAndWorkingSet) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->files["memory/k/crio-p/memory.usage_in_bytes"] = "10485760\n";
  state->files["memory/k/crio-p/memory.stat"] =
      "cache 100\ninactive_file 1\ntotal_inactive_file 4194304\n";
  state->files["cpuacct/k/crio-p/cpuacct.usage"] = "123456789\n";
  state->files["pids/k/crio-p/pids.current"] = "3\n";
  auto stats = mgr->ReadStats("/k/crio-p");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory_usage_bytes, 10485760u);
  EXPECT_EQ(stats->memory_working_set_bytes, 10485760u - 4194304u);
  EXPECT_EQ(stats->cpu_usage_ns, 123456789u);
  EXPECT_EQ(stats->pids_current, 3u);
}

TEST(CgroupfsManagerV1, ReadStats_OnlyTheAskedParts) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->files["memory/k/crio-p/memory.usage_in_bytes"] = "10485760\n";
  state->files["memory/k/crio-p/memory.stat"] = "total_inactive_file 4194304\n";
  state->files["memory/k/crio-p/memory.oom_control"] = "oom_kill_disable 0\noom_kill 2\n";
  state->files["cpuacct/k/crio-p/cpuacct.usage"] = "123456789\n";
  state->files["pids/k/crio-p/pids.current"] = "3\n";
  auto cpu_memory = mgr->ReadStats("/k/crio-p", kCpuStats | kMemoryStats);
  ASSERT_TRUE(cpu_memory.ok()) << cpu_memory.status();
  EXPECT_EQ(cpu_memory->cpu_usage_ns, 123456789u);
  EXPECT_EQ(cpu_memory->memory_working_set_bytes, 10485760u - 4194304u);
  EXPECT_FALSE(cpu_memory->pids_current.has_value());
  EXPECT_FALSE(cpu_memory->oom_kills.has_value());
  auto pids_oom = mgr->ReadStats("/k/crio-p", kPidsStats | kOomStats);
  ASSERT_TRUE(pids_oom.ok()) << pids_oom.status();
  EXPECT_EQ(pids_oom->pids_current, 3u);
  EXPECT_EQ(pids_oom->oom_kills, 2u);
  EXPECT_FALSE(pids_oom->cpu_usage_ns.has_value());
  EXPECT_FALSE(pids_oom->memory_usage_bytes.has_value());
}

TEST(CgroupfsManagerV1, ReadStats_MemoryDetailsLimitSwapAndOomKills) {
  auto state = V1State();
  auto mgr = Manager(state, HybridLayout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->files["memory/k/crio-p/memory.usage_in_bytes"] = "1000000\n";
  state->files["memory/k/crio-p/memory.stat"] =
      "rss 1\nhierarchical_memory_limit 2000000\ntotal_rss 600000\ntotal_pgfault 321\n"
      "total_pgmajfault 7\ntotal_inactive_file 0\ntotal_swap 500000\n";
  state->files["memory/k/crio-p/memory.oom_control"] =
      "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
  auto stats = mgr->ReadStats("/k/crio-p");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory_rss_bytes, 600000u);
  EXPECT_EQ(stats->memory_page_faults, 321u);
  EXPECT_EQ(stats->memory_major_page_faults, 7u);
  EXPECT_EQ(stats->memory_limit_bytes, 2000000u);
  EXPECT_EQ(stats->swap_usage_bytes, 500000u);
  EXPECT_EQ(stats->oom_kills, 2u);
  EXPECT_FALSE(stats->cpu_pressure.has_value());  // v1 has no PSI

  // No limit: the kernel's PAGE_COUNTER_MAX in bytes.
  state->files["memory/k/crio-p/memory.stat"] = "hierarchical_memory_limit 9223372036854771712\n";
  stats = mgr->ReadStats("/k/crio-p");
  ASSERT_TRUE(stats.ok());
  EXPECT_FALSE(stats->memory_limit_bytes.has_value());
}

TEST(CgroupfsManagerV1, ReadStats_MissingCgroup_NotFound) {
  auto mgr = Manager(V1State(), HybridLayout());
  EXPECT_TRUE(absl::IsNotFound(mgr->ReadStats("/nope").status()));
}

// --- v2 ----------------------------------------------------------------------------------------

TEST(CgroupfsManagerV2, CreatePodCgroup_EnablesControllersInAncestorsNotLeaf) {
  auto state = V2State("cpuset cpu io memory hugetlb pids rdma");
  auto mgr = Manager(state, V2Layout());
  auto path = mgr->CreatePodCgroup("/kubepods", "pod1");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, "/kubepods/crio-pod1");
  EXPECT_EQ(state->dirs.count("kubepods/crio-pod1"), 1u);
  EXPECT_EQ(state->files["cgroup.subtree_control"], "cpu cpuset memory pids");
  EXPECT_EQ(state->files["kubepods/cgroup.subtree_control"], "cpu cpuset memory pids");
  EXPECT_EQ(state->files["kubepods/crio-pod1/cgroup.subtree_control"], "");
  EXPECT_EQ(state->files.count("kubepods/crio-pod1/cpu.weight"), 1u);
}

TEST(CgroupfsManagerV2, CreatePodCgroup_OnlyAvailableControllersAndNoRewrite) {
  auto state = V2State("memory pids");
  state->files["cgroup.subtree_control"] = "memory";
  auto mgr = Manager(state, V2Layout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  EXPECT_EQ(state->files["cgroup.subtree_control"], "memory pids");
  for (const auto& [file, value] : state->writes) {
    EXPECT_NE(value, "+cpu") << file;
    EXPECT_FALSE(file == "cgroup.subtree_control" && value == "+memory");
  }
}

TEST(CgroupfsManagerV2, ApplyPodResources_WeightMaxAndMemoryMax) {
  auto state = V2State("cpuset cpu memory pids");
  auto mgr = Manager(state, V2Layout());
  auto path = mgr->CreatePodCgroup("/k", "p");
  ASSERT_TRUE(path.ok());
  PodResources r;
  r.cpu_shares = 1024;
  r.cpu_quota_us = 50000;
  r.cpu_period_us = 100000;
  r.memory_limit_bytes = 64 << 20;
  ASSERT_TRUE(mgr->ApplyPodResources(*path, r).ok());
  EXPECT_EQ(state->files["k/crio-p/cpu.weight"], "39");
  EXPECT_EQ(state->files["k/crio-p/cpu.max"], "50000 100000");
  EXPECT_EQ(state->files["k/crio-p/memory.max"], "67108864");
}

TEST(CgroupfsManagerV2, ApplyPodResources_UnlimitedAndPeriodOnly) {
  auto state = V2State("cpu memory");
  auto mgr = Manager(state, V2Layout());
  auto path = mgr->CreatePodCgroup("/k", "p");
  ASSERT_TRUE(path.ok());
  state->files["k/crio-p/cpu.max"] = "30000 100000\n";
  PodResources period_only;
  period_only.cpu_period_us = 50000;
  ASSERT_TRUE(mgr->ApplyPodResources(*path, period_only).ok());
  EXPECT_EQ(state->files["k/crio-p/cpu.max"], "30000 50000");

  PodResources unlimited;
  unlimited.cpu_quota_us = -1;
  unlimited.memory_limit_bytes = -1;
  ASSERT_TRUE(mgr->ApplyPodResources(*path, unlimited).ok());
  EXPECT_EQ(state->files["k/crio-p/cpu.max"], "max");
  EXPECT_EQ(state->files["k/crio-p/memory.max"], "max");
}

TEST(CgroupfsManagerV2, MoveProcessAndRemove_SingleTree) {
  auto state = V2State("cpu memory pids");
  auto mgr = Manager(state, V2Layout());
  ASSERT_TRUE(mgr->MoveProcess(77, "/k/crio-conmon-c").ok());
  EXPECT_EQ(state->files["k/crio-conmon-c/cgroup.procs"], "77\n");
  int before = state->rmdir_calls;
  ASSERT_TRUE(mgr->RemoveCgroup("/k/crio-conmon-c").ok());
  EXPECT_EQ(state->rmdir_calls - before, 1);
  EXPECT_EQ(state->dirs.count("k/crio-conmon-c"), 0u);
}

TEST(CgroupfsManagerV2, ReadStats_UsageUsecToNs) {
  auto state = V2State("cpu memory pids");
  auto mgr = Manager(state, V2Layout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->files["k/crio-p/memory.current"] = "8192\n";
  state->files["k/crio-p/memory.stat"] = "anon 4096\ninactive_file 1024\n";
  state->files["k/crio-p/cpu.stat"] = "usage_usec 2500\nuser_usec 2000\n";
  state->files["k/crio-p/pids.current"] = "2\n";
  auto stats = mgr->ReadStats("/k/crio-p");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory_usage_bytes, 8192u);
  EXPECT_EQ(stats->memory_working_set_bytes, 7168u);
  EXPECT_EQ(stats->cpu_usage_ns, 2500000u);
  EXPECT_EQ(stats->pids_current, 2u);
}

TEST(CgroupfsManagerV2, ReadStats_MemoryDetailsSwapOomAndPressure) {
  auto state = V2State("cpu memory pids io");
  auto mgr = Manager(state, V2Layout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  state->files["k/crio-p/memory.current"] = "8192\n";
  state->files["k/crio-p/memory.stat"] =
      "anon 4096\nfile 100\ninactive_file 1024\npgfault 55\npgmajfault 3\n";
  state->files["k/crio-p/memory.max"] = "max\n";
  state->files["k/crio-p/memory.swap.current"] = "4096\n";
  state->files["k/crio-p/memory.swap.max"] = "1048576\n";
  state->files["k/crio-p/memory.events"] = "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n";
  state->files["k/crio-p/cpu.pressure"] =
      "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=42\n";
  state->files["k/crio-p/memory.pressure"] =
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=9\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=8\n";
  auto stats = mgr->ReadStats("/k/crio-p");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory_rss_bytes, 4096u);
  EXPECT_EQ(stats->memory_page_faults, 55u);
  EXPECT_EQ(stats->memory_major_page_faults, 3u);
  EXPECT_FALSE(stats->memory_limit_bytes.has_value());
  EXPECT_EQ(stats->swap_usage_bytes, 4096u);
  EXPECT_EQ(stats->swap_limit_bytes, 1048576u);
  EXPECT_EQ(stats->oom_kills, 1u);
  ASSERT_TRUE(stats->cpu_pressure && stats->cpu_pressure->some && stats->cpu_pressure->full);
  EXPECT_DOUBLE_EQ(stats->cpu_pressure->some->avg10, 1.5);
  EXPECT_DOUBLE_EQ(stats->cpu_pressure->some->avg60, 0.25);
  EXPECT_EQ(stats->cpu_pressure->some->total_us, 123456u);
  EXPECT_EQ(stats->cpu_pressure->full->total_us, 42u);
  ASSERT_TRUE(stats->memory_pressure && stats->memory_pressure->full);
  EXPECT_EQ(stats->memory_pressure->full->total_us, 8u);
  EXPECT_FALSE(stats->io_pressure.has_value());  // no io.pressure file
}

TEST(ParsePressure, CpuFileWithoutFullLineAndGarbage) {
  auto psi = ParsePressure("some avg10=0.10 avg60=0.20 avg300=0.30 total=5\nbogus\n");
  ASSERT_TRUE(psi.some.has_value());
  EXPECT_FALSE(psi.full.has_value());
  EXPECT_DOUBLE_EQ(psi.some->avg300, 0.3);
  EXPECT_EQ(psi.some->total_us, 5u);
  EXPECT_FALSE(ParsePressure("").some.has_value());
}

TEST(CgroupfsManagerV2, ReadStats_ControllerNotEnabled_CounterMissing) {
  auto state = V2State("pids");
  auto mgr = Manager(state, V2Layout());
  ASSERT_TRUE(mgr->CreatePodCgroup("/k", "p").ok());
  auto stats = mgr->ReadStats("/k/crio-p");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(stats->memory_usage_bytes.has_value());
  EXPECT_FALSE(stats->cpu_usage_ns.has_value());
  EXPECT_EQ(stats->pids_current, 0u);
}

// --- Manager choice ----------------------------------------------------------------------------

TEST(ChooseCgroupManager, SystemdWithoutSystemd_FallsBackWithWarning) {
  auto choice = ChooseCgroupManager("systemd", "process_api");
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->kind, CgroupManagerKind::kCgroupfs);
  EXPECT_THAT(choice->warning, HasSubstr("process_api"));
  EXPECT_THAT(choice->warning, HasSubstr("cgroupfs"));
}

TEST(ChooseCgroupManager, SystemdRunning_Systemd) {
  auto choice = ChooseCgroupManager("systemd", "systemd");
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->kind, CgroupManagerKind::kSystemd);
  EXPECT_TRUE(choice->warning.empty());
}

TEST(ChooseCgroupManager, Cgroupfs_NoWarning) {
  auto choice = ChooseCgroupManager("cgroupfs", "systemd");
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->kind, CgroupManagerKind::kCgroupfs);
  EXPECT_TRUE(choice->warning.empty());
}

TEST(ChooseCgroupManager, UnknownName_InvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(ChooseCgroupManager("cgroupv3", "init").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ChooseCgroupManager("", "init").status()));
}

// --- systemd driver (src/cgroups/systemd_manager.h) ----------------------------------------

TEST(ExpandSlice, DashesAreAncestors) {
  EXPECT_EQ(*ExpandSlice("kubepods-burstable-pod12.slice"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice");
  EXPECT_EQ(*ExpandSlice("system.slice"), "/system.slice");
  EXPECT_EQ(*ExpandSlice("-.slice"), "/");
  for (const char* bad :
       {"kubepods", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", ".slice"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ExpandSlice(bad).status())) << bad;
  }
}

TEST(PodSlice, EmptyIsSystemSliceAndPathsGiveTheirLastPart) {
  EXPECT_EQ(*PodSlice(""), "system.slice");
  EXPECT_EQ(*PodSlice("kubepods-pod1.slice"), "kubepods-pod1.slice");
  EXPECT_EQ(*PodSlice("/kubepods.slice/kubepods-pod1.slice"), "kubepods-pod1.slice");
  auto cgroupfs = PodSlice("/kubepods/besteffort/pod1");
  ASSERT_TRUE(absl::IsInvalidArgument(cgroupfs.status()));
  EXPECT_THAT(Message(cgroupfs.status()), HasSubstr("did not receive a slice as parent"));
}

TEST(CpuListToMask, RangesAndSingles) {
  EXPECT_EQ(*CpuListToMask("0-2,5"), std::vector<uint8_t>{0x27});
  EXPECT_EQ(*CpuListToMask("9"), (std::vector<uint8_t>{0x00, 0x02}));
  EXPECT_TRUE(absl::IsInvalidArgument(CpuListToMask("3-1").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CpuListToMask("x").status()));
}

TEST(PodResourceProperties, V1UsesSharesAndMemoryLimit) {
  PodResources r;
  r.cpu_shares = 512;
  r.cpu_quota_us = 50000;
  r.cpu_period_us = 100000;
  r.memory_limit_bytes = 64 << 20;
  r.cpuset_cpus = "0-1";
  auto props = PodResourceProperties(r, CgroupVersion::kV1);
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_THAT(*props, ElementsAre(UnitProperty{"CPUShares", uint64_t{512}},
                                  UnitProperty{"CPUQuotaPerSecUSec", uint64_t{500000}},
                                  UnitProperty{"CPUQuotaPeriodUSec", uint64_t{100000}},
                                  UnitProperty{"MemoryLimit", uint64_t{64 << 20}}));
}

TEST(PodResourceProperties, V2UsesWeightMaxAndAllowedCpus) {
  PodResources r;
  r.cpu_shares = 1024;
  r.cpu_quota_us = -1;
  r.memory_limit_bytes = 0;
  r.cpuset_cpus = "1";
  auto props = PodResourceProperties(r, CgroupVersion::kV2);
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_THAT(*props, ElementsAre(UnitProperty{"CPUWeight", uint64_t{39}},
                                  UnitProperty{"CPUQuotaPerSecUSec", UINT64_MAX},
                                  UnitProperty{"MemoryMax", UINT64_MAX},
                                  UnitProperty{"AllowedCPUs", std::vector<uint8_t>{0x02}}));
}

// Records every call; units "exist" once started; `processes` answers UnitProcessCount.
struct FakeBusState {
  std::mutex mu;
  std::map<std::string, std::string> units;  // name -> Description
  std::vector<std::string> calls;
  std::map<std::string, UnitProperties> started, set;
  size_t processes = 0;
  Status start_error;
};

class FakeSystemdBus : public SystemdBus {
 public:
  explicit FakeSystemdBus(std::shared_ptr<FakeBusState> s) : s_(std::move(s)) {}
  Status StartTransientUnit(const std::string& name, const UnitProperties& props) override {
    std::lock_guard lock(s_->mu);
    s_->calls.push_back("start " + name);
    if (!s_->start_error.ok()) return s_->start_error;
    if (s_->units.count(name)) return AlreadyExists(name);
    std::string description;
    for (const auto& p : props) {
      if (p.name == "Description") description = std::get<std::string>(p.value);
    }
    s_->units[name] = description;
    s_->started[name] = props;
    return absl::OkStatus();
  }
  Status StopUnit(const std::string& name) override {
    std::lock_guard lock(s_->mu);
    s_->calls.push_back("stop " + name);
    return s_->units.erase(name) ? absl::OkStatus() : NotFound(name);
  }
  Status SetUnitProperties(const std::string& name, const UnitProperties& props) override {
    std::lock_guard lock(s_->mu);
    s_->calls.push_back("set " + name);
    if (!s_->units.count(name)) return NotFound(name);
    s_->set[name] = props;
    return absl::OkStatus();
  }
  StatusOr<size_t> UnitProcessCount(const std::string& name) override {
    std::lock_guard lock(s_->mu);
    if (!s_->units.count(name)) return NotFound(name);
    return s_->processes;
  }
  StatusOr<std::optional<std::string>> UnitDescription(const std::string& name) override {
    std::lock_guard lock(s_->mu);
    auto it = s_->units.find(name);
    if (it == s_->units.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

 private:
  std::shared_ptr<FakeBusState> s_;
};

class SystemdManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mgr_ = std::make_unique<SystemdManager>(
        std::make_unique<FakeSystemdBus>(bus_),
        std::make_unique<CgroupfsManager>(std::make_unique<FakeCgroupFs>(fs_), HybridLayout()),
        proc_.string(), std::chrono::milliseconds(200));
  }
  void TearDown() override { std::filesystem::remove_all(proc_); }

  // A fake /proc/<pid>/cgroup.
  void WriteProcCgroup(pid_t pid, const std::string& text) {
    std::filesystem::create_directories(proc_ / std::to_string(pid));
    std::ofstream(proc_ / std::to_string(pid) / "cgroup") << text;
  }

  std::shared_ptr<FakeBusState> bus_ = std::make_shared<FakeBusState>();
  std::shared_ptr<FakeState> fs_ = V1State();
  std::filesystem::path proc_ =
      std::filesystem::temp_directory_path() / ("crio-sdproc-" + std::to_string(::getpid()));
  std::unique_ptr<SystemdManager> mgr_;
};

TEST_F(SystemdManagerTest, NamesFollowTheSlice) {
  EXPECT_EQ(*mgr_->PodCgroupPath("kubepods-besteffort-pod1.slice"),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice");
  EXPECT_EQ(*mgr_->OciCgroupsPath("kubepods-besteffort-pod1.slice", "c1"),
            "kubepods-besteffort-pod1.slice:crio:c1");
  EXPECT_EQ(*mgr_->ContainerCgroupPath("kubepods-besteffort-pod1.slice", "c1"),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
            "crio-c1.scope");
  EXPECT_EQ(*mgr_->OciCgroupsPath("", "c1"), "system.slice:crio:c1");
  EXPECT_TRUE(absl::IsInvalidArgument(mgr_->OciCgroupsPath("/kubepods/pod1", "c1").status()));
}

TEST_F(SystemdManagerTest, CreatePodCgroup_StartsAMissingSliceOnceAndMakesTheSandboxDir) {
  auto path = mgr_->CreatePodCgroup("kubepods-pod1.slice", "p1");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, "/kubepods.slice/kubepods-pod1.slice/crio-p1");
  EXPECT_EQ(bus_->units["kubepods-pod1.slice"], kOurSliceDescription);
  EXPECT_TRUE(fs_->dirs.count("memory/kubepods.slice/kubepods-pod1.slice/crio-p1"));
  // A second sandbox of the same pod finds the slice loaded.
  ASSERT_TRUE(mgr_->CreatePodCgroup("kubepods-pod1.slice", "p2").ok());
  EXPECT_THAT(bus_->calls, ElementsAre("start kubepods-pod1.slice"));
}

TEST_F(SystemdManagerTest, RemoveCgroup_StopsOnlyOurEmptySlice) {
  ASSERT_TRUE(mgr_->CreatePodCgroup("kubepods-pod1.slice", "p1").ok());
  bus_->processes = 1;  // another sandbox of the pod still runs
  ASSERT_TRUE(mgr_->RemoveCgroup("/kubepods.slice/kubepods-pod1.slice/crio-p1").ok());
  EXPECT_TRUE(bus_->units.count("kubepods-pod1.slice"));
  EXPECT_FALSE(fs_->dirs.count("memory/kubepods.slice/kubepods-pod1.slice/crio-p1"));

  ASSERT_TRUE(mgr_->CreatePodCgroup("kubepods-pod1.slice", "p2").ok());
  bus_->processes = 0;
  ASSERT_TRUE(mgr_->RemoveCgroup("/kubepods.slice/kubepods-pod1.slice/crio-p2").ok());
  EXPECT_FALSE(bus_->units.count("kubepods-pod1.slice"));

  // The kubelet's slice (not ours) stays.
  bus_->units["kubepods-pod2.slice"] = "libcontainer container kubepods-pod2.slice";
  ASSERT_TRUE(mgr_->CreatePodCgroup("kubepods-pod2.slice", "p3").ok());
  ASSERT_TRUE(mgr_->RemoveCgroup("/kubepods.slice/kubepods-pod2.slice/crio-p3").ok());
  EXPECT_TRUE(bus_->units.count("kubepods-pod2.slice"));
}

TEST_F(SystemdManagerTest, ApplyPodResources_SetsUnitPropertiesAndFiles) {
  ASSERT_TRUE(mgr_->CreatePodCgroup("kubepods-pod1.slice", "p1").ok());
  PodResources r;
  r.cpu_shares = 256;
  r.memory_limit_bytes = 128 << 20;
  ASSERT_TRUE(mgr_->ApplyPodResources("/kubepods.slice/kubepods-pod1.slice", r).ok());
  EXPECT_THAT(bus_->set["kubepods-pod1.slice"],
              ElementsAre(UnitProperty{"CPUShares", uint64_t{256}},
                          UnitProperty{"MemoryLimit", uint64_t{128 << 20}}));
  EXPECT_EQ(fs_->files["cpu/kubepods.slice/kubepods-pod1.slice/cpu.shares"], "256");
  EXPECT_TRUE(absl::IsInvalidArgument(mgr_->ApplyPodResources("/kubepods/pod1", r)));
}

TEST_F(SystemdManagerTest, PlaceMonitor_StartsConmonScopeInThePodSliceAndWaits) {
  WriteProcCgroup(42, "1:name=systemd:/kubepods.slice/kubepods-pod1.slice/crio-conmon-c1.scope\n");
  ASSERT_TRUE(mgr_->PlaceMonitor(42, "kubepods-pod1.slice", "c1", "").ok());
  const UnitProperties& props = bus_->started["crio-conmon-c1.scope"];
  EXPECT_THAT(props,
              ::testing::Contains(UnitProperty{"Slice", std::string("kubepods-pod1.slice")}));
  EXPECT_THAT(props, ::testing::Contains(UnitProperty{"PIDs", std::vector<uint32_t>{42}}));
  EXPECT_THAT(props, ::testing::Contains(UnitProperty{"KillSignal", int32_t{SIGPIPE}}));

  // monitor_cgroup naming a slice wins over the pod's.
  WriteProcCgroup(43, "1:name=systemd:/system.slice/crio-conmon-c2.scope\n");
  ASSERT_TRUE(mgr_->PlaceMonitor(43, "kubepods-pod1.slice", "c2", "system.slice").ok());
  EXPECT_THAT(bus_->started["crio-conmon-c2.scope"],
              ::testing::Contains(UnitProperty{"Slice", std::string("system.slice")}));
}

TEST_F(SystemdManagerTest, PlaceMonitor_ProcessNeverArrives_DeadlineExceeded) {
  WriteProcCgroup(44, "1:name=systemd:/\n");
  Status placed = mgr_->PlaceMonitor(44, "kubepods-pod1.slice", "c3", "pod");
  EXPECT_TRUE(absl::IsDeadlineExceeded(placed)) << placed;
  EXPECT_THAT(Message(placed), HasSubstr("crio-conmon-c3.scope"));
}

TEST_F(SystemdManagerTest, PlaceMonitor_BusError_Propagates) {
  bus_->start_error = Internal("systemd said no");
  Status placed = mgr_->PlaceMonitor(45, "kubepods-pod1.slice", "c4", "");
  EXPECT_EQ(placed.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(placed), HasSubstr("systemd said no"));
}

// --- Host CgroupFs and /proc on a temp dir -----------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crio-cgroups-XXXXXX";
    char* dir = mkdtemp(tmpl);
    if (dir != nullptr) {
      path_ = dir;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(HostCgroupFs, TempRoot_ReadWriteMkdirRmdirErrors) {
  TempDir tmp;
  CgroupFsPtr fs = MakeHostCgroupFs(tmp.path());
  ASSERT_TRUE(fs->MakeDir("a").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(fs->MakeDir("a")));
  EXPECT_TRUE(absl::IsNotFound(fs->MakeDir("x/y")));
  EXPECT_TRUE(absl::IsNotFound(fs->Write("a/cpu.shares", "2")));  // never creates files
  { std::ofstream(tmp.path() + "/a/cpu.shares") << "1024\n"; }
  ASSERT_TRUE(fs->Write("a/cpu.shares", "512").ok());
  EXPECT_EQ(fs->Read("a/cpu.shares").value(), "512");
  EXPECT_TRUE(fs->Exists("a"));
  EXPECT_FALSE(fs->Exists("b"));
  EXPECT_TRUE(absl::IsNotFound(fs->RemoveDir("b")));
  ASSERT_TRUE(fs->MakeDir("a/child").ok());
  EXPECT_FALSE(fs->RemoveDir("a").ok());
  EXPECT_TRUE(fs->RemoveDir("a/child").ok());
}

TEST(InitProcessName, FakeProcRoot_TrimmedComm) {
  TempDir tmp;
  ASSERT_EQ(mkdir((tmp.path() + "/1").c_str(), 0755), 0);
  { std::ofstream(tmp.path() + "/1/comm") << "systemd\n"; }
  EXPECT_EQ(InitProcessName(tmp.path()).value(), "systemd");
  EXPECT_TRUE(absl::IsNotFound(InitProcessName(tmp.path() + "/none").status()));
}

}  // namespace
}  // namespace crio::cgroups
