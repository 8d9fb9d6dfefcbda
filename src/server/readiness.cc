#include "server/readiness.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace crio::server {

namespace {
bool IsExecutable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

bool IsCniConfigFile(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  return ext == ".conf" || ext == ".conflist" || ext == ".json";
}
}  // namespace

Condition CheckRuntimeReady(const config::Config& config) {
  const auto& rt = config.runtime;
  auto it = rt.runtimes.find(rt.default_runtime);
  if (it == rt.runtimes.end()) {
    return {false, "RuntimeNotConfigured",
            absl::StrCat("default runtime ", rt.default_runtime, " has no handler")};
  }
  if (!IsExecutable(it->second.runtime_path)) {
    return {false, "RuntimeBinaryMissing",
            absl::StrCat("runtime ", it->first, " binary \"", it->second.runtime_path,
                         "\" is not executable")};
  }
  const std::string& monitor = it->second.monitor_path;
  if (!monitor.empty() && !IsExecutable(monitor)) {
    return {false, "MonitorBinaryMissing",
            absl::StrCat("monitor binary \"", monitor, "\" is not executable")};
  }
  return {true, "", ""};
}

Condition CheckNetworkReady(const config::NetworkConfig& network) {
  std::error_code ec;
  std::filesystem::directory_iterator it(network.network_dir, ec);
  if (!ec) {
    for (const auto& entry : it) {
      if (entry.is_regular_file(ec) && IsCniConfigFile(entry.path())) {
        return {true, "", ""};
      }
    }
  }
  return {false, "NetworkPluginNotReady",
          absl::StrCat("Network plugin returns error: no CNI configuration file in ",
                       network.network_dir, ". Has your network provider started?")};
}

}  // namespace crio::server
