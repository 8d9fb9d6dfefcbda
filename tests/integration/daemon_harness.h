#pragma once
// Starts the real `crio` binary on a temporary socket and root, for integration tests.
// Generated CRI headers come first: their Signal enum clashes with <signal.h> macros.
#include "api.grpc.pb.h"

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "util/status.h"

namespace crio::testing {

namespace v1 = ::runtime::v1;

// Result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};
CommandResult RunCommand(const std::vector<std::string>& argv);

// Path of a binary built by this project ("crio", "crioctl").
std::string BuiltBinary(const std::string& name);

// A fresh temp dir removed (recursively, after unmounting anything below it) on destruction.
class TempDir {
 public:
  // Under `base` (a private systemd's namespace has its own /tmp; /var/tmp is shared with it).
  explicit TempDir(const std::string& base = "/tmp");
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

struct DaemonOptions {
  std::string config_text;              // written to <tmp>/crio.conf
  std::vector<std::string> extra_args;  // appended to the command line
  bool wait_ready = true;               // wait until Version answers
  std::string listen;                   // socket path; default <tmp>/crio.sock
  // Runs crio through this command prefix, e.g. nsenter into a private systemd's namespaces.
  // The daemon is then the launcher's child: signals go to it, the launcher is waited for.
  std::vector<std::string> launcher;
  std::string temp_base = "/tmp";  // where the daemon's temp dir goes
};

class Daemon {
 public:
  // Starts crio with --config/--config-dir/--listen/--root/--runroot under a temp dir.
  static StatusOr<std::unique_ptr<Daemon>> Start(DaemonOptions options = {});
  ~Daemon();  // SIGTERM, then SIGKILL after a deadline; reaps; removes the temp dir

  const std::string& socket_path() const { return socket_path_; }
  std::string endpoint() const { return "unix://" + socket_path_; }
  const TempDir& dir() const { return *dir_; }
  std::string config_dir() const { return dir_->Sub("crio.conf.d"); }
  // The daemon's PID (the launcher's child when there is a launcher).
  pid_t pid() const { return signal_pid_; }

  v1::RuntimeService::Stub& runtime() { return *runtime_; }
  v1::ImageService::Stub& image() { return *image_; }
  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::seconds timeout = std::chrono::seconds(30));

  Status Signal(int sig);
  // Waits for the process to exit; returns its exit code (128+signal when killed).
  StatusOr<int> WaitExit(std::chrono::milliseconds timeout);
  // The daemon's log so far.
  std::string Log() const;
  // Polls the log until `needle` appears.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const;

 private:
  Daemon() = default;
  Status Launch(const DaemonOptions& options);
  Status WaitReady(std::chrono::milliseconds timeout);

  std::unique_ptr<TempDir> dir_;
  std::string socket_path_;
  std::string log_path_;
  pid_t pid_ = -1;         // what we spawned and reap
  pid_t signal_pid_ = -1;  // the daemon itself
  bool exited_ = false;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> image_;
};

}  // namespace crio::testing
