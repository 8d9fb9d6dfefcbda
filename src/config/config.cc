#include "config/config.h"

// Built-in defaults and what is derived from the host: the default runtime handlers (crun and
// runc where installed), handler resolution ($PATH, default roots, deprecated conmon options),
// and runtimes known not to work on this host. The rest of src/config, one concern per file:
// options.cc (the option table), load.cc, validate.cc, toml_writer.cc, flags.cc, duration.cc,
// live_config.cc (reload).

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"

namespace crio::config {
namespace {

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

constexpr char kConmonFallback[] = "/usr/bin/conmon";

RuntimeHandler DefaultHandler(std::string runtime_path, std::string runtime_root,
                              const std::string& conmon) {
  RuntimeHandler handler;
  handler.runtime_path = std::move(runtime_path);
  handler.runtime_root = std::move(runtime_root);
  handler.runtime_type = "oci";
  handler.monitor_path = conmon;
  return handler;
}

void ResolveHandler(const std::string& name, RuntimeHandler& handler, const RuntimeConfig& rt) {
  if (handler.runtime_path.empty()) {
    handler.runtime_path = FindInPath(name);
  }
  if (handler.runtime_root.empty()) {
    handler.runtime_root = absl::StrCat("/run/", name);
  }
  // The deprecated [crio.runtime] conmon options still apply to handlers that leave the
  // monitor fields unset, as in CRI-O.
  if (handler.monitor_path.empty()) {
    handler.monitor_path = rt.conmon;
  }
  if (handler.monitor_cgroup.empty()) {
    handler.monitor_cgroup = rt.conmon_cgroup;
  }
  if (handler.monitor_env.empty()) {
    handler.monitor_env = rt.conmon_env;
  }
  if (handler.monitor_path.empty() && handler.runtime_type != "vm") {
    handler.monitor_path = FindInPath(handler.runtime_type == "pod" ? "conmonrs" : "conmon");
  }
}

std::string UnifiedControllers() {
  std::ifstream in("/sys/fs/cgroup/unified/cgroup.controllers");
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// crun 1.8 refuses hosts with hybrid cgroups whose v2 tree has controllers ("cgroups in hybrid
// mode not supported, drop all controllers from cgroupv2"); runc handles them.
bool CrunWorksOnThisHost() { return absl::StripAsciiWhitespace(UnifiedControllers()).empty(); }

}  // namespace

std::string FindInPath(std::string_view name) {
  if (name.empty()) {
    return "";
  }
  if (name.find('/') != std::string_view::npos) {
    std::string path(name);
    return IsExecutableFile(path) ? path : "";
  }
  const char* env = std::getenv("PATH");
  std::vector<std::string> dirs = util::SplitNonEmpty(env != nullptr ? env : "", ':');
  // Daemons and tests may run with a minimal $PATH; these are where packages install runtimes.
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    dirs.emplace_back(dir);
  }
  for (const std::string& dir : dirs) {
    if (dir.front() != '/') {
      continue;  // a relative $PATH entry would make the result depend on the working directory
    }
    std::string candidate = absl::StrCat(dir, "/", std::string(name));
    if (IsExecutableFile(candidate)) {
      return candidate;
    }
  }
  return "";
}

std::string RuntimeHostProblem(std::string_view name, std::string_view runtime_path,
                               std::string_view unified_controllers) {
  std::string controllers(absl::StripAsciiWhitespace(std::string(unified_controllers)));
  if (controllers.empty()) return "";
  std::string_view base = runtime_path.substr(runtime_path.rfind('/') + 1);
  if (base != "crun") return "";
  return absl::StrCat("runtime handler \"", std::string(name), "\" (", std::string(runtime_path),
                      ") cannot run containers here: crun refuses hybrid cgroup hosts whose "
                      "cgroup2 mount /sys/fs/cgroup/unified holds controllers (",
                      controllers, "); use runc, or move those controllers to v1 hierarchies");
}

std::vector<std::string> RuntimeHostProblems(const RuntimeConfig& config) {
  std::vector<std::string> out;
  const std::string controllers = UnifiedControllers();
  for (const auto& [name, handler] : config.runtimes) {
    std::string problem = RuntimeHostProblem(name, handler.runtime_path, controllers);
    if (!problem.empty()) out.push_back(std::move(problem));
  }
  return out;
}

Config Defaults() {
  Config config;
  std::string crun = FindInPath("crun");
  std::string runc = FindInPath("runc");
  std::string conmon = FindInPath("conmon");
  if (conmon.empty()) {
    conmon = kConmonFallback;
  }
  auto& runtimes = config.runtime.runtimes;
  if (!crun.empty()) {
    RuntimeHandler handler = DefaultHandler(crun, "/run/crun", conmon);
    handler.container_min_memory = "500KiB";  // CRI-O's smaller minimum for crun
    runtimes["crun"] = std::move(handler);
  }
  if (!runc.empty()) {
    runtimes["runc"] = DefaultHandler(runc, "/run/runc", conmon);
  }
  bool prefer_runc = !runc.empty() && (crun.empty() || !CrunWorksOnThisHost());
  config.runtime.default_runtime = prefer_runc ? "runc" : "crun";
  if (runtimes.empty()) {
    // Neither is installed: keep CRI-O's default handler so Validate names what is missing.
    runtimes["crun"] = DefaultHandler("", "/run/crun", conmon);
  }
  return config;
}

void ResolveHandlers(Config& config) {
  RuntimeConfig& rt = config.runtime;
  auto default_it = rt.runtimes.find(rt.default_runtime);
  if (default_it != rt.runtimes.end()) {
    ResolveHandler(default_it->first, default_it->second, rt);
  }
  for (auto& [name, handler] : rt.runtimes) {
    if (handler.inherit_default_runtime && default_it != rt.runtimes.end() &&
        name != default_it->first) {
      const RuntimeHandler& base = default_it->second;
      handler.runtime_path = base.runtime_path;
      handler.runtime_type = base.runtime_type;
      handler.runtime_root = base.runtime_root;
      handler.runtime_config_path = base.runtime_config_path;
    }
    ResolveHandler(name, handler, rt);
  }
}

}  // namespace crio::config
