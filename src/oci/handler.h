#pragma once
// Runtime handlers: the Runtime behind each [crio.runtime.runtimes.NAME] table (a Kubernetes
// RuntimeClass handler), built on first use and then shared.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "oci/conmon_runtime.h"
#include "oci/runtime.h"
#include "util/status.h"

namespace crio::oci {

// ConmonRuntime's options for handler `name` of `runtime_config`: the handler's paths and
// monitor env (CRI-O's default PATH when empty), plus the runtime-wide exits/attach dirs, log
// level and cgroup manager (-s for "systemd").
// Errors: InvalidArgument "runtime_type X not supported" unless the type is "oci" (or empty).
StatusOr<ConmonOptions> ConmonOptionsFor(const std::string& name,
                                         const config::RuntimeHandler& handler,
                                         const config::RuntimeConfig& runtime_config);

class HandlerRegistry {
 public:
  // Builds the Runtime for one handler; the default builds a ConmonRuntime.
  using Factory = std::function<StatusOr<RuntimePtr>(const std::string& name,
                                                     const config::RuntimeHandler& handler,
                                                     const config::RuntimeConfig& config)>;

  explicit HandlerRegistry(config::RuntimeConfig runtime_config);
  HandlerRegistry(config::RuntimeConfig runtime_config, Factory factory);

  // The Runtime for handler `name` ("" means default_runtime), created on first use and cached;
  // the pointer stays valid as long as the registry. Thread-safe.
  // Errors: NotFound "runtime handler X is not configured"; InvalidArgument "runtime_type X not
  // supported"; the factory's error (not cached, so a later call retries).
  StatusOr<Runtime*> Get(std::string_view name);

  // The handler name `name` resolves to ("" gives default_runtime).
  std::string Resolve(std::string_view name) const;

  // SIGHUP: the next default_runtime and runtimes table. A handler whose entry changed, or that
  // was removed, or all of them when the log level changed (conmon's), gets a new Runtime on
  // next use; the old one stays alive (callers may still hold it) until the registry goes.
  void Reload(const config::RuntimeConfig& next);

 private:
  config::RuntimeConfig config_;  // guarded by mu_
  const Factory factory_;
  mutable std::mutex mu_;
  std::map<std::string, RuntimePtr, std::less<>> runtimes_;  // guarded by mu_
  std::vector<RuntimePtr> retired_;                          // guarded by mu_
};

}  // namespace crio::oci
