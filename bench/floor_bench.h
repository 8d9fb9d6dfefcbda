#pragma once
// The floors our daemon is compared with: what the bare OCI runtime and the bare CNI plugins
// cost for the same work, with no CRI daemon in between.

#include <string>

#include "bench_util.h"

namespace crio::bench {

struct RuntimeFloorOptions {
  std::string runtime;  // crun, runc, or a wrapper script around one
  std::string bundle;   // an unpacked bundle: config.json + rootfs (busybox top)
  std::string root;     // the runtime's --root (state dir), a temp dir
  int runs = 30;
  int warmup = 2;
  std::string results;  // results file
  std::string row;      // e.g. "floor crun"
};

// `runtime run -d` + `runtime delete -f` of the bundle, `runs` times. Records
// "create+start+stop+remove" (both), "run -d" and "delete -f".
// Errors: a runtime command fails (its output is in the message).
Status RunRuntimeFloor(const RuntimeFloorOptions& options);

// The floor of an exec: one container started with `runtime run -d` from the bundle, then
// `runtime exec <id> true` `warmup` + `runs` times, then `delete -f`. Records "runtime exec true".
// Errors: a runtime command fails (its output is in the message).
Status RunRuntimeExecFloor(const RuntimeFloorOptions& options);

struct NetworkFloorOptions {
  std::string conflist;   // a CNI .conflist (bridge + portmap)
  std::string bin_dir;    // CNI_PATH, e.g. /usr/lib/cni
  std::string netns_dir;  // where netns bind mounts are pinned, a temp dir
  int runs = 30;
  int warmup = 2;
  std::string results;
  std::string row = "floor netns+CNI";
};

// Per run: a new netns pinned as a file, loopback ADD, then each plugin of the conflist ADD in
// order (prevResult chained); then DEL in reverse order and the netns unpinned. Records
// "netns+ADD", "DEL+netns rm" and "pod network cycle" (their sum).
// Errors: a plugin fails (its CNI error is in the message), or the netns cannot be made.
Status RunNetworkFloor(const NetworkFloorOptions& options);

}  // namespace crio::bench
