#pragma once
// The streaming requests the Exec, Attach and PortForward RPCs have handed out, each under a
// single-use random token that the client presents in the URL. As in the kubelet's streaming
// server: 8-character tokens from a cryptographic RNG, valid for a minute, at most 1000 waiting.

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::streaming {

enum class RequestKind { kExec, kAttach, kPortForward };

// "exec", "attach" or "portforward": the URL path segment.
std::string_view KindPath(RequestKind kind);

struct StreamRequest {
  RequestKind kind = RequestKind::kExec;
  std::string container_id;  // exec, attach
  std::string pod_id;        // port forward
  std::vector<std::string> cmd;
  bool tty = false;
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
  std::vector<int32_t> ports;  // port forward over WebSocket
};

class RequestCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::size_t kDefaultMaxRequests = 1000;

  explicit RequestCache(std::chrono::milliseconds ttl = std::chrono::minutes(1),
                        std::size_t max_requests = kDefaultMaxRequests,
                        Clock clock = std::chrono::steady_clock::now);

  // Stores `request` and returns its token. Expired entries are dropped first.
  // Errors: ResourceExhausted when max_requests are waiting; Internal when the RNG fails.
  StatusOr<std::string> Insert(StreamRequest request);

  // Takes the request stored under `token` out of the cache. nullopt for an unknown or expired
  // token, or one of another kind (which is consumed all the same, as the kubelet does).
  std::optional<StreamRequest> Consume(std::string_view token, RequestKind kind);

  std::size_t size() const;

 private:
  struct Entry {
    std::string token;
    StreamRequest request;
    std::chrono::steady_clock::time_point expires;
  };
  void DropExpiredLocked(std::chrono::steady_clock::time_point now);

  const std::chrono::milliseconds ttl_;
  const std::size_t max_requests_;
  const Clock clock_;
  mutable std::mutex mu_;
  std::list<Entry> entries_;  // oldest first, so expiry stops at the first live entry
};

// 6 random bytes from OpenSSL's CSPRNG in unpadded URL-safe base64: 8 characters.
// Errors: Internal when the RNG fails.
StatusOr<std::string> NewToken();

}  // namespace crio::streaming
