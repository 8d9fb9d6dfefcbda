#include "http/tls.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "util/log.h"

namespace crio::http {

namespace {

constexpr std::size_t kRelayBuffer = 256 * 1024;  // per direction

std::string OpenSslError() {
  unsigned long err = ERR_get_error();
  if (err == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

StatusOr<SSL_CTX*> NewServerContext(const TlsOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Internal("SSL_CTX_new: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  auto fail = [&](const std::string& what) -> Status {
    std::string message = absl::StrCat(what, ": ", OpenSslError());
    SSL_CTX_free(ctx);
    return InvalidArgument(message);
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) {
    return fail("stream_tls_cert " + o.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("stream_tls_key " + o.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) return fail("stream_tls_key does not match the cert");
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
      return fail("stream_tls_ca " + o.ca_file);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

bool Later(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Bytes in flight in one direction, bounded so a slow reader slows the writer.
struct Pending {
  std::string data;
  bool room() const { return data.size() < kRelayBuffer; }
};

// The relay: TLS on `raw`, plaintext on `plain`, both non-blocking, one thread.
void Relay(SSL* ssl, int raw, os::UniqueFd plain) {
  Pending to_plain, to_tls;
  bool tls_open = true, plain_open = true;
  bool tls_wants_write = false;
  char buf[16 * 1024];
  while (tls_open && (plain_open || !to_tls.data.empty())) {
    // Decrypted bytes toward the plain side.
    while (tls_open && to_plain.room()) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        to_plain.data.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      int err = SSL_get_error(ssl, n);
      if (err == SSL_ERROR_WANT_READ) break;
      if (err == SSL_ERROR_WANT_WRITE) {
        tls_wants_write = true;
        break;
      }
      tls_open = false;  // close_notify, EOF or error
    }
    while (!to_plain.data.empty()) {
      ssize_t n = ::send(plain.get(), to_plain.data.data(), to_plain.data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        plain_open = false;
        to_plain.data.clear();
        break;
      }
      to_plain.data.erase(0, static_cast<std::size_t>(n));
    }
    if (!tls_open && to_plain.data.empty()) break;
    // Plain bytes toward TLS.
    while (plain_open && to_tls.room()) {
      ssize_t n = ::recv(plain.get(), buf, sizeof buf, 0);
      if (n > 0) {
        to_tls.data.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      plain_open = false;
    }
    tls_wants_write = false;
    while (!to_tls.data.empty()) {
      int n = SSL_write(ssl, to_tls.data.data(), static_cast<int>(to_tls.data.size()));
      if (n > 0) {
        to_tls.data.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      int err = SSL_get_error(ssl, n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        tls_wants_write = err == SSL_ERROR_WANT_WRITE;
        break;
      }
      tls_open = false;
      break;
    }
    if (!plain_open && to_tls.data.empty()) {
      SSL_shutdown(ssl);  // the HTTP side is done: close_notify, then stop
      break;
    }
    pollfd fds[2] = {
        {raw, static_cast<short>((to_plain.room() ? POLLIN : 0) | (tls_wants_write ? POLLOUT : 0)),
         0},
        {plain.get(),
         static_cast<short>((to_tls.room() && plain_open ? POLLIN : 0) |
                            (to_plain.data.empty() ? 0 : POLLOUT)),
         0}};
    // SSL may hold decrypted bytes that poll cannot see.
    if (SSL_pending(ssl) > 0 && to_plain.room()) continue;
    if (::poll(fds, 2, 1000) < 0 && errno != EINTR) break;
    if ((fds[0].revents & (POLLERR | POLLNVAL)) || (fds[1].revents & (POLLERR | POLLNVAL))) break;
  }
  ::shutdown(plain.get(), SHUT_RDWR);
  SSL_free(ssl);
}

}  // namespace

StatusOr<std::shared_ptr<TlsContext>> TlsContext::Load(TlsOptions options) {
  std::shared_ptr<TlsContext> context(new TlsContext(std::move(options)));
  context->loaded_at_ = context->NewestChange();
  ASSIGN_OR_RETURN(context->ctx_, NewServerContext(context->options_));
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

timespec TlsContext::NewestChange() const {
  timespec newest{};
  for (const std::string* f : {&options_.cert_file, &options_.key_file, &options_.ca_file}) {
    struct stat st {};
    if (!f->empty() && ::stat(f->c_str(), &st) == 0 && Later(st.st_mtim, newest)) {
      newest = st.st_mtim;
    }
  }
  return newest;
}

SSL_CTX* TlsContext::Acquire() {
  std::lock_guard lock(mu_);
  timespec changed = NewestChange();
  if (Later(changed, loaded_at_)) {
    loaded_at_ = changed;
    auto fresh = NewServerContext(options_);
    if (fresh.ok()) {
      SSL_CTX_free(ctx_);
      ctx_ = *fresh;
      CRIO_LOG_INFO("streaming TLS: reloaded certificate {}", options_.cert_file);
    } else {
      CRIO_LOG_WARN("streaming TLS: keeping the previous certificate: {}",
                    fresh.status().ToString());
    }
  }
  SSL_CTX_up_ref(ctx_);
  return ctx_;
}

StatusOr<os::UniqueFd> TerminateTls(int raw, TlsContext& context, int timeout_ms,
                                    std::thread& relay) {
  SSL_CTX* ctx = context.Acquire();
  SSL* ssl = SSL_new(ctx);
  SSL_CTX_free(ctx);  // the SSL holds its own reference
  if (ssl == nullptr) return Internal("SSL_new: " + OpenSslError());
  SSL_set_fd(ssl, raw);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (SSL_accept(ssl) != 1) {
    std::string why = OpenSslError();
    SSL_free(ssl);
    return Unavailable("TLS handshake: " + why);
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    int err = errno;
    SSL_free(ssl);
    return ErrnoError(err, "socketpair");
  }
  os::UniqueFd ours(pair[0]), theirs(pair[1]);
  SetNonBlocking(raw);
  SetNonBlocking(ours.get());
  relay = std::thread(Relay, ssl, raw, std::move(ours));
  return theirs;
}

}  // namespace crio::http
