#include "metrics/process_metrics.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "os/file.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::metrics {
namespace {

// The /proc files read here are a few kilobytes; /proc/stat grows with the CPU count.
constexpr std::size_t kMaxProcFileSize = 4 << 20;

std::string_view FirstLine(std::string_view text) { return text.substr(0, text.find('\n')); }

// The lines of a /proc file; empty when it cannot be read (the process exited).
std::vector<std::string> ProcFileLines(const std::string& path) {
  StatusOr<std::string> text = os::ReadSmallFile(path, kMaxProcFileSize);
  return text.ok() ? util::SplitNonEmpty(*text, '\n') : std::vector<std::string>();
}

std::optional<double> ParseNumber(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// The fields of /proc/<pid>/stat after comm: [0] is field 3 (state). comm may contain spaces
// and parentheses, hence the split after the last ')'.
StatusOr<std::vector<std::string>> StatFields(std::string_view stat, const std::string& path) {
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return Internal(absl::StrCat("malformed ", path));
  std::vector<std::string> fields = util::SplitNonEmpty(stat.substr(close + 1), ' ');
  if (fields.size() < 22) return Internal(absl::StrCat("malformed ", path));
  return fields;
}

// Field `n` (1-based, as proc(5) numbers them) of a stat line split by StatFields.
double StatField(const std::vector<std::string>& fields, int n) {
  return ParseNumber(fields[static_cast<std::size_t>(n - 3)]).value_or(0);
}

std::optional<double> BootTime(const std::string& proc_root) {
  for (const std::string& line : ProcFileLines(proc_root + "/stat")) {
    if (line.starts_with("btime ")) return ParseNumber(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

std::optional<double> CountFds(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return std::nullopt;
  double n = 0;
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) ++n;
  return n;
}

// The soft limit of the /proc/<pid>/limits row starting with `row` ("Max open files").
std::optional<double> SoftLimit(const std::string& path, std::string_view row) {
  for (const std::string& line : ProcFileLines(path)) {
    if (!line.starts_with(row)) continue;
    std::vector<std::string> cols =
        util::SplitNonEmpty(std::string_view(line).substr(row.size()), ' ');
    if (cols.empty()) return std::nullopt;
    if (cols[0] == "unlimited") return static_cast<double>(std::numeric_limits<uint64_t>::max());
    return ParseNumber(cols[0]);
  }
  return std::nullopt;
}

void AddGauge(std::vector<FamilySnapshot>& out, const char* name, const char* help,
              std::optional<double> value, MetricType type = MetricType::kGauge) {
  if (!value) return;
  out.push_back({.name = name, .help = help, .type = type, .samples = {{name, {}, *value}}});
}

}  // namespace

StatusOr<ProcessStats> ReadProcessStats(const ProcessSource& source) {
  std::string dir = absl::StrCat(source.proc_root, "/", source.pid);
  std::string stat_path = dir + "/stat";
  ASSIGN_OR_RETURN(std::string stat, os::ReadSmallFile(stat_path, kMaxProcFileSize));
  ASSIGN_OR_RETURN(std::vector<std::string> fields, StatFields(FirstLine(stat), stat_path));
  static const double kTicks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double kPageSize = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessStats out;
  out.cpu_seconds = (StatField(fields, 14) + StatField(fields, 15)) / kTicks;
  out.threads = StatField(fields, 20);
  out.virtual_bytes = StatField(fields, 23);
  out.resident_bytes = StatField(fields, 24) * kPageSize;
  out.start_time_seconds = BootTime(source.proc_root).value_or(0) + StatField(fields, 22) / kTicks;
  out.open_fds = CountFds(dir + "/fd");
  out.max_fds = SoftLimit(dir + "/limits", "Max open files");
  out.max_virtual_bytes = SoftLimit(dir + "/limits", "Max address space");
  return out;
}

void RegisterProcessCollector(Registry& registry, ProcessSource source) {
  registry.AddCollector([source = std::move(source)](std::vector<FamilySnapshot>& out) {
    StatusOr<ProcessStats> stats = ReadProcessStats(source);
    if (!stats.ok()) {
      CRIO_LOG_WARN("process metrics: {}", stats.status().ToString());
      return;
    }
    AddGauge(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             stats->cpu_seconds, MetricType::kCounter);
    AddGauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
             stats->resident_bytes);
    AddGauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
             stats->virtual_bytes);
    AddGauge(out, "process_virtual_memory_max_bytes",
             "Maximum amount of virtual memory available in bytes.", stats->max_virtual_bytes);
    AddGauge(out, "process_open_fds", "Number of open file descriptors.", stats->open_fds);
    AddGauge(out, "process_max_fds", "Maximum number of open file descriptors.", stats->max_fds);
    AddGauge(out, "process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.", stats->start_time_seconds);
    AddGauge(out, "process_threads", "Number of OS threads in the process.", stats->threads);
  });
}

}  // namespace crio::metrics
