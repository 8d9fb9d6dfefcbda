#pragma once
// Per-pod files the runtime writes itself and later bind-mounts into every container of the pod:
// `hostname`, `resolv.conf`, `hosts`, and the pod's /dev/shm tmpfs (`shm`), all in the pod's
// volatile directory (CRI-O: <runroot>/overlay-containers/<id>/userdata).
//
// Files are rewritten in place (O_TRUNC, same inode) rather than replaced by rename: a container
// that already bind-mounts `hosts` keeps seeing the file after RewriteHostsWithIps.
// Inputs are plain structs; the server layer converts the CRI protobufs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::sandbox {

inline constexpr char kHostResolvConf[] = "/etc/resolv.conf";
inline constexpr char kHostnameFile[] = "hostname";
inline constexpr char kResolvConfFile[] = "resolv.conf";
inline constexpr char kHostsFile[] = "hosts";
inline constexpr char kShmDir[] = "shm";
// CRI-O's default pod /dev/shm size (64 MiB); the shm-size.crio.io annotation overrides it.
inline constexpr uint64_t kDefaultShmSizeBytes = 64ull * 1024 * 1024;

// CRI DNSConfig. All empty = "use the host's resolv.conf".
struct DnsConfig {
  std::vector<std::string> servers;   // IPv4/IPv6 literals (an IPv6 may carry a %zone)
  std::vector<std::string> searches;  // search domains
  std::vector<std::string> options;   // e.g. "ndots:5", "edns0"
};

// --- Pure renderers (no I/O) -------------------------------------------------------------------

// Checks a pod hostname: 1..64 characters (the kernel's limit) of [A-Za-z0-9._-], not starting
// with '-' or '.'. InvalidArgument otherwise. ('_' because CRI-O accepts it and its users'
// configs carry it, e.g. "crictl_host".)
Status ValidateHostname(std::string_view hostname);

// The hostname a pod gets, as CRI-O chooses it: the configured one when set; otherwise the
// node's (`node_hostname`) for a host-network pod and the first 12 characters of the pod ID for
// a pod with its own UTS namespace. The pod name is never used: the kubelet's names are often
// longer than a hostname may be.
std::string PodHostname(std::string_view configured, std::string_view pod_id, bool host_network,
                        std::string_view node_hostname);

// resolv.conf text for a non-empty `dns`: a "search" line, one "nameserver" line per server, an
// "options" line; lines whose list is empty are left out. InvalidArgument if a server is not an
// IP address or any entry is empty or contains whitespace or control characters (which would
// let it inject lines).
StatusOr<std::string> RenderResolvConf(const DnsConfig& dns);

// hosts text: the loopback entries, then "<ip>\t<hostname>[ <short name>]" per IP in `ips`, or
// "127.0.1.1\t<hostname>..." while no IP is known (the Debian convention for the own name).
// InvalidArgument for a bad hostname or a non-IP entry in `ips`.
StatusOr<std::string> RenderHosts(std::string_view hostname, const std::vector<std::string>& ips);

// --- Files in the pod directory ----------------------------------------------------------------
// `pod_dir` must exist. Files are created 0644. Errors: the validation errors above, or the
// errno of the failed open/write (NotFound when `pod_dir` is missing).

// Writes "<hostname>\n" to <pod_dir>/hostname.
Status WriteHostnameFile(const std::string& pod_dir, std::string_view hostname);

// Writes <pod_dir>/resolv.conf from `dns`, or, when `dns` is entirely empty, copies
// `host_resolv_conf` (an empty file if the host has none, like a host without DNS).
Status WriteResolvConf(const std::string& pod_dir, const DnsConfig& dns,
                       const std::string& host_resolv_conf = kHostResolvConf);

// Writes <pod_dir>/hosts (see RenderHosts). Call again with the pod IPs once the network is up;
// the inode stays the same so existing bind mounts see the new content.
Status WriteHostsFile(const std::string& pod_dir, std::string_view hostname,
                      const std::vector<std::string>& ips = {});
inline Status RewriteHostsWithIps(const std::string& pod_dir, std::string_view hostname,
                                  const std::vector<std::string>& ips) {
  return WriteHostsFile(pod_dir, hostname, ips);
}

// --- /dev/shm ----------------------------------------------------------------------------------

// The tmpfs mount data for a pod shm of `size_bytes`: "mode=1777,size=<bytes>".
std::string ShmMountData(uint64_t size_bytes);

// Mounts a tmpfs (nosuid,nodev,noexec, mode 1777, size `size_bytes`) at <pod_dir>/shm, creating
// the directory, and returns that path. InvalidArgument for size 0; AlreadyExists if something
// is already mounted there; PermissionDenied without CAP_SYS_ADMIN; other mount errnos. Not done
// for host-IPC pods (the caller skips it, as CRI-O does).
StatusOr<std::string> MountShm(const std::string& pod_dir,
                               uint64_t size_bytes = kDefaultShmSizeBytes);

// Detaches the mount at `shm_path` (umount2 MNT_DETACH) and removes the directory. Idempotent:
// OK when nothing is mounted there or the path is gone.
Status UnmountShm(const std::string& shm_path);

}  // namespace crio::sandbox
