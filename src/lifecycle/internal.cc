#include "lifecycle/internal.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <chrono>
#include <filesystem>

#include "os/file.h"

namespace crio::lifecycle::internal {

namespace fs = std::filesystem;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ReadFileOrEmpty(const std::string& path) {
  auto contents = os::ReadSmallFile(path);
  return contents.ok() ? *std::move(contents) : std::string();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Internal(absl::StrCat("create ", path, ": ", ec.message()));
  return absl::OkStatus();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Internal(absl::StrCat("remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

bool IsCgroupV2() {
  struct statfs fs_info {};
  return ::statfs("/sys/fs/cgroup", &fs_info) == 0 && fs_info.f_type == CGROUP2_SUPER_MAGIC;
}

container::PodResources PodResourcesOf(const state::PodState& pod) {
  container::PodResources out;
  out.pod_id = pod.id();
  out.netns_path = pod.netns_path();
  out.ipcns_path = pod.ipcns_path();
  out.utsns_path = pod.utsns_path();
  out.pidns_path = pod.pidns_path();
  out.hostname_file = pod.pod_dir() + "/hostname";
  out.resolv_conf_file = pod.pod_dir() + "/resolv.conf";
  out.hosts_file = pod.pod_dir() + "/hosts";
  out.shm_path = pod.shm_path();
  const auto& ns = pod.config().linux().security_context().namespace_options();
  out.host_network = ns.network() == runtime::v1::NODE;
  out.host_ipc = ns.ipc() == runtime::v1::NODE;
  out.host_pid = ns.pid() == runtime::v1::NODE;
  return out;
}

}  // namespace crio::lifecycle::internal
