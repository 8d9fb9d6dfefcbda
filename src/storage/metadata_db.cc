#include "storage/metadata_db.h"

#include <sqlite3.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace crio::storage {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Version 1. Every reference to a layer is DEFERRABLE INITIALLY DEFERRED: removing an image and
// its layer chain in one transaction may delete rows in any order, the check runs at COMMIT.
// References to images from containers are immediate (NO ACTION at statement end), so deleting
// an image a container still uses fails even without the store's own check.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE layers (
  id                TEXT PRIMARY KEY,
  parent            TEXT REFERENCES layers(id) DEFERRABLE INITIALLY DEFERRED,
  diff_id           TEXT NOT NULL,
  compressed_digest TEXT NOT NULL,
  size              INTEGER NOT NULL,
  state             TEXT NOT NULL CHECK (state IN ('incomplete', 'complete')),
  link_id           TEXT UNIQUE,
  created           INTEGER NOT NULL
);
CREATE INDEX layers_parent ON layers(parent);
CREATE TABLE images (
  id              TEXT PRIMARY KEY,
  config          BLOB NOT NULL,
  manifest        BLOB NOT NULL,
  manifest_digest TEXT NOT NULL,
  size            INTEGER NOT NULL,
  top_layer       TEXT REFERENCES layers(id) DEFERRABLE INITIALLY DEFERRED,
  created         INTEGER NOT NULL
);
CREATE TABLE image_layers (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  layer_id TEXT NOT NULL REFERENCES layers(id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (image_id, position)
);
CREATE INDEX image_layers_layer ON image_layers(layer_id);
CREATE TABLE image_names (
  name     TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX image_names_image ON image_names(image_id);
CREATE TABLE image_digests (
  digest   TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX image_digests_image ON image_digests(image_id);
CREATE TABLE containers (
  id        TEXT PRIMARY KEY,
  image_id  TEXT NOT NULL REFERENCES images(id),
  top_layer TEXT REFERENCES layers(id) DEFERRABLE INITIALLY DEFERRED,
  metadata  TEXT NOT NULL,
  created   INTEGER NOT NULL
);
CREATE INDEX containers_image ON containers(image_id);
)sql";

// Migrations indexed by the version they produce; entry i upgrades from version i to i + 1.
constexpr const char* kMigrations[] = {kSchemaV1};
static_assert(std::size(kMigrations) == MetadataDb::kSchemaVersion);

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
      return AlreadyExists(absl::StrCat(std::string(what), ": ", detail));
    }
    return FailedPrecondition(absl::StrCat(std::string(what), ": ", detail));
  }
  return Internal(absl::StrCat(std::string(what), ": ", detail));
}

const char* StateName(LayerState state) {
  return state == LayerState::kComplete ? "complete" : "incomplete";
}

// A prepared statement, finalized on destruction. Bind indexes start at 1 as in SQLite.
class Stmt {
 public:
  static StatusOr<Stmt> Prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteError(db, rc, absl::StrCat("prepare `", sql, "`"));
    }
    return Stmt(db, stmt, sql);
  }
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(other.sql_) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  Stmt& Bind(int i, const std::string& s) {
    Check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& s) {
    Check(sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
    return *this;
  }
  // Empty string binds NULL (optional references such as a base layer's parent).
  Stmt& BindOptional(int i, const std::string& s) {
    if (s.empty()) {
      Check(sqlite3_bind_null(stmt_, i));
      return *this;
    }
    return Bind(i, s);
  }
  Stmt& Bind(int i, int64_t v) {
    Check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }

  // True if a row is available, false when done.
  StatusOr<bool> Step() {
    if (!bind_status_.ok()) {
      return bind_status_;
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return SqliteError(db_, rc, absl::StrCat("run `", sql_, "`"));
  }
  // For statements that return no rows.
  Status Run() {
    ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return absl::OkStatus();
  }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  Stmt(sqlite3* db, sqlite3_stmt* stmt, const char* sql) : db_(db), stmt_(stmt), sql_(sql) {}
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_status_.ok()) {
      bind_status_ = SqliteError(db_, rc, absl::StrCat("bind `", sql_, "`"));
    }
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* sql_;
  Status bind_status_;
};

// Collects the first column of every row.
StatusOr<std::vector<std::string>> Strings(Stmt& stmt) {
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return out;
    }
    out.push_back(stmt.Text(0));
  }
}

StatusOr<std::optional<std::string>> OptionalString(Stmt& stmt) {
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(stmt.Text(0));
}

constexpr const char* kLayerColumns =
    "id, IFNULL(parent, ''), diff_id, compressed_digest, size, state, IFNULL(link_id, ''), "
    "created";

LayerRecord ReadLayer(const Stmt& stmt) {
  LayerRecord layer;
  layer.id = stmt.Text(0);
  layer.parent = stmt.Text(1);
  layer.diff_id = stmt.Text(2);
  layer.compressed_digest = stmt.Text(3);
  layer.size = stmt.Int(4);
  layer.state = stmt.Text(5) == "complete" ? LayerState::kComplete : LayerState::kIncomplete;
  layer.link_id = stmt.Text(6);
  layer.created_ns = stmt.Int(7);
  return layer;
}

constexpr const char* kImageColumns =
    "id, config, manifest, manifest_digest, size, IFNULL(top_layer, ''), created";

ImageRecord ReadImage(const Stmt& stmt) {
  ImageRecord image;
  image.id = stmt.Text(0);
  image.config_json = stmt.Blob(1);
  image.manifest_json = stmt.Blob(2);
  image.manifest_digest = stmt.Text(3);
  image.size = stmt.Int(4);
  image.top_layer = stmt.Text(5);
  image.created_ns = stmt.Int(6);
  return image;
}

constexpr const char* kContainerColumns = "id, image_id, IFNULL(top_layer, ''), metadata, created";

ContainerRecord ReadContainer(const Stmt& stmt) {
  ContainerRecord c;
  c.id = stmt.Text(0);
  c.image_id = stmt.Text(1);
  c.top_layer = stmt.Text(2);
  c.metadata = stmt.Text(3);
  c.created_ns = stmt.Int(4);
  return c;
}

}  // namespace

StatusOr<std::unique_ptr<MetadataDb>> MetadataDb::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(raw, rc, absl::StrCat("open database `", path, "`"));
    sqlite3_close(raw);
    return st;
  }
  std::unique_ptr<MetadataDb> db(new MetadataDb(raw));
  RETURN_IF_ERROR(Annotate(db->Configure(), path));
  RETURN_IF_ERROR(Annotate(db->Migrate(), path));
  return db;
}

MetadataDb::~MetadataDb() { sqlite3_close(db_); }

Status MetadataDb::Configure() {
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // journal_mode returns a row with the mode actually in effect; WAL can be refused (e.g. on a
  // filesystem without shared memory), in which case we would silently lose its guarantees.
  ASSIGN_OR_RETURN(Stmt wal, Stmt::Prepare(db_, "PRAGMA journal_mode=WAL"));
  ASSIGN_OR_RETURN(bool row, wal.Step());
  if (!row || wal.Text(0) != "wal") {
    return Internal(
        absl::StrCat("cannot enable WAL journal mode (got \"", row ? wal.Text(0) : "", "\")"));
  }
  return Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
}

Status MetadataDb::Migrate() {
  ASSIGN_OR_RETURN(Stmt get, Stmt::Prepare(db_, "PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, get.Step());
  int version = row ? static_cast<int>(get.Int(0)) : 0;
  if (version > kSchemaVersion) {
    return FailedPrecondition(absl::StrCat("database schema version ", version,
                                           " is newer than this crio-cpp supports (",
                                           kSchemaVersion, ")"));
  }
  for (; version < kSchemaVersion; ++version) {
    ASSIGN_OR_RETURN(Transaction txn, Begin());
    RETURN_IF_ERROR(Exec(kMigrations[version]));
    RETURN_IF_ERROR(Exec(absl::StrCat("PRAGMA user_version=", version + 1)));
    RETURN_IF_ERROR(txn.Commit());
  }
  return absl::OkStatus();
}

MetadataDb::Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

MetadataDb::Transaction::~Transaction() {
  if (db_ != nullptr) {
    // Nothing useful can be done if ROLLBACK fails: SQLite then rolls back on close.
    (void)db_->Exec("ROLLBACK");
  }
}

Status MetadataDb::Transaction::Commit() {
  if (db_ == nullptr) {
    return FailedPrecondition("transaction already finished");
  }
  Status st = db_->Exec("COMMIT");
  if (st.ok()) {
    db_ = nullptr;
  }
  return st;
}

StatusOr<MetadataDb::Transaction> MetadataDb::Begin() {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  return Transaction(this);
}

Status MetadataDb::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    // Keep the constraint classification of SqliteError for deferred FK failures at COMMIT.
    Status st = SqliteError(db_, rc, absl::StrCat("run `", sql.substr(0, 60), "`"));
    return Status(st.code(), absl::StrCat("run `", sql.substr(0, 60), "`: ", msg));
  }
  return absl::OkStatus();
}

StatusOr<std::optional<std::string>> MetadataDb::GetMeta(const std::string& key) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, "SELECT value FROM meta WHERE key = ?"));
  stmt.Bind(1, key);
  return OptionalString(stmt);
}

Status MetadataDb::SetMeta(const std::string& key, const std::string& value) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "INSERT INTO meta(key, value) VALUES (?, ?) "
                                            "ON CONFLICT(key) DO UPDATE SET value = ?2"));
  return stmt.Bind(1, key).Bind(2, value).Run();
}

Status MetadataDb::InsertLayer(const LayerRecord& layer) {
  ASSIGN_OR_RETURN(Stmt stmt,
                   Stmt::Prepare(db_,
                                 "INSERT INTO layers(id, parent, diff_id, compressed_digest, "
                                 "size, state, link_id, created) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  return stmt.Bind(1, layer.id)
      .BindOptional(2, layer.parent)
      .Bind(3, layer.diff_id)
      .Bind(4, layer.compressed_digest)
      .Bind(5, layer.size)
      .Bind(6, std::string(StateName(layer.state)))
      .BindOptional(7, layer.link_id)
      .Bind(8, layer.created_ns)
      .Run();
}

StatusOr<std::optional<LayerRecord>> MetadataDb::GetLayer(const std::string& id) {
  std::string sql = absl::StrCat("SELECT ", kLayerColumns, " FROM layers WHERE id = ?");
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, sql.c_str()));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return std::optional<LayerRecord>();
  }
  return std::optional<LayerRecord>(ReadLayer(stmt));
}

StatusOr<std::vector<LayerRecord>> MetadataDb::ListLayers() {
  std::string sql = absl::StrCat("SELECT ", kLayerColumns, " FROM layers ORDER BY id");
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, sql.c_str()));
  std::vector<LayerRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return out;
    }
    out.push_back(ReadLayer(stmt));
  }
}

Status MetadataDb::DeleteLayer(const std::string& id) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, "DELETE FROM layers WHERE id = ?"));
  return stmt.Bind(1, id).Run();
}

StatusOr<std::vector<std::string>> MetadataDb::ListReferencedLayers() {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "SELECT layer_id FROM image_layers UNION "
                                            "SELECT top_layer FROM containers "
                                            "WHERE top_layer IS NOT NULL"));
  return Strings(stmt);
}

StatusOr<std::vector<std::string>> MetadataDb::ListImagesUsingLayer(const std::string& layer_id) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "SELECT DISTINCT image_id FROM image_layers "
                                            "WHERE layer_id = ? ORDER BY image_id"));
  stmt.Bind(1, layer_id);
  return Strings(stmt);
}

StatusOr<int64_t> MetadataDb::CountLayers() {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, "SELECT COUNT(*) FROM layers"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

Status MetadataDb::PutImage(const ImageRecord& image) {
  {
    ASSIGN_OR_RETURN(
        Stmt stmt, Stmt::Prepare(db_,
                                 "INSERT INTO images(id, config, manifest, manifest_digest, size, "
                                 "top_layer, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                                 "ON CONFLICT(id) DO UPDATE SET config = ?2, manifest = ?3, "
                                 "manifest_digest = ?4, size = ?5, top_layer = ?6"));
    RETURN_IF_ERROR(stmt.Bind(1, image.id)
                        .BindBlob(2, image.config_json)
                        .BindBlob(3, image.manifest_json)
                        .Bind(4, image.manifest_digest)
                        .Bind(5, image.size)
                        .BindOptional(6, image.top_layer)
                        .Bind(7, image.created_ns)
                        .Run());
  }
  {
    ASSIGN_OR_RETURN(Stmt del, Stmt::Prepare(db_, "DELETE FROM image_layers WHERE image_id = ?"));
    RETURN_IF_ERROR(del.Bind(1, image.id).Run());
  }
  for (size_t i = 0; i < image.layers.size(); ++i) {
    ASSIGN_OR_RETURN(Stmt ins, Stmt::Prepare(db_,
                                             "INSERT INTO image_layers(image_id, position, "
                                             "layer_id) VALUES (?, ?, ?)"));
    RETURN_IF_ERROR(
        ins.Bind(1, image.id).Bind(2, static_cast<int64_t>(i)).Bind(3, image.layers[i]).Run());
  }
  // A name or digest belongs to one image: taking it moves it here (a retag).
  for (const std::string& name : image.names) {
    ASSIGN_OR_RETURN(Stmt ins, Stmt::Prepare(db_,
                                             "INSERT INTO image_names(name, image_id) "
                                             "VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE "
                                             "SET image_id = ?2"));
    RETURN_IF_ERROR(ins.Bind(1, name).Bind(2, image.id).Run());
  }
  for (const std::string& digest : image.digests) {
    ASSIGN_OR_RETURN(Stmt ins, Stmt::Prepare(db_,
                                             "INSERT INTO image_digests(digest, image_id) "
                                             "VALUES (?1, ?2) ON CONFLICT(digest) DO UPDATE "
                                             "SET image_id = ?2"));
    RETURN_IF_ERROR(ins.Bind(1, digest).Bind(2, image.id).Run());
  }
  return absl::OkStatus();
}

Status MetadataDb::FillImageLists(ImageRecord& image) {
  {
    ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                              "SELECT name FROM image_names "
                                              "WHERE image_id = ? ORDER BY name"));
    stmt.Bind(1, image.id);
    ASSIGN_OR_RETURN(image.names, Strings(stmt));
  }
  {
    ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                              "SELECT digest FROM image_digests "
                                              "WHERE image_id = ? ORDER BY digest"));
    stmt.Bind(1, image.id);
    ASSIGN_OR_RETURN(image.digests, Strings(stmt));
  }
  {
    ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                              "SELECT layer_id FROM image_layers "
                                              "WHERE image_id = ? ORDER BY position"));
    stmt.Bind(1, image.id);
    ASSIGN_OR_RETURN(image.layers, Strings(stmt));
  }
  return absl::OkStatus();
}

StatusOr<std::optional<ImageRecord>> MetadataDb::GetImage(const std::string& id) {
  std::string sql = absl::StrCat("SELECT ", kImageColumns, " FROM images WHERE id = ?");
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, sql.c_str()));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return std::optional<ImageRecord>();
  }
  ImageRecord image = ReadImage(stmt);
  RETURN_IF_ERROR(FillImageLists(image));
  return std::optional<ImageRecord>(std::move(image));
}

StatusOr<std::vector<ImageRecord>> MetadataDb::ListImages() {
  std::string sql = absl::StrCat("SELECT ", kImageColumns, " FROM images ORDER BY id");
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, sql.c_str()));
  std::vector<ImageRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      break;
    }
    out.push_back(ReadImage(stmt));
  }
  for (ImageRecord& image : out) {
    RETURN_IF_ERROR(FillImageLists(image));
  }
  return out;
}

StatusOr<std::vector<std::string>> MetadataDb::FindImageIdsByPrefix(const std::string& hex_prefix,
                                                                    int limit) {
  // substr() rather than LIKE: LIKE is case-insensitive and treats '_' as a wildcard.
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "SELECT id FROM images WHERE "
                                            "substr(id, 1, length(?1)) = ?1 "
                                            "ORDER BY id LIMIT ?2"));
  stmt.Bind(1, hex_prefix).Bind(2, static_cast<int64_t>(limit));
  return Strings(stmt);
}

StatusOr<std::optional<std::string>> MetadataDb::FindImageIdByName(const std::string& name) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "SELECT image_id FROM image_names "
                                            "WHERE name = ?"));
  stmt.Bind(1, name);
  return OptionalString(stmt);
}

StatusOr<std::optional<std::string>> MetadataDb::FindImageIdByDigest(const std::string& digest) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "SELECT image_id FROM image_digests "
                                            "WHERE digest = ?"));
  stmt.Bind(1, digest);
  return OptionalString(stmt);
}

Status MetadataDb::RemoveImageName(const std::string& name) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, "DELETE FROM image_names WHERE name = ?"));
  return stmt.Bind(1, name).Run();
}

Status MetadataDb::DeleteImage(const std::string& id) {
  // Names, digests and layer lists go by ON DELETE CASCADE.
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, "DELETE FROM images WHERE id = ?"));
  return stmt.Bind(1, id).Run();
}

Status MetadataDb::InsertContainer(const ContainerRecord& c) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "INSERT INTO containers(id, image_id, "
                                            "top_layer, metadata, created) "
                                            "VALUES (?, ?, ?, ?, ?)"));
  return stmt.Bind(1, c.id)
      .Bind(2, c.image_id)
      .BindOptional(3, c.top_layer)
      .Bind(4, c.metadata)
      .Bind(5, c.created_ns)
      .Run();
}

StatusOr<std::optional<ContainerRecord>> MetadataDb::GetContainer(const std::string& id) {
  std::string sql = absl::StrCat("SELECT ", kContainerColumns, " FROM containers WHERE id = ?");
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, sql.c_str()));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return std::optional<ContainerRecord>();
  }
  return std::optional<ContainerRecord>(ReadContainer(stmt));
}

StatusOr<std::vector<ContainerRecord>> MetadataDb::ListContainers() {
  std::string sql = absl::StrCat("SELECT ", kContainerColumns, " FROM containers ORDER BY id");
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, sql.c_str()));
  std::vector<ContainerRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return out;
    }
    out.push_back(ReadContainer(stmt));
  }
}

StatusOr<std::vector<std::string>> MetadataDb::ListContainersUsingImage(
    const std::string& image_id) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_,
                                            "SELECT id FROM containers WHERE image_id = ? "
                                            "ORDER BY id"));
  stmt.Bind(1, image_id);
  return Strings(stmt);
}

Status MetadataDb::SetContainerMetadata(const std::string& id, const std::string& metadata) {
  ASSIGN_OR_RETURN(Stmt stmt,
                   Stmt::Prepare(db_, "UPDATE containers SET metadata = ? WHERE id = ?"));
  RETURN_IF_ERROR(stmt.Bind(1, metadata).Bind(2, id).Run());
  if (sqlite3_changes(db_) == 0) {
    return NotFound(absl::StrCat("container ", id, " not found"));
  }
  return absl::OkStatus();
}

Status MetadataDb::DeleteContainer(const std::string& id) {
  ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db_, "DELETE FROM containers WHERE id = ?"));
  return stmt.Bind(1, id).Run();
}

}  // namespace crio::storage
