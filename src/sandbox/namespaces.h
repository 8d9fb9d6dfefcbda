#pragma once
// Pod namespace pinning: CRI-O's `pinns` helper, done in-process.
//
// A pod's network, IPC and UTS namespaces (and optionally a user namespace) must outlive every
// process in the pod, because with drop_infra_ctr there may be no pause process at all. They are
// created in a short-lived child and bind-mounted onto regular files
// `<namespaces_dir>/{netns,ipcns,utsns,userns}/<pod_id>`; those paths then go into the OCI spec's
// linux.namespaces[].path and, for the netns, into CNI_NETNS.
//
// The daemon is multi-threaded (gRPC), so the work that must run inside the new namespaces
// (sysctls, bringing up `lo`) happens in a child made by clone(2) that performs only raw,
// async-signal-safe syscalls and reports failures as a fixed-size record over a CLOEXEC pipe.
// The parent does all bind mounts (the child shares its mount namespace) while the child is
// still alive, then SIGKILLs and reaps it. Nothing waits for a pipe EOF: a child cloned at the
// same time by another thread inherits copies of our pipe ends (see TwentyPodsInParallel in
// tests/integration/podns_test.cc).
//
// Mount propagation: `ip netns add` turns /var/run/netns into a shared mount so that pins made
// later appear in mount namespaces copied earlier and `ip netns del` propagates. We deliberately
// leave the pin directories private: every consumer (CNI plugins, runc, conmon, the daemon)
// opens the pin path in the daemon's own mount namespace, and UnpinNamespaces unlinks the pin
// file after unmounting it, which (Linux >= 3.18) also detaches copies of the mount held by other
// mount namespaces, so nothing keeps a namespace alive after Unpin. A shared pin directory would
// instead multiply every pin into each peer mount namespace.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace crio::sandbox {

inline constexpr char kDefaultNamespacesDir[] = "/var/run";

struct PinRequest {
  std::string namespaces_dir = kDefaultNamespacesDir;
  std::string pod_id;  // file name of the pins: non-empty, no '/', not "." or ".."
  bool net = false;
  bool ipc = false;
  bool uts = false;
  bool user = false;
  // Required when user == true: /proc/<pid>/{uid,gid}_map contents, one "inside outside count"
  // triple per line, e.g. "0 100000 65536".
  std::string uid_map;
  std::string gid_map;
  // name (dotted "net.ipv4.ip_forward" or slashed "net/ipv4/ip_forward") -> value.
  std::vector<std::pair<std::string, std::string>> sysctls;
};

// Paths of the pins; empty for a namespace that was not requested.
struct PinnedNamespaces {
  std::string net_path;
  std::string ipc_path;
  std::string uts_path;
  std::string user_path;
};

// Which namespace a sysctl belongs to, per Kubernetes' "namespaced sysctls" rules.
enum class SysctlNamespace {
  kNet,  // net.*
  kIpc,  // kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*
};

// Classifies `name` (dotted or slashed form). InvalidArgument naming the sysctl when it is
// malformed or not namespaced (e.g. "kernel.panic", "vm.swappiness"): such sysctls would change
// the host and are never allowed for a pod.
StatusOr<SysctlNamespace> ClassifySysctl(std::string_view name);

// The /proc/sys path for `name`. Kubernetes accepts both separators; in the slashed form a '.'
// is part of a component (e.g. a VLAN interface "eth0.100"), so
// "net/ipv4/conf/eth0.100/rp_filter" and "net.ipv4.conf.eth0/100.rp_filter" both give
// "/proc/sys/net/ipv4/conf/eth0.100/rp_filter". InvalidArgument for empty, ".", ".."
// components or characters outside [A-Za-z0-9_-.:/].
StatusOr<std::string> SysctlProcPath(std::string_view name);

// Checks the whole request without side effects: pod id, that at least one namespace is
// requested, user-namespace mappings, every sysctl (namespaced, and its namespace is one being
// created: a net.* sysctl for a host-network pod is refused), values without NUL or newline.
// InvalidArgument naming the offending field or sysctl.
Status ValidatePinRequest(const PinRequest& request);

// The pin paths PinNamespaces uses for `pod_id` under `namespaces_dir`, all four filled in.
// Useful to clean up after a restart when only the pod id is known.
PinnedNamespaces PinPathsFor(const std::string& namespaces_dir, const std::string& pod_id);

// Creates the requested namespaces, applies the sysctls inside them, brings up `lo` in a new
// netns, and pins each one. Creates `<namespaces_dir>` and its `<x>ns` subdirectories as needed.
// On any failure everything made so far (mounts, pin files) is undone and the child is reaped.
// Errors: InvalidArgument (see ValidatePinRequest); AlreadyExists if a pin for this pod id is
// already an nsfs mount; PermissionDenied without CAP_SYS_ADMIN; the failing syscall's errno
// otherwise, with context naming the pod, the step and (for sysctls) the sysctl.
// Thread-safe; concurrent calls for different pod ids are independent.
StatusOr<PinnedNamespaces> PinNamespaces(const PinRequest& request);

// Unmounts (MNT_DETACH) and unlinks every non-empty path in `pins`. Idempotent: a path that is
// missing or no longer mounted is fine, so it is safe to call again after a partial failure or a
// restart. Every path is attempted; the first error is returned.
Status UnpinNamespaces(const PinnedNamespaces& pins);

// True if `path` is a pinned (nsfs) network namespace, e.g. to check a netns before handing it
// to CNI or after a restart. False if it is missing, a plain file or another namespace type.
bool HasRealNetns(const std::string& path);

}  // namespace crio::sandbox
