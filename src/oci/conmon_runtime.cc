#include "oci/conmon_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_join.h"
#include "os/file.h"
#include "os/process.h"
#include "os/process_tree.h"
#include "os/unique_fd.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::oci {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr std::size_t kMaxSmallFile = 1 << 20;

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  std::size_t begin = s.find_first_not_of(ws);
  if (begin == std::string_view::npos) {
    return "";
  }
  std::size_t end = s.find_last_not_of(ws);
  return std::string(s.substr(begin, end - begin + 1));
}

Status WriteFile(const std::string& path, std::string_view data) {
  os::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("create `", path, "`"));
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ErrnoError(errno, absl::StrCat("write `", path, "`"));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) {
    return ErrnoError(ec.value(), absl::StrCat("mkdir `", path, "`"));
  }
  return absl::OkStatus();
}

Status CheckExecutable(const std::string& path, const char* option) {
  if (path.empty()) {
    return InvalidArgument(absl::StrCat(option, " is empty"));
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return InvalidArgument(
        absl::StrCat(option, " `", path, "` is not executable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

StatusOr<int> ParseInt(std::string_view text, std::string_view what) {
  std::string trimmed = Trim(text);
  int value = 0;
  auto [end, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (trimmed.empty() || ec != std::errc() || end != trimmed.data() + trimmed.size()) {
    return InvalidArgument(absl::StrCat("malformed ", std::string(what), " \"", trimmed, "\""));
  }
  return value;
}

std::string FormatDuration(milliseconds d) {
  return d.count() % 1000 == 0 ? absl::StrCat(d.count() / 1000, "s")
                               : absl::StrCat(d.count(), "ms");
}

std::string QuoteCommand(const std::vector<std::string>& cmd) {
  return absl::StrCat("`", absl::StrJoin(cmd, " "), "`");
}

// Waits until `fd` is readable or the deadline passes. Errors: DeadlineExceeded, the poll errno.
Status WaitReadable(int fd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return DeadlineExceeded("timed out");
    }
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX)));
    if (n > 0) {
      return absl::OkStatus();
    }
    if (n < 0 && errno != EINTR) {
      return ErrnoError(errno, "poll");
    }
  }
}

// Reads one newline-terminated message (conmon writes each JSON object followed by '\n').
// Returns "" when conmon closed the pipe without writing anything.
StatusOr<std::string> ReadSyncLine(int fd, Clock::time_point deadline) {
  std::string line;
  char buf[4096];
  for (;;) {
    RETURN_IF_ERROR(WaitReadable(fd, deadline));
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n < 0) {
      return ErrnoError(errno, "read sync pipe");
    }
    if (n == 0) {
      return line;
    }
    line.append(buf, static_cast<std::size_t>(n));
    if (auto nl = line.find('\n'); nl != std::string::npos) {
      line.resize(nl);
      return line;
    }
    if (line.size() > kMaxSmallFile) {
      return Internal("sync pipe message too long");
    }
  }
}

// Whatever is buffered in a non-blocking pipe, without waiting.
std::string ReadAvailable(int fd) {
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      data.append(buf, static_cast<std::size_t>(n));
      if (data.size() < 65536) {
        continue;
      }
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return data;
  }
}

// Whitespace-separated words of `text`.
std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    pos = text.find_first_not_of(" \t\n", pos);
    if (pos == std::string_view::npos) {
      break;
    }
    std::size_t end = text.find_first_of(" \t\n", pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// Field `index` (1-based, as in proc(5); 3 or more) of /proc/<pid>/stat, or -1.
long StatField(pid_t pid, int index) {
  auto stat = os::ReadSmallFile(absl::StrCat("/proc/", pid, "/stat"), kMaxSmallFile);
  if (!stat.ok()) {
    return -1;
  }
  std::size_t close = stat->rfind(')');  // comm may hold spaces and parentheses
  if (close == std::string::npos || index < 3) {
    return -1;
  }
  std::vector<std::string_view> fields = Words(std::string_view(*stat).substr(close + 1));
  if (static_cast<std::size_t>(index - 3) >= fields.size()) {
    return -1;
  }
  std::string_view field = fields[index - 3];  // fields[0] is field 3 (state)
  long value = -1;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  return ec == std::errc() && end == field.data() + field.size() ? value : -1;
}

}  // namespace

bool IsPidNamespaceInit(std::string_view proc_status) {
  constexpr std::string_view kKey = "NSpid:";
  std::size_t pos = 0;
  while (pos < proc_status.size()) {
    std::size_t end = proc_status.find('\n', pos);
    std::string_view line =
        proc_status.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (line.substr(0, kKey.size()) == kKey) {
      std::vector<std::string_view> ids = Words(line.substr(kKey.size()));
      return ids.size() >= 2 && ids.back() == "1";
    }
    if (end == std::string_view::npos) {
      break;
    }
    pos = end + 1;
  }
  return false;
}

namespace {

// Whether /proc/<pid>/cmdline is conmon's for container `id` ("-c" followed by the id).
bool IsMonitorFor(pid_t pid, const std::string& id) {
  auto cmdline = os::ReadSmallFile(absl::StrCat("/proc/", pid, "/cmdline"), kMaxSmallFile);
  if (!cmdline.ok()) {
    return false;
  }
  std::vector<std::string_view> args;
  std::string_view rest = *cmdline;
  while (!rest.empty()) {
    std::size_t nul = rest.find('\0');
    args.push_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if ((args[i] == "-c" || args[i] == "--cid") && args[i + 1] == id) {
      return true;
    }
  }
  return false;
}

}  // namespace

// ---- Pure helpers ----

std::vector<std::string> BuildConmonArgs(const ConmonOptions& options,
                                         const CreateRequest& request) {
  // One flag and its value per line.
  // clang-format off
  std::vector<std::string> args = {
      options.monitor_path,
      "-b", request.bundle,
      "-c", request.id,
      "--exit-dir", options.exits_dir,
      "-l", request.log_path,
      "--log-level", options.log_level,
      "-n", request.name,
      "-P", absl::StrCat(request.bundle, "/conmon-pidfile"),
      "-p", absl::StrCat(request.bundle, "/pidfile"),
      "--persist-dir", request.persist_dir,
      "-r", options.runtime_path,
  };
  // clang-format on
  if (!options.runtime_root.empty()) {
    args.insert(args.end(), {"--runtime-arg", absl::StrCat("--root=", options.runtime_root)});
  }
  args.insert(args.end(), {"--socket-dir-path", options.attach_socket_dir, "-u", request.id});
  if (options.systemd_cgroup) {
    args.push_back("-s");
  }
  if (request.log_size_max >= 0) {
    args.insert(args.end(), {"--log-size-max", absl::StrCat(request.log_size_max)});
  }
  if (options.no_sync_log) {
    args.push_back("--no-sync-log");
  }
  if (request.no_pivot) {
    args.push_back("--no-pivot");
  }
  if (request.tty) {
    args.push_back("-t");
  } else if (request.open_stdin) {
    args.push_back("-i");
  }
  if (request.open_stdin && !request.stdin_once) {
    args.push_back("--leave-stdin-open");
  }
  return args;
}

std::vector<std::string> BuildConmonEnv(const ConmonOptions& options) {
  std::vector<std::string> env;
  for (const std::string& kv : options.monitor_env) {
    if (!util::HasPrefix(kv, "_OCI_SYNCPIPE=") && !util::HasPrefix(kv, "_OCI_STARTPIPE=")) {
      env.push_back(kv);
    }
  }
  env.push_back("_OCI_SYNCPIPE=3");
  env.push_back("_OCI_STARTPIPE=4");
  return env;
}

std::vector<std::string> BuildRuntimeArgs(const ConmonOptions& options,
                                          const std::vector<std::string>& args) {
  std::vector<std::string> argv = {options.runtime_path};
  if (!options.runtime_root.empty()) {
    argv.push_back(absl::StrCat("--root=", options.runtime_root));
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

StatusOr<int> ParseSyncMessage(std::string_view line) {
  json msg = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (msg.is_discarded() || !msg.is_object()) {
    return InvalidArgument(
        absl::StrCat("malformed message from conmon: \"", std::string(line), "\""));
  }
  const json* value = nullptr;
  for (const char* key : {"pid", "data"}) {
    if (auto it = msg.find(key); it != msg.end() && it->is_number_integer()) {
      value = &*it;
      break;
    }
  }
  if (value == nullptr) {
    return InvalidArgument(
        absl::StrCat("message from conmon has no pid: \"", std::string(line), "\""));
  }
  int64_t pid = value->get<int64_t>();
  if (pid <= 0) {
    std::string message;
    if (auto it = msg.find("message"); it != msg.end() && it->is_string()) {
      message = CleanRuntimeMessage(it->get<std::string>());
    }
    if (message.empty()) {
      message = absl::StrCat("conmon reported ", pid);
    }
    return Internal(message);
  }
  return static_cast<int>(pid);
}

StatusOr<RuntimeState> ParseRuntimeState(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("runtime state is not a JSON object");
  }
  RuntimeState state;
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_string()) {
    return InvalidArgument("runtime state has no status");
  }
  state.status = status->get<std::string>();
  if (auto pid = doc.find("pid"); pid != doc.end() && pid->is_number_integer()) {
    state.pid = pid->get<int>();
  }
  if (auto bundle = doc.find("bundle"); bundle != doc.end() && bundle->is_string()) {
    state.bundle = bundle->get<std::string>();
  }
  return state;
}

StatusOr<int> ParseExitFile(std::string_view content) { return ParseInt(content, "exit file"); }

bool IsNotExistError(std::string_view text) {
  auto has = [&](std::string_view needle) { return text.find(needle) != std::string_view::npos; };
  if (has("does not exist")) {
    return true;
  }
  // crun names the state file or dir it failed to open; other ENOENTs (e.g. a missing
  // executable in exec) are not about the container.
  return has("No such file or directory") && (has("/status`") || has("cannot open directory"));
}

std::string CleanRuntimeMessage(std::string_view text) {
  std::vector<std::string> parts;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    std::size_t msg = line.find("msg=\"");
    if (msg == std::string_view::npos) {
      if (std::string t = Trim(line); !t.empty()) {
        parts.push_back(std::move(t));
      }
      continue;
    }
    // logrus: msg="..." with \" and \\ escaped.
    std::string unquoted;
    for (std::size_t i = msg + 5; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
      }
      unquoted.push_back(line[i]);
    }
    parts.push_back(std::move(unquoted));
  }
  return absl::StrJoin(parts, "; ");
}

StatusOr<std::string> BuildExecProcessSpec(std::string_view config_json,
                                           const std::vector<std::string>& cmd, bool tty) {
  json config = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return InvalidArgument("config.json is not a JSON object");
  }
  auto process = config.find("process");
  if (process == config.end() || !process->is_object()) {
    return InvalidArgument("config.json has no process");
  }
  json spec = *process;
  spec["args"] = cmd;
  spec["terminal"] = tty;
  spec.erase("consoleSize");
  return spec.dump();
}

// ---- ConmonRuntime ----

StatusOr<std::unique_ptr<ConmonRuntime>> ConmonRuntime::Create(ConmonOptions options) {
  RETURN_IF_ERROR(CheckExecutable(options.runtime_path, "runtime_path"));
  RETURN_IF_ERROR(CheckExecutable(options.monitor_path, "monitor_path"));
  if (options.exits_dir.empty() || options.attach_socket_dir.empty()) {
    return InvalidArgument("container_exits_dir and container_attach_socket_dir must be set");
  }
  RETURN_IF_ERROR(MakeDirs(options.exits_dir));
  RETURN_IF_ERROR(MakeDirs(options.attach_socket_dir));
  return std::unique_ptr<ConmonRuntime>(new ConmonRuntime(std::move(options)));
}

namespace {

Status ValidateCreate(const CreateRequest& r) {
  if (r.id.empty() || r.id.find('/') != std::string::npos || r.id[0] == '.') {
    return InvalidArgument(absl::StrCat("invalid container id \"", r.id, "\""));
  }
  if (r.bundle.empty() || r.persist_dir.empty() || r.log_path.empty()) {
    return InvalidArgument(
        absl::StrCat("container ", r.id, ": bundle, persist_dir and log_path are required"));
  }
  return absl::OkStatus();
}

// Runs the runtime binary and turns a failure into a status naming `verb` and the id.
StatusOr<os::RunResult> RunRuntime(const ConmonOptions& options, const std::string& verb,
                                   const std::string& id, std::vector<std::string> args,
                                   std::string input = "") {
  os::SpawnRequest spawn;
  spawn.argv = BuildRuntimeArgs(options, args);
  os::RunOptions run;
  run.input = std::move(input);
  run.timeout = options.command_timeout;
  run.max_output = 1 << 20;
  auto result = os::RunCommand(std::move(spawn), run);
  if (!result.ok()) {
    return Annotate(result.status(), absl::StrCat(verb, " container ", id));
  }
  return result;
}

Status RuntimeFailure(const std::string& verb, const std::string& id, const os::RunResult& r) {
  std::string message = CleanRuntimeMessage(r.stderr_data);
  if (message.empty()) {
    message = CleanRuntimeMessage(r.stdout_data);
  }
  if (message.empty()) {
    message = r.status.ToString();
  }
  if (IsNotExistError(r.stderr_data)) {
    return NotFound(absl::StrCat("container ", id, " not found: ", message));
  }
  return Internal(absl::StrCat(verb, " container ", id, ": ", message));
}

}  // namespace

StatusOr<int> ConmonRuntime::CreateContainer(const CreateRequest& request) {
  RETURN_IF_ERROR(ValidateCreate(request));
  const std::string& id = request.id;
  const milliseconds timeout =
      request.timeout.count() > 0 ? request.timeout : options_.create_timeout;
  const auto deadline = Clock::now() + timeout;

  int sync[2];
  int start[2];
  int err_pipe[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0) {
    return ErrnoError(errno, "socketpair");
  }
  os::UniqueFd sync_ours(sync[0]);
  os::UniqueFd sync_theirs(sync[1]);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, start) < 0) {
    return ErrnoError(errno, "socketpair");
  }
  os::UniqueFd start_ours(start[0]);
  os::UniqueFd start_theirs(start[1]);
  if (pipe2(err_pipe, O_CLOEXEC) < 0) {
    return ErrnoError(errno, "pipe2");
  }
  os::UniqueFd err_ours(err_pipe[0]);
  os::UniqueFd err_theirs(err_pipe[1]);
  // Only our end: we read it without waiting, conmon may block on a full pipe.
  if (fcntl(err_ours.get(), F_SETFL, O_NONBLOCK) < 0) {
    return ErrnoError(errno, "fcntl O_NONBLOCK");
  }

  os::SpawnRequest spawn;
  spawn.argv = BuildConmonArgs(options_, request);
  spawn.env = BuildConmonEnv(options_);
  spawn.cwd = request.bundle;
  spawn.stderr_fd = err_theirs.get();
  spawn.extra_fds = {sync_theirs.get(), start_theirs.get()};
  // Its own session: conmon must not share our process group or session, so signals aimed at
  // the daemon's group and its exit do not reach containers.
  spawn.new_session = true;
  CRIO_LOG_DEBUG("container={} handler={}: running {}", id, options_.handler_name,
                 absl::StrJoin(spawn.argv, " "));
  auto spawned = os::Spawn(spawn);
  if (!spawned.ok()) {
    return Annotate(spawned.status(), absl::StrCat("create container ", id, ": start conmon"));
  }
  os::ChildProcess conmon = *std::move(spawned);
  sync_theirs.reset();
  start_theirs.reset();
  err_theirs.reset();

  // From here on, a failure must not leave anything behind. The ChildProcess kills and reaps the
  // spawned conmon if it is still ours; the monitor it forked and the runtime state need more.
  bool released = false;
  auto fail = [&](const Status& status) -> Status {
    std::string conmon_stderr = Trim(ReadAvailable(err_ours.get()));
    conmon.Kill();
    if (released) {
      CleanUpFailedCreate(request);
    }
    Status annotated = Annotate(status, absl::StrCat("create container ", id));
    if (!conmon_stderr.empty()) {
      return Status(annotated.code(),
                    absl::StrCat(annotated.message(), " (conmon: ", conmon_stderr, ")"));
    }
    return annotated;
  };

  if (request.place_monitor) {
    if (Status placed = request.place_monitor(conmon.pid()); !placed.ok()) {
      return fail(Annotate(placed, "place conmon"));
    }
  }
  // conmon blocks on this byte before it forks or runs anything.
  const char go = 0;
  released = true;
  if (::send(start_ours.get(), &go, 1, MSG_NOSIGNAL) != 1) {
    return fail(ErrnoError(errno, "write conmon start pipe"));
  }
  start_ours.reset();

  // The spawned conmon forks the monitor and exits at once.
  auto left = [&] {
    return std::max(milliseconds(0), std::chrono::ceil<milliseconds>(deadline - Clock::now()));
  };
  auto exited = conmon.Wait(left());
  if (!exited.ok()) {
    if (absl::IsDeadlineExceeded(exited.status())) {
      return fail(
          DeadlineExceeded(absl::StrCat("conmon did not fork within ", FormatDuration(timeout))));
    }
    return fail(exited.status());
  }
  if (!exited->Success()) {
    return fail(Internal(absl::StrCat("conmon failed: ", exited->ToString())));
  }

  auto line = ReadSyncLine(sync_ours.get(), deadline);
  if (!line.ok()) {
    if (absl::IsDeadlineExceeded(line.status())) {
      return fail(DeadlineExceeded(absl::StrCat("timed out after ", FormatDuration(timeout),
                                                " waiting for the runtime to create it")));
    }
    return fail(line.status());
  }
  if (line->empty()) {
    return fail(Internal("conmon exited without reporting the container pid"));
  }
  auto pid = ParseSyncMessage(*line);
  if (!pid.ok()) {
    return fail(pid.status());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_[id] = ContainerDirs{request.bundle, request.persist_dir, request.log_path};
  }
  CRIO_LOG_INFO("container={} handler={}: created, pid {}", id, options_.handler_name, *pid);
  return *pid;
}

void ConmonRuntime::CleanUpFailedCreate(const CreateRequest& request) {
  StopMonitor(request.bundle, request.id, SIGKILL, milliseconds(5000));
  auto deleted = RunRuntime(options_, "delete", request.id, {"delete", "--force", request.id});
  if (!deleted.ok()) {
    CRIO_LOG_WARN("container={}: cleanup after failed create: {}", request.id, deleted.status());
  }
  ::unlink(absl::StrCat(options_.exits_dir, "/", request.id).c_str());
  ::unlink(absl::StrCat(request.bundle, "/conmon-pidfile").c_str());
}

bool ConmonRuntime::StopMonitor(const std::string& bundle, const std::string& id, int sig,
                                milliseconds wait) {
  auto text = os::ReadSmallFile(absl::StrCat(bundle, "/conmon-pidfile"), kMaxSmallFile);
  if (!text.ok()) {
    return true;
  }
  auto pid = ParseInt(*text, "conmon pidfile");
  if (!pid.ok() || *pid <= 0) {
    return true;
  }
  // The pidfd pins the process the pid names now; checking its cmdline afterwards makes sure we
  // do not signal an unrelated process that reused the pid.
  auto pidfd = os::PidFd::Open(*pid);
  if (!pidfd.ok() || !IsMonitorFor(*pid, id)) {
    return true;
  }
  if (sig != 0) {
    (void)pidfd->Signal(sig);
  }
  return pidfd->WaitExited(wait);
}

Status ConmonRuntime::StartContainer(const std::string& id) {
  ASSIGN_OR_RETURN(os::RunResult r, RunRuntime(options_, "start", id, {"start", id}));
  if (!r.status.Success()) {
    return RuntimeFailure("start", id, r);
  }
  return absl::OkStatus();
}

std::optional<os::PidFd> ConmonRuntime::OpenInit(const std::string& id, bool* exited) {
  *exited = false;
  auto dirs = TrackedDirs(id);
  if (!dirs) {
    return std::nullopt;
  }
  auto conmon = os::ReadSmallFile(absl::StrCat(dirs->bundle, "/conmon-pidfile"), kMaxSmallFile);
  auto init = os::ReadSmallFile(absl::StrCat(dirs->bundle, "/pidfile"), kMaxSmallFile);
  if (!conmon.ok() || !init.ok()) {
    return std::nullopt;
  }
  auto conmon_pid = ParseInt(*conmon, "conmon pidfile");
  auto init_pid = ParseInt(*init, "container pidfile");
  if (!conmon_pid.ok() || !init_pid.ok() || *init_pid <= 1) {
    return std::nullopt;
  }
  auto pidfd = os::PidFd::Open(*init_pid);
  if (absl::IsNotFound(pidfd.status())) {
    *exited = true;  // no process has that pid any more
    return std::nullopt;
  }
  // Checked after the pidfd pins the process: conmon, a subreaper, is the parent of the
  // container's init, so a pid reused by another process fails the check.
  if (!pidfd.ok() || StatField(*init_pid, 4) != *conmon_pid || !IsMonitorFor(*conmon_pid, id)) {
    return std::nullopt;
  }
  return std::move(*pidfd);
}

namespace {

// `runtime pause|resume ID`; the runtimes' "not running"/"not paused" become FailedPrecondition.
Status RunFreezeVerb(const ConmonOptions& options, const std::string& verb, const std::string& id) {
  ASSIGN_OR_RETURN(os::RunResult r, RunRuntime(options, verb, id, {verb, id}));
  if (r.status.Success()) {
    CRIO_LOG_INFO("container={}: {}d", id, verb);
    return absl::OkStatus();
  }
  Status failure = RuntimeFailure(verb, id, r);
  if (!absl::IsNotFound(failure) && (r.stderr_data.find("not running") != std::string::npos ||
                                     r.stderr_data.find("not paused") != std::string::npos ||
                                     r.stderr_data.find("is not") != std::string::npos)) {
    return FailedPrecondition(
        absl::StrCat("cannot ", verb, " container ", id, ": ", Trim(r.stderr_data)));
  }
  return failure;
}

}  // namespace

Status ConmonRuntime::PauseContainer(const std::string& id) {
  // runc and crun disagree on pausing twice and on resuming a running container: ask first.
  ASSIGN_OR_RETURN(RuntimeState state, State(id));
  if (state.status != "running") {
    return FailedPrecondition(
        absl::StrCat("container is not in running or created state, now is ", state.status));
  }
  return RunFreezeVerb(options_, "pause", id);
}

Status ConmonRuntime::ResumeContainer(const std::string& id) {
  ASSIGN_OR_RETURN(RuntimeState state, State(id));
  if (state.status != "paused") {
    return FailedPrecondition(
        absl::StrCat("container is not in paused state, now is ", state.status));
  }
  return RunFreezeVerb(options_, "resume", id);
}

Status ConmonRuntime::KillContainer(const std::string& id, int signal, bool all) {
  // Fast path, without a runtime exec: signal the init process through a pidfd. `all` needs
  // every process of the container; that is the init alone when it is PID 1 of its own PID
  // namespace (the kernel kills the rest with it), which holds for SIGKILL only.
  bool exited = false;
  if (auto init = OpenInit(id, &exited)) {
    auto status = os::ReadSmallFile(absl::StrCat("/proc/", init->pid(), "/status"), kMaxSmallFile);
    if (!all || (signal == SIGKILL && status.ok() && IsPidNamespaceInit(*status))) {
      RETURN_IF_ERROR(init->Signal(signal));
      CRIO_LOG_DEBUG("container={}: signal {} sent to init pid {}", id, signal, init->pid());
      return absl::OkStatus();
    }
  } else if (exited) {
    return FailedPrecondition(absl::StrCat("container ", id, " is not running"));
  }
  std::vector<std::string> args = {"kill"};
  if (all) {
    args.push_back("--all");
  }
  args.insert(args.end(), {id, absl::StrCat(signal)});
  ASSIGN_OR_RETURN(os::RunResult r, RunRuntime(options_, "kill", id, std::move(args)));
  if (r.status.Success()) {
    return absl::OkStatus();
  }
  Status failure = RuntimeFailure("kill", id, r);
  // runc: "container not running"; crun: "kill container: No such process".
  if (!absl::IsNotFound(failure) && (r.stderr_data.find("not running") != std::string::npos ||
                                     r.stderr_data.find("No such process") != std::string::npos)) {
    return FailedPrecondition(absl::StrCat("container ", id, " is not running"));
  }
  return failure;
}

Status ConmonRuntime::DeleteContainer(const std::string& id, bool force) {
  std::vector<std::string> args = {"delete"};
  if (force) {
    args.push_back("--force");
  }
  args.push_back(id);
  ASSIGN_OR_RETURN(os::RunResult r, RunRuntime(options_, "delete", id, std::move(args)));
  if (!r.status.Success()) {
    Status failure = RuntimeFailure("delete", id, r);
    if (!absl::IsNotFound(failure)) {
      return failure;
    }
  }
  // With the container gone its conmon exits; wait for it so that its exit file is not written
  // after we removed it.
  if (auto dirs = TrackedDirs(id)) {
    if (!StopMonitor(dirs->bundle, id, /*sig=*/0, milliseconds(10000))) {
      CRIO_LOG_WARN("container={}: conmon still running after delete", id);
    }
  }
  if (::unlink(absl::StrCat(options_.exits_dir, "/", id).c_str()) < 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove exit file of container ", id));
  }
  std::lock_guard<std::mutex> lock(mu_);
  dirs_.erase(id);
  return absl::OkStatus();
}

StatusOr<RuntimeState> ConmonRuntime::State(const std::string& id) {
  ASSIGN_OR_RETURN(os::RunResult r, RunRuntime(options_, "state of", id, {"state", id}));
  if (!r.status.Success()) {
    return RuntimeFailure("state of", id, r);
  }
  auto state = ParseRuntimeState(r.stdout_data);
  if (!state.ok()) {
    return Internal(absl::StrCat("state of container ", id, ": ", state.status().message()));
  }
  return state;
}

Status ConmonRuntime::UpdateContainerResources(const std::string& id,
                                               const std::string& resources_json) {
  ASSIGN_OR_RETURN(os::RunResult r, RunRuntime(options_, "update", id,
                                               {"update", "--resources", "-", id}, resources_json));
  if (!r.status.Success()) {
    return RuntimeFailure("update", id, r);
  }
  return absl::OkStatus();
}

// The files of one exec: a private dir in the bundle holding the process spec and the pid
// file. Removed when the object dies.
struct ExecFiles {
  std::string dir;
  std::string pid_path;
  std::vector<std::string> argv;  // `<runtime> exec --process ... <id>`

  ExecFiles() = default;
  ExecFiles(ExecFiles&& other) noexcept
      : dir(std::exchange(other.dir, {})),
        pid_path(std::move(other.pid_path)),
        argv(std::move(other.argv)) {}
  ExecFiles& operator=(ExecFiles&&) = delete;
  ~ExecFiles() {
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
};

namespace {

// Kills the exec'd command found through its pid file, with everything it forked: the command
// is not in the runtime's process group, and its children would be orphaned to the container's
// init if only it died.
void KillExecTree(const std::string& id, const std::string& pid_path) {
  auto text = os::ReadSmallFile(pid_path, kMaxSmallFile);
  if (!text.ok()) {
    return;
  }
  if (auto pid = ParseInt(*text, "pid file"); pid.ok() && *pid > 0) {
    if (auto killed = os::KillProcessTree(static_cast<pid_t>(*pid)); !killed.ok()) {
      CRIO_LOG_WARN("exec in container {}: killing the command: {}", id,
                    killed.status().ToString());
    }
  }
}

class ConmonExecProcess final : public ExecProcess {
 public:
  // `files` live as long as the process: the pid file is how the command is found and killed.
  ConmonExecProcess(std::string id, ExecFiles files)
      : id_(std::move(id)), files_(std::move(files)) {}
  ~ConmonExecProcess() override {
    if (runtime.valid() && !runtime.reaped()) {
      KillCommand();
      runtime.Kill();
    }
  }
  void KillCommand() override { KillExecTree(id_, files_.pid_path); }

 private:
  std::string id_;
  ExecFiles files_;
};

}  // namespace

StatusOr<ExecFiles> ConmonRuntime::PrepareExec(const std::string& id,
                                               const std::vector<std::string>& cmd, bool tty) {
  if (cmd.empty()) {
    return InvalidArgument(absl::StrCat("exec in container ", id, ": empty command"));
  }
  ASSIGN_OR_RETURN(ContainerDirs dirs, DirsFor(id));
  auto config = os::ReadSmallFile(absl::StrCat(dirs.bundle, "/config.json"), kMaxSmallFile);
  if (!config.ok()) {
    return Annotate(config.status(), absl::StrCat("exec in container ", id));
  }
  auto spec = BuildExecProcessSpec(*config, cmd, tty);
  if (!spec.ok()) {
    return Internal(absl::StrCat("exec in container ", id, ": ", spec.status().message()));
  }
  // A private dir for the process spec and pid file, next to the container's other files.
  std::string tmpl = absl::StrCat(dirs.bundle, "/exec-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoError(errno, absl::StrCat("exec in container ", id, ": mkdtemp"));
  }
  ExecFiles files;
  files.dir = tmpl;
  files.pid_path = files.dir + "/pid";
  const std::string spec_path = files.dir + "/process.json";
  RETURN_IF_ERROR(WriteFile(spec_path, *spec));
  files.argv = BuildRuntimeArgs(options_,
                                {"exec", "--process", spec_path, "--pid-file", files.pid_path, id});
  return files;
}

StatusOr<ExecSyncResult> ConmonRuntime::ExecSync(const std::string& id,
                                                 const std::vector<std::string>& cmd,
                                                 milliseconds timeout, bool tty) {
  ASSIGN_OR_RETURN(ExecFiles files, PrepareExec(id, cmd, tty));
  const std::string& pid_path = files.pid_path;
  os::SpawnRequest spawn;
  spawn.argv = files.argv;
  os::RunOptions run;
  run.max_output = kExecSyncOutputLimit;
  run.use_pty = tty;
  if (timeout.count() > 0) {
    run.timeout = timeout;
  }
  // The kubelet's probes time out this way: kill the command's whole tree.
  run.on_timeout = [&] { KillExecTree(id, pid_path); };
  auto result = os::RunCommand(std::move(spawn), run);
  if (!result.ok()) {
    if (absl::IsDeadlineExceeded(result.status())) {
      return DeadlineExceeded(absl::StrCat("command ", QuoteCommand(cmd), " timed out after ",
                                           FormatDuration(timeout)));
    }
    return Annotate(result.status(), absl::StrCat("exec in container ", id));
  }
  // The runtime exits with the command's status once the command ran; without a pid file the
  // command never started and the status is the runtime's own failure.
  if (!result->status.Success() && !FileExists(pid_path)) {
    return RuntimeFailure(absl::StrCat("exec ", QuoteCommand(cmd), " in"), id, *result);
  }
  ExecSyncResult out;
  out.exit_code = result->status.Code();
  out.stdout_data = std::move(result->stdout_data);
  out.stderr_data = std::move(result->stderr_data);
  return out;
}

StatusOr<std::unique_ptr<ExecProcess>> ConmonRuntime::StartExec(const std::string& id,
                                                                const std::vector<std::string>& cmd,
                                                                bool tty) {
  ASSIGN_OR_RETURN(ExecFiles files, PrepareExec(id, cmd, tty));
  os::SpawnRequest spawn;
  spawn.argv = files.argv;
  auto process = std::make_unique<ConmonExecProcess>(id, std::move(files));
  process->tty = tty;
  ASSIGN_OR_RETURN(os::ChildStdio stdio, os::MakeChildStdio(tty));
  if (tty) {
    // The runtime, in the foreground with terminal: true, makes the container's console and
    // relays between it and its own stdio, our pty, whose size it copies on SIGWINCH.
    // Raw: the container's console already echoes and edits lines; a cooked pty in front of
    // it would echo every keystroke twice and turn the client's bytes into line input.
    termios mode{};
    if (::tcgetattr(stdio.child_stdin.get(), &mode) == 0) {
      ::cfmakeraw(&mode);
      ::tcsetattr(stdio.child_stdin.get(), TCSANOW, &mode);
    }
  }
  stdio.ApplyTo(spawn);
  process->stdin_fd = std::move(stdio.input);
  process->stdout_fd = std::move(stdio.output);
  process->stderr_fd = std::move(stdio.error);
  spawn.new_session = true;
  auto child = os::Spawn(spawn);
  if (!child.ok()) {
    return Annotate(child.status(), absl::StrCat("exec in container ", id));
  }
  process->runtime = std::move(*child);
  return std::unique_ptr<ExecProcess>(std::move(process));
}

StatusOr<AttachEndpoint> ConmonRuntime::Attach(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerDirs dirs, DirsFor(id));
  AttachEndpoint endpoint;
  endpoint.socket_path = absl::StrCat(options_.attach_socket_dir, "/", id, "/attach");
  endpoint.control_path = absl::StrCat(dirs.bundle, "/ctl");
  return endpoint;
}

Status ConmonRuntime::ReopenLog(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerDirs dirs, DirsFor(id));
  const std::string ctl = absl::StrCat(dirs.bundle, "/ctl");
  // Non-blocking: opening a FIFO for writing fails with ENXIO instead of hanging when conmon,
  // its reader, is gone.
  os::UniqueFd fd(::open(ctl.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENXIO) {
      return FailedPrecondition(absl::StrCat("conmon of container ", id, " is not running"));
    }
    return ErrnoError(errno, absl::StrCat("reopen log of container ", id, ": open `", ctl, "`"));
  }
  static constexpr char kReopen[] = "2 0 0\n";
  if (::write(fd.get(), kReopen, sizeof(kReopen) - 1) != sizeof(kReopen) - 1) {
    return ErrnoError(errno, absl::StrCat("reopen log of container ", id, ": write `", ctl, "`"));
  }
  // conmon reopens asynchronously; the caller expects the file to be back (CRI-O waits too).
  if (!dirs.log_path.empty()) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!FileExists(dirs.log_path)) {
      if (Clock::now() >= deadline) {
        return DeadlineExceeded(
            absl::StrCat("container ", id, ": log `", dirs.log_path, "` was not reopened"));
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  return absl::OkStatus();
}

StatusOr<std::optional<ExitInfo>> ConmonRuntime::ReadExit(const std::string& id) {
  std::vector<std::string> candidates = {absl::StrCat(options_.exits_dir, "/", id)};
  if (auto dirs = TrackedDirs(id)) {
    candidates.push_back(absl::StrCat(dirs->persist_dir, "/exit"));
  }
  for (const std::string& path : candidates) {
    auto content = os::ReadSmallFile(path, kMaxSmallFile);
    if (!content.ok()) {
      if (absl::IsNotFound(content.status())) {
        continue;
      }
      return Annotate(content.status(), absl::StrCat("exit of container ", id));
    }
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) {
      return ErrnoError(errno, absl::StrCat("stat `", path, "`"));
    }
    auto code = ParseExitFile(*content);
    if (!code.ok()) {
      return Internal(
          absl::StrCat("exit of container ", id, ": `", path, "`: ", code.status().message()));
    }
    ExitInfo info;
    info.exit_code = *code;
    info.finished = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    return std::optional<ExitInfo>(info);
  }
  return std::optional<ExitInfo>();
}

StatusOr<bool> ConmonRuntime::WasOomKilled(const std::string& id) {
  ASSIGN_OR_RETURN(ContainerDirs dirs, DirsFor(id));
  if (FileExists(absl::StrCat(dirs.bundle, "/oom"))) {
    return true;
  }
  return !dirs.persist_dir.empty() && FileExists(absl::StrCat(dirs.persist_dir, "/oom"));
}

Status ConmonRuntime::Track(const std::string& id, const ContainerDirs& dirs) {
  if (id.empty() || dirs.bundle.empty()) {
    return InvalidArgument("track: container id and bundle are required");
  }
  std::lock_guard<std::mutex> lock(mu_);
  dirs_[id] = dirs;
  return absl::OkStatus();
}

StatusOr<pid_t> ConmonRuntime::MonitorPid(const std::string& id) {
  auto dirs = TrackedDirs(id);
  if (!dirs) {
    return NotFound(absl::StrCat("container ", id, " is not tracked"));
  }
  auto text = os::ReadSmallFile(absl::StrCat(dirs->bundle, "/conmon-pidfile"), kMaxSmallFile);
  if (!text.ok()) {
    return Annotate(text.status(), absl::StrCat("conmon pid of container ", id));
  }
  auto pid = ParseInt(*text, "conmon pidfile");
  if (!pid.ok()) {
    return Internal(absl::StrCat("container ", id, ": ", pid.status().message()));
  }
  return static_cast<pid_t>(*pid);
}

std::optional<ContainerDirs> ConmonRuntime::TrackedDirs(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dirs_.find(id);
  if (it == dirs_.end()) {
    return std::nullopt;
  }
  return it->second;
}

StatusOr<ContainerDirs> ConmonRuntime::DirsFor(const std::string& id) {
  if (auto dirs = TrackedDirs(id)) {
    return *dirs;
  }
  ASSIGN_OR_RETURN(RuntimeState state, State(id));
  if (state.bundle.empty()) {
    return NotFound(absl::StrCat("container ", id, ": runtime reports no bundle"));
  }
  return ContainerDirs{state.bundle, "", ""};
}

}  // namespace crio::oci
