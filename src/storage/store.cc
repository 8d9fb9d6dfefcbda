#include "storage/store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "os/file.h"
#include "os/mount_point.h"
#include "os/unique_fd.h"
#include "storage/fs_tree.h"
#include "storage/overlay.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::storage {
namespace {

constexpr char kSha256Prefix[] = "sha256:";
constexpr size_t kSha256PrefixLength = sizeof(kSha256Prefix) - 1;
constexpr size_t kHexDigestLength = 64;
constexpr size_t kMinPrefixLength = 3;
constexpr size_t kLinkIdLength = 12;
constexpr size_t kMaxContainerIdLength = 128;
constexpr const char* kDbFile = "crio-cpp.db";
constexpr const char* kMountCountFile = "mountcount";

// Overlay option sets, best first. index=off: with index=on a lower dir may be used by one
// overlay at a time, and image layers are shared. metacopy=off: we never want a copy-up that
// leaves data in the lower layer. Kernels that predate the options get the plain mount.
const std::vector<std::string> kOverlayOptionCandidates = {"index=off,metacopy=off", "index=off",
                                                           ""};

bool IsLowerHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool IsHexDigest(std::string_view s) { return s.size() == kHexDigestLength && IsLowerHex(s); }

std::string_view StripSha256(std::string_view s) {
  if (s.substr(0, kSha256PrefixLength) == kSha256Prefix) {
    s.remove_prefix(kSha256PrefixLength);
  }
  return s;
}

// "sha256:<hex>" or "<hex>" -> "<hex>".
StatusOr<std::string> NormalizeId(std::string_view what, std::string_view id) {
  std::string_view hex = StripSha256(id);
  if (!IsHexDigest(hex)) {
    return InvalidArgument(absl::StrCat(std::string(what), " `", std::string(id),
                                        "` is not a sha256 digest (64 lowercase hex digits)"));
  }
  return std::string(hex);
}

// Exactly "sha256:<hex>".
Status CheckDigest(std::string_view what, std::string_view digest) {
  if (digest.substr(0, kSha256PrefixLength) != kSha256Prefix ||
      !IsHexDigest(digest.substr(kSha256PrefixLength))) {
    return InvalidArgument(absl::StrCat(std::string(what), " `", std::string(digest),
                                        "` is not of the form sha256:<64 hex digits>"));
  }
  return absl::OkStatus();
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

using os::RandomName;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status CheckContainerId(const std::string& id) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  bool ok = !id.empty() && id.size() <= kMaxContainerIdLength && id[0] != '.' && id[0] != '_' &&
            id[0] != '-' && std::all_of(id.begin(), id.end(), ok_char);
  if (!ok) {
    return InvalidArgument(absl::StrCat("invalid container id `", id, "`"));
  }
  return absl::OkStatus();
}

Status CheckStorePath(const char* what, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgument(absl::StrCat("storage ", what, " `", path, "` is not absolute"));
  }
  if (path.find_first_of(",:\\") != std::string::npos) {
    return InvalidArgument(absl::StrCat("storage ", what, " `", path,
                                        "` contains ',', ':' or '\\' (unusable in overlay "
                                        "mount options)"));
  }
  return absl::OkStatus();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return ErrnoError(ec.value(), absl::StrCat("mkdir -p `", path, "`"));
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Names in `dir`; empty if it cannot be read (callers only use this for garbage collection).
std::vector<std::string> DirNames(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(entry.path().filename().string());
  }
  if (ec) {
    CRIO_LOG_WARN("cannot list {}: {}", dir, ec.message());
  }
  return out;
}

Status RenamePath(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("rename `", from, "` to `", to, "`"));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<std::string>> ComputeChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  for (const std::string& diff_id : diff_ids) {
    RETURN_IF_ERROR(CheckDigest("diff id", diff_id));
    if (out.empty()) {
      out.push_back(diff_id);
    } else {
      out.push_back(absl::StrCat(kSha256Prefix, Sha256Hex(absl::StrCat(out.back(), " ", diff_id))));
    }
  }
  return out;
}

// ---- LayerWriter ---------------------------------------------------------------------------

LayerWriter::LayerWriter(Store* store, std::string id, std::string parent, std::string staging_dir)
    : store_(store),
      id_(std::move(id)),
      parent_(std::move(parent)),
      staging_dir_(std::move(staging_dir)),
      diff_dir_(absl::StrCat(staging_dir_, "/diff")) {}

LayerWriter::~LayerWriter() {
  if (!committed_) {
    store_->AbandonLayer(*this);
  }
}

Status LayerWriter::Commit(const std::string& diff_id, const std::string& compressed_digest,
                           int64_t size) {
  return store_->CommitLayer(*this, diff_id, compressed_digest, size);
}

// ---- Store: opening and recovery ------------------------------------------------------------

Store::Store(StoreOptions options, std::string driver, std::string overlay_options,
             std::unique_ptr<MetadataDb> db)
    : options_(std::move(options)),
      driver_(std::move(driver)),
      overlay_options_(std::move(overlay_options)),
      layers_dir_(absl::StrCat(options_.root, "/", driver_, "-layers")),
      layer_staging_dir_(absl::StrCat(layers_dir_, "/staging")),
      link_dir_(absl::StrCat(layers_dir_, "/l")),
      containers_dir_(absl::StrCat(options_.root, "/", driver_, "-containers")),
      container_staging_dir_(absl::StrCat(containers_dir_, "/.staging")),
      run_containers_dir_(absl::StrCat(options_.runroot, "/", driver_, "-containers")),
      db_(std::move(db)) {}

Store::~Store() = default;

StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options_in) {
  StoreOptions options = options_in;
  while (options.root.size() > 1 && options.root.back() == '/') {
    options.root.pop_back();
  }
  while (options.runroot.size() > 1 && options.runroot.back() == '/') {
    options.runroot.pop_back();
  }
  if (options.driver != "overlay" && options.driver != "vfs") {
    return InvalidArgument(
        absl::StrCat("unknown storage driver `", options.driver, "` (expected overlay or vfs)"));
  }
  RETURN_IF_ERROR(CheckStorePath("root", options.root));
  RETURN_IF_ERROR(CheckStorePath("runroot", options.runroot));
  RETURN_IF_ERROR(MakeDirs(options.root));
  RETURN_IF_ERROR(MakeDirs(options.runroot));
  chmod(options.root.c_str(), 0700);  // layer contents are not for unprivileged users

  ASSIGN_OR_RETURN(std::unique_ptr<MetadataDb> db,
                   MetadataDb::Open(absl::StrCat(options.root, "/", kDbFile)));

  // The driver is a property of the store's contents: switching it would orphan every layer
  // dir (recovery would then delete the rows). So an existing, non-empty store keeps its driver.
  ASSIGN_OR_RETURN(std::optional<std::string> recorded, db->GetMeta("driver"));
  ASSIGN_OR_RETURN(int64_t layer_count, db->CountLayers());
  ASSIGN_OR_RETURN(std::vector<ContainerRecord> containers, db->ListContainers());
  bool has_content = layer_count > 0 || !containers.empty();
  std::string driver = options.driver;
  if (recorded.has_value() && *recorded != driver && has_content) {
    CRIO_LOG_WARN("storage at {} was created with driver {}; using it instead of {}", options.root,
                  *recorded, driver);
    driver = *recorded;
  }
  std::string overlay_options;
  if (driver == "overlay") {
    std::string scratch = absl::StrCat(options.root, "/.overlay-probe-", RandomName(8));
    RETURN_IF_ERROR(MakeDir(scratch, 0700));
    StatusOr<std::string> probe = ProbeOverlay(scratch, kOverlayOptionCandidates);
    Status removed = RemoveTree(scratch);
    if (!removed.ok()) {
      CRIO_LOG_WARN("cannot remove overlay probe dir: {}", Message(removed));
    }
    if (probe.ok()) {
      overlay_options = *probe;
    } else if (recorded == "overlay" && has_content) {
      return FailedPrecondition(
          absl::StrCat("storage at ", options.root,
                       " uses overlay, but overlay mounts fail here: ", Message(probe.status())));
    } else {
      CRIO_LOG_WARN(
          "overlay mounts do not work under {} ({}); falling back to the vfs driver, "
          "which copies every layer",
          options.root, Message(probe.status()));
      driver = "vfs";
    }
  }
  RETURN_IF_ERROR(db->SetMeta("driver", driver));

  std::unique_ptr<Store> store(
      new Store(std::move(options), driver, std::move(overlay_options), std::move(db)));
  for (const std::string& dir :
       {store->layers_dir_, store->layer_staging_dir_, store->containers_dir_,
        store->container_staging_dir_, store->run_containers_dir_}) {
    RETURN_IF_ERROR(MakeDir(dir, 0700));
  }
  if (driver == "overlay") {
    RETURN_IF_ERROR(MakeDir(store->link_dir_, 0700));
    RETURN_IF_ERROR(MakeDir(absl::StrCat(store->layers_dir_, "/empty"), 0755));
  }
  RETURN_IF_ERROR(
      Annotate(store->Recover(), absl::StrCat("recover storage ", store->options_.root)));
  CRIO_LOG_INFO("storage ready: root={} runroot={} driver={}{}", store->options_.root,
                store->options_.runroot, driver,
                overlay_options.empty() ? "" : absl::StrCat(" options=", overlay_options));
  return store;
}

Status Store::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(RecoverDatabase());
  RETURN_IF_ERROR(CollectGarbageDirs());
  return RecoverMountCounts();
}

Status Store::RecoverDatabase() {
  ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
  ASSIGN_OR_RETURN(std::vector<LayerRecord> layers, db_->ListLayers());

  // Unusable layers: marked incomplete, or their directory is gone; then their descendants.
  std::set<std::string> bad;
  for (const LayerRecord& layer : layers) {
    if (layer.state != LayerState::kComplete) {
      CRIO_LOG_WARN("removing incomplete layer {}", layer.id);
      bad.insert(layer.id);
    } else if (!Exists(LayerDiffPath(layer.id))) {
      CRIO_LOG_WARN(
          "layer {} is recorded but its directory {} is missing; removing it and the "
          "images that use it",
          layer.id, LayerDiffPath(layer.id));
      bad.insert(layer.id);
    }
  }
  for (bool grew = !bad.empty(); grew;) {
    grew = false;
    for (const LayerRecord& layer : layers) {
      if (!layer.parent.empty() && bad.count(layer.parent) != 0 && bad.insert(layer.id).second) {
        CRIO_LOG_WARN("removing layer {}: its parent {} is unusable", layer.id, layer.parent);
        grew = true;
      }
    }
  }
  std::set<std::string> bad_images;
  for (const std::string& id : bad) {
    ASSIGN_OR_RETURN(std::vector<std::string> images, db_->ListImagesUsingLayer(id));
    bad_images.insert(images.begin(), images.end());
  }
  for (const std::string& image : bad_images) {
    ASSIGN_OR_RETURN(std::vector<std::string> users, db_->ListContainersUsingImage(image));
    for (const std::string& container : users) {
      CRIO_LOG_WARN("removing container layer {}: its image {} lost a layer", container, image);
      RETURN_IF_ERROR(db_->DeleteContainer(container));
    }
    CRIO_LOG_WARN("removing image {}: one of its layers is unusable", image);
    RETURN_IF_ERROR(db_->DeleteImage(image));
  }
  for (const std::string& id : bad) {
    RETURN_IF_ERROR(db_->DeleteLayer(id));
  }
  ASSIGN_OR_RETURN(std::vector<LayerRecord> pruned, DeleteUnreferencedLayersLocked());
  for (const LayerRecord& layer : pruned) {
    CRIO_LOG_INFO("removing layer {}: no image uses it (interrupted pull)", layer.id);
  }
  return txn.Commit();
}

Status Store::CollectGarbageDirs() {
  ASSIGN_OR_RETURN(std::vector<LayerRecord> layers, db_->ListLayers());
  std::map<std::string, std::string> link_target;  // link id -> expected symlink target
  std::set<std::string> layer_ids;
  for (const LayerRecord& layer : layers) {
    layer_ids.insert(layer.id);
    if (!layer.link_id.empty()) {
      link_target[layer.link_id] = absl::StrCat("../", layer.id, "/diff");
    }
  }
  for (const std::string& name : DirNames(layers_dir_)) {
    std::string path = absl::StrCat(layers_dir_, "/", name);
    if (name == "staging") {
      for (const std::string& leftover : DirNames(path)) {
        RETURN_IF_ERROR(RemoveTree(absl::StrCat(path, "/", leftover)));
      }
    } else if (IsHexDigest(name) && layer_ids.count(name) == 0) {
      CRIO_LOG_WARN("removing layer dir {}: no committed layer owns it", path);
      RETURN_IF_ERROR(RemoveTree(path));
    }
  }
  if (driver_ == "overlay") {
    for (const std::string& name : DirNames(link_dir_)) {
      std::string path = absl::StrCat(link_dir_, "/", name);
      auto it = link_target.find(name);
      std::error_code ec;
      if (it == link_target.end() || std::filesystem::read_symlink(path, ec) != it->second) {
        if (unlink(path.c_str()) != 0 && errno != ENOENT) {
          return ErrnoError(errno, absl::StrCat("remove stale link `", path, "`"));
        }
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<ContainerRecord> containers, db_->ListContainers());
  std::set<std::string> container_ids;
  for (const ContainerRecord& c : containers) {
    container_ids.insert(c.id);
  }
  for (const std::string& name : DirNames(containers_dir_)) {
    std::string path = absl::StrCat(containers_dir_, "/", name);
    if (name == ".staging") {
      for (const std::string& leftover : DirNames(path)) {
        RETURN_IF_ERROR(RemoveTree(absl::StrCat(path, "/", leftover)));
      }
    } else if (CheckContainerId(name).ok() && container_ids.count(name) == 0) {
      CRIO_LOG_WARN("removing container dir {}: no container record owns it", path);
      RETURN_IF_ERROR(RemoveTree(path));
    }
  }
  for (const std::string& name : DirNames(run_containers_dir_)) {
    if (container_ids.count(name) == 0) {
      RETURN_IF_ERROR(RemoveTree(absl::StrCat(run_containers_dir_, "/", name)));
    }
  }
  return absl::OkStatus();
}

Status Store::RecoverMountCounts() {
  if (driver_ != "overlay") {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<ContainerRecord> containers, db_->ListContainers());
  for (const ContainerRecord& c : containers) {
    std::string rootfs = absl::StrCat(ContainerDir(c.id), "/merged");
    int count = ReadMountCount(c.id);
    bool mounted = IsMountPoint(rootfs);
    if (count > 0 && !mounted) {
      CRIO_LOG_WARN("container {}: rootfs was unmounted behind our back; resetting mount count {}",
                    c.id, count);
      RETURN_IF_ERROR(WriteMountCount(c.id, 0));
    } else if (count == 0 && mounted) {
      // Mounted, but the count was never written: the Mount call died before returning, so
      // nobody holds this mount.
      CRIO_LOG_WARN("container {}: unmounting a rootfs mount nobody holds", c.id);
      RETURN_IF_ERROR(os::DetachMount(rootfs));
    }
  }
  return absl::OkStatus();
}

// ---- Store: paths --------------------------------------------------------------------------

std::string Store::LayerDir(const std::string& id) const {
  return absl::StrCat(layers_dir_, "/", id);
}

std::string Store::LayerDiffPath(const std::string& chain_id) const {
  return absl::StrCat(layers_dir_, "/", std::string(StripSha256(chain_id)), "/diff");
}

std::string Store::WritableLayerDir(const std::string& container_id) const {
  return absl::StrCat(ContainerDir(container_id), driver_ == "overlay" ? "/upper" : "/merged");
}

std::string Store::ContainerDir(const std::string& id) const {
  return absl::StrCat(containers_dir_, "/", id);
}

std::string Store::MountCountPath(const std::string& id) const {
  return absl::StrCat(run_containers_dir_, "/", id, "/", kMountCountFile);
}

Status Store::SyncFilesystem(const std::string& path) {
  if (!options_.sync_filesystem) {
    return absl::OkStatus();
  }
  os::UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("open `", path, "`"));
  }
  if (syncfs(fd.get()) != 0) {
    return ErrnoError(errno, absl::StrCat("syncfs `", path, "`"));
  }
  return absl::OkStatus();
}

// ---- Store: layers -------------------------------------------------------------------------

bool Store::HasLayer(const std::string& chain_id) {
  StatusOr<LayerRecord> layer = GetLayer(chain_id);
  return layer.ok() && layer->state == LayerState::kComplete;
}

StatusOr<LayerRecord> Store::GetLayer(const std::string& chain_id) {
  ASSIGN_OR_RETURN(std::string id, NormalizeId("layer chain id", chain_id));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, db_->GetLayer(id));
  if (!layer.has_value()) {
    return NotFound(absl::StrCat("layer ", id, " not found"));
  }
  return *std::move(layer);
}

std::vector<LayerRecord> Store::ListLayers() {
  std::lock_guard<std::mutex> lock(mu_);
  StatusOr<std::vector<LayerRecord>> layers = db_->ListLayers();
  if (!layers.ok()) {
    CRIO_LOG_ERROR("list layers: {}", Message(layers.status()));
    return {};
  }
  return *std::move(layers);
}

StatusOr<std::unique_ptr<LayerWriter>> Store::BeginLayer(const std::string& chain_id,
                                                         const std::string& parent_chain_id) {
  ASSIGN_OR_RETURN(std::string id, NormalizeId("layer chain id", chain_id));
  std::string parent;
  if (!parent_chain_id.empty()) {
    ASSIGN_OR_RETURN(parent, NormalizeId("parent chain id", parent_chain_id));
  }
  if (parent == id) {
    return InvalidArgument(absl::StrCat("layer ", id, " cannot be its own parent"));
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    layer_done_.wait(lock, [&] { return layers_in_progress_.count(id) == 0; });
    ASSIGN_OR_RETURN(std::optional<LayerRecord> existing, db_->GetLayer(id));
    if (existing.has_value() && existing->state == LayerState::kComplete) {
      return AlreadyExists(absl::StrCat("layer ", id, " already exists"));
    }
    // Overlay layers are independent dirs: a layer may be written before its parent is
    // (parallel pulls), and CommitLayer checks the parent. vfs copies the parent first.
    if (!parent.empty() && driver_ != "overlay") {
      ASSIGN_OR_RETURN(std::optional<LayerRecord> p, db_->GetLayer(parent));
      if (!p.has_value() || p->state != LayerState::kComplete) {
        return FailedPrecondition(
            absl::StrCat("parent layer ", parent, " of layer ", id, " does not exist"));
      }
    }
    layers_in_progress_.emplace(id, parent);
  }
  // From here on the writer owns the reservation; its destructor releases it on any failure.
  std::unique_ptr<LayerWriter> writer(
      new LayerWriter(this, id, parent, absl::StrCat(layer_staging_dir_, "/", RandomName(26))));
  RETURN_IF_ERROR(MakeDir(writer->staging_dir_, 0700));
  RETURN_IF_ERROR(MakeDir(writer->diff_dir_, 0755));
  if (driver_ == "vfs" && !parent.empty()) {
    RETURN_IF_ERROR(Annotate(CopyTree(LayerDiffPath(parent), writer->diff_dir_),
                             absl::StrCat("copy parent layer ", parent, " for layer ", id)));
  }
  return writer;
}

void Store::AbandonLayer(LayerWriter& writer) {
  Status st = RemoveTree(writer.staging_dir_);
  if (!st.ok()) {
    CRIO_LOG_WARN("layer {}: cannot remove abandoned staging dir (removed at next start): {}",
                  writer.id_, Message(st));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    layers_in_progress_.erase(writer.id_);
  }
  layer_done_.notify_all();
}

Status Store::CommitLayer(LayerWriter& writer, const std::string& diff_id,
                          const std::string& compressed_digest, int64_t size) {
  const std::string& id = writer.id_;
  if (writer.committed_) {
    return FailedPrecondition(absl::StrCat("layer ", id, " already committed"));
  }
  RETURN_IF_ERROR(CheckDigest("diff id", diff_id));
  if (!compressed_digest.empty()) {
    RETURN_IF_ERROR(CheckDigest("compressed digest", compressed_digest));
  }
  if (size < 0) {
    return InvalidArgument(absl::StrCat("layer ", id, ": negative size"));
  }
  std::string expected = writer.parent_.empty()
                             ? std::string(StripSha256(diff_id))
                             : Sha256Hex(absl::StrCat(kSha256Prefix, writer.parent_, " ", diff_id));
  if (expected != id) {
    return InvalidArgument(absl::StrCat("layer ", id, ": diff id ", diff_id, " on parent ",
                                        writer.parent_.empty() ? "(none)" : writer.parent_,
                                        " gives chain id ", expected));
  }
  RETURN_IF_ERROR(Annotate(SyncFilesystem(writer.staging_dir_), absl::StrCat("layer ", id)));

  LayerRecord record;
  record.id = id;
  record.parent = writer.parent_;
  record.diff_id = diff_id;
  record.compressed_digest = compressed_digest;
  record.size = size;
  record.state = LayerState::kComplete;
  record.link_id = driver_ == "overlay" ? RandomName(kLinkIdLength) : "";
  record.created_ns = NowNs();
  const std::string final_dir = LayerDir(id);
  std::vector<std::string> trash;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!writer.parent_.empty()) {
      // A parent written concurrently must be committed first (or this layer fails with it).
      layer_done_.wait(lock, [&] { return layers_in_progress_.count(writer.parent_) == 0; });
      ASSIGN_OR_RETURN(std::optional<LayerRecord> parent, db_->GetLayer(writer.parent_));
      if (!parent.has_value() || parent->state != LayerState::kComplete) {
        return FailedPrecondition(
            absl::StrCat("parent layer ", writer.parent_, " of layer ", id, " was not committed"));
      }
    }
    ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
    ASSIGN_OR_RETURN(std::optional<LayerRecord> stale, db_->GetLayer(id));
    if (stale.has_value()) {  // an 'incomplete' row: complete ones never get a writer
      RETURN_IF_ERROR(db_->DeleteLayer(id));
    }
    RETURN_IF_ERROR(Annotate(db_->InsertLayer(record), absl::StrCat("record layer ", id)));
    if (Exists(final_dir)) {
      // A dir without a committed row (a failed earlier commit): out of the way first.
      std::string aside = absl::StrCat(layer_staging_dir_, "/", RandomName(26));
      RETURN_IF_ERROR(RenamePath(final_dir, aside));
      trash.push_back(aside);
    }
    RETURN_IF_ERROR(RenamePath(writer.staging_dir_, final_dir));
    Status st = FsyncPath(layers_dir_);
    if (st.ok()) {
      st = txn.Commit();
    }
    if (!st.ok()) {
      // Keep the invariant "no dir without a row" for this process's lifetime as well; if even
      // this fails, the next Open removes the dir.
      (void)RenamePath(final_dir, writer.staging_dir_);
      return Annotate(st, absl::StrCat("commit layer ", id));
    }
    writer.committed_ = true;
    layers_in_progress_.erase(id);
  }
  layer_done_.notify_all();
  DeleteTrash(trash);
  if (!record.link_id.empty()) {
    Status st = EnsureSymlink(absl::StrCat(link_dir_, "/", record.link_id),
                              absl::StrCat("../", id, "/diff"));
    if (!st.ok()) {
      CRIO_LOG_WARN("layer {}: cannot create short link (retried at mount): {}", id, Message(st));
    }
  }
  CRIO_LOG_DEBUG("committed layer {} (diff {}, {} bytes)", id, diff_id, size);
  return absl::OkStatus();
}

StatusOr<std::vector<LayerRecord>> Store::DeleteUnreferencedLayersLocked() {
  ASSIGN_OR_RETURN(std::vector<LayerRecord> layers, db_->ListLayers());
  ASSIGN_OR_RETURN(std::vector<std::string> referenced, db_->ListReferencedLayers());
  std::map<std::string, const LayerRecord*> by_id;
  for (const LayerRecord& layer : layers) {
    by_id[layer.id] = &layer;
  }
  // Keep what images and containers use, whatever in-progress writers build on, and all their
  // ancestors.
  std::vector<std::string> roots = referenced;
  for (const auto& [id, parent] : layers_in_progress_) {
    roots.push_back(parent);
  }
  std::set<std::string> keep;
  for (std::string id : roots) {
    while (!id.empty() && keep.insert(id).second) {
      auto it = by_id.find(id);
      id = it == by_id.end() ? "" : it->second->parent;
    }
  }
  // Children before parents, so that the layer table never holds a dangling parent.
  auto depth = [&](const LayerRecord& layer) {
    int d = 0;
    for (std::string p = layer.parent; !p.empty() && d <= static_cast<int>(layers.size()); ++d) {
      auto it = by_id.find(p);
      p = it == by_id.end() ? "" : it->second->parent;
    }
    return d;
  };
  std::vector<std::pair<int, const LayerRecord*>> doomed;
  for (const LayerRecord& layer : layers) {
    if (keep.count(layer.id) == 0) {
      doomed.emplace_back(depth(layer), &layer);
    }
  }
  std::sort(doomed.begin(), doomed.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<LayerRecord> out;
  for (const auto& [d, layer] : doomed) {
    RETURN_IF_ERROR(db_->DeleteLayer(layer->id));
    out.push_back(*layer);
  }
  return out;
}

std::vector<std::string> Store::TrashLayerDirsLocked(const std::vector<LayerRecord>& layers) {
  std::vector<std::string> trash;
  for (const LayerRecord& layer : layers) {
    if (!layer.link_id.empty()) {
      unlink(absl::StrCat(link_dir_, "/", layer.link_id).c_str());
    }
    std::string dir = LayerDir(layer.id);
    std::string aside = absl::StrCat(layer_staging_dir_, "/", RandomName(26));
    if (rename(dir.c_str(), aside.c_str()) == 0) {
      trash.push_back(aside);
    } else if (errno != ENOENT) {
      CRIO_LOG_WARN("layer {}: cannot move {} aside ({}); deleting in place", layer.id, dir,
                    std::strerror(errno));
      trash.push_back(dir);
    }
  }
  return trash;
}

std::string Store::TrashContainerDirLocked(const std::string& id) {
  std::string dir = ContainerDir(id);
  std::string aside = absl::StrCat(container_staging_dir_, "/", RandomName(26));
  if (rename(dir.c_str(), aside.c_str()) == 0) {
    return aside;
  }
  if (errno == ENOENT) {
    return "";
  }
  CRIO_LOG_WARN("container {}: cannot move {} aside ({}); deleting in place", id, dir,
                std::strerror(errno));
  return dir;
}

void Store::DeleteTrash(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (path.empty()) {
      continue;
    }
    Status st = RemoveTree(path);
    if (!st.ok()) {
      CRIO_LOG_WARN("cannot delete {} (retried at next start): {}", path, Message(st));
    }
  }
}

// ---- Store: images -------------------------------------------------------------------------

Status Store::PutImage(const ImageRecord& image_in) {
  ImageRecord image = image_in;
  ASSIGN_OR_RETURN(image.id, NormalizeId("image id", image_in.id));
  for (std::string& layer : image.layers) {
    ASSIGN_OR_RETURN(layer, NormalizeId("image layer", layer));
  }
  for (const std::string& name : image.names) {
    if (name.empty()) {
      return InvalidArgument(absl::StrCat("image ", image.id, ": empty name"));
    }
  }
  for (const std::string& digest : image.digests) {
    if (digest.empty()) {
      return InvalidArgument(absl::StrCat("image ", image.id, ": empty repo digest"));
    }
  }
  image.top_layer = image.layers.empty() ? "" : image.layers.back();
  image.created_ns = NowNs();
  image.size = 0;

  std::lock_guard<std::mutex> lock(mu_);
  std::string expected_parent;
  for (const std::string& id : image.layers) {
    ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, db_->GetLayer(id));
    if (!layer.has_value() || layer->state != LayerState::kComplete) {
      return FailedPrecondition(
          absl::StrCat("image ", image.id, ": layer ", id, " does not exist"));
    }
    if (layer->parent != expected_parent) {
      return InvalidArgument(absl::StrCat("image ", image.id, ": layer ", id, " sits on ",
                                          layer->parent.empty() ? "nothing" : layer->parent,
                                          ", not on the previous layer of the image"));
    }
    expected_parent = id;
    image.size += layer->size;
  }
  ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
  RETURN_IF_ERROR(Annotate(db_->PutImage(image), absl::StrCat("store image ", image.id)));
  return txn.Commit();
}

StatusOr<std::string> Store::ResolveImageLocked(std::string_view ref_view) {
  std::string ref(ref_view);
  if (ref.empty()) {
    return InvalidArgument("empty image reference");
  }
  std::string hex(StripSha256(ref));
  if (IsHexDigest(hex)) {
    ASSIGN_OR_RETURN(std::optional<ImageRecord> image, db_->GetImage(hex));
    if (image.has_value()) {
      return hex;
    }
  }
  ASSIGN_OR_RETURN(std::optional<std::string> by_name, db_->FindImageIdByName(ref));
  if (by_name.has_value()) {
    return *by_name;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> by_digest, db_->FindImageIdByDigest(ref));
  if (by_digest.has_value()) {
    return *by_digest;
  }
  if (hex.size() >= kMinPrefixLength && hex.size() < kHexDigestLength && IsLowerHex(hex)) {
    ASSIGN_OR_RETURN(std::vector<std::string> ids, db_->FindImageIdsByPrefix(hex, 2));
    if (ids.size() == 1) {
      return ids[0];
    }
    if (ids.size() > 1) {
      return InvalidArgument(
          absl::StrCat("image id prefix ", hex, " is ambiguous (", ids[0], ", ", ids[1], ")"));
    }
  }
  return NotFound(absl::StrCat("image ", ref, " not found"));
}

StatusOr<ImageRecord> Store::LookupImage(std::string_view ref) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::string id, ResolveImageLocked(ref));
  ASSIGN_OR_RETURN(std::optional<ImageRecord> image, db_->GetImage(id));
  if (!image.has_value()) {
    return NotFound(absl::StrCat("image ", id, " not found"));
  }
  return *std::move(image);
}

std::vector<ImageRecord> Store::ListImages() {
  std::lock_guard<std::mutex> lock(mu_);
  StatusOr<std::vector<ImageRecord>> images = db_->ListImages();
  if (!images.ok()) {
    CRIO_LOG_ERROR("list images: {}", Message(images.status()));
    return {};
  }
  return *std::move(images);
}

Status Store::RemoveImage(std::string_view ref_view) {
  std::string ref(ref_view);
  std::vector<std::string> trash;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<std::string> named, db_->FindImageIdByName(ref));
    if (named.has_value()) {
      ASSIGN_OR_RETURN(std::optional<ImageRecord> image, db_->GetImage(*named));
      if (image.has_value() && image->names.size() > 1) {
        ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
        RETURN_IF_ERROR(db_->RemoveImageName(ref));
        RETURN_IF_ERROR(txn.Commit());
        CRIO_LOG_INFO("untagged {} from image {}", ref, *named);
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(std::string id, ResolveImageLocked(ref));
    ASSIGN_OR_RETURN(std::vector<std::string> users, db_->ListContainersUsingImage(id));
    if (!users.empty()) {
      return FailedPrecondition(
          absl::StrCat("image ", id, " is in use by container(s) ", absl::StrJoin(users, ", ")));
    }
    ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
    RETURN_IF_ERROR(db_->DeleteImage(id));
    ASSIGN_OR_RETURN(std::vector<LayerRecord> removed, DeleteUnreferencedLayersLocked());
    RETURN_IF_ERROR(Annotate(txn.Commit(), absl::StrCat("remove image ", id)));
    trash = TrashLayerDirsLocked(removed);
    CRIO_LOG_INFO("removed image {} and {} unused layer(s)", id, removed.size());
  }
  DeleteTrash(trash);
  return absl::OkStatus();
}

// ---- Store: containers ---------------------------------------------------------------------

int Store::ReadMountCount(const std::string& id) const {
  // Missing or unreadable: not mounted.
  StatusOr<std::string> text = os::ReadSmallFile(MountCountPath(id), 64);
  std::optional<uint64_t> count =
      text.ok() ? util::ParseUint64(util::TrimSpace(*text)) : std::nullopt;
  if (!count || *count > static_cast<uint64_t>(INT_MAX)) {
    return 0;
  }
  return static_cast<int>(*count);
}

Status Store::WriteMountCount(const std::string& id, int count) {
  std::string dir = absl::StrCat(run_containers_dir_, "/", id);
  std::string path = MountCountPath(id);
  if (count == 0) {
    return RemoveTree(dir);
  }
  RETURN_IF_ERROR(MakeDir(dir, 0700));
  // Replaced atomically, so a crash never leaves a torn count (runroot is a tmpfs: its fsyncs
  // cost nothing).
  return os::WriteFileAtomic(path, absl::StrCat(count, "\n"), 0644);
}

StatusOr<ContainerLayer> Store::ToContainerLayer(const ContainerRecord& record) {
  ContainerLayer c;
  c.id = record.id;
  c.image_id = record.image_id;
  c.top_layer = record.top_layer;
  c.metadata = record.metadata;
  c.created_ns = record.created_ns;
  c.mount_count = ReadMountCount(record.id);
  c.dir = ContainerDir(record.id);
  c.rootfs = absl::StrCat(c.dir, "/merged");
  return c;
}

StatusOr<ContainerLayer> Store::CreateContainerLayer(const std::string& container_id,
                                                     const std::string& image_ref,
                                                     const std::string& metadata) {
  RETURN_IF_ERROR(CheckContainerId(container_id));
  ContainerRecord record;
  record.id = container_id;
  record.metadata = metadata;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<ContainerRecord> existing, db_->GetContainer(container_id));
    if (existing.has_value()) {
      return AlreadyExists(absl::StrCat("container ", container_id, " already exists"));
    }
    ASSIGN_OR_RETURN(record.image_id, ResolveImageLocked(image_ref));
    ASSIGN_OR_RETURN(std::optional<ImageRecord> image, db_->GetImage(record.image_id));
    if (!image.has_value()) {
      return NotFound(absl::StrCat("image ", record.image_id, " not found"));
    }
    record.top_layer = image->top_layer;
  }

  std::string staging = absl::StrCat(container_staging_dir_, "/", RandomName(26));
  RETURN_IF_ERROR(MakeDir(staging, 0700));
  absl::Cleanup remove_staging = [&] { DeleteTrash({staging}); };
  if (driver_ == "overlay") {
    RETURN_IF_ERROR(MakeDir(absl::StrCat(staging, "/upper"), 0755));
    RETURN_IF_ERROR(MakeDir(absl::StrCat(staging, "/work"), 0700));
    RETURN_IF_ERROR(MakeDir(absl::StrCat(staging, "/merged"), 0755));
  } else {
    std::string merged = absl::StrCat(staging, "/merged");
    RETURN_IF_ERROR(MakeDir(merged, 0755));
    if (!record.top_layer.empty()) {
      RETURN_IF_ERROR(Annotate(CopyTree(LayerDiffPath(record.top_layer), merged),
                               absl::StrCat("copy rootfs of container ", container_id)));
    }
    RETURN_IF_ERROR(SyncFilesystem(staging));
  }
  record.created_ns = NowNs();

  const std::string final_dir = ContainerDir(container_id);
  std::vector<std::string> trash;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
    Status inserted = db_->InsertContainer(record);
    if (absl::IsFailedPrecondition(inserted)) {  // the image went away meanwhile (foreign key)
      return NotFound(absl::StrCat("image ", record.image_id, " was removed"));
    }
    RETURN_IF_ERROR(Annotate(inserted, absl::StrCat("record container ", container_id)));
    if (Exists(final_dir)) {
      std::string aside = absl::StrCat(container_staging_dir_, "/", RandomName(26));
      RETURN_IF_ERROR(RenamePath(final_dir, aside));
      trash.push_back(aside);
    }
    RETURN_IF_ERROR(RenamePath(staging, final_dir));
    Status st = FsyncPath(containers_dir_);
    if (st.ok()) {
      st = txn.Commit();
    }
    if (!st.ok()) {
      (void)RenamePath(final_dir, staging);
      return Annotate(st, absl::StrCat("commit container ", container_id));
    }
  }
  std::move(remove_staging).Cancel();
  DeleteTrash(trash);
  CRIO_LOG_DEBUG("created container layer {} on image {}", container_id, record.image_id);
  return ToContainerLayer(record);
}

StatusOr<ContainerLayer> Store::GetContainerLayer(const std::string& container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<ContainerRecord> record, db_->GetContainer(container_id));
  if (!record.has_value()) {
    return NotFound(absl::StrCat("container ", container_id, " not found"));
  }
  return ToContainerLayer(*record);
}

Status Store::SetContainerMetadata(const std::string& container_id, const std::string& metadata) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->SetContainerMetadata(container_id, metadata);
}

std::vector<ContainerLayer> Store::ListContainerLayers() {
  std::lock_guard<std::mutex> lock(mu_);
  StatusOr<std::vector<ContainerRecord>> records = db_->ListContainers();
  if (!records.ok()) {
    CRIO_LOG_ERROR("list container layers: {}", Message(records.status()));
    return {};
  }
  std::vector<ContainerLayer> out;
  for (const ContainerRecord& record : *records) {
    StatusOr<ContainerLayer> c = ToContainerLayer(record);
    if (c.ok()) {
      out.push_back(*std::move(c));
    }
  }
  return out;
}

StatusOr<std::string> Store::MountOverlayLocked(const ContainerRecord& record,
                                                const std::string& mount_label) {
  std::vector<std::string> links;  // top first
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<ImageRecord> image, db_->GetImage(record.image_id));
    if (!image.has_value()) {
      return NotFound(
          absl::StrCat("image ", record.image_id, " of container ", record.id, " not found"));
    }
    for (auto it = image->layers.rbegin(); it != image->layers.rend(); ++it) {
      ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, db_->GetLayer(*it));
      if (!layer.has_value() || layer->link_id.empty()) {
        return Internal(
            absl::StrCat("layer ", *it, " of container ", record.id, " has no overlay link"));
      }
      RETURN_IF_ERROR(EnsureSymlink(absl::StrCat(link_dir_, "/", layer->link_id),
                                    absl::StrCat("../", layer->id, "/diff")));
      links.push_back(layer->link_id);
    }
  }
  if (links.empty()) {
    links.push_back("../empty");
  }
  std::string dir = ContainerDir(record.id);
  OverlaySpec spec{link_dir_,
                   std::move(links),
                   absl::StrCat(dir, "/upper"),
                   absl::StrCat(dir, "/work"),
                   absl::StrCat(dir, "/merged"),
                   overlay_options_,
                   mount_label};
  RETURN_IF_ERROR(Annotate(MountOverlay(spec), absl::StrCat("container ", record.id)));
  return spec.target;
}

StatusOr<std::string> Store::Mount(const std::string& container_id,
                                   const std::string& mount_label) {
  std::lock_guard<std::mutex> mount_lock(mount_mu_);
  ASSIGN_OR_RETURN(ContainerLayer c, GetContainerLayer(container_id));
  std::optional<ScopedMount> guard;
  if (driver_ == "overlay" && !IsMountPoint(c.rootfs)) {
    // Also covers a count > 0 whose mount vanished (unmounted by someone else): mount again.
    ContainerRecord record{c.id, c.image_id, c.top_layer, c.metadata, c.created_ns};
    ASSIGN_OR_RETURN(std::string target, MountOverlayLocked(record, mount_label));
    guard.emplace(target);
  }
  RETURN_IF_ERROR(Annotate(WriteMountCount(container_id, c.mount_count + 1),
                           absl::StrCat("container ", container_id)));
  if (guard.has_value()) {
    guard->Release();
  }
  return c.rootfs;
}

Status Store::Unmount(const std::string& container_id, bool force) {
  std::lock_guard<std::mutex> mount_lock(mount_mu_);
  ASSIGN_OR_RETURN(ContainerLayer c, GetContainerLayer(container_id));
  int remaining = force ? 0 : std::max(0, c.mount_count - 1);
  if (remaining == 0 && driver_ == "overlay" && (c.mount_count > 0 || force)) {
    RETURN_IF_ERROR(Annotate(os::DetachMount(c.rootfs), absl::StrCat("container ", container_id)));
  }
  return WriteMountCount(container_id, remaining);
}

Status Store::RemoveContainerLayer(const std::string& container_id) {
  RETURN_IF_ERROR(CheckContainerId(container_id));
  std::lock_guard<std::mutex> mount_lock(mount_mu_);
  std::string trash;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::optional<ContainerRecord> record, db_->GetContainer(container_id));
    if (!record.has_value()) {
      return absl::OkStatus();  // idempotent: CRI retries removals
    }
    if (driver_ == "overlay") {
      RETURN_IF_ERROR(Annotate(os::DetachMount(absl::StrCat(ContainerDir(container_id), "/merged")),
                               absl::StrCat("remove container ", container_id)));
    }
    ASSIGN_OR_RETURN(MetadataDb::Transaction txn, db_->Begin());
    RETURN_IF_ERROR(db_->DeleteContainer(container_id));
    RETURN_IF_ERROR(Annotate(txn.Commit(), absl::StrCat("remove container ", container_id)));
    trash = TrashContainerDirLocked(container_id);
  }
  Status st = RemoveTree(absl::StrCat(run_containers_dir_, "/", container_id));
  if (!st.ok()) {
    CRIO_LOG_WARN("container {}: cannot remove run dir: {}", container_id, Message(st));
  }
  DeleteTrash({trash});
  CRIO_LOG_DEBUG("removed container layer {}", container_id);
  return absl::OkStatus();
}

// ---- Store: usage --------------------------------------------------------------------------

StatusOr<FsUsage> Store::Usage(const std::string& dir) {
  FsUsage usage;
  usage.path = dir;
  usage.timestamp_ns = NowNs();
  ASSIGN_OR_RETURN(TreeUsage tree, MeasureTree(dir));
  usage.used_bytes = tree.bytes;
  usage.inodes_used = tree.inodes;
  ASSIGN_OR_RETURN(usage.mountpoint, FindMountPoint(dir));
  return usage;
}

StatusOr<FsUsage> Store::ImageFsUsage() { return Usage(layers_dir_); }

StatusOr<FsUsage> Store::ContainerFsUsage() { return Usage(containers_dir_); }

}  // namespace crio::storage
