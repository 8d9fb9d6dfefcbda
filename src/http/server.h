#pragma once
// The daemon's one HTTP/1.1 layer (Boost.Beast): the streaming server, the Prometheus endpoint
// and the inspect endpoints all sit on it. One thread per connection: every connection that
// matters here is long-lived (an exec session, a port-forward) or cheap (a scrape), and blocking
// code keeps the streaming protocols simple. Connections are bounded, requests are bounded in
// size and time, and Stop() shuts every connection down, upgraded ones included.

#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/tls.h"
#include "os/unique_fd.h"
#include "util/status.h"

namespace crio::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// Beast (Boost 1.74) speaks boost::string_view; the project speaks std::string_view.
inline std::string_view Sv(boost::beast::string_view s) { return {s.data(), s.size()}; }
inline boost::beast::string_view Bv(std::string_view s) { return {s.data(), s.size()}; }

// A complete response to `request` (same HTTP version and keep-alive), with a body.
Response MakeResponse(const Request& request, beast_http::status status, std::string body,
                      std::string_view content_type = "text/plain; charset=utf-8");

// What a protocol upgrade hands over: the socket, and the bytes the client sent after the
// request that the HTTP parser had already read.
struct UpgradedConnection {
  os::UniqueFd fd;
  std::string initial_bytes;
};

// One request being served, on the connection's thread. A handler either responds or upgrades.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  // The target's path, without the query.
  virtual std::string_view path() const = 0;
  // Sends the response; the connection then serves the next request if both sides keep alive.
  virtual crio::Status Respond(Response response) = 0;
  // Sends `response` (normally 101 Switching Protocols) and hands over the socket: the HTTP
  // layer reads and writes nothing more on it. The caller may keep using this thread for the
  // session; Server::Stop() still shuts the socket down under it.
  virtual StatusOr<UpgradedConnection> Upgrade(Response response) = 0;
  // Hands over the socket without writing anything: the new owner answers the request itself
  // (a WebSocket library doing its own handshake).
  virtual StatusOr<UpgradedConnection> Hijack() = 0;
};

using Handler = std::function<void(Exchange&)>;

// Maps paths to handlers. A pattern ending in '/' matches every path under it; any other
// pattern matches exactly. The longest matching pattern wins.
class Router {
 public:
  void Handle(std::string pattern, Handler handler);
  const Handler* Find(std::string_view path) const;

 private:
  std::vector<std::pair<std::string, Handler>> routes_;
};

struct ServerOptions {
  std::string name = "http";  // for logs
  std::size_t max_connections = 256;
  // Reading one request (head and body); also how long an idle keep-alive connection stays.
  std::chrono::milliseconds request_timeout{30000};
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1 << 20;
  // HTTPS when set: each connection's TLS is terminated before HTTP sees it (tls.h).
  std::shared_ptr<TlsContext> tls;
  // A connection whose first bytes are `divert_prefix` is not HTTP/1.1: its socket goes to
  // `divert` unread (the CRI socket hands gRPC's HTTP/2 to the gRPC server so, as CRI-O's cmux
  // does). Unset: every connection is HTTP/1.1.
  std::string divert_prefix;
  std::function<void(os::UniqueFd)> divert;
};

class Server {
 public:
  // Serves `listener` (a listening TCP or unix socket) until Stop().
  static StatusOr<std::unique_ptr<Server>> Start(os::UniqueFd listener, Router router,
                                                 ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting, shuts down every open connection and waits for their threads. Idempotent.
  void Stop();
  std::size_t active_connections() const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crio::http
