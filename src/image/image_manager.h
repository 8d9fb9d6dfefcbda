#pragma once
// The image side of the runtime: pulls from registries into the layer store, and answers
// status/list/remove/fs-usage questions. What the CRI ImageService delegates to.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "image/auth.h"
#include "image/image_config.h"
#include "image/manifest.h"
#include "image/registries_conf.h"
#include "storage/store.h"
#include "util/status.h"

namespace crio::image {

struct ImageManagerOptions {
  std::string registries_conf = "/etc/containers/registries.conf";
  std::string registries_conf_dir = "/etc/containers/registries.conf.d";
  std::string policy_path = "/etc/containers/policy.json";
  std::string auth_file;  // containers-auth.json; empty: none
  std::string certs_dir = "/etc/containers/certs.d";
  std::optional<ShortNameMode> short_name_mode;  // crio.conf short_name_mode
  std::chrono::milliseconds progress_timeout{0};
  std::string pause_image;
  std::vector<std::string> pinned_images;  // exact, "prefix*" or "*keyword*"
  int max_parallel_layers = 6;
  Platform platform;  // empty: this machine's (linux/<arch>)
};

// One stored image as the CRI sees it.
class RegistryClient;

struct ImageInfo {
  std::string id;  // config digest hex (CRI Image.id, PullImage image_ref)
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  uint64_t size = 0;
  std::optional<int64_t> uid;  // set when the image's User is numeric
  std::string username;        // set when the image's User is a name
  bool pinned = false;
  ImageConfig config;  // parsed image config (labels, env, entrypoint, ...)
  std::string manifest_digest;
  int64_t created_ns = 0;
};

struct PullStats {
  int layers_total = 0;
  int layers_downloaded = 0;  // the rest were already in the store (or pulled concurrently)
  uint64_t bytes_downloaded = 0;
};

struct PullResult {
  std::string image_id;
  PullStats stats;
};

class ImageManager {
 public:
  ImageManager(storage::Store& store, ImageManagerOptions options);

  // Pulls `image` (any reference the kubelet sends) and stores it under its name.
  // Errors: InvalidArgument (bad reference); PermissionDenied (policy rejection, blocked
  // registry); Unauthenticated (auth failure); Unavailable (registry unreachable); NotFound
  // (manifest or blob unknown); DataLoss (digest or size mismatch); FailedPrecondition
  // (schema1, ambiguous short name, no platform match).
  StatusOr<PullResult> Pull(const std::string& image, const AuthConfig& auth);

  // Resolves an id, id prefix, "sha256:<id>", name (short or full) or repo digest.
  // NotFound when nothing matches.
  StatusOr<ImageInfo> Inspect(const std::string& image);
  std::vector<ImageInfo> List();
  // Removes one name (when the image has several and `image` is a name) or the whole image.
  // NotFound when nothing matches; FailedPrecondition when a container uses it.
  Status Remove(const std::string& image);

  storage::Store& store() { return store_; }

  // SIGHUP: the options the next pull or listing uses (policy, auth file, pinned images, ...).
  void UpdateOptions(ImageManagerOptions options);

 private:
  struct Source;
  StatusOr<PullResult> PullFrom(const PullSource& source, const AuthConfig& auth);
  // Ensures the layer `chain_ids[index]` is in the store, downloading it at most once even when
  // several pulls want it at the same time.
  // `parent_ready` blocks until the layer below is in the store (or failed); a layer is
  // downloaded and unpacked before that, but committed only after.
  using ParentReady = std::function<Status()>;
  Status EnsureLayer(RegistryClient& client, const std::string& repo, const Descriptor& blob,
                     const std::vector<std::string>& chain_ids,
                     const std::vector<std::string>& diff_ids, size_t index,
                     const ParentReady& parent_ready, PullStats& stats);
  Status DownloadLayer(RegistryClient& client, const std::string& repo, const Descriptor& blob,
                       const std::string& chain_id, const std::string& parent_chain_id,
                       const std::string& diff_id, const ParentReady& parent_ready,
                       PullStats& stats);
  StatusOr<storage::ImageRecord> Lookup(const std::string& image, std::string* matched_name);
  ImageInfo ToInfo(const storage::ImageRecord& record) const;
  bool IsPinned(const storage::ImageRecord& record) const;

  std::shared_ptr<const ImageManagerOptions> Options() const;

  storage::Store& store_;
  mutable std::mutex options_mu_;
  std::shared_ptr<const ImageManagerOptions> options_;  // guarded by options_mu_
  std::mutex inflight_mu_;
  std::map<std::string, std::shared_future<Status>> inflight_layers_;
};

// Splits an image config User ("uid", "name", "uid:gid", "name:group") into the CRI fields.
void ParseImageUser(const std::string& user, std::optional<int64_t>& uid, std::string& username);

// True when `name` matches a pinned_images pattern: exact, "prefix*" or "*keyword*".
bool MatchesPinnedPattern(const std::string& pattern, const std::string& name);

}  // namespace crio::image
