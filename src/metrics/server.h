#pragma once
// The Prometheus endpoint: GET /metrics on metrics_host:metrics_port and, when metrics_socket
// is set, on that unix socket too; HTTPS on both when metrics_cert and metrics_key are set (a
// self-signed pair is generated when neither file exists, as CRI-O does).

#include <memory>
#include <string>

#include "config/config.h"
#include "metrics/registry.h"
#include "util/status.h"

namespace crio::http {
class Server;
}

namespace crio::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

class MetricsServer {
 public:
  // Serves `registry` (which must outlive the server) until Stop. Port 0 picks a free port.
  // Errors: the listen errno naming the address or socket; InvalidArgument for a certificate
  // or key that cannot be loaded or generated.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const config::MetricsConfig& config,
                                                        Registry& registry);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Closes the listeners and open connections. Idempotent.
  void Stop();

  int port() const { return port_; }                          // the bound TCP port
  const std::string& socket_path() const { return socket_; }  // empty: no unix socket
  bool tls() const { return tls_; }

 private:
  MetricsServer() = default;

  int port_ = 0;
  std::string socket_;
  bool tls_ = false;
  std::unique_ptr<http::Server> tcp_;
  std::unique_ptr<http::Server> unix_;
};

// Writes a self-signed certificate (CN and DNS name: this host's name, plus localhost,
// 127.0.0.1 and ::1) and its private key to `cert_file` and `key_file` (mode 0600, parent
// directories 0700), valid for a year. Errors: Internal from OpenSSL; the errno of a write.
Status GenerateSelfSignedCertificate(const std::string& cert_file, const std::string& key_file);

}  // namespace crio::metrics
