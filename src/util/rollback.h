#pragma once
// Ordered undo steps for multi-step operations (RunPodSandbox, CreateContainer): each acquired
// resource registers how to release it; on failure the steps run in reverse. Dismiss() on success.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/log.h"
#include "util/status.h"

namespace crio::util {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      Status st = it->second();
      if (!st.ok()) {
        CRIO_LOG_WARN("rollback: {}: {}", it->first, st.message());
      }
    }
  }

  void Add(std::string description, std::function<Status()> undo) {
    steps_.emplace_back(std::move(description), std::move(undo));
  }
  void Dismiss() { steps_.clear(); }

 private:
  std::vector<std::pair<std::string, std::function<Status()>>> steps_;
};

}  // namespace crio::util
