#pragma once
// SQLite metadata of the image store: layers, images (with names, repo digests and layer lists)
// and container writable layers. Only Store uses this class; it holds the policy (recovery,
// reference counting, locking) and this file holds the SQL.
//
// Database settings (applied by Open):
//  * journal_mode=WAL: readers never block the single writer and a commit is one append to the
//    WAL, which matters because every layer commit is its own transaction.
//  * synchronous=FULL: the WAL is fsynced at every commit, so a transaction that returned OK is
//    still there after a power loss. With NORMAL the last commits may roll back after a power
//    loss; recovery would still leave a consistent store (see store.h), but a pull that already
//    answered the kubelet could silently vanish. Our commit rate is low (per layer, image or
//    container, never per file), so the extra fsync is cheap.
//  * foreign_keys=ON: the database itself refuses dangling references (an image naming a missing
//    layer, a container whose image is gone). References to layers are DEFERRABLE so that a
//    transaction may delete a layer chain in any order.
//  * busy_timeout=5000 ms: only another process (a repair tool) can hold the write lock.
//  * Schema version in PRAGMA user_version; Open migrates older versions and refuses newer ones.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

struct sqlite3;

namespace crio::storage {

enum class LayerState { kIncomplete, kComplete };

// One filesystem layer. `id` is the layer's chain ID as bare lowercase hex.
struct LayerRecord {
  std::string id;
  std::string parent;             // chain ID hex of the layer below; empty for a base layer
  std::string diff_id;            // "sha256:<hex>" of the uncompressed tar
  std::string compressed_digest;  // "sha256:<hex>" of the blob it came from (may be empty)
  int64_t size = 0;               // uncompressed bytes
  LayerState state = LayerState::kComplete;
  std::string link_id;     // short name of the "l/" symlink (overlay driver)
  int64_t created_ns = 0;  // unix time the layer was committed
};

// One image. `id` is the config digest as bare lowercase hex.
struct ImageRecord {
  std::string id;
  std::vector<std::string> names;    // repo tags, e.g. "docker.io/library/nginx:1.25"
  std::vector<std::string> digests;  // repo digests, e.g. "docker.io/library/nginx@sha256:..."
  int64_t size = 0;                  // sum of the layers' uncompressed sizes (set by the store)
  std::string config_json;           // raw config blob bytes
  std::string manifest_json;         // raw manifest bytes
  std::string manifest_digest;       // "sha256:<hex>"
  std::vector<std::string> layers;   // chain IDs hex, bottom -> top
  std::string top_layer;             // last element of `layers`, empty for an image without layers
  int64_t created_ns = 0;            // unix time the image was first stored (set by the store)
};

// One container writable layer. `metadata` is opaque to the store.
struct ContainerRecord {
  std::string id;
  std::string image_id;
  std::string top_layer;
  std::string metadata;
  int64_t created_ns = 0;
};

// Not thread-safe: the owner serializes every call (Store holds its mutex around them).
// Every method returns Internal on an unexpected SQLite error, with the statement named.
class MetadataDb {
 public:
  // Schema version written by this code.
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if needed) the database file, applies the pragmas above and migrates the
  // schema. Errors: Internal if SQLite fails; FailedPrecondition if the file was written by a
  // newer schema version.
  static StatusOr<std::unique_ptr<MetadataDb>> Open(const std::string& path);
  ~MetadataDb();
  MetadataDb(const MetadataDb&) = delete;
  MetadataDb& operator=(const MetadataDb&) = delete;

  // A write transaction (BEGIN IMMEDIATE). Rolled back on destruction unless Commit() succeeded.
  class Transaction {
   public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    Status Commit();

   private:
    friend class MetadataDb;
    explicit Transaction(MetadataDb* db) : db_(db) {}
    MetadataDb* db_;
  };
  StatusOr<Transaction> Begin();

  // Runs SQL without results (several statements allowed). For tests and maintenance.
  Status Exec(const std::string& sql);

  // Key/value settings of the store (e.g. the driver it was created with). nullopt if unset.
  StatusOr<std::optional<std::string>> GetMeta(const std::string& key);
  Status SetMeta(const std::string& key, const std::string& value);

  // Layers. InsertLayer: AlreadyExists if the id is taken.
  Status InsertLayer(const LayerRecord& layer);
  StatusOr<std::optional<LayerRecord>> GetLayer(const std::string& id);
  StatusOr<std::vector<LayerRecord>> ListLayers();
  // Deleting a layer that is still referenced fails at the commit of the transaction.
  Status DeleteLayer(const std::string& id);
  // Layers an image lists or a container sits on (duplicates removed).
  StatusOr<std::vector<std::string>> ListReferencedLayers();
  StatusOr<std::vector<std::string>> ListImagesUsingLayer(const std::string& layer_id);
  StatusOr<int64_t> CountLayers();

  // Images. PutImage inserts or updates `image` (config, manifest, layers, size) and adds its
  // names and digests, taking them away from any other image that had them. `created_ns` of an
  // existing image is kept. NotFound-style FK failures surface as Internal; callers validate.
  Status PutImage(const ImageRecord& image);
  StatusOr<std::optional<ImageRecord>> GetImage(const std::string& id);
  StatusOr<std::vector<ImageRecord>> ListImages();
  // Ids starting with `hex_prefix`, at most `limit` of them.
  StatusOr<std::vector<std::string>> FindImageIdsByPrefix(const std::string& hex_prefix, int limit);
  StatusOr<std::optional<std::string>> FindImageIdByName(const std::string& name);
  StatusOr<std::optional<std::string>> FindImageIdByDigest(const std::string& digest);
  Status RemoveImageName(const std::string& name);
  // Deletes the image with its names, digests and layer list (not the layers themselves).
  Status DeleteImage(const std::string& id);

  // Containers. InsertContainer: AlreadyExists if the id is taken.
  Status InsertContainer(const ContainerRecord& container);
  StatusOr<std::optional<ContainerRecord>> GetContainer(const std::string& id);
  StatusOr<std::vector<ContainerRecord>> ListContainers();
  StatusOr<std::vector<std::string>> ListContainersUsingImage(const std::string& image_id);
  // NotFound if there is no such container.
  Status SetContainerMetadata(const std::string& id, const std::string& metadata);
  Status DeleteContainer(const std::string& id);

 private:
  explicit MetadataDb(sqlite3* db) : db_(db) {}
  Status Configure();
  Status Migrate();
  Status FillImageLists(ImageRecord& image);

  sqlite3* db_;
};

}  // namespace crio::storage
