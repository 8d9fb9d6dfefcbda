#include "daemon_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace crio::testing {

namespace {

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Mount points at or below `root`, deepest first, from /proc/self/mountinfo.
std::vector<std::string> MountsBelow(const std::string& root) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, src, target;
    fields >> id >> parent >> devno >> src >> target;
    if (target == root || target.rfind(root + "/", 0) == 0) mounts.push_back(target);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return mounts;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv) {
  int pipefd[2];
  CommandResult result;
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  pid_t pid = -1;
  auto args = Argv(argv);
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    result.output = "spawn failed: " + std::string(std::strerror(rc));
    return result;
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) result.output.append(buf, n);
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string BuiltBinary(const std::string& name) {
  return std::string(CRIO_BINARY_DIR) + "/" + name;
}

TempDir::TempDir(const std::string& base) {
  std::string tmpl = base + "/crio-it-XXXXXX";
  const char* p = ::mkdtemp(tmpl.data());
  path_ = p ? p : "";
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  for (const auto& m : MountsBelow(path_)) ::umount2(m.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<std::unique_ptr<Daemon>> Daemon::Start(DaemonOptions options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->dir_ = std::make_unique<TempDir>(options.temp_base);
  if (d->dir_->path().empty()) return Internal("mkdtemp failed");
  RETURN_IF_ERROR(d->Launch(options));
  if (options.wait_ready) RETURN_IF_ERROR(d->WaitReady(std::chrono::seconds(20)));
  return d;
}

Status Daemon::Launch(const DaemonOptions& options) {
  socket_path_ = options.listen.empty() ? dir_->Sub("crio.sock") : options.listen;
  log_path_ = dir_->Sub("crio.log");
  WriteFile(dir_->Sub("crio.conf"), options.config_text);
  std::filesystem::create_directories(config_dir());
  // Everything the runtime writes outside --root/--runroot goes under the temp dir too, so a
  // test never touches /var/run/crio, /run/crun or /run/runc. Tests override with later drop-ins.
  const std::string& t = dir_->path();
  WriteFile(config_dir() + "/00-harness.conf",
            "[crio]\nlog_dir = \"" + t + "/pod-logs\"\nversion_file = \"" + t +
                "/version\"\nclean_shutdown_file = \"" + t +
                "/clean.shutdown\"\n"
                "[crio.runtime]\ncontainer_exits_dir = \"" +
                t +
                "/exits\"\n"
                "container_attach_socket_dir = \"" +
                t +
                "/attach\"\n"
                "namespaces_dir = \"" +
                t +
                "/ns\"\ncgroup_manager = \"cgroupfs\"\n"
                "[crio.runtime.runtimes.crun]\nruntime_root = \"" +
                t +
                "/crun-root\"\n"
                "[crio.runtime.runtimes.runc]\nruntime_root = \"" +
                t + "/runc-root\"\n" +
                // Tests talk only to 127.0.0.1: no background pull of the default pause image
                // (registry.k8s.io) unless the test names its own.
                (options.config_text.find("pause_image") == std::string::npos
                     ? "[crio.image]\npause_image = \"\"\n"
                     : ""));
  std::filesystem::create_directories(dir_->Sub("cni/net.d"));
  std::vector<std::string> args = {
      BuiltBinary("crio"),   "--config",  dir_->Sub("crio.conf"), "--config-dir",
      config_dir(),          "--listen",  socket_path_,           "--root",
      dir_->Sub("root"),     "--runroot", dir_->Sub("runroot"),   "--cni-config-dir",
      dir_->Sub("cni/net.d")};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  args.insert(args.begin(), options.launcher.begin(), options.launcher.end());

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoError(errno, "open " + log_path_);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  auto argv = Argv(args);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(log_fd);
  if (rc != 0) return ErrnoError(rc, "spawn " + args[0]);
  signal_pid_ = pid_;
  if (!options.launcher.empty()) {
    // The launcher forks the daemon; signals must reach the daemon itself.
    const std::string children =
        "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    signal_pid_ = -1;
    while (signal_pid_ <= 0 && std::chrono::steady_clock::now() < deadline) {
      std::string text = ReadFile(children);
      if (!text.empty()) signal_pid_ = std::atoi(text.c_str());
      if (signal_pid_ <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (signal_pid_ <= 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      exited_ = true;
      return Internal("the launcher " + options.launcher[0] + " started no daemon:\n" + Log());
    }
  }

  auto channel = grpc::CreateChannel("unix://" + socket_path_, grpc::InsecureChannelCredentials());
  runtime_ = v1::RuntimeService::NewStub(channel);
  image_ = v1::ImageService::NewStub(channel);
  return absl::OkStatus();
}

Status Daemon::WaitReady(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return Internal("crio exited during startup:\n" + Log());
    }
    if (std::filesystem::exists(socket_path_)) {
      v1::VersionRequest req;
      v1::VersionResponse resp;
      auto ctx = Context(std::chrono::seconds(2));
      if (runtime_->Version(ctx.get(), req, &resp).ok()) return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DeadlineExceeded("crio did not become ready:\n" + Log());
}

Daemon::~Daemon() {
  if (pid_ > 0 && !exited_) {
    // Safety net for failed tests: remove every pod (and so its containers, mounts, namespaces
    // and cgroups) before stopping the daemon.
    v1::ListPodSandboxRequest list_req;
    v1::ListPodSandboxResponse list_resp;
    auto list_ctx = Context(std::chrono::seconds(10));
    if (runtime_->ListPodSandbox(list_ctx.get(), list_req, &list_resp).ok()) {
      for (const auto& pod : list_resp.items()) {
        v1::RemovePodSandboxRequest rm;
        rm.set_pod_sandbox_id(pod.id());
        v1::RemovePodSandboxResponse rm_resp;
        auto rm_ctx = Context(std::chrono::seconds(60));
        (void)runtime_->RemovePodSandbox(rm_ctx.get(), rm, &rm_resp);
      }
    }
    ::kill(signal_pid_, SIGTERM);
    if (!WaitExit(std::chrono::seconds(15)).ok()) {
      ::kill(signal_pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
}

std::unique_ptr<grpc::ClientContext> Daemon::Context(std::chrono::seconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

Status Daemon::Signal(int sig) {
  if (::kill(signal_pid_, sig) != 0) return ErrnoError(errno, "kill crio");
  return absl::OkStatus();
}

StatusOr<int> Daemon::WaitExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (r < 0) return ErrnoError(errno, "waitpid");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return DeadlineExceeded("crio did not exit");
}

std::string Daemon::Log() const { return ReadFile(log_path_); }

bool Daemon::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace crio::testing
