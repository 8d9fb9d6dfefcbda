#pragma once
// Exec and attach, independent of the wire protocol: the bytes between the client's streams
// and a process's stdio (an exec'd command's pipes or pty, or a container monitor's attach
// socket). The SPDY and WebSocket sessions supply the client side as ClientStreams.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "oci/runtime.h"
#include "streaming/backend.h"
#include "util/status.h"

namespace crio::streaming {

struct TerminalSize {
  uint16_t width = 0;
  uint16_t height = 0;
  bool operator==(const TerminalSize&) const = default;
};

// The client's end of one exec or attach. Only the streams the request asked for are used.
// All methods may be called from different threads.
class ClientStreams {
 public:
  virtual ~ClientStreams() = default;
  virtual bool has_stdin() const = 0;
  virtual bool has_stdout() const = 0;
  virtual bool has_stderr() const = 0;
  virtual bool has_resize() const = 0;
  // Blocks for client input; 0 at the client's end of input. Errors: the client is gone or
  // StopInput() was called.
  virtual StatusOr<std::size_t> ReadStdin(char* buf, std::size_t len) = 0;
  // Blocks for the next terminal size; nullopt when there will be no more.
  virtual std::optional<TerminalSize> NextResize() = 0;
  // Unblocks ReadStdin and NextResize for good: the session is ending.
  virtual void StopInput() = 0;
  // Errors: the client is gone.
  virtual Status WriteStdout(std::string_view data) = 0;
  virtual Status WriteStderr(std::string_view data) = 0;
  // Whether the client has gone away: checked while the process is quiet, so a silent
  // command does not outlive its client.
  virtual bool ClientGone() const { return false; }
};

// Pumps `process`'s stdio to and from `client` until the command exits (the client's stdin
// may stay open: the session ends with the command), and returns its exit code. Resizes set
// the pty's size and tell the runtime (SIGWINCH), which copies it to the container's console.
// A client that goes away gets the command's whole process tree killed.
// Errors: Unavailable when the client went away; Internal for a failing poll/read.
StatusOr<int> RunExec(oci::ExecProcess& process, ClientStreams& client);

// Pumps the container's output from its monitor to `client` and the client's stdin to it,
// until the container's output ends, the client goes away, or (as CRI-O does) the client's
// stdin ends for a container that is neither a tty nor stdin_once. Resizes go to the monitor's
// control FIFO. Errors: Unavailable when the client went away.
Status RunAttach(AttachTarget& target, ClientStreams& client);

// One line of the resize stream: {"Width":W,"Height":H}. nullopt for anything else.
std::optional<TerminalSize> ParseTerminalSize(std::string_view json);

// The exit of an exec or attach as the v4 protocols report it on the error stream: a
// Kubernetes metav1.Status in JSON (Success; Failure with reason NonZeroExitCode and an
// ExitCode cause; or an InternalError).
std::string StatusJson(const StatusOr<int>& result, bool attach);
// The same for protocols before v4: nothing on success, else plain text.
std::string StatusText(const StatusOr<int>& result, bool attach);

}  // namespace crio::streaming
