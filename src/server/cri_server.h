#pragma once
// The gRPC server carrying both CRI services on one unix socket.
// Kept free of generated headers: the CRI `Signal` enum clashes with <signal.h> macros,
// so code that handles signals must not see api.pb.h.

#include <chrono>
#include <memory>
#include <string>

#include "server/service_context.h"
#include "util/status.h"

namespace crio::server {

class CriServer {
 public:
  // Binds `socket_path` (which must not exist) and starts serving.
  static StatusOr<std::unique_ptr<CriServer>> Start(ServiceContext& ctx,
                                                    const std::string& socket_path);
  ~CriServer();

  // Refuses new calls; in-flight calls get until `deadline` to finish. Blocks until done.
  void Shutdown(std::chrono::system_clock::time_point deadline);

 private:
  struct Impl;
  explicit CriServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crio::server
