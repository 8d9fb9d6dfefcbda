#include "network/cni_network.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "network/cni_exec.h"
#include "network/cni_result.h"
#include "util/log.h"

namespace crio::network {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kStatusCacheFor = std::chrono::seconds(5);
constexpr auto kStatusTimeout = std::chrono::seconds(5);

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

CniVersion VersionOf(const NetworkConfigList& list) {
  auto v = ParseCniVersion(list.cni_version);
  return v.ok() ? *v : CniVersion{1, 0, 0};
}

std::string ProtocolName(::runtime::v1::Protocol p) {
  switch (p) {
    case ::runtime::v1::UDP:
      return "udp";
    case ::runtime::v1::SCTP:
      return "sctp";
    default:
      return "tcp";
  }
}

std::string PluginType(const json& plugin) { return plugin.value("type", ""); }

bool PathExists(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), F_OK) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Arguments

std::string PodCniArgs(const state::PodState& pod) {
  const auto& md = pod.config().metadata();
  return absl::StrCat("IgnoreUnknown=1;K8S_POD_NAMESPACE=", md.namespace_(),
                      ";K8S_POD_NAME=", md.name(), ";K8S_POD_INFRA_CONTAINER_ID=", pod.id(),
                      ";K8S_POD_UID=", md.uid());
}

StatusOr<uint64_t> ParseQuantity(const std::string& text) {
  size_t i = 0;
  uint64_t whole = 0;
  double frac = 0, scale = 0.1;
  bool digits = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
    digits = true;
    if (whole > (1ULL << 50)) return InvalidArgument("quantity too large: " + text);
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10) {
      frac += (text[i] - '0') * scale;
      digits = true;
    }
  }
  if (!digits) return InvalidArgument("invalid quantity \"" + text + "\"");
  const std::string suffix = text.substr(i);
  double mult = 1;
  if (suffix.empty())
    mult = 1;
  else if (suffix == "k")
    mult = 1e3;
  else if (suffix == "M")
    mult = 1e6;
  else if (suffix == "G")
    mult = 1e9;
  else if (suffix == "T")
    mult = 1e12;
  else if (suffix == "Ki")
    mult = 1024.0;
  else if (suffix == "Mi")
    mult = 1024.0 * 1024;
  else if (suffix == "Gi")
    mult = 1024.0 * 1024 * 1024;
  else if (suffix == "Ti")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return InvalidArgument("invalid quantity suffix in \"" + text + "\"");
  return static_cast<uint64_t>((static_cast<double>(whole) + frac) * mult);
}

json PodCapabilityArgs(const state::PodState& pod, const std::string& pod_cidr) {
  const auto& config = pod.config();
  json caps = json::object();
  json ports = json::array();
  for (const auto& pm : config.port_mappings()) {
    if (pm.host_port() <= 0) continue;  // only host ports need the portmap plugin
    json entry = {{"hostPort", pm.host_port()},
                  {"containerPort", pm.container_port()},
                  {"protocol", ProtocolName(pm.protocol())}};
    if (!pm.host_ip().empty()) entry["hostIP"] = pm.host_ip();
    ports.push_back(std::move(entry));
  }
  if (!ports.empty()) caps["portMappings"] = std::move(ports);
  const auto& dns = config.dns_config();
  if (dns.servers_size() + dns.searches_size() + dns.options_size() > 0) {
    caps["dns"] = {
        {"servers", json(std::vector<std::string>(dns.servers().begin(), dns.servers().end()))},
        {"searches", json(std::vector<std::string>(dns.searches().begin(), dns.searches().end()))},
        {"options", json(std::vector<std::string>(dns.options().begin(), dns.options().end()))}};
  }
  if (!pod_cidr.empty()) {
    json ranges = json::array();
    for (absl::string_view cidr : absl::StrSplit(pod_cidr, ',', absl::SkipWhitespace())) {
      cidr = absl::StripAsciiWhitespace(cidr);
      ranges.push_back(json::array({{{"subnet", std::string(cidr)}}}));
    }
    caps["ipRanges"] = std::move(ranges);
  }
  json bandwidth = json::object();
  for (const auto& [annotation, key] : {std::pair{"kubernetes.io/ingress-bandwidth", "ingress"},
                                        std::pair{"kubernetes.io/egress-bandwidth", "egress"}}) {
    auto it = config.annotations().find(std::string(annotation));
    if (it == config.annotations().end()) continue;
    auto rate = ParseQuantity(it->second);
    if (!rate.ok()) {
      CRIO_LOG_WARN("pod={} ignoring {}: {}", pod.id(), annotation, rate.status().message());
      continue;
    }
    bandwidth[absl::StrCat(key, "Rate")] = *rate;
    bandwidth[absl::StrCat(key, "Burst")] = INT32_MAX;  // what the kubelet's CNI code offered
  }
  if (!bandwidth.empty()) caps["bandwidth"] = std::move(bandwidth);
  if (!pod.cgroup_path().empty()) caps["cgroupPath"] = pod.cgroup_path();
  return caps;
}

json PluginStdin(const NetworkConfigList& list, const json& plugin, const json& prev_result,
                 const json& capability_args) {
  json conf = plugin;
  conf["name"] = list.name;
  conf["cniVersion"] = list.cni_version;
  if (!prev_result.is_null()) conf["prevResult"] = prev_result;
  json runtime_config = json::object();
  if (auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
    for (const auto& [cap, enabled] : caps->items()) {
      if (enabled.is_boolean() && enabled.get<bool>() && capability_args.contains(cap)) {
        runtime_config[cap] = capability_args[cap];
      }
    }
  }
  if (!runtime_config.empty()) conf["runtimeConfig"] = std::move(runtime_config);
  return conf;
}

// ---------------------------------------------------------------------------------------------
// CniNetwork

CniNetwork::CniNetwork(CniOptions options)
    : options_(std::move(options)), cache_(options_.cache_dir) {}

StatusOr<std::unique_ptr<CniNetwork>> CniNetwork::Create(CniOptions options) {
  std::unique_ptr<CniNetwork> net(new CniNetwork(std::move(options)));
  net->Reload();
  if (!net->options_.watch) return net;
  net->inotify_fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!net->inotify_fd_) return ErrnoError(errno, "inotify_init1");
  net->stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!net->stop_fd_) return ErrnoError(errno, "eventfd");
  net->watcher_ = std::thread([raw = net.get()] { raw->WatchLoop(); });
  return net;
}

CniNetwork::~CniNetwork() {
  if (watcher_.joinable()) {
    uint64_t one = 1;
    if (::write(stop_fd_.get(), &one, sizeof one) < 0) {
      CRIO_LOG_WARN("CNI watcher stop: {}", std::strerror(errno));
    }
    watcher_.join();
  }
}

void CniNetwork::WatchLoop() {
  constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                             IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF;
  int wd = -1;
  for (;;) {
    if (wd < 0) {
      wd = ::inotify_add_watch(inotify_fd_.get(), options_.network_dir.c_str(), kMask);
      if (wd >= 0) Reload();  // the directory (re)appeared: pick up what it holds
    }
    pollfd fds[2] = {{inotify_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    // Without a watch (no directory yet) poll once a second for it to appear.
    int n = ::poll(fds, 2, wd < 0 ? 1000 : -1);
    if (n < 0 && errno != EINTR) {
      CRIO_LOG_ERROR("CNI watcher poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & POLLIN)) continue;
    alignas(inotify_event) char buf[4096];
    bool lost_watch = false;
    for (;;) {
      ssize_t len = ::read(inotify_fd_.get(), buf, sizeof buf);
      if (len <= 0) break;
      for (char* p = buf; p < buf + len;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) lost_watch = true;
        p += sizeof(inotify_event) + ev->len;
      }
    }
    if (lost_watch && wd >= 0) {
      ::inotify_rm_watch(inotify_fd_.get(), wd);
      wd = -1;
    }
    Reload();
  }
}

void CniNetwork::Reload() {
  Discovery found = DiscoverNetwork(options_.network_dir, options_.default_network);
  std::lock_guard lock(mu_);
  // Each bad file is reported once, not on every re-read.
  if (found.warnings != last_warnings_) {
    for (const auto& w : found.warnings) CRIO_LOG_WARN("{}", w);
    last_warnings_ = found.warnings;
  }
  const std::string before = current_ ? current_->source + "|" + current_->ToJson().dump() : "";
  const std::string after =
      found.found ? found.network.source + "|" + found.network.ToJson().dump() : "";
  if (found.found) {
    current_ = std::move(found.network);
    discovery_error_.clear();
  } else {
    current_.reset();
    discovery_error_ = found.error;
  }
  status_checked_ = {};
  if (before != after) {
    if (current_) {
      CRIO_LOG_INFO("CNI network \"{}\" (cniVersion {}) from {} is the default network",
                    current_->name, current_->cni_version, current_->source);
    } else {
      CRIO_LOG_WARN("CNI: {}", discovery_error_);
    }
  }
}

std::optional<NetworkConfigList> CniNetwork::CurrentNetwork() const {
  std::lock_guard lock(mu_);
  return current_;
}

void CniNetwork::SetPodCidr(const std::string& cidr) {
  std::lock_guard lock(mu_);
  pod_cidr_ = cidr;
}

Status CniNetwork::CheckPluginsPresent(const NetworkConfigList& list) const {
  for (const auto& plugin : list.plugins) {
    RETURN_IF_ERROR(FindPlugin(PluginType(plugin), options_.plugin_dirs).status());
  }
  return absl::OkStatus();
}

lifecycle::NetworkReadiness CniNetwork::Readiness() {
  // While not ready, look again now rather than wait for the watcher: a config written just
  // before this call must count (the re-read is a readdir and a few small files).
  if (!CurrentNetwork()) Reload();
  std::optional<NetworkConfigList> list;
  {
    std::lock_guard lock(mu_);
    if (!current_) {
      return {false, "NetworkPluginNotReady",
              absl::StrCat("Network plugin returns error: ", discovery_error_)};
    }
    list = current_;
  }
  if (Status present = CheckPluginsPresent(*list); !present.ok()) {
    return {false, "NetworkPluginNotReady",
            absl::StrCat("Network plugin returns error: network \"", list->name,
                         "\": ", present.message())};
  }
  // STATUS exists from CNI 1.1.0 on; older plugins are ready when their config is valid.
  if (VersionOf(*list) < CniVersion{1, 1, 0}) return {};
  std::string error;
  {
    std::lock_guard lock(mu_);
    if (status_for_ == list->name && Clock::now() - status_checked_ < kStatusCacheFor) {
      error = status_error_;
      if (error.empty()) return {};
      return {false, "NetworkPluginNotReady", error};
    }
  }
  Status st = StatusList(*list);
  error = st.ok() ? "" : absl::StrCat("Network plugin returns error: ", st.message());
  {
    std::lock_guard lock(mu_);
    status_for_ = list->name;
    status_checked_ = Clock::now();
    status_error_ = error;
  }
  if (error.empty()) return {};
  return {false, "NetworkPluginNotReady", error};
}

StatusOr<std::string> CniNetwork::RunPlugin(const std::string& command,
                                            const NetworkConfigList& list, const json& plugin,
                                            const Attachment& att, const json& prev_result) {
  PluginCall call;
  call.command = command;
  ASSIGN_OR_RETURN(call.plugin_path, FindPlugin(PluginType(plugin), options_.plugin_dirs));
  call.container_id = att.container_id;
  call.netns = att.netns;
  call.ifname = att.ifname;
  call.cni_args = att.cni_args;
  call.plugin_dirs = options_.plugin_dirs;
  call.stdin_data = PluginStdin(list, plugin, prev_result, att.capability_args).dump();
  call.timeout = options_.plugin_timeout;
  return ExecPlugin(call);
}

StatusOr<json> CniNetwork::AddList(const NetworkConfigList& list, const Attachment& att) {
  // prevResult chaining exists from 0.3.0 on; before that each plugin stands alone.
  const bool chain = VersionOf(list) >= CniVersion{0, 3, 0};
  json prev;
  for (const auto& plugin : list.plugins) {
    ASSIGN_OR_RETURN(std::string out, RunPlugin("ADD", list, plugin, att, chain ? prev : json()));
    auto parsed = ParseResult(out);
    if (!parsed.ok()) {
      return Internal(absl::StrCat("plugin ", PluginType(plugin),
                                   " ADD returned an invalid result: ", parsed.status().message()));
    }
    json raw = json::parse(out, nullptr, false);
    // Results travel in the list's version; a plugin answering in another one is converted.
    prev = raw.value("cniVersion", "") == list.cni_version
               ? raw
               : ResultToJson(*parsed, list.cni_version);
  }
  return prev;
}

Status CniNetwork::DelList(const NetworkConfigList& list, const Attachment& att,
                           const json& cached_result) {
  // DEL gets the cached result as prevResult from 0.4.0 on.
  const bool with_prev = VersionOf(list) >= CniVersion{0, 4, 0};
  Status first = absl::OkStatus();
  // Every plugin is asked even when one fails, so one broken plugin does not leak what the
  // others allocated (IPAM addresses, veths, iptables rules).
  for (auto it = list.plugins.rbegin(); it != list.plugins.rend(); ++it) {
    auto out = RunPlugin("DEL", list, *it, att, with_prev ? cached_result : json());
    if (!out.ok() && first.ok()) first = out.status();
  }
  return first;
}

Status CniNetwork::CheckList(const NetworkConfigList& list, const Attachment& att,
                             const json& cached_result) {
  if (VersionOf(list) < CniVersion{0, 4, 0} || list.disable_check) return absl::OkStatus();
  if (cached_result.is_null()) {
    return FailedPrecondition(absl::StrCat("no cached result for ", att.container_id));
  }
  for (const auto& plugin : list.plugins) {
    RETURN_IF_ERROR(RunPlugin("CHECK", list, plugin, att, cached_result).status());
  }
  return absl::OkStatus();
}

Status CniNetwork::StatusList(const NetworkConfigList& list) {
  for (const auto& plugin : list.plugins) {
    PluginCall call;
    call.command = "STATUS";
    ASSIGN_OR_RETURN(call.plugin_path, FindPlugin(PluginType(plugin), options_.plugin_dirs));
    call.plugin_dirs = options_.plugin_dirs;
    call.stdin_data = PluginStdin(list, plugin, json(), json::object()).dump();
    call.timeout = std::min<std::chrono::milliseconds>(options_.plugin_timeout, kStatusTimeout);
    RETURN_IF_ERROR(ExecPlugin(call).status());
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> CniNetwork::SetUpPod(const state::PodState& pod) {
  if (!CurrentNetwork()) Reload();  // a config written just now counts, as in Readiness()
  std::optional<NetworkConfigList> list;
  std::string cidr;
  {
    std::lock_guard lock(mu_);
    if (!current_) {
      // The kubelet starts no pod network while NetworkReady is false; other CRI clients get a
      // loopback-only pod, as before CNI existed here, rather than a failure.
      CRIO_LOG_WARN("pod={} gets loopback only: {}", pod.id(), discovery_error_);
      return std::vector<std::string>{};
    }
    list = current_;
    cidr = pod_cidr_;
  }
  if (Status present = CheckPluginsPresent(*list); !present.ok()) {
    return FailedPrecondition(
        absl::StrCat("network \"", list->name, "\" not ready: ", present.message()));
  }
  const auto start = Clock::now();
  CacheEntry entry;
  entry.network_name = list->name;
  entry.container_id = pod.id();
  entry.ifname = options_.ifname;
  entry.netns = pod.netns_path();
  entry.cni_args = PodCniArgs(pod);
  entry.config = list->ToJson();
  entry.capability_args = PodCapabilityArgs(pod, cidr);
  // Written before ADD: a crash in the middle still leaves what DEL needs.
  RETURN_IF_ERROR(Annotate(cache_.Put(entry), "CNI cache"));
  Attachment att{pod.id(), pod.netns_path(), options_.ifname, entry.cni_args,
                 entry.capability_args};

  auto result = AddList(*list, att);
  std::vector<std::string> ips;
  Status failed = result.status();
  if (failed.ok()) {
    auto parsed = ParseResult(result->dump());
    if (parsed.ok()) {
      ips = PodIps(*parsed);
      entry.result = *result;
      failed = Annotate(cache_.Put(entry), "CNI cache");
    } else {
      failed = parsed.status();
    }
  }
  if (!failed.ok()) {
    Status undone = DelList(*list, att, result.ok() ? *result : json());
    if (undone.ok()) {
      if (Status rm = cache_.Remove(entry.network_name, entry.container_id, entry.ifname);
          !rm.ok()) {
        CRIO_LOG_WARN("pod={} CNI cache: {}", pod.id(), rm.message());
      }
    } else {
      CRIO_LOG_WARN("pod={} network={} rollback DEL failed (kept in the cache for a later DEL): {}",
                    pod.id(), list->name, undone.message());
    }
    CRIO_LOG_WARN("pod={} network={} CNI ADD failed after {}ms: {}", pod.id(), list->name,
                  MillisSince(start), failed.message());
    return Annotate(failed, absl::StrCat("set up network \"", list->name, "\" for pod ", pod.id()));
  }
  CRIO_LOG_INFO("pod={} network={} CNI ADD ips=[{}] took {}ms", pod.id(), list->name,
                absl::StrJoin(ips, ","), MillisSince(start));
  return ips;
}

Status CniNetwork::TearDownEntry(const CacheEntry& entry, const std::string& pod_id) {
  const auto start = Clock::now();
  auto list = ParseConfigList(entry.config.dump());
  if (!list.ok()) {
    return Annotate(list.status(), absl::StrCat("cached CNI config of pod ", pod_id));
  }
  // A netns that is already gone is passed as empty: plugins then release what they can.
  Attachment att{entry.container_id, PathExists(entry.netns) ? entry.netns : "", entry.ifname,
                 entry.cni_args, entry.capability_args};
  Status del = DelList(*list, att, entry.result);
  if (!del.ok()) {
    CRIO_LOG_WARN("pod={} network={} CNI DEL failed after {}ms: {}", pod_id, list->name,
                  MillisSince(start), del.message());
    return Annotate(del, absl::StrCat("tear down network \"", list->name, "\" of pod ", pod_id));
  }
  RETURN_IF_ERROR(cache_.Remove(entry.network_name, entry.container_id, entry.ifname));
  std::vector<std::string> ips;
  if (auto parsed = ParseResult(entry.result.dump()); parsed.ok()) ips = PodIps(*parsed);
  CRIO_LOG_INFO("pod={} network={} CNI DEL ips=[{}] took {}ms", pod_id, list->name,
                absl::StrJoin(ips, ","), MillisSince(start));
  return absl::OkStatus();
}

Status CniNetwork::TearDownPod(const state::PodState& pod) {
  Status first = absl::OkStatus();
  for (const auto& entry : cache_.ForContainer(pod.id())) {
    Status st = TearDownEntry(entry, pod.id());
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

int CniNetwork::ReleaseOrphans(const std::vector<std::string>& live_pod_ids) {
  int released = 0;
  for (const auto& entry : cache_.All()) {
    if (std::find(live_pod_ids.begin(), live_pod_ids.end(), entry.container_id) !=
        live_pod_ids.end()) {
      continue;
    }
    Status st = TearDownEntry(entry, entry.container_id);
    if (st.ok()) {
      ++released;
    } else {
      CRIO_LOG_WARN("CNI orphan {}: {}", entry.container_id, st.message());
    }
  }
  return released;
}

Status CniNetwork::CheckPod(const state::PodState& pod) {
  for (const auto& entry : cache_.ForContainer(pod.id())) {
    ASSIGN_OR_RETURN(NetworkConfigList list, ParseConfigList(entry.config.dump()));
    Attachment att{entry.container_id, entry.netns, entry.ifname, entry.cni_args,
                   entry.capability_args};
    RETURN_IF_ERROR(Annotate(CheckList(list, att, entry.result),
                             absl::StrCat("check network \"", list.name, "\" of pod ", pod.id())));
  }
  return absl::OkStatus();
}

}  // namespace crio::network
