#pragma once
// A real docker-registry (Debian's distribution 2.8) for integration tests, loaded with the
// images that tests/fixtures/make_test_images.py builds. See tests/fixtures/README.md for the
// image catalogue and the JSON each image is described by.
//
// Typical use, once per test suite (pushing takes a few seconds):
//   auto registry = crio::testing::RegistryFixture::Start();
//   if (absl::IsFailedPrecondition(registry.status())) GTEST_SKIP() << registry.status();
//   ASSERT_TRUE(registry.ok()) << registry.status();
//   ASSERT_TRUE((*registry)->PushTestImages().ok());
//   std::string digest = (*registry)->images()["busybox:latest"]["manifest_digest"];

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::testing {

class RegistryFixture {
 public:
  // Credentials accepted when started with with_auth (tests/fixtures/htpasswd).
  static constexpr char kUser[] = "crio";
  static constexpr char kPassword[] = "crio-pass";

  // True when the docker-registry binary is on PATH (Debian package docker-registry).
  static bool Available();

  // Starts `docker-registry serve` on 127.0.0.1:<free port, never 5000> with filesystem storage
  // in a fresh temp dir, and waits (with a deadline) until GET /v2/ answers. with_auth: HTTP
  // Basic auth through htpasswd (user kUser, password kPassword); anonymous requests get 401.
  // Errors: FailedPrecondition if docker-registry or the fixture files are missing;
  // Unavailable if the registry exits or does not answer in time (the message carries the tail
  // of its log); errno-derived codes for temp-dir/spawn failures.
  static StatusOr<std::unique_ptr<RegistryFixture>> Start(bool with_auth = false);

  // SIGTERM, then SIGKILL after a grace period, to the registry this fixture started (by PID
  // only); reaps it and removes the temp dir.
  ~RegistryFixture();

  RegistryFixture(const RegistryFixture&) = delete;
  RegistryFixture& operator=(const RegistryFixture&) = delete;

  // "127.0.0.1:PORT".
  std::string host() const;
  // "http://127.0.0.1:PORT".
  std::string base_url() const { return "http://" + host(); }
  bool with_auth() const { return with_auth_; }
  pid_t pid() const { return pid_; }
  // The fixture's temp dir, its registry storage and the registry's stdout+stderr log.
  const std::string& temp_dir() const { return temp_dir_; }
  std::string storage_dir() const { return temp_dir_ + "/storage"; }
  std::string log_path() const { return temp_dir_ + "/registry.log"; }

  // Runs make_test_images.py against this registry (with credentials when with_auth) and parses
  // its JSON into images(). Pushes once: later calls return the first result. The script's
  // stderr goes to <temp_dir>/push.log. Errors: FailedPrecondition if python3 or the script is
  // missing; Internal if the script fails (message carries the tail of push.log) or prints
  // invalid JSON; DeadlineExceeded if it runs longer than 5 minutes.
  Status PushTestImages();

  // "repository:tag" -> description (manifest_digest, config_digest, image_id, layers,
  // diff_ids, expected_files, ...). An image the script had to skip maps to {"skipped": why}.
  // Empty JSON object before PushTestImages() succeeded.
  const nlohmann::json& images() const { return images_; }

  // "127.0.0.1:PORT/<repository:tag>", e.g. Reference("busybox:latest").
  std::string Reference(const std::string& image) const { return host() + "/" + image; }

 private:
  RegistryFixture(std::string temp_dir, bool with_auth)
      : temp_dir_(std::move(temp_dir)), with_auth_(with_auth) {}

  Status WriteConfig();
  Status Spawn();
  Status WaitUntilServing(std::chrono::steady_clock::duration timeout);
  void Stop();

  std::string temp_dir_;
  bool with_auth_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool pushed_ = false;
  nlohmann::json images_ = nlohmann::json::object();
};

// A small blocking HTTP client for tests (libcurl, no proxy, no redirects followed).
struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; the last value wins
  std::string body;
};

struct HttpRequestOptions {
  std::string method = "GET";        // GET or HEAD
  std::vector<std::string> headers;  // "Name: value"
  std::optional<std::string> user;   // Basic auth, "user:password"
  std::chrono::milliseconds timeout{10000};
};

// Errors: Unavailable on connection/transport failures (any HTTP status is a success).
StatusOr<HttpResponse> HttpGet(const std::string& url, const HttpRequestOptions& options = {});

// The Accept header that asks a registry for any manifest kind without conversion.
std::string ManifestAcceptHeader();

}  // namespace crio::testing
