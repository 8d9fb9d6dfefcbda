#include "http/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "os/socket.h"
#include "support/temp_dir.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace crio::http {
namespace {

using namespace std::chrono_literals;

// Reads from `fd` until the peer closes it or `until` appears in what was read.
std::string ReadUntil(int fd, std::string_view until = {}) {
  std::string out;
  char buf[4096];
  for (;;) {
    if (!until.empty() && out.find(until) != std::string::npos) return out;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(Router router, ServerOptions options = {}) {
    auto listener = os::ListenTcp("127.0.0.1", 0);
    ASSERT_TRUE(listener.ok()) << listener.status();
    auto port = os::BoundPort(listener->get());
    ASSERT_TRUE(port.ok());
    port_ = *port;
    auto server = Server::Start(std::move(*listener), std::move(router), std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  os::UniqueFd Connect() {
    auto fd = os::ConnectTcp("127.0.0.1", port_);
    EXPECT_TRUE(fd.ok()) << fd.status();
    return fd.ok() ? std::move(*fd) : os::UniqueFd();
  }
  // Waits until the server counts `n` open connections.
  void WaitForConnections(size_t n) {
    for (int i = 0; i < 500 && server_->active_connections() != n; ++i) {
      std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(server_->active_connections(), n);
  }

  int port_ = 0;
  std::unique_ptr<Server> server_;
};

Router HelloRouter() {
  Router router;
  router.Handle("/hello", [](Exchange& ex) {
    (void)ex.Respond(MakeResponse(ex.request(), beast_http::status::ok, "hi\n"));
  });
  router.Handle("/files/", [](Exchange& ex) {
    (void)ex.Respond(
        MakeResponse(ex.request(), beast_http::status::ok, std::string(ex.path()) + "\n"));
  });
  return router;
}

TEST(HttpRouter, LongestPrefixAndExactMatches) {
  Router router;
  int hit = 0;
  router.Handle("/a/", [&](Exchange&) { hit = 1; });
  router.Handle("/a/b/", [&](Exchange&) { hit = 2; });
  router.Handle("/exact", [&](Exchange&) { hit = 3; });
  EXPECT_NE(router.Find("/a/x"), nullptr);
  EXPECT_EQ(router.Find("/a"), nullptr);
  EXPECT_EQ(router.Find("/exact/more"), nullptr);
  EXPECT_EQ(router.Find("/nothing"), nullptr);
  ASSERT_NE(router.Find("/a/b/c"), nullptr);
  (*router.Find("/a/b/c"))(*static_cast<Exchange*>(nullptr));
  EXPECT_EQ(hit, 2);
  (*router.Find("/exact"))(*static_cast<Exchange*>(nullptr));
  EXPECT_EQ(hit, 3);
}

TEST_F(HttpServerTest, ServesRoutesWithKeepAliveAnd404) {
  StartServer(HelloRouter());
  os::UniqueFd fd = Connect();
  ASSERT_TRUE(os::WriteAll(fd.get(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  std::string first = ReadUntil(fd.get(), "hi\n");
  EXPECT_NE(first.find("HTTP/1.1 200 OK"), std::string::npos) << first;
  // The same connection serves the next request.
  ASSERT_TRUE(os::WriteAll(fd.get(), "GET /files/a/b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  std::string second = ReadUntil(fd.get(), "/files/a/b\n");
  EXPECT_NE(second.find("200 OK"), std::string::npos) << second;
  ASSERT_TRUE(
      os::WriteAll(fd.get(), "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
  std::string third = ReadUntil(fd.get());
  EXPECT_NE(third.find("404 Not Found"), std::string::npos) << third;
}

TEST_F(HttpServerTest, OversizedHeaderIsRefusedWith431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(HelloRouter(), options);
  os::UniqueFd fd = Connect();
  std::string req =
      "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  ASSERT_TRUE(os::WriteAll(fd.get(), req).ok());
  EXPECT_NE(ReadUntil(fd.get()).find("431"), std::string::npos);
}

TEST_F(HttpServerTest, GarbageIsRefusedWith400) {
  StartServer(HelloRouter());
  os::UniqueFd fd = Connect();
  ASSERT_TRUE(os::WriteAll(fd.get(), "\x01\x02 not http\r\n\r\n").ok());
  EXPECT_NE(ReadUntil(fd.get()).find("400 Bad Request"), std::string::npos);
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterTheRequestTimeout) {
  ServerOptions options;
  options.request_timeout = 100ms;
  StartServer(HelloRouter(), options);
  os::UniqueFd fd = Connect();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadUntil(fd.get()), "");  // closed without a word
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  WaitForConnections(0);
}

TEST_F(HttpServerTest, UpgradeHandsOverTheSocketWithBufferedBytes) {
  Router router;
  router.Handle("/echo", [](Exchange& ex) {
    Response r{beast_http::status::switching_protocols, 11};
    r.set(beast_http::field::connection, "Upgrade");
    r.set(beast_http::field::upgrade, "echo");
    auto conn = ex.Upgrade(std::move(r));
    if (!conn.ok()) return;
    std::string data = conn->initial_bytes;
    (void)os::WriteAll(conn->fd.get(), "[" + data + "]");
    char buf[256];
    ssize_t n;
    while ((n = ::recv(conn->fd.get(), buf, sizeof buf, 0)) > 0) {
      (void)os::WriteAll(conn->fd.get(), std::string_view(buf, static_cast<size_t>(n)));
    }
  });
  StartServer(std::move(router));
  os::UniqueFd fd = Connect();
  // The request and the first protocol bytes arrive in one segment.
  ASSERT_TRUE(os::WriteAll(fd.get(),
                           "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                           "Upgrade: echo\r\n\r\nearly")
                  .ok());
  std::string got = ReadUntil(fd.get(), "[early]");
  EXPECT_NE(got.find("101 Switching Protocols"), std::string::npos) << got;
  EXPECT_NE(got.find("[early]"), std::string::npos) << got;
  ASSERT_TRUE(os::WriteAll(fd.get(), "ping").ok());
  EXPECT_EQ(ReadUntil(fd.get(), "ping"), "ping");
  WaitForConnections(1);
  // Stop() shuts the upgraded session down under its handler.
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(ReadUntil(fd.get()), "");
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitGet503) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(HelloRouter(), options);
  os::UniqueFd a = Connect();
  os::UniqueFd b = Connect();
  WaitForConnections(2);
  os::UniqueFd c = Connect();
  EXPECT_NE(ReadUntil(c.get()).find("503"), std::string::npos);
  a.reset();
  WaitForConnections(1);
  os::UniqueFd d = Connect();
  ASSERT_TRUE(
      os::WriteAll(d.get(), "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
  EXPECT_NE(ReadUntil(d.get()).find("200 OK"), std::string::npos);
}

TEST_F(HttpServerTest, HandlerExceptionGives500) {
  Router router;
  router.Handle("/throw", [](Exchange&) { throw std::runtime_error("boom"); });
  StartServer(std::move(router));
  os::UniqueFd fd = Connect();
  ASSERT_TRUE(
      os::WriteAll(fd.get(), "GET /throw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
  EXPECT_NE(ReadUntil(fd.get()).find("500 Internal Server Error"), std::string::npos);
}

TEST(HttpServerUnix, ServesOnAUnixSocket) {
  testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.Sub("s.sock");
  auto listener = os::ListenUnix(path);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto server = Server::Start(std::move(*listener), HelloRouter(), {});
  ASSERT_TRUE(server.ok());
  auto fd = os::ConnectUnix(path);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(
      os::WriteAll(fd->get(), "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
  EXPECT_NE(ReadUntil(fd->get()).find("hi\n"), std::string::npos);
  (*server)->Stop();
}

// The CRI socket's routing: connections starting with the divert prefix leave the HTTP server
// unread; all others are served as HTTP/1.1.
TEST_F(HttpServerTest, DivertPrefix_HandsTheSocketOverUnread) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<os::UniqueFd> diverted;
  ServerOptions options;
  options.divert_prefix = "PRI * HTTP/2.0\r\n";
  options.divert = [&](os::UniqueFd fd) {
    std::lock_guard lock(mu);
    diverted.push_back(std::move(fd));
    cv.notify_all();
  };
  StartServer(HelloRouter(), options);

  // The prefix in two writes: the server waits for the rest before it decides.
  os::UniqueFd h2 = Connect();
  ASSERT_TRUE(os::WriteAll(h2.get(), "PRI * HT").ok());
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(os::WriteAll(h2.get(), "TP/2.0\r\n\r\nSM\r\n\r\n").ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return diverted.size() == 1; }));
  }
  // Nothing was consumed: the new owner reads the whole preface.
  char buf[64] = {};
  ssize_t n = ::recv(diverted[0].get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? size_t(n) : 0), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  WaitForConnections(0);

  // HTTP/1.1 on the same listener is still served here.
  os::UniqueFd h1 = Connect();
  ASSERT_TRUE(
      os::WriteAll(h1.get(), "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
  EXPECT_NE(ReadUntil(h1.get()).find("hi\n"), std::string::npos);
  std::lock_guard lock(mu);
  EXPECT_EQ(diverted.size(), 1u);
}

// ---- TLS ----

// A self-signed certificate for CN=`cn` written to dir/cert.pem and dir/key.pem by openssl(1).
bool MakeCertificate(const std::string& dir, const std::string& cn) {
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + cn +
                    " -keyout " + dir + "/key.pem.new -out " + dir +
                    "/cert.pem.new 2>/dev/null && mv " + dir + "/key.pem.new " + dir +
                    "/key.pem && mv " + dir + "/cert.pem.new " + dir + "/cert.pem";
  return std::system(cmd.c_str()) == 0;
}

struct TlsReply {
  bool handshake = false;
  std::string peer_cn;
  std::string response;
};

// One HTTPS GET with OpenSSL as the client; `client_cert_dir` non-empty presents its cert.
TlsReply HttpsGet(int port, const std::string& path, const std::string& client_cert_dir = "") {
  TlsReply out;
  auto fd = os::ConnectTcp("127.0.0.1", port);
  if (!fd.ok()) return out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!client_cert_dir.empty()) {
    SSL_CTX_use_certificate_file(ctx, (client_cert_dir + "/cert.pem").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, (client_cert_dir + "/key.pem").c_str(), SSL_FILETYPE_PEM);
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd->get());
  if (SSL_connect(ssl) == 1) {
    out.handshake = true;
    if (X509* cert = SSL_get1_peer_certificate(ssl)) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
      out.peer_cn = cn;
      X509_free(cert);
    }
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, req.data(), static_cast<int>(req.size()));
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) out.response.append(buf, size_t(n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

class HttpsServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.empty());
    ASSERT_TRUE(MakeCertificate(dir_, "first")) << "openssl(1) is needed";
  }
  void TearDown() override { server_.reset(); }
  void StartTls(const std::string& ca_file = "") {
    auto tls = TlsContext::Load({dir_ + "/cert.pem", dir_ + "/key.pem", ca_file});
    ASSERT_TRUE(tls.ok()) << tls.status();
    ServerOptions options;
    options.tls = *tls;
    StartServer(HelloRouter(), options);
  }
  testing::TempDir tmp_;
  std::string dir_ = tmp_.path();
};

TEST_F(HttpsServerTest, ServesOverTlsAndReloadsAChangedCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartTls());
  TlsReply first = HttpsGet(port_, "/hello");
  ASSERT_TRUE(first.handshake);
  EXPECT_EQ(first.peer_cn, "first");
  EXPECT_NE(first.response.find("200 OK"), std::string::npos) << first.response;
  EXPECT_NE(first.response.find("hi\n"), std::string::npos) << first.response;
  // Plain HTTP on the TLS port gets nowhere.
  os::UniqueFd plain = Connect();
  ASSERT_TRUE(os::WriteAll(plain.get(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  EXPECT_EQ(ReadUntil(plain.get()).find("hi\n"), std::string::npos);
  // A new certificate is picked up by the next connection.
  std::this_thread::sleep_for(20ms);  // a distinct mtime
  ASSERT_TRUE(MakeCertificate(dir_, "second"));
  TlsReply second = HttpsGet(port_, "/hello");
  ASSERT_TRUE(second.handshake);
  EXPECT_EQ(second.peer_cn, "second");
  EXPECT_NE(second.response.find("hi\n"), std::string::npos);
  WaitForConnections(0);
}

TEST_F(HttpsServerTest, WithACaClientsWithoutACertificateAreRefused) {
  std::string client_dir = dir_ + "/client";
  std::filesystem::create_directories(client_dir);
  ASSERT_TRUE(MakeCertificate(client_dir, "client"));
  // The client's self-signed certificate is its own CA.
  ASSERT_NO_FATAL_FAILURE(StartTls(client_dir + "/cert.pem"));
  TlsReply anonymous = HttpsGet(port_, "/hello");
  EXPECT_EQ(anonymous.response.find("hi\n"), std::string::npos);
  TlsReply known = HttpsGet(port_, "/hello", client_dir);
  ASSERT_TRUE(known.handshake);
  EXPECT_NE(known.response.find("hi\n"), std::string::npos) << known.response;
}

}  // namespace
}  // namespace crio::http
