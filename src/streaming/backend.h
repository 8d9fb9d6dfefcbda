#pragma once
// What the streaming server needs from the rest of the daemon: a command started in a
// container, a container's attach socket, a connection into a pod's network namespace.
// Implemented by lifecycle::StreamingBackend; tests substitute their own.

#include <memory>
#include <string>

#include "oci/runtime.h"
#include "os/unique_fd.h"
#include "streaming/request_cache.h"
#include "util/status.h"

namespace crio::streaming {

// A container's monitor, connected for attach.
struct AttachTarget {
  os::UniqueFd socket;       // SOCK_SEQPACKET to the monitor (oci::AttachEndpoint)
  std::string control_path;  // the monitor's control FIFO, for resizes
  bool tty = false;          // the container has a terminal
  bool stdin_once = false;   // the monitor closes the container's stdin when we hang up
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Starts request.cmd in the running container request.container_id.
  // Errors: NotFound (unknown container); FailedPrecondition (not running); the runtime's.
  virtual StatusOr<std::unique_ptr<oci::ExecProcess>> StartExec(const StreamRequest& request) = 0;
  // Connects to the running container's monitor. Errors as StartExec.
  virtual StatusOr<AttachTarget> Attach(const std::string& container_id) = 0;
  // A TCP connection to localhost:`port` inside the pod's network namespace.
  // Errors: NotFound (unknown pod); FailedPrecondition (pod not ready); the connect errno.
  virtual StatusOr<os::UniqueFd> DialPod(const std::string& pod_id, int port) = 0;
};

}  // namespace crio::streaming
