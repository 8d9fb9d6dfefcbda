#include "lifecycle/events.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "util/log.h"

namespace crio::lifecycle {

// A subscriber's queue. Guarded by Core::mu.
struct EventHub::Subscriber {
  uint64_t id = 0;
  std::string name;
  std::deque<EventPtr> queue;
  Status ended;  // not OK once the subscription has ended
  std::condition_variable ready;
};

// Shared by the hub and its subscriptions, so either may go first.
struct EventHub::Core {
  explicit Core(size_t queue_capacity) : capacity(std::max<size_t>(queue_capacity, 1)) {}

  const size_t capacity;
  mutable std::mutex mu;
  std::vector<std::shared_ptr<Subscriber>> subscribers;  // live ones, guarded by mu
  uint64_t next_id = 1;                                  // guarded by mu
  uint64_t dropped = 0;                                  // guarded by mu
  bool shut_down = false;                                // guarded by mu
  std::function<void()> drop_hook;                       // guarded by mu

  // Ends `sub` with `why` and forgets it. Caller holds mu.
  void EndLocked(const std::shared_ptr<Subscriber>& sub, Status why) {
    sub->ended = std::move(why);
    sub->queue.clear();  // a dropped subscriber's backlog is memory nobody will read
    sub->ready.notify_all();
    std::erase(subscribers, sub);
  }
};

namespace {

const char* EventName(v1::ContainerEventType type) {
  switch (type) {
    case v1::CONTAINER_CREATED_EVENT:
      return "CREATED";
    case v1::CONTAINER_STARTED_EVENT:
      return "STARTED";
    case v1::CONTAINER_STOPPED_EVENT:
      return "STOPPED";
    case v1::CONTAINER_DELETED_EVENT:
      return "DELETED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

EventHub::EventHub(size_t queue_capacity) : core_(std::make_shared<Core>(queue_capacity)) {}

EventHub::~EventHub() { Shutdown(); }

std::unique_ptr<EventHub::Subscription> EventHub::Subscribe(const std::string& name) {
  auto sub = std::make_shared<Subscriber>();
  sub->name = name;
  {
    std::lock_guard lock(core_->mu);
    sub->id = core_->next_id++;
    if (core_->shut_down) {
      sub->ended = absl::UnavailableError("crio is shutting down");
    } else {
      core_->subscribers.push_back(sub);
    }
  }
  CRIO_LOG_DEBUG("events: subscriber={} ({}) subscribed", sub->id, name);
  return std::unique_ptr<Subscription>(new Subscription(core_, std::move(sub)));
}

void EventHub::Publish(ContainerEvent event) {
  CRIO_LOG_DEBUG("event {} container={} pod={}", EventName(event.type), event.container_id,
                 event.pod.id());
  auto shared = std::make_shared<const ContainerEvent>(std::move(event));
  std::vector<std::shared_ptr<Subscriber>> dropped;
  std::function<void()> hook;
  {
    std::lock_guard lock(core_->mu);
    for (const auto& sub : core_->subscribers) {
      if (sub->queue.size() >= core_->capacity) {
        dropped.push_back(sub);
        continue;
      }
      sub->queue.push_back(shared);
      sub->ready.notify_one();
    }
    for (const auto& sub : dropped) {
      core_->EndLocked(sub, absl::ResourceExhaustedError(absl::StrCat(
                                "container events subscriber fell behind by ", core_->capacity,
                                " events and was dropped; subscribe again and relist")));
    }
    core_->dropped += dropped.size();
    hook = core_->drop_hook;
  }
  for (const auto& sub : dropped) {
    CRIO_LOG_WARN("events: dropping subscriber={} ({}): its queue of {} events is full", sub->id,
                  sub->name, core_->capacity);
    if (hook) hook();
  }
}

void EventHub::Shutdown() {
  std::lock_guard lock(core_->mu);
  if (core_->shut_down) return;
  core_->shut_down = true;
  auto subscribers = core_->subscribers;
  for (const auto& sub : subscribers) {
    core_->EndLocked(sub, absl::UnavailableError("crio is shutting down"));
  }
}

void EventHub::SetDropHook(std::function<void()> hook) {
  std::lock_guard lock(core_->mu);
  core_->drop_hook = std::move(hook);
}

size_t EventHub::subscriber_count() const {
  std::lock_guard lock(core_->mu);
  return core_->subscribers.size();
}

uint64_t EventHub::dropped_total() const {
  std::lock_guard lock(core_->mu);
  return core_->dropped;
}

EventHub::Subscription::~Subscription() {
  std::lock_guard lock(core_->mu);
  if (subscriber_->ended.ok()) {
    std::erase(core_->subscribers, subscriber_);
    CRIO_LOG_DEBUG("events: subscriber={} ({}) unsubscribed", subscriber_->id, subscriber_->name);
  }
}

uint64_t EventHub::Subscription::id() const { return subscriber_->id; }

StatusOr<EventPtr> EventHub::Subscription::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(core_->mu);
  Subscriber& sub = *subscriber_;
  sub.ready.wait_for(lock, timeout, [&] { return !sub.queue.empty() || !sub.ended.ok(); });
  if (!sub.ended.ok()) return sub.ended;
  if (sub.queue.empty()) return EventPtr();
  EventPtr event = std::move(sub.queue.front());
  sub.queue.pop_front();
  return event;
}

// ---------------------------------------------------------------------------------------------
// FileArrivalWatcher

StatusOr<std::unique_ptr<FileArrivalWatcher>> FileArrivalWatcher::Start(
    const std::string& dir, std::function<void(const std::string&)> on_file,
    std::function<void()> on_overflow) {
  std::unique_ptr<FileArrivalWatcher> w(new FileArrivalWatcher());
  w->dir_ = dir;
  w->on_file_ = std::move(on_file);
  w->on_overflow_ = std::move(on_overflow);
  w->inotify_ = os::UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!w->inotify_) return ErrnoError(errno, "inotify_init1");
  if (::inotify_add_watch(w->inotify_.get(), dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    return ErrnoError(errno, absl::StrCat("watch `", dir, "`"));
  }
  w->wake_ = os::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!w->wake_) return ErrnoError(errno, "eventfd");
  w->thread_ = std::thread([raw = w.get()] { raw->Run(); });
  return w;
}

FileArrivalWatcher::~FileArrivalWatcher() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (::write(wake_.get(), &one, sizeof one) < 0) {
      CRIO_LOG_ERROR("exit watcher: wake: {}", std::strerror(errno));
    }
    thread_.join();
  }
}

void FileArrivalWatcher::Run() {
  pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      CRIO_LOG_ERROR("exit watcher on {}: poll: {}; exits are noticed lazily from now on", dir_,
                     std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0 && !Drain()) return;
  }
}

bool FileArrivalWatcher::Drain() {
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      CRIO_LOG_ERROR("exit watcher on {}: read: {}; exits are noticed lazily from now on", dir_,
                     std::strerror(errno));
      return false;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        CRIO_LOG_WARN("exit watcher on {}: inotify queue overflowed; rescanning", dir_);
        on_overflow_();
      } else if (ev->len > 0) {
        on_file_(std::string(ev->name));  // NUL-padded to len
      }
    }
  }
}

}  // namespace crio::lifecycle
