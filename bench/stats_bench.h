#pragma once
// The stats benchmark (issue 13): ListContainerStats and ListPodSandboxStats latency at N running
// pods, how many entries come back (and how many carry usage), and the daemon's CPU while the
// kubelet's 10 s polling of both is simulated.

#include <sys/types.h>

#include "cri_client.h"

namespace crio::bench {

struct StatsOptions {
  CriOptions cri;  // cri.runs measured calls of each RPC per count, after cri.warmup ones
  std::string counts = "10,110";  // running pods, ascending; the CPU window runs at the last
  int gap_ms = 1000;              // pause before every call: no back-to-back calls
  int cpu_s = 60;                 // length of the polled CPU window; 0 leaves it out
  int poll_s = 10;                // the kubelet's cadence inside the window
  pid_t daemon_pid = 0;
  std::string monitor;        // conmon or containerd-shim-runc-v2
  std::string monitor_match;  // a string every monitor's command line of this daemon contains
};

// Brings up pods (one busybox `top` container each, cgroup parent <cgroup_parent>/pod<uid>, pod
// network when !cri.spec.host_network) to each count, and there calls, alternating with gap_ms
// before each call, ListContainerStats and ListPodSandboxStats (empty filter) warmup + runs
// times. Records per count N: "ListContainerStats @N", "ListPodSandboxStats @N" (latency), and
// the fewest entries any measured call returned: "ListContainerStats entries @N", "... with
// cpu+mem @N", "ListPodSandboxStats entries @N", "... with cpu+mem @N", "... with network @N",
// "ListPodSandboxStats containers @N". At the last count, for cpu_s seconds, one call of each
// every poll_s seconds, and the CPU time (utime+stime, plus reaped children) of the daemon and of
// the daemon plus its monitors from /proc/<pid>/stat: "daemon CPU s/min polled @N",
// "daemon+monitors CPU s/min polled @N". An RPC that fails is recorded as n/a with its error and
// the rest goes on. Every pod is removed at the end. Errors: the first failure.
Status RunStatsBench(const StatsOptions& options);

}  // namespace crio::bench
