#pragma once
// The image store: filesystem layers, images and container writable layers, crash-safe.
// A simplified containers/storage. Users: the pull orchestrator (BeginLayer / PutImage) and the
// container lifecycle (CreateContainerLayer / Mount / Unmount / RemoveContainerLayer).
//
// ---- On-disk layout ------------------------------------------------------------------------
//   <root>/crio-cpp.db                    SQLite metadata (see metadata_db.h for the settings)
//   <root>/<driver>-layers/<layer-id>/diff  layer contents; layer-id = chain ID hex
//   <root>/<driver>-layers/staging/<rnd>/ layers being written, and dirs queued for deletion
//   <root>/<driver>-layers/l/<link-id>    overlay only: short symlink -> ../<layer-id>/diff
//   <root>/<driver>-layers/empty/         overlay only: lower dir of images without layers
//   <root>/<driver>-containers/<ctr-id>/{upper,work,merged}   (vfs: merged only, a full copy)
//   <root>/<driver>-containers/.staging/<rnd>/  containers being created or deleted
//   <runroot>/<driver>-containers/<ctr-id>/mountcount   mount reference count
// <driver> is "overlay" or "vfs". The driver a store was created with is recorded in the DB.
//
// Mount counts live in runroot, not in the DB: runroot is a tmpfs, so after a reboot (when
// every mount is gone) the counts are gone too and start at 0, with no recovery step that could
// get it wrong. A daemon restart without a reboot keeps both the mounts and the counts.
//
// ---- Crash safety (kill -9 or power loss at any instant) --------------------------------------
// Invariant: the DB is the truth, and a DB row is never committed before its directory is in
// place, while a directory may briefly exist without a row (garbage, collected on Open).
//  * Layer commit: write staging/<rnd>/diff -> syncfs (file data durable) -> BEGIN -> INSERT the
//    row as 'complete' -> rename staging/<rnd> to <layer-id> -> fsync the layers dir -> COMMIT.
//    A crash before COMMIT rolls the INSERT back (WAL) and leaves at most a final dir without a
//    row, which Open deletes; after COMMIT both exist, and the fsync before COMMIT means the
//    rename is durable whenever the row is (synchronous=FULL makes the COMMIT durable).
//  * Container create: same pattern with <containers>/.staging/<rnd> -> <ctr-id>.
//  * Removal (image, layer, container): one transaction deletes the rows, then the directories
//    are renamed into staging (under the store lock, so a new writer of the same id can never
//    meet the old dir) and deleted outside the lock. A crash after COMMIT leaves dirs without
//    rows, which Open deletes.
//  * Open recovery, in one transaction: delete rows marked 'incomplete' (this code never writes
//    them; a repair tool or a future in-place writer may), delete complete layer rows whose dir
//    is missing (with their descendant layers, the images using them and those images'
//    containers, each logged as a warning), prune layers no image or container references (only
//    interrupted pulls leave those, and no pull runs while the store opens). Then delete every
//    staging dir, every layer/container dir without a row and every stale "l/" link, and reset
//    mount counts of containers whose rootfs is no longer mounted.
//
// ---- Concurrency ---------------------------------------------------------------------------
// Every method is thread-safe. One SQLite connection behind a mutex; filesystem work (copies,
// deletes, syncs) happens outside it. BeginLayer reserves a chain ID in memory, so only one
// writer per layer exists at a time in this process. One Store per root: two processes must not
// open the same root (the DB would stay consistent, but the in-memory reservations and the
// mount counts would not).

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/metadata_db.h"
#include "util/status.h"

namespace crio::storage {

struct StoreOptions {
  std::string root = "/var/lib/containers/storage";
  std::string runroot = "/run/containers/storage";
  // "overlay" or "vfs". Overlay falls back to vfs (with a warning) when a probe mount fails and
  // the store has no overlay content yet.
  std::string driver = "overlay";
  // syncfs() before committing a layer or container, so that a power loss cannot leave a
  // committed layer with lost file contents. Costs one filesystem flush per layer. Tests that
  // only simulate process crashes may turn it off.
  bool sync_filesystem = true;
};

struct FsUsage {
  std::string path;        // directory that was measured
  std::string mountpoint;  // mount point of the filesystem holding `path`
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
  int64_t timestamp_ns = 0;  // unix time of the measurement
};

struct ContainerLayer {
  std::string id;
  std::string image_id;
  std::string top_layer;  // chain ID hex of the image's top layer; empty for an empty image
  std::string metadata;   // opaque, owned by the caller
  int64_t created_ns = 0;
  int mount_count = 0;
  std::string dir;     // <root>/<driver>-containers/<id>
  std::string rootfs;  // <dir>/merged: the overlay mount point, or (vfs) the copied rootfs
};

// Chain IDs of a layer stack (OCI image-spec config.md): ChainID(L0) = DiffID(L0),
// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Input and output are "sha256:<hex>",
// bottom first. InvalidArgument if a diff ID is not a lowercase sha256 digest.
StatusOr<std::vector<std::string>> ComputeChainIds(const std::vector<std::string>& diff_ids);

class Store;

// Exclusive writer of one new layer, from Store::BeginLayer. Not thread-safe itself; the Store
// must outlive it. Destroying it without a successful Commit removes everything it wrote and
// wakes other BeginLayer callers waiting for the same chain ID.
class LayerWriter {
 public:
  ~LayerWriter();
  LayerWriter(const LayerWriter&) = delete;
  LayerWriter& operator=(const LayerWriter&) = delete;

  // Chain ID hex of the layer being written.
  const std::string& id() const { return id_; }
  // Directory to extract into. Overlay: empty; extract with WhiteoutMode::kOverlay. vfs: a copy
  // of the parent layer's contents; extract with WhiteoutMode::kApply.
  const std::string& path() const { return diff_dir_; }

  // Makes the layer visible (crash-safe ordering in the file comment). `diff_id` and
  // `compressed_digest` are "sha256:<hex>" (`compressed_digest` may be empty); `size` is the
  // uncompressed size. Errors: InvalidArgument if sha256(parent chain ID + " " + diff_id) (or
  // diff_id for a base layer) is not this layer's chain ID; FailedPrecondition if already
  // committed or the parent layer vanished meanwhile; the failing syscall/SQLite error otherwise.
  // After an error the writer is still abandoned on destruction.
  Status Commit(const std::string& diff_id, const std::string& compressed_digest, int64_t size);

 private:
  friend class Store;
  LayerWriter(Store* store, std::string id, std::string parent, std::string staging_dir);

  Store* store_;
  std::string id_;
  std::string parent_;
  std::string staging_dir_;  // staging/<rnd>, renamed to the layer dir on commit
  std::string diff_dir_;     // staging/<rnd>/diff
  bool committed_ = false;
};

class Store {
 public:
  // Creates the directories, opens the DB, picks the driver (probing overlay) and runs the
  // recovery described above. Errors: InvalidArgument for a bad driver name or a root/runroot
  // containing ',', ':' or '\' (unusable in overlay mount data); FailedPrecondition if the store
  // was created with overlay and overlay no longer mounts, or the DB schema is newer; the failing
  // syscall or SQLite error otherwise.
  static StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // "overlay" or "vfs": the driver in use (may differ from the requested one, see Open).
  const std::string& driver() const { return driver_; }
  const std::string& layers_dir() const { return layers_dir_; }
  const std::string& containers_dir() const { return containers_dir_; }

  // ---- Layers. Chain IDs are accepted as "sha256:<hex>" or bare hex. ----

  // True if a complete layer with this chain ID exists.
  bool HasLayer(const std::string& chain_id);
  // NotFound if absent; InvalidArgument for a malformed ID.
  StatusOr<LayerRecord> GetLayer(const std::string& chain_id);
  // Every layer row (complete ones only, except between a crash and the next Open).
  std::vector<LayerRecord> ListLayers();
  // Directory holding the layer's contents (whether or not it exists).
  std::string LayerDiffPath(const std::string& chain_id) const;

  // Starts writing a new layer on top of `parent_chain_id` (empty for a base layer). If another
  // writer holds the same chain ID, blocks (without timeout) until that writer commits or is
  // abandoned. A pull racing with RemoveImage of an image sharing its layers may see
  // FailedPrecondition (parent gone) or PutImage may; retrying the pull resolves it.
  // Errors: AlreadyExists if the layer is (or became) complete -- treat as success;
  // FailedPrecondition if the parent is not a complete layer; InvalidArgument for a bad ID.
  StatusOr<std::unique_ptr<LayerWriter>> BeginLayer(const std::string& chain_id,
                                                    const std::string& parent_chain_id);

  // ---- Images ----

  // Inserts or updates an image. `id` is the config digest ("sha256:<hex>" or hex); `layers`
  // are chain IDs bottom->top and must all be complete (FailedPrecondition otherwise).
  // `size`, `top_layer` and `created_ns` are computed by the store. Names and digests are added
  // to the ones the image already has; one held by another image moves here (a retag).
  // InvalidArgument for a malformed id, an empty name/digest, or layers that do not form one
  // chain (each layer's parent must be the previous one).
  Status PutImage(const ImageRecord& image);

  // Resolves, in this order: full id (optionally "sha256:"-prefixed), name (exact repo:tag
  // string), repo digest (exact "repo@sha256:..."), unique id prefix of at least 3 hex chars.
  // Errors: NotFound; InvalidArgument if a prefix matches several images.
  StatusOr<ImageRecord> LookupImage(std::string_view ref);
  std::vector<ImageRecord> ListImages();

  // If `ref` is a name and the image has other names, removes only that name. Otherwise removes
  // the image and then every layer no other image or container uses. Errors: NotFound if `ref`
  // resolves to nothing; FailedPrecondition if a container uses the image (nothing changes);
  // InvalidArgument for an ambiguous prefix.
  Status RemoveImage(std::string_view ref);

  // ---- Container writable layers. Container IDs: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. ----

  // Creates the container's dirs (vfs: copies the image's top layer into merged) and records it.
  // `image_ref` is resolved like LookupImage. Errors: AlreadyExists; NotFound for the image;
  // InvalidArgument for a bad ID.
  StatusOr<ContainerLayer> CreateContainerLayer(const std::string& container_id,
                                                const std::string& image_ref,
                                                const std::string& metadata);
  // NotFound if unknown.
  StatusOr<ContainerLayer> GetContainerLayer(const std::string& container_id);
  Status SetContainerMetadata(const std::string& container_id, const std::string& metadata);
  std::vector<ContainerLayer> ListContainerLayers();

  // Mounts the container's rootfs (overlay: lowerdir = image layers top..bottom, upperdir,
  // workdir; `mount_label` becomes context="..." when not empty) and returns its path. Reference
  // counted: only the first call mounts. vfs: nothing to mount, the count is kept all the same.
  // Errors: NotFound; the mount error (PermissionDenied without CAP_SYS_ADMIN).
  StatusOr<std::string> Mount(const std::string& container_id, const std::string& mount_label);
  // Drops one reference (all of them if `force`) and detaches the mount when none is left.
  // OK if the container is not mounted. NotFound if unknown.
  Status Unmount(const std::string& container_id, bool force);
  // Unmounts (forced), deletes the record and the dirs. OK if the container does not exist.
  Status RemoveContainerLayer(const std::string& container_id);

  // ---- Usage (CRI ImageFsInfo) ----
  // Bytes and inodes used under the layers dir / the containers dir (lstat walk, each inode
  // once, mounts below skipped), with the mount point of the filesystem holding it.
  // The directory holding what container `id` wrote: the overlay upper dir, or (vfs) the copied
  // rootfs. Computed, not looked up: cheap enough for every stats request.
  std::string WritableLayerDir(const std::string& container_id) const;
  StatusOr<FsUsage> ImageFsUsage();
  StatusOr<FsUsage> ContainerFsUsage();

 private:
  friend class LayerWriter;

  Store(StoreOptions options, std::string driver, std::string overlay_options,
        std::unique_ptr<MetadataDb> db);

  std::string LayerDir(const std::string& id) const;
  std::string ContainerDir(const std::string& id) const;
  std::string MountCountPath(const std::string& id) const;

  Status Recover();
  Status RecoverDatabase();
  Status CollectGarbageDirs();
  Status RecoverMountCounts();

  // LayerWriter callbacks.
  Status CommitLayer(LayerWriter& writer, const std::string& diff_id,
                     const std::string& compressed_digest, int64_t size);
  void AbandonLayer(LayerWriter& writer);

  // Requires mu_. Resolves `ref` to an image id (see LookupImage).
  StatusOr<std::string> ResolveImageLocked(std::string_view ref);
  // Requires mu_ and an open transaction. Deletes the rows of layers that no image, container
  // or in-progress writer (as parent) uses, nor any layer that stays, children first; returns
  // them.
  StatusOr<std::vector<LayerRecord>> DeleteUnreferencedLayersLocked();
  // Requires mu_. Moves dirs (and short links) of deleted rows out of the way, into staging, and
  // returns the new paths, to be deleted outside the lock.
  std::vector<std::string> TrashLayerDirsLocked(const std::vector<LayerRecord>& layers);
  std::string TrashContainerDirLocked(const std::string& id);
  void DeleteTrash(const std::vector<std::string>& paths);

  StatusOr<ContainerLayer> ToContainerLayer(const ContainerRecord& record);
  int ReadMountCount(const std::string& id) const;
  Status WriteMountCount(const std::string& id, int count);
  StatusOr<std::string> MountOverlayLocked(const ContainerRecord& record,
                                           const std::string& mount_label);
  Status SyncFilesystem(const std::string& path);
  StatusOr<FsUsage> Usage(const std::string& dir);

  const StoreOptions options_;
  const std::string driver_;
  const std::string overlay_options_;
  const std::string layers_dir_;
  const std::string layer_staging_dir_;
  const std::string link_dir_;
  const std::string containers_dir_;
  const std::string container_staging_dir_;
  const std::string run_containers_dir_;

  std::mutex mu_;  // guards db_ and layers_in_progress_
  std::unique_ptr<MetadataDb> db_;
  std::map<std::string, std::string> layers_in_progress_;  // chain id -> parent chain id
  std::condition_variable layer_done_;

  // Serializes mount-count updates with the mounts they describe. Taken before mu_, never after.
  std::mutex mount_mu_;
};

}  // namespace crio::storage
