#pragma once
// Docker/OCI image references ("busybox", "quay.io/ns/app:1.0", "host:5000/app@sha256:..."),
// parsed and normalised the way containers/image's docker reference does (distribution grammar).

#include <string>
#include <string_view>

#include "util/status.h"

namespace crio::image {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

// A normalised, fully-qualified reference. `tag` and `digest` may both be set ("name:tag@digest":
// the digest decides what is pulled, the tag is informational, as in CRI-O); at least one is set
// for references produced by ParseReference.
struct Reference {
  std::string domain;  // "docker.io", "quay.io", "localhost:5000", "[::1]:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // "latest"; may be empty when `digest` is set
  std::string digest;  // "sha256:<64 hex>" or empty
  // The repository name exactly as the user wrote it (without tag/digest) when they gave no
  // domain ("busybox", "library/busybox"); empty for fully-qualified input. Short names are
  // resolved through registries.conf aliases and unqualified-search registries.
  std::string short_name;

  bool IsShortName() const { return !short_name.empty(); }
  // "docker.io/library/busybox".
  std::string Name() const;
  // "docker.io/library/busybox:latest", "quay.io/a/b@sha256:..", "h/p:t@sha256:..".
  std::string String() const;
  // Docker's short form: "busybox", "user/app", "quay.io/a/b" (docker.io and library/ dropped).
  std::string FamiliarName() const;
  // FamiliarName() plus ":tag" and/or "@digest".
  std::string FamiliarString() const;
  // "domain/path:tag", or "" when there is no tag.
  std::string RepoTagString() const;
  // "domain/path@<digest>".
  std::string RepoDigestString(std::string_view digest) const;
  // What to ask the registry for: the digest if set, else the tag.
  std::string TagOrDigest() const { return digest.empty() ? tag : digest; }

  // Compares every field, `short_name` included.
  bool operator==(const Reference&) const = default;
};

// Parses and normalises `input`:
//   "busybox"                 -> docker.io/library/busybox:latest (short name "busybox")
//   "index.docker.io/foo/bar" -> docker.io/foo/bar:latest
//   "quay.io/a/b@sha256:..."  -> digest only (no default tag)
// A first path component is a domain if it contains '.' or ':' or is "localhost"; otherwise the
// whole name is a path on docker.io. Paths must be lowercase; domains and tags may not be.
// Errors: InvalidArgument("invalid image reference \"X\": <what is wrong>") for an empty input,
// bad characters in a path component/tag/domain, an uppercase repository name, a bad digest,
// a tag longer than 128 characters, a name longer than 255 characters, or a bare 64-hex image ID.
StatusOr<Reference> ParseReference(std::string_view input);

// Like ParseReference, but the input must not carry a tag or digest and no default tag is added
// (registries.conf aliases, policy scopes). Errors: InvalidArgument.
StatusOr<Reference> ParseRepositoryName(std::string_view input);

// Checks `domain` is a registry host[:port] ("quay.io", "localhost:5000", "[::1]:5000").
// Errors: InvalidArgument.
Status ValidateDomainName(std::string_view domain);

// True for a 64-character lowercase hex string (an image ID, which is never a repository name).
bool LooksLikeImageId(std::string_view s);

}  // namespace crio::image
