#pragma once
// Container events (CRI GetContainerEvents): the lifecycle publishes a snapshot of the pod and its
// containers at every transition; each subscriber reads them, in order, from its own bounded
// queue. Publishing never waits for a subscriber: one whose queue is full is dropped (its stream
// ends with ResourceExhausted) so a slow client can never stall a container's lifecycle.
#include "api.pb.h"
#include "crio_state.pb.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "os/unique_fd.h"
#include "util/status.h"

namespace crio::lifecycle {

namespace v1 = ::runtime::v1;

// One event, frozen at publish time: a DELETED event still carries the statuses as they were.
struct ContainerEvent {
  v1::ContainerEventType type = v1::CONTAINER_CREATED_EVENT;
  std::string container_id;  // the pod id for pod sandbox events
  int64_t created_at = 0;    // unix ns
  state::PodState pod;
  std::vector<state::ContainerState> containers;  // the pod's containers (infra excluded)
};

using EventPtr = std::shared_ptr<const ContainerEvent>;

class EventHub {
  struct Core;
  struct Subscriber;

 public:
  static constexpr size_t kDefaultQueueCapacity = 1024;

  explicit EventHub(size_t queue_capacity = kDefaultQueueCapacity);
  ~EventHub();  // Shutdown()
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // A subscriber's end of the hub; unsubscribes on destruction. May outlive the hub.
  class Subscription {
   public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    // The next event, waiting at most `timeout`; nullptr when none arrived in time.
    // Errors (the subscription has ended, for good): ResourceExhausted when it was dropped for
    // falling behind; Unavailable when the hub shut down.
    StatusOr<EventPtr> Next(std::chrono::milliseconds timeout);
    uint64_t id() const;

   private:
    friend class EventHub;
    Subscription(std::shared_ptr<Core> core, std::shared_ptr<Subscriber> subscriber)
        : core_(std::move(core)), subscriber_(std::move(subscriber)) {}
    std::shared_ptr<Core> core_;
    std::shared_ptr<Subscriber> subscriber_;
  };

  // `name` identifies the subscriber in logs (e.g. the gRPC peer). After Shutdown the returned
  // subscription has already ended.
  std::unique_ptr<Subscription> Subscribe(const std::string& name);

  // Queues `event` for every subscriber; drops (with one WARN line each) those whose queue is
  // full. Never blocks on a subscriber.
  void Publish(ContainerEvent event);

  // Ends every subscription (Unavailable) and refuses new ones. Idempotent.
  void Shutdown();

  // Called once per dropped subscriber, outside the hub's lock (the daemon's events-dropped
  // metric). Set before publishing starts.
  void SetDropHook(std::function<void()> hook);

  size_t subscriber_count() const;
  uint64_t dropped_total() const;

 private:
  std::shared_ptr<Core> core_;
};

// Calls `on_file(name)` on its own thread for each file written (IN_CLOSE_WRITE) or moved
// (IN_MOVED_TO) into `dir`, and `on_overflow()` when the kernel's queue overflowed and events
// were lost. Not polled: the thread sleeps in poll(2) until inotify or Stop wakes it. The
// callbacks run one at a time, in order.
class FileArrivalWatcher {
 public:
  static StatusOr<std::unique_ptr<FileArrivalWatcher>> Start(
      const std::string& dir, std::function<void(const std::string&)> on_file,
      std::function<void()> on_overflow);
  ~FileArrivalWatcher();  // wakes the thread and joins it
  FileArrivalWatcher(const FileArrivalWatcher&) = delete;
  FileArrivalWatcher& operator=(const FileArrivalWatcher&) = delete;

 private:
  FileArrivalWatcher() = default;
  void Run();
  // Reads and dispatches what inotify has queued; false on a fatal read error.
  bool Drain();

  std::string dir_;
  std::function<void(const std::string&)> on_file_;
  std::function<void()> on_overflow_;
  os::UniqueFd inotify_;
  os::UniqueFd wake_;  // eventfd: written once to stop the thread
  std::thread thread_;
};

}  // namespace crio::lifecycle
