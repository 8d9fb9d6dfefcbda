#include <api.grpc.pb.h>
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "config/config.h"
#include "metrics/crio_metrics.h"
#include "metrics/grpc_interceptor.h"
#include "metrics/process_metrics.h"
#include "metrics/registry.h"
#include "metrics/server.h"
#include "support/temp_dir.h"

namespace crio::metrics {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---- A small parser of the text format, independent of the renderer ----

using LabelMap = std::map<std::string, std::string>;

struct ParsedSample {
  std::string name;
  LabelMap labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> help;  // unescaped
  std::map<std::string, std::string> type;
  std::vector<ParsedSample> samples;
  std::vector<std::string> errors;

  // The value of the one sample `name` with exactly `labels`, if present.
  std::optional<double> Value(const std::string& name, const LabelMap& labels = {}) const {
    for (const ParsedSample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  int Count(const std::string& name) const {
    int n = 0;
    for (const ParsedSample& s : samples) n += s.name == name;
    return n;
  }
};

double ParseValue(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  std::size_t used = 0;
  double v = std::stod(text, &used);
  if (used != text.size()) throw std::invalid_argument(text);
  return v;
}

std::string UnescapeHelp(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

Exposition Parse(const std::string& text) {
  Exposition out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) {
      out.errors.push_back("last line not terminated");
      break;
    }
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string_view rest = line.substr(7);
      std::size_t space = rest.find(' ');
      std::string name(rest.substr(0, space));
      std::string_view value = space == std::string_view::npos ? "" : rest.substr(space + 1);
      if (line[2] == 'H') {
        out.help[name] = UnescapeHelp(value);
      } else {
        out.type[name] = std::string(value);
      }
      continue;
    }
    ParsedSample sample;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') sample.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find("=\"", i);
        if (eq == std::string_view::npos) {
          out.errors.push_back(std::string(line));
          break;
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];  // \\ and \" unescape to themselves
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        sample.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      out.errors.push_back(std::string(line));
      continue;
    }
    try {
      sample.value = ParseValue(std::string(line.substr(i + 1)));
    } catch (const std::exception&) {
      out.errors.push_back(std::string(line));
      continue;
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

using testing::TempDir;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// ---- Registry and text format ----

TEST(MetricsFormat, FormatsValuesAsPrometheusParsesThem) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(1e10), "10000000000");
  EXPECT_EQ(FormatValue(1.5e-5), "1.5e-05");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  for (double v : {0.1, 1.0 / 3, 123456.789, 2.5e-300, 1.7976931348623157e308}) {
    EXPECT_EQ(std::stod(FormatValue(v)), v) << FormatValue(v);  // round-trips exactly
  }
}

TEST(MetricsRegistry, RendersFamiliesSortedWithHelpAndType) {
  Registry registry;
  CounterFamily& requests = registry.AddCounter("zz_requests_total", "Requests.", {"code"});
  GaugeFamily& temp = registry.AddGauge("aa_temperature", "Temperature.");
  requests.WithLabels({"500"}).Inc();
  requests.WithLabels({"200"}).Inc(2);
  requests.WithLabels({"200"}).Inc();
  temp.WithLabels({}).Set(-1.5);
  registry.AddCounter("mm_unused_total", "Never incremented.", {"x"});

  std::string text = registry.Render();
  EXPECT_EQ(text,
            "# HELP aa_temperature Temperature.\n"
            "# TYPE aa_temperature gauge\n"
            "aa_temperature -1.5\n"
            "# HELP zz_requests_total Requests.\n"
            "# TYPE zz_requests_total counter\n"
            "zz_requests_total{code=\"200\"} 3\n"
            "zz_requests_total{code=\"500\"} 1\n");
  EXPECT_EQ(registry.Render(), text);  // stable
  Exposition exp = Parse(text);
  EXPECT_TRUE(exp.errors.empty());
  EXPECT_EQ(exp.Value("zz_requests_total", {{"code", "200"}}), 3);
  EXPECT_EQ(exp.type["aa_temperature"], "gauge");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelpSoTheyRoundTrip) {
  Registry registry;
  CounterFamily& family = registry.AddCounter(
      "escaped_total", "Help with \\ backslash\nand newline \"quoted\".", {"path", "quote"});
  const std::string nasty_path = "C:\\dir\\file";
  const std::string nasty_quote = "say \"hi\"\nthen {leave}, x=\"y\"";
  family.WithLabels({nasty_path, nasty_quote}).Inc(7);

  std::string text = registry.Render();
  EXPECT_NE(text.find("# HELP escaped_total Help with \\\\ backslash\\nand newline \"quoted\".\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("path=\"C:\\\\dir\\\\file\""), std::string::npos) << text;
  EXPECT_NE(text.find("quote=\"say \\\"hi\\\"\\nthen {leave}, x=\\\"y\\\"\""), std::string::npos)
      << text;
  Exposition exp = Parse(text);
  ASSERT_TRUE(exp.errors.empty()) << text;
  EXPECT_EQ(exp.help["escaped_total"], "Help with \\ backslash\nand newline \"quoted\".");
  EXPECT_EQ(exp.Value("escaped_total", {{"path", nasty_path}, {"quote", nasty_quote}}), 7);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  Registry registry;
  HistogramFamily& family = registry.AddHistogram("latency_seconds", "Latency.", {0.1, 1, 10});
  Histogram& h = family.WithLabels({});
  for (double v : {0.05, 0.1, 0.5, 2.0, 100.0, 1000.0}) h.Observe(v);

  Exposition exp = Parse(registry.Render());
  ASSERT_TRUE(exp.errors.empty());
  EXPECT_EQ(exp.type["latency_seconds"], "histogram");
  EXPECT_EQ(exp.Value("latency_seconds_bucket", {{"le", "0.1"}}), 2);  // le is inclusive
  EXPECT_EQ(exp.Value("latency_seconds_bucket", {{"le", "1"}}), 3);
  EXPECT_EQ(exp.Value("latency_seconds_bucket", {{"le", "10"}}), 4);
  EXPECT_EQ(exp.Value("latency_seconds_bucket", {{"le", "+Inf"}}), 6);
  EXPECT_EQ(exp.Value("latency_seconds_count"), 6);
  EXPECT_DOUBLE_EQ(*exp.Value("latency_seconds_sum"), 0.05 + 0.1 + 0.5 + 2 + 100 + 1000);
}

TEST(MetricsRegistry, SummaryHasSumAndCount) {
  Registry registry;
  SummaryFamily& family = registry.AddSummary("op_seconds", "Ops.", {"op"});
  family.WithLabels({"a"}).Observe(0.25);
  family.WithLabels({"a"}).Observe(0.5);
  Exposition exp = Parse(registry.Render());
  EXPECT_EQ(exp.type["op_seconds"], "summary");
  EXPECT_EQ(exp.Value("op_seconds_sum", {{"op", "a"}}), 0.75);
  EXPECT_EQ(exp.Value("op_seconds_count", {{"op", "a"}}), 2);
}

TEST(MetricsRegistry, FunctionMetricsAreComputedAtScrape) {
  Registry registry;
  double level = 1;
  registry.AddGaugeFunc("level", "Level.", [&] { return level; });
  registry.AddCounterFunc("ticks_total", "Ticks.", [] { return 42.0; });
  EXPECT_EQ(Parse(registry.Render()).Value("level"), 1);
  level = 5;
  Exposition exp = Parse(registry.Render());
  EXPECT_EQ(exp.Value("level"), 5);
  EXPECT_EQ(exp.Value("ticks_total"), 42);
  EXPECT_EQ(exp.type["ticks_total"], "counter");
}

TEST(MetricsRegistry, ChildHandlesAreStableAndRemovable) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("c_total", "C.", {"k"});
  Counter& a = family.WithLabels({"a"});
  for (int i = 0; i < 100; ++i) family.WithLabels({std::to_string(i)}).Inc();
  EXPECT_EQ(&family.WithLabels({"a"}), &a);
  family.Remove({"5"});
  EXPECT_EQ(family.size(), 100u);  // 101 minus one
  Exposition exp = Parse(registry.Render());
  EXPECT_FALSE(exp.Value("c_total", {{"k", "5"}}));
  EXPECT_EQ(exp.Value("c_total", {{"k", "6"}}), 1);
}

TEST(MetricsRegistry, ConcurrentIncrementsSumExactly) {
  Registry registry;
  CounterFamily& counters = registry.AddCounter("hits_total", "Hits.", {"worker"});
  HistogramFamily& sizes = registry.AddHistogram("size", "Sizes.", {1, 2});
  GaugeFamily& gauge = registry.AddGauge("in_flight", "In flight.");
  constexpr int kThreads = 8;
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string mine = std::to_string(t % 2);
      for (int i = 0; i < kIterations; ++i) {
        counters.WithLabels({mine}).Inc();
        counters.Apply({"shared"}, [](Counter& c) { c.Inc(0.5); });
        sizes.WithLabels({}).Observe(i % 3);
        gauge.WithLabels({}).Inc();
        gauge.WithLabels({}).Dec();
        if (i % 1000 == 0) (void)registry.Render();  // scrapes race the writers
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Exposition exp = Parse(registry.Render());
  EXPECT_EQ(exp.Value("hits_total", {{"worker", "0"}}), kThreads / 2 * kIterations);
  EXPECT_EQ(exp.Value("hits_total", {{"worker", "1"}}), kThreads / 2 * kIterations);
  EXPECT_EQ(exp.Value("hits_total", {{"worker", "shared"}}), kThreads * kIterations / 2.0);
  EXPECT_EQ(exp.Value("size_count"), kThreads * kIterations);
  EXPECT_EQ(exp.Value("size_bucket", {{"le", "+Inf"}}), kThreads * kIterations);
  EXPECT_EQ(exp.Value("in_flight"), 0);
}

// ---- CRI-O's metrics ----

TEST(CrioMetrics, UnconfiguredRecordsNothing) {
  CrioMetrics metrics;
  metrics.RecordOperation("Version", 1ms, true);
  metrics.RecordOom("c");
  metrics.RecordImagePullSuccess();
  EXPECT_FALSE(metrics.configured());
  EXPECT_FALSE(metrics.Enabled("operations_total"));
  EXPECT_FALSE(metrics.RecordsOperations());
}

TEST(CrioMetrics, AllCollectorsByDefaultUnderContainerRuntimeCrio) {
  TempDir proc;
  Registry registry;
  CrioMetrics metrics;
  ASSERT_TRUE(
      metrics
          .Configure(registry,
                     {.collectors = {}, .default_runtime = "crun", .proc_root = proc.path()})
          .ok());
  metrics.RecordOperation("RunPodSandbox", 250ms, false);
  metrics.RecordOperation("RunPodSandbox", 750ms, true);
  metrics.RecordLatency("network_setup_pod", 100ms);
  metrics.RecordImagePullBytes("application/vnd.oci.image.layer.v1.tar+gzip", 2'000'000, 1500);
  metrics.RecordImagePullSkippedBytes(5000);
  metrics.RecordImagePullLayerSize(2'000'000);
  metrics.RecordImagePullSuccess();
  metrics.RecordImagePullFailure("NOT_FOUND");
  metrics.RecordImageLayerReuse("sha256:abc");
  metrics.RecordEventDropped();
  metrics.RecordOom("k8s_app_pod");
  metrics.RecordSeccompNotification("k8s_app_pod", "mkdir");
  metrics.RecordStalledAtStage("container_creating");
  metrics.RecordStoppedMonitor("k8s_app_pod");

  std::string text = registry.Render();
  Exposition exp = Parse(text);
  ASSERT_TRUE(exp.errors.empty()) << text;
  for (std::string_view collector : config::MetricsCollectorNames()) {
    EXPECT_TRUE(metrics.Enabled(collector)) << collector;
    EXPECT_TRUE(exp.type.contains("container_runtime_crio_" + std::string(collector)))
        << collector << "\n"
        << text;
  }
  const std::string p = "container_runtime_crio_";
  EXPECT_EQ(exp.Value(p + "operations_total", {{"operation", "RunPodSandbox"}}), 2);
  EXPECT_EQ(exp.Value(p + "operations_errors_total", {{"operation", "RunPodSandbox"}}), 1);
  EXPECT_EQ(exp.Value(p + "operations_latency_seconds", {{"operation", "RunPodSandbox"}}), 0.75);
  EXPECT_EQ(
      exp.Value(p + "operations_latency_seconds_total_count", {{"operation", "RunPodSandbox"}}), 2);
  EXPECT_EQ(exp.Value(p + "operations_latency_seconds_total_sum", {{"operation", "RunPodSandbox"}}),
            1);
  EXPECT_EQ(
      exp.Value(p + "operations_latency_seconds_total_count", {{"operation", "network_setup_pod"}}),
      1);
  EXPECT_EQ(exp.type[p + "operations_latency_seconds_total"], "summary");
  EXPECT_EQ(
      exp.Value(p + "image_pulls_bytes_total",
                {{"mediatype", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"size", ">1 MiB"}}),
      1500);
  EXPECT_EQ(exp.Value(p + "image_pulls_skipped_bytes_total", {{"size", ">1 KiB"}}), 5000);
  EXPECT_EQ(exp.Value(p + "image_pulls_layer_size_bucket", {{"le", "1000000"}}), 0);
  EXPECT_EQ(exp.Value(p + "image_pulls_layer_size_bucket", {{"le", "10000000"}}), 1);
  EXPECT_EQ(exp.Count(p + "image_pulls_layer_size_bucket"), 12);  // 11 bounds and +Inf
  EXPECT_EQ(exp.Value(p + "image_pulls_success_total"), 1);
  EXPECT_EQ(exp.Value(p + "image_pulls_failure_total", {{"error", "NOT_FOUND"}}), 1);
  EXPECT_EQ(exp.Value(p + "image_layer_reuse_total", {{"name", "sha256:abc"}}), 1);
  EXPECT_EQ(exp.Value(p + "containers_events_dropped_total"), 1);
  EXPECT_EQ(exp.Value(p + "containers_oom_total"), 1);
  EXPECT_EQ(exp.Value(p + "containers_oom_count_total", {{"name", "k8s_app_pod"}}), 1);
  EXPECT_EQ(exp.Value(p + "containers_seccomp_notifier_count_total",
                      {{"name", "k8s_app_pod"}, {"syscall", "mkdir"}}),
            1);
  EXPECT_EQ(exp.Value(p + "resources_stalled_at_stage", {{"stage", "container_creating"}}), 1);
  EXPECT_EQ(exp.Value(p + "containers_stopped_monitor_count", {{"name", "k8s_app_pod"}}), 1);
  EXPECT_EQ(exp.Value(p + "processes_defunct"), 0);
  EXPECT_EQ(exp.Value(p + "default_runtime", {{"runtime", "crun"}}), 1);

  metrics.SetDefaultRuntime("runc");
  metrics.ForgetOom("k8s_app_pod");
  exp = Parse(registry.Render());
  EXPECT_FALSE(exp.Value(p + "default_runtime", {{"runtime", "crun"}}));
  EXPECT_EQ(exp.Value(p + "default_runtime", {{"runtime", "runc"}}), 1);
  EXPECT_FALSE(exp.Value(p + "containers_oom_count_total", {{"name", "k8s_app_pod"}}));
  EXPECT_EQ(exp.Value(p + "containers_oom_total"), 1);

  EXPECT_EQ(metrics.Configure(registry, {}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CrioMetrics, CollectorsSelectedWithOrWithoutPrefix) {
  Registry registry;
  CrioMetrics metrics;
  ASSERT_TRUE(
      metrics
          .Configure(registry, {.collectors = {"crio_operations_total", "operations_total",
                                               "container_runtime_crio_containers_oom_total",
                                               "image_pulls_success_total"}})
          .ok());
  EXPECT_TRUE(metrics.Enabled("operations_total"));
  EXPECT_TRUE(metrics.Enabled("crio_containers_oom_total"));
  EXPECT_FALSE(metrics.Enabled("operations_errors_total"));
  EXPECT_TRUE(metrics.RecordsOperations());
  metrics.RecordOperation("Version", 1ms, true);  // errors_total is off
  metrics.RecordOom("x");                         // oom_count_total is off
  metrics.RecordImagePullFailure("UNKNOWN");      // off

  Exposition exp = Parse(registry.Render());
  std::vector<std::string> families;
  for (const auto& [name, type] : exp.type) families.push_back(name);
  EXPECT_EQ(families, (std::vector<std::string>{"container_runtime_crio_containers_oom_total",
                                                "container_runtime_crio_image_pulls_success_total",
                                                "container_runtime_crio_operations_total"}));
  EXPECT_EQ(exp.Value("container_runtime_crio_operations_total", {{"operation", "Version"}}), 1);
  EXPECT_EQ(exp.Value("container_runtime_crio_containers_oom_total"), 1);
  EXPECT_EQ(exp.Value("container_runtime_crio_image_pulls_success_total"), 0);
}

TEST(CrioMetrics, UnknownCollectorIsAnError) {
  Registry registry;
  CrioMetrics metrics;
  Status status = metrics.Configure(registry, {.collectors = {"operations_total", "crio_bogus"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("\"crio_bogus\""), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("metrics_collectors"), absl::string_view::npos) << status;
  EXPECT_FALSE(metrics.configured());
  EXPECT_EQ(registry.Render(), "");  // nothing registered

  EXPECT_TRUE(
      config::ValidateMetricsCollectors({"crio_default_runtime", "processes_defunct"}).ok());
  // CRI-O 1.2x's deprecated names are gone from its collector list.
  EXPECT_FALSE(config::ValidateMetricsCollectors({"operations"}).ok());
  EXPECT_EQ(config::MetricsCollectorNames().size(), 18u);
}

TEST(CrioMetrics, ConfigValidationNamesAnUnknownCollector) {
  if (config::FindInPath("crun").empty() && config::FindInPath("runc").empty()) {
    GTEST_SKIP() << "neither crun nor runc is installed: Defaults() does not validate";
  }
  config::Config config = config::Defaults();
  std::vector<config::Warning> warnings;
  ASSERT_TRUE(config::ApplyToml("[crio.metrics]\nmetrics_collectors = [\"crio_operations_total\", "
                                "\"operations\"]\n",
                                "crio.conf", config, warnings)
                  .ok());
  Status status = config::Validate(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               "crio.metrics.metrics_collectors: unknown collector \"operations\"; "
                               "expected one of \"image_pulls_layer_size\""))
      << status;
  config.metrics.metrics_collectors = {"container_runtime_crio_operations_total"};
  EXPECT_TRUE(config::Validate(config).ok()) << config::Validate(config);
}

TEST(CrioMetrics, SizeBucketsAndFailureLabelsFollowCrio) {
  EXPECT_EQ(SizeBucket(0), ">0 B");
  EXPECT_EQ(SizeBucket(1000), ">0 B");
  EXPECT_EQ(SizeBucket(1001), ">1 KiB");
  EXPECT_EQ(SizeBucket(75'000'000), ">50 MiB");
  EXPECT_EQ(SizeBucket(20'000'000'000), ">10 GiB");
  EXPECT_EQ(PullFailureLabel(absl::NotFoundError("manifest unknown")), "NOT_FOUND");
  EXPECT_EQ(PullFailureLabel(absl::UnauthenticatedError("401")), "UNAUTHORIZED");
  EXPECT_EQ(PullFailureLabel(absl::UnavailableError("dial: connection refused")),
            "CONNECTION_REFUSED");
  EXPECT_EQ(PullFailureLabel(absl::InternalError("x")), "UNKNOWN");
}

// A fake /proc: pid directories with a stat line each.
void AddProcess(const fs::path& root, int pid, const std::string& comm, char state, int ppid) {
  WriteFile(root / std::to_string(pid) / "stat",
            std::to_string(pid) + " (" + comm + ") " + state + " " + std::to_string(ppid) +
                " 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n");
}

TEST(CrioMetrics, ProcessesDefunctCountsZombiesInProcRoot) {
  TempDir tmp;
  fs::path root = tmp.path();
  AddProcess(root, 1, "init", 'S', 0);
  AddProcess(root, 20, "sh", 'Z', 1);
  AddProcess(root, 21, "odd) Z (name", 'S', 1);  // comm with ") Z (" is not a zombie
  AddProcess(root, 22, "sleep", 'Z', 21);
  fs::create_directories(root / "23");                  // exited while listed: no stat
  WriteFile(root / "self" / "stat", "1 (init) Z 0\n");  // not a pid directory
  WriteFile(root / "stat", "cpu 1 2 3\n");

  StatusOr<int> count = CountDefunctProcesses(root);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2);
  EXPECT_FALSE(CountDefunctProcesses((root / "missing").string()).ok());

  Registry registry;
  CrioMetrics metrics;
  ASSERT_TRUE(
      metrics.Configure(registry, {.collectors = {"processes_defunct"}, .proc_root = root}).ok());
  EXPECT_EQ(Parse(registry.Render()).Value("container_runtime_crio_processes_defunct"), 2);
  AddProcess(root, 30, "x", 'Z', 1);
  EXPECT_EQ(Parse(registry.Render()).Value("container_runtime_crio_processes_defunct"), 3);
}

// ---- Process metrics ----

TEST(ProcessMetrics, ReadsAFakeProcTree) {
  TempDir tmp;
  fs::path root = tmp.path();
  long ticks = ::sysconf(_SC_CLK_TCK);
  long page = ::sysconf(_SC_PAGESIZE);
  // Fields 14/15 (utime/stime) = 2*ticks and 1*ticks; 20 threads = 7; 22 starttime = 10*ticks;
  // 23 vsize = 123456789; 24 rss = 1000 pages.
  std::string stat = "77 (my (daemon)) S 1 77 77 0 -1 4194560 10 0 0 0 " +
                     std::to_string(2 * ticks) + " " + std::to_string(ticks) + " 0 0 20 0 7 0 " +
                     std::to_string(10 * ticks) +
                     " 123456789 1000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  WriteFile(root / "77" / "stat", stat);
  WriteFile(root / "77" / "limits",
            "Limit                     Soft Limit           Hard Limit           Units\n"
            "Max address space         unlimited            unlimited            bytes\n"
            "Max open files            1024                 524288               files\n");
  for (int fd = 0; fd < 5; ++fd) WriteFile(root / "77" / "fd" / std::to_string(fd), "");
  WriteFile(root / "stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 5\n");

  StatusOr<ProcessStats> stats = ReadProcessStats({.proc_root = root, .pid = "77"});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->cpu_seconds, 3);
  EXPECT_EQ(stats->threads, 7);
  EXPECT_EQ(stats->start_time_seconds, 1700000010);
  EXPECT_EQ(stats->virtual_bytes, 123456789);
  EXPECT_EQ(stats->resident_bytes, 1000.0 * page);
  EXPECT_EQ(stats->open_fds, 5);
  EXPECT_EQ(stats->max_fds, 1024);
  EXPECT_EQ(stats->max_virtual_bytes, 18446744073709551615.0);

  EXPECT_FALSE(ReadProcessStats({.proc_root = root, .pid = "78"}).ok());
}

TEST(ProcessMetrics, ThisProcessLooksSane) {
  Registry registry;
  RegisterProcessCollector(registry);
  Exposition exp = Parse(registry.Render());
  ASSERT_TRUE(exp.errors.empty());
  EXPECT_GT(exp.Value("process_resident_memory_bytes").value_or(0), 1 << 20);
  EXPECT_GT(exp.Value("process_virtual_memory_bytes").value_or(0),
            exp.Value("process_resident_memory_bytes").value_or(0));
  EXPECT_GE(exp.Value("process_open_fds").value_or(0), 3);
  EXPECT_GE(exp.Value("process_max_fds").value_or(0), exp.Value("process_open_fds").value_or(0));
  EXPECT_GE(exp.Value("process_threads").value_or(0), 1);
  EXPECT_GE(exp.Value("process_cpu_seconds_total").value_or(-1), 0);
  EXPECT_EQ(exp.type["process_cpu_seconds_total"], "counter");
  double now = static_cast<double>(::time(nullptr));
  double start = exp.Value("process_start_time_seconds").value_or(0);
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 24 * 3600);  // the test binary started less than a day ago
}

// ---- gRPC interceptor ----

TEST(OperationsInterceptor, OperationIsTheMethodsLastComponent) {
  EXPECT_EQ(OperationName("/runtime.v1.RuntimeService/RunPodSandbox"), "RunPodSandbox");
  EXPECT_EQ(OperationName("Version"), "Version");
}

// Version succeeds; ContainerStatus fails with NOT_FOUND after a short delay.
class FakeRuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  grpc::Status Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                       runtime::v1::VersionResponse* response) override {
    response->set_runtime_name("fake");
    return grpc::Status::OK;
  }
  grpc::Status ContainerStatus(grpc::ServerContext*, const runtime::v1::ContainerStatusRequest*,
                               runtime::v1::ContainerStatusResponse*) override {
    std::this_thread::sleep_for(20ms);
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such container");
  }
};

TEST(OperationsInterceptor, RecordsEveryCallItsLatencyAndFailures) {
  Registry registry;
  CrioMetrics metrics;
  ASSERT_TRUE(metrics.Configure(registry, {}).ok());
  FakeRuntimeService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<OperationsInterceptorFactory>(metrics));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = runtime::v1::RuntimeService::NewStub(server->InProcessChannel({}));

  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    runtime::v1::VersionResponse response;
    ASSERT_TRUE(stub->Version(&ctx, {}, &response).ok());
    EXPECT_EQ(response.runtime_name(), "fake");
  }
  {
    grpc::ClientContext ctx;
    runtime::v1::ContainerStatusResponse response;
    EXPECT_EQ(stub->ContainerStatus(&ctx, {}, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;  // not implemented by the fake: UNIMPLEMENTED from the base class
    runtime::v1::StatusResponse response;
    EXPECT_EQ(stub->Status(&ctx, {}, &response).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  server->Shutdown();

  Exposition exp = Parse(registry.Render());
  const std::string p = "container_runtime_crio_";
  EXPECT_EQ(exp.Value(p + "operations_total", {{"operation", "Version"}}), 3);
  EXPECT_EQ(exp.Value(p + "operations_total", {{"operation", "ContainerStatus"}}), 1);
  EXPECT_EQ(exp.Value(p + "operations_total", {{"operation", "Status"}}), 1);
  EXPECT_FALSE(exp.Value(p + "operations_errors_total", {{"operation", "Version"}}));
  EXPECT_EQ(exp.Value(p + "operations_errors_total", {{"operation", "ContainerStatus"}}), 1);
  EXPECT_EQ(exp.Value(p + "operations_errors_total", {{"operation", "Status"}}), 1);
  EXPECT_GE(exp.Value(p + "operations_latency_seconds", {{"operation", "ContainerStatus"}}), 0.02);
  EXPECT_LT(exp.Value(p + "operations_latency_seconds", {{"operation", "Version"}}), 0.02);
  EXPECT_EQ(exp.Value(p + "operations_latency_seconds_total_count", {{"operation", "Version"}}), 3);
}

TEST(OperationsInterceptor, NoInterceptorWhenOperationsAreOff) {
  Registry registry;
  CrioMetrics metrics;
  ASSERT_TRUE(metrics.Configure(registry, {.collectors = {"containers_oom_total"}}).ok());
  OperationsInterceptorFactory factory(metrics);
  EXPECT_EQ(factory.CreateServerInterceptor(nullptr), nullptr);
}

// ---- The HTTP endpoint ----

struct HttpReply {
  long code = 0;
  std::string content_type;
  std::string body;
  std::string error;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET `url` with libcurl; through `unix_socket` when set; TLS certificates not verified.
HttpReply Get(const std::string& url, const std::string& unix_socket = "",
              const char* method = "GET") {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  if (!unix_socket.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_socket.c_str());
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    reply.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.code);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) reply.content_type = type;
  }
  curl_easy_cleanup(curl);
  return reply;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("scrape_test_total", "Test.", {"k"}).WithLabels({"v\"1"}).Inc(4);
  }
  config::MetricsConfig Config() {
    config::MetricsConfig config;
    config.enable_metrics = true;
    config.metrics_host = "127.0.0.1";
    config.metrics_port = 0;
    return config;
  }
  static void ExpectScrape(const HttpReply& reply) {
    ASSERT_EQ(reply.error, "");
    EXPECT_EQ(reply.code, 200);
    EXPECT_EQ(reply.content_type, kContentType);
    Exposition exp = Parse(reply.body);
    EXPECT_TRUE(exp.errors.empty()) << reply.body;
    EXPECT_EQ(exp.Value("scrape_test_total", {{"k", "v\"1"}}), 4) << reply.body;
  }

  Registry registry_;
  TempDir tmp_;
};

TEST_F(MetricsServerTest, ServesMetricsOverTcpOnAFreePort) {
  auto server = MetricsServer::Start(Config(), registry_);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  EXPECT_FALSE((*server)->tls());
  std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  ExpectScrape(Get(base + "/metrics"));
  EXPECT_EQ(Get(base + "/other").code, 404);
  EXPECT_EQ(Get(base + "/metrics", "", "POST").code, 405);
  (*server)->Stop();
  EXPECT_NE(Get(base + "/metrics").error, "");  // no longer listening
}

TEST_F(MetricsServerTest, AlsoServesAUnixSocketReplacingAStaleOne) {
  config::MetricsConfig config = Config();
  config.metrics_socket = tmp_.path() + "/metrics.sock";
  {
    auto first = MetricsServer::Start(config, registry_);
    ASSERT_TRUE(first.ok()) << first.status();
  }
  ASSERT_TRUE(fs::exists(config.metrics_socket));  // left behind, as after a crash
  auto server = MetricsServer::Start(config, registry_);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->socket_path(), config.metrics_socket);
  ExpectScrape(Get("http://localhost/metrics", config.metrics_socket));
  ExpectScrape(Get("http://127.0.0.1:" + std::to_string((*server)->port()) + "/metrics"));
}

TEST_F(MetricsServerTest, ServesHttpsWithAGeneratedCertificate) {
  config::MetricsConfig config = Config();
  config.metrics_cert = tmp_.path() + "/tls/metrics.crt";
  config.metrics_key = tmp_.path() + "/tls/metrics.key";
  config.metrics_socket = tmp_.path() + "/metrics.sock";
  auto server = MetricsServer::Start(config, registry_);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE((*server)->tls());
  struct stat st {};
  ASSERT_EQ(::stat(config.metrics_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(fs::exists(config.metrics_cert));
  std::string port = std::to_string((*server)->port());
  ExpectScrape(Get("https://127.0.0.1:" + port + "/metrics"));
  ExpectScrape(Get("https://localhost/metrics", config.metrics_socket));
  EXPECT_NE(Get("http://127.0.0.1:" + port + "/metrics").code, 200);  // plain HTTP is refused
  (*server)->Stop();

  // The pair now exists and is reused, not regenerated.
  std::ifstream in(config.metrics_cert);
  std::string before((std::istreambuf_iterator<char>(in)), {});
  config.metrics_socket.clear();
  auto again = MetricsServer::Start(config, registry_);
  ASSERT_TRUE(again.ok()) << again.status();
  std::ifstream in2(config.metrics_cert);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in2)), {}), before);
}

TEST_F(MetricsServerTest, BadAddressIsAnError) {
  config::MetricsConfig config = Config();
  config.metrics_host = "host.invalid";
  EXPECT_FALSE(MetricsServer::Start(config, registry_).ok());
}

}  // namespace
}  // namespace crio::metrics
