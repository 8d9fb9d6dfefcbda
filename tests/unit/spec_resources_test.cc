// Unit tests of a spec's cgroup resources and devices (src/container/spec_resources).

// spec_test_util.h pulls in api.pb.h, which must come before any system header.
#include "spec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "container/spec_resources.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using spec_test::TempDir;
using spec_test::WriteFile;
using ::testing::Contains;
using ::testing::HasSubstr;

class SpecResourcesTest : public spec_test::SpecFixture {};

// --- resources ---------------------------------------------------------------------------------

TEST_F(SpecResourcesTest, Resources_CgroupV1_CpuMemoryHugepagesPids) {
  resources()->set_cpu_shares(512);
  resources()->set_cpu_quota(50000);
  resources()->set_cpu_period(100000);
  resources()->set_cpuset_cpus("0-1");
  resources()->set_cpuset_mems("0");
  resources()->set_memory_limit_in_bytes(256 << 20);
  auto* h = resources()->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4 << 20);
  runtime_.pids_limit = 1024;
  json linux = Build()["linux"];
  json r = linux["resources"];
  EXPECT_EQ(
      r["cpu"],
      json(
          {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0-1"}, {"mems", "0"}}));
  EXPECT_EQ(r["memory"], json({{"limit", 256 << 20}, {"swap", 256 << 20}}));
  EXPECT_EQ(r["hugepageLimits"], json::array({{{"pageSize", "2MB"}, {"limit", 4 << 20}}}));
  EXPECT_EQ(r["pids"], json({{"limit", 1024}}));
  EXPECT_EQ(linux["cgroupsPath"], "/crio-cpp-test/crio-ctr1");
}

TEST_F(SpecResourcesTest, Resources_SwapLimit_UsedAndValidated) {
  resources()->set_memory_limit_in_bytes(256 << 20);
  resources()->set_memory_swap_limit_in_bytes(512 << 20);
  EXPECT_EQ(Build()["linux"]["resources"]["memory"]["swap"], 512 << 20);
  resources()->set_memory_swap_limit_in_bytes(128 << 20);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  resources()->set_memory_swap_limit_in_bytes(0);
  host_.memory_swap = false;
  EXPECT_FALSE(Build()["linux"]["resources"]["memory"].contains("swap"));
}

TEST_F(SpecResourcesTest, Resources_MemoryBelowMinimum_InvalidArgument) {
  resources()->set_memory_limit_in_bytes(4 << 20);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecResourcesTest, Resources_Unified_RefusedOnV1AcceptedOnV2) {
  (*resources()->mutable_unified())["memory.high"] = "100000000";
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("cgroup v2"));
  in_.cgroup_v2 = true;
  EXPECT_EQ(Build()["linux"]["resources"]["unified"], json({{"memory.high", "100000000"}}));
}

TEST_F(SpecResourcesTest, Resources_NoneRequested_NoCpuOrMemoryNoPids) {
  json r = Build()["linux"]["resources"];
  EXPECT_FALSE(r.contains("cpu"));
  EXPECT_FALSE(r.contains("memory"));
  EXPECT_FALSE(r.contains("pids"));
  EXPECT_FALSE(Build()["process"].contains("oomScoreAdj"));
}

// --- devices -----------------------------------------------------------------------------------

TEST_F(SpecResourcesTest, Devices_Default_DenyAllThenStandardAllows) {
  json linux = Build()["linux"];
  const json& rules = linux["resources"]["devices"];
  ASSERT_GE(rules.size(), 2u);
  EXPECT_EQ(rules[0], json({{"allow", false}, {"access", "rwm"}}));
  EXPECT_THAT(
      rules, Contains(json(
                 {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}})));
  EXPECT_THAT(rules,
              Contains(json({{"allow", true}, {"type", "c"}, {"major", 136}, {"access", "rwm"}})));
  EXPECT_TRUE(linux["devices"].empty());
}

TEST_F(SpecResourcesTest, Devices_CriDevice_NodeAndCgroupRule) {
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  auto* d = config_.add_devices();
  d->set_host_path("/dev/null");
  d->set_container_path("/dev/mynull");
  d->set_permissions("rw");
  json linux = Build()["linux"];
  ASSERT_EQ(linux["devices"].size(), 1u);
  const json& dev = linux["devices"][0];
  EXPECT_EQ(dev["path"], "/dev/mynull");
  EXPECT_EQ(dev["type"], "c");
  EXPECT_EQ(dev["major"], major(st.st_rdev));
  EXPECT_EQ(dev["minor"], minor(st.st_rdev));
  EXPECT_EQ(linux["resources"]["devices"].back(), json({{"allow", true},
                                                        {"type", "c"},
                                                        {"major", major(st.st_rdev)},
                                                        {"minor", minor(st.st_rdev)},
                                                        {"access", "rw"}}));
}

TEST_F(SpecResourcesTest, Devices_MissingOrNotADevice_InvalidArgument) {
  auto* d = config_.add_devices();
  d->set_host_path("/dev/does-not-exist-crio");
  d->set_container_path("/dev/x");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  TempDir dir;
  WriteFile(dir.path() + "/plain", "x");
  d->set_host_path(dir.path() + "/plain");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  d->set_host_path("/dev/null");
  d->set_permissions("rwx");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecResourcesTest, Devices_Privileged_AllowAllAndHostDevicesListed) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  if (mknod((dev_dir_.path() + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs CAP_MKNOD: " << strerror(errno);
  }
  ASSERT_EQ(chmod((dev_dir_.path() + "/null").c_str(), 0666), 0);  // mknod obeys the umask
  std::filesystem::create_directory(dev_dir_.path() + "/pts");
  mknod((dev_dir_.path() + "/pts/0").c_str(), S_IFCHR | 0620, makedev(136, 0));
  symlink("null", (dev_dir_.path() + "/link").c_str());
  json linux = Build()["linux"];
  EXPECT_EQ(linux["resources"]["devices"], json::array({{{"allow", true}, {"access", "rwm"}}}));
  ASSERT_EQ(linux["devices"].size(), 1u);
  EXPECT_EQ(linux["devices"][0]["path"], "/dev/null");
  EXPECT_EQ(linux["devices"][0]["fileMode"], 0666);
}

TEST_F(SpecResourcesTest, Resources_NoHugetlbController_HugepageLimitsLeftOut) {
  host_.hugetlb = false;
  auto* h = resources()->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4 << 20);
  EXPECT_FALSE(Build()["linux"]["resources"].contains("hugepageLimits"));
}

// --- direct calls ------------------------------------------------------------------------------

TEST_F(SpecResourcesTest, ResourcesJson_UnsetFieldsLeftOutUnlimitedSwapKept) {
  v1::LinuxContainerResources r;
  auto out = spec_internal::ResourcesJson(r, false, host_);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, json::object());
  r.set_memory_limit_in_bytes(64 << 20);
  r.set_memory_swap_limit_in_bytes(-1);
  out = spec_internal::ResourcesJson(r, false, host_);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, json({{"memory", {{"limit", 64 << 20}, {"swap", -1}}}}));
}

TEST_F(SpecResourcesTest, DefaultDeviceRules_DenyAllThenMknodThenStandardNodes) {
  json rules = spec_internal::DefaultDeviceRules();
  ASSERT_EQ(rules.size(), 12u);
  EXPECT_EQ(rules[0], json({{"allow", false}, {"access", "rwm"}}));
  EXPECT_EQ(rules[1], json({{"allow", true}, {"type", "c"}, {"access", "m"}}));
  EXPECT_EQ(rules[2], json({{"allow", true}, {"type", "b"}, {"access", "m"}}));
}

TEST_F(SpecResourcesTest, AddSandboxResources_Direct_InfraCpusetNoDevices) {
  runtime_.infra_ctr_cpuset = "0-1";
  SandboxSpecInputs sin;
  sin.sandbox = &sandbox_;
  sin.runtime = &runtime_;
  sin.host = &host_;
  sin.cgroups_path = "/crio-cpp-test/crio-pod1";
  auto ctx = spec_internal::SandboxContextFor(sin);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  json spec = json::object();
  spec_internal::AddSandboxResources(*ctx, spec);
  EXPECT_EQ(spec["linux"]["resources"]["cpu"], json({{"shares", 2}, {"cpus", "0-1"}}));
  EXPECT_EQ(spec["linux"]["resources"]["devices"], spec_internal::DefaultDeviceRules());
  EXPECT_EQ(spec["linux"]["devices"], json::array());
  EXPECT_EQ(spec["linux"]["cgroupsPath"], "/crio-cpp-test/crio-pod1");
}

}  // namespace
}  // namespace crio::container
