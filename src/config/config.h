#pragma once
// crio-cpp configuration: CRI-O's TOML tables and option names, with CRI-O's defaults.
//
// Sources, lowest precedence first: built-in defaults, the main file (/etc/crio/crio.conf),
// drop-ins (<config_dir>/*.conf, lexical order), then command-line flags.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::config {

// [crio.runtime.runtimes.NAME]: one OCI runtime handler (a Kubernetes RuntimeClass handler).
struct RuntimeHandler {
  std::string runtime_path;          // empty: look up the handler's name in $PATH
  std::string runtime_type = "oci";  // oci | vm | pod
  std::string runtime_root;          // state dir passed as --root to the runtime
  std::string runtime_config_path;
  std::string monitor_path;  // conmon binary; empty: "conmon" in $PATH
  std::string monitor_cgroup;
  std::vector<std::string> monitor_env;
  std::string monitor_exec_cgroup;
  std::vector<std::string> allowed_annotations;
  // TOML inline tables in CRI-O ({ "key" = "value" }); stored as "key=value", sorted by key.
  std::vector<std::string> default_annotations;
  std::vector<std::string> platform_runtime_paths;  // "os/arch=/path/to/runtime"
  bool privileged_without_host_devices = false;
  bool runtime_pull_image = false;
  bool inherit_default_runtime = false;
  bool no_sync_log = false;
  bool stream_websockets = false;
  std::string container_min_memory;
  std::string exec_cpu_affinity;
  std::string seccomp_profile;
  int64_t container_create_timeout = 240;

  bool operator==(const RuntimeHandler&) const = default;
};

// [crio] root table.
struct RootConfig {
  std::string root = "/var/lib/containers/storage";
  std::string runroot = "/run/containers/storage";
  std::string imagestore;
  std::string storage_driver = "overlay";
  std::vector<std::string> storage_option;
  std::string log_dir = "/var/log/crio/pods";
  std::string version_file = "/var/run/crio/version";
  std::string version_file_persist;
  std::string clean_shutdown_file = "/var/lib/crio/clean.shutdown";
  bool internal_wipe = true;
  bool internal_repair = true;

  bool operator==(const RootConfig&) const = default;
};

// [crio.api]
struct ApiConfig {
  std::string listen = "/var/run/crio/crio.sock";
  std::string stream_address = "127.0.0.1";
  std::string stream_port = "0";
  bool stream_enable_tls = false;
  std::string stream_idle_timeout;
  std::string stream_tls_cert;
  std::string stream_tls_key;
  std::string stream_tls_ca;
  int64_t grpc_max_send_msg_size = 83886080;
  int64_t grpc_max_recv_msg_size = 83886080;
  std::string tls_min_version = "VersionTLS12";
  std::vector<std::string> tls_cipher_suites;

  bool operator==(const ApiConfig&) const = default;
};

// [crio.runtime]
struct RuntimeConfig {
  std::string default_runtime = "crun";
  std::map<std::string, RuntimeHandler> runtimes;  // filled with the default handler if empty
  // [crio.runtime.workloads.NAME] is accepted but not interpreted yet: each workload table is kept
  // as opaque TOML text (relative to the workload table) so `crio config` prints it back.
  std::map<std::string, std::string> workloads;
  bool no_pivot = false;
  std::string decryption_keys_path = "/etc/crio/keys/";
  std::string conmon;
  std::string conmon_cgroup;
  std::vector<std::string> conmon_env;
  std::vector<std::string> default_env;
  bool selinux = false;
  std::string seccomp_profile;
  // A container whose config names no seccomp profile at all runs under the default profile
  // (true) or unconfined, as the CRI says (false).
  bool seccomp_use_default_when_empty = true;
  std::string privileged_seccomp_profile;
  std::string apparmor_profile = "crio-default";
  std::string blockio_config_file;
  bool blockio_reload = false;
  std::string irqbalance_config_file = "/etc/sysconfig/irqbalance";
  std::string irqbalance_config_restore_file = "/etc/sysconfig/orig_irq_banned_cpus";
  std::string rdt_config_file;
  std::string cgroup_manager = "systemd";  // systemd | cgroupfs
  std::string separate_pull_cgroup;
  std::vector<std::string> default_capabilities = {"CHOWN",   "DAC_OVERRIDE",     "FSETID",
                                                   "FOWNER",  "SETGID",           "SETUID",
                                                   "SETPCAP", "NET_BIND_SERVICE", "KILL"};
  bool add_inheritable_capabilities = false;
  std::vector<std::string> default_sysctls;
  std::vector<std::string> allowed_devices = {"/dev/fuse", "/dev/net/tun"};
  std::vector<std::string> additional_devices;
  std::vector<std::string> cdi_spec_dirs = {"/etc/cdi", "/var/run/cdi"};
  bool device_ownership_from_security_context = false;
  std::vector<std::string> hooks_dir = {"/usr/share/containers/oci/hooks.d"};
  std::string default_mounts_file;
  int64_t pids_limit = -1;
  int64_t log_size_max = -1;
  bool log_to_journald = false;
  std::string container_exits_dir = "/var/run/crio/exits";
  std::string container_attach_socket_dir = "/var/run/crio";
  std::string bind_mount_prefix;
  bool read_only = false;
  std::string log_level = "info";
  std::string log_filter;
  std::string uid_mappings;
  std::string gid_mappings;
  int64_t minimum_mappable_uid = -1;
  int64_t minimum_mappable_gid = -1;
  int64_t ctr_stop_timeout = 30;
  bool drop_infra_ctr = true;
  std::string infra_ctr_cpuset;
  std::string shared_cpuset;
  std::string namespaces_dir = "/var/run";
  std::string pinns_path;
  bool enable_criu_support = true;
  bool enable_pod_events = false;
  std::vector<std::string> default_ulimits;  // "name=soft:hard"
  std::vector<std::string> absent_mount_sources_to_reject;
  bool disable_hostport_mapping = false;
  bool hostnetwork_disable_selinux = true;
  std::string timezone;
  int64_t min_injected_gomaxprocs = 0;
  std::vector<std::string> additional_artifact_stores;

  bool operator==(const RuntimeConfig&) const = default;
};

// [crio.image]
struct ImageConfig {
  std::string default_transport = "docker://";
  std::string global_auth_file;
  std::string namespaced_auth_dir = "/etc/crio/auth";
  std::string pause_image = "registry.k8s.io/pause:3.10.1";
  std::string pause_image_auth_file;
  std::string pause_command = "/pause";
  std::vector<std::string> pinned_images;
  std::string signature_policy;
  std::string signature_policy_dir = "/etc/crio/policies";
  std::vector<std::string> insecure_registries;
  std::string image_volumes = "mkdir";  // mkdir | bind | ignore
  std::string big_files_temporary_dir;
  bool auto_reload_registries = false;
  std::string pull_progress_timeout = "0s";
  std::string short_name_mode = "enforcing";
  bool oci_artifact_mount_support = true;
  // Not in CRI-O's crio.conf: CRI-O takes these from containers/image's environment.
  // Here they are options so tests can point them at temp dirs.
  std::string registries_conf = "/etc/containers/registries.conf";
  std::string registries_conf_dir = "/etc/containers/registries.conf.d";
  std::string certs_dir = "/etc/containers/certs.d";
  std::string auth_file = "/run/containers/0/auth.json";

  bool operator==(const ImageConfig&) const = default;
};

// [crio.network]
struct NetworkConfig {
  std::string cni_default_network;
  std::string network_dir = "/etc/cni/net.d/";
  std::vector<std::string> plugin_dirs = {"/opt/cni/bin/"};
  std::string cni_status_grace_period = "0s";

  bool operator==(const NetworkConfig&) const = default;
};

// [crio.metrics]
struct MetricsConfig {
  bool enable_metrics = false;
  std::vector<std::string> metrics_collectors;  // empty = all
  std::string metrics_host = "127.0.0.1";
  int64_t metrics_port = 9090;
  std::string metrics_socket;
  std::string metrics_cert;
  std::string metrics_key;

  bool operator==(const MetricsConfig&) const = default;
};

// CRI-O's metrics collectors (metrics_collectors values), each the name of the metric it
// exposes without the "container_runtime_crio_" prefix: "operations_total", ...
std::span<const std::string_view> MetricsCollectorNames();
// `name` without the optional "container_runtime_" and then "crio_" prefixes, as CRI-O compares
// collector names: "crio_operations_total" and "operations_total" are the same collector.
std::string_view StripMetricsCollectorPrefix(std::string_view name);
// InvalidArgument naming the first metrics_collectors entry that is no known collector.
Status ValidateMetricsCollectors(const std::vector<std::string>& collectors);

// [crio.stats]
struct StatsConfig {
  int64_t stats_collection_period = 0;
  int64_t collection_period = 0;
  std::vector<std::string> included_pod_metrics;

  bool operator==(const StatsConfig&) const = default;
};

// [crio.tracing]
struct TracingConfig {
  bool enable_tracing = false;
  std::string tracing_endpoint = "127.0.0.1:4317";
  int64_t tracing_sampling_rate_per_million = 0;

  bool operator==(const TracingConfig&) const = default;
};

// [crio.nri]
struct NriConfig {
  bool enable_nri = true;
  std::string nri_listen = "/var/run/nri/nri.sock";
  std::string nri_plugin_dir = "/opt/nri/plugins";
  std::string nri_plugin_config_dir = "/etc/nri/conf.d";
  std::string nri_plugin_registration_timeout = "5s";
  std::string nri_plugin_request_timeout = "2s";
  bool nri_disable_connections = false;
  // [crio.nri.default_validator]
  bool nri_enable_default_validator = false;
  bool nri_validator_reject_oci_hook_adjustment = false;
  bool nri_validator_reject_runtime_default_seccomp_adjustment = false;
  bool nri_validator_reject_unconfined_seccomp_adjustment = false;
  bool nri_validator_reject_custom_seccomp_adjustment = false;
  bool nri_validator_reject_namespace_adjustment = false;
  std::vector<std::string> nri_validator_required_plugins;
  std::string nri_validator_tolerate_missing_plugins_annotation;

  bool operator==(const NriConfig&) const = default;
};

struct Config {
  RootConfig root;
  ApiConfig api;
  RuntimeConfig runtime;
  ImageConfig image;
  NetworkConfig network;
  MetricsConfig metrics;
  StatsConfig stats;
  TracingConfig tracing;
  NriConfig nri;

  bool operator==(const Config&) const = default;
};

// Default locations; tests point these elsewhere.
inline constexpr const char kDefaultConfigFile[] = "/etc/crio/crio.conf";
inline constexpr const char kDefaultConfigDir[] = "/etc/crio/crio.conf.d";

// A non-fatal finding while loading: message "unknown option crio.foo.bar" for an unknown key or
// table, with the file and line it was found at.
struct Warning {
  std::string file;
  int line = 0;
  std::string message;

  bool operator==(const Warning&) const = default;
};

// Built-in defaults, with the default runtime handler filled in (crun where installed, else runc).
// A `crun` and a `runc` handler exist for each of the two that is installed, so both
// RuntimeClasses work out of the box.
Config Defaults();

// Applies one TOML document onto `config`. Values present in the document override earlier ones;
// a [crio.runtime.runtimes.NAME] table overrides only the handler fields it sets.
// Wrong types or values: InvalidArgument "FILE:LINE: KEY: expected ..., got ..."; unparsable TOML:
// InvalidArgument "FILE:LINE:COL: parse error: ...". On error neither `config` nor `warnings`
// is changed. Unknown keys and tables are appended to `warnings` and otherwise ignored.
Status ApplyToml(std::string_view toml_text, std::string_view file_name, Config& config,
                 std::vector<Warning>& warnings);

// Loads `main_file` (missing is fine) then the regular files named `*.conf` directly inside
// `drop_in_dir` (missing is fine), sorted by name, each overriding the ones before. Unlike
// CRI-O, sub-directories of `drop_in_dir` are not descended into and other names are skipped.
// Ends with ResolveHandlers(). An unreadable file: the read error, naming the file.
Status LoadFiles(const std::string& main_file, const std::string& drop_in_dir, Config& config,
                 std::vector<Warning>& warnings);

// One command-line flag per option of the fixed tables, named as CRI-O's crio(8) names it: the
// key with '-' for '_' (a few keep CRI-O's historical names, e.g. network_dir is
// --cni-config-dir), each with its CONTAINER_* environment twin.
struct CommandLineFlag {
  std::string name;        // long name, without "--"
  std::string short_name;  // one letter, or ""
  std::string env;         // "CONTAINER_" + the name in upper case with '_' for '-'
  std::string help;        // the first line of the option's help
  std::string table, key;  // where the option lives in crio.conf
  bool is_bool = false;    // "--flag" alone means true
  bool is_list = false;    // repeatable, and comma-separated values are split
};
const std::vector<CommandLineFlag>& CommandLineFlags();

// Applies a flag's values (several for a list, the last for a scalar) to `config` through the
// TOML loader, so a flag means exactly what the same key in a file means. InvalidArgument
// naming the flag for a value of the wrong type.
Status ApplyCommandLineFlag(const CommandLineFlag& flag, const std::vector<std::string>& values,
                            Config& config);

// Fills what CRI-O derives at load time for each runtime handler: inherit_default_runtime copies
// the default handler's path, type, root and config path; an empty runtime_path becomes the
// handler's name looked up in $PATH; an empty runtime_root becomes "/run/<name>"; empty monitor
// fields take the deprecated [crio.runtime] conmon, conmon_cgroup and conmon_env, and an empty
// monitor_path of an oci (pod) handler then becomes conmon (conmonrs) from $PATH.
void ResolveHandlers(Config& config);

// Checks every option's value (enums, sizes, durations) and cross-field rules: default_runtime
// names a handler, oci/pod handlers have a runtime_path, TLS streaming has a cert and key,
// metrics_collectors are known collectors.
// InvalidArgument naming the option on the first failure.
Status Validate(const Config& config);

// Go's time.ParseDuration: "0", "500ms", "10m", "1h30m", "1.5s", "-2h"; units ns, us (µs), ms, s,
// m, h. InvalidArgument for anything else (empty string, missing unit, overflow).
StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// The absolute path of executable `name` in $PATH (then /usr/local/sbin, /usr/local/bin,
// /usr/sbin, /usr/bin, /sbin, /bin when not there), or "" when not found. A `name` containing '/'
// is checked as is.
std::string FindInPath(std::string_view name);

// Why handler `name` (runtime binary `runtime_path`) cannot run containers on this host, or ""
// when nothing is known against it. `unified_controllers` is the content of
// /sys/fs/cgroup/unified/cgroup.controllers ("" when absent): crun 1.8 refuses hybrid cgroup
// hosts whose v2 mount holds controllers.
std::string RuntimeHostProblem(std::string_view name, std::string_view runtime_path,
                               std::string_view unified_controllers);
// The same for every handler of `config`, reading this host's cgroup mounts; one line each.
std::vector<std::string> RuntimeHostProblems(const RuntimeConfig& config);

// The effective configuration as commented TOML that ApplyToml reads back to the same values:
// every option printed uncommented, one [crio.runtime.runtimes.NAME] table per handler.
std::string ToToml(const Config& config);

// Copies the options CRI-O reloads on SIGHUP ("supports live configuration reload") from `fresh`
// into `live`, and the handler map as a whole, as CRI-O does. Returns one line per change, e.g.
// `log_level: "info" -> "debug"` or `runtimes: added "kata"`. `fresh` should have passed Validate.
std::vector<std::string> ApplyReloadable(const Config& fresh, Config& live);

}  // namespace crio::config
