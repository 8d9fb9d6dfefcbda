#include "image/image_manager.h"

#include "metrics/crio_metrics.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <semaphore>
#include <thread>

#include "image/policy.h"
#include "image/reference.h"
#include "image/registry_client.h"
#include "os/unique_fd.h"
#include "storage/layer_extract.h"
#include "util/log.h"

namespace crio::image {

namespace {

std::string HexOf(std::string_view digest) {
  auto colon = digest.find(':');
  return std::string(colon == std::string_view::npos ? digest : digest.substr(colon + 1));
}

// Writes all of `data` to a stream socket; MSG_NOSIGNAL so a closed reader gives EPIPE.
Status SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "feed layer to extractor");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

StatusOr<Credentials> CredentialsFor(const AuthConfig& auth, const std::string& auth_file,
                                     const Reference& ref) {
  bool cri_auth = !auth.username.empty() || !auth.password.empty() || !auth.auth.empty() ||
                  !auth.identity_token.empty() || !auth.registry_token.empty();
  if (cri_auth) return CredentialsFromAuthConfig(auth);
  if (auth_file.empty()) return Credentials{};
  return LookupAuthFile(auth_file, ref);
}

}  // namespace

void ParseImageUser(const std::string& user, std::optional<int64_t>& uid, std::string& username) {
  uid.reset();
  username.clear();
  std::string name = user.substr(0, user.find(':'));
  if (name.empty()) return;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
  if (ec == std::errc() && end == name.data() + name.size() && value >= 0) {
    uid = value;
  } else {
    username = name;
  }
}

bool MatchesPinnedPattern(const std::string& pattern, const std::string& name) {
  if (pattern.empty()) return false;
  if (pattern.size() >= 2 && pattern.front() == '*' && pattern.back() == '*') {
    return name.find(pattern.substr(1, pattern.size() - 2)) != std::string::npos;
  }
  if (pattern.back() == '*') return name.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
  return name == pattern;
}

ImageManager::ImageManager(storage::Store& store, ImageManagerOptions options) : store_(store) {
  UpdateOptions(std::move(options));
}

void ImageManager::UpdateOptions(ImageManagerOptions options) {
  if (options.platform.os.empty()) options.platform = HostPlatform();
  if (options.max_parallel_layers < 1) options.max_parallel_layers = 1;
  auto next = std::make_shared<const ImageManagerOptions>(std::move(options));
  std::lock_guard lock(options_mu_);
  options_ = std::move(next);
}

std::shared_ptr<const ImageManagerOptions> ImageManager::Options() const {
  std::lock_guard lock(options_mu_);
  return options_;
}

StatusOr<PullResult> ImageManager::Pull(const std::string& image, const AuthConfig& auth) {
  const auto opts = Options();
  ASSIGN_OR_RETURN(Reference ref, ParseReference(image));
  ASSIGN_OR_RETURN(RegistriesConf registries,
                   LoadRegistriesConf(opts->registries_conf, opts->registries_conf_dir));
  ASSIGN_OR_RETURN(std::vector<PullSource> sources,
                   ResolvePullSources(ref, registries, opts->short_name_mode));
  ASSIGN_OR_RETURN(Policy policy, Policy::Load(opts->policy_path));

  Status last_error = NotFound(absl::StrCat("no source to pull ", image, " from"));
  for (const PullSource& source : sources) {
    RETURN_IF_ERROR(policy.Evaluate(source.logical));
    auto result = PullFrom(source, auth);
    if (result.ok()) {
      metrics::Crio().RecordImagePullSuccess();
      return result;
    }
    metrics::Crio().RecordImagePullFailure(metrics::PullFailureLabel(result.status()));
    last_error = Annotate(result.status(), absl::StrCat("pull ", source.logical.String(), " from ",
                                                        source.reference.domain));
    CRIO_LOG_WARN("image={} source={}: {}", image, source.reference.String(), last_error.message());
    // Content that fails verification is an attack or a broken registry: do not fall back.
    if (last_error.code() == absl::StatusCode::kDataLoss) break;
  }
  return last_error;
}

StatusOr<PullResult> ImageManager::PullFrom(const PullSource& source, const AuthConfig& auth) {
  const auto opts = Options();
  const Reference& ref = source.reference;
  ASSIGN_OR_RETURN(Credentials creds, CredentialsFor(auth, opts->auth_file, ref));
  RegistryClientOptions client_options;
  client_options.certs_dir = opts->certs_dir;
  client_options.progress_timeout = opts->progress_timeout;
  ASSIGN_OR_RETURN(
      std::unique_ptr<RegistryClient> client,
      RegistryClient::Create(Endpoint{ref.domain, source.insecure}, creds, client_options));
  ASSIGN_OR_RETURN(ResolvedManifest resolved, FetchImageManifest(*client, ref, opts->platform));
  const Descriptor& config_blob = resolved.manifest.config;
  ASSIGN_OR_RETURN(std::string config_raw,
                   client->FetchBlobToString(ref.path, config_blob.digest, config_blob.size));
  ASSIGN_OR_RETURN(ImageConfig config, ParseImageConfig(config_raw));
  const auto& layers = resolved.manifest.layers;
  if (config.diff_ids.size() != layers.size()) {
    return InvalidArgument(absl::StrCat("image ", ref.String(), ": manifest lists ", layers.size(),
                                        " layers but the config has ", config.diff_ids.size(),
                                        " diff_ids"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> chain_ids, storage::ComputeChainIds(config.diff_ids));

  PullResult result;
  result.image_id = HexOf(config_blob.digest);
  result.stats.layers_total = static_cast<int>(layers.size());
  auto started = std::chrono::steady_clock::now();

  // Overlay layers are independent directories, so they download and unpack in parallel and
  // the store commits each once the one below it is in. A vfs layer starts as a copy of its
  // parent, so vfs pulls go one layer at a time.
  std::vector<Status> statuses(layers.size());
  std::vector<PullStats> per_layer(layers.size());
  std::vector<std::promise<Status>> done(layers.size());
  std::vector<std::shared_future<Status>> done_future;
  for (auto& p : done) done_future.push_back(p.get_future().share());
  auto ensure = [&](size_t i) {
    ParentReady parent_ready = [&, i]() -> Status {
      if (i == 0) return absl::OkStatus();
      Status parent = done_future[i - 1].get();
      if (!parent.ok()) return Annotate(parent, "layer below failed");
      return absl::OkStatus();
    };
    statuses[i] = EnsureLayer(*client, ref.path, layers[i], chain_ids, config.diff_ids, i,
                              parent_ready, per_layer[i]);
    done[i].set_value(statuses[i]);
  };
  if (store_.driver() == "overlay") {
    // Slots are taken in layer order: the lowest uncommitted layer always holds one, so layers
    // waiting for their parent before committing can never starve it.
    std::counting_semaphore<64> slots(std::min(opts->max_parallel_layers, 64));
    std::mutex order_mu;
    std::condition_variable order_cv;
    size_t next_slot = 0;
    std::vector<std::jthread> workers;
    for (size_t i = 0; i < layers.size(); ++i) {
      workers.emplace_back([&, i] {
        {
          std::unique_lock lock(order_mu);
          order_cv.wait(lock, [&] { return next_slot == i; });
          slots.acquire();
          ++next_slot;
        }
        order_cv.notify_all();
        ensure(i);
        slots.release();
      });
    }
  } else {
    for (size_t i = 0; i < layers.size(); ++i) ensure(i);
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    RETURN_IF_ERROR(Annotate(statuses[i], absl::StrCat("layer ", layers[i].digest)));
    result.stats.layers_downloaded += per_layer[i].layers_downloaded;
    result.stats.bytes_downloaded += per_layer[i].bytes_downloaded;
  }

  storage::ImageRecord record;
  record.id = result.image_id;
  if (!source.logical.tag.empty()) record.names.push_back(source.logical.RepoTagString());
  record.digests.push_back(source.logical.RepoDigestString(resolved.top_digest));
  record.config_json = std::move(config_raw);
  record.manifest_json = resolved.raw.raw;
  record.manifest_digest = resolved.manifest_digest;
  for (const auto& id : chain_ids) record.layers.push_back(HexOf(id));
  RETURN_IF_ERROR(store_.PutImage(record));

  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  CRIO_LOG_INFO("pulled image={} id={} layers={} downloaded={} bytes={} in {} ms",
                source.logical.String(), result.image_id, result.stats.layers_total,
                result.stats.layers_downloaded, result.stats.bytes_downloaded, ms);
  return result;
}

Status ImageManager::EnsureLayer(RegistryClient& client, const std::string& repo,
                                 const Descriptor& blob, const std::vector<std::string>& chain_ids,
                                 const std::vector<std::string>& diff_ids, size_t index,
                                 const ParentReady& parent_ready, PullStats& stats) {
  const std::string& chain_id = chain_ids[index];
  if (store_.HasLayer(chain_id)) return absl::OkStatus();

  std::promise<Status> promise;
  std::shared_future<Status> pending;
  bool owner = false;
  {
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_layers_.find(chain_id);
    if (it != inflight_layers_.end()) {
      pending = it->second;
    } else {
      pending = promise.get_future().share();
      inflight_layers_.emplace(chain_id, pending);
      owner = true;
    }
  }
  if (!owner) return pending.get();  // another pull is fetching this very layer

  std::string parent = index == 0 ? "" : chain_ids[index - 1];
  Status status =
      DownloadLayer(client, repo, blob, chain_id, parent, diff_ids[index], parent_ready, stats);
  promise.set_value(status);
  std::lock_guard lock(inflight_mu_);
  inflight_layers_.erase(chain_id);
  return status;
}

Status ImageManager::DownloadLayer(RegistryClient& client, const std::string& repo,
                                   const Descriptor& blob, const std::string& chain_id,
                                   const std::string& parent_chain_id, const std::string& diff_id,
                                   const ParentReady& parent_ready, PullStats& stats) {
  RETURN_IF_ERROR(LayerCompressionForMediaType(blob.media_type).status());
  auto writer_or = store_.BeginLayer(chain_id, parent_chain_id);
  if (writer_or.status().code() == absl::StatusCode::kAlreadyExists) {
    metrics::Crio().RecordImageLayerReuse(blob.digest);
    metrics::Crio().RecordImagePullSkippedBytes(
        static_cast<uint64_t>(std::max<int64_t>(0, blob.size)));
    return absl::OkStatus();
  }
  if (!writer_or.ok()) return writer_or.status();
  std::unique_ptr<storage::LayerWriter> writer = *std::move(writer_or);

  // The blob streams from the network through a socket pair straight into the extractor:
  // no tarball ever lands on disk.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoError(errno, "socketpair");
  }
  os::UniqueFd reader(fds[0]);
  os::UniqueFd feeder(fds[1]);
  Status fetch_status;
  uint64_t fetched = 0;
  std::thread fetcher([&] {
    fetch_status = client.FetchBlob(repo, blob.digest, blob.size, [&](const char* d, size_t n) {
      fetched += n;
      return SendAll(feeder.get(), d, n);
    });
    feeder.reset();  // EOF for the extractor
  });

  storage::ExtractOptions extract_options;
  extract_options.whiteouts = store_.driver() == "overlay" ? storage::WhiteoutMode::kOverlay
                                                           : storage::WhiteoutMode::kApply;
  extract_options.keep_ownership = ::geteuid() == 0;
  extract_options.layer_name = blob.digest;
  auto extracted = storage::ExtractLayer(reader.get(), writer->path(), extract_options);
  reader.reset();  // a fetcher still sending (extraction failed early) now gets EPIPE
  fetcher.join();

  // A failed download explains a failed extraction better than the extractor's own error.
  RETURN_IF_ERROR(fetch_status);
  RETURN_IF_ERROR(extracted.status());
  if (extracted->diff_id != diff_id) {
    return absl::DataLossError(absl::StrCat("layer ", blob.digest, " unpacks to ",
                                            extracted->diff_id, " but the image config says ",
                                            diff_id));
  }
  RETURN_IF_ERROR(parent_ready());
  RETURN_IF_ERROR(writer->Commit(extracted->diff_id, blob.digest,
                                 static_cast<int64_t>(extracted->uncompressed_bytes)));
  stats.layers_downloaded = 1;
  stats.bytes_downloaded = fetched;
  metrics::Crio().RecordImagePullBytes(blob.media_type, fetched, fetched);
  metrics::Crio().RecordImagePullLayerSize(fetched);
  CRIO_LOG_DEBUG("layer={} chain={} committed ({} bytes compressed, {} unpacked)", blob.digest,
                 chain_id, fetched, extracted->uncompressed_bytes);
  return absl::OkStatus();
}

StatusOr<storage::ImageRecord> ImageManager::Lookup(const std::string& image,
                                                    std::string* matched_name) {
  if (image.empty()) return InvalidArgument("image: empty image reference");
  auto direct = store_.LookupImage(image);
  if (direct.ok() || direct.status().code() != absl::StatusCode::kNotFound) {
    if (direct.ok() && matched_name) {
      const auto& names = direct->names;
      if (std::find(names.begin(), names.end(), image) != names.end()) *matched_name = image;
    }
    return direct;
  }
  auto ref = ParseReference(image);
  if (!ref.ok()) return NotFound(absl::StrCat("image ", image, " not found"));
  std::vector<std::string> candidates;
  auto add_candidates = [&candidates](const Reference& r) {
    if (!r.digest.empty()) candidates.push_back(r.RepoDigestString(r.digest));
    if (!r.tag.empty()) candidates.push_back(r.RepoTagString());
  };
  add_candidates(*ref);
  if (ref->IsShortName()) {
    const auto opts = Options();
    auto registries = LoadRegistriesConf(opts->registries_conf, opts->registries_conf_dir);
    if (registries.ok()) {
      auto sources = ResolvePullSources(*ref, *registries, ShortNameMode::kPermissive);
      if (sources.ok()) {
        for (const auto& s : *sources) add_candidates(s.logical);
      }
    }
  }
  for (const auto& candidate : candidates) {
    auto found = store_.LookupImage(candidate);
    if (found.ok()) {
      if (matched_name && ref->digest.empty()) *matched_name = candidate;
      return found;
    }
  }
  return NotFound(absl::StrCat("image ", image, " not found"));
}

bool ImageManager::IsPinned(const storage::ImageRecord& record) const {
  const auto opts = Options();
  std::vector<std::string> patterns = opts->pinned_images;
  if (!opts->pause_image.empty()) {
    auto pause = ParseReference(opts->pause_image);
    patterns.push_back(pause.ok() ? pause->String() : opts->pause_image);
  }
  for (const auto& pattern : patterns) {
    for (const auto& name : record.names) {
      if (MatchesPinnedPattern(pattern, name)) return true;
    }
  }
  return false;
}

ImageInfo ImageManager::ToInfo(const storage::ImageRecord& record) const {
  ImageInfo info;
  info.id = record.id;
  info.repo_tags = record.names;
  info.repo_digests = record.digests;
  info.size = static_cast<uint64_t>(record.size);
  info.manifest_digest = record.manifest_digest;
  info.created_ns = record.created_ns;
  auto config = ParseImageConfig(record.config_json);
  if (config.ok()) {
    info.config = *std::move(config);
    ParseImageUser(info.config.config.user, info.uid, info.username);
  }
  info.pinned = IsPinned(record);
  return info;
}

StatusOr<ImageInfo> ImageManager::Inspect(const std::string& image) {
  ASSIGN_OR_RETURN(storage::ImageRecord record, Lookup(image, nullptr));
  return ToInfo(record);
}

std::vector<ImageInfo> ImageManager::List() {
  std::vector<ImageInfo> out;
  for (const auto& record : store_.ListImages()) out.push_back(ToInfo(record));
  return out;
}

Status ImageManager::Remove(const std::string& image) {
  std::string matched_name;
  ASSIGN_OR_RETURN(storage::ImageRecord record, Lookup(image, &matched_name));
  RETURN_IF_ERROR(store_.RemoveImage(matched_name.empty() ? record.id : matched_name));
  CRIO_LOG_INFO("removed image={} id={}", matched_name.empty() ? image : matched_name, record.id);
  return absl::OkStatus();
}

}  // namespace crio::image
