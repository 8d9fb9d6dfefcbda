#pragma once
// CRI-O's streaming server: the URLs the Exec, Attach and PortForward RPCs return lead here.
// An RPC validates its request and registers it under a single-use token (RequestCache); the
// client then connects to http://<stream_address>:<port>/{exec,attach,portforward}/<token>,
// negotiates a protocol and upgrades to SPDY/3.1 (spdy_session.h).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/server.h"
#include "streaming/backend.h"
#include "streaming/request_cache.h"
#include "streaming/spdy_session.h"

namespace crio::streaming {

struct ServerConfig {
  std::string address = "127.0.0.1";  // [crio.api] stream_address
  int port = 0;                       // stream_port; 0 picks a free port
  SessionOptions session;
  std::size_t max_connections = 256;
  // stream_enable_tls: HTTPS with stream_tls_cert/key (reloaded when they change) and, with
  // stream_tls_ca, client certificates required.
  std::optional<http::TlsOptions> tls;
};

class StreamingServer {
 public:
  // Listens and serves until Stop(). `backend` must outlive the server.
  // Errors: the listen error naming address:port.
  static StatusOr<std::unique_ptr<StreamingServer>> Start(const ServerConfig& config,
                                                          Backend* backend);
  ~StreamingServer();

  // Registers `request` and returns the URL the client should open.
  // Errors: ResourceExhausted when too many requests wait; Internal when the RNG fails.
  StatusOr<std::string> Register(StreamRequest request);

  int port() const { return port_; }
  // http://<address>:<port>
  const std::string& base_url() const { return base_url_; }
  void Stop();

 private:
  StreamingServer(const ServerConfig& config, Backend* backend);
  void HandleRequest(RequestKind kind, http::Exchange& exchange);

  ServerConfig config_;
  Backend* backend_;
  RequestCache cache_;
  int port_ = 0;
  std::string base_url_;
  std::unique_ptr<http::Server> http_;
};

// Picks the protocol for a client offering `offered` (each X-Stream-Protocol-Version value,
// which may hold several, comma-separated): the client's first choice that the server
// supports, as the kubelet does. nullopt when there is none.
std::optional<std::string> NegotiateProtocol(const std::vector<std::string>& offered,
                                             const std::vector<std::string>& supported);

}  // namespace crio::streaming
