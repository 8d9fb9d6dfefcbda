// The pod's infra (pause) container, needed when the pod shares one PID namespace or when
// drop_infra_ctr is false. Its rootfs comes from `pause_image` when that image is in the store;
// otherwise from the pause binary shipped with crio, so pods start offline. A missing pause
// image is pulled in the background, never on the pod-start path.
#include "lifecycle/pods.h"

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <set>

#include "container/spec_builder.h"
#include "lifecycle/internal.h"
#include "state/state_store.h"
#include "util/log.h"
#include "util/rollback.h"

namespace crio::lifecycle {

namespace fs = std::filesystem;
using internal::IsCgroupV2;
using internal::MakeDirs;
using internal::RemoveAll;
using state::PodState;

namespace {

// Store metadata that marks a writable layer as an infra container's rootfs.
constexpr char kInfraLayerMetadata[] = "crio-cpp-infra";
// After a failed pull of pause_image, how long pods use the shipped pause binary before the
// next attempt.
constexpr auto kPausePullRetryInterval = std::chrono::minutes(5);

}  // namespace

// Where the infra container's root filesystem comes from.
struct Pods::InfraRootfs {
  std::string path;
  std::string pause_command;  // "" runs the image's Entrypoint + Cmd
  std::optional<image::ImageConfig> image_config;
  std::string image;  // the pause image used, or "" for the shipped binary
};

StatusOr<Pods::InfraRootfs> Pods::PrepareInfraRootfs(const PodState& pod,
                                                     const std::string& bundle) {
  const std::string pause_image = ctx_.CurrentConfig()->image.pause_image;
  if (!pause_image.empty()) {
    auto image = ctx_.deps().images->Inspect(pause_image);
    if (image.ok()) return MountPauseImage(pod, *image);
    if (image.status().code() != absl::StatusCode::kNotFound) return image.status();
    PullPauseImageInBackground();
  }
  return CopyShippedPause(bundle);
}

StatusOr<Pods::InfraRootfs> Pods::MountPauseImage(const PodState& pod,
                                                  const image::ImageInfo& image) {
  const std::string& infra_id = pod.id();
  RETURN_IF_ERROR(
      ctx_.deps().store->CreateContainerLayer(infra_id, image.id, kInfraLayerMetadata).status());
  auto rootfs = ctx_.deps().store->Mount(infra_id, "");
  if (!rootfs.ok()) {
    (void)ctx_.deps().store->RemoveContainerLayer(infra_id);
    return Annotate(rootfs.status(), "mount pause image");
  }
  auto cfg = ctx_.CurrentConfig();
  return InfraRootfs{*rootfs, cfg->image.pause_command, image.config, cfg->image.pause_image};
}

StatusOr<Pods::InfraRootfs> Pods::CopyShippedPause(const std::string& bundle) {
  if (ctx_.deps().pause_binary.empty() || ::access(ctx_.deps().pause_binary.c_str(), X_OK) != 0) {
    return FailedPrecondition(
        absl::StrCat("the pod needs an infra container but the pause binary \"",
                     ctx_.deps().pause_binary, "\" is missing"));
  }
  const std::string rootfs = bundle + "/rootfs";
  RETURN_IF_ERROR(MakeDirs(rootfs));
  std::error_code ec;
  fs::copy_file(ctx_.deps().pause_binary, rootfs + "/pause", fs::copy_options::overwrite_existing,
                ec);
  if (ec) return Internal(absl::StrCat("copy pause binary: ", ec.message()));
  return InfraRootfs{rootfs, "/pause", std::nullopt, ""};
}

void Pods::PullPauseImageInBackground() {
  std::lock_guard guard(pause_mu_);
  if (pause_pull_running_ || std::chrono::steady_clock::now() < pause_retry_after_) return;
  pause_pull_running_ = true;
  const std::string image = ctx_.CurrentConfig()->image.pause_image;
  CRIO_LOG_INFO(
      "pause image {} is not in the store: pulling it in the background; pods use the "
      "shipped pause binary meanwhile",
      image);
  pause_puller_ = std::jthread([this, image] {
    auto pulled = ctx_.deps().images->Pull(image, image::AuthConfig{});
    std::lock_guard done(pause_mu_);
    pause_pull_running_ = false;
    if (pulled.ok()) {
      CRIO_LOG_INFO("pause image {} pulled", image);
      return;
    }
    pause_retry_after_ = std::chrono::steady_clock::now() + kPausePullRetryInterval;
    CRIO_LOG_WARN("pull of pause image {} failed, next try in 5 minutes: {}", image,
                  pulled.status());
  });
}

Status Pods::StartInfraContainer(PodState& pod) {
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(pod.runtime_handler()));
  const std::string infra_id = pod.id();  // CRI-O also names the infra container after the pod
  const std::string bundle = ctx_.BundleDir(infra_id);
  RETURN_IF_ERROR(MakeDirs(bundle));
  util::Rollback rollback;
  rollback.Add("remove infra bundle", [bundle] { return RemoveAll(bundle); });
  ASSIGN_OR_RETURN(InfraRootfs rootfs, PrepareInfraRootfs(pod, bundle));
  if (!rootfs.image.empty()) {
    rollback.Add("remove infra layer",
                 [this, infra_id] { return ctx_.deps().store->RemoveContainerLayer(infra_id); });
  }

  container::SandboxSpecInputs in;
  in.sandbox_id = pod.id();
  in.sandbox = &pod.config();
  in.pause_command = rootfs.pause_command;
  if (rootfs.image_config) in.image = &*rootfs.image_config;
  in.rootfs = rootfs.path;
  in.pod = internal::PodResourcesOf(pod);
  in.pod.pidns_path.clear();  // the infra container makes the pod's PID namespace
  auto cfg = ctx_.CurrentConfig();
  in.runtime = &cfg->runtime;
  ASSIGN_OR_RETURN(in.cgroups_path, ctx_.deps().cgroups->OciCgroupsPath(
                                        pod.config().linux().cgroup_parent(), pod.id()));
  in.cgroup_v2 = IsCgroupV2();
  ASSIGN_OR_RETURN(nlohmann::json spec, container::BuildSandboxSpec(in));
  RETURN_IF_ERROR(state::WriteFileAtomic(bundle + "/config.json", spec.dump()));

  oci::CreateRequest req;
  req.id = infra_id;
  req.name = pod.name();
  req.bundle = bundle;
  req.persist_dir = bundle;
  req.log_path = bundle + "/infra.log";
  req.timeout = std::chrono::seconds(240);
  req.place_monitor = ctx_.MonitorPlacement(pod, infra_id);
  ASSIGN_OR_RETURN(int pid, runtime->CreateContainer(req));
  Status started = runtime->StartContainer(infra_id);
  if (!started.ok()) {
    (void)runtime->DeleteContainer(infra_id, true);
    return Annotate(started, "start infra container");
  }
  rollback.Dismiss();
  pod.set_infra_container_id(infra_id);
  pod.set_infra_bundle(bundle);
  pod.set_infra_image(rootfs.image);
  if (!in.pod.host_pid) pod.set_pidns_path(absl::StrCat("/proc/", pid, "/ns/pid"));
  CRIO_LOG_INFO("pod={} infra container started from {}, pid {}", pod.id(),
                rootfs.image.empty() ? "the shipped pause binary" : rootfs.image, pid);
  return absl::OkStatus();
}

Status Pods::RemoveInfraContainer(const PodState& pod) {
  if (pod.infra_container_id().empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(pod.runtime_handler()));
  RETURN_IF_ERROR(runtime->DeleteContainer(pod.infra_container_id(), true));
  // OK when the rootfs was the shipped binary (no layer).
  RETURN_IF_ERROR(ctx_.deps().store->RemoveContainerLayer(pod.infra_container_id()));
  return RemoveAll(pod.infra_bundle());
}

void Pods::RemoveOrphanInfraLayers() {
  std::set<std::string> infra_ids;
  for (const auto& pod : ctx_.state().ListPods()) infra_ids.insert(pod.infra_container_id());
  for (const auto& layer : ctx_.deps().store->ListContainerLayers()) {
    if (layer.metadata != kInfraLayerMetadata || infra_ids.count(layer.id)) continue;
    CRIO_LOG_WARN("pod={}: removing the infra rootfs of an interrupted pod start", layer.id);
    (void)ctx_.deps().store->RemoveContainerLayer(layer.id);
    (void)RemoveAll(ctx_.BundleDir(layer.id));
  }
}

}  // namespace crio::lifecycle
