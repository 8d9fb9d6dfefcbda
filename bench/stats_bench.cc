#include "stats_bench.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

namespace crio::bench {
namespace {

const char kContainers[] = "ListContainerStats";
const char kPods[] = "ListPodSandboxStats";

// What one answer held: entries, and how many of them carry usage (so that a daemon answering
// with empty entries, or none, cannot pass for a fast one).
struct Entries {
  size_t total = 0;
  size_t with_usage = 0;    // CPU usage_core_nano_seconds and memory working set present
  size_t with_network = 0;  // pods: a default interface with a name
  size_t containers = 0;    // pods: container stats inside the pod stats

  void KeepFewest(const Entries& e) {
    total = std::min(total, e.total);
    with_usage = std::min(with_usage, e.with_usage);
    with_network = std::min(with_network, e.with_network);
    containers = std::min(containers, e.containers);
  }
};

constexpr size_t kNone = std::numeric_limits<size_t>::max();

Entries Count(const v1::ListContainerStatsResponse& resp) {
  Entries e;
  for (const auto& s : resp.stats()) {
    ++e.total;
    if (s.cpu().has_usage_core_nano_seconds() && s.memory().has_working_set_bytes()) {
      ++e.with_usage;
    }
  }
  return e;
}

Entries Count(const v1::ListPodSandboxStatsResponse& resp) {
  Entries e;
  for (const auto& s : resp.stats()) {
    ++e.total;
    const auto& l = s.linux();
    if (l.cpu().has_usage_core_nano_seconds() && l.memory().has_working_set_bytes()) {
      ++e.with_usage;
    }
    if (!l.network().default_interface().name().empty()) ++e.with_network;
    e.containers += static_cast<size_t>(l.containers_size());
  }
  return e;
}

// One call's time in ms, and what came back.
template <typename Call>
StatusOr<std::pair<double, Entries>> Timed(Call call) {
  auto start = Clock::now();
  auto resp = call();
  double ms = MsSince(start);
  if (!resp.ok()) return resp.status();
  return std::make_pair(ms, Count(*resp));
}

// The calls of one RPC at one count: latencies and the fewest entries, or the first error.
struct Series {
  std::string rpc;
  Samples ms;
  Entries fewest{kNone, kNone, kNone, kNone};
  Status error;

  void Take(bool measured, const StatusOr<std::pair<double, Entries>>& r) {
    if (!r.ok()) {
      error = r.status();
      return;
    }
    if (!measured) return;
    ms.Add(r->first);
    fewest.KeepFewest(r->second);
  }
};

Status Record(const StatsOptions& o, const Series& s, const std::string& at) {
  const std::string& res = o.cri.results;
  const std::string& row = o.cri.row;
  const std::string entries = s.rpc + " entries";
  const bool pods = s.rpc == kPods;
  if (!s.error.ok() || s.ms.empty()) {
    std::string why = s.error.ok() ? "no measured calls" : Message(s.error);
    RETURN_IF_ERROR(AppendNa(res, row, s.rpc + " " + at, why));
    return AppendNa(res, row, entries + " " + at, why);
  }
  RETURN_IF_ERROR(AppendLatency(res, row, s.rpc + " " + at, s.ms));
  RETURN_IF_ERROR(AppendMb(res, row, entries + " " + at, static_cast<double>(s.fewest.total)));
  RETURN_IF_ERROR(AppendMb(res, row, entries + " with cpu+mem " + at,
                           static_cast<double>(s.fewest.with_usage)));
  if (pods) {
    RETURN_IF_ERROR(AppendMb(res, row, entries + " with network " + at,
                             static_cast<double>(s.fewest.with_network)));
    RETURN_IF_ERROR(
        AppendMb(res, row, s.rpc + " containers " + at, static_cast<double>(s.fewest.containers)));
  }
  return absl::OkStatus();
}

void Pause(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// ListContainerStats and ListPodSandboxStats alternating, each after gap_ms: nothing is served
// back to back, so a daemon with a short-lived cache of its last answer gains nothing.
Status MeasureAt(CriClient& cri, const StatsOptions& o, int count) {
  Series containers{kContainers, {}, {kNone, kNone, kNone, kNone}, {}};
  Series pods{kPods, {}, {kNone, kNone, kNone, kNone}, {}};
  for (int i = -o.cri.warmup; i < o.cri.runs && (containers.error.ok() || pods.error.ok()); ++i) {
    if (containers.error.ok()) {
      Pause(o.gap_ms);
      containers.Take(i >= 0, Timed([&] { return cri.ListContainerStats(); }));
    }
    if (pods.error.ok()) {
      Pause(o.gap_ms);
      pods.Take(i >= 0, Timed([&] { return cri.ListPodSandboxStats(); }));
    }
  }
  const std::string at = "@" + std::to_string(count);
  RETURN_IF_ERROR(Record(o, containers, at));
  RETURN_IF_ERROR(Record(o, pods, at));
  for (const Series* s : {&containers, &pods}) {
    if (!s->error.ok()) {
      std::fprintf(stderr, "crio-bench stats: %s %s: %s\n", o.cri.row.c_str(), s->rpc.c_str(),
                   Message(s->error).c_str());
    } else if (s->fewest.total < static_cast<size_t>(count) ||
               s->fewest.with_usage < static_cast<size_t>(count)) {
      std::fprintf(stderr,
                   "crio-bench stats: %s %s %s: only %zu entries (%zu with cpu+mem) for %d "
                   "pods\n",
                   o.cri.row.c_str(), s->rpc.c_str(), at.c_str(), s->fewest.total,
                   s->fewest.with_usage, count);
    }
  }
  return absl::OkStatus();
}

// CPU seconds a process used so far: utime + stime, plus cutime + cstime of the children it
// reaped (a runtime binary the daemon ran meanwhile). Errors: the process is gone.
StatusOr<double> CpuSeconds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command in parentheses may hold spaces: fields are counted after the last ')'.
  size_t paren = text.rfind(')');
  if (!in.good() && text.empty()) return NotFound("cannot read `" + path + "`");
  if (paren == std::string::npos) return Internal("malformed `" + path + "`");
  std::istringstream fields(text.substr(paren + 1));
  std::vector<std::string> f;
  for (std::string field; fields >> field;) f.push_back(field);
  // f[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  if (f.size() < 15) return Internal("short `" + path + "`");
  double ticks = 0;
  for (size_t i = 11; i <= 14; ++i) ticks += std::stod(f[i]);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU seconds of each monitor process of the daemon, by pid.
std::map<pid_t, double> MonitorCpu(const StatsOptions& o) {
  std::map<pid_t, double> out;
  if (o.monitor.empty()) return out;
  for (pid_t pid : FindProcesses(o.monitor, o.monitor_match)) {
    StatusOr<double> s = CpuSeconds(pid);
    if (s.ok()) out[pid] = *s;
  }
  return out;
}

// The kubelet's polling (summary API / eviction: both RPCs every poll_s) for cpu_s seconds; the
// CPU the daemon, and the daemon with its monitors, used meanwhile, per minute.
Status MeasureCpu(CriClient& cri, const StatsOptions& o, int count) {
  const std::string at = " polled @" + std::to_string(count);
  const std::string& res = o.cri.results;
  const std::string& row = o.cri.row;
  ASSIGN_OR_RETURN(double daemon_before, CpuSeconds(o.daemon_pid));
  std::map<pid_t, double> monitors_before = MonitorCpu(o);
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(o.cpu_s);
  int polls = 0;
  Status failed;
  for (auto next = start; next < end; next += std::chrono::seconds(o.poll_s)) {
    std::this_thread::sleep_until(next);
    if (Clock::now() >= end) break;
    ++polls;
    // Errors are noted, not fatal: the CPU of a daemon that fails is still its CPU.
    auto c = cri.ListContainerStats();
    if (!c.ok() && failed.ok()) failed = c.status();
    auto p = cri.ListPodSandboxStats();
    if (!p.ok() && failed.ok()) failed = p.status();
  }
  std::this_thread::sleep_until(end);
  ASSIGN_OR_RETURN(double daemon_after, CpuSeconds(o.daemon_pid));
  std::map<pid_t, double> monitors_after = MonitorCpu(o);
  const double minutes = MsSince(start) / 60000.0;
  double monitors = 0;
  for (const auto& [pid, before] : monitors_before) {
    auto it = monitors_after.find(pid);
    if (it != monitors_after.end()) monitors += it->second - before;
  }
  const double daemon = daemon_after - daemon_before;
  std::fprintf(stderr,
               "crio-bench stats: %s: %d polls in %.1f s, daemon %.2f CPU s, %zu monitors %.2f "
               "CPU s\n",
               row.c_str(), polls, minutes * 60, daemon, monitors_before.size(), monitors);
  if (!failed.ok()) {
    std::fprintf(stderr, "crio-bench stats: %s: a polled call failed: %s\n", row.c_str(),
                 Message(failed).c_str());
  }
  RETURN_IF_ERROR(AppendMb(res, row, "daemon CPU s/min" + at, daemon / minutes));
  return AppendMb(res, row, "daemon+monitors CPU s/min" + at, (daemon + monitors) / minutes);
}

// One pod with a running `top`; removed again when the container fails.
StatusOr<std::string> StartPod(CriClient& cri, const PodSpec& spec, int i) {
  PodTimes t;
  ASSIGN_OR_RETURN(std::string pod, cri.RunPod(spec, i, t));
  StatusOr<std::string> ctr = cri.StartTop(spec, pod, i, t);
  if (!ctr.ok()) {
    PodTimes ignored;
    (void)cri.StopRemovePod(pod, ignored);
    return ctr.status();
  }
  return pod;
}

Status Run(CriClient& cri, const StatsOptions& o, const std::vector<int>& counts,
           std::vector<std::string>& pods) {
  PodSpec spec = o.cri.spec;
  spec.name_prefix = "bench-stats";
  spec.need_ip = !spec.host_network;
  for (int count : counts) {
    while (static_cast<int>(pods.size()) < count) {
      ASSIGN_OR_RETURN(std::string pod, StartPod(cri, spec, static_cast<int>(pods.size())));
      pods.push_back(pod);
    }
    RETURN_IF_ERROR(MeasureAt(cri, o, count));
  }
  if (o.cpu_s > 0 && !counts.empty()) RETURN_IF_ERROR(MeasureCpu(cri, o, counts.back()));
  return absl::OkStatus();
}

}  // namespace

Status RunStatsBench(const StatsOptions& o) {
  ASSIGN_OR_RETURN(std::vector<int> counts, ParseCounts(o.counts));
  if (o.poll_s <= 0 || o.cpu_s < 0 || o.gap_ms < 0) {
    return InvalidArgument("--poll-s must be > 0, --cpu-s and --gap-ms >= 0");
  }
  CriClient cri(o.cri.endpoint);
  std::vector<std::string> pods;
  Status st = Run(cri, o, counts, pods);
  Status removed;
  for (const auto& pod : pods) {
    PodTimes t;
    Status r = cri.StopRemovePod(pod, t);
    if (removed.ok()) removed = r;
  }
  RETURN_IF_ERROR(st);
  return removed;
}

}  // namespace crio::bench
