#pragma once
// Content digests ("sha256:<hex>") as used by the OCI image spec and the distribution API.

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace crio::image {

// Checks `digest` is "<algorithm>:<lowercase hex>" with a supported algorithm (sha256, sha384,
// sha512) and the hex length that algorithm produces.
// Errors: InvalidArgument naming what is wrong.
Status ValidateDigest(std::string_view digest);

// Incremental hash producing a digest string. Not thread-safe; one per stream.
class DigestHasher {
 public:
  // `algorithm` is "sha256", "sha384" or "sha512". Errors: InvalidArgument for others.
  static StatusOr<DigestHasher> Create(std::string_view algorithm);
  // Hasher for the algorithm of an existing digest string (e.g. the one being verified).
  static StatusOr<DigestHasher> ForDigest(std::string_view digest);

  DigestHasher(DigestHasher&&) noexcept;
  DigestHasher& operator=(DigestHasher&&) noexcept;
  ~DigestHasher();

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // "<algorithm>:<hex>" of everything passed to Update. Call once.
  std::string Finish();

 private:
  struct State;
  explicit DigestHasher(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// sha256 digest of `data`, "sha256:<hex>".
std::string Sha256Digest(std::string_view data);

// Digest of `data` computed with the algorithm of `like` (used to verify content against it).
// Errors: InvalidArgument if `like` is not a valid digest.
StatusOr<std::string> DigestLike(std::string_view like, std::string_view data);

}  // namespace crio::image
