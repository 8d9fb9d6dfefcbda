// stats::Collector and its parsers: CPU rates between samples, the on-demand and periodic
// modes, writable layers measured off the request path, /proc/<pid>/net/dev parsing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "stats/collector.h"

namespace crio::stats {
namespace {

using std::chrono::milliseconds;

// Cgroup counters set by the test; counts reads.
class FakeCgroups : public cgroups::CgroupManager {
 public:
  std::string_view Name() const override { return "fake"; }
  StatusOr<std::string> CreatePodCgroup(std::string_view, std::string_view) override {
    return std::string();
  }
  Status ApplyPodResources(const std::string&, const cgroups::PodResources&) override {
    return absl::OkStatus();
  }
  Status RemoveCgroup(const std::string&) override { return absl::OkStatus(); }
  Status MoveProcess(pid_t, const std::string&) override { return absl::OkStatus(); }
  StatusOr<cgroups::CgroupStats> ReadStats(const std::string& path, unsigned) override {
    std::lock_guard lock(mu);
    ++reads;
    auto it = cpu_ns.find(path);
    if (it == cpu_ns.end()) return NotFound("no cgroup " + path);
    cgroups::CgroupStats s;
    s.cpu_usage_ns = it->second;
    s.memory_working_set_bytes = 4096;
    return s;
  }
  void SetCpu(const std::string& path, uint64_t ns) {
    std::lock_guard lock(mu);
    cpu_ns[path] = ns;
  }
  int Reads() {
    std::lock_guard lock(mu);
    return reads;
  }

 private:
  std::mutex mu;
  std::map<std::string, uint64_t> cpu_ns;
  int reads = 0;
};

// A clock the test moves.
struct FakeClock {
  std::atomic<int64_t> now{1'000'000'000'000};
  WallClock Fn() {
    return [this] { return now.load(); };
  }
};

template <typename Pred>
bool Eventually(Pred pred, milliseconds budget = milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

TEST(NanoCores, RateBetweenTwoReadings) {
  // 0.5 s of CPU over 2 s of wall time: a quarter of a core.
  EXPECT_EQ(NanoCores(1'000'000'000, 0, 1'500'000'000, 2'000'000'000), 250'000'000u);
  EXPECT_FALSE(NanoCores(10, 5, 20, 5).has_value());  // no time passed
  EXPECT_FALSE(NanoCores(20, 0, 10, 5).has_value());  // the counter went back
}

TEST(ParseNetDev, ReadsEveryInterfaceAndItsCounters) {
  const char* text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:     200       2    0    0    0     0          0         0      200       2    0 "
      "   0    0     0       0          0\n"
      "  eth0: 1234567    1000    3    4    0     0          0         0   765432      900    5 "
      "   6    0     0       0          0\n";
  auto all = ParseNetDev(text);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].name, "eth0");
  EXPECT_EQ(all[1].rx_bytes, 1234567u);
  EXPECT_EQ(all[1].rx_packets, 1000u);
  EXPECT_EQ(all[1].rx_errors, 3u);
  EXPECT_EQ(all[1].rx_dropped, 4u);
  EXPECT_EQ(all[1].tx_bytes, 765432u);
  EXPECT_EQ(all[1].tx_packets, 900u);
  EXPECT_EQ(all[1].tx_errors, 5u);
  EXPECT_EQ(all[1].tx_dropped, 6u);
  EXPECT_TRUE(ParseNetDev("garbage\nno: counters\n").empty());
}

TEST(ReadInterfaces, ThisProcessesNamespaceWithoutLoopback) {
  auto interfaces = ReadInterfaces("/proc/self/net/dev");
  ASSERT_TRUE(interfaces.ok()) << interfaces.status();
  for (const auto& i : *interfaces) EXPECT_NE(i.name, "lo");
  EXPECT_TRUE(absl::IsNotFound(ReadInterfaces("/proc/no-such/net/dev").status()));
}

TEST(Collector, OnDemand_ReadsEveryRequestAndRatesBetweenThem) {
  FakeCgroups cgroups;
  FakeClock clock;
  CollectorOptions options;
  options.now = clock.Fn();
  Collector collector(&cgroups, options);
  cgroups.SetCpu("/c1", 2'000'000'000);
  // First sample: the average since the start 4 s ago (2 s of CPU: half a core).
  const int64_t started = clock.now - 4'000'000'000;
  auto first = collector.Sample({{"ctr:c1", "/c1", started}});
  ASSERT_TRUE(first[0].has_value());
  EXPECT_EQ(first[0]->usage_nano_cores, 500'000'000u);
  EXPECT_EQ(first[0]->timestamp_ns, clock.now.load());
  // 10 s later with 10 s more CPU: one full core.
  clock.now += 10'000'000'000;
  cgroups.SetCpu("/c1", 12'000'000'000);
  auto second = collector.Sample({{"ctr:c1", "/c1", started}});
  ASSERT_TRUE(second[0].has_value());
  EXPECT_EQ(second[0]->usage_nano_cores, 1'000'000'000u);
  EXPECT_EQ(second[0]->counters.cpu_usage_ns, 12'000'000'000u);
  EXPECT_EQ(cgroups.Reads(), 2);
  // Asked again at the same instant: the last interval's rate, not nothing.
  auto again = collector.Sample({{"ctr:c1", "/c1", started}});
  EXPECT_EQ(again[0]->usage_nano_cores, 1'000'000'000u);
}

TEST(Collector, ALargeBatchIsReadCompletelyAndInOrder) {
  FakeCgroups cgroups;
  Collector collector(&cgroups, {});
  std::vector<CgroupTarget> targets;
  for (int i = 0; i < 111; ++i) {
    const std::string path = "/c" + std::to_string(i);
    if (i % 10 != 3) cgroups.SetCpu(path, 1000 + i);  // every tenth is gone
    targets.push_back({"ctr:" + std::to_string(i), path, 0});
  }
  auto samples = collector.Sample(targets);
  ASSERT_EQ(samples.size(), targets.size());
  for (int i = 0; i < 111; ++i) {
    if (i % 10 == 3) {
      EXPECT_FALSE(samples[i].has_value()) << i;
    } else {
      ASSERT_TRUE(samples[i].has_value()) << i;
      EXPECT_EQ(samples[i]->counters.cpu_usage_ns, uint64_t(1000 + i));
    }
  }
  EXPECT_EQ(cgroups.Reads(), 111);
}

TEST(Collector, UnreadableOrMissingCgroupsGiveNothing) {
  FakeCgroups cgroups;
  Collector collector(&cgroups, {});
  auto samples = collector.Sample({{"ctr:gone", "/gone", 0}, {"ctr:exited", "", 0}});
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_FALSE(samples[0].has_value());
  EXPECT_FALSE(samples[1].has_value());
  EXPECT_EQ(cgroups.Reads(), 1);  // an empty path is not even read
}

TEST(Collector, WithAPeriod_RequestsReadTheBackgroundRefresh) {
  FakeCgroups cgroups;
  CollectorOptions options;
  options.collection_period = std::chrono::seconds(1);
  Collector collector(&cgroups, options);
  cgroups.SetCpu("/c1", 100);
  // Unknown so far: read now, and from then on refreshed in the background.
  auto first = collector.Sample({{"ctr:c1", "/c1", 0}});
  ASSERT_TRUE(first[0].has_value());
  cgroups.SetCpu("/c1", 200);
  ASSERT_TRUE(Eventually([&] {
    return collector.Sample({{"ctr:c1", "/c1", 0}})[0]->counters.cpu_usage_ns == 200u;
  }));
  const int reads = cgroups.Reads();
  for (int i = 0; i < 50; ++i) collector.Sample({{"ctr:c1", "/c1", 0}});
  EXPECT_LE(cgroups.Reads(), reads + 1);  // 50 requests, at most one background refresh
}

// A refreshed sample serves a request only if it holds every counter that request needs.
TEST(Collector, CollectionPeriod_NarrowerRefreshDoesNotServeAWiderRequest) {
  FakeCgroups cgroups;
  CollectorOptions options;
  options.collection_period = std::chrono::seconds(3600);  // no background refresh in the test
  Collector collector(&cgroups, options);
  cgroups.SetCpu("/c1", 100);
  const unsigned cpu = cgroups::kCpuStats;
  ASSERT_TRUE(collector.Sample({{"ctr:c1", "/c1", 0, cpu}})[0].has_value());
  const int reads = cgroups.Reads();
  collector.Sample({{"ctr:c1", "/c1", 0, cpu}});
  EXPECT_EQ(cgroups.Reads(), reads) << "the same parts come from the refreshed sample";
  auto wide = collector.Sample({{"ctr:c1", "/c1", 0, cgroups::kAllStats}});
  ASSERT_TRUE(wide[0].has_value());
  EXPECT_EQ(wide[0]->parts, cgroups::kAllStats);
  EXPECT_EQ(cgroups.Reads(), reads + 1) << "more parts than the refresh read: read now";
}

TEST(Collector, WritableLayerIsMeasuredOffTheRequestPath) {
  FakeCgroups cgroups;
  std::atomic<int> walks{0};
  std::atomic<bool> release{false};
  CollectorOptions options;
  options.layer_interval = std::chrono::seconds(3600);
  options.measure_layer = [&](const std::string& dir) -> StatusOr<LayerUsage> {
    while (!release) std::this_thread::sleep_for(milliseconds(1));  // a slow walk
    ++walks;
    return LayerUsage{dir == "/upper/c1" ? 8192u : 0u, 3, 42};
  };
  Collector collector(&cgroups, options);
  // The walk is stuck, yet the request returns at once with "not measured yet".
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(collector.WritableLayer("ctr:c1", "/upper/c1").has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(100));
  release = true;
  ASSERT_TRUE(
      Eventually([&] { return collector.WritableLayer("ctr:c1", "/upper/c1").has_value(); }));
  auto usage = collector.WritableLayer("ctr:c1", "/upper/c1");
  EXPECT_EQ(usage->bytes, 8192u);
  EXPECT_EQ(usage->inodes, 3u);
  // Asking again does not walk again before the interval.
  for (int i = 0; i < 20; ++i) collector.WritableLayer("ctr:c1", "/upper/c1");
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(walks.load(), 1);
}

TEST(Collector, RetainForgetsRemovedContainersOnlyInItsScope) {
  FakeCgroups cgroups;
  FakeClock clock;
  CollectorOptions options;
  options.now = clock.Fn();
  Collector collector(&cgroups, options);
  cgroups.SetCpu("/c1", 1'000'000'000);
  cgroups.SetCpu("/p1", 1'000'000'000);
  collector.Sample({{"ctr:c1", "/c1", 0}, {"pod:p1", "/p1", 0}});
  collector.Retain("ctr:", {});  // c1 is gone; p1 is a pod and stays
  clock.now += 1'000'000'000;
  cgroups.SetCpu("/c1", 1'500'000'000);
  cgroups.SetCpu("/p1", 1'500'000'000);
  auto samples = collector.Sample({{"ctr:c1", "/c1", 0}, {"pod:p1", "/p1", 0}});
  EXPECT_FALSE(samples[0]->usage_nano_cores.has_value());  // no previous sample, no start time
  EXPECT_EQ(samples[1]->usage_nano_cores, 500'000'000u);
}

}  // namespace
}  // namespace crio::stats
