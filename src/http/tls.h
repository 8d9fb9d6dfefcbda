#pragma once
// TLS for the HTTP layer (OpenSSL). A TLS connection is terminated on a relay thread that
// hands the HTTP layer a plain socket (one end of a socketpair) carrying the decrypted bytes,
// so everything above -- Beast's parser, the SPDY and WebSocket sessions, which read and write
// from different threads -- works on an ordinary fd. OpenSSL's SSL object is only ever touched
// by the relay thread.

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "os/unique_fd.h"
#include "util/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace crio::http {

struct TlsOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  std::string ca_file;    // optional: clients must present a certificate signed by it
};

// The server's TLS configuration, reloaded when the certificate, key or CA file changes (as
// CRI-O reloads its streaming certificates), checked at each new connection.
class TlsContext {
 public:
  // Errors: InvalidArgument naming a file that cannot be loaded or a key that does not match.
  static StatusOr<std::shared_ptr<TlsContext>> Load(TlsOptions options);
  ~TlsContext();

  // The context for a new connection, reloaded first if a file changed. A reload that fails
  // keeps the previous context (and logs why). The caller holds a reference (SSL_CTX_up_ref)
  // and frees it with SSL_CTX_free.
  SSL_CTX* Acquire();

 private:
  explicit TlsContext(TlsOptions options) : options_(std::move(options)) {}
  // The files' newest modification time, to notice changes.
  timespec NewestChange() const;

  TlsOptions options_;
  std::mutex mu_;
  SSL_CTX* ctx_ = nullptr;  // guarded by mu_
  timespec loaded_at_{};
};

// Does the TLS handshake on `raw` (waiting at most `timeout_ms`) and starts `relay`, a thread
// copying between the TLS connection and the returned plain socket until either side closes.
// Shutting `raw` down (shutdown(2)) ends the relay. Errors: Unavailable for a failed handshake.
StatusOr<os::UniqueFd> TerminateTls(int raw, TlsContext& context, int timeout_ms,
                                    std::thread& relay);

}  // namespace crio::http
