#include "private_systemd.h"

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace crio::testing {
namespace {

std::string Script() { return std::string(CRIO_FIXTURES_DIR) + "/private_systemd.sh"; }

}  // namespace

StatusOr<std::unique_ptr<PrivateSystemd>> PrivateSystemd::Start() {
  if (!std::filesystem::exists("/lib/systemd/systemd") || PathOf("dbus-daemon").empty()) {
    return FailedPrecondition("systemd or dbus is not installed");
  }
  std::unique_ptr<PrivateSystemd> sd(new PrivateSystemd());
  sd->state_ = std::make_unique<TempDir>("/var/tmp");
  if (sd->state_->path().empty()) return Internal("mkdtemp under /var/tmp failed");
  CommandResult started = RunCommand({"timeout", "60", Script(), "start", sd->state_->path()});
  // The last line is systemd's PID; the script's own messages come before it.
  std::string out = Trim(started.output);
  std::string last =
      out.substr(out.find_last_of('\n') == std::string::npos ? 0 : out.find_last_of('\n') + 1);
  sd->pid_ = std::atoi(last.c_str());
  if (started.exit_code != 0 || sd->pid_ <= 0) {
    std::string boot = ReadFile(sd->state_->Sub("boot.log"));
    return Internal("private systemd did not boot: " + started.output + "\n" + boot);
  }
  return sd;
}

PrivateSystemd::~PrivateSystemd() {
  if (state_ && !state_->path().empty()) {
    CommandResult stopped = RunCommand({Script(), "stop", state_->path()});
    if (stopped.exit_code != 0 || !stopped.output.empty()) {
      fprintf(stderr, "private systemd stop: %s\n", stopped.output.c_str());
    }
  }
}

std::vector<std::string> PrivateSystemd::Enter() const {
  return {PathOf("nsenter"), "-t", std::to_string(pid_), "-m", "-p", "-C", "--"};
}

CommandResult PrivateSystemd::Run(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = Enter();
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full);
}

CommandResult PrivateSystemd::Systemctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"systemctl", "--no-pager"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

std::string PrivateSystemd::Property(const std::string& unit, const std::string& property) const {
  return Trim(Systemctl({"show", "-p", property, "--value", unit}).output);
}

std::string PrivateSystemd::HostCgroupDir(const std::string& hierarchy,
                                          const std::string& path) const {
  // The namespace's cgroup root is the directory the script made; its path per hierarchy is in
  // the state dir's "cgroups" file, one line per hierarchy.
  std::ifstream in(state_->Sub("cgroups"));
  for (std::string line; std::getline(in, line);) {
    std::string prefix = "/sys/fs/cgroup/" + hierarchy + "/";
    if (line.rfind(prefix, 0) == 0) return line + path;
  }
  return "";
}

}  // namespace crio::testing
