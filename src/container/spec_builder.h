#pragma once
// The OCI runtime configuration (config.json, opencontainers/runtime-spec config.md and
// config-linux.md) for a CRI container and for a pod's infra (pause) container, following
// CRI-O's CreateContainer (server/container_create*.go, internal/factory/container) and
// RunPodSandbox (server/sandbox_run_linux.go, internal/lib/sandbox).
//
// The builder is a function of its inputs plus a few host facts (HostInfo, injectable for
// tests). It reads, but never writes, the host: CRI devices are stat()ed, privileged containers
// list /dev, seccomp profile files are read. Creating directories in the rootfs is a separate
// step (PrepareRootfs).

// The generated CRI header must precede system headers: its Signal enum has SIGKILL etc.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api.pb.h"
#include "config/config.h"
#include "image/image_config.h"
#include "util/status.h"

namespace crio::container {

// What the pod sandbox provides to its containers.
struct PodResources {
  std::string pod_id;
  std::string hostname;
  // Pinned namespace files. Empty: the host's namespace when the matching host_* flag is set
  // (UTS follows host_network), otherwise a new namespace private to the container.
  std::string netns_path;
  std::string ipcns_path;
  std::string utsns_path;
  // The pod-shared PID namespace (/proc/<infra pid>/ns/pid) when the pod has one.
  std::string pidns_path;
  // Bind-mount sources. Empty hostname/resolv/hosts files are not mounted; an empty shm_path
  // binds the host's /dev/shm for host IPC, else mounts a private 64 MiB tmpfs.
  std::string hostname_file;
  std::string resolv_conf_file;
  std::string hosts_file;
  std::string shm_path;
  std::string cgroup_parent;  // informational; the container's own path is cgroups_path
  bool host_network = false;
  bool host_pid = false;
  bool host_ipc = false;
};

// Host facts the spec depends on. ProbeHost() reads them from the running system.
struct HostInfo {
  int cap_last_cap = 40;  // /proc/sys/kernel/cap_last_cap
  // The daemon's capability bounding set (/proc/self/status CapBnd), bit n = capability n. The
  // runtime cannot give a container more: privileged and "ALL" mean all of these, and adding
  // one outside it is refused (e.g. CAP_SYS_RESOURCE where the daemon runs without it).
  uint64_t bounding_caps = ~uint64_t{0};
  bool apparmor_enabled = false;   // /sys/module/apparmor/parameters/enabled is "Y"
  bool memory_swap = true;         // the memory cgroup accounts swap
  bool hugetlb = true;             // the hugetlb cgroup controller is available
  std::string machine = "x86_64";  // uname -m
  std::string kernel_release;      // uname -r
  std::string dev_dir = "/dev";    // where a privileged container's host devices are listed
  // Lowest oomScoreAdj the runtime can set: -1000 with CAP_SYS_RESOURCE, else the daemon's own
  // score (the kernel refuses to lower it). Lower requested values are raised to this, so pods
  // still start where the daemon runs without CAP_SYS_RESOURCE (e.g. inside a container).
  int min_oom_score_adj = -1000;
  // The daemon's mount table, read to check that a CRI mount's source can propagate as asked
  // (HostToContainer needs a shared or slave host mount, Bidirectional a shared one).
  std::string mountinfo_path = "/proc/self/mountinfo";
};

// Reads HostInfo from /proc, /sys and uname(2); unreadable facts keep their defaults.
// `cgroup_v2` selects where swap and hugetlb support are looked up.
HostInfo ProbeHost(bool cgroup_v2);

struct SpecInputs {
  std::string container_id;
  const runtime::v1::ContainerConfig* config = nullptr;    // required
  const runtime::v1::PodSandboxConfig* sandbox = nullptr;  // required
  const image::ImageConfig* image = nullptr;               // null: an image with empty config
  std::string rootfs;                                      // root.path
  PodResources pod;
  const config::RuntimeConfig* runtime = nullptr;  // required
  std::string cgroups_path;  // linux.cgroupsPath, e.g. "/crio-cpp-test/crio-<id>"; "" = omitted
  // Contents of the image's /etc/passwd and /etc/group ("" if absent), read from the rootfs by
  // the caller.
  std::string etc_passwd;
  std::string etc_group;
  bool cgroup_v2 = false;
  // [crio.image] image_volumes: "mkdir" (PrepareRootfs creates the directories), "bind" (each
  // volume is a bind mount of a fresh directory under image_volume_dir, which PrepareRootfs
  // creates; without image_volume_dir they are skipped with a warning) or "ignore". Volumes at a
  // CRI mount's destination are left to that mount.
  std::string image_volumes = "mkdir";
  std::string image_volume_dir;
  // Target of NamespaceMode TARGET for pid (/proc/<target pid>/ns/pid), resolved by the caller
  // from namespace_options.target_id.
  std::string target_pidns_path;
  // Not part of CRI (the kubelet enforces it): refuse to run as uid 0.
  bool run_as_non_root = false;
  // Host facts; null: ProbeHost(cgroup_v2) once per process.
  const HostInfo* host = nullptr;
};

// The sysctls to set in a pod's namespaces: crio.conf default_sysctls (any unusable one is
// skipped with a warning, as CRI-O does) overridden by the pod's own. Only namespaced sysctls are
// allowed: net.* (not with the host network) and the IPC ones kernel.shm*, kernel.msg*,
// kernel.sem, fs.mqueue.* (not with host IPC); anything else would change the host.
// InvalidArgument for a pod sysctl that is empty, not namespaced, or in a host namespace.
StatusOr<std::map<std::string, std::string>> PodSysctls(
    const runtime::v1::PodSandboxConfig& sandbox, const config::RuntimeConfig& runtime,
    bool host_network, bool host_ipc);

// Builds config.json for a container. Error codes:
//   InvalidArgument: missing config/sandbox/runtime; "container has no command"; user
//     resolution errors (see image_user.h) and run_as_non_root with uid 0; a privileged
//     container in a non-privileged sandbox; unknown capabilities, or capabilities outside
//     HostInfo::bounding_caps; a CRI mount without
//     container_path or host_path, an rro mount that is not read-only or not private, a missing
//     host path listed in absent_mount_sources_to_reject; HostToContainer propagation from a
//     host mount that is neither shared nor slave, Bidirectional from one that is not shared
//     ("... is not a shared or slave mount" / "... is not a shared mount"); a non-namespaced
//     sysctl, or a net.*
//     (kernel IPC) sysctl with host network (IPC); memory limit below 12 MiB or swap below it;
//     "unified" resources on cgroup v1; a CRI device whose host path is missing or not a device;
//     a Localhost seccomp profile that is not absolute, missing or invalid; bad default_ulimits;
//     pid mode TARGET without target_pidns_path.
//   FailedPrecondition: user namespaces requested (userns_options mode POD).
//   Other codes from reading the crio.conf seccomp_profile / privileged_seccomp_profile files.
StatusOr<nlohmann::json> BuildSpec(const SpecInputs& inputs);

// The OCI linux.resources.cpu object for CRI resources (shares, quota, period, cpus, mems);
// unset CRI fields are left out, so an empty object means "no CPU settings". Used at create and
// by UpdateContainerResources.
nlohmann::json CpuResourcesJson(const runtime::v1::LinuxContainerResources& r);

struct SandboxSpecInputs {
  std::string sandbox_id;
  const runtime::v1::PodSandboxConfig* sandbox = nullptr;  // required
  const image::ImageConfig* image = nullptr;               // the pause image's config, or null
  // [crio.image] pause_command; "" runs the image's Entrypoint + Cmd instead.
  std::string pause_command = "/pause";
  std::string rootfs;
  PodResources pod;
  const config::RuntimeConfig* runtime = nullptr;  // required
  std::string cgroups_path;
  bool cgroup_v2 = false;
  const HostInfo* host = nullptr;
};

// Builds config.json for a pod's infra (pause) container, needed only when the pod shares a PID
// namespace (or drop_infra_ctr is off): pause command, read-only rootfs, the pinned net/ipc/uts
// namespaces and a new PID namespace (none with host PID), the standard mounts plus /dev/shm,
// /etc/resolv.conf (read-only) and /etc/hostname, default capabilities, RuntimeDefault seccomp,
// the pod's sysctls, oomScoreAdj -998 (see HostInfo::min_oom_score_adj) and cpu shares 2 as in
// CRI-O.
// InvalidArgument: missing inputs, no pause command (empty pause_command and no Entrypoint/Cmd),
// bad sysctls or ulimits; FailedPrecondition for user namespaces.
StatusOr<nlohmann::json> BuildSandboxSpec(const SandboxSpecInputs& inputs);

// Creates, inside `rootfs`, the directories the spec expects: process.cwd and, when
// `image_volumes` is "mkdir", each image volume (`volumes`), owned by `uid`:`gid` when newly
// created (mode 0755); a missing cwd is left owned by the daemon, as CRI-O does. When
// `image_volumes` is "bind" and `bind_volume_dir` is set, creates there (outside the rootfs) the
// source directory of each volume's bind mount, owned by `uid`:`gid`. Symlinks inside
// the rootfs are resolved as if the rootfs were "/" (openat2 RESOLVE_IN_ROOT), so nothing outside
// it is touched. Errors: InvalidArgument for a relative path or a component that exists but is not
// a directory; the failing open/mkdir/chown errno otherwise.
Status PrepareRootfs(const std::string& rootfs, const std::string& cwd,
                     const std::vector<std::string>& volumes, const std::string& image_volumes,
                     uint32_t uid, uint32_t gid, const std::string& bind_volume_dir = "");

// The source directory, under `dir`, of the bind mount for the image volume `destination`
// (image_volumes = "bind"): one directory per cleaned destination path.
std::string ImageVolumeSource(const std::string& dir, const std::string& destination);

}  // namespace crio::container
