// The option table: one descriptor per crio.conf option (table, key, type, field, value rules,
// reloadability, help). Everything else in src/config is driven by it, so adding an option is
// one entry here. This file is long because the table is: one block per option, in CRI-O's
// order, reads and diffs better than any split of it.

#include "config/options.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_join.h"
#include "util/log.h"

namespace crio::config::config_internal {
namespace {

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

}  // namespace

std::span<const TableInfo> Tables() { return kTables; }

std::span<const Option> Options() { return kOptions; }

std::span<const HandlerOption> HandlerOptions() { return kHandlerOptions; }

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

std::string OneOfList(std::span<const std::string_view> allowed) {
  std::vector<std::string> quoted;
  for (std::string_view value : allowed) {
    quoted.push_back(util::QuoteString(value));
  }
  return absl::StrJoin(quoted, ", ");
}

}  // namespace crio::config::config_internal
