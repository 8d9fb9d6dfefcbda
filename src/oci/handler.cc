#include "oci/handler.h"

#include "util/log.h"

namespace crio::oci {
namespace {

StatusOr<RuntimePtr> MakeConmonRuntime(const std::string& name,
                                       const config::RuntimeHandler& handler,
                                       const config::RuntimeConfig& config) {
  ASSIGN_OR_RETURN(ConmonOptions options, ConmonOptionsFor(name, handler, config));
  auto runtime = ConmonRuntime::Create(std::move(options));
  if (!runtime.ok()) {
    return Annotate(runtime.status(), absl::StrCat("runtime handler ", name));
  }
  return RuntimePtr(*std::move(runtime));
}

}  // namespace

StatusOr<ConmonOptions> ConmonOptionsFor(const std::string& name,
                                         const config::RuntimeHandler& handler,
                                         const config::RuntimeConfig& config) {
  if (!handler.runtime_type.empty() && handler.runtime_type != "oci") {
    return InvalidArgument(absl::StrCat("runtime handler ", name, ": runtime_type ",
                                        handler.runtime_type, " not supported"));
  }
  ConmonOptions options;
  options.handler_name = name;
  options.runtime_path =
      handler.runtime_path.empty() ? config::FindInPath(name) : handler.runtime_path;
  options.runtime_root = handler.runtime_root;
  options.monitor_path =
      handler.monitor_path.empty() ? config::FindInPath("conmon") : handler.monitor_path;
  options.monitor_env = handler.monitor_env;
  if (options.monitor_env.empty()) {
    // CRI-O's default monitor_env; conmon passes its environment on to the runtime.
    options.monitor_env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  }
  options.exits_dir = config.container_exits_dir;
  options.attach_socket_dir = config.container_attach_socket_dir;
  options.log_level = config.log_level;
  options.systemd_cgroup = config.cgroup_manager == "systemd";
  options.no_sync_log = handler.no_sync_log;
  if (handler.container_create_timeout > 0) {
    options.create_timeout = std::chrono::seconds(handler.container_create_timeout);
  }
  return options;
}

HandlerRegistry::HandlerRegistry(config::RuntimeConfig runtime_config)
    : HandlerRegistry(std::move(runtime_config), MakeConmonRuntime) {}

HandlerRegistry::HandlerRegistry(config::RuntimeConfig runtime_config, Factory factory)
    : config_(std::move(runtime_config)), factory_(std::move(factory)) {}

std::string HandlerRegistry::Resolve(std::string_view name) const {
  if (!name.empty()) return std::string(name);
  std::lock_guard<std::mutex> lock(mu_);
  return config_.default_runtime;
}

void HandlerRegistry::Reload(const config::RuntimeConfig& next) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool conmon_wide_change = next.log_level != config_.log_level;
  for (auto it = runtimes_.begin(); it != runtimes_.end();) {
    auto now = next.runtimes.find(it->first);
    auto before = config_.runtimes.find(it->first);
    bool changed = now == next.runtimes.end() || before == config_.runtimes.end() ||
                   !(now->second == before->second) || conmon_wide_change;
    if (changed) {
      retired_.push_back(std::move(it->second));
      it = runtimes_.erase(it);
    } else {
      ++it;
    }
  }
  config_ = next;
}

StatusOr<Runtime*> HandlerRegistry::Get(std::string_view requested) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string name = requested.empty() ? config_.default_runtime : std::string(requested);
  if (auto it = runtimes_.find(name); it != runtimes_.end()) {
    return it->second.get();
  }
  auto handler = config_.runtimes.find(name);
  if (handler == config_.runtimes.end()) {
    return NotFound(absl::StrCat("runtime handler ", name, " is not configured"));
  }
  if (!handler->second.runtime_type.empty() && handler->second.runtime_type != "oci") {
    return InvalidArgument(absl::StrCat("runtime handler ", name, ": runtime_type ",
                                        handler->second.runtime_type, " not supported"));
  }
  ASSIGN_OR_RETURN(RuntimePtr runtime, factory_(name, handler->second, config_));
  Runtime* ptr = runtime.get();
  runtimes_.emplace(name, std::move(runtime));
  return ptr;
}

}  // namespace crio::oci
