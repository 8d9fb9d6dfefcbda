#pragma once
// State shared by the CRI services of one daemon.

#include <mutex>
#include <shared_mutex>
#include <string>

#include "config/config.h"
#include "config/live_config.h"
#include "image/image_manager.h"
#include "lifecycle/manager.h"
#include "stats/collector.h"
#include "storage/store.h"
#include "streaming/server.h"

namespace crio::server {

class ServiceContext {
 public:
  explicit ServiceContext(config::Config config)
      : live_(std::make_shared<config::LiveConfig>(std::move(config))) {}
  // Shares the daemon's live configuration with its other components.
  explicit ServiceContext(std::shared_ptr<config::LiveConfig> live) : live_(std::move(live)) {}

  // Domain components, owned by the daemon; null until their issue is wired in.
  storage::Store* store = nullptr;
  image::ImageManager* images = nullptr;
  lifecycle::Manager* lifecycle = nullptr;
  lifecycle::NetworkHook* network = nullptr;  // pod networking; readiness and pod CIDR go here
  streaming::StreamingServer* streaming = nullptr;  // Exec, Attach, PortForward URLs
  stats::Collector* stats = nullptr;                // stats and pod metrics RPCs

  // A copy, so callers never hold the lock while working.
  config::Config ConfigSnapshot() const { return *live_->Get(); }
  // SIGHUP: applies the reloadable options of `fresh`; returns what changed.
  std::vector<std::string> Reload(const config::Config& fresh) { return live_->Reload(fresh); }
  config::LiveConfig& live() { return *live_; }

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
  std::shared_ptr<config::LiveConfig> live_;
  std::string pod_cidr_;
};

}  // namespace crio::server
