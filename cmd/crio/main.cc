// crio: the crio-cpp daemon and its maintenance subcommands.
// Flags map onto config options; precedence is defaults < files < flags.

#include <sys/utsname.h>

#include <cstdio>
#include <iostream>
#include <type_traits>

#include <CLI/CLI.hpp>

#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/wipe.h"
#include "status.h"
#include "util/log.h"
#include "version_info.h"

namespace {

using crio::Status;
using crio::StatusOr;
namespace config = crio::config;

// Values of the command-line flags; a flag overrides the files only when given.
struct Flags {
  std::string config_file = config::kDefaultConfigFile;
  std::string config_dir = config::kDefaultConfigDir;
  std::string listen, root, runroot, log_level, cgroup_manager, default_runtime, pause_image,
      signature_policy, cni_config_dir, metrics_host, metrics_socket, metrics_cert, metrics_key;
  std::vector<std::string> cni_plugin_dirs, metrics_collectors;
  bool enable_metrics = false;
  int64_t metrics_port = 0;
  std::vector<std::pair<CLI::Option*, std::function<void(config::Config&)>>> setters;
};

// Registers a flag with its CONTAINER_* environment twin, as CRI-O does.
template <typename T>
void AddOverride(CLI::App& app, Flags& flags, const std::string& name, T& value,
                 const std::string& env, const std::string& help,
                 std::function<void(config::Config&)> apply) {
  CLI::Option* opt = app.add_option(name, value, help)->envname(env);
  if constexpr (!std::is_same_v<T, std::vector<std::string>>) {
    // Like CRI-O's flag parser: a repeated flag takes its last value.
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  flags.setters.emplace_back(opt, std::move(apply));
}

void RegisterFlags(CLI::App& app, Flags& f) {
  app.add_option("--config,-c", f.config_file, "Path to the main configuration file")
      ->envname("CONTAINER_CONFIG")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config-dir,-d", f.config_dir, "Directory of drop-in configuration files")
      ->envname("CONTAINER_CONFIG_DIR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  AddOverride(app, f, "--listen", f.listen, "CONTAINER_LISTEN", "Path to the CRI socket",
              [&f](config::Config& c) { c.api.listen = f.listen; });
  AddOverride(app, f, "--root,-r", f.root, "CONTAINER_ROOT", "Storage root directory",
              [&f](config::Config& c) { c.root.root = f.root; });
  AddOverride(app, f, "--runroot", f.runroot, "CONTAINER_RUNROOT", "Storage state directory",
              [&f](config::Config& c) { c.root.runroot = f.runroot; });
  AddOverride(app, f, "--log-level,-l", f.log_level, "CONTAINER_LOG_LEVEL",
              "Log level: trace, debug, info, warn, error, fatal, panic",
              [&f](config::Config& c) { c.runtime.log_level = f.log_level; });
  AddOverride(app, f, "--cgroup-manager", f.cgroup_manager, "CONTAINER_CGROUP_MANAGER",
              "cgroup manager: systemd or cgroupfs",
              [&f](config::Config& c) { c.runtime.cgroup_manager = f.cgroup_manager; });
  AddOverride(app, f, "--default-runtime", f.default_runtime, "CONTAINER_DEFAULT_RUNTIME",
              "Default OCI runtime handler",
              [&f](config::Config& c) { c.runtime.default_runtime = f.default_runtime; });
  AddOverride(app, f, "--pause-image", f.pause_image, "CONTAINER_PAUSE_IMAGE",
              "Image of the infra container",
              [&f](config::Config& c) { c.image.pause_image = f.pause_image; });
  AddOverride(app, f, "--signature-policy", f.signature_policy, "CONTAINER_SIGNATURE_POLICY",
              "Path to the signature policy (policy.json)",
              [&f](config::Config& c) { c.image.signature_policy = f.signature_policy; });
  AddOverride(app, f, "--cni-config-dir", f.cni_config_dir, "CONTAINER_CNI_CONFIG_DIR",
              "CNI configuration directory",
              [&f](config::Config& c) { c.network.network_dir = f.cni_config_dir; });
  AddOverride(app, f, "--cni-plugin-dir", f.cni_plugin_dirs, "CONTAINER_CNI_PLUGIN_DIR",
              "CNI plugin directory (repeatable)",
              [&f](config::Config& c) { c.network.plugin_dirs = f.cni_plugin_dirs; });
  AddOverride(app, f, "--metrics-port", f.metrics_port, "CONTAINER_METRICS_PORT",
              "Port of the metrics endpoint",
              [&f](config::Config& c) { c.metrics.metrics_port = f.metrics_port; });
  AddOverride(app, f, "--metrics-host", f.metrics_host, "CONTAINER_METRICS_HOST",
              "Address of the metrics endpoint",
              [&f](config::Config& c) { c.metrics.metrics_host = f.metrics_host; });
  AddOverride(app, f, "--metrics-socket", f.metrics_socket, "CONTAINER_METRICS_SOCKET",
              "Unix socket the metrics endpoint also listens on",
              [&f](config::Config& c) { c.metrics.metrics_socket = f.metrics_socket; });
  AddOverride(app, f, "--metrics-cert", f.metrics_cert, "CONTAINER_METRICS_CERT",
              "Certificate of the metrics endpoint (HTTPS with --metrics-key)",
              [&f](config::Config& c) { c.metrics.metrics_cert = f.metrics_cert; });
  AddOverride(app, f, "--metrics-key", f.metrics_key, "CONTAINER_METRICS_KEY",
              "Key of the metrics endpoint (HTTPS with --metrics-cert)",
              [&f](config::Config& c) { c.metrics.metrics_key = f.metrics_key; });
  AddOverride(app, f, "--metrics-collectors", f.metrics_collectors, "CONTAINER_METRICS_COLLECTORS",
              "Metrics to serve (repeatable); default all",
              [&f](config::Config& c) { c.metrics.metrics_collectors = f.metrics_collectors; });
  CLI::Option* metrics =
      app.add_flag("--enable-metrics", f.enable_metrics, "Serve Prometheus metrics")
          ->envname("CONTAINER_ENABLE_METRICS");
  f.setters.emplace_back(metrics,
                         [&f](config::Config& c) { c.metrics.enable_metrics = f.enable_metrics; });
}

void ApplyFlags(const Flags& flags, config::Config& cfg) {
  for (const auto& [opt, apply] : flags.setters) {
    if (opt->count() > 0) apply(cfg);
  }
}

// Defaults < main file < drop-ins < flags, then validated.
StatusOr<config::Config> BuildConfig(const Flags& flags, bool log_warnings) {
  config::Config cfg = config::Defaults();
  std::vector<config::Warning> warnings;
  RETURN_IF_ERROR(config::LoadFiles(flags.config_file, flags.config_dir, cfg, warnings));
  if (log_warnings) {
    for (const auto& w : warnings) {
      CRIO_LOG_WARN("{}:{}: {}", w.file, w.line, w.message);
    }
  }
  ApplyFlags(flags, cfg);
  RETURN_IF_ERROR(config::Validate(cfg));
  return cfg;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "crio: %s\n", std::string(status.message()).c_str());
  return 1;
}

int RunDaemon(const Flags& flags) {
  auto cfg = BuildConfig(flags, /*log_warnings=*/true);
  if (!cfg.ok()) {
    CRIO_LOG_ERROR("invalid configuration: {}", cfg.status().message());
    return 1;
  }
  crio::log::SetLevel(*crio::log::ParseLevel(cfg->runtime.log_level));
  crio::daemon::Options options;
  options.config = *std::move(cfg);
  options.reload = [&flags]() { return BuildConfig(flags, /*log_warnings=*/true); };
  Status st = crio::daemon::Run(std::move(options));
  if (!st.ok()) {
    CRIO_LOG_ERROR("{}", st.message());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  crio::log::Init(spdlog::level::info);
  CLI::App app{"crio: the crio-cpp container runtime daemon (CRI-O compatible)", "crio"};
  app.set_version_flag("--version,-v", [] { return crio::cmd::ShortVersion(); });
  Flags flags;
  RegisterFlags(app, flags);

  CLI::App* config_cmd = app.add_subcommand("config", "Print the effective configuration as TOML");
  bool config_default = false;
  config_cmd->add_flag("--default", config_default, "Print the built-in defaults instead");

  CLI::App* version_cmd = app.add_subcommand("version", "Print version and build information");
  bool version_json = false;
  version_cmd->add_flag("--json,-j", version_json, "Print as JSON");
  bool version_verbose = false;
  version_cmd->add_flag("--verbose", version_verbose, "Accepted for CRI-O compatibility");

  CLI::App* wipe_cmd =
      app.add_subcommand("wipe", "Wipe containers and images left from a previous run");
  bool wipe_force = false;
  wipe_cmd->add_flag("--force,-f", wipe_force, "Wipe regardless of version checks");
  crio::cmd::StatusCommand status;
  crio::cmd::AddStatusCommand(app, status);

  CLI11_PARSE(app, argc, argv);

  if (config_cmd->parsed()) {
    if (config_default) {
      std::cout << config::ToToml(config::Defaults());
      return 0;
    }
    auto cfg = BuildConfig(flags, /*log_warnings=*/true);
    if (!cfg.ok()) return Fail(cfg.status());
    std::cout << config::ToToml(*cfg);
    return 0;
  }
  if (version_cmd->parsed()) {
    std::cout << (version_json ? crio::cmd::VersionJson() : crio::cmd::VersionText());
    return 0;
  }
  if (wipe_cmd->parsed()) {
    auto cfg = BuildConfig(flags, /*log_warnings=*/true);
    if (!cfg.ok()) return Fail(cfg.status());
    crio::daemon::WipePlan plan = crio::daemon::PlanWipe(*cfg, wipe_force, /*for_daemon=*/false);
    for (const auto& reason : plan.reasons) CRIO_LOG_INFO("{}", reason);
    auto wiped = crio::daemon::ExecuteWipe(*cfg, plan);
    if (!wiped.ok()) return Fail(wiped.status());
    if (plan.containers) CRIO_LOG_INFO("wiped {} containers", *wiped);
    return 0;
  }
  if (status.app->parsed()) {
    Status st = crio::cmd::RunStatusCommand(status);
    return st.ok() ? 0 : Fail(st);
  }
  return RunDaemon(flags);
}
