#pragma once
// Streaming, confined extraction of one OCI image layer (a tar stream, optionally gzip- or
// zstd-compressed) into a directory, computing the layer's DiffID on the way.
//
// The layer is untrusted. Every write is made relative to an fd of the destination: parent
// directories are resolved with openat2(RESOLVE_IN_ROOT) so that symlinks in the layer resolve as
// they would inside the container, never outside it; the final component of an entry is never
// followed (new files are created O_EXCL|O_NOFOLLOW after removing what was there).
// Whiteouts follow the OCI image-spec layer.md rules.

#include <cstdint>
#include <string>

#include "util/status.h"

namespace crio::storage {

enum class WhiteoutMode {
  // Overlay driver: each layer lands in its own empty diff dir. `.wh.NAME` becomes a 0/0 character
  // device named NAME and `.wh..wh..opq` sets xattr trusted.overlay.opaque="y" on its directory.
  kOverlay,
  // vfs-like drivers: the destination already holds the parent layers' files. `.wh.NAME` removes
  // NAME (recursively) and `.wh..wh..opq` removes the directory's children that this layer did not
  // itself create (within one layer, whiteouts hide lower layers only).
  kApply,
};

struct ExtractOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kOverlay;
  // Apply the uid/gid recorded in the layer. Set false when not running as root; files are then
  // owned by the caller.
  bool keep_ownership = true;
  // Names the layer in log lines and error messages, e.g. its blob digest. Defaults to dest_dir.
  std::string layer_name;
  // When false, or when the kernel lacks openat2 (< 5.6), parent directories are walked one
  // component at a time with O_NOFOLLOW and an entry that would be written through a symlink is
  // refused instead of being resolved inside the layer root. Tests use it to cover that path.
  bool use_openat2 = true;
};

struct ExtractResult {
  // "sha256:<hex>" of the whole uncompressed stream, trailing bytes after the tar end included,
  // i.e. what `sha256sum` prints for the decompressed file.
  std::string diff_id;
  uint64_t uncompressed_bytes = 0;
  // Tar entries seen, whiteouts and skipped entries included.
  uint64_t entries = 0;
  // Device nodes and sockets not created (no CAP_MKNOD, or sockets, which tar cannot restore).
  uint64_t skipped_entries = 0;
};

// Reads a tar stream from `input_fd` until EOF (compression gzip, zstd, bzip2, xz or none, detected
// from the content; the fd is not closed) and unpacks it into `dest_dir`, which must exist.
// Streaming: nothing but the extracted files is written to disk.
//
// Keeps modes (setuid/setgid/sticky included), ownership (if keep_ownership), mtimes (directories'
// are set after their contents), PAX xattrs (security.capability included; trusted.overlay.* and
// user.overlay.* from the layer are dropped so a layer cannot forge whiteouts), hard links,
// symlinks, FIFOs and, when permitted, device nodes (skipped with a warning on EPERM).
//
// Errors (all prefixed with "extract layer <name>"):
//   InvalidArgument  an entry (or hard-link target) escapes dest_dir with `..`, a hard link's
//                    target path goes through a symlink, an entry's parent is a symlink to a
//                    missing directory, a whiteout names `.`/`..`, or the stream is corrupt,
//                    truncated or not a tar ("layer entry `../x` escapes the layer root").
//   ErrnoError codes a syscall failed ("mknod `dev/x`: Operation not permitted"), or reading
//                    `input_fd` failed.
// On error dest_dir holds a partial layer; the caller discards it.
StatusOr<ExtractResult> ExtractLayer(int input_fd, const std::string& dest_dir,
                                     const ExtractOptions& opts);

}  // namespace crio::storage
