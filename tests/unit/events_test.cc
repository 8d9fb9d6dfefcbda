// lifecycle::EventHub (ordering, bounded queues, drops, unsubscribe, shutdown) and
// lifecycle::FileArrivalWatcher (inotify on a temp dir).
#include "lifecycle/events.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crio::lifecycle {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

ContainerEvent MakeEvent(int n, v1::ContainerEventType type = v1::CONTAINER_STARTED_EVENT) {
  ContainerEvent e;
  e.type = type;
  e.container_id = "ctr-" + std::to_string(n);
  e.created_at = n;
  e.pod.set_id("pod");
  state::ContainerState c;
  c.set_id(e.container_id);
  e.containers.push_back(c);
  return e;
}

// The next event's container id, or the error / "timeout".
std::string NextId(EventHub::Subscription& sub, milliseconds timeout = milliseconds(1000)) {
  auto ev = sub.Next(timeout);
  if (!ev.ok()) return std::string(ev.status().ToString());
  if (*ev == nullptr) return "timeout";
  return (*ev)->container_id;
}

TEST(EventHubTest, EverySubscriberGetsEveryEventInOrder) {
  EventHub hub;
  auto a = hub.Subscribe("a");
  auto b = hub.Subscribe("b");
  auto c = hub.Subscribe("c");
  EXPECT_EQ(hub.subscriber_count(), 3u);
  for (int i = 0; i < 50; ++i) hub.Publish(MakeEvent(i));
  for (auto* sub : {a.get(), b.get(), c.get()}) {
    for (int i = 0; i < 50; ++i) ASSERT_EQ(NextId(*sub), "ctr-" + std::to_string(i));
    EXPECT_EQ(NextId(*sub, milliseconds(10)), "timeout");
  }
}

TEST(EventHubTest, EventIsASnapshotSharedBySubscribers) {
  EventHub hub;
  auto a = hub.Subscribe("a");
  auto b = hub.Subscribe("b");
  ContainerEvent e = MakeEvent(7, v1::CONTAINER_DELETED_EVENT);
  e.containers[0].set_state(v1::CONTAINER_EXITED);
  e.containers[0].set_exit_code(3);
  hub.Publish(std::move(e));
  auto ea = a->Next(milliseconds(100));
  auto eb = b->Next(milliseconds(100));
  ASSERT_TRUE(ea.ok() && *ea);
  ASSERT_TRUE(eb.ok() && *eb);
  EXPECT_EQ(ea->get(), eb->get());  // one copy, whatever the number of subscribers
  EXPECT_EQ((*ea)->type, v1::CONTAINER_DELETED_EVENT);
  EXPECT_EQ((*ea)->pod.id(), "pod");
  ASSERT_EQ((*ea)->containers.size(), 1u);
  EXPECT_EQ((*ea)->containers[0].exit_code(), 3);
}

TEST(EventHubTest, ConcurrentPublishersKeepEachPublishersOrder) {
  EventHub hub;
  auto a = hub.Subscribe("a");
  auto b = hub.Subscribe("b");
  constexpr int kPerThread = 200;
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t) {
    publishers.emplace_back([&hub, t] {
      for (int i = 0; i < kPerThread; ++i) hub.Publish(MakeEvent(t * 1000 + i));
    });
  }
  for (auto& t : publishers) t.join();
  std::vector<std::string> seen_a, seen_b;
  for (int i = 0; i < 4 * kPerThread; ++i) {
    seen_a.push_back(NextId(*a));
    seen_b.push_back(NextId(*b));
  }
  EXPECT_EQ(seen_a, seen_b);  // one global order, the same for everyone
  std::vector<int> last(4, -1);
  for (const auto& id : seen_a) {
    int n = std::stoi(id.substr(4));
    EXPECT_GT(n % 1000, last[n / 1000]) << id;
    last[n / 1000] = n % 1000;
  }
}

TEST(EventHubTest, SlowSubscriberIsDroppedWithoutBlockingOthers) {
  EventHub hub(/*queue_capacity=*/8);
  std::atomic<int> drops{0};
  hub.SetDropHook([&] { ++drops; });
  auto slow = hub.Subscribe("slow");
  auto fast = hub.Subscribe("fast");
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    hub.Publish(MakeEvent(i));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(100));  // never waits
    ASSERT_EQ(NextId(*fast), "ctr-" + std::to_string(i));
  }
  EXPECT_EQ(drops.load(), 1);
  EXPECT_EQ(hub.dropped_total(), 1u);
  EXPECT_EQ(hub.subscriber_count(), 1u);
  auto ended = slow->Next(milliseconds(10));
  ASSERT_FALSE(ended.ok());
  EXPECT_EQ(ended.status().code(), absl::StatusCode::kResourceExhausted);
  // Ended for good, even once events flow again.
  hub.Publish(MakeEvent(99));
  EXPECT_EQ(slow->Next(milliseconds(10)).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(NextId(*fast), "ctr-99");
}

TEST(EventHubTest, SubscriptionUnsubscribesOnDestruction) {
  EventHub hub;
  {
    auto a = hub.Subscribe("a");
    auto b = hub.Subscribe("b");
    EXPECT_EQ(hub.subscriber_count(), 2u);
  }
  EXPECT_EQ(hub.subscriber_count(), 0u);
  hub.Publish(MakeEvent(1));  // nobody to deliver to, nothing dropped
  EXPECT_EQ(hub.dropped_total(), 0u);
}

TEST(EventHubTest, LateSubscriberSeesOnlyLaterEvents) {
  EventHub hub;
  hub.Publish(MakeEvent(1));
  auto a = hub.Subscribe("a");
  hub.Publish(MakeEvent(2));
  EXPECT_EQ(NextId(*a), "ctr-2");
}

TEST(EventHubTest, WaitWakesOnPublish) {
  EventHub hub;
  auto a = hub.Subscribe("a");
  std::thread publisher([&] {
    std::this_thread::sleep_for(milliseconds(50));
    hub.Publish(MakeEvent(5));
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(NextId(*a, milliseconds(5000)), "ctr-5");
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  publisher.join();
}

TEST(EventHubTest, WaitWakesOnShutdown) {
  EventHub hub;
  auto a = hub.Subscribe("a");
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    hub.Shutdown();
  });
  const auto start = std::chrono::steady_clock::now();
  auto ev = a->Next(milliseconds(10000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
  stopper.join();
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.status().code(), absl::StatusCode::kUnavailable);
  // After shutdown new subscriptions end at once.
  auto late = hub.Subscribe("late");
  EXPECT_EQ(late->Next(milliseconds(10)).status().code(), absl::StatusCode::kUnavailable);
}

TEST(EventHubTest, SubscriptionMayOutliveTheHub) {
  auto hub = std::make_unique<EventHub>();
  auto a = hub->Subscribe("a");
  hub.reset();
  EXPECT_EQ(a->Next(milliseconds(10)).status().code(), absl::StatusCode::kUnavailable);
}

class FileArrivalWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crio-events-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  bool WaitFor(const std::string& name, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return std::find(seen_.begin(), seen_.end(), name) != seen_.end(); });
  }
  void OnFile(const std::string& name) {
    std::lock_guard lock(mu_);
    seen_.push_back(name);
    cv_.notify_all();
  }

  std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> seen_;
};

TEST_F(FileArrivalWatcherTest, ReportsWrittenAndMovedInFiles) {
  auto watcher = FileArrivalWatcher::Start(
      dir_, [this](const std::string& n) { OnFile(n); }, [] {});
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::ofstream(dir_ + "/written") << "0";
  EXPECT_TRUE(WaitFor("written"));
  // conmon-style: a temp file renamed into place.
  std::ofstream(dir_ + "/.tmp-moved") << "3";
  ASSERT_EQ(std::rename((dir_ + "/.tmp-moved").c_str(), (dir_ + "/moved").c_str()), 0);
  EXPECT_TRUE(WaitFor("moved"));
}

TEST_F(FileArrivalWatcherTest, StopsPromptlyWhenIdle) {
  auto watcher = FileArrivalWatcher::Start(
      dir_, [](const std::string&) {}, [] {});
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  const auto start = std::chrono::steady_clock::now();
  watcher->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(FileArrivalWatcherTest, MissingDirectoryIsAnError) {
  auto watcher = FileArrivalWatcher::Start(
      dir_ + "/absent", [](const std::string&) {}, [] {});
  EXPECT_FALSE(watcher.ok());
}

}  // namespace
}  // namespace crio::lifecycle
