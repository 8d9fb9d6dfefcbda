#include "lifecycle/manager.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "container/spec_builder.h"
#include "lifecycle/internal.h"
#include "metrics/crio_metrics.h"
#include "sandbox/namespaces.h"
#include "sandbox/pod_files.h"
#include "util/log.h"
#include "util/rollback.h"

namespace crio::lifecycle {

namespace fs = std::filesystem;
using internal::IsCgroupV2;
using internal::MakeDirs;
using internal::NowNs;
using internal::ReadFileOrEmpty;
using internal::RemoveAll;
using state::ContainerState;
using state::PodState;

namespace {

constexpr int kSigKill = 9;

// The node's hostname, for host-network pods without one of their own.
std::string NodeHostname() {
  char buf[65] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

constexpr int kSigTerm = 15;

int64_t ToNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Status ValidatePodConfig(const v1::PodSandboxConfig& config) {
  if (!config.has_metadata()) return InvalidArgument("config.metadata is required");
  const auto& m = config.metadata();
  if (m.name().empty()) return InvalidArgument("config.metadata.name is required");
  if (m.namespace_().empty()) return InvalidArgument("config.metadata.namespace is required");
  if (m.uid().empty()) return InvalidArgument("config.metadata.uid is required");
  return absl::OkStatus();
}

// Signal number from a CRI/OCI name ("SIGINT", "INT", "2").
int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", 1},   {"INT", 2},     {"QUIT", 3},  {"ILL", 4},     {"TRAP", 5},  {"ABRT", 6},
      {"BUS", 7},   {"FPE", 8},     {"KILL", 9},  {"USR1", 10},   {"SEGV", 11}, {"USR2", 12},
      {"PIPE", 13}, {"ALRM", 14},   {"TERM", 15}, {"STKFLT", 16}, {"CHLD", 17}, {"CONT", 18},
      {"STOP", 19}, {"TSTP", 20},   {"TTIN", 21}, {"TTOU", 22},   {"URG", 23},  {"XCPU", 24},
      {"XFSZ", 25}, {"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28},  {"IO", 29},   {"PWR", 30},
      {"SYS", 31}};
  if (name.empty()) return 0;
  if (std::all_of(name.begin(), name.end(), ::isdigit)) return std::stoi(name);
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  // Real-time signals: RTMIN (34), RTMIN+k, RTMAX (64), RTMAX-k; the proto spells "_PLUS_".
  for (auto& c : n)
    if (c == '_') c = ' ';
  auto rt = [&](const char* base, int value) -> std::optional<int> {
    std::string b = base;
    if (n.rfind(b, 0) != 0) return std::nullopt;
    std::string rest = n.substr(b.size());
    if (rest.empty()) return value;
    int k = 0;
    for (char c : rest)
      if (isdigit(static_cast<unsigned char>(c))) k = k * 10 + (c - '0');
    bool minus = rest.find('-') != std::string::npos || rest.find("MINUS") != std::string::npos;
    return minus ? value - k : value + k;
  };
  if (auto v = rt("RTMIN", 34)) return *v;
  if (auto v = rt("RTMAX", 64)) return *v;
  auto it = kSignals.find(n);
  return it == kSignals.end() ? 0 : it->second;
}

}  // namespace

v1::Signal SignalEnum(int number) {
  static const char* kNames[] = {
      nullptr,     "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS"};
  v1::Signal out = v1::RUNTIME_DEFAULT;
  std::string name;
  if (number > 0 && number < 32) {
    name = kNames[number];
  } else if (number == 34) {
    name = "SIGRTMIN";
  } else if (number > 34 && number < 64) {
    name = number <= 49 ? absl::StrCat("SIGRTMINPLUS", number - 34)
                        : absl::StrCat("SIGRTMAXMINUS", 64 - number);
  } else if (number == 64) {
    name = "SIGRTMAX";
  }
  if (!name.empty()) v1::Signal_Parse(name, &out);
  return out;
}

namespace {

std::string ExitReason(const ContainerState& ctr, bool oom) {
  if (oom) return "OOMKilled";
  return ctr.exit_code() == 0 ? "Completed" : "Error";
}

}  // namespace

std::string NewId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string id(64, '0');
  for (auto& c : id) c = kHex[rng() % 16];
  return id;
}

std::string PodName(const v1::PodSandboxMetadata& m) {
  return absl::StrCat("k8s_POD_", m.name(), "_", m.namespace_(), "_", m.uid(), "_", m.attempt());
}

std::string ContainerName(const v1::ContainerMetadata& c, const v1::PodSandboxMetadata& p) {
  return absl::StrCat("k8s_", c.name(), "_", p.name(), "_", p.namespace_(), "_", p.uid(), "_",
                      c.attempt());
}

bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

Manager::Manager(ManagerDeps deps, std::unique_ptr<state::StateStore> state)
    : deps_(std::move(deps)), state_(std::move(state)) {
  events_.SetDropHook([] { metrics::Crio().RecordEventDropped(); });
}

StatusOr<std::unique_ptr<Manager>> Manager::Create(ManagerDeps deps) {
  RETURN_IF_ERROR(MakeDirs(deps.run_dir + "/pods"));
  RETURN_IF_ERROR(MakeDirs(deps.run_dir + "/containers"));
  RETURN_IF_ERROR(MakeDirs(deps.config.runtime.container_exits_dir));
  ASSIGN_OR_RETURN(auto state, state::StateStore::Open(deps.state_dir));
  std::unique_ptr<Manager> manager(new Manager(std::move(deps), std::move(state)));
  // Before Recover, so that no exit falls between Recover's look and the watch.
  manager->StartExitWatcher();
  return manager;
}

StatusOr<oci::Runtime*> Manager::RuntimeFor(const std::string& handler) {
  auto runtime = deps_.handlers->Get(handler);
  if (runtime.status().code() == absl::StatusCode::kNotFound) {
    return InvalidArgument(absl::StrCat("runtime handler \"", handler,
                                        "\" is not configured ([crio.runtime.runtimes.", handler,
                                        "])"));
  }
  return runtime;
}

// ---------------------------------------------------------------------------------------------
// Pods

StatusOr<std::string> Manager::RunPodSandbox(const v1::PodSandboxConfig& config,
                                             const std::string& runtime_handler) {
  RETURN_IF_ERROR(ValidatePodConfig(config));
  const std::string handler = deps_.handlers->Resolve(runtime_handler);
  RETURN_IF_ERROR(RuntimeFor(handler).status());

  PodState pod;
  pod.set_id(NewId());
  pod.set_name(PodName(config.metadata()));
  *pod.mutable_config() = config;
  pod.set_runtime_handler(handler);
  pod.set_created_at(NowNs());
  pod.set_state(v1::SANDBOX_NOTREADY);
  pod.set_pod_dir(PodDir(pod.id()));

  const auto& ns_options = config.linux().security_context().namespace_options();
  const bool host_network = ns_options.network() == v1::NODE;
  const bool host_ipc = ns_options.ipc() == v1::NODE;
  // A shared pod PID namespace needs a process to hold it: the infra container.
  auto cfg = CurrentConfig();
  const bool needs_infra = ns_options.pid() == v1::POD || !cfg->runtime.drop_infra_ctr;
  if (ns_options.has_userns_options() && ns_options.userns_options().mode() == v1::POD) {
    // Checked on this host (kernel 6.18): runc 1.1 and crun 1.8 run containers in a user
    // namespace, and crun (not runc 1.1) honours idmapped bind mounts, but the pod's pinned
    // net/ipc/uts namespaces belong to the initial user namespace, so the pod's root would not
    // own them; the mappings are refused rather than ignored.
    return FailedPrecondition(
        "user namespaces (userns_options mode POD with uid/gid mappings) are not supported: "
        "the pod's namespaces are not created inside a user namespace and runc 1.1 has no "
        "idmapped mounts for the rootfs");
  }

  RETURN_IF_ERROR(state_->ReserveName(pod.name(), pod.id()));
  util::Rollback rollback;
  rollback.Add("release pod name", [this, name = pod.name()] {
    state_->ReleaseName(name);
    return absl::OkStatus();
  });

  auto lock = state_->LockFor(pod.id());
  std::lock_guard guard(*lock);

  RETURN_IF_ERROR(MakeDirs(pod.pod_dir()));
  rollback.Add("remove pod dir", [dir = pod.pod_dir()] { return RemoveAll(dir); });

  // Pod files: hostname, resolv.conf, hosts.
  std::string hostname =
      sandbox::PodHostname(config.hostname(), pod.id(), host_network, NodeHostname());
  if (Status valid = sandbox::ValidateHostname(hostname); !valid.ok()) {
    return InvalidArgument(absl::StrCat("PodSandboxConfig.hostname: ", valid.message()));
  }
  RETURN_IF_ERROR(sandbox::WriteHostnameFile(pod.pod_dir(), hostname));
  sandbox::DnsConfig dns;
  for (const auto& s : config.dns_config().servers()) dns.servers.push_back(s);
  for (const auto& s : config.dns_config().searches()) dns.searches.push_back(s);
  for (const auto& s : config.dns_config().options()) dns.options.push_back(s);
  RETURN_IF_ERROR(sandbox::WriteResolvConf(pod.pod_dir(), dns));
  RETURN_IF_ERROR(sandbox::WriteHostsFile(pod.pod_dir(), hostname));

  if (!host_ipc) {
    ASSIGN_OR_RETURN(std::string shm, sandbox::MountShm(pod.pod_dir()));
    pod.set_shm_path(shm);
    rollback.Add("unmount shm", [shm] { return sandbox::UnmountShm(shm); });
  }

  // Namespaces, pinned as files so they outlive any process (no infra container needed).
  sandbox::PinRequest pin;
  pin.namespaces_dir = deps_.config.runtime.namespaces_dir;
  pin.pod_id = pod.id();
  pin.net = !host_network;
  pin.ipc = !host_ipc;
  pin.uts = !host_network;
  // Only namespaced sysctls: anything else would be written to the host.
  ASSIGN_OR_RETURN(auto sysctls,
                   container::PodSysctls(config, cfg->runtime, host_network, host_ipc));
  for (const auto& [k, v] : sysctls) pin.sysctls.emplace_back(k, v);
  if (pin.net || pin.ipc || pin.uts) {
    ASSIGN_OR_RETURN(sandbox::PinnedNamespaces pinned, sandbox::PinNamespaces(pin));
    pod.set_netns_path(pinned.net_path);
    pod.set_ipcns_path(pinned.ipc_path);
    pod.set_utsns_path(pinned.uts_path);
    rollback.Add("unpin namespaces", [pinned] { return sandbox::UnpinNamespaces(pinned); });
  }

  // Pod cgroup.
  ASSIGN_OR_RETURN(std::string cgroup,
                   deps_.cgroups->CreatePodCgroup(config.linux().cgroup_parent(), pod.id()));
  pod.set_cgroup_path(cgroup);
  rollback.Add("remove pod cgroup", [this, cgroup] { return deps_.cgroups->RemoveCgroup(cgroup); });

  // Network (CNI) once the namespaces exist; host-network pods skip it.
  if (!host_network) {
    ASSIGN_OR_RETURN(std::vector<std::string> ips, deps_.network->SetUpPod(pod));
    for (const auto& ip : ips) pod.add_ips(ip);
    rollback.Add("tear down network", [this, pod] { return deps_.network->TearDownPod(pod); });
    if (!ips.empty()) RETURN_IF_ERROR(sandbox::WriteHostsFile(pod.pod_dir(), hostname, ips));
  }

  if (needs_infra) {
    RETURN_IF_ERROR(StartInfraContainer(pod));
    rollback.Add("remove infra container", [this, pod] { return RemoveInfraContainer(pod); });
  }

  pod.set_state(v1::SANDBOX_READY);
  RETURN_IF_ERROR(state_->PutPod(pod));
  rollback.Dismiss();
  CRIO_LOG_INFO("pod={} name={} handler={} ready", pod.id(), pod.name(), handler);
  // As CRI-O, for the kubelet's evented PLEG: the sandbox as a "container" named by the pod id.
  PublishPodEvent(v1::CONTAINER_CREATED_EVENT, pod);
  PublishPodEvent(v1::CONTAINER_STARTED_EVENT, pod);
  return pod.id();
}

Status Manager::StopPodLocked(PodState& pod) {
  for (auto ctr : state_->ContainersOfPod(pod.id())) {
    auto lock = state_->LockFor(ctr.id());
    std::lock_guard guard(*lock);
    auto fresh = state_->GetContainer(ctr.id());
    if (!fresh) continue;
    ContainerState c = *fresh;
    RETURN_IF_ERROR(Annotate(StopContainerLocked(c, 0), absl::StrCat("stop container ", c.id())));
  }
  if (!pod.infra_container_id().empty()) {
    ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(pod.runtime_handler()));
    Status killed = runtime->KillContainer(pod.infra_container_id(), kSigKill, true);
    if (!killed.ok() && !absl::IsNotFound(killed) && !absl::IsFailedPrecondition(killed)) {
      return Annotate(killed, "stop infra container");
    }
  }
  if (!pod.netns_path().empty() || pod.ips_size() > 0) {
    RETURN_IF_ERROR(deps_.network->TearDownPod(pod));
  }
  sandbox::PinnedNamespaces pins{pod.netns_path(), pod.ipcns_path(), pod.utsns_path(), ""};
  RETURN_IF_ERROR(sandbox::UnpinNamespaces(pins));
  if (!pod.shm_path().empty()) RETURN_IF_ERROR(sandbox::UnmountShm(pod.shm_path()));
  if (pod.state() != v1::SANDBOX_NOTREADY) {
    pod.set_state(v1::SANDBOX_NOTREADY);
    RETURN_IF_ERROR(state_->PutPod(pod));
    CRIO_LOG_INFO("pod={} stopped", pod.id());
    PublishPodEvent(v1::CONTAINER_STOPPED_EVENT, pod);  // once: only on the transition
  }
  return absl::OkStatus();
}

Status Manager::StopPodSandbox(const std::string& pod_id) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolvePodId(pod_id));
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  auto pod = state_->GetPod(id);
  if (!pod) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  return StopPodLocked(*pod);
}

Status Manager::RemovePodSandbox(const std::string& pod_id) {
  auto resolved = state_->ResolvePodId(pod_id);
  // CRI: removing a pod that is already gone is not an error.
  if (resolved.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(resolved.status());
  const std::string id = *resolved;
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  auto pod = state_->GetPod(id);
  if (!pod) return absl::OkStatus();
  RETURN_IF_ERROR(StopPodLocked(*pod));
  for (const auto& ctr : state_->ContainersOfPod(id)) {
    auto ctr_lock = state_->LockFor(ctr.id());
    std::lock_guard ctr_guard(*ctr_lock);
    RETURN_IF_ERROR(RemoveContainerLocked(ctr));
  }
  RETURN_IF_ERROR(RemoveInfraContainer(*pod));
  if (!pod->cgroup_path().empty()) {
    RETURN_IF_ERROR(deps_.cgroups->RemoveCgroup(pod->cgroup_path()));
  }
  RETURN_IF_ERROR(RemoveAll(pod->pod_dir()));
  RETURN_IF_ERROR(state_->DeletePod(id));
  state_->ReleaseName(pod->name());
  CRIO_LOG_INFO("pod={} removed", id);
  PublishPodEvent(v1::CONTAINER_DELETED_EVENT, *pod);
  return absl::OkStatus();
}

StatusOr<PodState> Manager::PodStatus(const std::string& pod_id) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolvePodId(pod_id));
  auto pod = state_->GetPod(id);
  if (!pod) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  return *pod;
}

std::vector<PodState> Manager::ListPods(const PodFilter& filter) {
  std::vector<PodState> out;
  for (auto& pod : state_->ListPods()) {
    if (!filter.id.empty() && pod.id().rfind(filter.id, 0) != 0) continue;
    if (filter.state && pod.state() != *filter.state) continue;
    if (!LabelsMatch(pod.config().labels(), filter.labels)) continue;
    out.push_back(std::move(pod));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Containers

StatusOr<std::string> Manager::CreateContainer(const std::string& pod_id,
                                               const v1::ContainerConfig& config,
                                               const v1::PodSandboxConfig& sandbox_config) {
  if (!config.has_metadata() || config.metadata().name().empty()) {
    return InvalidArgument("config.metadata.name is required");
  }
  if (config.image().image().empty()) return InvalidArgument("config.image.image is required");
  ASSIGN_OR_RETURN(std::string resolved_pod, state_->ResolvePodId(pod_id));
  auto pod_opt = state_->GetPod(resolved_pod);
  if (!pod_opt) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  const PodState pod = *pod_opt;
  if (pod.state() != v1::SANDBOX_READY) {
    return FailedPrecondition(absl::StrCat("pod sandbox ", pod.id(), " is not ready"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(pod.runtime_handler()));
  auto image = deps_.images->Inspect(config.image().image());
  if (image.status().code() == absl::StatusCode::kNotFound) {
    return NotFound(
        absl::StrCat("image \"", config.image().image(), "\" not known; pull it first"));
  }
  RETURN_IF_ERROR(image.status());

  ContainerState ctr;
  ctr.set_id(NewId());
  ctr.set_pod_id(pod.id());
  *ctr.mutable_config() = config;
  ctr.set_name(ContainerName(config.metadata(), pod.config().metadata()));
  ctr.set_state(v1::CONTAINER_CREATED);
  ctr.set_created_at(NowNs());
  ctr.set_image_id(image->id);
  ctr.set_image_name(config.image().image());
  ctr.set_image_ref(image->repo_digests.empty() ? image->id : image->repo_digests.front());
  ctr.set_runtime_handler(pod.runtime_handler());
  ctr.set_bundle(BundleDir(ctr.id()));
  ctr.set_persist_dir(PersistDir(ctr.id()));
  if (!config.log_path().empty()) {
    const std::string& dir = pod.config().log_directory();
    ctr.set_log_path(dir.empty() ? config.log_path() : dir + "/" + config.log_path());
  }
  // The container's own stop_signal wins over the image's StopSignal; SIGTERM otherwise.
  int stop_signal = config.stop_signal() != v1::RUNTIME_DEFAULT
                        ? SignalNumber(v1::Signal_Name(config.stop_signal()))
                        : SignalNumber(image->config.config.stop_signal);
  ctr.set_stop_signal(stop_signal > 0 ? stop_signal : kSigTerm);

  RETURN_IF_ERROR(state_->ReserveName(ctr.name(), ctr.id()));
  util::Rollback rollback;
  rollback.Add("release container name", [this, name = ctr.name()] {
    state_->ReleaseName(name);
    return absl::OkStatus();
  });
  auto lock = state_->LockFor(ctr.id());
  std::lock_guard guard(*lock);

  // Writable layer and rootfs.
  ASSIGN_OR_RETURN(storage::ContainerLayer layer,
                   deps_.store->CreateContainerLayer(ctr.id(), image->id, "crio-cpp"));
  rollback.Add("remove container layer",
               [this, id = ctr.id()] { return deps_.store->RemoveContainerLayer(id); });
  ASSIGN_OR_RETURN(std::string rootfs, deps_.store->Mount(ctr.id(), ""));
  ctr.set_rootfs(rootfs);

  RETURN_IF_ERROR(MakeDirs(ctr.bundle()));
  rollback.Add("remove bundle", [dir = ctr.bundle()] { return RemoveAll(dir); });
  RETURN_IF_ERROR(MakeDirs(ctr.persist_dir()));
  rollback.Add("remove persist dir", [dir = ctr.persist_dir()] { return RemoveAll(dir); });
  if (!ctr.log_path().empty()) {
    RETURN_IF_ERROR(MakeDirs(fs::path(ctr.log_path()).parent_path().string()));
  }

  auto cfg = CurrentConfig();
  const std::string& cgroup_parent = pod.config().linux().cgroup_parent();
  ASSIGN_OR_RETURN(std::string cgroup_path,
                   deps_.cgroups->ContainerCgroupPath(cgroup_parent, ctr.id()));
  ctr.set_cgroup_path(cgroup_path);

  container::SpecInputs in;
  in.container_id = ctr.id();
  in.config = &ctr.config();
  in.sandbox = &sandbox_config;
  if (!sandbox_config.has_metadata()) in.sandbox = &pod.config();
  in.image = &image->config;
  in.rootfs = rootfs;
  in.pod = internal::PodResourcesOf(pod);
  in.pod.hostname = ReadFileOrEmpty(pod.pod_dir() + "/hostname");
  if (!in.pod.hostname.empty() && in.pod.hostname.back() == '\n') in.pod.hostname.pop_back();
  in.pod.cgroup_parent = cgroup_parent;
  in.runtime = &cfg->runtime;
  ASSIGN_OR_RETURN(in.cgroups_path, deps_.cgroups->OciCgroupsPath(cgroup_parent, ctr.id()));
  in.etc_passwd = ReadFileOrEmpty(rootfs + "/etc/passwd");
  in.etc_group = ReadFileOrEmpty(rootfs + "/etc/group");
  in.cgroup_v2 = IsCgroupV2();
  in.image_volumes = cfg->image.image_volumes;
  in.image_volume_dir = ctr.bundle() + "/volumes";
  const auto& ctr_ns = config.linux().security_context().namespace_options();
  if (ctr_ns.pid() == v1::TARGET) {  // join a running container's PID namespace
    ASSIGN_OR_RETURN(std::string target, state_->ResolveContainerId(ctr_ns.target_id()));
    auto target_ctr = state_->GetContainer(target);
    if (!target_ctr || target_ctr->state() != v1::CONTAINER_RUNNING || target_ctr->pid() <= 0) {
      return FailedPrecondition(absl::StrCat("target container ", target, " is not running"));
    }
    in.target_pidns_path = absl::StrCat("/proc/", target_ctr->pid(), "/ns/pid");
  }
  ASSIGN_OR_RETURN(nlohmann::json spec, container::BuildSpec(in));
  RETURN_IF_ERROR(ApplySpecExtensions(spec, ctr.config(), ctr.id()));
  RETURN_IF_ERROR(container::PrepareRootfs(
      rootfs, spec["process"].value("cwd", "/"), image->config.config.volumes,
      cfg->image.image_volumes, spec["process"]["user"].value("uid", 0u),
      spec["process"]["user"].value("gid", 0u), in.image_volume_dir));
  RETURN_IF_ERROR(state::WriteFileAtomic(ctr.bundle() + "/config.json", spec.dump()));

  oci::CreateRequest req;
  req.id = ctr.id();
  req.name = ctr.name();
  req.bundle = ctr.bundle();
  req.persist_dir = ctr.persist_dir();
  req.log_path = ctr.log_path().empty() ? ctr.bundle() + "/ctr.log" : ctr.log_path();
  req.tty = config.tty();
  req.open_stdin = config.stdin();
  req.stdin_once = config.stdin_once();
  req.no_pivot = cfg->runtime.no_pivot;
  req.log_size_max = cfg->runtime.log_size_max;
  auto handler_cfg = cfg->runtime.runtimes.find(pod.runtime_handler());
  int64_t create_timeout = handler_cfg != cfg->runtime.runtimes.end()
                               ? handler_cfg->second.container_create_timeout
                               : 240;
  req.timeout = std::chrono::seconds(create_timeout);
  req.place_monitor = MonitorPlacement(pod, ctr.id());
  ASSIGN_OR_RETURN(int pid, runtime->CreateContainer(req));
  ctr.set_pid(pid);
  rollback.Add("delete runtime container",
               [runtime, id = ctr.id()] { return runtime->DeleteContainer(id, true); });

  RETURN_IF_ERROR(state_->PutContainer(ctr));
  rollback.Dismiss();
  CRIO_LOG_INFO("container={} pod={} name={} image={} created", ctr.id(), pod.id(), ctr.name(),
                ctr.image_name());
  PublishContainerEvent(v1::CONTAINER_CREATED_EVENT, ctr);
  return ctr.id();
}

std::function<Status(pid_t)> Manager::MonitorPlacement(const PodState& pod,
                                                       const std::string& container_id) const {
  auto cfg = CurrentConfig();
  auto handler = cfg->runtime.runtimes.find(pod.runtime_handler());
  std::string monitor_cgroup =
      handler != cfg->runtime.runtimes.end() ? handler->second.monitor_cgroup : "";
  return [cgroups = deps_.cgroups, parent = pod.config().linux().cgroup_parent(), container_id,
          monitor_cgroup](pid_t pid) {
    return cgroups->PlaceMonitor(pid, parent, container_id, monitor_cgroup);
  };
}

std::shared_ptr<const config::Config> Manager::CurrentConfig() const {
  if (deps_.live != nullptr) return deps_.live->Get();
  // No reloads: the start-up configuration, owned by deps_ (an aliasing, non-owning pointer).
  return std::shared_ptr<const config::Config>(std::shared_ptr<void>(), &deps_.config);
}

StatusOr<std::string> Manager::PodCgroupOf(const PodState& pod) const {
  return deps_.cgroups->PodCgroupPath(pod.config().linux().cgroup_parent());
}

Status Manager::StartContainer(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolveContainerId(id_or_prefix));
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  auto ctr = state_->GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  if (ctr->state() != v1::CONTAINER_CREATED) {
    return FailedPrecondition(absl::StrCat("container ", id, " is ",
                                           v1::ContainerState_Name(ctr->state()),
                                           ", not CONTAINER_CREATED"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr->runtime_handler()));
  // Taken before the start: a short-lived process may exit (finished_at) before Start returns.
  const int64_t started_at = NowNs();
  RETURN_IF_ERROR(runtime->StartContainer(id));
  ctr->set_state(v1::CONTAINER_RUNNING);
  ctr->set_started_at(started_at);
  RETURN_IF_ERROR(state_->PutContainer(*ctr));
  CRIO_LOG_INFO("container={} pod={} started", id, ctr->pod_id());
  PublishContainerEvent(v1::CONTAINER_STARTED_EVENT, *ctr);
  return absl::OkStatus();
}

ContainerState Manager::Refresh(ContainerState ctr) {
  if (ctr.state() != v1::CONTAINER_RUNNING && ctr.state() != v1::CONTAINER_CREATED) return ctr;
  auto runtime = RuntimeFor(ctr.runtime_handler());
  if (!runtime.ok()) return ctr;
  auto exit = (*runtime)->ReadExit(ctr.id());
  if (!exit.ok() || !exit->has_value()) return ctr;
  if (ctr.state() == v1::CONTAINER_CREATED) {
    // conmon writes an exit file when a created container is killed before it started.
  }
  ctr.set_state(v1::CONTAINER_EXITED);
  ctr.set_exit_code((*exit)->exit_code);
  ctr.set_finished_at(ToNs((*exit)->finished));
  auto oom = (*runtime)->WasOomKilled(ctr.id());
  ctr.set_reason(ExitReason(ctr, oom.ok() && *oom));
  if (oom.ok() && *oom) metrics::Crio().RecordOom(ctr.name());
  ctr.set_pid(0);
  Status st = state_->PutContainer(ctr);
  if (!st.ok()) CRIO_LOG_WARN("container={}: persist exit: {}", ctr.id(), st.message());
  CRIO_LOG_INFO("container={} pod={} exited code={} reason={}", ctr.id(), ctr.pod_id(),
                ctr.exit_code(), ctr.reason());
  PublishContainerEvent(v1::CONTAINER_STOPPED_EVENT, ctr);
  return ctr;
}

std::optional<ContainerState> Manager::RefreshListed(ContainerState listed) {
  if (listed.state() != v1::CONTAINER_RUNNING && listed.state() != v1::CONTAINER_CREATED) {
    return listed;
  }
  // Recording an exit under the container's lock keeps it (and its STOPPED event) unique.
  auto lock = state_->LockFor(listed.id());
  std::unique_lock guard(*lock, std::try_to_lock);
  if (!guard.owns_lock()) return listed;
  auto fresh = state_->GetContainer(listed.id());
  if (!fresh) return std::nullopt;
  return Refresh(*std::move(fresh));
}

Status Manager::StopContainerLocked(ContainerState& ctr, int64_t timeout_seconds) {
  ctr = Refresh(ctr);
  if (ctr.state() == v1::CONTAINER_EXITED) return absl::OkStatus();
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  ThawIfPaused(*runtime, ctr.id());
  // Polls the exit file: every millisecond at first (a killed container is usually gone within
  // a few), then every 10 ms so that a long grace period costs little.
  auto wait_exit = [&](std::chrono::milliseconds budget) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + budget;
    do {
      ctr = Refresh(ctr);
      if (ctr.state() == v1::CONTAINER_EXITED) return true;
      const bool early = std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(early ? 1 : 10));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  };
  if (timeout_seconds > 0) {
    Status st =
        runtime->KillContainer(ctr.id(), ctr.stop_signal() ? ctr.stop_signal() : kSigTerm, false);
    if (st.ok() && wait_exit(std::chrono::seconds(timeout_seconds))) return absl::OkStatus();
  }
  Status killed = runtime->KillContainer(ctr.id(), kSigKill, true);
  if (!killed.ok() && killed.code() != absl::StatusCode::kFailedPrecondition &&
      killed.code() != absl::StatusCode::kNotFound) {
    return killed;
  }
  if (!wait_exit(std::chrono::seconds(10))) {
    return DeadlineExceeded(absl::StrCat("container ", ctr.id(), " did not exit after SIGKILL"));
  }
  CRIO_LOG_INFO("container={} pod={} stopped", ctr.id(), ctr.pod_id());
  return absl::OkStatus();
}

Status Manager::StopContainer(const std::string& id_or_prefix, int64_t timeout_seconds) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolveContainerId(id_or_prefix));
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  auto ctr = state_->GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  return StopContainerLocked(*ctr, timeout_seconds);
}

Status Manager::RemoveContainerLocked(const ContainerState& ctr_in) {
  ContainerState ctr = ctr_in;
  RETURN_IF_ERROR(StopContainerLocked(ctr, 0));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  RETURN_IF_ERROR(runtime->DeleteContainer(ctr.id(), true));
  RETURN_IF_ERROR(deps_.store->RemoveContainerLayer(ctr.id()));
  RETURN_IF_ERROR(RemoveAll(ctr.bundle()));
  RETURN_IF_ERROR(RemoveAll(ctr.persist_dir()));
  RETURN_IF_ERROR(state_->DeleteContainer(ctr.id()));
  state_->ReleaseName(ctr.name());
  CRIO_LOG_INFO("container={} pod={} removed", ctr.id(), ctr.pod_id());
  PublishContainerEvent(v1::CONTAINER_DELETED_EVENT, ctr);
  return absl::OkStatus();
}

Status Manager::RemoveContainer(const std::string& id_or_prefix) {
  auto resolved = state_->ResolveContainerId(id_or_prefix);
  // CRI: removing a container that is already gone is not an error.
  if (resolved.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(resolved.status());
  auto lock = state_->LockFor(*resolved);
  std::lock_guard guard(*lock);
  auto ctr = state_->GetContainer(*resolved);
  if (!ctr) return absl::OkStatus();
  return RemoveContainerLocked(*ctr);
}

StatusOr<ContainerState> Manager::ContainerStatus(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolveContainerId(id_or_prefix));
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  auto ctr = state_->GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  return Refresh(*ctr);
}

std::vector<ContainerState> Manager::ListContainers(const ContainerFilter& filter) {
  std::vector<ContainerState> out;
  for (auto& listed : state_->ListContainers()) {
    if (!filter.id.empty() && listed.id().rfind(filter.id, 0) != 0) continue;
    if (!filter.pod_id.empty() && listed.pod_id().rfind(filter.pod_id, 0) != 0) continue;
    if (!LabelsMatch(listed.config().labels(), filter.labels)) continue;
    std::optional<ContainerState> ctr = filter.refresh_exits || !exit_watcher_
                                            ? RefreshListed(std::move(listed))
                                            : std::optional<ContainerState>(std::move(listed));
    if (!ctr) continue;  // removed meanwhile
    if (filter.state && ctr->state() != *filter.state) continue;
    out.push_back(*std::move(ctr));
  }
  return out;
}

StatusOr<oci::ExecSyncResult> Manager::ExecSync(const std::string& id_or_prefix,
                                                const std::vector<std::string>& cmd,
                                                int64_t timeout_seconds) {
  if (cmd.empty()) return InvalidArgument("cmd: a command is required");
  ASSIGN_OR_RETURN(ContainerState ctr, ContainerStatus(id_or_prefix));
  if (ctr.state() != v1::CONTAINER_RUNNING) {
    return FailedPrecondition(absl::StrCat("container ", ctr.id(), " is not running"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  return runtime->ExecSync(ctr.id(), cmd,
                           std::chrono::seconds(std::max<int64_t>(0, timeout_seconds)), false);
}

StatusOr<ContainerState> Manager::RunningContainer(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(ContainerState ctr, ContainerStatus(id_or_prefix));
  if (ctr.state() != v1::CONTAINER_RUNNING) {
    return FailedPrecondition(absl::StrCat("container ", ctr.id(), " is not running"));
  }
  return ctr;
}

StatusOr<std::unique_ptr<oci::ExecProcess>> Manager::StartExec(const std::string& id_or_prefix,
                                                               const std::vector<std::string>& cmd,
                                                               bool tty) {
  if (cmd.empty()) return InvalidArgument("cmd: a command is required");
  ASSIGN_OR_RETURN(ContainerState ctr, RunningContainer(id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  return runtime->StartExec(ctr.id(), cmd, tty);
}

StatusOr<oci::AttachEndpoint> Manager::AttachEndpoint(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(ContainerState ctr, RunningContainer(id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  return runtime->Attach(ctr.id());
}

StatusOr<std::string> Manager::PodNetworkNamespace(const std::string& pod_id) {
  ASSIGN_OR_RETURN(PodState pod, PodStatus(pod_id));
  if (pod.state() != v1::SANDBOX_READY) {
    return FailedPrecondition(absl::StrCat("pod sandbox ", pod.id(), " is not ready"));
  }
  return pod.netns_path();
}

StatusOr<ContainerState> Manager::RunningContainerLocked(const std::string& id,
                                                         const std::string& asked) {
  auto ctr = state_->GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", asked, " not found"));
  ContainerState current = Refresh(*ctr);
  if (current.state() != v1::CONTAINER_RUNNING) {
    return FailedPrecondition(absl::StrCat("container ", id, " is not running"));
  }
  return current;
}

Status Manager::PauseContainer(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolveContainerId(id_or_prefix));
  auto lock = state_->LockFor(id);  // not in the middle of a stop
  std::lock_guard guard(*lock);
  ASSIGN_OR_RETURN(ContainerState ctr, RunningContainerLocked(id, id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  RETURN_IF_ERROR(runtime->PauseContainer(ctr.id()));
  std::lock_guard paused_guard(paused_mu_);
  paused_.insert(ctr.id());
  return absl::OkStatus();
}

Status Manager::ResumeContainer(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, state_->ResolveContainerId(id_or_prefix));
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  ASSIGN_OR_RETURN(ContainerState ctr, RunningContainerLocked(id, id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  RETURN_IF_ERROR(runtime->ResumeContainer(ctr.id()));
  std::lock_guard paused_guard(paused_mu_);
  paused_.erase(ctr.id());
  return absl::OkStatus();
}

void Manager::ThawIfPaused(oci::Runtime& runtime, const std::string& id) {
  {
    std::lock_guard paused_guard(paused_mu_);
    if (paused_.erase(id) == 0) return;
  }
  // A frozen process handles no signal (on cgroup v1 not even SIGKILL) until thawed.
  Status resumed = runtime.ResumeContainer(id);
  CRIO_LOG_INFO("container={}: thawed before stopping{}", id,
                resumed.ok() ? "" : absl::StrCat(": ", resumed.message()));
}

Status Manager::ReopenContainerLog(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(ContainerState ctr, ContainerStatus(id_or_prefix));
  if (ctr.state() != v1::CONTAINER_RUNNING) {
    return FailedPrecondition(absl::StrCat("container ", ctr.id(), " is not running"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, RuntimeFor(ctr.runtime_handler()));
  return runtime->ReopenLog(ctr.id());
}

// ---------------------------------------------------------------------------------------------
// Restart recovery

Status Manager::Recover() {
  int running = 0, exited = 0, dropped = 0;
  std::set<std::string> known;
  for (auto ctr : state_->ListContainers()) {
    known.insert(ctr.id());
    // The exit watcher runs already and may record the same exit.
    auto lock = state_->LockFor(ctr.id());
    std::lock_guard guard(*lock);
    auto runtime = RuntimeFor(ctr.runtime_handler());
    if (!runtime.ok()) continue;
    oci::ContainerDirs dirs{ctr.bundle(), ctr.persist_dir(), ctr.log_path()};
    (void)(*runtime)->Track(ctr.id(), dirs);
    if (ctr.state() == v1::CONTAINER_EXITED) continue;
    ctr = Refresh(ctr);
    if (ctr.state() == v1::CONTAINER_EXITED) {
      ++exited;
      continue;
    }
    auto st = (*runtime)->State(ctr.id());
    // Paused (frozen through the inspect endpoint) is alive too.
    if (st.ok() && (st->status == "running" || st->status == "created" || st->status == "paused")) {
      ++running;
      continue;
    }
    // The runtime lost it (e.g. a reboot) and no exit was recorded: report it as exited.
    ctr.set_state(v1::CONTAINER_EXITED);
    ctr.set_exit_code(255);
    ctr.set_reason("Error");
    ctr.set_message("container was lost while crio was not running");
    ctr.set_finished_at(NowNs());
    (void)state_->PutContainer(ctr);
    PublishContainerEvent(v1::CONTAINER_STOPPED_EVENT, ctr);
    ++dropped;
  }
  for (const auto& pod : state_->ListPods()) {
    if (pod.infra_container_id().empty()) continue;
    auto runtime = RuntimeFor(pod.runtime_handler());
    if (runtime.ok()) {
      (void)(*runtime)->Track(pod.infra_container_id(),
                              oci::ContainerDirs{pod.infra_bundle(), pod.infra_bundle(), ""});
    }
  }
  RemoveOrphanInfraLayers();
  // Writable layers without a container record are leftovers of an interrupted create.
  for (const auto& layer : deps_.store->ListContainerLayers()) {
    if (layer.metadata == "crio-cpp" && !known.count(layer.id)) {
      CRIO_LOG_WARN("container={}: removing leftover of an interrupted create", layer.id);
      (void)deps_.store->RemoveContainerLayer(layer.id);
      (void)RemoveAll(BundleDir(layer.id));
      (void)RemoveAll(PersistDir(layer.id));
    }
  }
  CRIO_LOG_INFO("recovered {} pods, {} containers ({} running, {} exited while down, {} lost)",
                state_->ListPods().size(), known.size(), running, exited, dropped);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Events and the exit watcher

void Manager::PublishContainerEvent(v1::ContainerEventType type, const ContainerState& ctr) {
  ContainerEvent event;
  event.type = type;
  event.container_id = ctr.id();
  event.created_at = NowNs();
  if (auto pod = state_->GetPod(ctr.pod_id())) {
    event.pod = *std::move(pod);
  } else {
    event.pod.set_id(ctr.pod_id());
  }
  event.containers = state_->ContainersOfPod(ctr.pod_id());
  // `ctr` as the caller has it: a removed container keeps its last status in its DELETED event.
  auto it = std::find_if(event.containers.begin(), event.containers.end(),
                         [&](const ContainerState& c) { return c.id() == ctr.id(); });
  if (it != event.containers.end()) {
    *it = ctr;
  } else {
    event.containers.push_back(ctr);
  }
  events_.Publish(std::move(event));
}

void Manager::PublishPodEvent(v1::ContainerEventType type, const PodState& pod) {
  ContainerEvent event;
  event.type = type;
  event.container_id = pod.id();
  event.created_at = NowNs();
  event.pod = pod;
  event.containers = state_->ContainersOfPod(pod.id());
  events_.Publish(std::move(event));
}

void Manager::StartExitWatcher() {
  const std::string& dir = deps_.config.runtime.container_exits_dir;
  auto watcher = FileArrivalWatcher::Start(
      dir, [this](const std::string& id) { OnExitFile(id); }, [this] { RescanExits(); });
  if (!watcher.ok()) {
    CRIO_LOG_WARN("cannot watch {} ({}): exits are noticed only when a request looks", dir,
                  watcher.status());
    return;
  }
  exit_watcher_ = *std::move(watcher);
}

void Manager::OnExitFile(const std::string& id) {
  if (state_->GetContainer(id)) {
    RefreshById(id);
  } else if (auto pod = state_->GetPod(id); pod && pod->infra_container_id() == id) {
    OnInfraExit(id);
  }
  // Anything else is a removed container's late file or conmon's temp file.
}

void Manager::RescanExits() {
  for (const auto& ctr : state_->ListContainers()) {
    if (ctr.state() == v1::CONTAINER_RUNNING || ctr.state() == v1::CONTAINER_CREATED) {
      RefreshById(ctr.id());
    }
  }
  for (const auto& pod : state_->ListPods()) {
    if (pod.state() == v1::SANDBOX_READY && !pod.infra_container_id().empty()) {
      OnInfraExit(pod.id());
    }
  }
}

void Manager::RefreshById(const std::string& id) {
  auto lock = state_->LockFor(id);
  std::lock_guard guard(*lock);
  if (auto ctr = state_->GetContainer(id)) (void)Refresh(*std::move(ctr));
}

void Manager::OnInfraExit(const std::string& pod_id) {
  auto lock = state_->LockFor(pod_id);
  std::lock_guard guard(*lock);
  auto pod = state_->GetPod(pod_id);
  // StopPodSandbox kills the infra container itself, holding this lock; it leaves it NOTREADY.
  if (!pod || pod->state() != v1::SANDBOX_READY || pod->infra_container_id().empty()) return;
  auto runtime = RuntimeFor(pod->runtime_handler());
  if (!runtime.ok()) return;
  auto exit = (*runtime)->ReadExit(pod->infra_container_id());
  if (!exit.ok() || !exit->has_value()) return;
  CRIO_LOG_WARN("pod={}: infra container exited with code {}: the pod is not ready", pod_id,
                (*exit)->exit_code);
  pod->set_state(v1::SANDBOX_NOTREADY);
  if (Status st = state_->PutPod(*pod); !st.ok()) {
    CRIO_LOG_WARN("pod={}: persist infra exit: {}", pod_id, st.message());
  }
  PublishPodEvent(v1::CONTAINER_STOPPED_EVENT, *pod);
}

}  // namespace crio::lifecycle
