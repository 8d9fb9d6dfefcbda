// crio: the crio-cpp daemon and its maintenance subcommands.
// Flags map onto config options; precedence is defaults < files < flags.

#include <sys/utsname.h>

#include <cstdio>
#include <iostream>
#include <map>
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
  // One per option of crio.conf (config::CommandLineFlags()), in the order they were given.
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::pair<CLI::Option*, const config::CommandLineFlag*>> options;
};

void RegisterFlags(CLI::App& app, Flags& f) {
  app.add_option("--config,-c", f.config_file, "Path to the main configuration file")
      ->envname("CONTAINER_CONFIG")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config-dir,-d", f.config_dir, "Directory of drop-in configuration files")
      ->envname("CONTAINER_CONFIG_DIR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Every other flag comes from the option table, with CRI-O's names and environment twins.
  for (const config::CommandLineFlag& flag : config::CommandLineFlags()) {
    std::string names = "--" + flag.name;
    if (!flag.short_name.empty()) names += ",-" + flag.short_name;
    std::vector<std::string>& storage = f.values[flag.name];
    CLI::Option* opt = app.add_option(names, storage, flag.help)->envname(flag.env);
    // One value per occurrence (never the next word); a list flag may repeat, a scalar takes
    // its last value as CRI-O's flag parser does.
    opt->allow_extra_args(false);
    if (flag.is_bool) opt->expected(0, 1);  // "--enable-metrics" alone, or "=false"
    if (!flag.is_list) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    opt->group(flag.table == "crio" ? "crio" : flag.table.substr(5));
    f.options.emplace_back(opt, &flag);
  }
}

Status ApplyFlags(const Flags& flags, config::Config& cfg) {
  for (const auto& [opt, flag] : flags.options) {
    if (opt->count() == 0 && flags.values.at(flag->name).empty()) continue;
    RETURN_IF_ERROR(config::ApplyCommandLineFlag(*flag, flags.values.at(flag->name), cfg));
  }
  return absl::OkStatus();
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
  RETURN_IF_ERROR(ApplyFlags(flags, cfg));
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
