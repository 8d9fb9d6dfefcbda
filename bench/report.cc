#include "report.h"

#include <cstdio>
#include <map>
#include <optional>

#include "bench_util.h"

namespace crio::bench {
namespace {

using ResultMap = std::map<std::pair<std::string, std::string>, Result>;

const std::vector<std::string> kDaemonRows = {"crio+crun", "crio+runc", "containerd+runc"};
const std::vector<std::string> kLifecycleRows = {"crio+crun", "crio+runc", "floor crun",
                                                 "floor runc", "containerd+runc"};

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

const Result* Find(const ResultMap& results, const std::string& row, const std::string& metric) {
  auto it = results.find({row, metric});
  return it == results.end() ? nullptr : &it->second;
}

std::optional<double> P50(const ResultMap& results, const std::string& row,
                          const std::string& metric) {
  const Result* r = Find(results, row, metric);
  if (r == nullptr || r->kind != "lat") return std::nullopt;
  return r->p50;
}

std::optional<double> Mb(const ResultMap& results, const std::string& row,
                         const std::string& metric) {
  const Result* r = Find(results, row, metric);
  if (r == nullptr || r->kind != "mb") return std::nullopt;
  return r->value;
}

// "p50 / p99", "12.3" (MB), "n/a (why)" or "–".
std::string Cell(const ResultMap& results, const std::string& row, const std::string& metric) {
  const Result* r = Find(results, row, metric);
  if (r == nullptr) return "–";
  if (r->kind == "lat") return Fmt("%.1f", r->p50) + " / " + Fmt("%.1f", r->p99);
  if (r->kind == "mb") return Fmt("%.2f", r->value);
  std::string why = r->reason.size() > 70 ? r->reason.substr(0, 67) + "..." : r->reason;
  return "n/a (" + why + ")";
}

void PrintTable(const ResultMap& results, const std::vector<std::string>& rows,
                const std::vector<std::string>& metrics, const std::vector<std::string>& headers) {
  std::printf("| |");
  for (const auto& h : headers) std::printf(" %s |", h.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < headers.size(); ++i) std::printf("---:|");
  std::printf("\n");
  for (const auto& row : rows) {
    bool any = false;
    for (const auto& m : metrics) any = any || Find(results, row, m) != nullptr;
    if (!any) continue;
    std::printf("| %s |", row.c_str());
    for (const auto& m : metrics) std::printf(" %s |", Cell(results, row, m).c_str());
    std::printf("\n");
  }
  std::printf("\n");
}

// "met"/"MISSED" line comparing value with limit.
void Verdict(const std::string& what, std::optional<double> value, std::optional<double> limit,
             const std::string& unit) {
  if (!value || !limit) {
    std::printf("- %s: not measured\n", what.c_str());
    return;
  }
  std::printf("- %s: %s %s vs limit %s %s → %s\n", what.c_str(), Fmt("%.1f", *value).c_str(),
              unit.c_str(), Fmt("%.1f", *limit).c_str(), unit.c_str(),
              *value <= *limit ? "met" : "MISSED");
}

std::optional<double> Plus(std::optional<double> a, double b) {
  if (!a) return std::nullopt;
  return *a + b;
}

void LifecycleTable(const ResultMap& r) {
  std::printf(
      "### Pod and container lifecycle, busybox `top`, hostNetwork pods (ms, p50 / p99)"
      "\n\n");
  PrintTable(
      r, kLifecycleRows,
      {"RunPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer",
       "StopPodSandbox", "RemovePodSandbox", "create+start+stop+remove", "pod start"},
      {"RunPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer",
       "StopPodSandbox", "RemovePodSandbox", "container create+start+stop+remove",
       "pod start (Run+Create+Start)"});
  std::printf(
      "Floor rows: `run -d` + `delete -f` of the same busybox bundle (crun behind the "
      "hybrid-cgroup wrapper, as crio runs it). Target (issue 4): container "
      "create+start+stop+remove within 10 ms of the floor (issue's figures: crun ~14 ms, "
      "runc ~35 ms; containerd 1.6 + runc 101 ms median).\n\n");
  const std::string m = "create+start+stop+remove";
  Verdict("crio+crun create+start+stop+remove p50 ≤ floor crun p50 + 10", P50(r, "crio+crun", m),
          Plus(P50(r, "floor crun", m), 10), "ms");
  Verdict("crio+runc create+start+stop+remove p50 ≤ floor runc p50 + 10", P50(r, "crio+runc", m),
          Plus(P50(r, "floor runc", m), 10), "ms");
  std::printf("\n");
}

void MemoryTable(const ResultMap& r, const std::vector<int>& counts) {
  std::printf(
      "### Memory (MB = 10^6 bytes): daemon RSS, and PSS of daemon + every monitor "
      "(conmon / containerd-shim-runc-v2) with N running busybox `top` pods\n\n");
  std::vector<std::string> metrics = {"daemon RSS idle"};
  std::vector<std::string> headers = {"daemon RSS idle"};
  for (int n : counts) {
    metrics.push_back("PSS total @" + std::to_string(n));
    headers.push_back("PSS daemon+monitors @" + std::to_string(n));
  }
  for (int n : counts) {
    if (n == 0) continue;
    metrics.push_back("per-pod PSS @" + std::to_string(n));
    headers.push_back("per pod @" + std::to_string(n));
  }
  if (!counts.empty()) {
    std::string max = std::to_string(counts.back());
    metrics.push_back("daemon RSS @" + max);
    headers.push_back("daemon RSS @" + max);
    metrics.push_back("monitors PSS @" + max);
    headers.push_back("monitors PSS @" + max);
    metrics.push_back("monitor processes @" + max);
    headers.push_back("monitors @" + max);
  }
  PrintTable(r, kDaemonRows, metrics, headers);
  std::printf(
      "Per pod = (PSS @N − PSS @0) / N. The daemon's PSS also moves when other processes "
      "on the machine map the same libraries, so per-pod figures at small N are noisy; "
      "monitors PSS @max / max is the monitors' share alone. Targets (issue 4): daemon < 16 MB RSS "
      "idle "
      "(containerd 42 MB); < 0.5 MB PSS per pod including monitors, also at 110 pods "
      "(containerd: 100 MB daemon RSS + 2.7 MB PSS per shim at 110 pods).\n\n");
  for (const std::string row : {"crio+crun", "crio+runc"}) {
    Verdict(row + " daemon RSS idle < 16 MB", Mb(r, row, "daemon RSS idle"), 16.0, "MB");
    if (!counts.empty() && counts.back() > 0) {
      std::string at = std::to_string(counts.back());
      Verdict(row + " per-pod PSS @" + at + " < 0.5 MB", Mb(r, row, "per-pod PSS @" + at), 0.5,
              "MB");
    }
  }
  std::printf("\n");
}

void PodStartTable(const ResultMap& r, const std::vector<int>& counts) {
  if (counts.empty()) return;
  std::string at = std::to_string(counts.back());
  std::string metric = "pod start @" + at;
  std::printf(
      "### Pod start (RunPodSandbox+CreateContainer+StartContainer) with %s running "
      "pods (ms, p50 / p99)\n\n",
      at.c_str());
  PrintTable(r, kDaemonRows, {metric}, {"pod start @" + at});
  std::printf(
      "Target (issue 4): < 0.4x containerd's median at 110 pods (issue's figure: "
      "containerd 182 ms).\n\n");
  auto limit = P50(r, "containerd+runc", metric);
  if (limit) *limit *= 0.4;
  for (const std::string row : {"crio+crun", "crio+runc"}) {
    Verdict(row + " pod start p50 @" + at + " < 0.4 x containerd+runc p50", P50(r, row, metric),
            limit, "ms");
  }
  std::printf("\n");
}

void NetworkTable(const ResultMap& r) {
  std::printf(
      "### Networking share: pod RunPodSandbox+StopPodSandbox+RemovePodSandbox, no "
      "container (ms, p50 / p99)\n\n");
  std::vector<std::string> rows = kDaemonRows;
  rows.push_back("floor netns+CNI");
  PrintTable(
      r, rows,
      {"pod run+stop+remove (hostNetwork)", "pod run+stop+remove (CNI)", "RunPodSandbox (CNI)",
       "StopPodSandbox+RemovePodSandbox (CNI)", "netns+ADD", "DEL+netns rm"},
      {"run+stop+remove, hostNetwork", "run+stop+remove, CNI", "RunPodSandbox, CNI",
       "Stop+RemovePodSandbox, CNI", "floor: netns+ADD", "floor: DEL+netns rm"});
  std::printf(
      "CNI: bridge (own bridge, 10.198.0.0/16, host-local, no masquerade) + portmap, "
      "and loopback, from /usr/lib/cni. The floor row's run+stop+remove is netns+ADD + "
      "DEL+netns rm. Target (issue 6): pod run+stop+remove within 10 ms of the floor "
      "(issue's figures: ~35 ms ADD, ~40 ms DEL; containerd whole pod cycle 163 ms).\n\n");
  const std::string m = "pod run+stop+remove (CNI)";
  for (const std::string row : {"crio+crun", "crio+runc"}) {
    Verdict(row + " pod run+stop+remove (CNI) p50 ≤ floor + 10", P50(r, row, m),
            Plus(P50(r, "floor netns+CNI", m), 10), "ms");
  }
  std::printf("\n");
}

void ExecTable(const ResultMap& r) {
  std::printf("### Exec of `true` in a running busybox `top` container (ms, p50 / p99)\n\n");
  PrintTable(
      r, kLifecycleRows, {"ExecSync true", "Exec true (streaming)", "runtime exec true"},
      {"ExecSync", "streaming Exec (RPC + SPDY session)", "floor: `runtime exec <id> true`"});
  std::printf(
      "hostNetwork pods. Streaming Exec is what `kubectl exec` costs: the Exec RPC, the SPDY "
      "upgrade, error/stdout/stderr streams and the exit status (v4), output discarded. Floor "
      "rows: `runc|crun exec <id> true` in a container the floor started with `run -d` from the "
      "same bundle (crun behind the hybrid-cgroup wrapper, as crio runs it).\n\n");
}

void PortForwardTable(const ResultMap& r) {
  std::printf(
      "### Port-forward throughput into a busybox `nc` echo server (MB/s, MB = 10^6 bytes; "
      "median of the runs)\n\n");
  PrintTable(r, kDaemonRows, {"port-forward MB/s", "direct MB/s", "port-forward/direct"},
             {"port-forward MB/s", "direct TCP in the pod's netns MB/s", "port-forward / direct"});
  std::printf(
      "Pods with a pod network (CNI). MB/s = bytes pushed one way / time until all of them "
      "came back. Port-forward: one PortForward session, one forwarded connection per run, fed "
      "from a socketpair. Direct: the same transfer over a TCP connection to 127.0.0.1:8081 made "
      "inside the pod's netns (/proc/<container pid>/ns/net), no daemon in between; measured "
      "alternately with port-forward against the same pod.\n\n");
}

// "110 (110)": the fewest entries a measured call returned, and of them how many had usage (and,
// for pods, a network interface).
std::string EntriesCell(const ResultMap& r, const std::string& row, const std::string& rpc,
                        const std::string& at, bool pods) {
  auto total = Mb(r, row, rpc + " entries " + at);
  if (!total) return Cell(r, row, rpc + " entries " + at);
  auto usage = Mb(r, row, rpc + " entries with cpu+mem " + at);
  std::string cell = Fmt("%.0f", *total) + " (" + (usage ? Fmt("%.0f", *usage) : "?");
  if (pods) {
    auto net = Mb(r, row, rpc + " entries with network " + at);
    cell += " / " + (net ? Fmt("%.0f", *net) : "?");
  }
  return cell + ")";
}

// "met"/"MISSED" line for a goal of being `factor` times faster than containerd.
void AheadVerdict(const ResultMap& r, const std::string& row, const std::string& metric,
                  double factor) {
  auto ours = P50(r, row, metric);
  auto theirs = P50(r, "containerd+runc", metric);
  if (!ours || !theirs || *ours <= 0) {
    std::printf("- goal: %s %s p50 %.0fx ahead of containerd+runc: not measured\n", row.c_str(),
                metric.c_str(), factor);
    return;
  }
  double ahead = *theirs / *ours;
  std::printf("- goal: %s %s p50 %.0fx ahead of containerd+runc: %s ms vs %s ms = %sx → %s\n",
              row.c_str(), metric.c_str(), factor, Fmt("%.2f", *ours).c_str(),
              Fmt("%.1f", *theirs).c_str(), Fmt("%.1f", ahead).c_str(),
              ahead >= factor ? "met" : "MISSED");
}

void StatsTable(const ResultMap& r, const std::vector<int>& counts) {
  if (counts.empty()) return;
  const std::string top = std::to_string(counts.back());
  const std::string at = "@" + top;
  std::printf(
      "### Stats: ListContainerStats and ListPodSandboxStats (empty filter) with N running "
      "busybox `top` pods (ms, p50 / p99), entries returned, daemon CPU while polled\n\n");
  std::vector<std::string> headers;
  for (int n : counts) {
    headers.push_back("ListContainerStats @" + std::to_string(n));
    headers.push_back("ListPodSandboxStats @" + std::to_string(n));
  }
  headers.push_back("ListContainerStats entries " + at + " (with cpu+mem)");
  headers.push_back("ListPodSandboxStats entries " + at + " (with cpu+mem / network)");
  headers.push_back("daemon CPU s/min " + at + ", polled");
  headers.push_back("daemon+monitors CPU s/min " + at + ", polled");
  std::printf("| |");
  for (const auto& h : headers) std::printf(" %s |", h.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < headers.size(); ++i) std::printf("---:|");
  std::printf("\n");
  for (const auto& row : kDaemonRows) {
    std::vector<std::string> cells;
    bool any = false;
    for (int n : counts) {
      for (const std::string rpc : {"ListContainerStats", "ListPodSandboxStats"}) {
        std::string metric = rpc + " @" + std::to_string(n);
        any = any || Find(r, row, metric) != nullptr;
        cells.push_back(Cell(r, row, metric));
      }
    }
    cells.push_back(EntriesCell(r, row, "ListContainerStats", at, false));
    cells.push_back(EntriesCell(r, row, "ListPodSandboxStats", at, true));
    cells.push_back(Cell(r, row, "daemon CPU s/min polled " + at));
    cells.push_back(Cell(r, row, "daemon+monitors CPU s/min polled " + at));
    if (!any) continue;
    std::printf("| %s |", row.c_str());
    for (const auto& c : cells) std::printf(" %s |", c.c_str());
    std::printf("\n");
  }
  std::printf(
      "\nOne busybox `top` container per pod, each pod in its own cgroup "
      "(<cgroup parent>/pod<uid>, cgroupfs). Calls alternate between the two RPCs with a pause "
      "before each (`STATS_GAP_MS`), after `WARMUP` unmeasured calls; entries are the fewest any "
      "measured call returned. CPU: utime+stime (+ reaped children) from /proc/<pid>/stat over "
      "`STATS_CPU_S` s while both RPCs are called every 10 s (the kubelet's summary/eviction "
      "polling); monitors are conmon / containerd-shim-runc-v2 (containerd's shims read the "
      "cgroups for its stats, crio's conmon takes no part). crio runs with [crio.stats] "
      "collection_period = 0 (cgroups read per request). Targets (issue 13): ListContainerStats "
      "≤ 10 ms and ListPodSandboxStats ≤ 20 ms p50 at 110 pods; goal 20x and 60x ahead of "
      "containerd (issue's figures: containerd 211 ms / 1354 ms at 110 pods).\n\n");
  for (const std::string row : {"crio+crun", "crio+runc"}) {
    Verdict(row + " ListContainerStats p50 " + at + " ≤ 10 ms",
            P50(r, row, "ListContainerStats " + at), 10.0, "ms");
    Verdict(row + " ListPodSandboxStats p50 " + at + " ≤ 20 ms",
            P50(r, row, "ListPodSandboxStats " + at), 20.0, "ms");
  }
  for (const std::string row : {"crio+crun", "crio+runc"}) {
    AheadVerdict(r, row, "ListContainerStats " + at, 20);
    AheadVerdict(r, row, "ListPodSandboxStats " + at, 60);
  }
  // A daemon that answers with fewer entries than pods, or entries without usage, is not fast.
  for (const auto& row : kDaemonRows) {
    for (const std::string rpc : {"ListContainerStats", "ListPodSandboxStats"}) {
      auto total = Mb(r, row, rpc + " entries " + at);
      auto usage = Mb(r, row, rpc + " entries with cpu+mem " + at);
      if (!total) continue;
      bool complete = *total >= counts.back() && usage && *usage >= counts.back();
      if (!complete) {
        std::printf("- %s %s %s: %s entries, %s with cpu+mem, for %s pods → INCOMPLETE\n",
                    row.c_str(), rpc.c_str(), at.c_str(), Fmt("%.0f", *total).c_str(),
                    usage ? Fmt("%.0f", *usage).c_str() : "?", top.c_str());
      }
    }
  }
  std::printf("\n");
}

}  // namespace

Status PrintReport(const std::string& results_path, const std::vector<int>& counts,
                   const std::vector<int>& stats_counts) {
  ASSIGN_OR_RETURN(ResultMap results, ReadResults(results_path));
  LifecycleTable(results);
  MemoryTable(results, counts);
  PodStartTable(results, counts);
  NetworkTable(results);
  ExecTable(results);
  PortForwardTable(results);
  StatsTable(results, stats_counts);
  return absl::OkStatus();
}

}  // namespace crio::bench
