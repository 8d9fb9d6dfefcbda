// ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics: the pod and container
// usage in cAdvisor's metric names, for the kubelet's /metrics/cadvisor when it takes pod
// metrics from the runtime. `[crio.stats] included_pod_metrics` picks the groups, as in CRI-O.
#include <algorithm>
#include <functional>

#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_usage.h"

namespace crio::server {

namespace {

constexpr int kStreamBatch = 100;
constexpr uint64_t kNsPerSecond = 1'000'000'000;

// Labels of every container series; the kubelet adds namespace, pod and container itself.
const std::vector<std::string>& ContainerLabelKeys() {
  static const std::vector<std::string> keys = {"id", "name", "image"};
  return keys;
}

// One metric of one container (or of the pod, for network): a value, plus extra label values
// for descriptors with extra label keys.
struct Series {
  std::vector<std::string> extra_labels;
  uint64_t value = 0;
};

struct MetricSpec {
  std::string group;  // the included_pod_metrics name that enables it
  std::string name;
  std::string help;
  v1::MetricType type;
  std::vector<std::string> extra_label_keys;
  // Series of a container (ContainerUsage) or a pod interface (pod-level network metrics).
  std::function<std::vector<Series>(const ContainerUsage&)> of_container;
  std::function<std::vector<Series>(const stats::InterfaceCounters&)> of_interface;
};

std::vector<Series> One(std::optional<uint64_t> value) {
  if (!value) return {};
  return {Series{{}, *value}};
}

const cgroups::CgroupStats* Counters(const ContainerUsage& u) {
  return u.cgroup ? &u.cgroup->counters : nullptr;
}

// Total stalled time of a pressure line in whole seconds, as cAdvisor's counters are.
std::optional<uint64_t> PsiSeconds(const std::optional<cgroups::Psi>& psi, bool full) {
  if (!psi) return std::nullopt;
  const auto& line = full ? psi->full : psi->some;
  if (!line) return std::nullopt;
  return line->total_us / 1'000'000;
}

MetricSpec ContainerGauge(std::string group, std::string name, std::string help,
                          std::function<std::optional<uint64_t>(const cgroups::CgroupStats&)> get,
                          v1::MetricType type = v1::GAUGE) {
  MetricSpec spec{std::move(group), std::move(name), std::move(help), type, {}, {}, {}};
  spec.of_container = [get = std::move(get)](const ContainerUsage& u) -> std::vector<Series> {
    const auto* c = Counters(u);
    return c ? One(get(*c)) : std::vector<Series>{};
  };
  return spec;
}

MetricSpec InterfaceCounter(std::string name, std::string help,
                            uint64_t stats::InterfaceCounters::*field) {
  MetricSpec spec{"network", std::move(name), std::move(help), v1::COUNTER, {"interface"}, {}, {}};
  spec.of_interface = [field](const stats::InterfaceCounters& c) {
    return std::vector<Series>{Series{{c.name}, c.*field}};
  };
  return spec;
}

const std::vector<MetricSpec>& Catalogue() {
  using C = stats::InterfaceCounters;
  static const std::vector<MetricSpec> specs = [] {
    std::vector<MetricSpec> s;
    s.push_back(ContainerGauge(
        "cpu", "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.",
        [](const cgroups::CgroupStats& c) -> std::optional<uint64_t> {
          if (!c.cpu_usage_ns) return std::nullopt;
          return *c.cpu_usage_ns / kNsPerSecond;
        },
        v1::COUNTER));
    s.push_back(ContainerGauge(
        "memory", "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
        [](const cgroups::CgroupStats& c) { return c.memory_usage_bytes; }));
    s.push_back(ContainerGauge(
        "memory", "container_memory_working_set_bytes", "Current working set in bytes.",
        [](const cgroups::CgroupStats& c) { return c.memory_working_set_bytes; }));
    s.push_back(ContainerGauge("memory", "container_memory_rss", "Size of RSS in bytes.",
                               [](const cgroups::CgroupStats& c) { return c.memory_rss_bytes; }));
    s.push_back(ContainerGauge("memory", "container_memory_swap", "Container swap usage in bytes.",
                               [](const cgroups::CgroupStats& c) { return c.swap_usage_bytes; }));
    MetricSpec failures{"memory",
                        "container_memory_failures_total",
                        "Cumulative count of memory allocation failures.",
                        v1::COUNTER,
                        {"failure_type", "scope"},
                        {},
                        {}};
    failures.of_container = [](const ContainerUsage& u) {
      std::vector<Series> out;
      if (const auto* c = Counters(u)) {
        if (c->memory_page_faults)
          out.push_back({{"pgfault", "container"}, *c->memory_page_faults});
        if (c->memory_major_page_faults) {
          out.push_back({{"pgmajfault", "container"}, *c->memory_major_page_faults});
        }
      }
      return out;
    };
    s.push_back(std::move(failures));
    s.push_back(ContainerGauge(
        "oom", "container_oom_events_total",
        "Count of out of memory events observed for the container",
        [](const cgroups::CgroupStats& c) { return c.oom_kills; }, v1::COUNTER));
    s.push_back(ContainerGauge("process", "container_processes",
                               "Number of processes running inside the container.",
                               [](const cgroups::CgroupStats& c) { return c.pids_current; }));
    MetricSpec disk{"disk",
                    "container_fs_usage_bytes",
                    "Number of bytes that are consumed by the container on this filesystem.",
                    v1::GAUGE,
                    {},
                    {},
                    {}};
    disk.of_container = [](const ContainerUsage& u) {
      return u.layer ? One(u.layer->bytes) : std::vector<Series>{};
    };
    s.push_back(std::move(disk));
    for (const auto& [resource, field] :
         {std::pair{"cpu", &cgroups::CgroupStats::cpu_pressure},
          std::pair{"memory", &cgroups::CgroupStats::memory_pressure},
          std::pair{"io", &cgroups::CgroupStats::io_pressure}}) {
      for (bool full : {false, true}) {
        const std::string kind = full ? "stalled" : "waiting";
        s.push_back(ContainerGauge(
            "pressure", fmt::format("container_pressure_{}_{}_seconds_total", resource, kind),
            fmt::format("Total time duration {} tasks in the container have {} on {} resources.",
                        full ? "no" : "at least some", full ? "been stalled" : "waited", resource),
            [field, full](const cgroups::CgroupStats& c) { return PsiSeconds(c.*field, full); },
            v1::COUNTER));
      }
    }
    s.push_back(InterfaceCounter("container_network_receive_bytes_total",
                                 "Cumulative count of bytes received", &C::rx_bytes));
    s.push_back(InterfaceCounter("container_network_receive_packets_total",
                                 "Cumulative count of packets received", &C::rx_packets));
    s.push_back(InterfaceCounter("container_network_receive_packets_dropped_total",
                                 "Cumulative count of packets dropped while receiving",
                                 &C::rx_dropped));
    s.push_back(InterfaceCounter("container_network_receive_errors_total",
                                 "Cumulative count of errors encountered while receiving",
                                 &C::rx_errors));
    s.push_back(InterfaceCounter("container_network_transmit_bytes_total",
                                 "Cumulative count of bytes transmitted", &C::tx_bytes));
    s.push_back(InterfaceCounter("container_network_transmit_packets_total",
                                 "Cumulative count of packets transmitted", &C::tx_packets));
    s.push_back(InterfaceCounter("container_network_transmit_packets_dropped_total",
                                 "Cumulative count of packets dropped while transmitting",
                                 &C::tx_dropped));
    s.push_back(InterfaceCounter("container_network_transmit_errors_total",
                                 "Cumulative count of errors encountered while transmitting",
                                 &C::tx_errors));
    return s;
  }();
  return specs;
}

// The specs `included` (included_pod_metrics) enables; "all" enables every group.
std::vector<const MetricSpec*> Enabled(const std::vector<std::string>& included) {
  const bool all = std::find(included.begin(), included.end(), "all") != included.end();
  std::vector<const MetricSpec*> out;
  for (const auto& spec : Catalogue()) {
    if (all || std::find(included.begin(), included.end(), spec.group) != included.end()) {
      out.push_back(&spec);
    }
  }
  return out;
}

void AddSeries(const MetricSpec& spec, const std::vector<std::string>& labels,
               const std::vector<Series>& series, int64_t timestamp,
               google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  for (const auto& one : series) {
    auto* m = out->Add();
    m->set_name(spec.name);
    m->set_timestamp(timestamp);
    m->set_metric_type(spec.type);
    for (const auto& l : labels) m->add_label_values(l);
    for (const auto& l : one.extra_labels) m->add_label_values(l);
    m->mutable_value()->set_value(one.value);
  }
}

void FillPodMetrics(const PodUsage& usage, const std::vector<const MetricSpec*>& specs,
                    v1::PodSandboxMetrics* out) {
  out->set_pod_sandbox_id(usage.pod.id());
  const std::vector<std::string> pod_labels = {usage.pod.id(), usage.pod.config().metadata().name(),
                                               ""};
  for (const auto* spec : specs) {
    if (!spec->of_interface || !usage.interfaces) continue;
    for (const auto& interface : *usage.interfaces) {
      AddSeries(*spec, pod_labels, spec->of_interface(interface), 0, out->mutable_metrics());
    }
  }
  for (const auto& c : usage.containers) {
    if (c.container.state() != v1::CONTAINER_RUNNING) continue;
    auto* cm = out->add_container_metrics();
    cm->set_container_id(c.container.id());
    const std::vector<std::string> labels = {
        c.container.id(), c.container.config().metadata().name(), c.container.image_name()};
    const int64_t timestamp = c.cgroup ? c.cgroup->timestamp_ns : 0;
    for (const auto* spec : specs) {
      if (spec->of_container) {
        AddSeries(*spec, labels, spec->of_container(c), timestamp, cm->mutable_metrics());
      }
    }
  }
}

}  // namespace

grpc::Status RuntimeService::ListMetricDescriptors(grpc::ServerContext*,
                                                   const v1::ListMetricDescriptorsRequest*,
                                                   v1::ListMetricDescriptorsResponse* resp) {
  for (const auto* spec : Enabled(ctx_.ConfigSnapshot().stats.included_pod_metrics)) {
    auto* d = resp->add_descriptors();
    d->set_name(spec->name);
    d->set_help(spec->help);
    for (const auto& k : ContainerLabelKeys()) d->add_label_keys(k);
    for (const auto& k : spec->extra_label_keys) d->add_label_keys(k);
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandboxMetrics(grpc::ServerContext*,
                                                   const v1::ListPodSandboxMetricsRequest*,
                                                   v1::ListPodSandboxMetricsResponse* resp) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return ToGrpc(Unavailable("stats collection is not initialised"));
  return Guarded("ListPodSandboxMetrics", [&] {
    auto specs = Enabled(ctx_.ConfigSnapshot().stats.included_pod_metrics);
    if (specs.empty()) return grpc::Status::OK;
    StatsUsage usage(ctx_, UsagePurpose::kPodMetrics);
    lifecycle::PodFilter ready;
    ready.state = v1::SANDBOX_READY;
    for (const auto& pod : usage.Pods(ctx_.lifecycle->ListPods(ready))) {
      FillPodMetrics(pod, specs, resp->add_pod_metrics());
    }
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamPodSandboxMetrics(
    grpc::ServerContext*, const v1::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>* writer) {
  if (!ctx_.lifecycle) return NoLifecycle();
  if (!ctx_.stats) return ToGrpc(Unavailable("stats collection is not initialised"));
  return Guarded("StreamPodSandboxMetrics", [&] {
    auto specs = Enabled(ctx_.ConfigSnapshot().stats.included_pod_metrics);
    if (specs.empty()) return grpc::Status::OK;
    StatsUsage usage(ctx_, UsagePurpose::kPodMetrics);
    lifecycle::PodFilter ready;
    ready.state = v1::SANDBOX_READY;
    v1::StreamPodSandboxMetricsResponse batch;
    for (const auto& pod : usage.Pods(ctx_.lifecycle->ListPods(ready))) {
      FillPodMetrics(pod, specs, batch.add_pod_sandbox_metrics());
      if (batch.pod_sandbox_metrics_size() == kStreamBatch) {
        if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        batch.Clear();
      }
    }
    if (batch.pod_sandbox_metrics_size() > 0) writer->Write(batch);
    return grpc::Status::OK;
  });
}

}  // namespace crio::server
