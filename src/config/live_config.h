#pragma once
// The one configuration in force, shared by every component of a daemon. A request takes a
// snapshot (Get) and reads it throughout, so a reload never changes a value under it. SIGHUP's
// reload builds the next configuration from a fully parsed and validated one (the caller's
// job: a bad file never gets here), publishes it, then tells the components that cache what
// it derives from it (runtime handlers, image options).

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"

namespace crio::config {

class LiveConfig {
 public:
  using Listener = std::function<void(const Config& previous, const Config& next)>;

  explicit LiveConfig(Config initial)
      : current_(std::make_shared<const Config>(std::move(initial))) {}

  std::shared_ptr<const Config> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }

  // Applies the options crio.conf(5) marks reloadable from `fresh` (ApplyReloadable); others
  // keep their start-up values. Returns one line per change; listeners run only when something
  // changed, in the order they were added, after the new configuration is visible.
  std::vector<std::string> Reload(const Config& fresh) {
    std::shared_ptr<const Config> previous, next;
    std::vector<Listener> listeners;
    std::vector<std::string> changes;
    {
      std::lock_guard lock(mu_);
      Config copy = *current_;
      changes = ApplyReloadable(fresh, copy);
      if (changes.empty()) return changes;
      previous = current_;
      next = std::make_shared<const Config>(std::move(copy));
      current_ = next;
      listeners = listeners_;
    }
    for (const auto& listener : listeners) listener(*previous, *next);
    return changes;
  }

  void OnReload(Listener listener) {
    std::lock_guard lock(mu_);
    listeners_.push_back(std::move(listener));
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Config> current_;
  std::vector<Listener> listeners_;
};

}  // namespace crio::config
