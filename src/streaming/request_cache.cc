#include "streaming/request_cache.h"

#include <openssl/rand.h>

#include <array>

namespace crio::streaming {

std::string_view KindPath(RequestKind kind) {
  switch (kind) {
    case RequestKind::kExec:
      return "exec";
    case RequestKind::kAttach:
      return "attach";
    case RequestKind::kPortForward:
      return "portforward";
  }
  return "";
}

StatusOr<std::string> NewToken() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<unsigned char, 6> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return Internal("streaming token: the random number generator failed");
  }
  std::string token;
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    uint32_t bits = (uint32_t{raw[i]} << 16) | (uint32_t{raw[i + 1]} << 8) | raw[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) token.push_back(kAlphabet[(bits >> shift) & 63]);
  }
  return token;
}

RequestCache::RequestCache(std::chrono::milliseconds ttl, std::size_t max_requests, Clock clock)
    : ttl_(ttl), max_requests_(max_requests), clock_(std::move(clock)) {}

void RequestCache::DropExpiredLocked(std::chrono::steady_clock::time_point now) {
  while (!entries_.empty() && entries_.front().expires <= now) entries_.pop_front();
}

StatusOr<std::string> RequestCache::Insert(StreamRequest request) {
  const auto now = clock_();
  std::lock_guard lock(mu_);
  DropExpiredLocked(now);
  if (entries_.size() >= max_requests_) {
    return absl::ResourceExhaustedError("maximum number of in-flight requests exceeded");
  }
  for (int attempt = 0; attempt < 10; ++attempt) {
    ASSIGN_OR_RETURN(std::string token, NewToken());
    bool taken = false;
    for (const Entry& e : entries_) taken = taken || e.token == token;
    if (taken) continue;
    entries_.push_back(Entry{token, std::move(request), now + ttl_});
    return token;
  }
  return Internal("streaming token: no unique token after 10 tries");
}

std::optional<StreamRequest> RequestCache::Consume(std::string_view token, RequestKind kind) {
  const auto now = clock_();
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->token != token) continue;
    Entry entry = std::move(*it);
    entries_.erase(it);
    if (entry.expires <= now || entry.request.kind != kind) return std::nullopt;
    return std::move(entry.request);
  }
  return std::nullopt;
}

std::size_t RequestCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace crio::streaming
