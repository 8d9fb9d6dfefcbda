#include "streaming/server.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "os/socket.h"
#include "streaming/websocket_session.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::streaming {

namespace {

namespace bh = http::beast_http;

const std::vector<std::string>& RemoteCommandProtocols() {
  static const std::vector<std::string> kAll = {kProtocolV4, kProtocolV3, kProtocolV2, kProtocolV1};
  return kAll;
}

const std::vector<std::string>& PortForwardProtocols() {
  static const std::vector<std::string> kAll = {kProtocolPortForward};
  return kAll;
}

std::vector<std::string> HeaderValues(const http::Request& request, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& field : request) {
    if (absl::AsciiStrToLower(std::string(http::Sv(field.name_string()))) ==
        absl::AsciiStrToLower(std::string(name))) {
      values.emplace_back(http::Sv(field.value()));
    }
  }
  return values;
}

// Whether the comma-separated header holds `token`, ignoring case ("keep-alive, Upgrade").
bool HeaderContains(const http::Request& request, bh::field field, std::string_view token) {
  std::string value = absl::AsciiStrToLower(std::string(http::Sv(request[field])));
  return value.find(absl::AsciiStrToLower(std::string(token))) != std::string::npos;
}

std::string UrlHost(const std::string& address) {
  std::string host = address.empty() ? "127.0.0.1" : address;
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
}

}  // namespace

std::optional<std::string> NegotiateProtocol(const std::vector<std::string>& offered,
                                             const std::vector<std::string>& supported) {
  for (const std::string& value : offered) {
    for (std::string p : util::SplitNonEmpty(value, ',')) {
      absl::StripAsciiWhitespace(&p);
      for (const std::string& s : supported) {
        if (p == s) return s;
      }
    }
  }
  return std::nullopt;
}

StreamingServer::StreamingServer(const ServerConfig& config, Backend* backend)
    : config_(config), backend_(backend) {}

StreamingServer::~StreamingServer() { Stop(); }

StatusOr<std::unique_ptr<StreamingServer>> StreamingServer::Start(const ServerConfig& config,
                                                                  Backend* backend) {
  std::unique_ptr<StreamingServer> server(new StreamingServer(config, backend));
  http::ServerOptions options;
  options.name = "streaming";
  options.max_connections = config.max_connections;
  if (config.tls) {
    ASSIGN_OR_RETURN(options.tls, http::TlsContext::Load(*config.tls));
  }
  ASSIGN_OR_RETURN(os::UniqueFd listener, os::ListenTcp(config.address, config.port));
  ASSIGN_OR_RETURN(server->port_, os::BoundPort(listener.get()));
  server->base_url_ = absl::StrCat(config.tls ? "https://" : "http://", UrlHost(config.address),
                                   ":", server->port_);
  http::Router router;
  StreamingServer* self = server.get();
  for (RequestKind kind : {RequestKind::kExec, RequestKind::kAttach, RequestKind::kPortForward}) {
    router.Handle(absl::StrCat("/", std::string(KindPath(kind)), "/"),
                  [self, kind](http::Exchange& ex) { self->HandleRequest(kind, ex); });
  }
  ASSIGN_OR_RETURN(server->http_,
                   http::Server::Start(std::move(listener), std::move(router), options));
  CRIO_LOG_INFO("streaming server listening on {}", server->base_url_);
  return server;
}

void StreamingServer::Stop() {
  if (http_) http_->Stop();
}

StatusOr<std::string> StreamingServer::Register(StreamRequest request) {
  RequestKind kind = request.kind;
  ASSIGN_OR_RETURN(std::string token, cache_.Insert(std::move(request)));
  return absl::StrCat(base_url_, "/", std::string(KindPath(kind)), "/", token);
}

void StreamingServer::HandleRequest(RequestKind kind, http::Exchange& ex) {
  const http::Request& req = ex.request();
  std::string_view token = ex.path().substr(KindPath(kind).size() + 2);
  std::optional<StreamRequest> request;
  if (req.method() == bh::verb::get || req.method() == bh::verb::post) {
    request = cache_.Consume(token, kind);
  }
  if (!request) {
    (void)ex.Respond(http::MakeResponse(req, bh::status::not_found, "404 page not found\n"));
    return;
  }
  if (IsWebSocketRequest(req)) {
    if (kind == RequestKind::kPortForward) {
      ServeWebSocketPortForward(ex, *request, *backend_, config_.session);
    } else {
      ServeWebSocketRemoteCommand(ex, *request, *backend_, config_.session);
    }
    return;
  }
  const auto& supported =
      kind == RequestKind::kPortForward ? PortForwardProtocols() : RemoteCommandProtocols();
  std::optional<std::string> protocol =
      NegotiateProtocol(HeaderValues(req, "X-Stream-Protocol-Version"), supported);
  if (!protocol) {
    auto r = http::MakeResponse(
        req, bh::status::forbidden,
        absl::StrCat("unable to upgrade: unable to negotiate protocol: server accepts [",
                     absl::StrJoin(supported, ", "), "]\n"));
    for (const std::string& p : supported) r.insert("X-Accepted-Stream-Protocol-Versions", p);
    (void)ex.Respond(std::move(r));
    return;
  }
  if (!HeaderContains(req, bh::field::connection, "upgrade") ||
      !HeaderContains(req, bh::field::upgrade, "spdy/3.1")) {
    (void)ex.Respond(http::MakeResponse(
        req, bh::status::bad_request,
        "unable to upgrade: missing upgrade headers in request: Connection: Upgrade, "
        "Upgrade: SPDY/3.1 required\n"));
    return;
  }
  http::Response up{bh::status::switching_protocols, req.version()};
  up.set(bh::field::connection, "Upgrade");
  up.set(bh::field::upgrade, "SPDY/3.1");
  up.set("X-Stream-Protocol-Version", *protocol);
  auto conn = ex.Upgrade(std::move(up));
  if (!conn.ok()) {
    CRIO_LOG_WARN("streaming: upgrade failed: {}", conn.status().ToString());
    return;
  }
  if (kind == RequestKind::kPortForward) {
    ServeSpdyPortForward(std::move(*conn), *request, *backend_, config_.session);
  } else {
    ServeSpdyRemoteCommand(std::move(*conn), *ParseRemoteCommandVersion(*protocol), *request,
                           *backend_, config_.session);
  }
}

}  // namespace crio::streaming
