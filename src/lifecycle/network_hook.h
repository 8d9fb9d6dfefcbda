#pragma once
// The lifecycle's seam to pod networking. The lifecycle owns this small interface; CNI
// (network/cni_network.h) implements it, and the daemon wires the two together, so src/network
// depends on nothing of the lifecycle but this header.
#include "crio_state.pb.h"

#include <string>
#include <vector>

#include "util/status.h"

namespace crio::lifecycle {

// CRI NetworkReady, as a network hook reports it.
struct NetworkReadiness {
  bool ready = true;
  std::string reason;   // CamelCase, empty when ready
  std::string message;  // empty when ready
};

// Hook for pod networking. The default does nothing: pods get loopback only.
class NetworkHook {
 public:
  virtual ~NetworkHook() = default;
  // Sets up the pod's network in its netns_path (config: port mappings, DNS, cgroup parent);
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

}  // namespace crio::lifecycle
