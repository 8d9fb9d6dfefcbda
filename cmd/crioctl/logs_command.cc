// crioctl logs: reads the container's CRI log file as crictl does (the runtime only gives its
// path), and with -f follows it through rotations until the container stops.

#include "runtime_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "call.h"
#include "os/unique_fd.h"
#include "runtime_commands.h"

namespace crioctl {

namespace {

struct LogsOptions {
  std::string id;
  bool follow = false;
  int64_t tail = -1;
  bool timestamps = false;
  std::string stream;  // "", "stdout" or "stderr"
};

class LogPrinter {
 public:
  explicit LogPrinter(const LogsOptions& o) : o_(o) {}

  void Print(const std::vector<crio::oci::LogEntry>& entries) {
    for (const auto& e : entries) {
      const bool is_stdout = e.stream == crio::oci::LogStream::kStdout;
      if (!o_.stream.empty() && o_.stream != (is_stdout ? "stdout" : "stderr")) continue;
      std::string text = FormatLogEntry(e, o_.timestamps);
      std::fwrite(text.data(), 1, text.size(), is_stdout ? stdout : stderr);
    }
    std::fflush(stdout);
    std::fflush(stderr);
  }

 private:
  const LogsOptions& o_;
};

int ContainerStatus(Client& client, const std::string& id, v1::ContainerStatusResponse* resp) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  return Call(client, Rpc{"ContainerStatus", &RuntimeStub::ContainerStatus}, req, resp);
}

crio::StatusOr<crio::os::UniqueFd> OpenLog(const std::string& path) {
  crio::os::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return crio::ErrnoError(errno, absl::StrCat("open log file `", path, "`"));
  return fd;
}

// Reads what `fd` has now. Returns false at end of file.
crio::StatusOr<bool> ReadSome(int fd, const std::string& path, LogStreamReader* reader,
                              std::vector<crio::oci::LogEntry>* out) {
  char buf[65536];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return crio::ErrnoError(errno, absl::StrCat("read log file `", path, "`"));
  if (n == 0) return false;
  for (auto& e : reader->Feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
    out->push_back(std::move(e));
  }
  return true;
}

// Follows the file until the container is no longer running and the file is drained. Handles
// rotation (a new inode at `path`) and truncation by reopening / rewinding.
int FollowLog(Client& client, const LogsOptions& o, const std::string& path, crio::os::UniqueFd fd,
              LogStreamReader* reader, LogPrinter* printer) {
  constexpr auto kPoll = std::chrono::milliseconds(100);
  constexpr int kPollsPerStatusCheck = 5;
  struct stat current {};
  if (fstat(fd.get(), &current) != 0) return Fail(crio::ErrnoError(errno, "stat log file"));
  int idle_polls = 0;
  bool exited = false;
  while (true) {
    std::vector<crio::oci::LogEntry> entries;
    auto more = ReadSome(fd.get(), path, reader, &entries);
    if (!more.ok()) return Fail(more.status());
    printer->Print(entries);
    if (*more) {
      idle_polls = 0;
      continue;
    }
    // End of the file we hold: was it rotated or truncated?
    struct stat now_at_path {};
    if (stat(path.c_str(), &now_at_path) == 0) {
      if (now_at_path.st_ino != current.st_ino || now_at_path.st_dev != current.st_dev) {
        auto reopened = OpenLog(path);
        if (reopened.ok()) {
          printer->Print(reader->EndOfFile());  // the old file's last line, if unterminated
          fd = *std::move(reopened);
          current = now_at_path;
          continue;
        }
      } else if (now_at_path.st_size < lseek(fd.get(), 0, SEEK_CUR)) {
        lseek(fd.get(), 0, SEEK_SET);
        continue;
      }
    }
    if (exited) {
      printer->Print(reader->Finish());
      return 0;
    }
    if (idle_polls++ % kPollsPerStatusCheck == 0) {
      v1::ContainerStatusResponse status;
      if (int rc = ContainerStatus(client, o.id, &status)) return rc;
      // Drain once more after the exit: the runtime may have written the last lines since.
      if (status.status().state() != v1::CONTAINER_RUNNING) {
        exited = true;
        continue;
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
}

int CmdLogs(Client& client, const LogsOptions& o) {
  if (!o.stream.empty() && o.stream != "stdout" && o.stream != "stderr") {
    return Fail(
        absl::StrCat("invalid stream \"", o.stream, "\", must be \"stdout\" or \"stderr\""));
  }
  if (o.tail >= 0 && !o.stream.empty()) return Fail("--tail and --stream are mutually exclusive");
  v1::ContainerStatusResponse status;
  if (int rc = ContainerStatus(client, o.id, &status)) return rc;
  const std::string& path = status.status().log_path();
  if (path.empty()) return Fail("the container has not set log path");
  auto fd = OpenLog(path);
  if (!fd.ok()) return Fail(fd.status());

  LogStreamReader reader;
  LogPrinter printer(o);
  std::vector<crio::oci::LogEntry> existing;
  while (true) {
    auto more = ReadSome(fd->get(), path, &reader, &existing);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
  }
  if (!o.follow) {
    for (auto& e : reader.Finish()) existing.push_back(std::move(e));
    printer.Print(TailEntries(std::move(existing), o.tail));
    return 0;
  }
  printer.Print(TailEntries(std::move(existing), o.tail));
  return FollowLog(client, o, path, *std::move(fd), &reader, &printer);
}

}  // namespace

void AddLogsCommand(CLI::App& app, Commands& commands) {
  auto [logs_cmd, logs] = AddVerb(app, commands, "logs", "Fetch the logs of a container", CmdLogs);
  logs_cmd->add_option("container-id", logs.id, "CONTAINER-ID")->required();
  logs_cmd->add_flag("--follow,-f", logs.follow, "Follow log output");
  logs_cmd->add_option("--tail", logs.tail,
                       "Number of lines to show from the end of the logs (default: all)");
  logs_cmd->add_flag("--timestamps,-t", logs.timestamps, "Show timestamps");
  logs_cmd->add_option("--stream,-s", logs.stream,
                       "Show specified stream (stdout or stderr). Defaults to both.");
}

}  // namespace crioctl
