#include "http/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "os/socket.h"
#include "util/log.h"

namespace crio::http {

namespace {

using boost::system::error_code;

// Beast's SyncReadStream/SyncWriteStream over a borrowed socket fd. Reads time out through
// SO_RCVTIMEO, which the connection sets per request.
class FdStream {
 public:
  explicit FdStream(int fd) : fd_(fd) {}

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, error_code& ec) {
    ec = {};
    for (auto b : boost::beast::buffers_range_ref(buffers)) {
      if (b.size() == 0) continue;
      for (;;) {
        ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
        if (n > 0) return static_cast<std::size_t>(n);
        if (n == 0) {
          ec = boost::asio::error::eof;
        } else if (errno == EINTR) {
          continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
          ec = boost::asio::error::timed_out;
        } else {
          ec = error_code(errno, boost::system::system_category());
        }
        return 0;
      }
    }
    return 0;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, error_code& ec) {
    ec = {};
    std::size_t total = 0;
    for (auto b : boost::beast::buffers_range_ref(buffers)) {
      crio::Status st =
          os::WriteAll(fd_, std::string_view(static_cast<const char*>(b.data()), b.size()));
      if (!st.ok()) {
        ec = boost::asio::error::broken_pipe;
        return total;
      }
      total += b.size();
    }
    return total;
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers) {
    error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  int fd_;
};

void SetReceiveTimeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, std::min(target.find('?'), target.size()));
}

// The exchange of one request on a connection thread.
class ConnectionExchange final : public Exchange {
 public:
  ConnectionExchange(int fd, FdStream& stream, boost::beast::flat_buffer& buffer, Request request)
      : fd_(fd), stream_(stream), buffer_(buffer), request_(std::move(request)) {}

  const Request& request() const override { return request_; }
  std::string_view path() const override { return PathOf(Sv(request_.target())); }

  crio::Status Respond(Response response) override {
    if (answered_) return FailedPrecondition("response already sent");
    answered_ = true;
    keep_alive_ = response.keep_alive();
    response.prepare_payload();
    error_code ec;
    beast_http::write(stream_, response, ec);
    if (ec) {
      keep_alive_ = false;
      return Unavailable(absl::StrCat("write response: ", ec.message()));
    }
    return absl::OkStatus();
  }

  StatusOr<UpgradedConnection> Upgrade(Response response) override {
    if (answered_) return FailedPrecondition("response already sent");
    error_code ec;
    beast_http::write(stream_, response, ec);
    if (ec) {
      answered_ = upgraded_ = true;
      return Unavailable(absl::StrCat("write upgrade response: ", ec.message()));
    }
    return Hijack();
  }

  StatusOr<UpgradedConnection> Hijack() override {
    if (answered_) return FailedPrecondition("response already sent");
    answered_ = true;
    upgraded_ = true;
    // A duplicate: the connection keeps the original so Stop() can shut the socket down for as
    // long as this thread runs, whatever the new owner does with its fd.
    os::UniqueFd dup(::fcntl(fd_, F_DUPFD_CLOEXEC, 0));
    if (!dup) return ErrnoError(errno, "dup upgraded socket");
    SetReceiveTimeout(dup.get(), std::chrono::milliseconds(0));  // sessions set their own
    UpgradedConnection out;
    out.fd = std::move(dup);
    auto pending = buffer_.data();
    out.initial_bytes.assign(static_cast<const char*>(pending.data()), pending.size());
    buffer_.consume(buffer_.size());
    return out;
  }

  bool answered() const { return answered_; }
  bool upgraded() const { return upgraded_; }
  bool keep_alive() const { return keep_alive_; }

 private:
  int fd_;
  FdStream& stream_;
  boost::beast::flat_buffer& buffer_;
  Request request_;
  bool answered_ = false;
  bool upgraded_ = false;
  bool keep_alive_ = false;
};

// A response to a request that could not be parsed, for which no Request object exists.
void RespondBare(FdStream& stream, beast_http::status status, std::string body) {
  Response r{status, 11};
  r.set(beast_http::field::content_type, "text/plain; charset=utf-8");
  r.set(beast_http::field::connection, "close");
  r.body() = std::move(body);
  r.prepare_payload();
  error_code ec;
  beast_http::write(stream, r, ec);
}

}  // namespace

Response MakeResponse(const Request& request, beast_http::status status, std::string body,
                      std::string_view content_type) {
  Response r{status, request.version()};
  r.set(beast_http::field::content_type, Bv(content_type));
  r.keep_alive(request.keep_alive());
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

void Router::Handle(std::string pattern, Handler handler) {
  routes_.emplace_back(std::move(pattern), std::move(handler));
}

const Handler* Router::Find(std::string_view path) const {
  const Handler* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [pattern, handler] : routes_) {
    bool match =
        pattern.back() == '/' ? path.substr(0, pattern.size()) == pattern : path == pattern;
    if (match && (best == nullptr || pattern.size() > best_len)) {
      best = &handler;
      best_len = pattern.size();
    }
  }
  return best;
}

class Server::Impl {
 public:
  Impl(os::UniqueFd listener, Router router, ServerOptions options, os::UniqueFd wake)
      : listener_(std::move(listener)),
        router_(std::move(router)),
        options_(std::move(options)),
        wake_(std::move(wake)) {}

  void StartAccepting() {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  void Stop() {
    if (stopping_.exchange(true)) {
      return;
    }
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    if (accept_thread_.joinable()) accept_thread_.join();
    // Close the listener now, so new clients are refused at once rather than left in the
    // backlog until the owner goes away.
    listener_.reset();
    std::list<Connection> all;
    {
      std::lock_guard lock(mu_);
      for (auto& c : connections_) ::shutdown(c.fd.get(), SHUT_RDWR);
      all.splice(all.end(), connections_);
    }
    for (auto& c : all) {
      if (c.thread.joinable()) c.thread.join();
    }
  }

  std::size_t active() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& c : connections_) n += c.done ? 0 : 1;
    return n;
  }

 private:
  struct Connection {
    os::UniqueFd fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop() {
    while (!stopping_) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (::poll(fds, 2, 1000) < 0 && errno != EINTR) {
        CRIO_LOG_ERROR("{} server: poll: {}", options_.name, std::strerror(errno));
        return;
      }
      ReapFinished();
      if (stopping_ || (fds[0].revents & POLLIN) == 0) continue;
      os::UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd) {
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
          CRIO_LOG_WARN("{} server: accept: {}", options_.name, std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // e.g. EMFILE
        }
        continue;
      }
      if (active() >= options_.max_connections) {
        RefuseBusy(fd.get());
        continue;
      }
      // Streaming protocols write small frames (a status, a keystroke's echo): do not let
      // Nagle's algorithm hold them for a delayed ACK.
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails on unix sockets
      std::lock_guard lock(mu_);
      Connection& c = connections_.emplace_back();
      c.fd = std::move(fd);
      c.thread = std::thread([this, &c] {
        if (options_.divert && Divert(c)) {
          c.done = true;
          return;
        }
        if (options_.tls) {
          ServeTls(c.fd.get());
        } else {
          Serve(c.fd.get());
        }
        c.done = true;
      });
    }
  }

  enum class FirstBytes { kHttp, kDivert, kGone };

  // Peeks at what the client sent first, without consuming it.
  FirstBytes Sniff(int fd) {
    const std::string& prefix = options_.divert_prefix;
    std::string seen(prefix.size(), '\0');
    const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    for (;;) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || stopping_) return FirstBytes::kGone;
      pollfd p{fd, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return FirstBytes::kGone;
      ssize_t n = ::recv(fd, seen.data(), seen.size(), MSG_PEEK);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return FirstBytes::kGone;
      const auto got = static_cast<std::size_t>(n);
      if (prefix.compare(0, got, seen, 0, got) != 0) return FirstBytes::kHttp;
      if (got == prefix.size()) return FirstBytes::kDivert;
      // Part of the prefix so far: poll would report the same bytes again at once.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Whether the connection left this server: diverted, or gone before it said anything.
  bool Divert(Connection& c) {
    FirstBytes first = Sniff(c.fd.get());
    if (first == FirstBytes::kHttp) return false;
    if (first == FirstBytes::kGone) return true;
    os::UniqueFd fd;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return true;
      fd = std::move(c.fd);
    }
    options_.divert(std::move(fd));
    return true;
  }

  void RefuseBusy(int fd) {
    CRIO_LOG_WARN("{} server: {} connections open, refusing one", options_.name,
                  options_.max_connections);
    FdStream stream(fd);
    RespondBare(stream, beast_http::status::service_unavailable, "too many connections\n");
  }

  // Joins the threads of connections that ended; their fds close with them.
  void ReapFinished() {
    std::list<Connection> finished;
    {
      std::lock_guard lock(mu_);
      for (auto it = connections_.begin(); it != connections_.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), connections_, it);
        it = next;
      }
    }
    for (auto& c : finished) c.thread.join();
  }

  // HTTPS: the handshake, then HTTP on the relay's plain socket; the relay ends when either
  // side closes, or when Stop() shuts `raw` down.
  void ServeTls(int raw) {
    std::thread relay;
    auto plain =
        TerminateTls(raw, *options_.tls, static_cast<int>(options_.request_timeout.count()), relay);
    if (!plain.ok()) {
      CRIO_LOG_DEBUG("{} server: {}", options_.name, plain.status().ToString());
      return;
    }
    Serve(plain->get());
    ::shutdown(plain->get(), SHUT_RDWR);
    relay.join();
  }

  void Serve(int fd) {
    FdStream stream(fd);
    boost::beast::flat_buffer buffer;
    while (!stopping_) {
      SetReceiveTimeout(fd, options_.request_timeout);
      beast_http::request_parser<beast_http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(options_.max_body_bytes);
      error_code ec;
      beast_http::read(stream, buffer, parser, ec);
      if (ec) {
        RespondToReadError(stream, ec);
        return;
      }
      ConnectionExchange exchange(fd, stream, buffer, parser.release());
      Dispatch(exchange);
      if (exchange.upgraded() || !exchange.keep_alive()) return;
    }
  }

  void RespondToReadError(FdStream& stream, const error_code& ec) {
    if (ec == beast_http::error::end_of_stream || ec == boost::asio::error::eof ||
        ec == boost::asio::error::timed_out || ec == boost::asio::error::broken_pipe ||
        ec.category() == boost::system::system_category()) {
      return;  // the client went away or idled out
    }
    if (ec == beast_http::error::header_limit) {
      RespondBare(stream, beast_http::status::request_header_fields_too_large,
                  "request header too large\n");
    } else if (ec == beast_http::error::body_limit) {
      RespondBare(stream, beast_http::status::payload_too_large, "request body too large\n");
    } else {
      RespondBare(stream, beast_http::status::bad_request,
                  absl::StrCat("bad request: ", ec.message(), "\n"));
    }
  }

  void Dispatch(ConnectionExchange& exchange) {
    const Handler* handler = router_.Find(exchange.path());
    if (handler == nullptr) {
      (void)exchange.Respond(
          MakeResponse(exchange.request(), beast_http::status::not_found, "404 page not found\n"));
      return;
    }
    try {
      (*handler)(exchange);
    } catch (const std::exception& e) {
      CRIO_LOG_ERROR("{} server: handler for {} failed: {}", options_.name, exchange.path(),
                     e.what());
    }
    if (!exchange.answered()) {
      (void)exchange.Respond(MakeResponse(
          exchange.request(), beast_http::status::internal_server_error, "internal error\n"));
    }
  }

  os::UniqueFd listener_;
  Router router_;
  ServerOptions options_;
  os::UniqueFd wake_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::list<Connection> connections_;
};

StatusOr<std::unique_ptr<Server>> Server::Start(os::UniqueFd listener, Router router,
                                                ServerOptions options) {
  if (!listener) return InvalidArgument("http server: no listener");
  os::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return ErrnoError(errno, "http server: eventfd");
  auto impl = std::make_unique<Impl>(std::move(listener), std::move(router), std::move(options),
                                     std::move(wake));
  impl->StartAccepting();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }
void Server::Stop() { impl_->Stop(); }
std::size_t Server::active_connections() const { return impl_->active(); }

}  // namespace crio::http
