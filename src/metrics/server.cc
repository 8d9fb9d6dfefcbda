#include "metrics/server.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "http/server.h"
#include "http/tls.h"
#include "os/socket.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::metrics {
namespace {

namespace bh = boost::beast::http;

http::Router MetricsRouter(Registry& registry) {
  http::Router router;
  router.Handle("/metrics", [&registry](http::Exchange& ex) {
    if (ex.request().method() != bh::verb::get) {
      http::Response response =
          http::MakeResponse(ex.request(), bh::status::method_not_allowed, "GET only\n");
      response.set(bh::field::allow, "GET");
      (void)ex.Respond(std::move(response));
      return;
    }
    (void)ex.Respond(
        http::MakeResponse(ex.request(), bh::status::ok, registry.Render(), kContentType));
  });
  return router;
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// The TLS context when both files are configured, generating them when neither exists.
StatusOr<std::shared_ptr<http::TlsContext>> LoadTls(const config::MetricsConfig& config) {
  if (config.metrics_cert.empty() || config.metrics_key.empty()) {
    if (!config.metrics_cert.empty() || !config.metrics_key.empty()) {
      CRIO_LOG_WARN(
          "metrics: metrics_cert and metrics_key must both be set for HTTPS; "
          "serving HTTP");
    }
    return std::shared_ptr<http::TlsContext>();
  }
  if (!Exists(config.metrics_cert) && !Exists(config.metrics_key)) {
    CRIO_LOG_INFO("metrics: {} and {} do not exist, generating a self-signed certificate",
                  config.metrics_cert, config.metrics_key);
    RETURN_IF_ERROR(GenerateSelfSignedCertificate(config.metrics_cert, config.metrics_key));
  }
  return http::TlsContext::Load({.cert_file = config.metrics_cert, .key_file = config.metrics_key});
}

// ---- self-signed certificates ----

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;

Status OpenSslError(std::string_view what) {
  return Internal(absl::StrCat("generate self-signed certificate: ", std::string(what)));
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// `write` (a PEM_write_bio_* call) into a string.
template <typename Fn>
StatusOr<std::string> ToPem(Fn write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return OpenSslError("PEM encoding");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

StatusOr<X509Ptr> MakeCertificate(EVP_PKEY* key, const std::string& host) {
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);  // v3, for the subjectAltName extension
  if (ASN1_INTEGER_set_int64(X509_get_serialNumber(cert.get()),
                             static_cast<int64_t>(::time(nullptr))) != 1) {
    return OpenSslError("serial number");
  }
  constexpr long kOneYear = 365L * 24 * 3600;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kOneYear);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san = absl::StrCat("DNS:", host, ",DNS:localhost,IP:127.0.0.1,IP:::1");
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str()));
  if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) return OpenSslError("subjectAltName");
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) return OpenSslError("X509_sign");
  return cert;
}

Status WritePrivateFile(const std::string& path, const std::string& data) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return ErrnoError(ec.value(), absl::StrCat("create ", parent.string()));
    std::filesystem::permissions(parent, std::filesystem::perms::owner_all, ec);
  }
  os::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError(errno, absl::StrCat("open ", path));
  return Annotate(os::WriteAll(fd.get(), data), absl::StrCat("write ", path));
}

}  // namespace

Status GenerateSelfSignedCertificate(const std::string& cert_file, const std::string& key_file) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EC key generation");
  ASSIGN_OR_RETURN(X509Ptr cert, MakeCertificate(key.get(), HostName()));
  ASSIGN_OR_RETURN(std::string cert_pem,
                   ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); }));
  ASSIGN_OR_RETURN(std::string key_pem, ToPem([&](BIO* bio) {
                     return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr,
                                                     nullptr);
                   }));
  RETURN_IF_ERROR(WritePrivateFile(key_file, key_pem));
  return WritePrivateFile(cert_file, cert_pem);
}

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const config::MetricsConfig& config,
                                                              Registry& registry) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  http::ServerOptions options;
  options.name = "metrics";
  options.max_connections = 64;  // scrapers, not clients
  ASSIGN_OR_RETURN(options.tls, LoadTls(config));
  server->tls_ = options.tls != nullptr;
  const char* scheme = server->tls_ ? "https" : "http";

  ASSIGN_OR_RETURN(os::UniqueFd tcp,
                   os::ListenTcp(config.metrics_host, static_cast<int>(config.metrics_port)));
  ASSIGN_OR_RETURN(server->port_, os::BoundPort(tcp.get()));
  ASSIGN_OR_RETURN(server->tcp_,
                   http::Server::Start(std::move(tcp), MetricsRouter(registry), options));
  CRIO_LOG_INFO("metrics: serving {}://{}:{}/metrics", scheme, config.metrics_host, server->port_);

  if (!config.metrics_socket.empty()) {
    // ListenUnix replaces a socket file left by a previous run.
    ASSIGN_OR_RETURN(os::UniqueFd unix_listener, os::ListenUnix(config.metrics_socket));
    ASSIGN_OR_RETURN(server->unix_, http::Server::Start(std::move(unix_listener),
                                                        MetricsRouter(registry), options));
    server->socket_ = config.metrics_socket;
    CRIO_LOG_INFO("metrics: serving {} on unix socket {}", scheme, server->socket_);
  }
  return server;
}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Stop() {
  // Destroying the servers also closes their listeners, so scrapers get "connection refused"
  // instead of waiting in the backlog of a socket nobody accepts on.
  tcp_.reset();
  unix_.reset();
}

}  // namespace crio::metrics
