#pragma once
// What the parts of the lifecycle (pods, containers, exec, recovery, the exit watcher) share:
// their dependencies, the state store with its per-object locks, the event hub, and the few
// lookups every part makes (runtime for a handler, the configuration in force, bundle paths).
#include "api.pb.h"
#include "crio_state.pb.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "cgroups/cgroup_manager.h"
#include "config/config.h"
#include "config/live_config.h"
#include "image/image_manager.h"
#include "lifecycle/events.h"
#include "lifecycle/network_hook.h"
#include "oci/handler.h"
#include "state/state_store.h"
#include "storage/store.h"
#include "util/status.h"

namespace crio::lifecycle {

namespace v1 = ::runtime::v1;

struct ManagerDeps {
  // The start-up configuration; with `live`, only its non-reloadable options are read here.
  config::Config config;
  // The daemon's live configuration (SIGHUP), read once per request; null in tests that never
  // reload.
  const config::LiveConfig* live = nullptr;
  storage::Store* store = nullptr;
  image::ImageManager* images = nullptr;
  oci::HandlerRegistry* handlers = nullptr;
  cgroups::CgroupManager* cgroups = nullptr;
  NetworkHook* network = nullptr;
  std::string state_dir;     // persistent records (<root>/crio-cpp)
  std::string run_dir;       // volatile pod dirs and bundles (<runroot>/crio-cpp)
  std::string pause_binary;  // the shipped pause, for infra containers
};

class Context {
 public:
  Context(ManagerDeps deps, std::unique_ptr<state::StateStore> state);

  const ManagerDeps& deps() const { return deps_; }
  state::StateStore& state() { return *state_; }
  EventHub& events() { return events_; }

  // The runtime of `handler`; InvalidArgument naming the missing [crio.runtime.runtimes] table.
  StatusOr<oci::Runtime*> RuntimeFor(const std::string& handler);
  // The configuration in force for one request (the live one, else the start-up one).
  std::shared_ptr<const config::Config> CurrentConfig() const;
  // Moves the monitor of `container_id` into its cgroup (CgroupManager::PlaceMonitor with the
  // pod's parent and its handler's monitor_cgroup).
  std::function<Status(pid_t)> MonitorPlacement(const state::PodState& pod,
                                                const std::string& container_id) const;
  // The pod's cgroup as an absolute path, named by the cgroup manager.
  StatusOr<std::string> PodCgroupOf(const state::PodState& pod) const;

  void PublishContainerEvent(v1::ContainerEventType type, const state::ContainerState& ctr);
  void PublishPodEvent(v1::ContainerEventType type, const state::PodState& pod);

  std::string PodDir(const std::string& id) const { return deps_.run_dir + "/pods/" + id; }
  std::string BundleDir(const std::string& id) const { return deps_.run_dir + "/containers/" + id; }
  std::string PersistDir(const std::string& id) const {
    return deps_.state_dir + "/containers/" + id + ".d";
  }

  // Whether the exit watcher runs; without it, listings look for exits themselves.
  bool exits_watched() const { return exits_watched_.load(std::memory_order_relaxed); }
  void set_exits_watched(bool watched) { exits_watched_.store(watched); }

 private:
  ManagerDeps deps_;
  std::unique_ptr<state::StateStore> state_;
  EventHub events_;
  std::atomic<bool> exits_watched_{false};
};

}  // namespace crio::lifecycle
