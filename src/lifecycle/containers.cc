#include "lifecycle/containers.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "container/spec_builder.h"
#include "lifecycle/internal.h"
#include "lifecycle/naming.h"
#include "metrics/crio_metrics.h"
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
constexpr int kSigTerm = 15;

int64_t ToNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string ExitReason(const ContainerState& ctr, bool oom) {
  if (oom) return "OOMKilled";
  return ctr.exit_code() == 0 ? "Completed" : "Error";
}

}  // namespace

StatusOr<std::string> Containers::Create(const std::string& pod_id,
                                         const v1::ContainerConfig& config,
                                         const v1::PodSandboxConfig& sandbox_config) {
  if (!config.has_metadata() || config.metadata().name().empty()) {
    return InvalidArgument("config.metadata.name is required");
  }
  if (config.image().image().empty()) return InvalidArgument("config.image.image is required");
  ASSIGN_OR_RETURN(std::string resolved_pod, ctx_.state().ResolvePodId(pod_id));
  auto pod_opt = ctx_.state().GetPod(resolved_pod);
  if (!pod_opt) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  const PodState pod = *pod_opt;
  if (pod.state() != v1::SANDBOX_READY) {
    return FailedPrecondition(absl::StrCat("pod sandbox ", pod.id(), " is not ready"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(pod.runtime_handler()));
  auto image = ctx_.deps().images->Inspect(config.image().image());
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
  ctr.set_bundle(ctx_.BundleDir(ctr.id()));
  ctr.set_persist_dir(ctx_.PersistDir(ctr.id()));
  if (!config.log_path().empty()) {
    const std::string& dir = pod.config().log_directory();
    ctr.set_log_path(dir.empty() ? config.log_path() : dir + "/" + config.log_path());
  }
  // The container's own stop_signal wins over the image's StopSignal; SIGTERM otherwise.
  int stop_signal = config.stop_signal() != v1::RUNTIME_DEFAULT
                        ? SignalNumber(v1::Signal_Name(config.stop_signal()))
                        : SignalNumber(image->config.config.stop_signal);
  ctr.set_stop_signal(stop_signal > 0 ? stop_signal : kSigTerm);

  RETURN_IF_ERROR(ctx_.state().ReserveName(ctr.name(), ctr.id()));
  util::Rollback rollback;
  rollback.Add("release container name", [this, name = ctr.name()] {
    ctx_.state().ReleaseName(name);
    return absl::OkStatus();
  });
  auto lock = ctx_.state().LockFor(ctr.id());
  std::lock_guard guard(*lock);

  // Writable layer and rootfs.
  ASSIGN_OR_RETURN(storage::ContainerLayer layer,
                   ctx_.deps().store->CreateContainerLayer(ctr.id(), image->id, "crio-cpp"));
  rollback.Add("remove container layer",
               [this, id = ctr.id()] { return ctx_.deps().store->RemoveContainerLayer(id); });
  ASSIGN_OR_RETURN(std::string rootfs, ctx_.deps().store->Mount(ctr.id(), ""));
  ctr.set_rootfs(rootfs);

  RETURN_IF_ERROR(MakeDirs(ctr.bundle()));
  rollback.Add("remove bundle", [dir = ctr.bundle()] { return RemoveAll(dir); });
  RETURN_IF_ERROR(MakeDirs(ctr.persist_dir()));
  rollback.Add("remove persist dir", [dir = ctr.persist_dir()] { return RemoveAll(dir); });
  if (!ctr.log_path().empty()) {
    RETURN_IF_ERROR(MakeDirs(fs::path(ctr.log_path()).parent_path().string()));
  }

  auto cfg = ctx_.CurrentConfig();
  const std::string& cgroup_parent = pod.config().linux().cgroup_parent();
  ASSIGN_OR_RETURN(std::string cgroup_path,
                   ctx_.deps().cgroups->ContainerCgroupPath(cgroup_parent, ctr.id()));
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
  ASSIGN_OR_RETURN(in.cgroups_path, ctx_.deps().cgroups->OciCgroupsPath(cgroup_parent, ctr.id()));
  in.etc_passwd = ReadFileOrEmpty(rootfs + "/etc/passwd");
  in.etc_group = ReadFileOrEmpty(rootfs + "/etc/group");
  in.cgroup_v2 = IsCgroupV2();
  in.image_volumes = cfg->image.image_volumes;
  in.image_volume_dir = ctr.bundle() + "/volumes";
  const auto& ctr_ns = config.linux().security_context().namespace_options();
  if (ctr_ns.pid() == v1::TARGET) {  // join a running container's PID namespace
    ASSIGN_OR_RETURN(std::string target, ctx_.state().ResolveContainerId(ctr_ns.target_id()));
    auto target_ctr = ctx_.state().GetContainer(target);
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
  req.place_monitor = ctx_.MonitorPlacement(pod, ctr.id());
  ASSIGN_OR_RETURN(int pid, runtime->CreateContainer(req));
  ctr.set_pid(pid);
  rollback.Add("delete runtime container",
               [runtime, id = ctr.id()] { return runtime->DeleteContainer(id, true); });

  RETURN_IF_ERROR(ctx_.state().PutContainer(ctr));
  rollback.Dismiss();
  CRIO_LOG_INFO("container={} pod={} name={} image={} created", ctr.id(), pod.id(), ctr.name(),
                ctr.image_name());
  ctx_.PublishContainerEvent(v1::CONTAINER_CREATED_EVENT, ctr);
  return ctr.id();
}

Status Containers::Start(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolveContainerId(id_or_prefix));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto ctr = ctx_.state().GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  if (ctr->state() != v1::CONTAINER_CREATED) {
    return FailedPrecondition(absl::StrCat("container ", id, " is ",
                                           v1::ContainerState_Name(ctr->state()),
                                           ", not CONTAINER_CREATED"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr->runtime_handler()));
  // Taken before the start: a short-lived process may exit (finished_at) before Start returns.
  const int64_t started_at = NowNs();
  RETURN_IF_ERROR(runtime->StartContainer(id));
  ctr->set_state(v1::CONTAINER_RUNNING);
  ctr->set_started_at(started_at);
  RETURN_IF_ERROR(ctx_.state().PutContainer(*ctr));
  CRIO_LOG_INFO("container={} pod={} started", id, ctr->pod_id());
  ctx_.PublishContainerEvent(v1::CONTAINER_STARTED_EVENT, *ctr);
  return absl::OkStatus();
}

ContainerState Containers::Refresh(ContainerState ctr) {
  if (ctr.state() != v1::CONTAINER_RUNNING && ctr.state() != v1::CONTAINER_CREATED) return ctr;
  auto runtime = ctx_.RuntimeFor(ctr.runtime_handler());
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
  Status st = ctx_.state().PutContainer(ctr);
  if (!st.ok()) CRIO_LOG_WARN("container={}: persist exit: {}", ctr.id(), st.message());
  CRIO_LOG_INFO("container={} pod={} exited code={} reason={}", ctr.id(), ctr.pod_id(),
                ctr.exit_code(), ctr.reason());
  ctx_.PublishContainerEvent(v1::CONTAINER_STOPPED_EVENT, ctr);
  return ctr;
}

std::optional<ContainerState> Containers::RefreshListed(ContainerState listed) {
  if (listed.state() != v1::CONTAINER_RUNNING && listed.state() != v1::CONTAINER_CREATED) {
    return listed;
  }
  // Recording an exit under the container's lock keeps it (and its STOPPED event) unique.
  auto lock = ctx_.state().LockFor(listed.id());
  std::unique_lock guard(*lock, std::try_to_lock);
  if (!guard.owns_lock()) return listed;
  auto fresh = ctx_.state().GetContainer(listed.id());
  if (!fresh) return std::nullopt;
  return Refresh(*std::move(fresh));
}

Status Containers::StopLocked(ContainerState& ctr, int64_t timeout_seconds) {
  ctr = Refresh(ctr);
  if (ctr.state() == v1::CONTAINER_EXITED) return absl::OkStatus();
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
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

Status Containers::Stop(const std::string& id_or_prefix, int64_t timeout_seconds) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolveContainerId(id_or_prefix));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto ctr = ctx_.state().GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  return StopLocked(*ctr, timeout_seconds);
}

Status Containers::RemoveLocked(const ContainerState& ctr_in) {
  ContainerState ctr = ctr_in;
  RETURN_IF_ERROR(StopLocked(ctr, 0));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  RETURN_IF_ERROR(runtime->DeleteContainer(ctr.id(), true));
  RETURN_IF_ERROR(ctx_.deps().store->RemoveContainerLayer(ctr.id()));
  RETURN_IF_ERROR(RemoveAll(ctr.bundle()));
  RETURN_IF_ERROR(RemoveAll(ctr.persist_dir()));
  RETURN_IF_ERROR(ctx_.state().DeleteContainer(ctr.id()));
  ctx_.state().ReleaseName(ctr.name());
  CRIO_LOG_INFO("container={} pod={} removed", ctr.id(), ctr.pod_id());
  ctx_.PublishContainerEvent(v1::CONTAINER_DELETED_EVENT, ctr);
  return absl::OkStatus();
}

Status Containers::Remove(const std::string& id_or_prefix) {
  auto resolved = ctx_.state().ResolveContainerId(id_or_prefix);
  // CRI: removing a container that is already gone is not an error.
  if (resolved.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(resolved.status());
  auto lock = ctx_.state().LockFor(*resolved);
  std::lock_guard guard(*lock);
  auto ctr = ctx_.state().GetContainer(*resolved);
  if (!ctr) return absl::OkStatus();
  return RemoveLocked(*ctr);
}

StatusOr<ContainerState> Containers::StatusOf(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolveContainerId(id_or_prefix));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto ctr = ctx_.state().GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  return Refresh(*ctr);
}

std::vector<ContainerState> Containers::List(const ContainerFilter& filter) {
  std::vector<ContainerState> out;
  for (auto& listed : ctx_.state().ListContainers()) {
    if (!filter.id.empty() && listed.id().rfind(filter.id, 0) != 0) continue;
    if (!filter.pod_id.empty() && listed.pod_id().rfind(filter.pod_id, 0) != 0) continue;
    if (!LabelsMatch(listed.config().labels(), filter.labels)) continue;
    std::optional<ContainerState> ctr = filter.refresh_exits || !ctx_.exits_watched()
                                            ? RefreshListed(std::move(listed))
                                            : std::optional<ContainerState>(std::move(listed));
    if (!ctr) continue;  // removed meanwhile
    if (filter.state && ctr->state() != *filter.state) continue;
    out.push_back(*std::move(ctr));
  }
  return out;
}

StatusOr<ContainerState> Containers::RunningLocked(const std::string& id,
                                                   const std::string& asked) {
  auto ctr = ctx_.state().GetContainer(id);
  if (!ctr) return NotFound(absl::StrCat("container ", asked, " not found"));
  ContainerState current = Refresh(*ctr);
  if (current.state() != v1::CONTAINER_RUNNING) {
    return FailedPrecondition(absl::StrCat("container ", id, " is not running"));
  }
  return current;
}

Status Containers::Pause(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolveContainerId(id_or_prefix));
  auto lock = ctx_.state().LockFor(id);  // not in the middle of a stop
  std::lock_guard guard(*lock);
  ASSIGN_OR_RETURN(ContainerState ctr, RunningLocked(id, id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  RETURN_IF_ERROR(runtime->PauseContainer(ctr.id()));
  std::lock_guard paused_guard(paused_mu_);
  paused_.insert(ctr.id());
  return absl::OkStatus();
}

Status Containers::Resume(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolveContainerId(id_or_prefix));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  ASSIGN_OR_RETURN(ContainerState ctr, RunningLocked(id, id_or_prefix));
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  RETURN_IF_ERROR(runtime->ResumeContainer(ctr.id()));
  std::lock_guard paused_guard(paused_mu_);
  paused_.erase(ctr.id());
  return absl::OkStatus();
}

void Containers::ThawIfPaused(oci::Runtime& runtime, const std::string& id) {
  {
    std::lock_guard paused_guard(paused_mu_);
    if (paused_.erase(id) == 0) return;
  }
  // A frozen process handles no signal (on cgroup v1 not even SIGKILL) until thawed.
  Status resumed = runtime.ResumeContainer(id);
  CRIO_LOG_INFO("container={}: thawed before stopping{}", id,
                resumed.ok() ? "" : absl::StrCat(": ", resumed.message()));
}

void Containers::RefreshById(const std::string& id) {
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  if (auto ctr = ctx_.state().GetContainer(id)) (void)Refresh(*std::move(ctr));
}

}  // namespace crio::lifecycle
