// The CRI stats RPCs: ContainerStats, PodSandboxStats, their List and Stream forms. The numbers
// come from stats::Collector (cgroup counters, writable layers); this file picks the containers
// and pods and builds the messages.
#include "server/stats_usage.h"

#include <set>

#include "os/netns.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "storage/fs_tree.h"

namespace crio::server {

namespace {

constexpr int kStreamBatch = 100;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetIf(v1::UInt64Value* out, std::optional<uint64_t> value) {
  if (value) out->set_value(*value);
}

void FillPsi(const cgroups::Psi& psi, v1::PsiStats* out) {
  auto fill = [](const cgroups::PsiLine& line, v1::PsiData* data) {
    data->set_total(line.total_us * 1000);  // CRI counts nanoseconds, the kernel microseconds
    data->set_avg10(line.avg10);
    data->set_avg60(line.avg60);
    data->set_avg300(line.avg300);
  };
  if (psi.full) fill(*psi.full, out->mutable_full());
  if (psi.some) fill(*psi.some, out->mutable_some());
}

void FillCpu(const stats::CgroupSample& s, v1::CpuUsage* out) {
  out->set_timestamp(s.timestamp_ns);
  SetIf(out->mutable_usage_core_nano_seconds(), s.counters.cpu_usage_ns);
  SetIf(out->mutable_usage_nano_cores(), s.usage_nano_cores);
  if (s.counters.cpu_pressure) FillPsi(*s.counters.cpu_pressure, out->mutable_psi());
}

void FillMemory(const stats::CgroupSample& s, v1::MemoryUsage* out) {
  const auto& c = s.counters;
  out->set_timestamp(s.timestamp_ns);
  SetIf(out->mutable_working_set_bytes(), c.memory_working_set_bytes);
  SetIf(out->mutable_usage_bytes(), c.memory_usage_bytes);
  SetIf(out->mutable_rss_bytes(), c.memory_rss_bytes);
  SetIf(out->mutable_page_faults(), c.memory_page_faults);
  SetIf(out->mutable_major_page_faults(), c.memory_major_page_faults);
  if (c.memory_limit_bytes && c.memory_working_set_bytes) {
    // As the kubelet defines it: limit minus working set, floored at 0.
    out->mutable_available_bytes()->set_value(*c.memory_limit_bytes > *c.memory_working_set_bytes
                                                  ? *c.memory_limit_bytes -
                                                        *c.memory_working_set_bytes
                                                  : 0);
  }
  if (c.memory_pressure) FillPsi(*c.memory_pressure, out->mutable_psi());
}

void FillSwap(const stats::CgroupSample& s, v1::SwapUsage* out) {
  const auto& c = s.counters;
  out->set_timestamp(s.timestamp_ns);
  SetIf(out->mutable_swap_usage_bytes(), c.swap_usage_bytes);
  if (c.swap_limit_bytes && c.swap_usage_bytes) {
    out->mutable_swap_available_bytes()->set_value(
        *c.swap_limit_bytes > *c.swap_usage_bytes ? *c.swap_limit_bytes - *c.swap_usage_bytes : 0);
  }
}

void FillIo(const stats::CgroupSample& s, v1::IoUsage* out) {
  out->set_timestamp(s.timestamp_ns);
  if (s.counters.io_pressure) FillPsi(*s.counters.io_pressure, out->mutable_psi());
}

void FillAttributes(const state::ContainerState& c, v1::ContainerAttributes* out) {
  out->set_id(c.id());
  *out->mutable_metadata() = c.config().metadata();
  *out->mutable_labels() = c.config().labels();
  *out->mutable_annotations() = c.config().annotations();
}

void FillInterface(const stats::InterfaceCounters& c, v1::NetworkInterfaceUsage* out) {
  out->set_name(c.name);
  out->mutable_rx_bytes()->set_value(c.rx_bytes);
  out->mutable_rx_errors()->set_value(c.rx_errors);
  out->mutable_tx_bytes()->set_value(c.tx_bytes);
  out->mutable_tx_errors()->set_value(c.tx_errors);
}

// Sum of the counters that add up across a pod's containers (for pods sharing a cgroup parent).
stats::CgroupSample SumSamples(const std::vector<const stats::CgroupSample*>& parts) {
  stats::CgroupSample sum;
  auto add = [](std::optional<uint64_t>& total, const std::optional<uint64_t>& part) {
    if (part) total = total.value_or(0) + *part;
  };
  for (const auto* p : parts) {
    sum.timestamp_ns = std::max(sum.timestamp_ns, p->timestamp_ns);
    add(sum.counters.cpu_usage_ns, p->counters.cpu_usage_ns);
    add(sum.usage_nano_cores, p->usage_nano_cores);
    add(sum.counters.memory_usage_bytes, p->counters.memory_usage_bytes);
    add(sum.counters.memory_working_set_bytes, p->counters.memory_working_set_bytes);
    add(sum.counters.memory_rss_bytes, p->counters.memory_rss_bytes);
    add(sum.counters.memory_page_faults, p->counters.memory_page_faults);
    add(sum.counters.memory_major_page_faults, p->counters.memory_major_page_faults);
    add(sum.counters.swap_usage_bytes, p->counters.swap_usage_bytes);
    add(sum.counters.pids_current, p->counters.pids_current);
    add(sum.counters.oom_kills, p->counters.oom_kills);
  }
  return sum;
}

}  // namespace

// --- StatsUsage ---------------------------------------------------------------------------------

StatsUsage::StatsUsage(ServiceContext& ctx, UsagePurpose purpose) : ctx_(ctx), purpose_(purpose) {}

unsigned StatsUsage::ContainerParts() const {
  if (purpose_ == UsagePurpose::kPodMetrics) return cgroups::kAllStats;
  return cgroups::kCpuStats | cgroups::kMemoryStats | cgroups::kPressureStats;
}

unsigned StatsUsage::PodParts() const {
  if (purpose_ == UsagePurpose::kPodMetrics) return cgroups::kAllStats;
  return cgroups::kCpuStats | cgroups::kMemoryStats | cgroups::kPidsStats | cgroups::kPressureStats;
}

const std::string& StatsUsage::ContainerFsMountpoint() {
  // Found once per daemon: the containers directory does not move.
  static std::mutex mu;
  static std::map<std::string, std::string> found;
  if (!ctx_.store) return mountpoint_;
  const std::string& dir = ctx_.store->containers_dir();
  std::lock_guard lock(mu);
  auto it = found.find(dir);
  if (it == found.end()) {
    auto mp = storage::FindMountPoint(dir);
    it = found.emplace(dir, mp.ok() ? *mp : dir).first;
  }
  mountpoint_ = it->second;
  return mountpoint_;
}

std::vector<ContainerUsage> StatsUsage::Containers(std::vector<state::ContainerState> containers) {
  return Measure(std::move(containers), {});
}

std::vector<ContainerUsage> StatsUsage::Measure(std::vector<state::ContainerState> containers,
                                                const std::set<std::string>& summed_pods) {
  std::vector<stats::CgroupTarget> targets;
  targets.reserve(containers.size());
  for (const auto& c : containers) {
    // Only a running container has a cgroup worth reading; an exited one's is gone.
    unsigned parts = ContainerParts();
    if (summed_pods.count(c.pod_id())) parts |= PodParts();
    targets.push_back({ContainerKey(c.id()),
                       c.state() == v1::CONTAINER_RUNNING ? c.cgroup_path() : "", c.started_at(),
                       parts});
  }
  auto samples = ctx_.stats->Sample(targets);
  std::vector<ContainerUsage> out;
  out.reserve(containers.size());
  for (size_t i = 0; i < containers.size(); ++i) {
    ContainerUsage usage;
    usage.container = std::move(containers[i]);
    usage.cgroup = std::move(samples[i]);
    if (ctx_.store) {
      usage.layer = ctx_.stats->WritableLayer(ContainerKey(usage.container.id()),
                                              ctx_.store->WritableLayerDir(usage.container.id()));
    }
    out.push_back(std::move(usage));
  }
  return out;
}

void StatsUsage::FillContainerStats(const ContainerUsage& usage, v1::ContainerStats* out) {
  FillAttributes(usage.container, out->mutable_attributes());
  const int64_t now = NowNs();
  if (usage.cgroup) {
    FillCpu(*usage.cgroup, out->mutable_cpu());
    FillMemory(*usage.cgroup, out->mutable_memory());
    FillSwap(*usage.cgroup, out->mutable_swap());
    FillIo(*usage.cgroup, out->mutable_io());
  } else {
    // Not running: zero usage at this moment, as the kubelet expects every field present.
    out->mutable_cpu()->set_timestamp(now);
    out->mutable_memory()->set_timestamp(now);
  }
  auto* layer = out->mutable_writable_layer();
  layer->mutable_fs_id()->set_mountpoint(ContainerFsMountpoint());
  if (usage.layer) {
    layer->set_timestamp(usage.layer->timestamp_ns);
    layer->mutable_used_bytes()->set_value(usage.layer->bytes);
    layer->mutable_inodes_used()->set_value(usage.layer->inodes);
  } else {
    // Not measured yet (a walk is queued): report nothing used as of now.
    layer->set_timestamp(now);
    layer->mutable_used_bytes()->set_value(0);
    layer->mutable_inodes_used()->set_value(0);
  }
}

std::vector<PodUsage> StatsUsage::Pods(const std::vector<state::PodState>& pods) {
  // One pass over the containers; the pods' own cgroups in the same Sample call.
  std::map<std::string, std::vector<state::ContainerState>> by_pod;
  lifecycle::ContainerFilter all;
  all.refresh_exits = false;
  for (auto& c : ctx_.lifecycle->ListContainers(all)) by_pod[c.pod_id()].push_back(std::move(c));
  std::vector<stats::CgroupTarget> pod_targets;
  std::set<std::string> summed_pods;  // pods without a cgroup of their own
  for (const auto& pod : pods) {
    // The pod's cgroup is its cgroup_parent (the kubelet's pod<uid> cgroup), which holds the
    // infra process and every container.
    std::string pod_cgroup;
    if (!pod.config().linux().cgroup_parent().empty() && pod.state() == v1::SANDBOX_READY) {
      auto parent = ctx_.lifecycle->PodCgroupOf(pod);
      if (parent.ok()) pod_cgroup = *parent;
    }
    if (pod_cgroup.empty()) summed_pods.insert(pod.id());
    pod_targets.push_back({PodKey(pod.id()), pod_cgroup, pod.created_at(), PodParts()});
  }
  auto pod_samples = ctx_.stats->Sample(pod_targets);
  // Every listed pod's containers measured in one call (one batch the collector can split).
  std::vector<state::ContainerState> containers;
  for (const auto& pod : pods) {
    for (auto& c : by_pod[pod.id()]) containers.push_back(std::move(c));
  }
  std::map<std::string, std::vector<ContainerUsage>> usage_by_pod;
  for (auto& c : Measure(std::move(containers), summed_pods)) {
    std::string pod_id = c.container.pod_id();
    usage_by_pod[pod_id].push_back(std::move(c));
  }
  std::vector<PodUsage> out;
  out.reserve(pods.size());
  for (size_t i = 0; i < pods.size(); ++i) {
    PodUsage usage;
    usage.pod = pods[i];
    usage.containers = std::move(usage_by_pod[pods[i].id()]);
    usage.cgroup = std::move(pod_samples[i]);
    if (!usage.cgroup && pods[i].state() == v1::SANDBOX_READY) {
      // The pod shares its parent cgroup with other pods: add up its containers instead.
      std::vector<const stats::CgroupSample*> parts;
      for (const auto& c : usage.containers) {
        if (c.cgroup) parts.push_back(&*c.cgroup);
      }
      if (!parts.empty()) usage.cgroup = SumSamples(parts);
    }
    usage.interfaces = PodInterfaces(usage);
    out.push_back(std::move(usage));
  }
  return out;
}

std::optional<std::vector<stats::InterfaceCounters>> StatsUsage::PodInterfaces(
    const PodUsage& usage) {
  if (usage.pod.netns_path().empty() || usage.pod.state() != v1::SANDBOX_READY) return {};
  // Any process in the pod's network namespace will do: /proc/<pid>/net/dev is per namespace.
  for (const auto& c : usage.containers) {
    if (c.container.state() != v1::CONTAINER_RUNNING || c.container.pid() <= 0) continue;
    auto interfaces =
        stats::ReadInterfaces("/proc/" + std::to_string(c.container.pid()) + "/net/dev");
    if (interfaces.ok()) return *std::move(interfaces);
  }
  // No running container (only the infra process): read it from inside the namespace.
  std::vector<stats::InterfaceCounters> interfaces;
  Status st = os::RunInNetworkNamespace(usage.pod.netns_path(), [&]() -> Status {
    ASSIGN_OR_RETURN(interfaces, stats::ReadInterfaces("/proc/thread-self/net/dev"));
    return absl::OkStatus();
  });
  if (!st.ok()) return {};
  return interfaces;
}

void StatsUsage::RetainOnly(const std::vector<ContainerUsage>& usages) {
  std::set<std::string> live;
  for (const auto& u : usages) live.insert(ContainerKey(u.container.id()));
  ctx_.stats->Retain("ctr:", live);
}

void StatsUsage::RetainOnly(const std::vector<PodUsage>& usages) {
  std::set<std::string> pods, containers;
  for (const auto& u : usages) {
    pods.insert(PodKey(u.pod.id()));
    for (const auto& c : u.containers) containers.insert(ContainerKey(c.container.id()));
  }
  ctx_.stats->Retain("pod:", pods);
  ctx_.stats->Retain("ctr:", containers);
}

void StatsUsage::FillPodStats(const PodUsage& usage, v1::PodSandboxStats* out) {
  auto* attributes = out->mutable_attributes();
  attributes->set_id(usage.pod.id());
  *attributes->mutable_metadata() = usage.pod.config().metadata();
  *attributes->mutable_labels() = usage.pod.config().labels();
  *attributes->mutable_annotations() = usage.pod.config().annotations();
  auto* linux = out->mutable_linux();
  const int64_t now = NowNs();
  if (usage.cgroup) {
    FillCpu(*usage.cgroup, linux->mutable_cpu());
    FillMemory(*usage.cgroup, linux->mutable_memory());
    FillIo(*usage.cgroup, linux->mutable_io());
    linux->mutable_process()->set_timestamp(usage.cgroup->timestamp_ns);
    SetIf(linux->mutable_process()->mutable_process_count(), usage.cgroup->counters.pids_current);
  } else {
    linux->mutable_cpu()->set_timestamp(now);
    linux->mutable_memory()->set_timestamp(now);
  }
  if (usage.interfaces) {
    auto* network = linux->mutable_network();
    network->set_timestamp(now);
    bool first = true;
    for (const auto& interface : *usage.interfaces) {
      // The pod's default interface is eth0 as CNI names it; the rest are listed after it.
      if (first && (interface.name == "eth0" || usage.interfaces->size() == 1)) {
        FillInterface(interface, network->mutable_default_interface());
        first = false;
      } else {
        FillInterface(interface, network->add_interfaces());
      }
    }
  }
  for (const auto& c : usage.containers) FillContainerStats(c, linux->add_containers());
}

// --- RPCs ---------------------------------------------------------------------------------------

namespace {

lifecycle::ContainerFilter ToFilter(const v1::ContainerStatsFilter& f) {
  lifecycle::ContainerFilter out;
  out.refresh_exits = false;
  out.id = f.id();
  out.pod_id = f.pod_sandbox_id();
  out.labels.insert(f.label_selector().begin(), f.label_selector().end());
  return out;
}

lifecycle::PodFilter ToFilter(const v1::PodSandboxStatsFilter& f) {
  lifecycle::PodFilter out;
  out.id = f.id();
  out.labels.insert(f.label_selector().begin(), f.label_selector().end());
  return out;
}

bool IsEmpty(const v1::ContainerStatsFilter& f) {
  return f.id().empty() && f.pod_sandbox_id().empty() && f.label_selector().empty();
}
bool IsEmpty(const v1::PodSandboxStatsFilter& f) {
  return f.id().empty() && f.label_selector().empty();
}

grpc::Status NoStats() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stats collection is not initialised");
}

}  // namespace

grpc::Status RuntimeService::ContainerStats(grpc::ServerContext*,
                                            const v1::ContainerStatsRequest* req,
                                            v1::ContainerStatsResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return NoStats();
  if (req->container_id().empty()) return ToGrpc(InvalidArgument("container_id is required"));
  return Guarded("ContainerStats", [&] {
    auto ctr = ctx_.lifecycle->ContainerStatus(req->container_id());
    if (!ctr.ok()) return Failed("ContainerStats", ctr.status());
    StatsUsage usage(ctx_);
    auto measured = usage.Containers({*std::move(ctr)});
    usage.FillContainerStats(measured.front(), resp->mutable_stats());
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::ListContainerStats(grpc::ServerContext*,
                                                const v1::ListContainerStatsRequest* req,
                                                v1::ListContainerStatsResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return NoStats();
  return Guarded("ListContainerStats", [&] {
    StatsUsage usage(ctx_);
    auto measured = usage.Containers(ctx_.lifecycle->ListContainers(ToFilter(req->filter())));
    for (const auto& c : measured) usage.FillContainerStats(c, resp->add_stats());
    if (IsEmpty(req->filter())) usage.RetainOnly(measured);
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamContainerStats(
    grpc::ServerContext*, const v1::StreamContainerStatsRequest* req,
    grpc::ServerWriter<v1::StreamContainerStatsResponse>* writer) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return NoStats();
  return Guarded("StreamContainerStats", [&] {
    StatsUsage usage(ctx_);
    v1::StreamContainerStatsResponse batch;
    for (const auto& c :
         usage.Containers(ctx_.lifecycle->ListContainers(ToFilter(req->filter())))) {
      usage.FillContainerStats(c, batch.add_container_stats());
      if (batch.container_stats_size() == kStreamBatch) {
        if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        batch.Clear();
      }
    }
    if (batch.container_stats_size() > 0) writer->Write(batch);
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::PodSandboxStats(grpc::ServerContext*,
                                             const v1::PodSandboxStatsRequest* req,
                                             v1::PodSandboxStatsResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return NoStats();
  if (req->pod_sandbox_id().empty()) return ToGrpc(InvalidArgument("pod_sandbox_id is required"));
  return Guarded("PodSandboxStats", [&] {
    auto pod = ctx_.lifecycle->PodStatus(req->pod_sandbox_id());
    if (!pod.ok()) return Failed("PodSandboxStats", pod.status());
    StatsUsage usage(ctx_);
    auto measured = usage.Pods({*std::move(pod)});
    usage.FillPodStats(measured.front(), resp->mutable_stats());
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::ListPodSandboxStats(grpc::ServerContext*,
                                                 const v1::ListPodSandboxStatsRequest* req,
                                                 v1::ListPodSandboxStatsResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return NoStats();
  return Guarded("ListPodSandboxStats", [&] {
    StatsUsage usage(ctx_);
    auto measured = usage.Pods(ctx_.lifecycle->ListPods(ToFilter(req->filter())));
    for (const auto& p : measured) usage.FillPodStats(p, resp->add_stats());
    if (IsEmpty(req->filter())) usage.RetainOnly(measured);
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamPodSandboxStats(
    grpc::ServerContext*, const v1::StreamPodSandboxStatsRequest* req,
    grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>* writer) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return NoStats();
  return Guarded("StreamPodSandboxStats", [&] {
    StatsUsage usage(ctx_);
    v1::StreamPodSandboxStatsResponse batch;
    for (const auto& p : usage.Pods(ctx_.lifecycle->ListPods(ToFilter(req->filter())))) {
      usage.FillPodStats(p, batch.add_pod_sandbox_stats());
      if (batch.pod_sandbox_stats_size() == kStreamBatch) {
        if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        batch.Clear();
      }
    }
    if (batch.pod_sandbox_stats_size() > 0) writer->Write(batch);
    return grpc::Status::OK;
  });
}

}  // namespace crio::server
