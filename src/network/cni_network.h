#pragma once
// Pod networking through CNI plugins: the lifecycle manager's NetworkHook. Picks the network from
// the config dir (re-read when inotify reports a change, so readiness follows the directory
// without a restart), runs the list's plugins for ADD/DEL/CHECK/STATUS, and keeps the spec's
// result cache under the daemon's persistent state so DEL works after a restart.
//
// Thread-safe: calls for different pods run in parallel (the plugins lock their own state);
// the lifecycle manager serialises calls for one pod.
#include "lifecycle/network_hook.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "network/cni_cache.h"
#include "network/cni_config.h"
#include "os/unique_fd.h"

namespace crio::network {

struct CniOptions {
  std::string network_dir;               // [crio.network] network_dir
  std::vector<std::string> plugin_dirs;  // [crio.network] plugin_dirs
  std::string default_network;           // [crio.network] cni_default_network; "" = first file
  std::string cache_dir;                 // result cache, e.g. <root>/crio-cpp-state/cni
  std::string ifname = "eth0";
  std::chrono::milliseconds plugin_timeout{std::chrono::seconds(60)};  // per plugin call
  bool watch = true;  // inotify on network_dir; false: only explicit Reload()
};

// What one attachment is given: CNI_* values and the runtimeConfig capability values.
struct Attachment {
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string cni_args;
  nlohmann::json capability_args = nlohmann::json::object();
};

// CNI_ARGS for a pod: IgnoreUnknown=1 and the K8S_POD_* keys.
std::string PodCniArgs(const state::PodState& pod);
// runtimeConfig values for a pod: portMappings (host_port > 0 only), dns, ipRanges from
// `pod_cidr` (comma-separated CIDRs), bandwidth from the kubernetes.io/{ingress,egress}-bandwidth
// annotations, cgroupPath. Keys without a value are left out.
nlohmann::json PodCapabilityArgs(const state::PodState& pod, const std::string& pod_cidr);
// The stdin document for `plugin` of `list`: the plugin's own config with the list's name and
// cniVersion, prevResult when given, and runtimeConfig holding the capability values the
// plugin declares in its "capabilities".
nlohmann::json PluginStdin(const NetworkConfigList& list, const nlohmann::json& plugin,
                           const nlohmann::json& prev_result,
                           const nlohmann::json& capability_args);
// "1.5M" style Kubernetes quantity to a number (bits/s for bandwidth). Errors: InvalidArgument.
StatusOr<uint64_t> ParseQuantity(const std::string& text);

class CniNetwork : public lifecycle::NetworkHook {
 public:
  // Loads the config dir once and, with options.watch, starts the watcher thread.
  // Errors: inotify setup failures.
  static StatusOr<std::unique_ptr<CniNetwork>> Create(CniOptions options);
  ~CniNetwork() override;  // stops the watcher

  // ADD of the current network for the pod. On failure the attachment is deleted again (DEL) and
  // the error names the plugin and carries its message. FailedPrecondition when a plugin binary
  // is missing. With no network config at all the pod keeps loopback only (no IPs, a warning).
  StatusOr<std::vector<std::string>> SetUpPod(const state::PodState& pod) override;
  // DEL of every cached attachment of the pod, with the cached config and result; the cache entry
  // goes once DEL succeeded. OK when nothing is cached (never set up, or already torn down).
  Status TearDownPod(const state::PodState& pod) override;
  lifecycle::NetworkReadiness Readiness() override;
  void SetPodCidr(const std::string& cidr) override;

  // DEL of cached attachments whose pod is not in `live_pod_ids`: a crash between ADD and the
  // pod record being written leaves such entries. Returns how many were released.
  int ReleaseOrphans(const std::vector<std::string>& live_pod_ids);
  // CHECK of the pod's cached attachments (config versions >= 0.4.0 without disableCheck).
  Status CheckPod(const state::PodState& pod);
  // Re-reads network_dir now; the watcher calls it on every change.
  void Reload();
  // The network new pods get, when one is configured.
  std::optional<NetworkConfigList> CurrentNetwork() const;

  // The plugin-list operations, exposed for tests. Add returns the final result document.
  StatusOr<nlohmann::json> AddList(const NetworkConfigList& list, const Attachment& att);
  Status DelList(const NetworkConfigList& list, const Attachment& att,
                 const nlohmann::json& cached_result);
  Status CheckList(const NetworkConfigList& list, const Attachment& att,
                   const nlohmann::json& cached_result);
  Status StatusList(const NetworkConfigList& list);

 private:
  explicit CniNetwork(CniOptions options);
  StatusOr<std::string> RunPlugin(const std::string& command, const NetworkConfigList& list,
                                  const nlohmann::json& plugin, const Attachment& att,
                                  const nlohmann::json& prev_result);
  Status CheckPluginsPresent(const NetworkConfigList& list) const;
  Status TearDownEntry(const CacheEntry& entry, const std::string& pod_id);
  void WatchLoop();

  const CniOptions options_;
  ResultCache cache_;

  mutable std::mutex mu_;
  std::optional<NetworkConfigList> current_;  // guarded by mu_
  std::string discovery_error_;               // guarded by mu_
  std::string pod_cidr_;                      // guarded by mu_
  std::vector<std::string> last_warnings_;    // guarded by mu_
  // STATUS results are kept briefly: the kubelet asks for Status every few seconds.
  std::chrono::steady_clock::time_point status_checked_;  // guarded by mu_
  std::string status_error_;                              // guarded by mu_
  std::string status_for_;                                // guarded by mu_: network checked

  os::UniqueFd inotify_fd_;
  os::UniqueFd stop_fd_;  // eventfd: wakes and ends the watcher
  std::thread watcher_;
};

}  // namespace crio::network
