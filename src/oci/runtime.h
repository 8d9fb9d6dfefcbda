#pragma once
// The OCI runtime seam: everything the container layer asks of one runtime handler (a
// Kubernetes RuntimeClass handler such as "crun" or "runc"). The production implementation
// is ConmonRuntime (oci/conmon_runtime.h); tests substitute a mock.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "os/process.h"
#include "util/status.h"

namespace crio::oci {

// One container to create. The caller prepares the directories; the runtime only fills them.
struct CreateRequest {
  std::string id;
  std::string name;           // human-readable, for the monitor's logs
  std::string bundle;         // holds config.json + rootfs; pidfiles, `ctl` and `oom` land here
  std::string persist_dir;    // survives daemon restarts: the monitor writes `exit` and `oom` here
  std::string log_path;       // CRI log file the monitor writes the container's output to
  int64_t log_size_max = -1;  // bytes; -1 for no limit
  bool tty = false;
  bool open_stdin = false;  // keep a stdin pipe open for attach (CRI `stdin`)
  bool stdin_once = false;  // close stdin after the first attach disconnects
  bool no_pivot = false;    // the runtime uses MS_MOVE instead of pivot_root
  // How long creation may take; zero uses the handler's container_create_timeout.
  std::chrono::milliseconds timeout{0};
  // Runs after the monitor is spawned and before it is released to start the runtime, to move
  // it into its cgroup (CgroupManager::PlaceMonitor). An error aborts the creation.
  std::function<Status(pid_t monitor_pid)> place_monitor;
};

// `<runtime> state <id>`, reduced to what we use.
struct RuntimeState {
  std::string status;  // "creating", "created", "running", "paused" or "stopped"
  int pid = 0;         // 0 once stopped
  std::string bundle;

  bool operator==(const RuntimeState&) const = default;
};

struct ExecSyncResult {
  int exit_code = 0;
  std::string stdout_data;  // capped at kExecSyncOutputLimit
  std::string stderr_data;  // capped at kExecSyncOutputLimit; empty for a tty
};

inline constexpr std::size_t kExecSyncOutputLimit = 16 << 20;

// A command started in a running container with its stdio connected to us (streaming Exec).
// Destroying it before the command ended kills the command's whole process tree and the
// runtime's exec process, and removes the exec's private files.
class ExecProcess {
 public:
  ExecProcess() = default;
  ExecProcess(const ExecProcess&) = delete;
  ExecProcess& operator=(const ExecProcess&) = delete;
  virtual ~ExecProcess() = default;

  // `<runtime> exec`, which exits with the command's status (128 + signal when killed).
  os::ChildProcess runtime;
  os::UniqueFd stdin_fd;   // write end; for a tty a dup of the pty master
  os::UniqueFd stdout_fd;  // read end; for a tty the pty master, carrying all output
  os::UniqueFd stderr_fd;  // read end; empty for a tty
  bool tty = false;

  // Kills the command and everything it started (not only the runtime's process).
  virtual void KillCommand() {}
};

// Where a container's monitor serves attach (conmon's SOCK_SEQPACKET socket: each packet to us
// is prefixed by 2 = stdout or 3 = stderr, stdin goes in raw) and takes terminal resizes
// (the control FIFO, "1 <height> <width>\n").
struct AttachEndpoint {
  std::string socket_path;
  std::string control_path;
};

// Written by the monitor when the container's process has exited.
struct ExitInfo {
  int exit_code = 0;                               // exit status, or 128 + signal
  std::chrono::system_clock::time_point finished;  // the exit file's mtime
};

// The per-container directories the runtime needs after CreateContainer (or after a restart).
struct ContainerDirs {
  std::string bundle;
  std::string persist_dir;
  std::string log_path;  // optional: lets ReopenLog wait for the reopened file
};

// All methods are thread-safe. `id` is the container ID.
class Runtime {
 public:
  virtual ~Runtime() = default;

  // Creates (does not start) the container under a new monitor process that outlives this
  // daemon, and returns the container's init pid. Remembers `request`'s dirs for the id.
  // On failure nothing is left behind: no monitor, no runtime state.
  // Errors: InvalidArgument for a bad request; DeadlineExceeded after the create timeout;
  // Internal with the runtime's own message (e.g. a missing executable) otherwise.
  virtual StatusOr<int> CreateContainer(const CreateRequest& request) = 0;

  // Starts the user process of a created container.
  // Errors: NotFound when the runtime does not know the id; Internal with the runtime's message.
  virtual Status StartContainer(const std::string& id) = 0;

  // Sends `signal` to the container's init process, or to every process in it when `all`.
  // Errors: NotFound (unknown id); FailedPrecondition when it is not running; Internal otherwise.
  virtual Status KillContainer(const std::string& id, int signal, bool all) = 0;

  // Freezes (`runtime pause`) or thaws (`runtime resume`) every process of a running
  // container, for the inspect endpoints. Errors: NotFound (unknown id); FailedPrecondition
  // when it is not running (pause) or not paused (resume); Internal otherwise.
  virtual Status PauseContainer(const std::string& id) {
    return Unimplemented(absl::StrCat("this runtime cannot pause container ", id));
  }
  virtual Status ResumeContainer(const std::string& id) {
    return Unimplemented(absl::StrCat("this runtime cannot resume container ", id));
  }

  // Removes the runtime's state (and cgroup) for the id; `force` kills a running container
  // first. Idempotent: an id the runtime does not know is OK. Also removes the exit file in the
  // exits dir and forgets the id's dirs; the persist dir is the caller's.
  // Errors: Internal with the runtime's message (e.g. deleting a running container unforced).
  virtual Status DeleteContainer(const std::string& id, bool force) = 0;

  // The runtime's view of the container. Errors: NotFound when the runtime does not know the
  // id; Internal for a failing runtime or unparsable output.
  virtual StatusOr<RuntimeState> State(const std::string& id) = 0;

  // Applies LinuxResources JSON (OCI runtime-spec linux.resources) to a running container.
  // Errors: NotFound (unknown id); Internal with the runtime's message.
  virtual Status UpdateContainerResources(const std::string& id,
                                          const std::string& resources_json) = 0;

  // Runs `cmd` in the running container with the container's process settings (env, user,
  // cwd, capabilities) and waits for it. `timeout` zero means no limit.
  // Errors: InvalidArgument for an empty cmd; DeadlineExceeded "command `...` timed out after
  // Ns" (the command is killed); NotFound (unknown id); Internal with the runtime's message
  // when the command could not be started.
  virtual StatusOr<ExecSyncResult> ExecSync(const std::string& id,
                                            const std::vector<std::string>& cmd,
                                            std::chrono::milliseconds timeout, bool tty) = 0;

  // Starts `cmd` in the running container with the container's process settings, with a
  // pseudo-terminal when `tty`, else pipes, for a streaming Exec.
  // Errors: InvalidArgument for an empty cmd; NotFound (unknown id); Internal with the
  // runtime's message when the command could not be started.
  virtual StatusOr<std::unique_ptr<ExecProcess>> StartExec(const std::string& id,
                                                           const std::vector<std::string>& cmd,
                                                           bool tty) {
    (void)cmd;
    (void)tty;
    return Unimplemented(absl::StrCat("streaming exec into container ", id));
  }

  // The container monitor's attach socket and control FIFO.
  // Errors: NotFound (unknown id); Unimplemented for runtimes without a monitor.
  virtual StatusOr<AttachEndpoint> Attach(const std::string& id) {
    return Unimplemented(absl::StrCat("attach to container ", id));
  }

  // Asks the monitor to reopen the container's log file (after the kubelet rotated it).
  // Errors: NotFound (unknown id); FailedPrecondition when the monitor is gone.
  virtual Status ReopenLog(const std::string& id) = 0;

  // The container's exit, once the monitor has recorded it; nullopt while it runs.
  // Errors: Internal for an unreadable or malformed exit file.
  virtual StatusOr<std::optional<ExitInfo>> ReadExit(const std::string& id) = 0;

  // Whether the monitor saw the container's cgroup run out of memory.
  // Errors: NotFound when neither the id's dirs are known nor the runtime knows its bundle.
  virtual StatusOr<bool> WasOomKilled(const std::string& id) = 0;

  // Records the dirs of a container created before a daemon restart, so the id-based calls
  // above find its files. Errors: InvalidArgument for an empty id or bundle.
  virtual Status Track(const std::string& id, const ContainerDirs& dirs) = 0;
};

using RuntimePtr = std::unique_ptr<Runtime>;

}  // namespace crio::oci
