#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <utility>
#include <variant>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Option descriptors. One table drives loading, validation, printing and reloading.
// ---------------------------------------------------------------------------------------------

enum class Kind {
  kString,
  kBool,
  kInt64,
  kStringList,  // TOML array of strings
  kStringMap,   // TOML table of strings, kept as sorted "key=value" strings
};

using FieldRef = std::variant<std::string*, bool*, int64_t*, std::vector<std::string>*>;

// One option. `Owner` is Config for the fixed tables and RuntimeHandler for the keys of a
// [crio.runtime.runtimes.NAME] table.
template <typename Owner>
struct OptionT {
  std::string_view table = {};  // "crio.runtime"; empty for handler options
  std::string_view key;
  Kind kind;
  FieldRef (*field)(Owner&);
  bool reloadable = false;                        // CRI-O: "supports live configuration reload"
  std::span<const std::string_view> one_of = {};  // allowed values of a string option
  Status (*check_string)(std::string_view) = nullptr;
  Status (*check_int)(int64_t) = nullptr;
  std::string_view help;  // comment printed above the option; '\n' separates lines
};
using Option = OptionT<Config>;
using HandlerOption = OptionT<RuntimeHandler>;

template <auto kSection, auto kMember>
FieldRef At(Config& config) {
  return &((config.*kSection).*kMember);
}
template <auto kMember>
constexpr FieldRef (*AtRoot)(Config&) = &At<&Config::root, kMember>;
template <auto kMember>
constexpr FieldRef (*AtApi)(Config&) = &At<&Config::api, kMember>;
template <auto kMember>
constexpr FieldRef (*AtRuntime)(Config&) = &At<&Config::runtime, kMember>;
template <auto kMember>
constexpr FieldRef (*AtImage)(Config&) = &At<&Config::image, kMember>;
template <auto kMember>
constexpr FieldRef (*AtNetwork)(Config&) = &At<&Config::network, kMember>;
template <auto kMember>
constexpr FieldRef (*AtMetrics)(Config&) = &At<&Config::metrics, kMember>;
template <auto kMember>
constexpr FieldRef (*AtStats)(Config&) = &At<&Config::stats, kMember>;
template <auto kMember>
constexpr FieldRef (*AtTracing)(Config&) = &At<&Config::tracing, kMember>;
template <auto kMember>
constexpr FieldRef (*AtNri)(Config&) = &At<&Config::nri, kMember>;
template <auto kMember>
FieldRef AtHandler(RuntimeHandler& handler) {
  return &(handler.*kMember);
}

// --- value checks shared by ApplyToml (with file:line) and Validate ---

Status CheckLogLevel(std::string_view level) { return log::ParseLevel(level).status(); }

Status CheckDuration(std::string_view text) { return ParseGoDuration(text).status(); }

Status CheckOptionalDuration(std::string_view text) {
  return text.empty() ? absl::OkStatus() : CheckDuration(text);
}

Status CheckPositive(int64_t value) {
  if (value > 0) {
    return absl::OkStatus();
  }
  return InvalidArgument(absl::StrCat("must be greater than 0, got ", value));
}

Status CheckPort(int64_t value) {
  if (value >= 1 && value <= 65535) {
    return absl::OkStatus();
  }
  return InvalidArgument(absl::StrCat("expected a port number in 1..65535, got ", value));
}

// conmon reads the log in 8 KiB chunks, so a smaller positive limit could never be honoured.
constexpr int64_t kConmonBufferSize = 8192;

Status CheckLogSizeMax(int64_t value) {
  if (value <= 0 || value >= kConmonBufferSize) {
    return absl::OkStatus();
  }
  return InvalidArgument(absl::StrCat("must be negative (no limit), 0 or at least ",
                                      kConmonBufferSize, " (conmon's read buffer), got ", value));
}

constexpr std::string_view kCgroupManagers[] = {"systemd", "cgroupfs"};
constexpr std::string_view kImageVolumes[] = {"mkdir", "bind", "ignore"};
constexpr std::string_view kShortNameModes[] = {"enforcing", "disabled"};
constexpr std::string_view kTlsVersions[] = {"VersionTLS10", "VersionTLS11", "VersionTLS12",
                                             "VersionTLS13"};
constexpr std::string_view kRuntimeTypes[] = {"oci", "vm", "pod"};
constexpr std::string_view kMonitorExecCgroups[] = {"", "container"};
constexpr std::string_view kExecCpuAffinities[] = {"", "first"};

constexpr std::string_view kRoot = "crio";
constexpr std::string_view kApi = "crio.api";
constexpr std::string_view kRuntime = "crio.runtime";
constexpr std::string_view kImage = "crio.image";
constexpr std::string_view kNetwork = "crio.network";
constexpr std::string_view kMetrics = "crio.metrics";
constexpr std::string_view kTracing = "crio.tracing";
constexpr std::string_view kStats = "crio.stats";
constexpr std::string_view kNri = "crio.nri";
constexpr std::string_view kNriValidator = "crio.nri.default_validator";
constexpr std::string_view kRuntimesTable = "crio.runtime.runtimes";
constexpr std::string_view kWorkloadsTable = "crio.runtime.workloads";

struct TableInfo {
  std::string_view name;
  std::string_view help;
};

// One option per block reads better than one field per line.
// clang-format off
// Printing order of the fixed tables (CRI-O's `crio config` order).
constexpr TableInfo kTables[] = {
    {kRoot, "The crio table holds the storage and state locations."},
    {kApi, "The crio.api table holds the settings of the kubelet-facing gRPC and stream servers."},
    {kRuntime, "The crio.runtime table holds the settings of the OCI runtimes and the containers "
               "they run."},
    {kImage, "The crio.image table holds the settings of image pulls and storage.\n"
             "Registries are configured in containers-registries.conf(5)."},
    {kNetwork, "The crio.network table holds the CNI settings."},
    {kMetrics, "The crio.metrics table holds the Prometheus metrics server settings."},
    {kTracing, "The crio.tracing table holds the OpenTelemetry trace export settings."},
    {kNri, "The crio.nri table holds the Node Resource Interface settings."},
    {kNriValidator, "The built-in NRI validator, which can reject containers that NRI plugins\n"
                    "adjusted in restricted ways."},
    {kStats, "The crio.stats table holds the container and pod stats settings."},
};

constexpr Option kOptions[] = {
    // [crio]
    {.table = kRoot, .key = "root", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::root>,
     .help = "Directory holding all persistent data, including image layers."},
    {.table = kRoot, .key = "runroot", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::runroot>,
     .help = "Directory holding runtime state (a tmpfs, cleared on reboot)."},
    {.table = kRoot, .key = "imagestore", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::imagestore>,
     .help = "Separate directory for newly pulled images; empty: under root."},
    {.table = kRoot, .key = "storage_driver", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::storage_driver>,
     .help = "containers/storage driver, see containers-storage.conf(5)."},
    {.table = kRoot, .key = "storage_option", .kind = Kind::kStringList,
     .field = AtRoot<&RootConfig::storage_option>,
     .help = "Options passed to the storage driver, see containers-storage.conf(5)."},
    {.table = kRoot, .key = "log_dir", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::log_dir>,
     .help = "Absolute directory for container logs when the kubelet names none."},
    {.table = kRoot, .key = "version_file", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::version_file>,
     .help = "Version file on a tmpfs; when missing (a reboot) containers are wiped."},
    {.table = kRoot, .key = "version_file_persist", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::version_file_persist>,
     .help = "Persistent version file; when it differs (an upgrade) images are wiped."},
    {.table = kRoot, .key = "clean_shutdown_file", .kind = Kind::kString,
     .field = AtRoot<&RootConfig::clean_shutdown_file>,
     .help = "Written on a clean shutdown; when missing at start, storage is checked and "
             "repaired."},
    {.table = kRoot, .key = "internal_wipe", .kind = Kind::kBool,
     .field = AtRoot<&RootConfig::internal_wipe>,
     .help = "Wipe containers and images after a reboot or upgrade when the server starts\n"
             "(deprecated: false means `crio wipe` must be run instead)."},
    {.table = kRoot, .key = "internal_repair", .kind = Kind::kBool,
     .field = AtRoot<&RootConfig::internal_repair>,
     .help = "Check storage for corruption after an unclean shutdown and repair it."},

    // [crio.api]
    {.table = kApi, .key = "listen", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::listen>,
     .help = "Path of the unix socket serving the CRI gRPC API."},
    {.table = kApi, .key = "stream_address", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::stream_address>,
     .help = "IP address of the exec/attach/port-forward stream server."},
    {.table = kApi, .key = "stream_port", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::stream_port>,
     .help = "Port of the stream server; \"0\" picks a free port."},
    {.table = kApi, .key = "stream_enable_tls", .kind = Kind::kBool,
     .field = AtApi<&ApiConfig::stream_enable_tls>,
     .help = "Serve streams over TLS (needs stream_tls_cert and stream_tls_key)."},
    {.table = kApi, .key = "stream_idle_timeout", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::stream_idle_timeout>,
     .check_string = CheckOptionalDuration,
     .help = "Idle time after which a stream is closed, as a Go duration; empty: the default."},
    {.table = kApi, .key = "stream_tls_cert", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::stream_tls_cert>,
     .help = "x509 certificate of the stream server; re-read when it changes."},
    {.table = kApi, .key = "stream_tls_key", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::stream_tls_key>,
     .help = "Private key of the stream server; re-read when it changes."},
    {.table = kApi, .key = "stream_tls_ca", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::stream_tls_ca>,
     .help = "CA bundle that stream clients must be signed by; re-read when it changes."},
    {.table = kApi, .key = "grpc_max_send_msg_size", .kind = Kind::kInt64,
     .field = AtApi<&ApiConfig::grpc_max_send_msg_size>,
     .check_int = CheckPositive,
     .help = "Largest gRPC message sent, in bytes."},
    {.table = kApi, .key = "grpc_max_recv_msg_size", .kind = Kind::kInt64,
     .field = AtApi<&ApiConfig::grpc_max_recv_msg_size>,
     .check_int = CheckPositive,
     .help = "Largest gRPC message received, in bytes."},
    {.table = kApi, .key = "tls_min_version", .kind = Kind::kString,
     .field = AtApi<&ApiConfig::tls_min_version>,
     .one_of = kTlsVersions,
     .help = "Oldest TLS version the TLS servers accept."},
    {.table = kApi, .key = "tls_cipher_suites", .kind = Kind::kStringList,
     .field = AtApi<&ApiConfig::tls_cipher_suites>,
     .help = "TLS cipher suites the TLS servers accept; empty: the library defaults."},

    // [crio.runtime]
    {.table = kRuntime, .key = "default_runtime", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::default_runtime>, .reloadable = true,
     .help = "Name of the handler in [crio.runtime.runtimes] used when the pod names none.\n"
             "Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "no_pivot", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::no_pivot>,
     .help = "Make the runtime use MS_MOVE instead of pivot_root."},
    {.table = kRuntime, .key = "decryption_keys_path", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::decryption_keys_path>, .reloadable = true,
     .help = "Directory of the keys that decrypt encrypted images. Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "conmon", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::conmon>,
     .help = "Deprecated: conmon binary; use the handler's monitor_path."},
    {.table = kRuntime, .key = "conmon_cgroup", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::conmon_cgroup>,
     .help = "Deprecated: cgroup of conmon; use the handler's monitor_cgroup."},
    {.table = kRuntime, .key = "conmon_env", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::conmon_env>,
     .help = "Deprecated: environment of conmon; use the handler's monitor_env."},
    {.table = kRuntime, .key = "default_env", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::default_env>,
     .help = "Environment variables (\"NAME=value\") added to every container unless the image\n"
             "or the container config sets them."},
    {.table = kRuntime, .key = "selinux", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::selinux>,
     .help = "Label pods with SELinux (deprecated: CRI-O follows the host's SELinux state)."},
    {.table = kRuntime, .key = "seccomp_profile", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::seccomp_profile>, .reloadable = true,
     .help = "Default seccomp profile (JSON file); empty: the built-in profile.\n"
             "Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "seccomp_use_default_when_empty", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::seccomp_use_default_when_empty>, .reloadable = true,
     .help = "Run containers whose config names no seccomp profile under the default profile\n"
             "(true) instead of unconfined, which is what the CRI prescribes (false).\n"
             "Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "privileged_seccomp_profile", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::privileged_seccomp_profile>, .reloadable = true,
     .help = "Seccomp profile for privileged containers; empty: unconfined.\n"
             "Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "apparmor_profile", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::apparmor_profile>, .reloadable = true,
     .help = "AppArmor profile of containers that request none; \"unconfined\" disables it.\n"
             "Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "blockio_config_file", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::blockio_config_file>, .reloadable = true,
     .help = "blockio class configuration for the cgroup io controller. Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "blockio_reload", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::blockio_reload>, .reloadable = true,
     .help = "Re-read blockio_config_file and rescan block devices before applying blockio\n"
             "classes. Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "irqbalance_config_file", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::irqbalance_config_file>,
     .help = "irqbalance configuration file updated for pods that disable IRQ load balancing."},
    {.table = kRuntime, .key = "irqbalance_config_restore_file", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::irqbalance_config_restore_file>,
     .help = "File with the banned CPU mask restored into irqbalance at start; empty: none."},
    {.table = kRuntime, .key = "rdt_config_file", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::rdt_config_file>, .reloadable = true,
     .help = "RDT (resctrl) class configuration. Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "cgroup_manager", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::cgroup_manager>,
     .one_of = kCgroupManagers,
     .help = "Cgroup manager: \"systemd\" or \"cgroupfs\"; must match the kubelet's "
             "cgroupDriver."},
    {.table = kRuntime, .key = "separate_pull_cgroup", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::separate_pull_cgroup>,
     .help = "Run image pulls in a separate cgroup; \"pod\" uses the pod's cgroup (systemd only)."},
    {.table = kRuntime, .key = "default_capabilities", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::default_capabilities>,
     .help = "Capabilities every container gets, without the CAP_ prefix."},
    {.table = kRuntime, .key = "add_inheritable_capabilities", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::add_inheritable_capabilities>,
     .help = "Also put the capabilities in the inheritable set (for non-root processes)."},
    {.table = kRuntime, .key = "default_sysctls", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::default_sysctls>,
     .help = "Sysctls (\"name=value\") set in every pod."},
    {.table = kRuntime, .key = "allowed_devices", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::allowed_devices>,
     .help = "Host devices a pod may request with the devices annotation."},
    {.table = kRuntime, .key = "additional_devices", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::additional_devices>,
     .help = "Devices added to every container, as \"host-path:container-path:permissions\"."},
    {.table = kRuntime, .key = "cdi_spec_dirs", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::cdi_spec_dirs>, .reloadable = true,
     .help = "Directories scanned for CDI specs; later ones win. Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "device_ownership_from_security_context", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::device_ownership_from_security_context>,
     .help = "Give devices the container's RunAsUser/RunAsGroup instead of the host's owner."},
    {.table = kRuntime, .key = "hooks_dir", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::hooks_dir>,
     .help = "Directories of OCI hook definitions, see oci-hooks(5); missing ones are skipped."},
    {.table = kRuntime, .key = "default_mounts_file", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::default_mounts_file>,
     .help = "File of \"/SRC:/DST\" mounts added to every container; empty: the system files."},
    {.table = kRuntime, .key = "pids_limit", .kind = Kind::kInt64,
     .field = AtRuntime<&RuntimeConfig::pids_limit>,
     .help = "Deprecated: process limit per container; use the kubelet's --pod-pids-limit."},
    {.table = kRuntime, .key = "log_size_max", .kind = Kind::kInt64,
     .field = AtRuntime<&RuntimeConfig::log_size_max>,
     .check_int = CheckLogSizeMax,
     .help = "Deprecated: container log size limit in bytes; negative: none, else >= 8192.\n"
             "Use the kubelet's --container-log-max-size."},
    {.table = kRuntime, .key = "log_to_journald", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::log_to_journald>,
     .help = "Also send container output to journald."},
    {.table = kRuntime, .key = "container_exits_dir", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::container_exits_dir>,
     .help = "Directory where conmon writes container exit files."},
    {.table = kRuntime, .key = "container_attach_socket_dir", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::container_attach_socket_dir>,
     .help = "Directory of the container attach sockets."},
    {.table = kRuntime, .key = "bind_mount_prefix", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::bind_mount_prefix>,
     .help = "Prefix prepended to the source of bind mounts (CRI-O running in a container)."},
    {.table = kRuntime, .key = "read_only", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::read_only>,
     .help = "Run every container with a read-only root filesystem."},
    {.table = kRuntime, .key = "log_level", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::log_level>, .reloadable = true,
     .check_string = CheckLogLevel,
     .help = "Log verbosity: trace, debug, info, warn, error, fatal or panic.\n"
             "Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "log_filter", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::log_filter>, .reloadable = true,
     .help = "Only log messages matching this regular expression. Reloaded on SIGHUP."},
    {.table = kRuntime, .key = "uid_mappings", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::uid_mappings>,
     .help = "Deprecated: user namespace UID ranges \"ctr:host:size[,...]\"; use KEP-127."},
    {.table = kRuntime, .key = "gid_mappings", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::gid_mappings>,
     .help = "Deprecated: user namespace GID ranges \"ctr:host:size[,...]\"; use KEP-127."},
    {.table = kRuntime, .key = "minimum_mappable_uid", .kind = Kind::kInt64,
     .field = AtRuntime<&RuntimeConfig::minimum_mappable_uid>,
     .help = "Deprecated: lowest host UID a pod may map; negative: no minimum."},
    {.table = kRuntime, .key = "minimum_mappable_gid", .kind = Kind::kInt64,
     .field = AtRuntime<&RuntimeConfig::minimum_mappable_gid>,
     .help = "Deprecated: lowest host GID a pod may map; negative: no minimum."},
    {.table = kRuntime, .key = "ctr_stop_timeout", .kind = Kind::kInt64,
     .field = AtRuntime<&RuntimeConfig::ctr_stop_timeout>,
     .help = "Least seconds to wait for a container to stop; values below 30 count as 30."},
    {.table = kRuntime, .key = "drop_infra_ctr", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::drop_infra_ctr>,
     .help = "Run no infra container for pods without a private PID namespace (namespaces are\n"
             "pinned instead), except with vm runtimes."},
    {.table = kRuntime, .key = "infra_ctr_cpuset", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::infra_ctr_cpuset>,
     .help = "CPUs (Linux list format) for infra containers, e.g. the kubelet reserved-cpus."},
    {.table = kRuntime, .key = "shared_cpuset", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::shared_cpuset>,
     .help = "CPUs (Linux list format) guaranteed containers may share on request."},
    {.table = kRuntime, .key = "namespaces_dir", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::namespaces_dir>,
     .help = "Directory where pinned namespaces are bind-mounted."},
    {.table = kRuntime, .key = "pinns_path", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::pinns_path>,
     .help = "pinns binary that pins pod namespaces; empty: looked up in $PATH."},
    {.table = kRuntime, .key = "enable_criu_support", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::enable_criu_support>,
     .help = "Allow checkpoint and restore with CRIU when it is installed."},
    {.table = kRuntime, .key = "enable_pod_events", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::enable_pod_events>,
     .help = "Send container events to the kubelet (Evented PLEG)."},
    {.table = kRuntime, .key = "default_ulimits", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::default_ulimits>,
     .help = "Ulimits of every container, as \"name=soft:hard\", e.g. \"nofile=1024:2048\"."},
    {.table = kRuntime, .key = "absent_mount_sources_to_reject", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::absent_mount_sources_to_reject>,
     .help = "Bind mount sources that fail container creation when missing on the host,\n"
             "instead of being created as directories (e.g. /etc/hostname)."},
    {.table = kRuntime, .key = "disable_hostport_mapping", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::disable_hostport_mapping>,
     .help = "Do not set up hostPort forwarding (left to the CNI plugin)."},
    {.table = kRuntime, .key = "hostnetwork_disable_selinux", .kind = Kind::kBool,
     .field = AtRuntime<&RuntimeConfig::hostnetwork_disable_selinux>,
     .help = "Run pods in the host network namespace without SELinux separation."},
    {.table = kRuntime, .key = "timezone", .kind = Kind::kString,
     .field = AtRuntime<&RuntimeConfig::timezone>,
     .help = "Timezone of containers; \"Local\" copies the host's; empty: the image's."},
    {.table = kRuntime, .key = "min_injected_gomaxprocs", .kind = Kind::kInt64,
     .field = AtRuntime<&RuntimeConfig::min_injected_gomaxprocs>,
     .help = "CRI-O 1.36 option for the GOMAXPROCS value injected into containers; accepted\n"
             "and printed, not acted on yet."},
    {.table = kRuntime, .key = "additional_artifact_stores", .kind = Kind::kStringList,
     .field = AtRuntime<&RuntimeConfig::additional_artifact_stores>,
     .help = "CRI-O 1.36 option listing extra OCI artifact stores; accepted and printed, not\n"
             "acted on yet."},

    // [crio.image]
    {.table = kImage, .key = "default_transport", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::default_transport>,
     .help = "Transport prefixed to image names that have none."},
    {.table = kImage, .key = "global_auth_file", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::global_auth_file>,
     .help = "Registry credentials (like /var/lib/kubelet/config.json) used for every pull."},
    {.table = kImage, .key = "namespaced_auth_dir", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::namespaced_auth_dir>,
     .help = "Directory of per-namespace credentials written by the CRI-O credential provider."},
    {.table = kImage, .key = "pause_image", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::pause_image>, .reloadable = true,
     .help = "Image of infra containers, pulled in the background when missing; until it is "
             "there (or when empty) the pause binary shipped with crio is used. Reloaded on "
             "SIGHUP."},
    {.table = kImage, .key = "pause_image_auth_file", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::pause_image_auth_file>, .reloadable = true,
     .help = "Credentials for pulling pause_image. Reloaded on SIGHUP."},
    {.table = kImage, .key = "pause_command", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::pause_command>, .reloadable = true,
     .help = "Command of infra containers; empty: the pause image's entrypoint.\n"
             "Reloaded on SIGHUP."},
    {.table = kImage, .key = "pinned_images", .kind = Kind::kStringList,
     .field = AtImage<&ImageConfig::pinned_images>, .reloadable = true,
     .help = "Images the kubelet must not garbage-collect: exact names, \"prefix*\" globs or\n"
             "\"*keyword*\"; the pause image is always pinned. Reloaded on SIGHUP."},
    {.table = kImage, .key = "signature_policy", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::signature_policy>, .reloadable = true,
     .help = "Signature policy file; empty: /etc/containers/policy.json.\n"
             "Reloaded on SIGHUP."},
    {.table = kImage, .key = "signature_policy_dir", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::signature_policy_dir>,
     .help = "Directory of per-namespace policies <dir>/<namespace>.json, tried first."},
    {.table = kImage, .key = "insecure_registries", .kind = Kind::kStringList,
     .field = AtImage<&ImageConfig::insecure_registries>,
     .help = "Deprecated and ignored: set `insecure` in registries.conf instead."},
    {.table = kImage, .key = "image_volumes", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::image_volumes>,
     .one_of = kImageVolumes,
     .help = "Handling of image VOLUMEs: \"mkdir\", \"bind\" or \"ignore\"."},
    {.table = kImage, .key = "big_files_temporary_dir", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::big_files_temporary_dir>,
     .help = "Directory for large temporary files during pulls; empty: /var/tmp."},
    {.table = kImage, .key = "auto_reload_registries", .kind = Kind::kBool,
     .field = AtImage<&ImageConfig::auto_reload_registries>,
     .help = "Reload registries.conf when registries.conf.d changes, without SIGHUP."},
    {.table = kImage, .key = "pull_progress_timeout", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::pull_progress_timeout>,
     .check_string = CheckDuration,
     .help = "Cancel a pull that makes no progress for this Go duration; \"0s\" disables it.\n"
             "Progress is logged every tenth of it."},
    {.table = kImage, .key = "short_name_mode", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::short_name_mode>,
     .one_of = kShortNameModes,
     .help = "\"enforcing\" fails pulls of ambiguous short names; \"disabled\" takes the first "
             "match."},
    {.table = kImage, .key = "oci_artifact_mount_support", .kind = Kind::kBool,
     .field = AtImage<&ImageConfig::oci_artifact_mount_support>,
     .help = "Allow mounting OCI artifacts as image volumes."},
    {.table = kImage, .key = "registries_conf", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::registries_conf>,
     .help = "crio-cpp addition (not in CRI-O): path of containers-registries.conf(5)."},
    {.table = kImage, .key = "registries_conf_dir", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::registries_conf_dir>,
     .help = "crio-cpp addition (not in CRI-O): registries.conf drop-in directory."},
    {.table = kImage, .key = "certs_dir", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::certs_dir>,
     .help = "crio-cpp addition (not in CRI-O): per-registry certificate directory,\n"
             "see containers-certs.d(5)."},
    {.table = kImage, .key = "auth_file", .kind = Kind::kString,
     .field = AtImage<&ImageConfig::auth_file>,
     .help = "crio-cpp addition (not in CRI-O): default registry credentials file,\n"
             "see containers-auth.json(5)."},

    // [crio.network]
    {.table = kNetwork, .key = "cni_default_network", .kind = Kind::kString,
     .field = AtNetwork<&NetworkConfig::cni_default_network>,
     .help = "CNI network to use; empty: the first configuration found in network_dir."},
    {.table = kNetwork, .key = "network_dir", .kind = Kind::kString,
     .field = AtNetwork<&NetworkConfig::network_dir>,
     .help = "Directory of CNI network configurations."},
    {.table = kNetwork, .key = "plugin_dirs", .kind = Kind::kStringList,
     .field = AtNetwork<&NetworkConfig::plugin_dirs>,
     .help = "Directories of CNI plugin binaries."},
    {.table = kNetwork, .key = "cni_status_grace_period", .kind = Kind::kString,
     .field = AtNetwork<&NetworkConfig::cni_status_grace_period>,
     .check_string = CheckDuration,
     .help = "When above \"0s\", poll the CNI STATUS verb and report the network not ready\n"
             "only after it failed for this Go duration."},

    // [crio.metrics]
    {.table = kMetrics, .key = "enable_metrics", .kind = Kind::kBool,
     .field = AtMetrics<&MetricsConfig::enable_metrics>,
     .help = "Serve Prometheus metrics."},
    {.table = kMetrics, .key = "metrics_collectors", .kind = Kind::kStringList,
     .field = AtMetrics<&MetricsConfig::metrics_collectors>,
     .help = "Enabled collectors, optionally prefixed \"crio_\" or \"container_runtime_crio_\";\n"
             "empty: all."},
    {.table = kMetrics, .key = "metrics_host", .kind = Kind::kString,
     .field = AtMetrics<&MetricsConfig::metrics_host>,
     .help = "Address the metrics server listens on."},
    {.table = kMetrics, .key = "metrics_port", .kind = Kind::kInt64,
     .field = AtMetrics<&MetricsConfig::metrics_port>,
     .check_int = CheckPort,
     .help = "Port the metrics server listens on."},
    {.table = kMetrics, .key = "metrics_socket", .kind = Kind::kString,
     .field = AtMetrics<&MetricsConfig::metrics_socket>,
     .help = "Unix socket the metrics server also listens on; empty: none."},
    {.table = kMetrics, .key = "metrics_cert", .kind = Kind::kString,
     .field = AtMetrics<&MetricsConfig::metrics_cert>,
     .help = "Certificate for HTTPS metrics; generated self-signed when missing, re-read on\n"
             "change."},
    {.table = kMetrics, .key = "metrics_key", .kind = Kind::kString,
     .field = AtMetrics<&MetricsConfig::metrics_key>,
     .help = "Private key of metrics_cert."},

    // [crio.tracing]
    {.table = kTracing, .key = "enable_tracing", .kind = Kind::kBool,
     .field = AtTracing<&TracingConfig::enable_tracing>,
     .help = "Export OpenTelemetry traces."},
    {.table = kTracing, .key = "tracing_endpoint", .kind = Kind::kString,
     .field = AtTracing<&TracingConfig::tracing_endpoint>,
     .help = "Address of the OTLP gRPC collector."},
    {.table = kTracing, .key = "tracing_sampling_rate_per_million", .kind = Kind::kInt64,
     .field = AtTracing<&TracingConfig::tracing_sampling_rate_per_million>,
     .help = "Spans sampled per million; 1000000 samples all."},

    // [crio.nri]
    {.table = kNri, .key = "enable_nri", .kind = Kind::kBool,
     .field = AtNri<&NriConfig::enable_nri>,
     .help = "Enable the Node Resource Interface."},
    {.table = kNri, .key = "nri_listen", .kind = Kind::kString,
     .field = AtNri<&NriConfig::nri_listen>,
     .help = "Socket NRI plugins connect to."},
    {.table = kNri, .key = "nri_plugin_dir", .kind = Kind::kString,
     .field = AtNri<&NriConfig::nri_plugin_dir>,
     .help = "Directory of NRI plugins started by CRI-O."},
    {.table = kNri, .key = "nri_plugin_config_dir", .kind = Kind::kString,
     .field = AtNri<&NriConfig::nri_plugin_config_dir>,
     .help = "Directory of NRI plugin configurations."},
    {.table = kNri, .key = "nri_plugin_registration_timeout", .kind = Kind::kString,
     .field = AtNri<&NriConfig::nri_plugin_registration_timeout>,
     .check_string = CheckDuration,
     .help = "Time (Go duration) a plugin has to register."},
    {.table = kNri, .key = "nri_plugin_request_timeout", .kind = Kind::kString,
     .field = AtNri<&NriConfig::nri_plugin_request_timeout>,
     .check_string = CheckDuration,
     .help = "Time (Go duration) a plugin has to answer a request."},
    {.table = kNri, .key = "nri_disable_connections", .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_disable_connections>,
     .help = "Refuse connections from plugins started outside CRI-O."},

    // [crio.nri.default_validator]
    {.table = kNriValidator, .key = "nri_enable_default_validator", .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_enable_default_validator>,
     .help = "Enable the built-in validator."},
    {.table = kNriValidator, .key = "nri_validator_reject_oci_hook_adjustment",
     .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_validator_reject_oci_hook_adjustment>,
     .help = "Reject containers into which a plugin injected OCI hooks."},
    {.table = kNriValidator, .key = "nri_validator_reject_runtime_default_seccomp_adjustment",
     .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_validator_reject_runtime_default_seccomp_adjustment>,
     .help = "Reject plugin changes to the runtime default seccomp profile."},
    {.table = kNriValidator, .key = "nri_validator_reject_unconfined_seccomp_adjustment",
     .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_validator_reject_unconfined_seccomp_adjustment>,
     .help = "Reject plugin changes to containers running seccomp-unconfined."},
    {.table = kNriValidator, .key = "nri_validator_reject_custom_seccomp_adjustment",
     .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_validator_reject_custom_seccomp_adjustment>,
     .help = "Reject plugin changes to custom (localhost) seccomp profiles."},
    {.table = kNriValidator, .key = "nri_validator_reject_namespace_adjustment",
     .kind = Kind::kBool,
     .field = AtNri<&NriConfig::nri_validator_reject_namespace_adjustment>,
     .help = "Reject plugin changes to Linux namespaces."},
    {.table = kNriValidator, .key = "nri_validator_required_plugins", .kind = Kind::kStringList,
     .field = AtNri<&NriConfig::nri_validator_required_plugins>,
     .help = "Plugins that must have processed a container's creation."},
    {.table = kNriValidator, .key = "nri_validator_tolerate_missing_plugins_annotation",
     .kind = Kind::kString,
     .field = AtNri<&NriConfig::nri_validator_tolerate_missing_plugins_annotation>,
     .help = "Annotation that lets a pod start without the required plugins."},

    // [crio.stats]
    {.table = kStats, .key = "stats_collection_period", .kind = Kind::kInt64,
     .field = AtStats<&StatsConfig::stats_collection_period>,
     .help = "Deprecated: seconds between stats collections; 0: on demand."},
    {.table = kStats, .key = "collection_period", .kind = Kind::kInt64,
     .field = AtStats<&StatsConfig::collection_period>,
     .help = "Seconds between stats and pod metrics collections; 0: on demand."},
    {.table = kStats, .key = "included_pod_metrics", .kind = Kind::kStringList,
     .field = AtStats<&StatsConfig::included_pod_metrics>,
     .help = "Pod metrics to collect: cpu, hugetlb, memory, network, oom, process, spec, disk,\n"
             "diskIO, pressure, or \"all\"."},
};

constexpr HandlerOption kHandlerOptions[] = {
    {.key = "runtime_path", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::runtime_path>,
     .help = "runtime executable; empty: the handler name looked up in $PATH"},
    {.key = "runtime_type", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::runtime_type>,
     .one_of = kRuntimeTypes,
     .help = "\"oci\" (conmon per container), \"pod\" (conmon-rs per pod) or \"vm\" (shim v2)"},
    {.key = "runtime_root", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::runtime_root>,
     .help = "state directory passed as --root; empty: /run/<handler>"},
    {.key = "runtime_config_path", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::runtime_config_path>,
     .help = "runtime configuration file (vm runtimes only)"},
    {.key = "inherit_default_runtime", .kind = Kind::kBool,
     .field = AtHandler<&RuntimeHandler::inherit_default_runtime>,
     .help = "take path, type, root and config path from the default runtime"},
    {.key = "monitor_path", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::monitor_path>,
     .help = "conmon (oci) or conmonrs (pod) binary; empty: looked up in $PATH"},
    {.key = "monitor_cgroup", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::monitor_cgroup>,
     .help = "cgroup of the monitor process"},
    {.key = "monitor_env", .kind = Kind::kStringList,
     .field = AtHandler<&RuntimeHandler::monitor_env>,
     .help = "environment of the monitor process"},
    {.key = "monitor_exec_cgroup", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::monitor_exec_cgroup>,
     .one_of = kMonitorExecCgroups,
     .help = "\"container\" charges exec probes to the container's cgroup"},
    {.key = "allowed_annotations", .kind = Kind::kStringList,
     .field = AtHandler<&RuntimeHandler::allowed_annotations>,
     .help = "experimental annotations pods of this handler may use"},
    {.key = "default_annotations", .kind = Kind::kStringMap,
     .field = AtHandler<&RuntimeHandler::default_annotations>,
     .help = "annotations added to pods that do not set them"},
    {.key = "platform_runtime_paths", .kind = Kind::kStringMap,
     .field = AtHandler<&RuntimeHandler::platform_runtime_paths>,
     .help = "runtime executable per \"os/arch\" platform"},
    {.key = "privileged_without_host_devices", .kind = Kind::kBool,
     .field = AtHandler<&RuntimeHandler::privileged_without_host_devices>,
     .help = "do not pass host devices to privileged containers"},
    {.key = "runtime_pull_image", .kind = Kind::kBool,
     .field = AtHandler<&RuntimeHandler::runtime_pull_image>,
     .help = "the runtime pulls images itself"},
    {.key = "container_min_memory", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::container_min_memory>,
     .help = "smallest memory limit accepted, e.g. \"12MiB\"; empty: 12MiB"},
    {.key = "no_sync_log", .kind = Kind::kBool,
     .field = AtHandler<&RuntimeHandler::no_sync_log>,
     .help = "skip fsync of logs on rotation and exit (oci only; may lose data on a crash)"},
    {.key = "stream_websockets", .kind = Kind::kBool,
     .field = AtHandler<&RuntimeHandler::stream_websockets>,
     .help = "serve exec, attach and port-forward over WebSockets"},
    {.key = "exec_cpu_affinity", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::exec_cpu_affinity>,
     .one_of = kExecCpuAffinities,
     .help = "\"first\" runs execs on the first CPU of the container's cpuset"},
    {.key = "seccomp_profile", .kind = Kind::kString,
     .field = AtHandler<&RuntimeHandler::seccomp_profile>,
     .help = "default seccomp profile of this handler; empty: [crio.runtime] seccomp_profile"},
    {.key = "container_create_timeout", .kind = Kind::kInt64,
     .field = AtHandler<&RuntimeHandler::container_create_timeout>,
     .help = "seconds container creation may take (at least 30)"},
};

// clang-format on

// ---------------------------------------------------------------------------------------------
// Typed access to a FieldRef. A kind that does not match the field is a bug in the tables above.
// ---------------------------------------------------------------------------------------------

template <typename T>
T& Get(const FieldRef& field) {
  T* const* value = std::get_if<T*>(&field);
  CRIO_CHECK(value != nullptr, "option kind does not match its field type");
  return **value;
}

void Assign(const FieldRef& from, const FieldRef& to) {
  std::visit(
      [&to](auto* source) {
        using T = std::remove_pointer_t<decltype(source)>;
        Get<T>(to) = *source;
      },
      from);
}

template <typename Owner>
FieldRef FieldOf(const OptionT<Owner>& option, const Owner& owner) {
  // The accessor takes a mutable owner so one table serves reads and writes; reading through it
  // does not modify `owner`.
  return option.field(const_cast<Owner&>(owner));
}

// ---------------------------------------------------------------------------------------------
// Formatting values as TOML.
// ---------------------------------------------------------------------------------------------

bool IsBareKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string TomlKey(std::string_view key) {
  return IsBareKey(key) ? std::string(key) : util::QuoteString(key);
}

std::pair<std::string_view, std::string_view> SplitEntry(std::string_view entry) {
  size_t eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return {entry, ""};
  }
  return {entry.substr(0, eq), entry.substr(eq + 1)};
}

std::string FormatList(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  quoted.reserve(values.size());
  for (const std::string& value : values) {
    quoted.push_back(util::QuoteString(value));
  }
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string FormatMap(const std::vector<std::string>& entries) {
  if (entries.empty()) {
    return "{}";
  }
  std::vector<std::string> pairs;
  pairs.reserve(entries.size());
  for (const std::string& entry : entries) {
    auto [key, value] = SplitEntry(entry);
    pairs.push_back(absl::StrCat(util::QuoteString(key), " = ", util::QuoteString(value)));
  }
  return absl::StrCat("{ ", absl::StrJoin(pairs, ", "), " }");
}

std::string FormatValue(Kind kind, const FieldRef& field) {
  switch (kind) {
    case Kind::kString:
      return util::QuoteString(Get<std::string>(field));
    case Kind::kBool:
      return Get<bool>(field) ? "true" : "false";
    case Kind::kInt64:
      return std::to_string(Get<int64_t>(field));
    case Kind::kStringList:
      return FormatList(Get<std::vector<std::string>>(field));
    case Kind::kStringMap:
      return FormatMap(Get<std::vector<std::string>>(field));
  }
  return "";
}

void AppendComment(std::string& out, std::string_view text, std::string_view prefix = "# ") {
  for (const std::string& line : util::SplitNonEmpty(text, '\n')) {
    absl::StrAppend(&out, std::string(prefix), line, "\n");
  }
}

// ---------------------------------------------------------------------------------------------
// Reading TOML.
// ---------------------------------------------------------------------------------------------

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

Status TypeMismatch(std::string_view expected, const toml::node& node) {
  return InvalidArgument(
      absl::StrCat("expected ", std::string(expected), ", got ", std::string(TypeName(node))));
}

// "got an array containing an integer": the first element of the wrong type.
Status ElementMismatch(std::string_view expected, std::string_view container,
                       const toml::node& element) {
  return InvalidArgument(absl::StrCat("expected ", std::string(expected), ", got ",
                                      std::string(container), " containing ",
                                      std::string(TypeName(element))));
}

Status ReadStringList(const toml::node& node, std::vector<std::string>& out) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    return TypeMismatch("an array of strings", node);
  }
  std::vector<std::string> values;
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      return ElementMismatch("an array of strings", "an array", element);
    }
    values.push_back(text->get());
  }
  out = std::move(values);
  return absl::OkStatus();
}

Status ReadStringMap(const toml::node& node, std::vector<std::string>& out) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return TypeMismatch("a table of strings", node);
  }
  std::vector<std::string> entries;
  for (auto&& [key, value] : *table) {
    const auto* text = value.as_string();
    if (text == nullptr) {
      return ElementMismatch("a table of strings", "a table", value);
    }
    entries.push_back(absl::StrCat(std::string(key.str()), "=", text->get()));
  }
  out = std::move(entries);  // toml::table iterates in key order
  return absl::OkStatus();
}

// Stores `node` into `field`; on a type mismatch the message is what follows "KEY: ".
Status ReadValue(const toml::node& node, Kind kind, const FieldRef& field) {
  switch (kind) {
    case Kind::kString: {
      const auto* value = node.as_string();
      if (value == nullptr) {
        return TypeMismatch("a string", node);
      }
      Get<std::string>(field) = value->get();
      return absl::OkStatus();
    }
    case Kind::kBool: {
      const auto* value = node.as_boolean();
      if (value == nullptr) {
        return TypeMismatch("a boolean", node);
      }
      Get<bool>(field) = value->get();
      return absl::OkStatus();
    }
    case Kind::kInt64: {
      const auto* value = node.as_integer();
      if (value == nullptr) {
        return TypeMismatch("an integer", node);
      }
      Get<int64_t>(field) = value->get();
      return absl::OkStatus();
    }
    case Kind::kStringList:
      return ReadStringList(node, Get<std::vector<std::string>>(field));
    case Kind::kStringMap:
      return ReadStringMap(node, Get<std::vector<std::string>>(field));
  }
  return absl::OkStatus();
}

std::string OneOfList(std::span<const std::string_view> allowed) {
  std::vector<std::string> quoted;
  for (std::string_view value : allowed) {
    quoted.push_back(util::QuoteString(value));
  }
  return absl::StrJoin(quoted, ", ");
}

// The option's value rules; the message is what follows "KEY: ".
template <typename Owner>
Status CheckValue(const OptionT<Owner>& option, const FieldRef& field) {
  if (!option.one_of.empty()) {
    const std::string& value = Get<std::string>(field);
    if (std::find(option.one_of.begin(), option.one_of.end(), value) == option.one_of.end()) {
      return InvalidArgument(absl::StrCat("expected one of ", OneOfList(option.one_of), ", got ",
                                          util::QuoteString(value)));
    }
  }
  if (option.check_string != nullptr) {
    RETURN_IF_ERROR(option.check_string(Get<std::string>(field)));
  }
  if (option.check_int != nullptr) {
    RETURN_IF_ERROR(option.check_int(Get<int64_t>(field)));
  }
  return absl::OkStatus();
}

struct ApplyContext {
  std::string_view file;
  Config& config;
  std::vector<Warning>& warnings;
};

int LineOf(const toml::key& key, const toml::node& node) {
  uint32_t line = key.source().begin.line;
  return static_cast<int>(line != 0 ? line : node.source().begin.line);
}

// "FILE:LINE: KEY: message"
Status AtLocation(const Status& status, std::string_view file, int line, std::string_view key) {
  return Annotate(status, absl::StrCat(std::string(file), ":", line, ": ", std::string(key)));
}

void WarnUnknown(ApplyContext& ctx, int line, std::string_view key) {
  ctx.warnings.push_back(
      Warning{std::string(ctx.file), line, absl::StrCat("unknown option ", std::string(key))});
}

template <typename Owner>
Status ApplyOption(const OptionT<Owner>& option, const toml::node& node, std::string_view key,
                   int line, ApplyContext& ctx, Owner& owner) {
  FieldRef field = option.field(owner);
  Status status = ReadValue(node, option.kind, field);
  if (status.ok()) {
    status = CheckValue(option, field);
  }
  return status.ok() ? status : AtLocation(status, ctx.file, line, key);
}

const Option* FindOption(std::string_view table, std::string_view key) {
  for (const Option& option : kOptions) {
    if (option.table == table && option.key == key) {
      return &option;
    }
  }
  return nullptr;
}

const HandlerOption* FindHandlerOption(std::string_view key) {
  for (const HandlerOption& option : kHandlerOptions) {
    if (option.key == key) {
      return &option;
    }
  }
  return nullptr;
}

bool IsKnownTable(std::string_view name) {
  if (name == kRuntimesTable || name == kWorkloadsTable) {
    return true;
  }
  return std::any_of(std::begin(kTables), std::end(kTables),
                     [name](const TableInfo& table) { return table.name == name; });
}

// A handler table sets only the fields it names, so drop-ins can override single fields of a
// handler defined earlier (CRI-O decodes each file onto the existing handler the same way).
Status ApplyHandler(const std::string& name, const toml::node& node, int line, ApplyContext& ctx) {
  std::string path = absl::StrCat(std::string(kRuntimesTable), ".", name);
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return AtLocation(TypeMismatch("a table", node), ctx.file, line, path);
  }
  RuntimeHandler& handler = ctx.config.runtime.runtimes[name];
  for (auto&& [key, value] : *table) {
    std::string full = absl::StrCat(path, ".", std::string(key.str()));
    const HandlerOption* option = FindHandlerOption(key.str());
    if (option == nullptr) {
      WarnUnknown(ctx, LineOf(key, value), full);
      continue;
    }
    RETURN_IF_ERROR(ApplyOption(*option, value, full, LineOf(key, value), ctx, handler));
  }
  return absl::OkStatus();
}

// Workloads are not interpreted yet; the table is kept verbatim (re-serialised) and a later file
// defining the same workload replaces it as a whole.
Status ApplyWorkload(const std::string& name, const toml::node& node, int line, ApplyContext& ctx) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return AtLocation(TypeMismatch("a table", node), ctx.file, line,
                      absl::StrCat(std::string(kWorkloadsTable), ".", name));
  }
  std::ostringstream text;
  text << *table;
  ctx.config.runtime.workloads[name] = text.str();
  return absl::OkStatus();
}

Status ApplyTable(const toml::table& table, const std::string& path, ApplyContext& ctx) {
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    std::string full = path.empty() ? name : absl::StrCat(path, ".", name);
    int line = LineOf(key, node);
    if (path == kRuntimesTable) {
      RETURN_IF_ERROR(ApplyHandler(name, node, line, ctx));
    } else if (path == kWorkloadsTable) {
      RETURN_IF_ERROR(ApplyWorkload(name, node, line, ctx));
    } else if (const Option* option = FindOption(path, name); option != nullptr) {
      RETURN_IF_ERROR(ApplyOption(*option, node, full, line, ctx, ctx.config));
    } else if (IsKnownTable(full)) {
      const toml::table* sub = node.as_table();
      if (sub == nullptr) {
        return AtLocation(TypeMismatch("a table", node), ctx.file, line, full);
      }
      RETURN_IF_ERROR(ApplyTable(*sub, full, ctx));
    } else {
      WarnUnknown(ctx, line, full);
    }
  }
  return absl::OkStatus();
}

StatusOr<toml::table> ParseToml(std::string_view text, std::string_view file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(absl::StrCat(std::string(file), ":", e.source().begin.line, ":",
                                        e.source().begin.column,
                                        ": parse error: ", std::string(e.description())));
  }
}

// ---------------------------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------------------------

StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("open ", path));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  std::string data;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("read ", path));
    }
    if (n == 0) {
      return data;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
}

Status ApplyFile(const std::string& path, Config& config, std::vector<Warning>& warnings) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ApplyToml(text, path, config, warnings);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Regular files (or links to them) named *.conf directly in `dir`, sorted; none if `dir` is
// missing.
StatusOr<std::vector<std::string>> DropInFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) {
    return files;
  }
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (EndsWith(name, ".conf") && it->is_regular_file(type_ec)) {
      files.push_back(it->path().string());
    }
  }
  if (ec) {
    return ErrnoError(ec.value(), absl::StrCat("read drop-in directory ", dir));
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// ---------------------------------------------------------------------------------------------
// Handlers.
// ---------------------------------------------------------------------------------------------

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

bool IsShimName(std::string_view path) {
  constexpr std::string_view kPrefix = "containerd-shim-";
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.size() <= kPrefix.size() || base.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  return std::all_of(base.begin() + kPrefix.size(), base.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '+';
  });
}

Status ValidateHandler(const std::string& name, const RuntimeHandler& handler) {
  std::string path = absl::StrCat(std::string(kRuntimesTable), ".", name);
  for (const HandlerOption& option : kHandlerOptions) {
    Status status = CheckValue(option, FieldOf(option, handler));
    if (!status.ok()) {
      return Annotate(status, absl::StrCat(path, ".", std::string(option.key)));
    }
  }
  if (handler.runtime_path.empty()) {
    return InvalidArgument(absl::StrCat(path, ".runtime_path: empty, and ", util::QuoteString(name),
                                        " is not in $PATH"));
  }
  if (handler.runtime_type == "vm" && !IsShimName(handler.runtime_path)) {
    return InvalidArgument(absl::StrCat(
        path, ".runtime_path: a vm runtime must be a containerd-shim-NAME binary, got ",
        util::QuoteString(handler.runtime_path)));
  }
  return absl::OkStatus();
}

Status ValidateOptions(const Config& config) {
  for (const Option& option : kOptions) {
    Status status = CheckValue(option, FieldOf(option, config));
    if (!status.ok()) {
      return Annotate(status,
                      absl::StrCat(std::string(option.table), ".", std::string(option.key)));
    }
  }
  return absl::OkStatus();
}

Status ValidateStreaming(const ApiConfig& api) {
  if (!api.stream_enable_tls) {
    return absl::OkStatus();
  }
  if (api.stream_tls_cert.empty()) {
    return InvalidArgument("crio.api.stream_tls_cert: required when stream_enable_tls is true");
  }
  if (api.stream_tls_key.empty()) {
    return InvalidArgument("crio.api.stream_tls_key: required when stream_enable_tls is true");
  }
  return absl::OkStatus();
}

// CRI-O's collectors (server/metrics/collectors), in its order.
constexpr std::string_view kMetricsCollectors[] = {
    "image_pulls_layer_size",
    "containers_events_dropped_total",
    "containers_oom_total",
    "processes_defunct",
    "operations_total",
    "operations_latency_seconds",
    "operations_latency_seconds_total",
    "operations_errors_total",
    "image_pulls_bytes_total",
    "image_pulls_skipped_bytes_total",
    "image_pulls_failure_total",
    "image_pulls_success_total",
    "image_layer_reuse_total",
    "containers_oom_count_total",
    "containers_seccomp_notifier_count_total",
    "resources_stalled_at_stage",
    "containers_stopped_monitor_count",
    "default_runtime",
};

// ---------------------------------------------------------------------------------------------
// Printing.
// ---------------------------------------------------------------------------------------------

template <typename Owner>
void AppendOption(std::string& out, const OptionT<Owner>& option, const Owner& owner,
                  bool with_help) {
  if (with_help) {
    AppendComment(out, option.help);
  }
  absl::StrAppend(&out, std::string(option.key), " = ",
                  FormatValue(option.kind, FieldOf(option, owner)), "\n");
  if (with_help) {
    out += "\n";
  }
}

void AppendHandlers(std::string& out, const RuntimeConfig& rt) {
  out += "# One [crio.runtime.runtimes.NAME] table per runtime handler (Kubernetes\n";
  out += "# RuntimeClass handler). Keys:\n";
  for (const HandlerOption& option : kHandlerOptions) {
    AppendComment(out, absl::StrCat(std::string(option.key), ": ", std::string(option.help)),
                  "#   ");
  }
  for (const auto& [name, handler] : rt.runtimes) {
    absl::StrAppend(&out, "\n[", std::string(kRuntimesTable), ".", TomlKey(name), "]\n");
    for (const HandlerOption& option : kHandlerOptions) {
      AppendOption(out, option, handler, /*with_help=*/false);
    }
  }
  out += "\n";
}

void AppendWorkloads(std::string& out, const RuntimeConfig& rt) {
  if (rt.workloads.empty()) {
    return;
  }
  out += "# Workloads (experimental) are kept as written; crio-cpp does not apply them yet.\n";
  toml::table workloads;
  for (const auto& [name, text] : rt.workloads) {
    StatusOr<toml::table> parsed = ParseToml(text, name);
    if (parsed.ok()) {
      workloads.insert(name, std::move(*parsed));
    }
  }
  toml::table runtime;
  runtime.insert("workloads", std::move(workloads));
  toml::table crio;
  crio.insert("runtime", std::move(runtime));
  toml::table root;
  root.insert("crio", std::move(crio));
  std::ostringstream text;
  text << root;
  absl::StrAppend(&out, text.str(), "\n\n");
}

// ---------------------------------------------------------------------------------------------
// Durations.
// ---------------------------------------------------------------------------------------------

using Int128 = unsigned __int128;

struct DurationUnitInfo {
  std::string_view name;
  uint64_t nanoseconds;
};

// Go's units; micro may be spelled "us", "µs" (U+00B5) or "μs" (U+03BC).
constexpr DurationUnitInfo kDurationUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},
    {"\xCE\xBCs", 1000},
    {"ms", 1000 * 1000},
    {"s", 1000ULL * 1000 * 1000},
    {"m", 60ULL * 1000 * 1000 * 1000},
    {"h", 3600ULL * 1000 * 1000 * 1000},
};

StatusOr<uint64_t> DurationUnit(std::string_view unit, std::string_view text) {
  for (const DurationUnitInfo& info : kDurationUnits) {
    if (info.name == unit) {
      return info.nanoseconds;
    }
  }
  if (unit.empty()) {
    return InvalidArgument(absl::StrCat("missing unit in duration ", util::QuoteString(text)));
  }
  return InvalidArgument(absl::StrCat("unknown unit ", util::QuoteString(unit), " in duration ",
                                      util::QuoteString(text)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------------------------

StatusOr<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const Status invalid =
      InvalidArgument(absl::StrCat("invalid duration ", util::QuoteString(text)));
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return std::chrono::nanoseconds(0);
  }
  if (s.empty()) {
    return invalid;
  }
  // Go allows up to 2^63 nanoseconds for a negative duration, one less for a positive one.
  const Int128 limit = (Int128{1} << 63) - (negative ? 0 : 1);
  Int128 total = 0;
  while (!s.empty()) {
    Int128 whole = 0;
    size_t whole_digits = 0;
    for (; !s.empty() && IsDigit(s.front()); s.remove_prefix(1), ++whole_digits) {
      whole = whole * 10 + static_cast<unsigned>(s.front() - '0');
      if (whole > limit) {
        return invalid;
      }
    }
    Int128 fraction = 0;
    Int128 scale = 1;
    size_t fraction_digits = 0;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      for (; !s.empty() && IsDigit(s.front()); s.remove_prefix(1), ++fraction_digits) {
        // Digits past 10^-18 cannot change a nanosecond count of any unit up to an hour.
        if (scale < Int128{1000000000000000000ULL}) {
          fraction = fraction * 10 + static_cast<unsigned>(s.front() - '0');
          scale *= 10;
        }
      }
    }
    if (whole_digits == 0 && fraction_digits == 0) {
      return invalid;
    }
    size_t unit_end = 0;
    while (unit_end < s.size() && !IsDigit(s[unit_end]) && s[unit_end] != '.') {
      ++unit_end;
    }
    ASSIGN_OR_RETURN(uint64_t unit, DurationUnit(s.substr(0, unit_end), text));
    s.remove_prefix(unit_end);
    total += whole * unit + fraction * unit / scale;  // < 2^128: whole <= 2^63, unit < 2^42
    if (total > limit) {
      return invalid;
    }
  }
  if (!negative) {
    return std::chrono::nanoseconds(static_cast<int64_t>(total));
  }
  if (total == (Int128{1} << 63)) {
    return std::chrono::nanoseconds(std::numeric_limits<int64_t>::min());
  }
  return std::chrono::nanoseconds(-static_cast<int64_t>(total));
}

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

namespace {
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

namespace {

// CRI-O's flag names that are not simply the key with '-' for '_'.
struct FlagName {
  std::string_view key, name, short_name;
};
constexpr FlagName kFlagNames[] = {
    {"root", "root", "r"},
    {"storage_driver", "storage-driver", "s"},
    {"storage_option", "storage-opt", ""},
    {"log_level", "log-level", "l"},
    {"network_dir", "cni-config-dir", ""},
    {"plugin_dirs", "cni-plugin-dir", ""},
    {"insecure_registries", "insecure-registry", ""},
};

CommandLineFlag FlagFor(const Option& option) {
  CommandLineFlag flag;
  flag.table = std::string(option.table);
  flag.key = std::string(option.key);
  flag.name = flag.key;
  std::replace(flag.name.begin(), flag.name.end(), '_', '-');
  for (const FlagName& known : kFlagNames) {
    if (known.key == option.key) {
      flag.name = std::string(known.name);
      flag.short_name = std::string(known.short_name);
    }
  }
  flag.env = "CONTAINER_" + flag.name;
  for (char& c : flag.env) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  flag.help = std::string(option.help.substr(0, option.help.find('\n')));
  flag.is_bool = option.kind == Kind::kBool;
  flag.is_list = option.kind == Kind::kStringList || option.kind == Kind::kStringMap;
  return flag;
}

const Option* OptionOf(const CommandLineFlag& flag) {
  for (const Option& option : kOptions) {
    if (option.table == flag.table && option.key == flag.key) return &option;
  }
  return nullptr;
}

}  // namespace

const std::vector<CommandLineFlag>& CommandLineFlags() {
  static const std::vector<CommandLineFlag> flags = [] {
    std::vector<CommandLineFlag> out;
    for (const Option& option : kOptions) out.push_back(FlagFor(option));
    return out;
  }();
  return flags;
}

Status ApplyCommandLineFlag(const CommandLineFlag& flag, const std::vector<std::string>& values,
                            Config& config) {
  const Option* option = OptionOf(flag);
  if (option == nullptr) return InvalidArgument(absl::StrCat("--", flag.name, ": unknown option"));
  std::vector<std::string> items;
  if (flag.is_list) {
    for (const std::string& value : values) {
      for (const std::string& item : util::SplitNonEmpty(value, ',')) items.push_back(item);
    }
  }
  std::string value;
  switch (option->kind) {
    case Kind::kString:
      value = util::QuoteString(values.empty() ? "" : values.back());
      break;
    case Kind::kBool: {
      std::string v = values.empty() || values.back().empty() ? "true" : values.back();
      if (v != "true" && v != "false") {
        return InvalidArgument(absl::StrCat("--", flag.name, ": want true or false, got ", v));
      }
      value = v;
      break;
    }
    case Kind::kInt64:
      value = values.empty() ? "" : values.back();
      break;
    case Kind::kStringList: {
      std::vector<std::string> quoted;
      for (const auto& item : items) quoted.push_back(util::QuoteString(item));
      value = absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
      break;
    }
    case Kind::kStringMap: {
      std::vector<std::string> pairs;
      for (const auto& item : items) {
        size_t eq = item.find('=');
        if (eq == std::string::npos) {
          return InvalidArgument(absl::StrCat("--", flag.name, ": want key=value, got ", item));
        }
        pairs.push_back(absl::StrCat(util::QuoteString(item.substr(0, eq)), " = ",
                                     util::QuoteString(item.substr(eq + 1))));
      }
      value = absl::StrCat("{ ", absl::StrJoin(pairs, ", "), " }");
      break;
    }
  }
  const std::string text = absl::StrCat("[", flag.table, "]\n", flag.key, " = ", value, "\n");
  std::vector<Warning> warnings;
  return ApplyToml(text, absl::StrCat("--", flag.name), config, warnings);
}

Status ApplyToml(std::string_view toml_text, std::string_view file_name, Config& config,
                 std::vector<Warning>& warnings) {
  ASSIGN_OR_RETURN(toml::table root, ParseToml(toml_text, file_name));
  Config scratch = config;
  std::vector<Warning> found;
  ApplyContext ctx{file_name, scratch, found};
  RETURN_IF_ERROR(ApplyTable(root, "", ctx));
  config = std::move(scratch);
  warnings.insert(warnings.end(), found.begin(), found.end());
  return absl::OkStatus();
}

Status LoadFiles(const std::string& main_file, const std::string& drop_in_dir, Config& config,
                 std::vector<Warning>& warnings) {
  Config scratch = config;
  std::vector<Warning> found;
  if (!main_file.empty()) {
    struct stat st;
    if (stat(main_file.c_str(), &st) == 0) {
      RETURN_IF_ERROR(ApplyFile(main_file, scratch, found));
    } else if (errno != ENOENT) {
      return ErrnoError(errno, absl::StrCat("stat ", main_file));
    }
  }
  if (!drop_in_dir.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> files, DropInFiles(drop_in_dir));
    for (const std::string& file : files) {
      RETURN_IF_ERROR(ApplyFile(file, scratch, found));
    }
  }
  ResolveHandlers(scratch);
  config = std::move(scratch);
  warnings.insert(warnings.end(), found.begin(), found.end());
  return absl::OkStatus();
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

Status Validate(const Config& config) {
  RETURN_IF_ERROR(ValidateOptions(config));
  const RuntimeConfig& rt = config.runtime;
  if (rt.runtimes.find(rt.default_runtime) == rt.runtimes.end()) {
    return InvalidArgument(absl::StrCat("default_runtime ", util::QuoteString(rt.default_runtime),
                                        " has no [", std::string(kRuntimesTable), ".",
                                        TomlKey(rt.default_runtime), "] table"));
  }
  for (const auto& [name, handler] : rt.runtimes) {
    RETURN_IF_ERROR(ValidateHandler(name, handler));
  }
  RETURN_IF_ERROR(ValidateStreaming(config.api));
  return Annotate(ValidateMetricsCollectors(config.metrics.metrics_collectors),
                  absl::StrCat(std::string(kMetrics), ".metrics_collectors"));
}

std::span<const std::string_view> MetricsCollectorNames() { return kMetricsCollectors; }

std::string_view StripMetricsCollectorPrefix(std::string_view name) {
  if (name.starts_with("container_runtime_")) name.remove_prefix(sizeof("container_runtime_") - 1);
  if (name.starts_with("crio_")) name.remove_prefix(sizeof("crio_") - 1);
  return name;
}

Status ValidateMetricsCollectors(const std::vector<std::string>& collectors) {
  for (const std::string& collector : collectors) {
    std::string_view name = StripMetricsCollectorPrefix(collector);
    if (std::find(std::begin(kMetricsCollectors), std::end(kMetricsCollectors), name) ==
        std::end(kMetricsCollectors)) {
      return InvalidArgument(absl::StrCat("unknown collector ", util::QuoteString(collector),
                                          "; expected one of ", OneOfList(kMetricsCollectors)));
    }
  }
  return absl::OkStatus();
}

std::string ToToml(const Config& config) {
  std::string out =
      "# crio-cpp configuration, in CRI-O's crio.conf(5) format. Every option is listed with its\n"
      "# effective value. Options marked \"Reloaded on SIGHUP\" change without a restart.\n\n";
  for (const TableInfo& table : kTables) {
    AppendComment(out, table.help);
    absl::StrAppend(&out, "[", std::string(table.name), "]\n\n");
    for (const Option& option : kOptions) {
      if (option.table == table.name) {
        AppendOption(out, option, config, /*with_help=*/true);
      }
    }
    if (table.name == kRuntime) {
      AppendHandlers(out, config.runtime);
      AppendWorkloads(out, config.runtime);
    }
  }
  return out;
}

std::vector<std::string> ApplyReloadable(const Config& fresh, Config& live) {
  std::vector<std::string> changes;
  for (const Option& option : kOptions) {
    if (!option.reloadable) {
      continue;
    }
    FieldRef from = FieldOf(option, fresh);
    FieldRef to = option.field(live);
    std::string before = FormatValue(option.kind, to);
    std::string after = FormatValue(option.kind, from);
    if (before != after) {
      Assign(from, to);
      changes.push_back(absl::StrCat(std::string(option.key), ": ", before, " -> ", after));
    }
  }
  // CRI-O swaps the handler map as a whole when it differs.
  const auto& next = fresh.runtime.runtimes;
  auto& current = live.runtime.runtimes;
  for (const auto& [name, handler] : next) {
    auto it = current.find(name);
    if (it == current.end()) {
      changes.push_back(absl::StrCat("runtimes: added ", util::QuoteString(name)));
    } else if (!(it->second == handler)) {
      changes.push_back(absl::StrCat("runtimes: changed ", util::QuoteString(name)));
    }
  }
  for (const auto& [name, handler] : current) {
    if (next.find(name) == next.end()) {
      changes.push_back(absl::StrCat("runtimes: removed ", util::QuoteString(name)));
    }
  }
  current = next;
  return changes;
}

}  // namespace crio::config
