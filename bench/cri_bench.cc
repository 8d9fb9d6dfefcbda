// crio-bench: pod lifecycle, density/memory, networking, streaming and stats benchmarks against
// any CRI endpoint (crio or containerd), plus the floors (bare OCI runtime, bare CNI plugins)
// and the report.
// bench/run.sh drives it; see bench/README.md.

#include "cri_client.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "floor_bench.h"
#include "report.h"
#include "stats_bench.h"
#include "streaming_bench.h"

namespace crio::bench {
namespace {

void AddCriFlags(CLI::App* cmd, CriOptions& o) {
  cmd->add_option("--endpoint", o.endpoint, "CRI socket (unix:///path or path)")->required();
  cmd->add_option("--row", o.row, "row name in the tables, e.g. crio+crun")->required();
  cmd->add_option("--results", o.results, "results file to append to")->required();
  cmd->add_option("--image", o.spec.image, "busybox image reference")->required();
  cmd->add_option("--handler", o.spec.runtime_handler, "runtime handler ('' = default)");
  cmd->add_option("--cgroup-parent", o.spec.cgroup_parent, "pod cgroup parent, e.g. /crio-bench");
  cmd->add_option("--log-root", o.spec.log_root, "pod log directories go below it")->required();
  cmd->add_option("--runs", o.runs, "measured runs")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "unmeasured runs first")->capture_default_str();
}

// The seven calls of one pod with one `top` container; `times` gets each duration.
Status FullCycle(CriClient& cri, const PodSpec& spec, int i, PodTimes& times) {
  ASSIGN_OR_RETURN(std::string pod, cri.RunPod(spec, i, times));
  StatusOr<std::string> ctr = cri.StartTop(spec, pod, i, times);
  Status st = ctr.ok() ? cri.StopRemoveContainer(*ctr, times) : ctr.status();
  PodTimes pod_times;
  Status removed = cri.StopRemovePod(pod, pod_times);
  times.stop_pod = pod_times.stop_pod;
  times.remove_pod = pod_times.remove_pod;
  RETURN_IF_ERROR(st);
  return removed;
}

Status Lifecycle(const CriOptions& o) {
  CriClient cri(o.endpoint);
  for (int i = 0; i < o.warmup; ++i) {
    PodTimes t;
    RETURN_IF_ERROR(FullCycle(cri, o.spec, -1 - i, t));
  }
  Samples run_pod, create, start, stop, remove, stop_pod, remove_pod, ctr_cycle, pod_start;
  for (int i = 0; i < o.runs; ++i) {
    PodTimes t;
    RETURN_IF_ERROR(FullCycle(cri, o.spec, i, t));
    run_pod.Add(t.run_pod);
    create.Add(t.create);
    start.Add(t.start);
    stop.Add(t.stop);
    remove.Add(t.remove);
    stop_pod.Add(t.stop_pod);
    remove_pod.Add(t.remove_pod);
    ctr_cycle.Add(t.create + t.start + t.stop + t.remove);
    pod_start.Add(t.run_pod + t.create + t.start);
  }
  const std::vector<std::pair<const char*, const Samples*>> all = {
      {"RunPodSandbox", &run_pod},       {"CreateContainer", &create},
      {"StartContainer", &start},        {"StopContainer", &stop},
      {"RemoveContainer", &remove},      {"StopPodSandbox", &stop_pod},
      {"RemovePodSandbox", &remove_pod}, {"create+start+stop+remove", &ctr_cycle},
      {"pod start", &pod_start}};
  for (const auto& [metric, samples] : all) {
    RETURN_IF_ERROR(AppendLatency(o.results, o.row, metric, *samples));
  }
  return absl::OkStatus();
}

// Pod only: RunPodSandbox + StopPodSandbox + RemovePodSandbox, the networking benchmark.
Status PodCycle(const CriOptions& o) {
  CriClient cri(o.endpoint);
  const std::string net = o.spec.host_network ? "hostNetwork" : "CNI";
  Samples run_pod, stop_remove, total;
  for (int i = -o.warmup; i < o.runs; ++i) {
    PodTimes t;
    StatusOr<std::string> pod = cri.RunPod(o.spec, i, t);
    if (!pod.ok()) {
      if (!o.spec.host_network) {
        for (const std::string m : {"RunPodSandbox (CNI)", "StopPodSandbox+RemovePodSandbox (CNI)",
                                    "pod run+stop+remove (CNI)"}) {
          RETURN_IF_ERROR(AppendNa(o.results, o.row, m, Message(pod.status())));
        }
      }
      return pod.status();
    }
    RETURN_IF_ERROR(cri.StopRemovePod(*pod, t));
    if (i < 0) continue;
    run_pod.Add(t.run_pod);
    stop_remove.Add(t.stop_pod + t.remove_pod);
    total.Add(t.run_pod + t.stop_pod + t.remove_pod);
  }
  if (!o.spec.host_network) {
    RETURN_IF_ERROR(AppendLatency(o.results, o.row, "RunPodSandbox (CNI)", run_pod));
    RETURN_IF_ERROR(
        AppendLatency(o.results, o.row, "StopPodSandbox+RemovePodSandbox (CNI)", stop_remove));
  }
  return AppendLatency(o.results, o.row, "pod run+stop+remove (" + net + ")", total);
}

struct DensityOptions {
  CriOptions cri;
  std::string counts = "0,10,50,110";
  pid_t daemon_pid = 0;
  std::string monitor;        // conmon or containerd-shim-runc-v2
  std::string monitor_match;  // a string every monitor's command line of this daemon contains
  int settle_ms = 3000;
};

struct Memory {
  double daemon_rss = 0, daemon_pss = 0, monitors_pss = 0;
  size_t monitors = 0;
};

StatusOr<Memory> MeasureMemory(const DensityOptions& o) {
  Memory m;
  ASSIGN_OR_RETURN(uint64_t rss, RssBytes(o.daemon_pid));
  ASSIGN_OR_RETURN(uint64_t pss, PssBytes(o.daemon_pid));
  m.daemon_rss = static_cast<double>(rss) / 1e6;
  m.daemon_pss = static_cast<double>(pss) / 1e6;
  for (pid_t pid : FindProcesses(o.monitor, o.monitor_match)) {
    StatusOr<uint64_t> mon = PssBytes(pid);
    if (!mon.ok()) continue;  // exited meanwhile
    m.monitors_pss += static_cast<double>(*mon) / 1e6;
    ++m.monitors;
  }
  return m;
}

// One pod with a running `top`. Returns the pod id; `ms` gets Run+Create+Start.
StatusOr<std::string> StartPod(CriClient& cri, const PodSpec& spec, int i, double& ms) {
  PodTimes t;
  ASSIGN_OR_RETURN(std::string pod, cri.RunPod(spec, i, t));
  StatusOr<std::string> ctr = cri.StartTop(spec, pod, i, t);
  if (!ctr.ok()) {
    PodTimes ignored;
    (void)cri.StopRemovePod(pod, ignored);
    return ctr.status();
  }
  ms = t.run_pod + t.create + t.start;
  return pod;
}

Status RemovePods(CriClient& cri, std::vector<std::string>& pods) {
  Status first;
  for (const auto& pod : pods) {
    PodTimes t;
    Status st = cri.StopRemovePod(pod, t);
    if (first.ok()) first = st;
  }
  pods.clear();
  return first;
}

Status DensityAt(CriClient& cri, const DensityOptions& o, std::vector<std::string>& pods, int count,
                 const Memory& idle) {
  const std::string& res = o.cri.results;
  const std::string& row = o.cri.row;
  while (static_cast<int>(pods.size()) < count) {
    double ms = 0;
    ASSIGN_OR_RETURN(std::string pod, StartPod(cri, o.cri.spec, static_cast<int>(pods.size()), ms));
    pods.push_back(pod);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
  ASSIGN_OR_RETURN(Memory m, MeasureMemory(o));
  std::string at = "@" + std::to_string(count);
  RETURN_IF_ERROR(AppendMb(res, row, "daemon RSS " + at, m.daemon_rss));
  RETURN_IF_ERROR(AppendMb(res, row, "daemon PSS " + at, m.daemon_pss));
  RETURN_IF_ERROR(AppendMb(res, row, "monitors PSS " + at, m.monitors_pss));
  RETURN_IF_ERROR(AppendMb(res, row, "monitor processes " + at, static_cast<double>(m.monitors)));
  double total = m.daemon_pss + m.monitors_pss;
  RETURN_IF_ERROR(AppendMb(res, row, "PSS total " + at, total));
  if (count > 0) {
    double idle_total = idle.daemon_pss + idle.monitors_pss;
    RETURN_IF_ERROR(AppendMb(res, row, "per-pod PSS " + at, (total - idle_total) / count));
  }
  return absl::OkStatus();
}

Status Density(const DensityOptions& o) {
  ASSIGN_OR_RETURN(std::vector<int> counts, ParseCounts(o.counts));
  CriClient cri(o.cri.endpoint);
  // Warm the daemon up (image unpacked, code paths paged in) before the idle reading, as a
  // node that has run pods before.
  for (int i = 0; i < o.cri.warmup; ++i) {
    PodTimes t;
    RETURN_IF_ERROR(FullCycle(cri, o.cri.spec, -1 - i, t));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
  ASSIGN_OR_RETURN(Memory idle, MeasureMemory(o));
  RETURN_IF_ERROR(AppendMb(o.cri.results, o.cri.row, "daemon RSS idle", idle.daemon_rss));
  std::vector<std::string> pods;
  Status st;
  for (int count : counts) {
    st = DensityAt(cri, o, pods, count, idle);
    if (!st.ok()) break;
  }
  if (st.ok() && !counts.empty()) {
    // Pod start latency at the highest count: one more pod each time, removed again.
    Samples start;
    for (int i = 0; i < o.cri.runs && st.ok(); ++i) {
      double ms = 0;
      StatusOr<std::string> pod = StartPod(cri, o.cri.spec, 100000 + i, ms);
      st = pod.status();
      if (!pod.ok()) break;
      start.Add(ms);
      PodTimes t;
      st = cri.StopRemovePod(*pod, t);
    }
    if (st.ok()) {
      st = AppendLatency(o.cri.results, o.cri.row, "pod start @" + std::to_string(counts.back()),
                         start);
    }
  }
  Status removed = RemovePods(cri, pods);
  RETURN_IF_ERROR(st);
  return removed;
}

void AddRuntimeFloorFlags(CLI::App* cmd, RuntimeFloorOptions& o) {
  cmd->add_option("--runtime", o.runtime, "crun, runc or a wrapper")->required();
  cmd->add_option("--bundle", o.bundle, "OCI bundle dir")->required();
  cmd->add_option("--root", o.root, "runtime state root")->required();
  cmd->add_option("--row", o.row, "row name")->required();
  cmd->add_option("--results", o.results, "results file")->required();
  cmd->add_option("--runs", o.runs)->capture_default_str();
  cmd->add_option("--warmup", o.warmup)->capture_default_str();
}

int Fail(const char* what, const Status& st) {
  std::fprintf(stderr, "crio-bench %s: %s\n", what, st.ToString().c_str());
  return 1;
}

}  // namespace
}  // namespace crio::bench

int main(int argc, char** argv) {
  using namespace crio::bench;
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"crio-bench: CRI lifecycle, density, networking, streaming and stats benchmarks"};
  app.require_subcommand(1);

  std::string endpoint;
  std::vector<std::string> images;
  auto* pull = app.add_subcommand("pull", "pull images through the CRI");
  pull->add_option("--endpoint", endpoint, "CRI socket")->required();
  pull->add_option("images", images, "image references")->required();

  CriOptions life;
  auto* lifecycle = app.add_subcommand("lifecycle", "pod + busybox top container, all 7 calls");
  AddCriFlags(lifecycle, life);

  CriOptions podc;
  bool pod_network = false;
  auto* podcycle = app.add_subcommand("podcycle", "RunPodSandbox+Stop+Remove, no container");
  AddCriFlags(podcycle, podc);
  podcycle->add_flag("--pod-network", pod_network, "own netns through CNI (default hostNetwork)");

  DensityOptions dens;
  auto* density = app.add_subcommand("density", "memory at N running pods, pod start at max N");
  AddCriFlags(density, dens.cri);
  density->add_option("--counts", dens.counts, "pod counts, ascending")->capture_default_str();
  density->add_option("--daemon-pid", dens.daemon_pid, "the daemon's pid")->required();
  density->add_option("--monitor", dens.monitor, "monitor process name")->required();
  density->add_option("--monitor-match", dens.monitor_match,
                      "string in every monitor's command line (e.g. the daemon's temp dir)");
  density->add_option("--settle-ms", dens.settle_ms, "wait before reading memory")
      ->capture_default_str();

  StreamingOptions strm;
  auto* streaming = app.add_subcommand("streaming", "exec latency and port-forward throughput");
  AddCriFlags(streaming, strm.cri);
  streaming->add_option("--pf-mb", strm.pf_mb, "MB pushed (and echoed) per port-forward run")
      ->capture_default_str();
  streaming->add_option("--pf-runs", strm.pf_runs, "measured port-forward and direct transfers")
      ->capture_default_str();

  StatsOptions stat;
  bool stats_pod_network = false;
  auto* stats = app.add_subcommand(
      "stats", "ListContainerStats/ListPodSandboxStats latency at N pods, CPU while polled");
  AddCriFlags(stats, stat.cri);
  stats->add_option("--counts", stat.counts, "pod counts, ascending")->capture_default_str();
  stats->add_option("--gap-ms", stat.gap_ms, "pause before every measured call")
      ->capture_default_str();
  stats->add_option("--cpu-s", stat.cpu_s, "polled CPU window at the last count (0: none)")
      ->capture_default_str();
  stats->add_option("--poll-s", stat.poll_s, "polling period inside the CPU window")
      ->capture_default_str();
  stats->add_option("--daemon-pid", stat.daemon_pid, "the daemon's pid")->required();
  stats->add_option("--monitor", stat.monitor, "monitor process name");
  stats->add_option("--monitor-match", stat.monitor_match,
                    "string in every monitor's command line (e.g. the daemon's temp dir)");
  stats->add_flag("--pod-network", stats_pod_network,
                  "pods get their own netns through CNI (default hostNetwork)");

  RuntimeFloorOptions rt;
  auto* floor = app.add_subcommand("floor", "bare runtime run -d + delete -f");
  AddRuntimeFloorFlags(floor, rt);

  RuntimeFloorOptions rt_exec;
  auto* execfloor = app.add_subcommand("execfloor", "bare runtime exec <id> true");
  AddRuntimeFloorFlags(execfloor, rt_exec);

  NetworkFloorOptions net;
  auto* netfloor = app.add_subcommand("netfloor", "netns + CNI ADD/DEL without a daemon");
  netfloor->add_option("--conflist", net.conflist, "CNI conflist")->required();
  netfloor->add_option("--bin-dir", net.bin_dir, "CNI plugin dir")->required();
  netfloor->add_option("--netns-dir", net.netns_dir, "dir for pinned netns files")->required();
  netfloor->add_option("--results", net.results, "results file")->required();
  netfloor->add_option("--runs", net.runs)->capture_default_str();
  netfloor->add_option("--warmup", net.warmup)->capture_default_str();

  auto* cleanup = app.add_subcommand("cleanup", "stop and remove every crio-bench pod");
  cleanup->add_option("--endpoint", endpoint, "CRI socket")->required();

  std::string results;
  std::string counts = "0,10,50,110";
  auto* report = app.add_subcommand("report", "print the markdown tables");
  report->add_option("--results", results, "results file")->required();
  report->add_option("--counts", counts, "density pod counts")->capture_default_str();
  std::string stats_counts = "10,110";
  report->add_option("--stats-counts", stats_counts, "stats pod counts")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*pull) {
    CriClient cri(endpoint);
    if (auto st = cri.WaitReady(std::chrono::seconds(30)); !st.ok()) return Fail("pull", st);
    for (const auto& image : images) {
      if (auto st = cri.Pull(image); !st.ok()) return Fail("pull", st);
    }
    return 0;
  }
  if (*lifecycle) {
    auto st = Lifecycle(life);
    return st.ok() ? 0 : Fail("lifecycle", st);
  }
  if (*podcycle) {
    podc.spec.host_network = !pod_network;
    podc.spec.need_ip = pod_network;
    auto st = PodCycle(podc);
    return st.ok() ? 0 : Fail("podcycle", st);
  }
  if (*density) {
    auto st = Density(dens);
    return st.ok() ? 0 : Fail("density", st);
  }
  if (*streaming) {
    auto st = RunStreamingBench(strm);
    return st.ok() ? 0 : Fail("streaming", st);
  }
  if (*stats) {
    stat.cri.spec.host_network = !stats_pod_network;
    auto st = RunStatsBench(stat);
    return st.ok() ? 0 : Fail("stats", st);
  }
  if (*floor) {
    auto st = RunRuntimeFloor(rt);
    return st.ok() ? 0 : Fail("floor", st);
  }
  if (*execfloor) {
    auto st = RunRuntimeExecFloor(rt_exec);
    return st.ok() ? 0 : Fail("execfloor", st);
  }
  if (*netfloor) {
    auto st = RunNetworkFloor(net);
    return st.ok() ? 0 : Fail("netfloor", st);
  }
  if (*cleanup) {
    CriClient cri(endpoint);
    auto pods = cri.BenchPods();
    if (!pods.ok()) return Fail("cleanup", pods.status());
    crio::Status first;
    for (const auto& pod : *pods) {
      PodTimes t;
      crio::Status st = cri.StopRemovePod(pod, t);
      if (first.ok()) first = st;
    }
    return first.ok() ? 0 : Fail("cleanup", first);
  }
  auto parsed = ParseCounts(counts);
  if (!parsed.ok()) return Fail("report", parsed.status());
  auto parsed_stats = ParseCounts(stats_counts);
  if (!parsed_stats.ok()) return Fail("report", parsed_stats.status());
  auto st = PrintReport(results, *parsed, *parsed_stats);
  return st.ok() ? 0 : Fail("report", st);
}
