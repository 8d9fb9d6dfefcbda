// Unit tests of UpdateContainerResources' argument checks and OCI JSON
// (src/container/resources_update.h).

#include "container/resources_update.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace crio::container {
namespace {

namespace v1 = ::runtime::v1;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(UpdateResources, FullRequest_MapsEveryField) {
  v1::LinuxContainerResources r;
  r.set_cpu_shares(512);
  r.set_cpu_quota(50000);
  r.set_cpu_period(100000);
  r.set_cpuset_cpus("0-1,3");
  r.set_cpuset_mems("0");
  r.set_memory_limit_in_bytes(64 << 20);
  r.set_memory_swap_limit_in_bytes(128 << 20);
  auto* h = r.add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4 << 20);
  (*r.mutable_unified())["memory.high"] = "50000000";
  auto j = UpdateResourcesJson(r, {.cgroup_v2 = true});
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(*j, json::parse(R"({
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1,3", "mems": "0"},
    "memory": {"limit": 67108864, "swap": 134217728},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
    "unified": {"memory.high": "50000000"}})"));
}

TEST(UpdateResources, UnsetFieldsAreLeftOut_SwapDefaultsToLimit) {
  v1::LinuxContainerResources r;
  r.set_memory_limit_in_bytes(32 << 20);
  auto j = UpdateResourcesJson(r, {});
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(*j, json::parse(R"({"memory": {"limit": 33554432, "swap": 33554432}})"));
  auto no_swap = UpdateResourcesJson(r, {.memory_swap = false});
  ASSERT_TRUE(no_swap.ok());
  EXPECT_EQ(*no_swap, json::parse(R"({"memory": {"limit": 33554432}})"));
  auto empty = UpdateResourcesJson(v1::LinuxContainerResources(), {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, json::object());
}

TEST(UpdateResources, BadValues_AreInvalidArgumentNamingTheField) {
  struct Case {
    std::function<void(v1::LinuxContainerResources&)> set;
    std::string field;
  } cases[] = {
      {[](auto& r) { r.set_cpu_period(-1); }, "linux.cpu_period"},
      {[](auto& r) { r.set_cpu_quota(-2); }, "linux.cpu_quota"},
      {[](auto& r) { r.set_cpu_shares(-5); }, "linux.cpu_shares"},
      {[](auto& r) { r.set_memory_limit_in_bytes(-1); }, "linux.memory_limit_in_bytes"},
      {[](auto& r) { r.set_memory_limit_in_bytes(4096); }, "at least 12582912"},
      {[](auto& r) { r.set_memory_swap_limit_in_bytes(-7); }, "linux.memory_swap_limit_in_bytes"},
      {[](auto& r) {
         r.set_memory_limit_in_bytes(64 << 20);
         r.set_memory_swap_limit_in_bytes(32 << 20);
       },
       "lower than memory_limit_in_bytes"},
      {[](auto& r) { r.set_cpuset_cpus("0-"); }, "linux.cpuset_cpus"},
      {[](auto& r) { r.set_cpuset_cpus("3-1"); }, "linux.cpuset_cpus"},
      {[](auto& r) { r.set_cpuset_mems("a"); }, "linux.cpuset_mems"},
      {[](auto& r) { r.add_hugepage_limits()->set_page_size("2M"); }, "linux.hugepage_limits"},
      {[](auto& r) { (*r.mutable_unified())["../x"] = "1"; }, "linux.unified"},
  };
  for (const auto& c : cases) {
    v1::LinuxContainerResources r;
    c.set(r);
    auto j = UpdateResourcesJson(r, {.cgroup_v2 = true});
    ASSERT_FALSE(j.ok()) << c.field;
    EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(j.status().message()), HasSubstr(c.field));
  }
}

TEST(UpdateResources, UnifiedOnCgroupV1_IsRefused) {
  v1::LinuxContainerResources r;
  (*r.mutable_unified())["memory.high"] = "1";
  auto j = UpdateResourcesJson(r, {.cgroup_v2 = false});
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(j.status().message()), HasSubstr("cgroup v2"));
}

TEST(UpdateResources, UnlimitedMarkersAreAccepted) {
  v1::LinuxContainerResources r;
  r.set_cpu_quota(-1);
  r.set_memory_limit_in_bytes(64 << 20);
  r.set_memory_swap_limit_in_bytes(-1);
  auto j = UpdateResourcesJson(r, {});
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["cpu"]["quota"], -1);
  EXPECT_EQ((*j)["memory"]["swap"], -1);
}

TEST(UpdateResources, PrefixNamesPodFields) {
  v1::LinuxContainerResources r;
  r.set_cpu_shares(-1);
  Status st = ValidateUpdateResources(r, false, "resources");
  EXPECT_THAT(std::string(st.message()), HasSubstr("resources.cpu_shares"));
}

TEST(UpdateResources, Merged_KeepsOomScoreAdj) {
  v1::LinuxContainerResources current;
  current.set_oom_score_adj(500);
  current.set_memory_limit_in_bytes(1 << 30);
  v1::LinuxContainerResources update;
  update.set_cpu_shares(256);
  auto merged = MergedResources(current, update);
  EXPECT_EQ(merged.oom_score_adj(), 500);
  EXPECT_EQ(merged.cpu_shares(), 256);
  EXPECT_EQ(merged.memory_limit_in_bytes(), 0);
}

}  // namespace
}  // namespace crio::container
