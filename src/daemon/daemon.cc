#include "daemon/daemon.h"

// Generated CRI headers (through lifecycle/manager.h) must precede <signal.h>: the CRI Signal
// enum's values clash with its macros.
#include "cgroups/systemd_manager.h"
#include "daemon/wipe.h"
#include "lifecycle/manager.h"
#include "metrics/crio_metrics.h"
#include "metrics/process_metrics.h"
#include "metrics/server.h"
#include "os/service_notify.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "network/cni_network.h"
#include "os/unique_fd.h"
#include "server/cri_server.h"
#include "server/streaming_backend.h"
#include "stats/collector.h"
#include "storage/fs_tree.h"
#include "streaming/server.h"
#include "util/build_info.h"
#include "util/log.h"

namespace crio::daemon {

namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(3);

// True when something accepts connections on `path`: another daemon owns it.
bool SocketIsLive(const std::string& path) {
  os::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

Status PrepareSocketPath(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) {
    return Internal(absl::StrCat("create socket directory for ", path, ": ", ec.message()));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return absl::OkStatus();
  }
  if (!S_ISSOCK(st.st_mode)) {
    return FailedPrecondition(absl::StrCat(path, " exists and is not a socket"));
  }
  if (SocketIsLive(path)) {
    return FailedPrecondition(absl::StrCat("another daemon is serving ", path));
  }
  CRIO_LOG_INFO("removing stale socket {}", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove stale socket ", path));
  }
  return absl::OkStatus();
}

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

void ReloadConfig(const Options& options, server::ServiceContext& ctx) {
  CRIO_LOG_INFO("SIGHUP received: reloading configuration");
  if (!options.reload) return;
  auto fresh = options.reload();
  if (!fresh.ok()) {
    CRIO_LOG_ERROR("reload failed, keeping the running configuration: {}",
                   fresh.status().message());
    return;
  }
  auto changes = ctx.Reload(*fresh);
  if (changes.empty()) {
    CRIO_LOG_INFO("reload: no reloadable option changed");
  }
  for (const auto& change : changes) {
    CRIO_LOG_INFO("reload: {}", change);
  }
  metrics::Crio().SetDefaultRuntime(ctx.ConfigSnapshot().runtime.default_runtime);
  if (auto level = log::ParseLevel(ctx.ConfigSnapshot().runtime.log_level); level.ok()) {
    log::SetLevel(*level);
  }
}

}  // namespace

namespace {

image::ImageManagerOptions ImageOptionsFrom(const config::Config& cfg) {
  image::ImageManagerOptions o;
  o.registries_conf = cfg.image.registries_conf;
  // containers/image's override, honoured as CRI-O does through its image library.
  if (const char* env = std::getenv("CONTAINERS_REGISTRIES_CONF"); env && *env) {
    o.registries_conf = env;
  }
  o.registries_conf_dir = cfg.image.registries_conf_dir;
  o.policy_path = cfg.image.signature_policy.empty() ? "/etc/containers/policy.json"
                                                     : cfg.image.signature_policy;
  o.auth_file =
      cfg.image.global_auth_file.empty() ? cfg.image.auth_file : cfg.image.global_auth_file;
  o.certs_dir = cfg.image.certs_dir;
  if (auto mode = image::ParseShortNameMode(cfg.image.short_name_mode); mode.ok()) {
    o.short_name_mode = *mode;
  }
  if (auto timeout = config::ParseGoDuration(cfg.image.pull_progress_timeout); timeout.ok()) {
    o.progress_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  }
  o.pause_image = cfg.image.pause_image;
  o.pinned_images = cfg.image.pinned_images;
  return o;
}

// The shipped pause binary: next to crio (build tree, or an install's libexec).
std::string PauseBinaryPath() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const auto& candidate :
       {self.parent_path() / "pause", self.parent_path().parent_path() / "libexec/crio/pause",
        std::filesystem::path("/usr/libexec/crio/pause")}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

network::CniOptions CniOptionsFrom(const config::Config& cfg) {
  network::CniOptions o;
  o.network_dir = cfg.network.network_dir;
  o.plugin_dirs = cfg.network.plugin_dirs;
  // Debian's containernetworking-plugins install here; searched after the configured dirs.
  constexpr const char* kDebianPluginDir = "/usr/lib/cni";
  bool listed = false;
  for (std::string d : o.plugin_dirs) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    listed = listed || d == kDebianPluginDir;
  }
  if (!listed) o.plugin_dirs.push_back(kDebianPluginDir);
  o.default_network = cfg.network.cni_default_network;
  // The spec's result cache lives with the pod records: both must survive a restart.
  o.cache_dir = cfg.root.root + "/crio-cpp-state/cni";
  return o;
}

// [crio.api] stream_* as the streaming server takes them.
// [crio.metrics]: the CRI-O collectors and process metrics on metrics_host:metrics_port (and
// metrics_socket). Null when metrics are off.
StatusOr<std::unique_ptr<metrics::MetricsServer>> StartMetrics(const config::Config& config) {
  if (!config.metrics.enable_metrics) return std::unique_ptr<metrics::MetricsServer>();
  RETURN_IF_ERROR(metrics::Crio().Configure(metrics::DefaultRegistry(),
                                            {.collectors = config.metrics.metrics_collectors,
                                             .default_runtime = config.runtime.default_runtime}));
  metrics::RegisterProcessCollector(metrics::DefaultRegistry());
  ASSIGN_OR_RETURN(auto server,
                   metrics::MetricsServer::Start(config.metrics, metrics::DefaultRegistry()));
  CRIO_LOG_INFO(
      "metrics on {}:{}{}", config.metrics.metrics_host, server->port(),
      config.metrics.metrics_socket.empty() ? "" : " and " + config.metrics.metrics_socket);
  return server;
}

// [crio.stats]: collection_period (stats_collection_period is its older name) and the writable
// layer walk, which runs off the request path.
stats::CollectorOptions StatsOptionsFrom(const config::StatsConfig& config) {
  stats::CollectorOptions out;
  out.collection_period = std::chrono::seconds(std::max<int64_t>(
      0, config.collection_period > 0 ? config.collection_period : config.stats_collection_period));
  out.measure_layer = [](const std::string& dir) -> StatusOr<stats::LayerUsage> {
    ASSIGN_OR_RETURN(storage::TreeUsage usage, storage::MeasureTree(dir));
    stats::LayerUsage layer;
    layer.bytes = usage.bytes;
    layer.inodes = usage.inodes;
    layer.timestamp_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    return layer;
  };
  return out;
}

StatusOr<streaming::ServerConfig> StreamingConfigFrom(const config::ApiConfig& api) {
  streaming::ServerConfig out;
  if (api.stream_enable_tls) {
    out.tls = http::TlsOptions{api.stream_tls_cert, api.stream_tls_key, api.stream_tls_ca};
  }
  out.address = api.stream_address;
  if (!absl::SimpleAtoi(api.stream_port, &out.port) || out.port < 0 || out.port > 65535) {
    return InvalidArgument(absl::StrCat("stream_port: \"", api.stream_port, "\" is not a port"));
  }
  if (!api.stream_idle_timeout.empty()) {
    auto idle = config::ParseGoDuration(api.stream_idle_timeout);
    if (!idle.ok()) return Annotate(idle.status(), "stream_idle_timeout");
    if (idle->count() > 0) {
      out.session.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*idle);
    }
  }
  return out;
}

}  // namespace

std::string SocketPathFromListen(const std::string& listen) {
  constexpr std::string_view kScheme = "unix://";
  if (listen.rfind(kScheme, 0) == 0) return listen.substr(kScheme.size());
  return listen;
}

Status Run(Options options) {
  os::TakeNotifySocketFromEnvironment();  // before any runtime child could inherit it
  // Signals are taken synchronously by this thread; every thread gRPC starts inherits the mask.
  sigset_t signals = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const std::string socket_path = SocketPathFromListen(options.config.api.listen);
  RETURN_IF_ERROR(PrepareSocketPath(socket_path));

  // internal_wipe: after a reboot (or an upgrade) the old containers (and images) go first.
  if (options.config.root.internal_wipe) {
    WipePlan plan = PlanWipe(options.config, /*force=*/false, /*for_daemon=*/true);
    for (const auto& reason : plan.reasons) CRIO_LOG_INFO("internal wipe: {}", reason);
    ASSIGN_OR_RETURN(int wiped, ExecuteWipe(options.config, plan));
    if (wiped > 0) CRIO_LOG_INFO("internal wipe removed {} containers", wiped);
  }
  RETURN_IF_ERROR(MarkDaemonStarted(options.config));

  storage::StoreOptions store_options;
  store_options.root = options.config.root.root;
  store_options.runroot = options.config.root.runroot;
  store_options.driver = options.config.root.storage_driver;
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store, storage::Store::Open(store_options));
  CRIO_LOG_INFO("storage root={} driver={}", store_options.root, store->driver());
  image::ImageManager images(*store, ImageOptionsFrom(options.config));

  // cgroupfs when systemd is configured but not running (no D-Bus to talk to), with a warning.
  ASSIGN_OR_RETURN(cgroups::ResolvedCgroupManager cgroup_manager,
                   cgroups::ResolveCgroupManager(options.config.runtime.cgroup_manager));
  if (!cgroup_manager.warning.empty()) CRIO_LOG_WARN("{}", cgroup_manager.warning);
  options.config.runtime.cgroup_manager = std::string(cgroup_manager.manager->Name());
  for (const auto& problem : config::RuntimeHostProblems(options.config.runtime)) {
    CRIO_LOG_WARN("{}", problem);
  }

  // The one configuration every component reads per request; SIGHUP replaces it.
  auto live = std::make_shared<config::LiveConfig>(options.config);
  oci::HandlerRegistry handlers(options.config.runtime);
  live->OnReload([&handlers, &images](const config::Config&, const config::Config& next) {
    handlers.Reload(next.runtime);
    images.UpdateOptions(ImageOptionsFrom(next));
  });
  ASSIGN_OR_RETURN(std::unique_ptr<network::CniNetwork> network,
                   network::CniNetwork::Create(CniOptionsFrom(options.config)));
  lifecycle::ManagerDeps deps;
  deps.config = options.config;
  deps.live = live.get();
  deps.store = store.get();
  deps.images = &images;
  deps.handlers = &handlers;
  deps.cgroups = cgroup_manager.manager.get();
  deps.network = network.get();
  deps.state_dir = StateDir(options.config);
  deps.run_dir = RunDir(options.config);
  deps.pause_binary = PauseBinaryPath();
  ASSIGN_OR_RETURN(std::unique_ptr<lifecycle::Manager> lifecycle_manager,
                   lifecycle::Manager::Create(std::move(deps)));
  RETURN_IF_ERROR(lifecycle_manager->Recover());
  {
    // Attachments whose pod record was never written (a crash inside RunPodSandbox).
    std::vector<std::string> live_pods;
    for (const auto& pod : lifecycle_manager->ListPods({})) live_pods.push_back(pod.id());
    if (int released = network->ReleaseOrphans(live_pods); released > 0) {
      CRIO_LOG_INFO("released the CNI attachments of {} pods without a record", released);
    }
  }

  server::StreamingBackend streaming_backend(*lifecycle_manager);
  ASSIGN_OR_RETURN(streaming::ServerConfig streaming_config,
                   StreamingConfigFrom(options.config.api));
  ASSIGN_OR_RETURN(std::unique_ptr<streaming::StreamingServer> streaming_server,
                   streaming::StreamingServer::Start(streaming_config, &streaming_backend));

  stats::Collector stats_collector(cgroup_manager.manager.get(),
                                   StatsOptionsFrom(options.config.stats));

  server::ServiceContext ctx(live);
  ctx.stats = &stats_collector;
  ctx.store = store.get();
  ctx.images = &images;
  ctx.lifecycle = lifecycle_manager.get();
  ctx.network = network.get();
  ctx.streaming = streaming_server.get();
  ASSIGN_OR_RETURN(std::unique_ptr<metrics::MetricsServer> metrics_server,
                   StartMetrics(options.config));
  ASSIGN_OR_RETURN(std::unique_ptr<server::CriServer> server,
                   server::CriServer::Start(ctx, socket_path));
  CRIO_LOG_INFO("crio-cpp {} serving CRI v1 and the inspect endpoints on {} (pid {})",
                build::kVersion, socket_path, ::getpid());

  os::NotifyServiceManager("READY=1\nSTATUS=serving CRI v1");
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      os::NotifyServiceManager("RELOADING=1");
      ReloadConfig(options, ctx);
      os::NotifyServiceManager("READY=1");
      continue;
    }
    os::NotifyServiceManager("STOPPING=1");
    CRIO_LOG_INFO("{} received: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }

  // Open event streams end at once; other in-flight calls get the grace period to finish, new
  // calls are refused.
  lifecycle_manager->events().Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  streaming_server->Stop();  // open sessions end; their containers keep running
  if (metrics_server) metrics_server->Stop();
  if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
    CRIO_LOG_WARN("remove socket {}: {}", socket_path, std::strerror(errno));
  }
  if (Status marked = MarkCleanShutdown(options.config); !marked.ok()) {
    CRIO_LOG_WARN("clean shutdown file: {}", marked.message());
  }
  CRIO_LOG_INFO("shutdown complete");
  return absl::OkStatus();
}

}  // namespace crio::daemon
