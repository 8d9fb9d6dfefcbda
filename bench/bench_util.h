#pragma once
// Shared pieces of crio-bench: latency samples, the results file, child processes and /proc
// memory readings. Nothing here talks CRI.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::bench {

using Clock = std::chrono::steady_clock;

// Milliseconds since `start`.
double MsSince(Clock::time_point start);

// Latency samples in milliseconds.
class Samples {
 public:
  void Add(double ms) { ms_.push_back(ms); }
  size_t size() const { return ms_.size(); }
  bool empty() const { return ms_.empty(); }
  // Nearest-rank percentile, p in (0, 100]. 0 when empty.
  double Percentile(double p) const;

 private:
  std::vector<double> ms_;
};

// One line of the results file (tab separated), read back by `crio-bench report`:
//   <row> <metric> lat <p50> <p99> <n>     latency in ms
//   <row> <metric> mb  <value>             a value: memory in MB (10^6 bytes), MB/s or a ratio
//   <row> <metric> na  <reason>            not measurable, and why
struct Result {
  std::string row;
  std::string metric;
  std::string kind;  // "lat", "mb" or "na"
  double p50 = 0;
  double p99 = 0;
  double value = 0;
  size_t n = 0;
  std::string reason;
};

// Appends the result to `path` (and echoes it to stdout). Errors: the file cannot be written.
Status AppendResult(const std::string& path, const Result& result);
Status AppendLatency(const std::string& path, const std::string& row, const std::string& metric,
                     const Samples& samples);
Status AppendMb(const std::string& path, const std::string& row, const std::string& metric,
                double mb);
Status AppendNa(const std::string& path, const std::string& row, const std::string& metric,
                const std::string& reason);

// Every result in the file, keyed by (row, metric); a later line wins. Errors: unreadable file.
StatusOr<std::map<std::pair<std::string, std::string>, Result>> ReadResults(
    const std::string& path);

// Runs argv[0] (looked up in PATH) with `env` added to our environment, `input` on stdin and
// stdout captured (stderr too when merge_stderr). Returns the exit code (128+signal when killed).
struct ChildResult {
  int exit_code = -1;
  std::string output;
};
StatusOr<ChildResult> RunChild(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env = {},
                               const std::string& input = "", bool merge_stderr = true);

// Memory of one process from /proc/<pid>/status (VmRSS) and /proc/<pid>/smaps_rollup (Pss),
// in bytes. Errors: the process is gone or unreadable.
StatusOr<uint64_t> RssBytes(pid_t pid);
StatusOr<uint64_t> PssBytes(pid_t pid);

// PIDs whose comm is `comm` and whose command line contains `needle` (empty: any).
std::vector<pid_t> FindProcesses(const std::string& comm, const std::string& needle);

// Splits "0,10,50" into numbers. Errors: a part is not a non-negative integer.
StatusOr<std::vector<int>> ParseCounts(const std::string& text);

// Random lowercase hex of `n` characters, for pod uids and names.
std::string RandomHex(size_t n);

}  // namespace crio::bench
