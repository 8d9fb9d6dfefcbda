// RegistryClient against a tiny in-process HTTP/1.1 server on 127.0.0.1 (plain sockets, one
// thread per connection, keep-alive). The client is used with `insecure = true`, so each test
// also exercises the HTTPS attempt and the fallback to plain HTTP.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image/digest.h"
#include "image/registry_client.h"
#include "support/temp_dir.h"

namespace crio::image {
namespace {

using std::chrono::milliseconds;

struct TestRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
  int connection = 0;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string Path() const { return target.substr(0, target.find('?')); }
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Failure injection: send only this many body bytes (Content-Length still announces all),
  // then wait `stall` and close the connection.
  size_t send_bytes = std::string::npos;
  milliseconds stall{0};
};

class TestServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(listen_fd_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestServer() {
    stop_ = true;
    acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
    close(listen_fd_);
  }

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }

  std::vector<TestRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int CountPath(const std::string& path) const {
    int n = 0;
    for (const TestRequest& r : requests()) n += r.Path() == path ? 1 : 0;
    return n;
  }
  int connections() const { return connections_; }
  int tls_attempts() const { return tls_attempts_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int id = ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      threads_.emplace_back([this, fd, id] { Serve(fd, id); });
    }
  }

  // Reads more bytes into `buf`; false on EOF, error or stop.
  bool ReadMore(int fd, std::string& buf) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, 50);
      if (r == 0) continue;
      if (r < 0) return false;
      char tmp[65536];
      ssize_t n = read(fd, tmp, sizeof tmp);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
    return false;
  }

  bool WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void Serve(int fd, int id) {
    std::string buf;
    while (!stop_) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!buf.empty() && buf[0] == '\x16') {  // a TLS ClientHello: we only speak HTTP
          ++tls_attempts_;
          close(fd);
          return;
        }
        if (!ReadMore(fd, buf)) {
          close(fd);
          return;
        }
      }
      TestRequest req = ParseHead(buf.substr(0, end));
      req.connection = id;
      buf.erase(0, end + 4);
      size_t content_length = 0;
      if (!req.Header("content-length").empty()) {
        content_length = std::stoul(req.Header("content-length"));
      }
      while (buf.size() < content_length) {
        if (!ReadMore(fd, buf)) {
          close(fd);
          return;
        }
      }
      req.body = buf.substr(0, content_length);
      buf.erase(0, content_length);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      TestResponse resp = handler_(req);
      if (!Respond(fd, resp)) {
        close(fd);
        return;
      }
    }
    close(fd);
  }

  bool Respond(int fd, const TestResponse& resp) {
    std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " X\r\n";
    for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";
    head += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n";
    if (!WriteAll(fd, head)) return false;
    if (resp.send_bytes == std::string::npos) return WriteAll(fd, resp.body);
    WriteAll(fd, std::string_view(resp.body).substr(0, resp.send_bytes));
    auto until = std::chrono::steady_clock::now() + resp.stall;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;  // drop the connection
  }

  static TestRequest ParseHead(const std::string& head) {
    TestRequest req;
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    size_t sp1 = first.find(' ');
    size_t sp2 = first.find(' ', sp1 + 1);
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        req.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = e + 2;
    }
    return req;
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> tls_attempts_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> threads_;
  std::vector<TestRequest> requests_;
};

// --- fixtures ----------------------------------------------------------------------------------

std::string Blob(size_t size, char seed) {
  std::string s(size, '\0');
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

const std::string kManifest =
    R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",)"
    R"( "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,)"
    R"( "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},)"
    R"( "layers": []})";

TestResponse Json(int status, const std::string& body) {
  return TestResponse{status, {{"Content-Type", "application/json"}}, body};
}

TestResponse Unauthorized(const TestServer* server) {
  TestResponse r =
      Json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
  r.headers.push_back({"WWW-Authenticate",
                       "Bearer realm=\"" + server->url() + "/token\",service=\"test-registry\""});
  return r;
}

RegistryClientOptions FastOptions() {
  RegistryClientOptions o;
  o.initial_backoff = milliseconds(10);
  o.max_backoff = milliseconds(40);
  o.connect_timeout = milliseconds(2000);
  return o;
}

std::unique_ptr<RegistryClient> MakeClient(const std::string& host, Credentials creds = {},
                                           RegistryClientOptions options = FastOptions(),
                                           bool insecure = true) {
  StatusOr<std::unique_ptr<RegistryClient>> c =
      RegistryClient::Create(Endpoint{host, insecure}, std::move(creds), std::move(options));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

bool Contains(const Status& s, const std::string& fragment) {
  return std::string(s.message()).find(fragment) != std::string::npos;
}

Status Collect(std::string& out, const char* data, size_t n) {
  out.append(data, n);
  return absl::OkStatus();
}

// --- tests -------------------------------------------------------------------------------------

TEST(RegistryClient, BearerTokenFlow_FetchesTokenOnceAndSendsIt) {
  const std::string blob = Blob(100000, 'a');
  const std::string blob_digest = Sha256Digest(blob);
  TestServer* self = nullptr;
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/token") {
      if (r.Header("authorization") != "Basic " + Base64Encode("alice:pw")) {
        return Json(401, "{}");
      }
      return Json(200, R"({"token": "tok123", "expires_in": 300})");
    }
    if (r.Header("authorization") != "Bearer tok123") return Unauthorized(self);
    if (r.Path() == "/v2/library/app/manifests/v1") {
      return TestResponse{200,
                          {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                           {"Docker-Content-Digest", Sha256Digest(kManifest)}},
                          kManifest};
    }
    if (r.Path() == "/v2/library/app/blobs/" + blob_digest) return TestResponse{200, {}, blob};
    return Json(404, "{}");
  });
  self = &server;
  auto client = MakeClient(server.host(), Credentials{"alice", "pw", "", ""});

  StatusOr<ManifestResponse> m = client->GetManifest("library/app", "v1");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->raw, kManifest);
  EXPECT_EQ(m->media_type, kMediaTypeOciManifest);
  EXPECT_EQ(m->digest, Sha256Digest(kManifest));
  EXPECT_EQ(m->content_digest, Sha256Digest(kManifest));

  std::string got;
  Status s = client->FetchBlob("library/app", blob_digest, static_cast<int64_t>(blob.size()),
                               [&](const char* d, size_t n) { return Collect(got, d, n); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(got, blob);

  EXPECT_EQ(server.CountPath("/token"), 1);  // cached for the second request
  for (const TestRequest& r : server.requests()) {
    if (r.Path() == "/token") {
      EXPECT_NE(r.target.find("scope=repository%3Alibrary%2Fapp%3Apull"), std::string::npos)
          << r.target;
      EXPECT_NE(r.target.find("service=test-registry"), std::string::npos);
    } else if (r.Path() != "/v2/") {
      EXPECT_EQ(r.Header("authorization"), "Bearer tok123") << r.target;
    }
  }
  EXPECT_GE(server.tls_attempts(), 1);  // tried HTTPS first, then fell back to HTTP
}

TEST(RegistryClient, RegistryTokenFromCri_IsSentWithoutTokenEndpoint) {
  TestServer* self = nullptr;
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Header("authorization") != "Bearer cri-token") return Unauthorized(self);
    return TestResponse{
        200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, kManifest};
  });
  self = &server;
  auto client = MakeClient(server.host(), Credentials{"", "", "", "cri-token"});
  StatusOr<ManifestResponse> m = client->GetManifest("a/b", "latest");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(server.CountPath("/token"), 0);
}

TEST(RegistryClient, BasicChallenge_SendsBasicCredentials) {
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Header("authorization") != "Basic " + Base64Encode("bob:secret")) {
      TestResponse resp = Json(401, "{}");
      resp.headers.push_back({"WWW-Authenticate", "Basic realm=\"test\""});
      return resp;
    }
    return TestResponse{
        200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, kManifest};
  });
  auto client = MakeClient(server.host(), Credentials{"bob", "secret", "", ""});
  StatusOr<ManifestResponse> m = client->GetManifest("a/b", "latest");
  ASSERT_TRUE(m.ok()) << m.status();
}

TEST(RegistryClient, TokenEndpointRejectsCredentials_IsUnauthenticated) {
  TestServer* self = nullptr;
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/token") {
      return Json(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad password"}]})");
    }
    return Unauthorized(self);
  });
  self = &server;
  auto client = MakeClient(server.host(), Credentials{"alice", "wrong", "", ""});
  StatusOr<ManifestResponse> m = client->GetManifest("library/app", "v1");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kUnauthenticated) << m.status();
  EXPECT_TRUE(Contains(m.status(), "authenticating to " + server.host())) << m.status();
  EXPECT_TRUE(Contains(m.status(), "bad password")) << m.status();
  EXPECT_EQ(server.CountPath("/token"), 1);  // 401 is never retried
}

TEST(RegistryClient, ManifestNotFound_IsNotFoundAndNotRetried) {
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    return Json(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  });
  auto client = MakeClient(server.host());
  StatusOr<ManifestResponse> m = client->GetManifest("library/app", "missing");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(m.status().message()), "manifest unknown: library/app:missing");
  EXPECT_EQ(server.CountPath("/v2/library/app/manifests/missing"), 1);

  std::string sink;
  Status s = client->FetchBlob("library/app", Sha256Digest("x"), 1,
                               [&](const char* d, size_t n) { return Collect(sink, d, n); });
  ASSERT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(s, "blob unknown: library/app@sha256:")) << s;
  EXPECT_TRUE(sink.empty());  // the 404 body never reaches the sink
}

TEST(RegistryClient, BlobDigestMismatch_IsDataLoss) {
  const std::string blob = Blob(5000, 'b');
  const std::string digest = Sha256Digest(blob);
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    return TestResponse{200, {}, Blob(5000, 'c')};  // same size, other bytes
  });
  auto client = MakeClient(server.host());
  std::string got;
  Status s = client->FetchBlob("a/b", digest, 5000,
                               [&](const char* d, size_t n) { return Collect(got, d, n); });
  ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(
      Contains(s, "digest mismatch for blob " + digest + ": got " + Sha256Digest(Blob(5000, 'c'))))
      << s;
}

TEST(RegistryClient, BlobSizeMismatch_IsDataLoss) {
  const std::string blob = Blob(3000, 'd');
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    return TestResponse{200, {}, blob};
  });
  auto client = MakeClient(server.host());
  std::string got;
  Status smaller = client->FetchBlob("a/b", Sha256Digest(blob), 2000,
                                     [&](const char* d, size_t n) { return Collect(got, d, n); });
  EXPECT_EQ(smaller.code(), absl::StatusCode::kDataLoss) << smaller;
  EXPECT_TRUE(Contains(smaller, "size mismatch")) << smaller;
  Status larger = client->FetchBlob("a/b", Sha256Digest(blob), 4000,
                                    [&](const char*, size_t) { return absl::OkStatus(); });
  EXPECT_EQ(larger.code(), absl::StatusCode::kDataLoss) << larger;
  EXPECT_TRUE(Contains(larger, "got 3000 bytes, expected 4000")) << larger;
}

TEST(RegistryClient, ManifestByDigestMismatch_IsDataLoss) {
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    return TestResponse{
        200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, kManifest + " "};
  });
  auto client = MakeClient(server.host());
  StatusOr<ManifestResponse> m = client->GetManifest("a/b", Sha256Digest(kManifest));
  ASSERT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << m.status();
  EXPECT_TRUE(Contains(m.status(), "digest mismatch for manifest a/b@" + Sha256Digest(kManifest)));
}

TEST(RegistryClient, ServiceUnavailableThenOk_IsRetried) {
  const std::string blob = Blob(20000, 'e');
  std::atomic<int> calls{0};
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    if (++calls == 1) return Json(503, R"({"errors":[{"code":"UNAVAILABLE","message":"busy"}]})");
    return TestResponse{200, {}, blob};
  });
  auto client = MakeClient(server.host());
  std::string got;
  Status s = client->FetchBlob("a/b", Sha256Digest(blob), static_cast<int64_t>(blob.size()),
                               [&](const char* d, size_t n) { return Collect(got, d, n); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(got, blob);  // the 503 body did not leak into the sink
  EXPECT_EQ(calls.load(), 2);
}

TEST(RegistryClient, PersistentServerError_GivesUpAfterMaxAttempts) {
  std::atomic<int> calls{0};
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    ++calls;
    return Json(502, "{}");
  });
  auto client = MakeClient(server.host());
  StatusOr<ManifestResponse> m = client->GetManifest("a/b", "1");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kUnavailable) << m.status();
  EXPECT_TRUE(Contains(m.status(), "HTTP 502"));
  EXPECT_EQ(calls.load(), 3);
}

TEST(RegistryClient, DroppedConnection_ResumesWithRange) {
  const std::string blob = Blob(300000, 'f');
  std::atomic<int> calls{0};
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    if (++calls == 1) {
      TestResponse partial{200, {}, blob};
      partial.send_bytes = 100000;
      return partial;
    }
    std::string range = r.Header("range");  // "bytes=N-"
    size_t from = std::stoul(range.substr(6));
    return TestResponse{
        206,
        {{"Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(blob.size() - 1) +
                               "/" + std::to_string(blob.size())}},
        blob.substr(from)};
  });
  auto client = MakeClient(server.host());
  std::string got;
  Status s = client->FetchBlob("a/b", Sha256Digest(blob), static_cast<int64_t>(blob.size()),
                               [&](const char* d, size_t n) { return Collect(got, d, n); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(got, blob);
  std::vector<TestRequest> reqs = server.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().Header("range"), "bytes=100000-");
}

TEST(RegistryClient, DroppedConnectionAndRangeIgnored_SkipsAlreadyDeliveredBytes) {
  const std::string blob = Blob(200000, 'g');
  std::atomic<int> calls{0};
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    TestResponse full{200, {}, blob};
    if (++calls == 1) full.send_bytes = 50000;
    return full;
  });
  auto client = MakeClient(server.host());
  std::string got;
  Status s = client->FetchBlob("a/b", Sha256Digest(blob), static_cast<int64_t>(blob.size()),
                               [&](const char* d, size_t n) { return Collect(got, d, n); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(got, blob);  // each byte exactly once
}

TEST(RegistryClient, SinkError_AbortsAndIsReturned) {
  const std::string blob = Blob(4 << 20, 'h');
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    return TestResponse{200, {}, blob};
  });
  auto client = MakeClient(server.host());
  size_t seen = 0;
  int calls = 0;
  Status s = client->FetchBlob("a/b", Sha256Digest(blob), static_cast<int64_t>(blob.size()),
                               [&](const char*, size_t n) -> Status {
                                 seen += n;
                                 if (++calls == 2) return Internal("disk full");
                                 return absl::OkStatus();
                               });
  EXPECT_EQ(s, Internal("disk full"));
  EXPECT_EQ(calls, 2);
  EXPECT_LT(seen, blob.size());
}

TEST(RegistryClient, RedirectToOtherHost_DropsAuthorization) {
  const std::string blob = Blob(10000, 'i');
  const std::string digest = Sha256Digest(blob);
  TestServer* self = nullptr;
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/token") return Json(200, R"({"token": "t"})");
    if (r.Path().rfind("/storage/", 0) == 0) return TestResponse{200, {}, blob};
    if (r.Header("authorization") != "Bearer t") return Unauthorized(self);
    if (r.Path() == "/v2/a/same/blobs/" + digest) {
      return TestResponse{307, {{"Location", self->url() + "/storage/same"}}, ""};
    }
    // "localhost" is another host name for curl, though the same server.
    return TestResponse{
        307,
        {{"Location", "http://localhost:" + std::to_string(self->port()) + "/storage/other"}},
        ""};
  });
  self = &server;
  auto client = MakeClient(server.host());
  for (const std::string repo : {"a/same", "a/other"}) {
    std::string got;
    Status s = client->FetchBlob(repo, digest, static_cast<int64_t>(blob.size()),
                                 [&](const char* d, size_t n) { return Collect(got, d, n); });
    ASSERT_TRUE(s.ok()) << repo << ": " << s;
    EXPECT_EQ(got, blob);
  }
  for (const TestRequest& r : server.requests()) {
    if (r.Path() == "/storage/same") {
      EXPECT_EQ(r.Header("authorization"), "Bearer t");
    }
    if (r.Path() == "/storage/other") {
      EXPECT_EQ(r.Header("authorization"), "");
    }
  }
  EXPECT_EQ(server.CountPath("/storage/other"), 1);
}

TEST(RegistryClient, ConnectionRefused_IsUnavailable) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);  // nothing listens on this port now
  std::string host = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto client = MakeClient(host);
  StatusOr<ManifestResponse> m = client->GetManifest("a/b", "1");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kUnavailable) << m.status();
  EXPECT_TRUE(Contains(m.status(), "pinging container registry " + host + ": ")) << m.status();
  EXPECT_TRUE(Contains(m.status(), "onnection refused")) << m.status();
}

TEST(RegistryClient, SecureEndpointOnPlainHttpServer_DoesNotFallBack) {
  TestServer server([&](const TestRequest&) { return Json(200, "{}"); });
  auto client = MakeClient(server.host(), {}, FastOptions(), /*insecure=*/false);
  StatusOr<ManifestResponse> m = client->GetManifest("a/b", "1");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kUnavailable) << m.status();
  EXPECT_TRUE(server.requests().empty());  // never spoke plain HTTP
}

TEST(RegistryClient, NoProgress_AbortsAfterProgressTimeout) {
  const std::string blob = Blob(100000, 'j');
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    TestResponse stalled{200, {}, blob};
    stalled.send_bytes = 1000;
    stalled.stall = milliseconds(10000);
    return stalled;
  });
  RegistryClientOptions options = FastOptions();
  options.progress_timeout = milliseconds(300);
  auto client = MakeClient(server.host(), {}, options);
  auto start = std::chrono::steady_clock::now();
  Status s = client->FetchBlob("a/b", Sha256Digest(blob), static_cast<int64_t>(blob.size()),
                               [](const char*, size_t) { return absl::OkStatus(); });
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_TRUE(Contains(s, "no progress for 300ms")) << s;
  EXPECT_LT(elapsed, std::chrono::seconds(4));
}

TEST(RegistryClient, StopToken_CancelsStalledTransfer) {
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    TestResponse stalled{200, {}, Blob(5000, 'k')};
    stalled.send_bytes = 10;
    stalled.stall = milliseconds(10000);
    return stalled;
  });
  auto client = MakeClient(server.host());
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  Status s = client->FetchBlob(
      "a/b", Sha256Digest("x"), 5000, [](const char*, size_t) { return absl::OkStatus(); },
      stop.get_token());
  canceller.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
}

TEST(RegistryClient, ParallelFetches_ShareClientAndReuseConnections) {
  std::vector<std::string> blobs;
  for (char c = 'l'; c < 'l' + 4; ++c) blobs.push_back(Blob(200000, c));
  TestServer* self = nullptr;
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/token") return Json(200, R"({"token": "p"})");
    if (r.Header("authorization") != "Bearer p") return Unauthorized(self);
    for (const std::string& b : blobs) {
      if (r.Path() == "/v2/a/b/blobs/" + Sha256Digest(b)) return TestResponse{200, {}, b};
    }
    return Json(404, "{}");
  });
  self = &server;
  auto client = MakeClient(server.host());
  constexpr int kThreads = 4;
  constexpr int kRounds = 3;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string& b = blobs[(t + round) % blobs.size()];
        std::string got;
        Status s = client->FetchBlob("a/b", Sha256Digest(b), static_cast<int64_t>(b.size()),
                                     [&](const char* d, size_t n) { return Collect(got, d, n); });
        if (s.ok() && got == b) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRounds);
  int blob_requests = 0;
  for (const TestRequest& r : server.requests()) {
    blob_requests += r.Path().rfind("/v2/a/b/blobs/", 0) == 0 ? 1 : 0;
  }
  EXPECT_GE(blob_requests, kThreads * kRounds);
  // Connections are reused: far fewer TCP connections than HTTP requests (the TLS probe of the
  // ping costs one connection).
  EXPECT_LE(server.connections(), kThreads + 2);
}

TEST(RegistryClient, FetchBlobToString_EnforcesLimit) {
  const std::string config = R"({"architecture": "amd64"})";
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    return TestResponse{200, {}, config};
  });
  auto client = MakeClient(server.host());
  StatusOr<std::string> got =
      client->FetchBlobToString("a/b", Sha256Digest(config), static_cast<int64_t>(config.size()));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, config);
  StatusOr<std::string> capped = client->FetchBlobToString("a/b", Sha256Digest(config), -1, 10);
  EXPECT_EQ(capped.status().code(), absl::StatusCode::kInvalidArgument) << capped.status();
}

TEST(FetchImageManifest, Index_SelectsPlatformAndFetchesByDigest) {
  const std::string arm =
      R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",)"
      R"( "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1,)"
      R"( "digest": "sha256:)" +
      std::string(64, 'e') + R"("}, "layers": []})";
  const std::string index =
      R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",)"
      R"( "manifests": [)"
      R"({"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": ")" +
      Sha256Digest(kManifest) +
      R"(", "platform": {"os": "linux", "architecture": "amd64"}},)"
      R"({"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": ")" +
      Sha256Digest(arm) + R"(", "platform": {"os": "linux", "architecture": "arm64"}}]})";
  TestServer server([&](const TestRequest& r) -> TestResponse {
    if (r.Path() == "/v2/") return Json(200, "{}");
    if (r.Path() == "/v2/ns/app/manifests/1.0") {
      return TestResponse{
          200, {{"Content-Type", "application/vnd.oci.image.index.v1+json"}}, index};
    }
    if (r.Path() == "/v2/ns/app/manifests/" + Sha256Digest(arm)) {
      return TestResponse{
          200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, arm};
    }
    return Json(404, "{}");
  });
  auto client = MakeClient(server.host());
  StatusOr<Reference> ref = ParseReference(server.host() + "/ns/app:1.0");
  ASSERT_TRUE(ref.ok()) << ref.status();
  StatusOr<ResolvedManifest> resolved =
      FetchImageManifest(*client, *ref, Platform{"linux", "arm64", "v8", "", {}});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->top_digest, Sha256Digest(index));
  EXPECT_EQ(resolved->manifest_digest, Sha256Digest(arm));
  EXPECT_EQ(resolved->manifest.config.digest, "sha256:" + std::string(64, 'e'));
  EXPECT_EQ(resolved->raw.raw, arm);
}

TEST(RegistryClientCreate, CertWithoutKey_IsFailedPrecondition) {
  testing::TempDir tmp;
  const std::string& dir = tmp.path();
  ASSERT_FALSE(dir.empty());
  std::filesystem::create_directories(dir + "/reg.example.com:5000");
  std::ofstream(dir + "/reg.example.com:5000/client.cert") << "not really a cert";
  RegistryClientOptions options;
  options.certs_dir = dir;
  StatusOr<std::unique_ptr<RegistryClient>> c =
      RegistryClient::Create(Endpoint{"reg.example.com:5000", false}, {}, options);
  ASSERT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition) << c.status();
  EXPECT_TRUE(Contains(c.status(), "missing key")) << c.status();
}

TEST(RegistryClientCreate, InvalidHost_IsInvalidArgument) {
  EXPECT_EQ(RegistryClient::Create(Endpoint{"bad host/x", false}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crio::image
