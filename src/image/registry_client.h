#pragma once
// Docker Registry HTTP API V2 / OCI distribution-spec client (pull side) over libcurl.
//
// One RegistryClient talks to one registry endpoint (host[:port]) with one set of credentials.
// It is thread-safe: the pull orchestrator may call FetchBlob from several threads at once
// (parallel layer downloads). Each call runs on its own curl easy handle taken from a small
// pool; connections, DNS and TLS sessions are shared between the handles, so sequential and
// parallel requests reuse connections. Bearer tokens are cached per scope until they expire.
//
// Error codes (the ImageService maps them to user-facing messages):
//   Unavailable       registry unreachable ("pinging container registry HOST: ..."), HTTP 429/5xx
//                     or network errors after retries
//   Unauthenticated   "authenticating to HOST: ..." (401 after trying the credentials, token
//                     endpoint refused them)
//   PermissionDenied  HTTP 403 from the registry
//   NotFound          "manifest unknown: REPO:TAG", "blob unknown: REPO@DIGEST"
//   DataLoss          "digest mismatch ..." / size mismatch: the content is not what was asked for
//   DeadlineExceeded  no progress for `progress_timeout`
//   Cancelled         the caller's stop_token was triggered
//   Unknown           any other unexpected HTTP status (message names it)

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "image/auth.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "util/status.h"

namespace crio::image {

inline constexpr std::string_view kDefaultCertsDir = "/etc/containers/certs.d";

struct Endpoint {
  // host[:port] as it appears in references ("quay.io", "127.0.0.1:5000"). "docker.io" is
  // contacted at registry-1.docker.io.
  std::string host;
  // registries.conf `insecure`: try HTTPS without certificate verification and fall back to plain
  // HTTP when HTTPS fails (containers/image semantics).
  bool insecure = false;
};

struct RegistryClientOptions {
  // Base of per-registry TLS material: `<certs_dir>/<host[:port]>/` holding `*.crt` (extra CAs,
  // added to the system ones) and `*.cert` + `*.key` pairs (client certificate). Empty: none.
  std::string certs_dir;
  // Abort a transfer that receives no bytes for this long (checked about once a second).
  // 0 disables (CRI-O's pull_progress_timeout default).
  std::chrono::milliseconds progress_timeout{0};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // Tries per request on transient errors (connection refused/reset, timeouts, HTTP 408/429/5xx);
  // never on 401/403/404. Backoff doubles from initial_backoff up to max_backoff.
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{1600};
  size_t max_manifest_size = 4 << 20;
  std::string user_agent = "crio-cpp";
};

struct ManifestResponse {
  std::string raw;             // body exactly as received
  std::string media_type;      // see DetectManifestMediaType; "" if unrecognisable
  std::string digest;          // digest of `raw` (sha256, or the requested digest's algorithm)
  std::string content_digest;  // Docker-Content-Digest header, informational only
};

// Receives a blob's bytes in order as they arrive. A non-OK return aborts the transfer and is
// returned by FetchBlob unchanged.
using BlobSink = std::function<Status(const char* data, size_t size)>;

class RegistryClient {
 public:
  // Prepares a client; does no network I/O (the registry is pinged on first use).
  // Errors: InvalidArgument for an empty/invalid host; FailedPrecondition for unusable certs.d
  // content (a *.cert without its *.key or the reverse); read errors from certs.d.
  static StatusOr<std::unique_ptr<RegistryClient>> Create(Endpoint endpoint,
                                                          Credentials credentials,
                                                          RegistryClientOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // GET /v2/<repo>/manifests/<tag_or_digest>. When `tag_or_digest` is a digest the body's digest
  // is verified against it. `repo` is the reference path ("library/busybox").
  // Errors: see the class comment; NotFound("manifest unknown: REPO:TAG"); DataLoss("digest
  // mismatch for manifest REPO@D: got sha256:..") when pulling by digest; InvalidArgument for a
  // malformed digest or a body over max_manifest_size.
  StatusOr<ManifestResponse> GetManifest(std::string_view repo, std::string_view tag_or_digest,
                                         std::string_view accept = kManifestAcceptHeader,
                                         std::stop_token stop = {});

  // GET /v2/<repo>/blobs/<digest>, streaming the body into `sink` as it arrives. Redirects are
  // followed (the Authorization header is not sent to another host). After a dropped connection
  // the download resumes with a Range request (from the start if the server ignores Range), so
  // `sink` sees every byte exactly once, in order. `expected_size` < 0 skips the size check.
  // Verifies the size and the digest over all bytes; on DataLoss the caller must discard what the
  // sink received.
  // Errors: see the class comment; NotFound("blob unknown: REPO@D"); DataLoss("digest mismatch
  // for blob D: got sha256:..") or ("size mismatch for blob D: ..."); the sink's own error.
  Status FetchBlob(std::string_view repo, std::string_view digest, int64_t expected_size,
                   const BlobSink& sink, std::stop_token stop = {});

  // FetchBlob into memory, for small blobs such as image configs.
  // Errors: as FetchBlob; InvalidArgument when the blob exceeds `max_size`.
  StatusOr<std::string> FetchBlobToString(std::string_view repo, std::string_view digest,
                                          int64_t expected_size, size_t max_size = 16 << 20,
                                          std::stop_token stop = {});

  const Endpoint& endpoint() const;

 private:
  class Impl;
  explicit RegistryClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ResolvedManifest {
  // Digest of what `ref` names at the registry: the index/list digest when it names one,
  // otherwise the image manifest's digest. This is the repo digest CRI-O records.
  std::string top_digest;
  // Digest of the platform's image manifest (== top_digest when there is no index).
  std::string manifest_digest;
  ManifestResponse raw;  // the image manifest response
  ImageManifest manifest;
};

// Fetches the manifest `ref` names (by digest if it has one, else by tag); for an index or
// manifest list selects `platform`'s entry and fetches that manifest by digest.
// Errors: from GetManifest, ParseManifest (schema1, unsupported types) and
// SelectManifestForPlatform (NotFound); InvalidArgument for an index inside an index.
StatusOr<ResolvedManifest> FetchImageManifest(RegistryClient& client, const Reference& ref,
                                              const Platform& platform, std::stop_token stop = {});

}  // namespace crio::image
