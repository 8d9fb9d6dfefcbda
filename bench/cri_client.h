#pragma once
// A CRI client for benchmarks: the pod and container calls of a kubelet, each timed, against
// any CRI endpoint (crio or containerd), so both are measured by the same code.

#include "api.grpc.pb.h"

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"

namespace crio::bench {

namespace v1 = ::runtime::v1;

// What every pod and container of one benchmark run looks like.
struct PodSpec {
  std::string image;            // the container image (busybox), fully qualified
  std::string runtime_handler;  // "" for the daemon's default
  bool host_network = true;     // false: the pod gets its own netns (and CNI, if configured)
  bool need_ip = false;         // fail RunPod when the pod has no IP (network benchmarks)
  std::string cgroup_parent;    // e.g. "/crio-bench-1234"
  std::string log_root;         // pod log directories are made below it
  std::string name_prefix = "bench";
};

// What every CRI benchmark subcommand is told (the flags of AddCriFlags in cri_bench.cc).
struct CriOptions {
  std::string endpoint;
  std::string row;
  std::string results;
  PodSpec spec;
  int runs = 30;
  int warmup = 2;
};

// Milliseconds each call took; absent (negative) when not made.
struct PodTimes {
  double run_pod = -1, create = -1, start = -1, stop = -1, remove = -1, stop_pod = -1,
         remove_pod = -1;
};

class CriClient {
 public:
  // endpoint: "unix:///path" or a bare socket path.
  explicit CriClient(const std::string& endpoint);

  // Waits until Version answers. Errors: Unavailable after `timeout`.
  Status WaitReady(std::chrono::seconds timeout);
  // Errors: the RPC's status.
  Status Pull(const std::string& image);

  // RunPodSandbox (and PodSandboxStatus when spec.need_ip). Returns the pod id.
  // Errors: the RPC's status; FailedPrecondition "pod has no IP" when need_ip and none.
  StatusOr<std::string> RunPod(const PodSpec& spec, int index, PodTimes& times);
  // CreateContainer + StartContainer of `busybox top` in the pod. Returns the container id.
  StatusOr<std::string> StartTop(const PodSpec& spec, const std::string& pod_id, int index,
                                 PodTimes& times);
  // CreateContainer + StartContainer of `argv` (argv[0] the command) from spec.image, as
  // container `name`. Returns the container id.
  StatusOr<std::string> StartCommand(const PodSpec& spec, const std::string& pod_id, int index,
                                     const std::string& name, const std::vector<std::string>& argv,
                                     PodTimes& times);
  // StopContainer (timeout 0: SIGKILL at once, for both daemons) + RemoveContainer.
  Status StopRemoveContainer(const std::string& id, PodTimes& times);
  // StopPodSandbox + RemovePodSandbox.
  Status StopRemovePod(const std::string& pod_id, PodTimes& times);
  // ExecSync of `cmd` in a running container. Returns its exit code. Errors: the RPC's status.
  StatusOr<int> ExecSync(const std::string& id, const std::vector<std::string>& cmd);
  // Exec of `cmd` with stdout and stderr (no stdin, no tty). Returns the streaming URL.
  // Errors: the RPC's status.
  StatusOr<std::string> ExecUrl(const std::string& id, const std::vector<std::string>& cmd);
  // PortForward to `port` of the pod. Returns the streaming URL. Errors: the RPC's status.
  StatusOr<std::string> PortForwardUrl(const std::string& pod_id, int port);
  // The host pid of a running container's process: "pid" in the "info" JSON of a verbose
  // ContainerStatus, which crio and containerd both give. Errors: the RPC's status; NotFound
  // when the answer has no pid.
  StatusOr<pid_t> ContainerPid(const std::string& id);
  // ListContainerStats / ListPodSandboxStats with an empty filter. Errors: the RPC's status.
  StatusOr<v1::ListContainerStatsResponse> ListContainerStats();
  StatusOr<v1::ListPodSandboxStatsResponse> ListPodSandboxStats();
  // Pod ids labelled by crio-bench; the cleanup of an interrupted run.
  StatusOr<std::vector<std::string>> BenchPods();

 private:
  v1::PodSandboxConfig PodConfig(const PodSpec& spec, int index) const;
  std::unique_ptr<grpc::ClientContext> Context() const;

  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> image_;
  // Sandbox configs by pod id: CreateContainer needs the pod's config again.
  std::map<std::string, v1::PodSandboxConfig> configs_;
};

}  // namespace crio::bench
