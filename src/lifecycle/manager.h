#pragma once
// Pod sandboxes and containers: the RuntimeService's domain. Orchestrates namespaces, pod files,
// cgroups, the layer store, the OCI spec, and the runtime handlers; persists every object so a
// daemon restart reloads it. Thread-safe, with a lock per pod and per container (no global
// lock on the hot path).
#include "api.pb.h"
#include "crio_state.pb.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/cgroup_manager.h"
#include "config/config.h"
#include "image/image_manager.h"
#include "oci/handler.h"
#include "state/state_store.h"
#include "storage/store.h"
#include "util/status.h"

namespace crio::lifecycle {

namespace v1 = ::runtime::v1;

// CRI NetworkReady, as a network hook reports it.
struct NetworkReadiness {
  bool ready = true;
  std::string reason;   // CamelCase, empty when ready
  std::string message;  // empty when ready
};

// Hook for pod networking (CNI, network/cni_network.h). The default does nothing: pods get
// loopback only.
class NetworkHook {
 public:
  virtual ~NetworkHook() = default;
  // Sets up the pod's network in `netns_path` (config: port mappings, DNS, cgroup parent);
  // returns the pod IPs. A failure leaves nothing behind.
  virtual StatusOr<std::vector<std::string>> SetUpPod(const state::PodState& pod) = 0;
  // Releases it; idempotent, and works after a daemon restart.
  virtual Status TearDownPod(const state::PodState& pod) = 0;
  // Whether pods can get networking now.
  virtual NetworkReadiness Readiness() { return {}; }
  // The node's pod CIDR (UpdateRuntimeConfig), offered to IPAM.
  virtual void SetPodCidr(const std::string& /*cidr*/) {}
};

class LoopbackOnlyNetwork : public NetworkHook {
 public:
  StatusOr<std::vector<std::string>> SetUpPod(const state::PodState&) override {
    return std::vector<std::string>{};
  }
  Status TearDownPod(const state::PodState&) override { return absl::OkStatus(); }
};

struct ManagerDeps {
  config::Config config;
  storage::Store* store = nullptr;
  image::ImageManager* images = nullptr;
  oci::HandlerRegistry* handlers = nullptr;
  cgroups::CgroupManager* cgroups = nullptr;
  NetworkHook* network = nullptr;
  std::string state_dir;    // persistent records (<root>/crio-cpp)
  std::string run_dir;      // volatile pod dirs and bundles (<runroot>/crio-cpp)
  std::string pause_binary;  // the shipped pause, for infra containers
};

struct ContainerFilter {
  std::string id;      // prefix
  std::string pod_id;  // prefix
  std::optional<v1::ContainerState> state;
  std::map<std::string, std::string> labels;
};

struct PodFilter {
  std::string id;  // prefix
  std::optional<v1::PodSandboxState> state;
  std::map<std::string, std::string> labels;
};

class Manager {
 public:
  static StatusOr<std::unique_ptr<Manager>> Create(ManagerDeps deps);

  // Reloads pods and containers from disk and reconciles them with the runtimes: running
  // containers stay, exits that happened while the daemon was down are recorded, half-created
  // leftovers are removed. Call once at startup.
  Status Recover();

  // ---- Pods ----
  StatusOr<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                      const std::string& runtime_handler);
  Status StopPodSandbox(const std::string& pod_id);    // idempotent; NotFound for unknown ids
  Status RemovePodSandbox(const std::string& pod_id);  // idempotent; OK for unknown ids
  StatusOr<state::PodState> PodStatus(const std::string& pod_id);
  std::vector<state::PodState> ListPods(const PodFilter& filter);

  // ---- Containers ----
  StatusOr<std::string> CreateContainer(const std::string& pod_id,
                                        const v1::ContainerConfig& config,
                                        const v1::PodSandboxConfig& sandbox_config);
  Status StartContainer(const std::string& id);
  Status StopContainer(const std::string& id, int64_t timeout_seconds);  // idempotent
  Status RemoveContainer(const std::string& id);  // idempotent; OK for unknown ids
  StatusOr<state::ContainerState> ContainerStatus(const std::string& id);
  std::vector<state::ContainerState> ListContainers(const ContainerFilter& filter);
  StatusOr<oci::ExecSyncResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                                         int64_t timeout_seconds);
  Status ReopenContainerLog(const std::string& id);

 private:
  explicit Manager(ManagerDeps deps, std::unique_ptr<state::StateStore> state);

  StatusOr<oci::Runtime*> RuntimeFor(const std::string& handler);
  // Reads the container's exit from the monitor when it is running; persists changes.
  state::ContainerState Refresh(state::ContainerState ctr);
  Status StopContainerLocked(state::ContainerState& ctr, int64_t timeout_seconds);
  Status RemoveContainerLocked(const state::ContainerState& ctr);
  Status StopPodLocked(state::PodState& pod);
  // Runs the shipped pause binary as the pod's infra container (shared PID namespace).
  Status StartInfraContainer(state::PodState& pod);
  Status RemoveInfraContainer(const state::PodState& pod);
  std::string PodDir(const std::string& id) const { return deps_.run_dir + "/pods/" + id; }
  std::string BundleDir(const std::string& id) const {
    return deps_.run_dir + "/containers/" + id;
  }
  std::string PersistDir(const std::string& id) const {
    return deps_.state_dir + "/containers/" + id + ".d";
  }

  ManagerDeps deps_;
  std::unique_ptr<state::StateStore> state_;
};

// CRI-O's names: k8s_POD_<name>_<ns>_<uid>_<attempt> and k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>.
std::string PodName(const v1::PodSandboxMetadata& m);
std::string ContainerName(const v1::ContainerMetadata& c, const v1::PodSandboxMetadata& p);
// CRI Signal enum value for a signal number (RUNTIME_DEFAULT when unknown).
v1::Signal SignalEnum(int number);
// A random 64-hex-digit id.
std::string NewId();
// Whether every selector label is present with the same value.
bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector);

}  // namespace crio::lifecycle
