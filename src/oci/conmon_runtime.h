#pragma once
// Runtime implemented with conmon (the per-container monitor, 2.1.x) and an OCI runtime binary
// (crun or runc), following CRI-O's conmon contract:
//  * Create: conmon runs with cwd = bundle, a sync socketpair as fd 3 (_OCI_SYNCPIPE) and a
//    start socketpair as fd 4 (_OCI_STARTPIPE), in a new session. It blocks until it reads one
//    byte from the start pipe (the window to move it into a cgroup), double-forks (the spawned
//    parent exits; the monitor is reparented away from us), runs `<runtime> create`, and writes
//    `{"pid": N}` or `{"data": -1, "message": "<runtime stderr>"}` to the sync pipe.
//  * Exit: conmon writes the decimal exit status (128 + signal when killed) to
//    `<exits_dir>/<id>` and `<persist_dir>/exit`; OOM leaves an `oom` file in the bundle and
//    persist dir.
//  * Control: `<bundle>/ctl` takes "2 0 0\n" to reopen the log file.
//  * Start/Kill/Delete/State/Update/ExecSync call the runtime binary directly.
//
// ExecSync runs `<runtime> exec --process <json> --pid-file <f> <id>` itself rather than through
// `conmon --exec`: one process less per probe, output comes straight from pipes instead of being
// written to and parsed back from a CRI log file, and the timeout is enforced here with the
// pidfd (the exec'd process, found through the pid file, and the runtime's process group are
// SIGKILLed). CRI-O kept conmon for this to bound its Go heap (cri-o PR 5262); here both
// streams are read into buffers capped at kExecSyncOutputLimit, so memory stays bounded too.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/runtime.h"
#include "os/process.h"
#include "util/status.h"

namespace crio::oci {

struct ExecFiles;  // conmon_runtime.cc

struct ConmonOptions {
  std::string handler_name;  // for messages
  std::string runtime_path;  // crun or runc binary
  std::string runtime_root;  // passed as --root=; empty: the runtime's default
  std::string monitor_path = "/usr/bin/conmon";
  std::vector<std::string> monitor_env;  // conmon's whole environment, plus the pipe variables
  std::string exits_dir;                 // conmon --exit-dir; created if missing
  std::string attach_socket_dir;         // conmon --socket-dir-path; created if missing
  std::string log_level = "info";        // conmon --log-level
  bool systemd_cgroup = false;           // conmon -s: the runtime uses the systemd cgroup driver
  bool no_sync_log = false;              // conmon --no-sync-log
  std::chrono::milliseconds create_timeout = std::chrono::seconds(240);
  // Limit for start/kill/delete/state/update calls to the runtime binary.
  std::chrono::milliseconds command_timeout = std::chrono::seconds(120);
};

class ConmonRuntime final : public Runtime {
 public:
  // Checks that the runtime and monitor binaries are executable and creates the exits and
  // attach dirs. Errors: InvalidArgument naming a missing binary or option; the mkdir error.
  static StatusOr<std::unique_ptr<ConmonRuntime>> Create(ConmonOptions options);

  StatusOr<int> CreateContainer(const CreateRequest& request) override;
  Status StartContainer(const std::string& id) override;
  Status KillContainer(const std::string& id, int signal, bool all) override;
  Status PauseContainer(const std::string& id) override;
  Status ResumeContainer(const std::string& id) override;
  Status DeleteContainer(const std::string& id, bool force) override;
  StatusOr<RuntimeState> State(const std::string& id) override;
  Status UpdateContainerResources(const std::string& id,
                                  const std::string& resources_json) override;
  StatusOr<ExecSyncResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd,
                                    std::chrono::milliseconds timeout, bool tty) override;
  StatusOr<std::unique_ptr<ExecProcess>> StartExec(const std::string& id,
                                                   const std::vector<std::string>& cmd,
                                                   bool tty) override;
  StatusOr<AttachEndpoint> Attach(const std::string& id) override;
  Status ReopenLog(const std::string& id) override;
  StatusOr<std::optional<ExitInfo>> ReadExit(const std::string& id) override;
  StatusOr<bool> WasOomKilled(const std::string& id) override;
  Status Track(const std::string& id, const ContainerDirs& dirs) override;

  // The pid of the container's conmon, from `<bundle>/conmon-pidfile`.
  // Errors: NotFound when the dirs are unknown or the file is missing; Internal if malformed.
  StatusOr<pid_t> MonitorPid(const std::string& id);

  const ConmonOptions& options() const { return options_; }

 private:
  explicit ConmonRuntime(ConmonOptions options) : options_(std::move(options)) {}

  std::optional<ContainerDirs> TrackedDirs(const std::string& id);
  // A pidfd on the container's init process, verified to be a child of its conmon; nullopt
  // when it cannot be found or verified (the caller falls back to the runtime), with `*exited`
  // set when the init recorded in the pidfile is known to be gone.
  std::optional<os::PidFd> OpenInit(const std::string& id, bool* exited);
  // The process spec and a private dir (with the pid file's path) for `cmd`, in the bundle.
  StatusOr<ExecFiles> PrepareExec(const std::string& id, const std::vector<std::string>& cmd,
                                  bool tty);
  // Tracked dirs, else the bundle the runtime reports.
  StatusOr<ContainerDirs> DirsFor(const std::string& id);
  // Best-effort teardown after a failed create: conmon, the runtime's state, the exit file.
  void CleanUpFailedCreate(const CreateRequest& request);
  // SIGKILLs the conmon recorded in `bundle`'s pidfile if it still is conmon for `id`;
  // waits up to `wait` for it to exit. Returns whether it is gone.
  bool StopMonitor(const std::string& bundle, const std::string& id, int sig,
                   std::chrono::milliseconds wait);

  ConmonOptions options_;
  std::mutex mu_;
  std::map<std::string, ContainerDirs> dirs_;  // guarded by mu_
};

// ---- Pure helpers, exposed for tests. ----

// conmon's argv for `request` (argv[0] is options.monitor_path).
std::vector<std::string> BuildConmonArgs(const ConmonOptions& options,
                                         const CreateRequest& request);

// conmon's environment: options.monitor_env, then _OCI_SYNCPIPE=3 and _OCI_STARTPIPE=4.
std::vector<std::string> BuildConmonEnv(const ConmonOptions& options);

// `<runtime_path> [--root=<runtime_root>] <args...>`.
std::vector<std::string> BuildRuntimeArgs(const ConmonOptions& options,
                                          const std::vector<std::string>& args);

// Parses one sync-pipe line from conmon: `{"pid": N}` (or `{"data": N}` with --api-version 1).
// Errors: Internal with conmon's "message" when N < 0; InvalidArgument for malformed JSON.
StatusOr<int> ParseSyncMessage(std::string_view line);

// Parses `<runtime> state` JSON. Errors: InvalidArgument for malformed JSON or missing status.
StatusOr<RuntimeState> ParseRuntimeState(std::string_view json);

// Parses an exit file ("137", whitespace allowed). Errors: InvalidArgument.
StatusOr<int> ParseExitFile(std::string_view content);

// Whether a runtime's error output says the container does not exist (runc: "container does not
// exist"; crun: "error opening file `<root>/<id>/status`: No such file or directory" or "cannot
// open directory `<root>/<id>`: ..."), as opposed to another missing file.
bool IsNotExistError(std::string_view runtime_stderr);

// Whether a /proc/<pid>/status text says the process is PID 1 of a PID namespace nested below
// the reader's (its NSpid line has two or more ids, the last being 1).
bool IsPidNamespaceInit(std::string_view proc_status);

// A runtime's stderr made readable: runc's logrus lines are reduced to their msg="..." text.
std::string CleanRuntimeMessage(std::string_view runtime_stderr);

// The exec process spec: the bundle config.json's "process" with args = cmd and terminal = tty.
// Errors: InvalidArgument for malformed config or a config without a process.
StatusOr<std::string> BuildExecProcessSpec(std::string_view config_json,
                                           const std::vector<std::string>& cmd, bool tty);

}  // namespace crio::oci
