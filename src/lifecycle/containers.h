#pragma once
// Containers: create (layer, spec, runtime create under its monitor), start, stop with the grace
// period, remove, status and listing with exits recorded as they are noticed, pause/resume, and
// resource updates. Every operation on one container runs under that container's lock.
#include "api.pb.h"
#include "crio_state.pb.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lifecycle/context.h"
#include "util/status.h"

namespace crio::lifecycle {

struct ContainerFilter {
  std::string id;      // prefix
  std::string pod_id;  // prefix
  std::optional<v1::ContainerState> state;
  std::map<std::string, std::string> labels;
  // Check each running container's exit file. Stats turn it off while the exit watcher runs:
  // the watcher records exits as they happen, and two failed opens per container per request
  // are a measurable share of a stats call.
  bool refresh_exits = true;
};

class Containers {
 public:
  explicit Containers(Context& ctx) : ctx_(ctx) {}

  StatusOr<std::string> Create(const std::string& pod_id, const v1::ContainerConfig& config,
                               const v1::PodSandboxConfig& sandbox_config);
  Status Start(const std::string& id);
  Status Stop(const std::string& id, int64_t timeout_seconds);  // idempotent
  Status Remove(const std::string& id);                         // idempotent; OK for unknown ids
  // The container's record with any exit recorded. NotFound for unknown ids.
  StatusOr<state::ContainerState> StatusOf(const std::string& id);
  std::vector<state::ContainerState> List(const ContainerFilter& filter);
  // Freezes or thaws every process of a running container (the inspect endpoints).
  Status Pause(const std::string& id);
  Status Resume(const std::string& id);
  // lifecycle/resources.cc: `<runtime> update`, then the record and config.json.
  Status UpdateResources(const std::string& id, const v1::LinuxContainerResources& resources);

  // ---- For pods, recovery and the exit watcher; the caller holds the container's lock ----
  Status StopLocked(state::ContainerState& ctr, int64_t timeout_seconds);
  Status RemoveLocked(const state::ContainerState& ctr);
  // Reads the container's exit from the monitor when it is running; persists changes and
  // publishes STOPPED when it records the exit.
  state::ContainerState Refresh(state::ContainerState ctr);
  // Refresh under the container's lock (the exit watcher).
  void RefreshById(const std::string& id);

 private:
  // Refresh for a listed container, under its lock when that is free (a busy lock means an
  // operation on it is under way, which records any exit itself); nullopt once it is removed.
  std::optional<state::ContainerState> RefreshListed(state::ContainerState listed);
  // The record of `id` (asked for as `asked`), refreshed, if it is running; the caller holds
  // the container's lock.
  StatusOr<state::ContainerState> RunningLocked(const std::string& id, const std::string& asked);
  // Resumes a container this daemon paused (the inspect endpoint), so a stop's signals land.
  void ThawIfPaused(oci::Runtime& runtime, const std::string& id);
  // OCI hooks from hooks_dir and the container's CDI devices, added to its freshly built
  // spec (lifecycle/spec_extensions.cc). InvalidArgument for an unresolvable CDI device.
  Status ApplySpecExtensions(nlohmann::json& spec, const v1::ContainerConfig& config,
                             const std::string& id);

  Context& ctx_;
  std::mutex paused_mu_;
  std::set<std::string> paused_;  // guarded by paused_mu_: frozen through Pause
};

}  // namespace crio::lifecycle
