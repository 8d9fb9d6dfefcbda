#pragma once
// The streaming benchmarks (issue 12): what an exec costs through ExecSync and through the Exec
// RPC plus its SPDY session (as `kubectl exec` does it), and what port-forward carries compared
// with a direct TCP connection into the pod's network namespace.

#include "cri_client.h"

namespace crio::bench {

struct StreamingOptions {
  CriOptions cri;
  int pf_mb = 256;  // MB (10^6 bytes) pushed one way, and echoed back, per transfer
  int pf_runs = 3;  // measured transfers each way (port-forward, direct); the median is kept
};

// Exec: a hostNetwork pod running busybox `top`; warmup + runs times, alternating, ExecSync
// `true` and Exec `true` with an SPDY session (stdout and stderr, discarded). Records
// "ExecSync true" and "Exec true (streaming)".
// Port-forward: a pod with its own network namespace (CNI) running a busybox `nc` echo server on
// port 8081; per run pf_mb MB pushed and read back, once over a TCP connection made inside the
// pod's netns (the floor) and once through one PortForward session. Records "direct MB/s",
// "port-forward MB/s" and "port-forward/direct".
// A metric that cannot be measured (containerd's streaming server refusing, say) is recorded as
// n/a with the reason and the others go on. Errors: the first such failure.
Status RunStreamingBench(const StreamingOptions& options);

}  // namespace crio::bench
