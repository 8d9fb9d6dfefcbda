#pragma once
// State shared by the CRI services of one daemon.

#include <mutex>
#include <shared_mutex>
#include <string>

#include "config/config.h"
#include "image/image_manager.h"
#include "lifecycle/manager.h"
#include "stats/collector.h"
#include "storage/store.h"
#include "streaming/server.h"

namespace crio::server {

class ServiceContext {
 public:
  explicit ServiceContext(config::Config config) : config_(std::move(config)) {}

  // Domain components, owned by the daemon; null until their issue is wired in.
  storage::Store* store = nullptr;
  image::ImageManager* images = nullptr;
  lifecycle::Manager* lifecycle = nullptr;
  lifecycle::NetworkHook* network = nullptr;  // pod networking; readiness and pod CIDR go here
  streaming::StreamingServer* streaming = nullptr;  // Exec, Attach, PortForward URLs
  stats::Collector* stats = nullptr;                // stats and pod metrics RPCs

  // A copy, so callers never hold the lock while working.
  config::Config ConfigSnapshot() const {
    std::shared_lock lock(mu_);
    return config_;
  }
  // SIGHUP: applies the reloadable options of `fresh`; returns what changed.
  std::vector<std::string> Reload(const config::Config& fresh) {
    std::unique_lock lock(mu_);
    return config::ApplyReloadable(fresh, config_);
  }

  std::string PodCidr() const {
    std::shared_lock lock(mu_);
    return pod_cidr_;
  }
  void SetPodCidr(std::string cidr) {
    std::unique_lock lock(mu_);
    pod_cidr_ = std::move(cidr);
  }

 private:
  mutable std::shared_mutex mu_;
  config::Config config_;
  std::string pod_cidr_;
};

}  // namespace crio::server
