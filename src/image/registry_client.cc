#include "image/registry_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "image/digest.h"
#include "image/www_authenticate.h"
#include "os/file.h"
#include "util/log.h"

namespace crio::image {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxErrorBody = 64 << 10;
constexpr size_t kMaxTokenResponse = 1 << 20;
constexpr size_t kMaxPooledHandles = 16;
constexpr std::chrono::seconds kMinTokenLifetime{60};  // distribution token spec default
constexpr std::chrono::seconds kTokenExpiryMargin{5};
constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";
constexpr std::string_view kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

std::string Str(std::string_view s) { return std::string(s); }

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// --------------------------------------------------------------------------------------------
// One HTTP exchange.
// --------------------------------------------------------------------------------------------

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::vector<std::string> headers;
  std::string post_body;    // application/x-www-form-urlencoded, for POST
  int64_t range_start = 0;  // > 0: ask for bytes=range_start-
  bool verify_tls = true;
  // Receives 2xx body bytes with the response status; false aborts the transfer.
  std::function<bool(long status, const char* data, size_t size)> on_data;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // final response; names lowercased
  std::string error_body;                      // body of a non-2xx response, capped
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;
  long os_errno = 0;  // errno of the failed socket call, if any
  bool stalled = false;
  bool cancelled = false;
  bool aborted_by_callback = false;

  bool transport_ok() const { return curl_code == CURLE_OK; }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct TransferState {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  std::stop_token stop;
  std::chrono::milliseconds progress_timeout{0};
  curl_off_t last_dlnow = -1;
  Clock::time_point last_progress = Clock::now();
};

long CurrentStatus(CURL* curl) {
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

size_t OnWrite(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* st = static_cast<TransferState*>(userdata);
  size_t n = size * nmemb;
  long status = CurrentStatus(st->curl);
  if (status >= 300 && status < 400) return n;  // body of a redirect we follow
  if (status < 200 || status >= 300) {
    std::string& body = st->response->error_body;
    body.append(data, std::min(n, kMaxErrorBody - std::min(kMaxErrorBody, body.size())));
    return n;
  }
  if (st->request->on_data && !st->request->on_data(status, data, n)) {
    st->response->aborted_by_callback = true;
    return 0;  // != n: curl aborts with CURLE_WRITE_ERROR
  }
  return n;
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* st = static_cast<TransferState*>(userdata);
  size_t n = size * nmemb;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    st->response->headers.clear();  // a new response (after a redirect or 100-continue)
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  std::string& slot = st->response->headers[name];
  // Repeated headers (several WWW-Authenticate challenges) combine as a list.
  slot = slot.empty() ? Str(value) : absl::StrCat(slot, ", ", Str(value));
  return n;
}

int OnProgress(void* userdata, curl_off_t /*dltotal*/, curl_off_t dlnow, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  auto* st = static_cast<TransferState*>(userdata);
  if (st->stop.stop_requested()) {
    st->response->cancelled = true;
    return 1;
  }
  if (st->progress_timeout.count() > 0) {
    Clock::time_point now = Clock::now();
    if (dlnow != st->last_dlnow) {
      st->last_dlnow = dlnow;
      st->last_progress = now;
    } else if (now - st->last_progress > st->progress_timeout) {
      st->response->stalled = true;
      return 1;
    }
  }
  return 0;
}

// --------------------------------------------------------------------------------------------
// Shared curl state: a CURLSH (connections, DNS, TLS sessions) and a pool of easy handles.
// --------------------------------------------------------------------------------------------

class CurlShare {
 public:
  CurlShare() : share_(curl_share_init()) {
    CRIO_CHECK(share_ != nullptr, "curl_share_init failed (out of memory)");
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlShare::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlShare::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~CurlShare() { curl_share_cleanup(share_); }
  CurlShare(const CurlShare&) = delete;
  CurlShare& operator=(const CurlShare&) = delete;

  CURLSH* get() const { return share_; }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* userptr) {
    static_cast<CurlShare*>(userptr)->MutexFor(data).lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* userptr) {
    static_cast<CurlShare*>(userptr)->MutexFor(data).unlock();
  }
  std::mutex& MutexFor(curl_lock_data data) {
    size_t i = static_cast<size_t>(data);
    return mutexes_[i < mutexes_.size() ? i : 0];
  }

  CURLSH* share_;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> mutexes_;
};

// Pooled easy handles keep their own TLS/session state warm; the share keeps connections.
class HandlePool {
 public:
  CurlEasy Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        CurlEasy h = std::move(free_.back());
        free_.pop_back();
        return h;
      }
    }
    CurlEasy h(curl_easy_init());
    CRIO_CHECK(h != nullptr, "curl_easy_init failed (out of memory)");
    return h;
  }
  void Release(CurlEasy h) {
    curl_easy_reset(h.get());
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kMaxPooledHandles) free_.push_back(std::move(h));
  }

 private:
  std::mutex mu_;
  std::vector<CurlEasy> free_;
};

struct TlsFiles {
  std::string ca_blob;  // PEM: system CAs + certs.d *.crt; empty = curl's default bundle
  std::string client_cert;
  std::string client_key;
};

std::string DefaultCaBundlePath() {
  CurlEasy h(curl_easy_init());
  char* path = nullptr;
  if (h && curl_easy_getinfo(h.get(), CURLINFO_CAINFO, &path) == CURLE_OK && path != nullptr) {
    return path;
  }
  return Str(kSystemCaBundle);
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), Str(suffix)) == 0;
}

// containers/image's certs.d layout (docker/docker_client.go, SetupCertificates).
StatusOr<TlsFiles> LoadCertsDir(const std::string& certs_dir, const std::string& host) {
  TlsFiles tls;
  if (certs_dir.empty()) return tls;
  std::string dir = absl::StrCat(certs_dir, "/", host);
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return tls;
    return ErrnoError(ec.value(), absl::StrCat("reading certs directory `", dir, "`"));
  }
  std::vector<std::string> names;
  for (const auto& entry : it) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  std::string extra_cas;
  for (const std::string& name : names) {
    std::string path = absl::StrCat(dir, "/", name);
    if (EndsWith(name, ".crt")) {
      ASSIGN_OR_RETURN(std::string pem, os::ReadSmallFile(path));
      absl::StrAppend(&extra_cas, pem, "\n");
    } else if (EndsWith(name, ".cert")) {
      std::string key = absl::StrCat(dir, "/", name.substr(0, name.size() - 5), ".key");
      if (std::find(names.begin(), names.end(), name.substr(0, name.size() - 5) + ".key") ==
          names.end()) {
        return FailedPrecondition(
            absl::StrCat("missing key ", key, " for client certificate ", path));
      }
      if (tls.client_cert.empty()) {
        tls.client_cert = path;
        tls.client_key = key;
      } else {
        CRIO_LOG_WARN("registry {}: using client certificate {}, ignoring {}", host,
                      tls.client_cert, path);
      }
    } else if (EndsWith(name, ".key")) {
      std::string cert = name.substr(0, name.size() - 4) + ".cert";
      if (std::find(names.begin(), names.end(), cert) == names.end()) {
        return FailedPrecondition(
            absl::StrCat("missing client certificate ", dir, "/", cert, " for key ", path));
      }
    }
  }
  if (!extra_cas.empty()) {
    // CAINFO_BLOB replaces the default bundle, so prepend the system CAs: certs.d adds trust.
    StatusOr<std::string> system = os::ReadSmallFile(DefaultCaBundlePath(), 64 << 20);
    if (system.ok()) {
      tls.ca_blob = absl::StrCat(*system, "\n", extra_cas);
    } else {
      CRIO_LOG_WARN("registry {}: cannot read the system CA bundle ({}); trusting only {}", host,
                    Message(system.status()), dir);
      tls.ca_blob = extra_cas;
    }
  }
  return tls;
}

bool IsTransientCurlError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool IsTransientHttpStatus(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

// "CODE: message; ..." from a distribution-spec error body, or "" if it is not one.
std::string RegistryErrorMessage(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array()) {
    return "";
  }
  std::vector<std::string> parts;
  for (const json& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string code =
        e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string msg =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    parts.push_back(code.empty() ? msg : msg.empty() ? code : absl::StrCat(code, ": ", msg));
  }
  return absl::StrJoin(parts, "; ");
}

std::string WithDetail(std::string base, const HttpResponse& r) {
  std::string detail = RegistryErrorMessage(r.error_body);
  if (!detail.empty()) absl::StrAppend(&base, ": ", detail);
  return base;
}

// curl's detailed message, plus the socket errno ("Connection refused") curl leaves out.
std::string TransportErrorText(const HttpResponse& r) {
  std::string text = r.curl_error.empty() ? curl_easy_strerror(r.curl_code) : r.curl_error;
  if (r.os_errno != 0) {
    std::string os = std::strerror(static_cast<int>(r.os_errno));
    if (text.find(os) == std::string::npos) absl::StrAppend(&text, ": ", os);
  }
  return text;
}

// Outcome of one attempt, for the retry loop.
struct Attempt {
  Status status;
  bool retryable = false;
};

std::string UrlEscape(CURL* curl, const std::string& s) {
  char* escaped = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

bool IsDigestRef(std::string_view tag_or_digest) {
  return tag_or_digest.find(':') != std::string_view::npos;
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// RegistryClient::Impl
// ----------------------------------------------------------------------------------------------

class RegistryClient::Impl {
 public:
  Impl(Endpoint endpoint, Credentials credentials, RegistryClientOptions options, TlsFiles tls)
      : endpoint_(std::move(endpoint)),
        credentials_(std::move(credentials)),
        options_(std::move(options)),
        tls_(std::move(tls)),
        api_host_(endpoint_.host == kDockerHubDomain ? Str(kDockerHubApiHost) : endpoint_.host) {}

  const Endpoint& endpoint() const { return endpoint_; }

  StatusOr<ManifestResponse> GetManifest(std::string_view repo, std::string_view ref,
                                         std::string_view accept, std::stop_token stop);
  Status FetchBlob(std::string_view repo, std::string_view digest, int64_t expected_size,
                   const BlobSink& sink, std::stop_token stop);

 private:
  struct Token {
    std::string value;
    Clock::time_point expires;
  };

  HttpResponse Perform(const HttpRequest& req, std::stop_token stop);
  Status RetryLoop(std::string_view what, std::stop_token stop,
                   const std::function<Attempt()>& attempt);
  Status EnsurePinged(std::stop_token stop);
  Status TransportError(std::string_view what, const HttpResponse& r) const;
  Status HttpError(std::string_view what, const HttpResponse& r) const;
  std::string BaseUrl() const;

  // The Authorization header line for a request in `scope`, or "" for anonymous.
  StatusOr<std::string> AuthHeader(const std::string& scope, std::stop_token stop);
  StatusOr<std::string> BearerToken(const AuthChallenge& challenge, const std::string& scope,
                                    bool refresh, std::stop_token stop);
  StatusOr<Token> FetchToken(const AuthChallenge& challenge, const std::string& scope,
                             std::stop_token stop);
  // Handles a 401: learns the challenge it carries and tells whether a retry may succeed.
  StatusOr<bool> HandleUnauthorized(const HttpResponse& r, const std::string& scope,
                                    std::stop_token stop);

  // One authenticated request with a retry after a 401 that brought a new challenge.
  HttpResponse AuthorizedPerform(HttpRequest req, const std::string& scope, std::stop_token stop,
                                 Status* auth_error);

  const Endpoint endpoint_;
  const Credentials credentials_;
  const RegistryClientOptions options_;
  const TlsFiles tls_;
  const std::string api_host_;
  CurlShare share_;
  HandlePool pool_;

  std::mutex ping_mu_;
  bool pinged_ = false;
  std::string scheme_;  // "https" or "http", decided by the ping

  std::mutex auth_mu_;
  std::vector<AuthChallenge> challenges_;
  std::map<std::string, Token> tokens_;  // "realm service scope" -> token
};

std::string RegistryClient::Impl::BaseUrl() const {
  return absl::StrCat(scheme_, "://", api_host_);
}

HttpResponse RegistryClient::Impl::Perform(const HttpRequest& req, std::stop_token stop) {
  HttpResponse resp;
  CurlEasy handle = pool_.Acquire();
  CURL* c = handle.get();
  TransferState st;
  st.curl = c;
  st.request = &req;
  st.response = &resp;
  st.stop = stop;
  st.progress_timeout = options_.progress_timeout;

  char errbuf[CURL_ERROR_SIZE] = {0};
  Slist headers;
  for (const std::string& h : req.headers) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    CRIO_CHECK(next != nullptr, "curl_slist_append failed (out of memory)");
    headers.release();
    headers.reset(next);
  }
  std::string range = absl::StrCat(req.range_start, "-");

  curl_easy_setopt(c, CURLOPT_SHARE, share_.get());
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  // Registries redirect blobs to storage hosts. curl keeps custom Authorization headers for the
  // original host only (CURLOPT_UNRESTRICTED_AUTH stays off).
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L);
  if (!tls_.ca_blob.empty()) {
    curl_blob blob{const_cast<char*>(tls_.ca_blob.data()), tls_.ca_blob.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!tls_.client_cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls_.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls_.client_key.c_str());
  }
  if (req.range_start > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.post_body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.post_body.size()));
  }

  resp.curl_code = curl_easy_perform(c);
  resp.status = CurrentStatus(c);
  if (resp.curl_code != CURLE_OK) {
    resp.curl_error = errbuf;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &resp.os_errno);
  }
  pool_.Release(std::move(handle));
  return resp;
}

Status RegistryClient::Impl::RetryLoop(std::string_view what, std::stop_token stop,
                                       const std::function<Attempt()>& attempt) {
  std::chrono::milliseconds backoff = options_.initial_backoff;
  int attempts = std::max(1, options_.max_attempts);
  for (int i = 1;; ++i) {
    Attempt a = attempt();
    if (a.status.ok() || !a.retryable || i >= attempts) return a.status;
    CRIO_LOG_DEBUG("registry {}: {} failed (attempt {}/{}), retrying in {}ms: {}", endpoint_.host,
                   Str(what), i, attempts, backoff.count(), Message(a.status));
    Clock::time_point until = Clock::now() + backoff;
    while (Clock::now() < until) {
      if (stop.stop_requested()) {
        return absl::CancelledError(absl::StrCat(Str(what), ": cancelled"));
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(std::chrono::milliseconds(20), until - Clock::now()));
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status RegistryClient::Impl::TransportError(std::string_view what, const HttpResponse& r) const {
  if (r.cancelled) return absl::CancelledError(absl::StrCat(Str(what), ": cancelled"));
  if (r.stalled) {
    return DeadlineExceeded(absl::StrCat(Str(what), " from ", endpoint_.host, ": no progress for ",
                                         options_.progress_timeout.count(), "ms"));
  }
  return Unavailable(
      absl::StrCat(Str(what), " from ", endpoint_.host, ": ", TransportErrorText(r)));
}

Status RegistryClient::Impl::HttpError(std::string_view what, const HttpResponse& r) const {
  std::string base = absl::StrCat(Str(what), " from ", endpoint_.host);
  switch (r.status) {
    case 401:
      return Unauthenticated(WithDetail(
          absl::StrCat("authenticating to ", endpoint_.host, ": unauthorized (", Str(what), ")"),
          r));
    case 403:
      return PermissionDenied(WithDetail(absl::StrCat(base, ": access denied (HTTP 403)"), r));
    case 429:
      return Unavailable(WithDetail(absl::StrCat(base, ": too many requests (HTTP 429)"), r));
    default:
      break;
  }
  if (r.status >= 500) {
    return Unavailable(WithDetail(absl::StrCat(base, ": HTTP ", r.status), r));
  }
  return absl::UnknownError(
      WithDetail(absl::StrCat(base, ": unexpected HTTP status ", r.status), r));
}

Status RegistryClient::Impl::EnsurePinged(std::stop_token stop) {
  std::lock_guard<std::mutex> lock(ping_mu_);
  if (pinged_) return absl::OkStatus();
  std::vector<std::string> schemes = {"https"};
  if (endpoint_.insecure) schemes.push_back("http");
  Status last;
  for (size_t i = 0; i < schemes.size(); ++i) {
    const std::string& scheme = schemes[i];
    bool may_fall_back = i + 1 < schemes.size();
    HttpRequest req;
    req.url = absl::StrCat(scheme, "://", api_host_, "/v2/");
    req.verify_tls = !endpoint_.insecure;
    HttpResponse resp;
    auto attempt = [&]() -> Attempt {
      resp = Perform(req, stop);
      if (resp.transport_ok()) return {absl::OkStatus(), false};
      Status s = resp.cancelled
                     ? absl::CancelledError("pinging container registry: cancelled")
                     : Unavailable(absl::StrCat("pinging container registry ", endpoint_.host, ": ",
                                                TransportErrorText(resp)));
      // An HTTPS failure on an insecure registry goes straight to the HTTP fallback.
      return {s, !may_fall_back && !resp.cancelled && IsTransientCurlError(resp.curl_code)};
    };
    last = RetryLoop("pinging container registry", stop, attempt);
    if (absl::IsCancelled(last)) return last;
    if (!last.ok()) {
      CRIO_LOG_DEBUG("registry {}: ping over {} failed: {}", endpoint_.host, scheme, Message(last));
      continue;
    }
    scheme_ = scheme;
    pinged_ = true;
    if (resp.status == 401) {
      std::lock_guard<std::mutex> auth_lock(auth_mu_);
      challenges_ = ParseWwwAuthenticate(resp.Header("www-authenticate"));
    }
    CRIO_LOG_DEBUG("registry {}: using {} (ping status {})", endpoint_.host, scheme, resp.status);
    return absl::OkStatus();
  }
  return last;
}

StatusOr<RegistryClient::Impl::Token> RegistryClient::Impl::FetchToken(
    const AuthChallenge& challenge, const std::string& scope, std::stop_token stop) {
  auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end() || realm_it->second.empty()) {
    return Unauthenticated(
        absl::StrCat("authenticating to ", endpoint_.host, ": bearer challenge without a realm"));
  }
  const std::string& realm = realm_it->second;
  std::string service;
  if (auto it = challenge.params.find("service"); it != challenge.params.end()) {
    service = it->second;
  }
  HttpRequest req;
  req.verify_tls = !endpoint_.insecure;
  std::string body;
  req.on_data = [&body](long, const char* data, size_t n) {
    if (body.size() + n > kMaxTokenResponse) return false;
    body.append(data, n);
    return true;
  };
  CurlEasy escaper(curl_easy_init());
  CRIO_CHECK(escaper != nullptr, "curl_easy_init failed (out of memory)");
  if (!credentials_.identity_token.empty()) {
    // OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md).
    req.method = "POST";
    req.url = realm;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.post_body =
        absl::StrCat("grant_type=refresh_token&refresh_token=",
                     UrlEscape(escaper.get(), credentials_.identity_token),
                     "&client_id=", UrlEscape(escaper.get(), options_.user_agent),
                     service.empty() ? "" : "&service=" + UrlEscape(escaper.get(), service),
                     scope.empty() ? "" : "&scope=" + UrlEscape(escaper.get(), scope));
  } else {
    std::string query;
    if (!service.empty()) absl::StrAppend(&query, "service=", UrlEscape(escaper.get(), service));
    if (!scope.empty()) {
      absl::StrAppend(&query, query.empty() ? "" : "&", "scope=", UrlEscape(escaper.get(), scope));
    }
    req.url = query.empty()
                  ? realm
                  : absl::StrCat(realm, realm.find('?') == std::string::npos ? "?" : "&", query);
    if (!credentials_.username.empty()) {
      req.headers.push_back(absl::StrCat(
          "Authorization: Basic ",
          Base64Encode(absl::StrCat(credentials_.username, ":", credentials_.password))));
    }
  }
  std::string what = absl::StrCat("requesting a token from ", realm);
  HttpResponse resp;
  Status s = RetryLoop(what, stop, [&]() -> Attempt {
    body.clear();
    resp = Perform(req, stop);
    if (!resp.transport_ok()) {
      return {Unavailable(absl::StrCat("authenticating to ", endpoint_.host, ": ", what, ": ",
                                       TransportErrorText(resp))),
              !resp.cancelled && IsTransientCurlError(resp.curl_code)};
    }
    if (resp.status == 401 || resp.status == 403) {
      std::string detail = RegistryErrorMessage(resp.error_body);
      return {Unauthenticated(absl::StrCat(
                  "authenticating to ", endpoint_.host, ": ", what, ": HTTP ", resp.status,
                  credentials_.username.empty() && credentials_.identity_token.empty()
                      ? " (no credentials)"
                      : " (invalid username/password?)",
                  detail.empty() ? "" : ": " + detail)),
              false};
    }
    if (resp.status != 200) {
      return {Unauthenticated(absl::StrCat("authenticating to ", endpoint_.host, ": ", what,
                                           ": HTTP ", resp.status)),
              IsTransientHttpStatus(resp.status)};
    }
    return {absl::OkStatus(), false};
  });
  RETURN_IF_ERROR(s);
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  Token token;
  if (!j.is_discarded() && j.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()) {
        token.value = j[key].get<std::string>();
        break;
      }
    }
  }
  if (token.value.empty()) {
    return Unauthenticated(
        absl::StrCat("authenticating to ", endpoint_.host, ": ", what, ": response has no token"));
  }
  std::chrono::seconds lifetime = kMinTokenLifetime;
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) {
    lifetime = std::max(lifetime, std::chrono::seconds(j["expires_in"].get<int64_t>()));
  }
  token.expires = Clock::now() + lifetime - kTokenExpiryMargin;
  return token;
}

StatusOr<std::string> RegistryClient::Impl::BearerToken(const AuthChallenge& challenge,
                                                        const std::string& scope, bool refresh,
                                                        std::stop_token stop) {
  auto param = [&](const char* name) {
    auto it = challenge.params.find(name);
    return it == challenge.params.end() ? std::string() : it->second;
  };
  std::string key = absl::StrCat(param("realm"), " ", param("service"), " ", scope);
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    auto it = tokens_.find(key);
    if (!refresh && it != tokens_.end() && it->second.expires > Clock::now()) {
      return it->second.value;
    }
  }
  // Fetched without the lock: parallel layer downloads must not queue behind a slow token
  // server. Two threads may fetch the same scope once; the later one wins the cache slot.
  ASSIGN_OR_RETURN(Token token, FetchToken(challenge, scope, stop));
  std::lock_guard<std::mutex> lock(auth_mu_);
  tokens_[key] = token;
  return token.value;
}

StatusOr<std::string> RegistryClient::Impl::AuthHeader(const std::string& scope,
                                                       std::stop_token stop) {
  if (!credentials_.registry_token.empty()) {
    return absl::StrCat("Authorization: Bearer ", credentials_.registry_token);
  }
  std::vector<AuthChallenge> challenges;
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    challenges = challenges_;
  }
  for (const AuthChallenge& c : challenges) {
    if (c.scheme == "bearer") {
      ASSIGN_OR_RETURN(std::string token, BearerToken(c, scope, /*refresh=*/false, stop));
      return absl::StrCat("Authorization: Bearer ", token);
    }
  }
  for (const AuthChallenge& c : challenges) {
    if (c.scheme == "basic" && !credentials_.username.empty()) {
      return absl::StrCat(
          "Authorization: Basic ",
          Base64Encode(absl::StrCat(credentials_.username, ":", credentials_.password)));
    }
  }
  return std::string();
}

StatusOr<bool> RegistryClient::Impl::HandleUnauthorized(const HttpResponse& r,
                                                        const std::string& scope,
                                                        std::stop_token stop) {
  if (!credentials_.registry_token.empty()) return false;
  std::vector<AuthChallenge> fresh = ParseWwwAuthenticate(r.Header("www-authenticate"));
  if (fresh.empty()) return false;
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    challenges_ = fresh;
  }
  for (const AuthChallenge& c : fresh) {
    if (c.scheme == "bearer") {
      // The registry names the scope it wants (it may differ from ours, e.g. more actions).
      auto it = c.params.find("scope");
      std::string want = it != c.params.end() && !it->second.empty() ? it->second : scope;
      ASSIGN_OR_RETURN(std::string token, BearerToken(c, want, /*refresh=*/true, stop));
      if (want != scope) {
        std::lock_guard<std::mutex> lock(auth_mu_);
        // Use the token the registry asked for under our scope key as well.
        auto p = [&](const char* name) {
          auto pit = c.params.find(name);
          return pit == c.params.end() ? std::string() : pit->second;
        };
        tokens_[absl::StrCat(p("realm"), " ", p("service"), " ", scope)] =
            tokens_[absl::StrCat(p("realm"), " ", p("service"), " ", want)];
      }
      return true;
    }
  }
  for (const AuthChallenge& c : fresh) {
    if (c.scheme == "basic") return !credentials_.username.empty();
  }
  return false;
}

HttpResponse RegistryClient::Impl::AuthorizedPerform(HttpRequest req, const std::string& scope,
                                                     std::stop_token stop, Status* auth_error) {
  *auth_error = absl::OkStatus();
  const size_t base_headers = req.headers.size();
  for (int round = 0; round < 2; ++round) {
    req.headers.resize(base_headers);
    StatusOr<std::string> auth = AuthHeader(scope, stop);
    if (!auth.ok()) {
      *auth_error = auth.status();
      return HttpResponse{};
    }
    if (!auth->empty()) req.headers.push_back(*auth);
    HttpResponse resp = Perform(req, stop);
    if (!resp.transport_ok() || resp.status != 401 || round == 1) return resp;
    StatusOr<bool> retry = HandleUnauthorized(resp, scope, stop);
    if (!retry.ok()) {
      *auth_error = retry.status();
      return resp;
    }
    if (!*retry) return resp;
  }
  return HttpResponse{};  // unreachable
}

StatusOr<ManifestResponse> RegistryClient::Impl::GetManifest(std::string_view repo,
                                                             std::string_view ref,
                                                             std::string_view accept,
                                                             std::stop_token stop) {
  if (repo.empty() || ref.empty()) {
    return InvalidArgument("GetManifest: empty repository or tag/digest");
  }
  bool by_digest = IsDigestRef(ref);
  if (by_digest) RETURN_IF_ERROR(ValidateDigest(ref));
  std::string image = absl::StrCat(Str(repo), by_digest ? "@" : ":", Str(ref));
  std::string what = absl::StrCat("fetching manifest ", image);
  RETURN_IF_ERROR(EnsurePinged(stop));

  std::string scope = absl::StrCat("repository:", Str(repo), ":pull");
  std::string body;
  bool too_large = false;
  HttpRequest req;
  req.url = absl::StrCat(BaseUrl(), "/v2/", Str(repo), "/manifests/", Str(ref));
  req.verify_tls = !endpoint_.insecure;
  req.headers.push_back(absl::StrCat("Accept: ", Str(accept)));
  req.on_data = [&](long, const char* data, size_t n) {
    if (body.size() + n > options_.max_manifest_size) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  };
  HttpResponse resp;
  Status s = RetryLoop(what, stop, [&]() -> Attempt {
    body.clear();
    Status auth_error;
    resp = AuthorizedPerform(req, scope, stop, &auth_error);
    if (!auth_error.ok()) return {auth_error, false};
    if (too_large) {
      return {InvalidArgument(absl::StrCat(what, ": manifest is larger than ",
                                           options_.max_manifest_size, " bytes")),
              false};
    }
    if (!resp.transport_ok()) {
      return {TransportError(what, resp),
              !resp.cancelled && !resp.stalled && IsTransientCurlError(resp.curl_code)};
    }
    if (resp.status == 200) return {absl::OkStatus(), false};
    if (resp.status == 404) return {NotFound(absl::StrCat("manifest unknown: ", image)), false};
    return {HttpError(what, resp), IsTransientHttpStatus(resp.status)};
  });
  RETURN_IF_ERROR(s);

  ManifestResponse out;
  out.content_digest = resp.Header("docker-content-digest");
  out.media_type = DetectManifestMediaType(body, resp.Header("content-type"));
  if (by_digest) {
    ASSIGN_OR_RETURN(out.digest, DigestLike(ref, body));
    if (out.digest != ref) {
      return absl::DataLossError(
          absl::StrCat("digest mismatch for manifest ", image, ": got ", out.digest));
    }
  } else {
    out.digest = Sha256Digest(body);
  }
  out.raw = std::move(body);
  return out;
}

Status RegistryClient::Impl::FetchBlob(std::string_view repo, std::string_view digest,
                                       int64_t expected_size, const BlobSink& sink,
                                       std::stop_token stop) {
  if (repo.empty()) return InvalidArgument("FetchBlob: empty repository");
  RETURN_IF_ERROR(ValidateDigest(digest));
  ASSIGN_OR_RETURN(DigestHasher hasher, DigestHasher::ForDigest(digest));
  std::string blob = absl::StrCat(Str(repo), "@", Str(digest));
  std::string what = absl::StrCat("fetching blob ", Str(digest));
  RETURN_IF_ERROR(EnsurePinged(stop));

  std::string scope = absl::StrCat("repository:", Str(repo), ":pull");
  int64_t delivered = 0;  // bytes hashed and handed to the sink, across attempts
  int64_t skip = 0;       // bytes to drop: a resumed request the server answered from byte 0
  bool first_chunk = true;
  bool oversize = false;
  Status sink_status;

  HttpRequest req;
  req.url = absl::StrCat(BaseUrl(), "/v2/", Str(repo), "/blobs/", Str(digest));
  req.verify_tls = !endpoint_.insecure;
  req.on_data = [&](long status, const char* data, size_t n) {
    if (first_chunk) {
      first_chunk = false;
      skip = (req.range_start > 0 && status != 206) ? req.range_start : 0;
    }
    if (skip > 0) {
      size_t drop = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(n)));
      skip -= static_cast<int64_t>(drop);
      data += drop;
      n -= drop;
      if (n == 0) return true;
    }
    if (expected_size >= 0 && delivered + static_cast<int64_t>(n) > expected_size) {
      oversize = true;
      return false;
    }
    hasher.Update(data, n);
    sink_status = sink(data, n);
    if (!sink_status.ok()) return false;
    delivered += static_cast<int64_t>(n);
    return true;
  };

  Status s = RetryLoop(what, stop, [&]() -> Attempt {
    req.range_start = delivered;
    first_chunk = true;
    skip = 0;
    Status auth_error;
    HttpResponse resp = AuthorizedPerform(req, scope, stop, &auth_error);
    if (!auth_error.ok()) return {auth_error, false};
    if (!sink_status.ok()) return {sink_status, false};
    if (oversize) {
      return {
          absl::DataLossError(absl::StrCat("size mismatch for blob ", Str(digest),
                                           ": more than the expected ", expected_size, " bytes")),
          false};
    }
    if (!resp.transport_ok()) {
      if (delivered > 0) {
        CRIO_LOG_DEBUG("registry {}: blob {} interrupted after {} bytes: {}", endpoint_.host,
                       Str(digest), delivered, TransportErrorText(resp));
      }
      return {TransportError(what, resp),
              !resp.cancelled && !resp.stalled && IsTransientCurlError(resp.curl_code)};
    }
    if (resp.status == 200 || resp.status == 206) return {absl::OkStatus(), false};
    if (resp.status == 404) return {NotFound(absl::StrCat("blob unknown: ", blob)), false};
    return {HttpError(what, resp), IsTransientHttpStatus(resp.status)};
  });
  RETURN_IF_ERROR(s);

  if (expected_size >= 0 && delivered != expected_size) {
    return absl::DataLossError(absl::StrCat("size mismatch for blob ", Str(digest), ": got ",
                                            delivered, " bytes, expected ", expected_size));
  }
  std::string got = hasher.Finish();
  if (got != digest) {
    return absl::DataLossError(
        absl::StrCat("digest mismatch for blob ", Str(digest), ": got ", got));
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------------------------------------------
// RegistryClient
// ----------------------------------------------------------------------------------------------

RegistryClient::RegistryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegistryClient::~RegistryClient() = default;

StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(Endpoint endpoint,
                                                                 Credentials credentials,
                                                                 RegistryClientOptions options) {
  Status valid = ValidateDomainName(endpoint.host);
  if (!valid.ok()) return Annotate(valid, "registry endpoint");
  CurlGlobalInit();
  ASSIGN_OR_RETURN(TlsFiles tls, LoadCertsDir(options.certs_dir, endpoint.host));
  auto impl = std::make_unique<Impl>(std::move(endpoint), std::move(credentials),
                                     std::move(options), std::move(tls));
  return std::unique_ptr<RegistryClient>(new RegistryClient(std::move(impl)));
}

const Endpoint& RegistryClient::endpoint() const { return impl_->endpoint(); }

StatusOr<ManifestResponse> RegistryClient::GetManifest(std::string_view repo,
                                                       std::string_view tag_or_digest,
                                                       std::string_view accept,
                                                       std::stop_token stop) {
  return impl_->GetManifest(repo, tag_or_digest, accept, stop);
}

Status RegistryClient::FetchBlob(std::string_view repo, std::string_view digest,
                                 int64_t expected_size, const BlobSink& sink,
                                 std::stop_token stop) {
  return impl_->FetchBlob(repo, digest, expected_size, sink, stop);
}

StatusOr<std::string> RegistryClient::FetchBlobToString(std::string_view repo,
                                                        std::string_view digest,
                                                        int64_t expected_size, size_t max_size,
                                                        std::stop_token stop) {
  if (expected_size > static_cast<int64_t>(max_size)) {
    return InvalidArgument(absl::StrCat("blob ", Str(digest), " (", expected_size,
                                        " bytes) is larger than the ", max_size, "-byte limit"));
  }
  std::string out;
  Status s = FetchBlob(
      repo, digest, expected_size,
      [&](const char* data, size_t n) -> Status {
        if (out.size() + n > max_size) {
          return InvalidArgument(
              absl::StrCat("blob ", Str(digest), " is larger than the ", max_size, "-byte limit"));
        }
        out.append(data, n);
        return absl::OkStatus();
      },
      stop);
  RETURN_IF_ERROR(s);
  return out;
}

StatusOr<ResolvedManifest> FetchImageManifest(RegistryClient& client, const Reference& ref,
                                              const Platform& platform, std::stop_token stop) {
  std::string image = ref.String();
  ASSIGN_OR_RETURN(ManifestResponse top,
                   client.GetManifest(ref.path, ref.TagOrDigest(), kManifestAcceptHeader, stop));
  ASSIGN_OR_RETURN(Manifest parsed, ParseManifest(top.raw, top.media_type, image));
  ResolvedManifest out;
  out.top_digest = top.digest;
  if (auto* m = std::get_if<ImageManifest>(&parsed)) {
    out.manifest_digest = top.digest;
    out.raw = std::move(top);
    out.manifest = std::move(*m);
    return out;
  }
  const ImageIndex& index = std::get<ImageIndex>(parsed);
  ASSIGN_OR_RETURN(Descriptor chosen, SelectManifestForPlatform(index, platform));
  StatusOr<ManifestResponse> instance =
      client.GetManifest(ref.path, chosen.digest, kManifestAcceptHeader, stop);
  if (!instance.ok()) return Annotate(instance.status(), absl::StrCat("image ", image));
  ASSIGN_OR_RETURN(Manifest inner, ParseManifest(instance->raw, instance->media_type, image));
  auto* m = std::get_if<ImageManifest>(&inner);
  if (m == nullptr) {
    return InvalidArgument(absl::StrCat("image ", image, ": manifest list entry ", chosen.digest,
                                        " is itself a manifest list"));
  }
  out.manifest_digest = instance->digest;
  out.raw = std::move(*instance);
  out.manifest = std::move(*m);
  return out;
}

}  // namespace crio::image
