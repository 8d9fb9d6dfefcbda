#pragma once
// The standard Prometheus process metrics (process_cpu_seconds_total, process_open_fds, ...), as
// every Prometheus client exports them, read from /proc at scrape time.

#include <optional>
#include <string>

#include "metrics/registry.h"
#include "util/status.h"

namespace crio::metrics {

struct ProcessSource {
  std::string proc_root = "/proc";  // a fake tree in tests
  std::string pid = "self";
};

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double threads = 0;
  std::optional<double> open_fds;           // unset when <pid>/fd cannot be listed
  std::optional<double> max_fds;            // soft RLIMIT_NOFILE; unset when unreadable
  std::optional<double> max_virtual_bytes;  // soft RLIMIT_AS ("unlimited": 2^64 as Go's client)
};

// Reads <proc_root>/<pid>/{stat,fd,limits} and <proc_root>/stat (boot time).
// Errors: NotFound/Internal when stat is missing or malformed.
StatusOr<ProcessStats> ReadProcessStats(const ProcessSource& source = {});

// Registers a collector emitting process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_virtual_memory_max_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds and process_threads.
void RegisterProcessCollector(Registry& registry, ProcessSource source = {});

}  // namespace crio::metrics
