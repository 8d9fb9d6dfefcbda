// Micro-benchmarks (Google Benchmark) of the configuration code the daemon runs at start and on
// every SIGHUP: the built-in defaults, one typical drop-in applied on top, and the Go duration
// parser. The CRI-level benchmarks are in cri_bench.cc.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace {

// A drop-in as a node would ship it: a few tables, two runtime handlers.
constexpr char kDropIn[] = R"(
[crio]
log_dir = "/var/log/crio/pods"
[crio.api]
stream_idle_timeout = "4h"
[crio.runtime]
default_runtime = "runc"
cgroup_manager = "cgroupfs"
pids_limit = 4096
log_size_max = 10485760
default_ulimits = ["nofile=1024:2048"]
[crio.runtime.runtimes.runc]
runtime_path = "/usr/sbin/runc"
runtime_root = "/run/runc"
[crio.runtime.runtimes.crun]
runtime_path = "/usr/bin/crun"
runtime_root = "/run/crun"
allowed_annotations = ["io.kubernetes.cri-o.Devices"]
[crio.image]
pause_image = "registry.k8s.io/pause:3.10.1"
[crio.network]
network_dir = "/etc/cni/net.d/"
plugin_dirs = ["/opt/cni/bin/", "/usr/lib/cni"]
)";

void BM_Defaults(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(crio::config::Defaults());
}
BENCHMARK(BM_Defaults);

void BM_ApplyDropIn(benchmark::State& state) {
  const crio::config::Config defaults = crio::config::Defaults();
  for (auto _ : state) {
    crio::config::Config config = defaults;
    std::vector<crio::config::Warning> warnings;
    auto st = crio::config::ApplyToml(kDropIn, "10-node.conf", config, warnings);
    if (!st.ok()) state.SkipWithError(std::string(st.message()).c_str());
    benchmark::DoNotOptimize(config);
  }
}
BENCHMARK(BM_ApplyDropIn);

void BM_ParseGoDuration(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(crio::config::ParseGoDuration("1h30m2.5s"));
}
BENCHMARK(BM_ParseGoDuration);

}  // namespace

BENCHMARK_MAIN();
