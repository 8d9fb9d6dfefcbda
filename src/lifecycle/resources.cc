// UpdateContainerResources and UpdatePodSandboxResources: new limits for a live container (through
// its OCI runtime) or a pod's cgroup (through the cgroup manager). Kept apart from manager.cc.
#include <mutex>

#include "container/resources_update.h"
#include "container/spec_builder.h"
#include "lifecycle/containers.h"
#include "lifecycle/internal.h"
#include "lifecycle/pods.h"
#include "util/log.h"

namespace crio::lifecycle {

using state::ContainerState;
using state::PodState;

namespace {

// Replaces the resource classes present in `update` in the bundle's config.json, so the spec
// on disk tells the truth after an update. Best effort: the runtime already applied them.
void RecordInConfigJson(const std::string& bundle, const nlohmann::json& update,
                        const std::string& id) {
  const std::string path = bundle + "/config.json";
  nlohmann::json spec = nlohmann::json::parse(internal::ReadFileOrEmpty(path), nullptr,
                                              /*allow_exceptions=*/false);
  if (spec.is_discarded() || !spec.is_object()) {
    CRIO_LOG_WARN("container={}: {} unreadable; resources not recorded there", id, path);
    return;
  }
  for (const auto& [key, value] : update.items()) spec["linux"]["resources"][key] = value;
  Status st = state::WriteFileAtomic(path, spec.dump());
  if (!st.ok()) CRIO_LOG_WARN("container={}: record resources: {}", id, st.message());
}

// CRI's "0 = unset" to PodResources' optionals; overhead is added to resources' limits.
cgroups::PodResources ToPodResources(const v1::LinuxContainerResources& overhead,
                                     const v1::LinuxContainerResources& r) {
  cgroups::PodResources out;
  if (r.cpu_shares() > 0) {
    out.cpu_shares =
        static_cast<uint64_t>(r.cpu_shares() + std::max<int64_t>(0, overhead.cpu_shares()));
  }
  if (r.cpu_quota() > 0) {
    out.cpu_quota_us = r.cpu_quota() + std::max<int64_t>(0, overhead.cpu_quota());
  } else if (r.cpu_quota() == -1) {
    out.cpu_quota_us = -1;
  }
  if (r.cpu_period() > 0) out.cpu_period_us = static_cast<uint64_t>(r.cpu_period());
  if (r.memory_limit_in_bytes() > 0) {
    out.memory_limit_bytes =
        r.memory_limit_in_bytes() + std::max<int64_t>(0, overhead.memory_limit_in_bytes());
  }
  if (!r.cpuset_cpus().empty()) out.cpuset_cpus = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) out.cpuset_mems = r.cpuset_mems();
  return out;
}

Status ValidateOverhead(const v1::LinuxContainerResources& o) {
  if (o.cpu_shares() < 0) return InvalidArgument("overhead.cpu_shares: negative");
  if (o.cpu_quota() < 0) return InvalidArgument("overhead.cpu_quota: negative");
  if (o.cpu_period() < 0) return InvalidArgument("overhead.cpu_period: negative");
  if (o.memory_limit_in_bytes() < 0) {
    return InvalidArgument("overhead.memory_limit_in_bytes: negative");
  }
  return absl::OkStatus();
}

}  // namespace

Status Containers::UpdateResources(const std::string& id_or_prefix,
                                   const v1::LinuxContainerResources& resources) {
  const bool v2 = internal::IsCgroupV2();
  const container::HostInfo host = container::ProbeHost(v2);
  container::UpdateHost update_host{
      .cgroup_v2 = v2, .memory_swap = host.memory_swap, .hugetlb = host.hugetlb};
  ASSIGN_OR_RETURN(nlohmann::json update, container::UpdateResourcesJson(resources, update_host));

  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolveContainerId(id_or_prefix));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto stored = ctx_.state().GetContainer(id);
  if (!stored) return NotFound(absl::StrCat("container ", id_or_prefix, " not found"));
  ContainerState ctr = Refresh(*stored);
  if (ctr.state() != v1::CONTAINER_RUNNING && ctr.state() != v1::CONTAINER_CREATED) {
    return FailedPrecondition(absl::StrCat("container ", id, " is ",
                                           v1::ContainerState_Name(ctr.state()),
                                           "; only created or running containers can be updated"));
  }
  ASSIGN_OR_RETURN(oci::Runtime * runtime, ctx_.RuntimeFor(ctr.runtime_handler()));
  Status st = runtime->UpdateContainerResources(id, update.dump());
  if (!st.ok()) return Annotate(st, absl::StrCat("update resources of container ", id));

  RecordInConfigJson(ctr.bundle(), update, id);
  auto* linux = ctr.mutable_config()->mutable_linux();
  *linux->mutable_resources() = container::MergedResources(linux->resources(), resources);
  RETURN_IF_ERROR(ctx_.state().PutContainer(ctr));
  CRIO_LOG_INFO("container={} pod={} resources updated: {}", id, ctr.pod_id(), update.dump());
  return absl::OkStatus();
}

Status Pods::UpdateResources(const std::string& pod_id, const v1::LinuxContainerResources& overhead,
                             const v1::LinuxContainerResources& resources) {
  const bool v2 = internal::IsCgroupV2();
  RETURN_IF_ERROR(container::ValidateUpdateResources(resources, v2, "resources"));
  RETURN_IF_ERROR(ValidateOverhead(overhead));

  ASSIGN_OR_RETURN(std::string id, ctx_.state().ResolvePodId(pod_id));
  auto lock = ctx_.state().LockFor(id);
  std::lock_guard guard(*lock);
  auto pod = ctx_.state().GetPod(id);
  if (!pod) return NotFound(absl::StrCat("pod sandbox ", pod_id, " not found"));
  if (pod->state() != v1::SANDBOX_READY) {
    return FailedPrecondition(absl::StrCat("pod sandbox ", id, " is not ready"));
  }
  if (pod->config().linux().cgroup_parent().empty()) {
    return FailedPrecondition(absl::StrCat(
        "pod sandbox ", id, " has no cgroup_parent of its own; the default parent is shared"));
  }
  ASSIGN_OR_RETURN(std::string parent, ctx_.PodCgroupOf(*pod));
  Status st = ctx_.deps().cgroups->ApplyPodResources(parent, ToPodResources(overhead, resources));
  if (!st.ok()) return Annotate(st, absl::StrCat("update resources of pod ", id));
  auto* linux = pod->mutable_config()->mutable_linux();
  *linux->mutable_overhead() = overhead;
  *linux->mutable_resources() = resources;
  RETURN_IF_ERROR(ctx_.state().PutPod(*pod));
  CRIO_LOG_INFO("pod={} resources updated in cgroup {}", id, parent);
  return absl::OkStatus();
}

}  // namespace crio::lifecycle
