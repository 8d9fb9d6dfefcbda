#include "storage/layer_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::storage {
namespace {

using os::UniqueFd;

// Large blocks keep syscall and callback overhead low on multi-GB layers.
constexpr size_t kReadBlockSize = 1 << 20;

// OCI image-spec layer.md whiteout names.
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr char kOverlayOpaqueXattr[] = "trusted.overlay.opaque";

// Xattrs that overlayfs interprets (kernel and userxattr mounts). Taken from the layer they would
// let it forge whiteouts, opaque dirs or redirects.
bool IsOverlayXattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// libarchive reports format problems with EILSEQ (ARCHIVE_ERRNO_FILE_FORMAT), EINVAL or -1
// (ARCHIVE_ERRNO_MISC); anything else is a real errno, e.g. from read(2) on the input fd.
Status ArchiveError(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  std::string text = absl::StrCat(std::string(what), ": ", msg != nullptr ? msg : "unknown error");
  int err = archive_errno(a);
  if (err <= 0 || err == EILSEQ || err == EINVAL) {
    return InvalidArgument(text);
  }
  return Status(absl::ErrnoToStatusCode(err), text);
}

std::string Quoted(std::string_view path) {
  return absl::StrCat("`", std::string(path.empty() ? std::string_view(".") : path), "`");
}

std::string What(std::string_view op, std::string_view path) {
  return absl::StrCat(std::string(op), " ", Quoted(path));
}

// Lexically cleans a layer path into `out` ("a/b", "" for the root). A leading '/' means the layer
// root, as it would inside the container. Returns false if a `..` climbs above the root.
bool CleanLayerPath(std::string_view raw, std::string& out) {
  out.clear();
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t slash = raw.find('/', pos);
    if (slash == std::string_view::npos) {
      slash = raw.size();
    }
    std::string_view part = raw.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (out.empty()) {
        return false;
      }
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
      continue;
    }
    if (!out.empty()) {
      out.push_back('/');
    }
    out.append(part);
  }
  return true;
}

// Splits a cleaned non-empty path into its parent ("" = root) and last component.
void SplitLast(const std::string& path, std::string& parent, std::string& leaf) {
  size_t cut = path.rfind('/');
  if (cut == std::string::npos) {
    parent.clear();
    leaf = path;
  } else {
    parent.assign(path, 0, cut);
    leaf.assign(path, cut + 1, std::string::npos);
  }
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) {
    return std::string(name);
  }
  return absl::StrCat(std::string(dir), "/", std::string(name));
}

const char* EntryPath(archive_entry* e) {
  const char* p = archive_entry_pathname(e);
  return p != nullptr ? p : archive_entry_pathname_utf8(e);
}

const char* EntryHardlink(archive_entry* e) {
  const char* p = archive_entry_hardlink(e);
  return p != nullptr ? p : archive_entry_hardlink_utf8(e);
}

const char* EntrySymlink(archive_entry* e) {
  const char* p = archive_entry_symlink(e);
  return p != nullptr ? p : archive_entry_symlink_utf8(e);
}

// {atime, mtime} for utimensat; an unset time is left alone.
void EntryTimes(archive_entry* e, timespec ts[2]) {
  if (archive_entry_mtime_is_set(e)) {
    ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  } else {
    ts[1] = {0, UTIME_OMIT};
  }
  if (archive_entry_atime_is_set(e)) {
    ts[0] = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
  } else {
    ts[0] = ts[1];
  }
}

int OpenAt2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
}

// Feeds the decompressed bytes of the outer (filter + raw format) reader to the inner tar reader,
// hashing every byte handed over so the DiffID covers exactly the uncompressed stream.
struct DecompressedSource {
  archive* outer = nullptr;
  EVP_MD_CTX* sha = nullptr;
  uint64_t bytes = 0;
  Status error;

  // Next block of decompressed bytes; size 0 at EOF. The buffer lives until the next call.
  StatusOr<size_t> Next(const void** buf) {
    for (;;) {
      size_t size = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(outer, buf, &size, &offset);
      if (r == ARCHIVE_EOF) {
        return 0;
      }
      if (r < ARCHIVE_WARN) {
        return ArchiveError(outer, "decompress layer stream");
      }
      if (size == 0) {
        continue;
      }
      if (EVP_DigestUpdate(sha, *buf, size) != 1) {
        return Internal("sha256 update failed");
      }
      bytes += size;
      return size;
    }
  }

  static la_ssize_t ReadCallback(archive* inner, void* client, const void** buf) {
    auto* self = static_cast<DecompressedSource*>(client);
    StatusOr<size_t> n = self->Next(buf);
    if (!n.ok()) {
      self->error = n.status();
      archive_set_error(inner, EIO, "%s", std::string(n.status().message()).c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(*n);
  }
};

// Mode and times of a directory entry, applied once everything below it has been written: adding
// children would bump the mtime, and a read-only mode would block them when not root.
struct DirFixup {
  std::string path;
  mode_t mode;
  timespec times[2];
};

class Extractor {
 public:
  Extractor(int root_fd, const ExtractOptions& opts, std::string_view layer)
      : root_fd_(root_fd), opts_(opts), layer_(layer), use_openat2_(opts.use_openat2) {}

  Status ExtractAll(archive* tar, DecompressedSource& source, uint64_t& entries);
  Status FinishDirectories();
  uint64_t skipped() const { return skipped_; }

 private:
  Status ExtractEntry(archive* tar, archive_entry* e);
  Status ExtractRoot(archive_entry* e);
  Status ExtractWhiteout(archive_entry* e);
  Status ExtractFile(archive* tar, archive_entry* e, int pfd);
  Status ExtractDir(archive_entry* e, int pfd);
  Status ExtractSymlink(archive_entry* e, int pfd);
  Status ExtractHardlink(int pfd, const char* target);
  Status ExtractNode(archive_entry* e, int pfd, mode_t type);

  // Borrowed fd of the cleaned directory path `dir` ("" = root), valid until the next call.
  // With create, missing components are made (mode 0755); without, -1 means "does not exist".
  StatusOr<int> OpenParent(const std::string& dir, bool create);
  // Owned fd of `dir`, symlinks resolved inside the root (openat2) or refused (fallback walk).
  StatusOr<UniqueFd> ResolveDir(const std::string& dir, bool create);
  StatusOr<UniqueFd> CreateDirsInRoot(const std::string& dir);
  // Component walk with O_NOFOLLOW: a symlink anywhere in `dir` is refused.
  StatusOr<UniqueFd> WalkDir(const std::string& dir, bool create);
  void NoteCreated(const std::string& path);

  // Removes `name` in `at_fd`, recursively, never following symlinks. ENOENT is fine.
  Status RemoveAll(int at_fd, const std::string& name, const std::string& path);
  // kApply opaque directory: removes the children this layer did not create.
  Status Prune(int dir_fd, const std::string& path);

  Status CopyData(archive* tar, archive_entry* e, int fd);
  Status Chown(archive_entry* e, int fd);
  Status ChownAt(archive_entry* e, int pfd, const std::string& leaf);
  Status SetXattrs(archive_entry* e, int fd, int pfd, const std::string& leaf);
  Status XattrFailed(int err, const char* name);

  const int root_fd_;
  const ExtractOptions& opts_;
  const std::string_view layer_;
  bool use_openat2_;

  // The last parent directory opened; entries of a tar come grouped by directory.
  std::string cached_dir_;
  bool cache_valid_ = false;
  UniqueFd cached_fd_;

  std::vector<DirFixup> dir_fixups_;
  // kApply only: paths this layer wrote, which its own opaque markers must not remove.
  std::unordered_set<std::string> created_;
  uint64_t skipped_ = 0;
  bool warned_xattr_ = false;

  // Per-entry scratch, reused to avoid allocations.
  std::string path_;
  std::string parent_;
  std::string leaf_;
  std::string target_;
};

Status Extractor::ExtractAll(archive* tar, DecompressedSource& source, uint64_t& entries) {
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(tar, &e);
    if (r == ARCHIVE_EOF) {
      return absl::OkStatus();
    }
    if (r < ARCHIVE_WARN) {
      if (!source.error.ok()) {
        return source.error;
      }
      return ArchiveError(tar, "read tar header");
    }
    if (r == ARCHIVE_WARN) {
      // E.g. a UTF-8 PAX name in a non-UTF-8 locale: the raw bytes are still returned.
      const char* warning = archive_error_string(tar);
      CRIO_LOG_DEBUG("layer {}: tar header warning: {}", layer_, warning ? warning : "");
    }
    ++entries;
    Status s = ExtractEntry(tar, e);
    if (!s.ok()) {
      // A data-read failure inside an entry may come from the decompressor.
      return source.error.ok() ? s : source.error;
    }
  }
}

Status Extractor::ExtractEntry(archive* tar, archive_entry* e) {
  const char* raw = EntryPath(e);
  if (raw == nullptr) {
    return InvalidArgument("layer entry without a name");
  }
  if (!CleanLayerPath(raw, path_)) {
    return InvalidArgument(absl::StrCat("layer entry ", Quoted(raw), " escapes the layer root"));
  }
  if (path_.empty()) {
    return ExtractRoot(e);
  }
  SplitLast(path_, parent_, leaf_);
  if (leaf_.starts_with(kWhiteoutPrefix)) {
    return ExtractWhiteout(e);
  }
  const char* hardlink = EntryHardlink(e);
  ASSIGN_OR_RETURN(int pfd, OpenParent(parent_, /*create=*/true));
  Status s;
  if (hardlink != nullptr) {
    s = ExtractHardlink(pfd, hardlink);
  } else {
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        s = ExtractFile(tar, e, pfd);
        break;
      case AE_IFDIR:
        s = ExtractDir(e, pfd);
        break;
      case AE_IFLNK:
        s = ExtractSymlink(e, pfd);
        break;
      case AE_IFIFO:
        s = ExtractNode(e, pfd, S_IFIFO);
        break;
      case AE_IFCHR:
        s = ExtractNode(e, pfd, S_IFCHR);
        break;
      case AE_IFBLK:
        s = ExtractNode(e, pfd, S_IFBLK);
        break;
      default:
        // Sockets (and unknown types) cannot be restored from a tar; their creator recreates them.
        CRIO_LOG_WARN("layer {}: skipping {} of unsupported type {:o}", layer_, Quoted(path_),
                      archive_entry_filetype(e));
        ++skipped_;
        return absl::OkStatus();
    }
  }
  if (s.ok()) {
    NoteCreated(path_);
  }
  return s;
}

Status Extractor::ExtractRoot(archive_entry* e) {
  if (archive_entry_filetype(e) != AE_IFDIR || EntryHardlink(e) != nullptr) {
    return InvalidArgument(
        absl::StrCat("layer entry ", Quoted(EntryPath(e)), " would replace the layer root"));
  }
  RETURN_IF_ERROR(Chown(e, root_fd_));
  RETURN_IF_ERROR(SetXattrs(e, root_fd_, -1, ""));
  DirFixup fix{std::string(), static_cast<mode_t>(archive_entry_perm(e)), {}};
  EntryTimes(e, fix.times);
  dir_fixups_.push_back(std::move(fix));
  return absl::OkStatus();
}

Status Extractor::ExtractWhiteout(archive_entry* e) {
  const bool apply = opts_.whiteouts == WhiteoutMode::kApply;
  if (leaf_ == kOpaqueMarker) {
    ASSIGN_OR_RETURN(int pfd, OpenParent(parent_, /*create=*/!apply));
    if (apply) {
      return pfd < 0 ? absl::OkStatus() : Prune(pfd, parent_);
    }
    if (fsetxattr(pfd, kOverlayOpaqueXattr, "y", 1, 0) != 0) {
      return ErrnoError(errno, What("set opaque xattr on", parent_));
    }
    return absl::OkStatus();
  }
  if (leaf_.starts_with(kWhiteoutMetaPrefix)) {
    // Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless here.
    CRIO_LOG_DEBUG("layer {}: ignoring whiteout metadata {}", layer_, Quoted(path_));
    return absl::OkStatus();
  }
  std::string name = leaf_.substr(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgument(
        absl::StrCat("layer entry ", Quoted(EntryPath(e)),
                     " is a whiteout of an invalid name or escapes the layer root"));
  }
  std::string target = JoinPath(parent_, name);
  if (apply) {
    if (created_.contains(target)) {
      // Whiteouts hide lower layers only (layer.md), not the layer's own files.
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(int pfd, OpenParent(parent_, /*create=*/false));
    return pfd < 0 ? absl::OkStatus() : RemoveAll(pfd, name, target);
  }
  ASSIGN_OR_RETURN(int pfd, OpenParent(parent_, /*create=*/true));
  int r = mknodat(pfd, name.c_str(), S_IFCHR, makedev(0, 0));
  if (r != 0 && errno == EEXIST) {
    RETURN_IF_ERROR(RemoveAll(pfd, name, target));
    r = mknodat(pfd, name.c_str(), S_IFCHR, makedev(0, 0));
  }
  if (r != 0) {
    return ErrnoError(errno, What("mknod whiteout", target));
  }
  return ChownAt(e, pfd, name);
}

Status Extractor::ExtractFile(archive* tar, archive_entry* e, int pfd) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  // O_EXCL: never write through whatever (e.g. a symlink) is already there.
  int fd = openat(pfd, leaf_.c_str(), kFlags, 0600);
  if (fd < 0 && errno == EEXIST) {
    RETURN_IF_ERROR(RemoveAll(pfd, leaf_, path_));
    fd = openat(pfd, leaf_.c_str(), kFlags, 0600);
  }
  if (fd < 0) {
    return ErrnoError(errno, What("create", path_));
  }
  UniqueFd file(fd);
  RETURN_IF_ERROR(CopyData(tar, e, fd));
  // Order matters: chown clears setuid/setgid and security.capability.
  RETURN_IF_ERROR(Chown(e, fd));
  if (fchmod(fd, archive_entry_perm(e)) != 0) {
    return ErrnoError(errno, What("chmod", path_));
  }
  RETURN_IF_ERROR(SetXattrs(e, fd, -1, ""));
  timespec ts[2];
  EntryTimes(e, ts);
  if (futimens(fd, ts) != 0) {
    return ErrnoError(errno, What("set times of", path_));
  }
  return absl::OkStatus();
}

Status Extractor::CopyData(archive* tar, archive_entry* e, int fd) {
  int64_t end = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(tar, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r < ARCHIVE_WARN) {
      return ArchiveError(tar, absl::StrCat("read data of ", Quoted(path_)));
    }
    // pwrite: sparse entries come as blocks at increasing offsets with holes between them.
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = pwrite(fd, p, size, offset);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return ErrnoError(errno, What("write", path_));
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
    end = std::max<int64_t>(end, offset);
  }
  int64_t want = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  if (want > end && ftruncate(fd, want) != 0) {
    return ErrnoError(errno, What("truncate", path_));
  }
  return absl::OkStatus();
}

Status Extractor::ExtractDir(archive_entry* e, int pfd) {
  // Created private; the real mode is applied in FinishDirectories.
  if (mkdirat(pfd, leaf_.c_str(), 0700) != 0) {
    if (errno != EEXIST) {
      return ErrnoError(errno, What("mkdir", path_));
    }
    struct stat st;
    if (fstatat(pfd, leaf_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(errno, What("stat", path_));
    }
    // An existing directory is merged with; anything else (a symlink too) is replaced.
    if (!S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(RemoveAll(pfd, leaf_, path_));
      if (mkdirat(pfd, leaf_.c_str(), 0700) != 0) {
        return ErrnoError(errno, What("mkdir", path_));
      }
    }
  }
  UniqueFd dir(openat(pfd, leaf_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    return ErrnoError(errno, What("open", path_));
  }
  RETURN_IF_ERROR(Chown(e, dir.get()));
  RETURN_IF_ERROR(SetXattrs(e, dir.get(), -1, ""));
  DirFixup fix{path_, static_cast<mode_t>(archive_entry_perm(e)), {}};
  EntryTimes(e, fix.times);
  dir_fixups_.push_back(std::move(fix));
  return absl::OkStatus();
}

Status Extractor::ExtractSymlink(archive_entry* e, int pfd) {
  // The target is stored verbatim: it is resolved inside the container, or inside the layer root.
  const char* target = EntrySymlink(e);
  if (target == nullptr) {
    return InvalidArgument(absl::StrCat("layer symlink ", Quoted(path_), " has no target"));
  }
  int r = symlinkat(target, pfd, leaf_.c_str());
  if (r != 0 && errno == EEXIST) {
    RETURN_IF_ERROR(RemoveAll(pfd, leaf_, path_));
    r = symlinkat(target, pfd, leaf_.c_str());
  }
  if (r != 0) {
    return ErrnoError(errno, What("symlink", path_));
  }
  RETURN_IF_ERROR(ChownAt(e, pfd, leaf_));
  RETURN_IF_ERROR(SetXattrs(e, -1, pfd, leaf_));
  timespec ts[2];
  EntryTimes(e, ts);
  if (utimensat(pfd, leaf_.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, What("set times of", path_));
  }
  return absl::OkStatus();
}

Status Extractor::ExtractHardlink(int pfd, const char* target) {
  if (!CleanLayerPath(target, target_) || target_.empty()) {
    return InvalidArgument(absl::StrCat("layer entry ", Quoted(path_), " links to ", Quoted(target),
                                        " outside the layer root"));
  }
  if (target_ == path_) {
    return absl::OkStatus();
  }
  std::string tparent;
  std::string tleaf;
  SplitLast(target_, tparent, tleaf);
  // Unlike entry names, a link target names an earlier entry of this layer: it never has a
  // reason to go through a symlink, so no symlink is followed at all.
  UniqueFd tdir;
  int tfd = root_fd_;
  if (!tparent.empty()) {
    StatusOr<UniqueFd> dir = WalkDir(tparent, /*create=*/false);
    if (!dir.ok()) {
      return Annotate(dir.status(),
                      absl::StrCat("hard link ", Quoted(path_), " to ", Quoted(target_)));
    }
    tdir = *std::move(dir);
    if (!tdir) {
      return InvalidArgument(absl::StrCat("hard link ", Quoted(path_), ": target ", Quoted(target_),
                                          " does not exist"));
    }
    tfd = tdir.get();
  }
  // Flags 0: if the target is a symlink, the link is to the symlink itself, not followed.
  int r = linkat(tfd, tleaf.c_str(), pfd, leaf_.c_str(), 0);
  if (r != 0 && errno == EEXIST) {
    RETURN_IF_ERROR(RemoveAll(pfd, leaf_, path_));
    r = linkat(tfd, tleaf.c_str(), pfd, leaf_.c_str(), 0);
  }
  if (r != 0) {
    if (errno == ENOENT) {
      return InvalidArgument(absl::StrCat("hard link ", Quoted(path_), ": target ", Quoted(target_),
                                          " does not exist"));
    }
    return ErrnoError(errno, absl::StrCat("link ", Quoted(path_), " to ", Quoted(target_)));
  }
  return absl::OkStatus();
}

Status Extractor::ExtractNode(archive_entry* e, int pfd, mode_t type) {
  mode_t perm = archive_entry_perm(e);
  dev_t dev = type == S_IFIFO ? 0 : archive_entry_rdev(e);
  int r = mknodat(pfd, leaf_.c_str(), type | perm, dev);
  if (r != 0 && errno == EEXIST) {
    RETURN_IF_ERROR(RemoveAll(pfd, leaf_, path_));
    r = mknodat(pfd, leaf_.c_str(), type | perm, dev);
  }
  if (r != 0) {
    if (errno == EPERM && type != S_IFIFO) {
      // layer.md lets implementations skip device nodes they cannot create.
      CRIO_LOG_WARN("layer {}: skipping device node {}: not permitted", layer_, Quoted(path_));
      ++skipped_;
      return absl::OkStatus();
    }
    return ErrnoError(errno, What("mknod", path_));
  }
  RETURN_IF_ERROR(ChownAt(e, pfd, leaf_));
  // mknod applies the umask; restore the recorded mode (no-follow: glibc checks via O_PATH).
  if (fchmodat(pfd, leaf_.c_str(), perm, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, What("chmod", path_));
  }
  RETURN_IF_ERROR(SetXattrs(e, -1, pfd, leaf_));
  timespec ts[2];
  EntryTimes(e, ts);
  if (utimensat(pfd, leaf_.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, What("set times of", path_));
  }
  return absl::OkStatus();
}

Status Extractor::Chown(archive_entry* e, int fd) {
  if (!opts_.keep_ownership) {
    return absl::OkStatus();
  }
  if (fchown(fd, static_cast<uid_t>(archive_entry_uid(e)),
             static_cast<gid_t>(archive_entry_gid(e))) != 0) {
    return ErrnoError(errno, What("chown", path_));
  }
  return absl::OkStatus();
}

Status Extractor::ChownAt(archive_entry* e, int pfd, const std::string& leaf) {
  if (!opts_.keep_ownership) {
    return absl::OkStatus();
  }
  if (fchownat(pfd, leaf.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
               static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, What("chown", JoinPath(parent_, leaf)));
  }
  return absl::OkStatus();
}

// Sets the entry's PAX xattrs on `fd`, or, for nodes that cannot be opened safely (symlinks,
// devices, FIFOs), on `leaf` in `pfd` through /proc/self/fd without following it.
Status Extractor::SetXattrs(archive_entry* e, int fd, int pfd, const std::string& leaf) {
  if (archive_entry_xattr_count(e) == 0) {
    return absl::OkStatus();
  }
  std::string proc_path;
  if (fd < 0) {
    proc_path = absl::StrCat("/proc/self/fd/", pfd, "/", leaf);
  }
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (IsOverlayXattr(name)) {
      CRIO_LOG_DEBUG(
          "layer {}: dropping xattr {} of {}: overlay metadata may not come from a layer", layer_,
          name, Quoted(path_));
      continue;
    }
    int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                    : lsetxattr(proc_path.c_str(), name, value, size, 0);
    if (r != 0) {
      RETURN_IF_ERROR(XattrFailed(errno, name));
    }
  }
  return absl::OkStatus();
}

// Like Docker and containers/storage: a filesystem (or user) that cannot store an xattr loses it
// with a warning; any other failure is an error.
Status Extractor::XattrFailed(int err, const char* name) {
  if (err == ENOTSUP || err == EPERM) {
    if (!warned_xattr_) {
      CRIO_LOG_WARN("layer {}: cannot set xattr {} on {}: {} (further failures logged at debug)",
                    layer_, name, Quoted(path_), std::strerror(err));
      warned_xattr_ = true;
    } else {
      CRIO_LOG_DEBUG("layer {}: cannot set xattr {} on {}: {}", layer_, name, Quoted(path_),
                     std::strerror(err));
    }
    return absl::OkStatus();
  }
  return ErrnoError(err, absl::StrCat("set xattr ", name, " on ", Quoted(path_)));
}

void Extractor::NoteCreated(const std::string& path) {
  if (opts_.whiteouts == WhiteoutMode::kApply) {
    created_.insert(path);
  }
}

StatusOr<int> Extractor::OpenParent(const std::string& dir, bool create) {
  if (dir.empty()) {
    return root_fd_;
  }
  if (cache_valid_ && cached_dir_ == dir) {
    return cached_fd_.get();
  }
  ASSIGN_OR_RETURN(UniqueFd fd, ResolveDir(dir, create));
  if (!fd) {
    return -1;
  }
  cached_fd_ = std::move(fd);
  cached_dir_ = dir;
  cache_valid_ = true;
  return cached_fd_.get();
}

StatusOr<UniqueFd> Extractor::ResolveDir(const std::string& dir, bool create) {
  constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  constexpr uint64_t kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  for (int attempt = 0; use_openat2_ && attempt < 8; ++attempt) {
    int fd = OpenAt2(root_fd_, dir.c_str(), kFlags, kResolve);
    if (fd >= 0) {
      return UniqueFd(fd);
    }
    switch (errno) {
      case EAGAIN:  // a concurrent rename raced with resolution; retry
        continue;
      case ENOSYS:  // kernel < 5.6
      case E2BIG:
      case EPERM:  // seccomp filters may refuse unknown syscalls
        CRIO_LOG_DEBUG("layer {}: openat2 unavailable ({}), walking paths without symlinks", layer_,
                       std::strerror(errno));
        use_openat2_ = false;
        break;
      case ENOENT:
        return create ? CreateDirsInRoot(dir) : StatusOr<UniqueFd>(UniqueFd());
      case ENOTDIR:  // a component is (a symlink to) a non-directory
      case ELOOP:    // a symlink cycle
        if (!create) {
          return UniqueFd();
        }
        return ErrnoError(errno, What("open directory", dir));
      default:
        return ErrnoError(errno, What("open directory", dir));
    }
  }
  return WalkDir(dir, create);
}

StatusOr<UniqueFd> Extractor::CreateDirsInRoot(const std::string& dir) {
  constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd cur;
  int cur_fd = root_fd_;
  size_t pos = 0;
  for (;;) {
    size_t slash = dir.find('/', pos);
    size_t end = slash == std::string::npos ? dir.size() : slash;
    std::string prefix = dir.substr(0, end);
    std::string part = dir.substr(pos, end - pos);
    int fd = OpenAt2(root_fd_, prefix.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, kResolve);
    if (fd < 0 && errno == ENOENT) {
      // EEXIST here is a dangling symlink (or a racing mkdir); the no-follow open decides.
      if (mkdirat(cur_fd, part.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError(errno, What("mkdir", prefix));
      }
      fd = openat(cur_fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
        // Resolution found nothing, yet the name exists: a symlink to a missing directory.
        // As in a chroot, nothing is created at the symlink's target.
        return InvalidArgument(
            absl::StrCat(Quoted(prefix), " is a symlink to a missing directory"));
      }
      if (fd >= 0) {
        NoteCreated(prefix);
        if (fchmod(fd, 0755) != 0) {
          int err = errno;
          close(fd);
          return ErrnoError(err, What("chmod", prefix));
        }
      }
    }
    if (fd < 0) {
      return ErrnoError(errno, What("open directory", prefix));
    }
    cur.reset(fd);
    cur_fd = fd;
    if (slash == std::string::npos) {
      return cur;
    }
    pos = slash + 1;
  }
}

StatusOr<UniqueFd> Extractor::WalkDir(const std::string& dir, bool create) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd cur;
  int cur_fd = root_fd_;
  size_t pos = 0;
  for (;;) {
    size_t slash = dir.find('/', pos);
    size_t end = slash == std::string::npos ? dir.size() : slash;
    std::string part = dir.substr(pos, end - pos);
    int fd = openat(cur_fd, part.c_str(), kFlags);
    if (fd < 0 && errno == ENOENT) {
      if (!create) {
        return UniqueFd();
      }
      if (mkdirat(cur_fd, part.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError(errno, What("mkdir", dir.substr(0, end)));
      }
      fd = openat(cur_fd, part.c_str(), kFlags);
      if (fd >= 0) {
        NoteCreated(dir.substr(0, end));
        if (fchmod(fd, 0755) != 0) {
          int err = errno;
          close(fd);
          return ErrnoError(err, What("chmod", dir.substr(0, end)));
        }
      }
    }
    if (fd < 0) {
      int err = errno;
      struct stat st;
      if ((err == ELOOP || err == ENOTDIR) &&
          fstatat(cur_fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return InvalidArgument(absl::StrCat(Quoted(dir.substr(0, end)),
                                            " is a symlink; refusing to write through it"));
      }
      if (err == ENOTDIR && !create) {
        return UniqueFd();
      }
      return ErrnoError(err, What("open directory", dir.substr(0, end)));
    }
    cur.reset(fd);
    cur_fd = fd;
    if (slash == std::string::npos) {
      return cur;
    }
    pos = slash + 1;
  }
}

Status Extractor::RemoveAll(int at_fd, const std::string& name, const std::string& path) {
  // The cached parent may be (or be reached through) what goes away. The fd itself stays open,
  // as the caller may be using it, until the next OpenParent replaces it.
  cache_valid_ = false;
  if (unlinkat(at_fd, name.c_str(), 0) == 0 || errno == ENOENT) {
    return absl::OkStatus();
  }
  if (errno != EISDIR) {
    return ErrnoError(errno, What("unlink", path));
  }
  int fd = openat(at_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, What("open", path));
  }
  DirPtr dir(fdopendir(fd));
  if (!dir) {
    int err = errno;
    close(fd);
    return ErrnoError(err, What("opendir", path));
  }
  // Names first, removal after: readdir while unlinking may skip entries on some filesystems.
  std::vector<std::string> names;
  errno = 0;
  while (dirent* d = readdir(dir.get())) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") {
      names.emplace_back(n);
    }
  }
  if (errno != 0) {
    return ErrnoError(errno, What("readdir", path));
  }
  for (const std::string& n : names) {
    RETURN_IF_ERROR(RemoveAll(::dirfd(dir.get()), n, JoinPath(path, n)));
  }
  dir.reset();
  if (unlinkat(at_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoError(errno, What("rmdir", path));
  }
  return absl::OkStatus();
}

Status Extractor::Prune(int dir_fd, const std::string& path) {
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, What("open", path));
  }
  DirPtr dir(fdopendir(fd));
  if (!dir) {
    int err = errno;
    close(fd);
    return ErrnoError(err, What("opendir", path));
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* d = readdir(dir.get())) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") {
      names.emplace_back(n);
    }
  }
  if (errno != 0) {
    return ErrnoError(errno, What("readdir", path));
  }
  int self = ::dirfd(dir.get());
  for (const std::string& n : names) {
    std::string child = JoinPath(path, n);
    if (!created_.contains(child)) {
      RETURN_IF_ERROR(RemoveAll(self, n, child));
      continue;
    }
    // A directory of this layer may still hold lower-layer files the opaque marker hides.
    UniqueFd sub(openat(self, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub) {
      RETURN_IF_ERROR(Prune(sub.get(), child));
    }
  }
  return absl::OkStatus();
}

Status Extractor::FinishDirectories() {
  std::string parent;
  std::string leaf;
  for (const DirFixup& fix : dir_fixups_) {
    UniqueFd owned;
    int fd = root_fd_;
    if (!fix.path.empty()) {
      SplitLast(fix.path, parent, leaf);
      StatusOr<int> pfd = OpenParent(parent, /*create=*/false);
      if (!pfd.ok() && pfd.status().code() != absl::StatusCode::kInvalidArgument) {
        return pfd.status();
      }
      if (!pfd.ok() || *pfd < 0) {
        continue;  // removed or replaced (by a symlink, in walk mode) after it was created
      }
      owned.reset(openat(*pfd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!owned) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
          continue;  // replaced by a later entry
        }
        return ErrnoError(errno, What("open", fix.path));
      }
      fd = owned.get();
    }
    if (fchmod(fd, fix.mode) != 0) {
      return ErrnoError(errno, What("chmod", fix.path));
    }
    if (futimens(fd, fix.times) != 0) {
      return ErrnoError(errno, What("set times of", fix.path));
    }
  }
  return absl::OkStatus();
}

std::string Hex(const unsigned char* data, unsigned int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// Only library-backed decompressors: filter_all would fall back to running external programs
// (lrzip, lzop, grzip) on untrusted input.
Status SupportFilters(archive* a) {
  for (auto* support : {archive_read_support_filter_gzip, archive_read_support_filter_zstd,
                        archive_read_support_filter_bzip2, archive_read_support_filter_xz}) {
    if (support(a) < ARCHIVE_WARN) {
      return ArchiveError(a, "enable decompression");
    }
  }
  return absl::OkStatus();
}

StatusOr<ExtractResult> Extract(int input_fd, const std::string& dest_dir,
                                const ExtractOptions& opts, std::string_view layer) {
  UniqueFd root(open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    return ErrnoError(errno, absl::StrCat("open `", dest_dir, "`"));
  }
  MdCtxPtr sha(EVP_MD_CTX_new());
  if (!sha || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1) {
    return Internal("sha256 init failed");
  }

  // Outer reader: decompression only; the raw format yields the decompressed bytes as one entry.
  ArchivePtr outer(archive_read_new());
  if (!outer) {
    return Internal("archive_read_new failed");
  }
  RETURN_IF_ERROR(SupportFilters(outer.get()));
  if (archive_read_support_format_raw(outer.get()) != ARCHIVE_OK ||
      archive_read_open_fd(outer.get(), input_fd, kReadBlockSize) != ARCHIVE_OK) {
    return ArchiveError(outer.get(), "open layer stream");
  }
  archive_entry* raw_entry = nullptr;
  int r = archive_read_next_header(outer.get(), &raw_entry);
  if (r == ARCHIVE_EOF) {
    return InvalidArgument("layer stream is empty");
  }
  if (r < ARCHIVE_WARN) {
    return ArchiveError(outer.get(), "open layer stream");
  }

  // Inner reader: tar (ustar, pax, GNU) only, no filters, fed from the outer one.
  DecompressedSource source;
  source.outer = outer.get();
  source.sha = sha.get();
  ArchivePtr inner(archive_read_new());
  if (!inner) {
    return Internal("archive_read_new failed");
  }
  if (archive_read_support_format_tar(inner.get()) != ARCHIVE_OK) {
    return ArchiveError(inner.get(), "enable tar");
  }
  if (archive_read_open(inner.get(), &source, nullptr, &DecompressedSource::ReadCallback,
                        nullptr) != ARCHIVE_OK) {
    if (!source.error.ok()) {
      return source.error;
    }
    return ArchiveError(inner.get(), "open tar stream");
  }

  ExtractResult result;
  Extractor extractor(root.get(), opts, layer);
  RETURN_IF_ERROR(extractor.ExtractAll(inner.get(), source, result.entries));
  RETURN_IF_ERROR(extractor.FinishDirectories());

  // Whatever follows the tar end-of-archive blocks is part of the DiffID too.
  for (;;) {
    const void* buf = nullptr;
    ASSIGN_OR_RETURN(size_t n, source.Next(&buf));
    if (n == 0) {
      break;
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex(sha.get(), digest, &digest_len) != 1) {
    return Internal("sha256 final failed");
  }
  result.diff_id = absl::StrCat("sha256:", Hex(digest, digest_len));
  result.uncompressed_bytes = source.bytes;
  result.skipped_entries = extractor.skipped();
  return result;
}

}  // namespace

StatusOr<ExtractResult> ExtractLayer(int input_fd, const std::string& dest_dir,
                                     const ExtractOptions& opts) {
  const std::string& layer = opts.layer_name.empty() ? dest_dir : opts.layer_name;
  StatusOr<ExtractResult> result = Extract(input_fd, dest_dir, opts, layer);
  if (!result.ok()) {
    return Annotate(result.status(), absl::StrCat("extract layer ", layer));
  }
  CRIO_LOG_DEBUG("layer {}: extracted {} entries, {} bytes uncompressed, diff id {}", layer,
                 result->entries, result->uncompressed_bytes, result->diff_id);
  return result;
}

}  // namespace crio::storage
