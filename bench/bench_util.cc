#include "bench_util.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "os/process.h"

extern char** environ;

namespace crio::bench {

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double Samples::Percentile(double p) const {
  if (ms_.empty()) return 0;
  std::vector<double> sorted = ms_;
  std::sort(sorted.begin(), sorted.end());
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

namespace {

Result Make(const std::string& row, const std::string& metric, const std::string& kind) {
  Result r;
  r.row = row;
  r.metric = metric;
  r.kind = kind;
  return r;
}

}  // namespace

Status AppendResult(const std::string& path, const Result& r) {
  std::ostringstream line;
  line << r.row << '\t' << r.metric << '\t' << r.kind << '\t';
  if (r.kind == "lat") {
    line << r.p50 << '\t' << r.p99 << '\t' << r.n;
  } else if (r.kind == "mb") {
    line << r.value;
  } else {
    line << r.reason;
  }
  std::printf("%s\n", line.str().c_str());
  std::fflush(stdout);
  std::ofstream out(path, std::ios::app);
  if (!out) return ErrnoError(errno, "open results file `" + path + "`");
  out << line.str() << '\n';
  if (!out) return Internal("write to `" + path + "` failed");
  return absl::OkStatus();
}

Status AppendLatency(const std::string& path, const std::string& row, const std::string& metric,
                     const Samples& samples) {
  Result r = Make(row, metric, "lat");
  r.p50 = samples.Percentile(50);
  r.p99 = samples.Percentile(99);
  r.n = samples.size();
  return AppendResult(path, r);
}

Status AppendMb(const std::string& path, const std::string& row, const std::string& metric,
                double mb) {
  Result r = Make(row, metric, "mb");
  r.value = mb;
  return AppendResult(path, r);
}

Status AppendNa(const std::string& path, const std::string& row, const std::string& metric,
                const std::string& reason) {
  std::string clean = reason;
  std::replace_if(
      clean.begin(), clean.end(), [](char c) { return c == '\t' || c == '\n'; }, ' ');
  Result r = Make(row, metric, "na");
  r.reason = clean;
  return AppendResult(path, r);
}

StatusOr<std::map<std::pair<std::string, std::string>, Result>> ReadResults(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return ErrnoError(errno, "open results file `" + path + "`");
  std::map<std::pair<std::string, std::string>, Result> out;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) f.push_back(field);
    if (f.size() < 4) continue;
    Result r = Make(f[0], f[1], f[2]);
    if (r.kind == "lat" && f.size() >= 6) {
      r.p50 = std::atof(f[3].c_str());
      r.p99 = std::atof(f[4].c_str());
      r.n = static_cast<size_t>(std::atol(f[5].c_str()));
    } else if (r.kind == "mb") {
      r.value = std::atof(f[3].c_str());
    } else {
      r.kind = "na";
      r.reason = f[3];
    }
    out[{r.row, r.metric}] = r;
  }
  return out;
}

StatusOr<ChildResult> RunChild(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env, const std::string& input,
                               bool merge_stderr) {
  os::SpawnRequest request;
  request.argv = argv;
  std::vector<std::string> full_env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) full_env.emplace_back(*e);
  full_env.insert(full_env.end(), env.begin(), env.end());
  request.env = std::move(full_env);
  os::RunOptions options;
  options.input = input;
  options.timeout = std::chrono::seconds(120);
  ASSIGN_OR_RETURN(os::RunResult run, os::RunCommand(std::move(request), options));
  ChildResult result;
  result.exit_code = run.status.Code();
  result.output = run.stdout_data;
  if (merge_stderr) result.output += run.stderr_data;
  return result;
}

namespace {

// The value in kB of the first line starting with `key` (e.g. "VmRSS:"), in bytes.
StatusOr<uint64_t> KbField(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  if (!in) return ErrnoError(errno, "open `" + path + "`");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream fields(line.substr(key.size()));
    uint64_t kb = 0;
    if (fields >> kb) return kb * 1024;
  }
  return NotFound(key + " not in `" + path + "`");
}

std::string ReadSmall(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

StatusOr<uint64_t> RssBytes(pid_t pid) {
  return KbField("/proc/" + std::to_string(pid) + "/status", "VmRSS:");
}

StatusOr<uint64_t> PssBytes(pid_t pid) {
  return KbField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Pss:");
}

std::vector<pid_t> FindProcesses(const std::string& comm, const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string c = ReadSmall(entry.path().string() + "/comm");
    if (!c.empty() && c.back() == '\n') c.pop_back();
    // comm is cut at 15 characters (containerd-shim-runc-v2 shows as "containerd-shim").
    if (c != comm.substr(0, 15)) continue;
    std::string cmdline = ReadSmall(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (!needle.empty() && cmdline.find(needle) == std::string::npos) continue;
    out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

StatusOr<std::vector<int>> ParseCounts(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty() || !std::all_of(part.begin(), part.end(), ::isdigit)) {
      return InvalidArgument("not a count list: `" + text + "`");
    }
    out.push_back(std::stoi(part));
  }
  return out;
}

std::string RandomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kHex[rng() % 16]);
  return out;
}

}  // namespace crio::bench
