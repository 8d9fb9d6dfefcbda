// ApplyToml and LoadFiles (load.cc): a full CRI-O file, drop-in merging, unknown keys, wrong
// types and values.

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config_test_util.h"
#include "support/temp_dir.h"

namespace crio::config {
namespace {

using config_test::ApplyError;
using config_test::Messages;
using config_test::ReadTestData;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using testing::TempDir;

// ----------------------------------------------------------------------------------------------
// Loading a full CRI-O configuration.
// ----------------------------------------------------------------------------------------------

TEST(ApplyToml, FullCrioConf_LoadsEveryTableWithoutWarnings) {
  // Given
  std::string text = ReadTestData("crio-full.conf");
  ASSERT_FALSE(text.empty());
  Config config = Defaults();
  std::vector<Warning> warnings;

  // When
  Status status = ApplyToml(text, "crio-full.conf", config, warnings);

  // Then
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(Messages(warnings), IsEmpty());
  EXPECT_THAT(config.root.storage_option, ElementsAre("overlay.mountopt=nodev,metacopy=on"));
  EXPECT_EQ(config.root.version_file_persist, "/var/lib/crio/version");
  EXPECT_FALSE(config.root.internal_repair);

  EXPECT_EQ(config.api.stream_address, "0.0.0.0");
  EXPECT_EQ(config.api.stream_port, "10010");
  EXPECT_TRUE(config.api.stream_enable_tls);
  EXPECT_EQ(config.api.stream_idle_timeout, "4h");
  EXPECT_EQ(config.api.grpc_max_send_msg_size, 16777216);
  EXPECT_EQ(config.api.grpc_max_recv_msg_size, 33554432);
  EXPECT_EQ(config.api.tls_min_version, "VersionTLS13");

  const RuntimeConfig& rt = config.runtime;
  EXPECT_EQ(rt.default_runtime, "runc");
  EXPECT_EQ(rt.cgroup_manager, "cgroupfs");
  EXPECT_THAT(rt.default_ulimits, ElementsAre("nofile=1048576:1048576"));
  EXPECT_EQ(rt.default_capabilities.size(), 10u);
  EXPECT_EQ(rt.default_capabilities.back(), "NET_RAW");
  EXPECT_EQ(rt.pids_limit, 4096);
  EXPECT_EQ(rt.log_size_max, 52428800);
  EXPECT_EQ(rt.log_level, "debug");
  EXPECT_EQ(rt.ctr_stop_timeout, 45);
  EXPECT_FALSE(rt.seccomp_use_default_when_empty);
  EXPECT_EQ(rt.infra_ctr_cpuset, "0-1");
  EXPECT_TRUE(rt.enable_pod_events);
  EXPECT_TRUE(rt.device_ownership_from_security_context);
  EXPECT_EQ(rt.timezone, "Local");
  EXPECT_THAT(rt.absent_mount_sources_to_reject, ElementsAre("/etc/hostname"));

  ASSERT_EQ(rt.runtimes.count("crun"), 1u);
  const RuntimeHandler& crun = rt.runtimes.at("crun");
  EXPECT_EQ(crun.monitor_cgroup, "pod");
  EXPECT_THAT(crun.allowed_annotations, ElementsAre("io.containers.trace-syscall"));
  EXPECT_THAT(crun.default_annotations, ElementsAre("run.oci.keep_original_groups=1"));
  EXPECT_EQ(crun.container_min_memory, "500KiB");
  ASSERT_EQ(rt.runtimes.count("runc"), 1u);
  const RuntimeHandler& runc = rt.runtimes.at("runc");
  EXPECT_EQ(runc.runtime_path, "/usr/sbin/runc");
  EXPECT_EQ(runc.monitor_exec_cgroup, "container");
  EXPECT_EQ(runc.exec_cpu_affinity, "first");
  EXPECT_TRUE(runc.no_sync_log);
  EXPECT_EQ(runc.container_create_timeout, 120);
  EXPECT_THAT(runc.platform_runtime_paths,
              ElementsAre("linux/amd64=/usr/sbin/runc", "linux/arm64=/usr/local/bin/runc-arm64"));
  ASSERT_EQ(rt.workloads.count("management"), 1u);
  EXPECT_THAT(rt.workloads.at("management"), HasSubstr("0-1"));

  EXPECT_EQ(config.image.global_auth_file, "/var/lib/kubelet/config.json");
  EXPECT_THAT(config.image.pinned_images,
              ElementsAre("registry.k8s.io/pause:3.10.1", "quay.io/openshift/*"));
  EXPECT_EQ(config.image.signature_policy, "/etc/crio/policy.json");
  EXPECT_EQ(config.image.image_volumes, "bind");
  EXPECT_TRUE(config.image.auto_reload_registries);
  EXPECT_EQ(config.image.pull_progress_timeout, "10m");
  EXPECT_EQ(config.image.short_name_mode, "disabled");

  EXPECT_EQ(config.network.cni_default_network, "kindnet");
  EXPECT_THAT(config.network.plugin_dirs, ElementsAre("/opt/cni/bin/", "/usr/libexec/cni/"));
  EXPECT_EQ(config.network.cni_status_grace_period, "1m30s");

  EXPECT_TRUE(config.metrics.enable_metrics);
  EXPECT_EQ(config.metrics.metrics_port, 9537);
  EXPECT_EQ(config.metrics.metrics_collectors.size(), 3u);
  EXPECT_TRUE(config.tracing.enable_tracing);
  EXPECT_EQ(config.tracing.tracing_sampling_rate_per_million, 1000);
  EXPECT_EQ(config.nri.nri_plugin_registration_timeout, "10s");
  EXPECT_EQ(config.nri.nri_plugin_request_timeout, "3s");
  EXPECT_TRUE(config.nri.nri_enable_default_validator);
  EXPECT_TRUE(config.nri.nri_validator_reject_namespace_adjustment);
  EXPECT_THAT(config.nri.nri_validator_required_plugins, ElementsAre("topology-aware"));
  EXPECT_EQ(config.stats.collection_period, 10);
  EXPECT_THAT(config.stats.included_pod_metrics, ElementsAre("cpu", "memory", "network"));

  EXPECT_TRUE(Validate(config).ok()) << Validate(config);
}

// ----------------------------------------------------------------------------------------------
// Files and drop-ins.
// ----------------------------------------------------------------------------------------------

TEST(LoadFiles, DropIns_LaterFilesOverrideEarlierOnes) {
  // Given: main < 00-a.conf < 10-b.conf; files not named *.conf and directories are ignored
  // (they hold invalid TOML, so reading them would fail the load).
  TempDir dir;
  std::string main_file = dir.Write("crio.conf",
                                    "[crio.runtime]\n"
                                    "log_level = \"warn\"\n"
                                    "pids_limit = 100\n"
                                    "[crio.image]\n"
                                    "pause_image = \"main/pause:1\"\n");
  dir.Write("crio.conf.d/10-b.conf", "[crio.runtime]\nlog_level = \"error\"\n");
  dir.Write("crio.conf.d/00-a.conf",
            "[crio.runtime]\nlog_level = \"debug\"\n[crio.image]\npause_image = \"a/pause:2\"\n");
  dir.Write("crio.conf.d/20-c.conf.bak", "this is not TOML [");
  dir.Write("crio.conf.d/README", "this is not TOML [");
  dir.Write("crio.conf.d/30-dir.conf/99-nested.conf", "this is not TOML [");
  Config config = Defaults();
  std::vector<Warning> warnings;

  // When
  Status status = LoadFiles(main_file, dir.Sub("crio.conf.d"), config, warnings);

  // Then
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.runtime.log_level, "error");
  EXPECT_EQ(config.image.pause_image, "a/pause:2");
  EXPECT_EQ(config.runtime.pids_limit, 100);
  EXPECT_THAT(warnings, IsEmpty());
}

TEST(LoadFiles, MissingMainFile_LoadsDropInsOnly) {
  TempDir dir;
  dir.Write("crio.conf.d/01.conf", "[crio.runtime]\nlog_level = \"trace\"\n");
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles(dir.Sub("no-such-crio.conf"), dir.Sub("crio.conf.d"), config, warnings);

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.runtime.log_level, "trace");
}

TEST(LoadFiles, MissingMainFileAndDropInDir_KeepsDefaults) {
  TempDir dir;
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles(dir.Sub("crio.conf"), dir.Sub("crio.conf.d"), config, warnings);

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config, Defaults());
}

TEST(LoadFiles, UnreadableMainFile_FailsNamingTheFile) {
  // Given a main "file" that is a directory, so reading it fails (tests may run as root, which
  // permission bits would not stop).
  TempDir dir;
  std::filesystem::create_directory(dir.Sub("crio.conf"));
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles(dir.Sub("crio.conf"), "", config, warnings);

  EXPECT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr(dir.Sub("crio.conf")));
}

TEST(LoadFiles, BadDropIn_FailsNamingTheDropIn) {
  TempDir dir;
  dir.Write("crio.conf.d/50-bad.conf", "[crio.runtime]\ncgroup_manager = \"upstart\"\n");
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles("", dir.Sub("crio.conf.d"), config, warnings);

  EXPECT_THAT(Message(status), StartsWith(dir.Sub("crio.conf.d/50-bad.conf") + ":2: "));
}

TEST(LoadFiles, HandlerAcrossDropIns_MergesFields) {
  // Given a handler defined in the main file and one field of it overridden by a drop-in.
  TempDir dir;
  std::string main_file = dir.Write("crio.conf",
                                    "[crio.runtime.runtimes.special]\n"
                                    "runtime_path = \"/usr/bin/special\"\n"
                                    "runtime_root = \"/run/special-root\"\n"
                                    "monitor_cgroup = \"pod\"\n"
                                    "allowed_annotations = [\"io.kubernetes.cri-o.Devices\"]\n");
  dir.Write("crio.conf.d/10-path.conf",
            "[crio.runtime.runtimes.special]\nruntime_path = \"/opt/special/bin/special\"\n");
  Config config = Defaults();
  size_t default_handlers = config.runtime.runtimes.size();
  std::vector<Warning> warnings;

  // When
  Status status = LoadFiles(main_file, dir.Sub("crio.conf.d"), config, warnings);

  // Then
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(config.runtime.runtimes.size(), default_handlers + 1);
  const RuntimeHandler& handler = config.runtime.runtimes.at("special");
  EXPECT_EQ(handler.runtime_path, "/opt/special/bin/special");
  EXPECT_EQ(handler.runtime_root, "/run/special-root");
  EXPECT_EQ(handler.monitor_cgroup, "pod");
  EXPECT_THAT(handler.allowed_annotations, ElementsAre("io.kubernetes.cri-o.Devices"));
}

TEST(LoadFiles, HandlerWithoutPaths_ResolvedFromPathAndName) {
  std::string runc = FindInPath("runc");
  if (runc.empty()) {
    GTEST_SKIP() << "runc is not installed";
  }
  TempDir dir;
  std::string main_file = dir.Write("crio.conf",
                                    "[crio.runtime]\n"
                                    "default_runtime = \"runc\"\n"
                                    "conmon_cgroup = \"system.slice\"\n"
                                    "[crio.runtime.runtimes.runc]\n"
                                    "[crio.runtime.runtimes.runc-alias]\n"
                                    "inherit_default_runtime = true\n");
  Config config;  // no default handlers
  std::vector<Warning> warnings;

  Status status = LoadFiles(main_file, "", config, warnings);

  ASSERT_TRUE(status.ok()) << status;
  const RuntimeHandler& handler = config.runtime.runtimes.at("runc");
  EXPECT_EQ(handler.runtime_path, runc);
  EXPECT_EQ(handler.runtime_root, "/run/runc");
  EXPECT_EQ(handler.monitor_cgroup, "system.slice");
  EXPECT_EQ(handler.monitor_path, FindInPath("conmon"));
  const RuntimeHandler& alias = config.runtime.runtimes.at("runc-alias");
  EXPECT_EQ(alias.runtime_path, runc);
  EXPECT_EQ(alias.runtime_root, "/run/runc");
  EXPECT_TRUE(Validate(config).ok()) << Validate(config);
}

// ----------------------------------------------------------------------------------------------
// Unknown keys, types and values.
// ----------------------------------------------------------------------------------------------

TEST(ApplyToml, UnknownKeysAndTables_WarnWithFileLineAndKey) {
  // Given
  const std::string text =
      "[crio.runtime]\n"                   // 1
      "log_level = \"debug\"\n"            // 2
      "no_such_option = 1\n"               // 3
      "[crio.bogus]\n"                     // 4
      "x = 1\n"                            // 5
      "[crio.runtime.runtimes.runc]\n"     // 6
      "runtime_pth = \"/usr/bin/runc\"\n"  // 7
      "[other]\n"                          // 8
      "y = 2\n";                           // 9
  Config config = Defaults();
  std::vector<Warning> warnings;

  // When
  Status status = ApplyToml(text, "drop.conf", config, warnings);

  // Then: the known key still applies, each unknown one is reported once where it is.
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.runtime.log_level, "debug");
  EXPECT_THAT(warnings,
              ::testing::UnorderedElementsAre(
                  Warning{"drop.conf", 3, "unknown option crio.runtime.no_such_option"},
                  Warning{"drop.conf", 4, "unknown option crio.bogus"},
                  Warning{"drop.conf", 7, "unknown option crio.runtime.runtimes.runc.runtime_pth"},
                  Warning{"drop.conf", 8, "unknown option other"}));
}

TEST(ApplyToml, WrongType_FailsWithFileLineAndKey) {
  // Given a valid line before the bad one.
  const std::string text =
      "[crio.runtime]\n"
      "log_level = \"debug\"\n"
      "pids_limit = \"100\"\n";
  Config config = Defaults();
  std::vector<Warning> warnings;

  // When
  Status status = ApplyToml(text, "test.conf", config, warnings);

  // Then: refused, and nothing from the file was applied.
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "test.conf:3: crio.runtime.pids_limit: expected an integer, got a string");
  EXPECT_EQ(config.runtime.log_level, "info");
}

TEST(ApplyToml, WrongTypes_NameExpectedAndActualType) {
  EXPECT_EQ(ApplyError("[crio.api]\nstream_enable_tls = 1\n"),
            "test.conf:2: crio.api.stream_enable_tls: expected a boolean, got an integer");
  EXPECT_EQ(ApplyError("[crio.api]\nstream_port = 10010\n"),
            "test.conf:2: crio.api.stream_port: expected a string, got an integer");
  EXPECT_EQ(ApplyError("[crio.runtime]\nctr_stop_timeout = 30.5\n"),
            "test.conf:2: crio.runtime.ctr_stop_timeout: expected an integer, got a float");
  EXPECT_EQ(ApplyError("[crio.network]\nplugin_dirs = \"/opt/cni/bin\"\n"),
            "test.conf:2: crio.network.plugin_dirs: expected an array of strings, got a string");
  EXPECT_EQ(ApplyError("[crio.runtime]\nhooks_dir = [\"/a\", 2]\n"),
            "test.conf:2: crio.runtime.hooks_dir: expected an array of strings, got an array "
            "containing an integer");
  EXPECT_EQ(ApplyError("[crio.runtime.runtimes.crun]\ndefault_annotations = [\"a=b\"]\n"),
            "test.conf:2: crio.runtime.runtimes.crun.default_annotations: expected a table of "
            "strings, got an array");
  EXPECT_EQ(ApplyError("[crio]\napi = 5\n"),
            "test.conf:2: crio.api: expected a table, got an integer");
  EXPECT_EQ(ApplyError("[crio.runtime.runtimes]\nrunc = \"/usr/bin/runc\"\n"),
            "test.conf:2: crio.runtime.runtimes.runc: expected a table, got a string");
}

struct BadValueCase {
  const char* name;
  const char* toml;  // the bad key is on line 2
  const char* key;
  const char* message;
};

class ApplyTomlBadValue : public ::testing::TestWithParam<BadValueCase> {};

TEST_P(ApplyTomlBadValue, Refused_NamesFileLineKeyAndProblem) {
  const BadValueCase& c = GetParam();

  std::string error = ApplyError(c.toml);

  EXPECT_THAT(error, StartsWith(std::string("test.conf:2: ") + c.key + ": "));
  EXPECT_THAT(error, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    EnumsSizesDurations, ApplyTomlBadValue,
    ::testing::Values(
        BadValueCase{"CgroupManager", "[crio.runtime]\ncgroup_manager = \"upstart\"\n",
                     "crio.runtime.cgroup_manager",
                     "expected one of \"systemd\", \"cgroupfs\", got \"upstart\""},
        BadValueCase{"LogLevel", "[crio.runtime]\nlog_level = \"verbose\"\n",
                     "crio.runtime.log_level", "unknown log level \"verbose\""},
        BadValueCase{"ImageVolumes", "[crio.image]\nimage_volumes = \"copy\"\n",
                     "crio.image.image_volumes", "expected one of \"mkdir\", \"bind\", \"ignore\""},
        BadValueCase{"ShortNameMode", "[crio.image]\nshort_name_mode = \"permissive\"\n",
                     "crio.image.short_name_mode", "got \"permissive\""},
        BadValueCase{"RuntimeType", "[crio.runtime.runtimes.wasm]\nruntime_type = \"wasm\"\n",
                     "crio.runtime.runtimes.wasm.runtime_type",
                     "expected one of \"oci\", \"vm\", \"pod\", got \"wasm\""},
        BadValueCase{"MonitorExecCgroup",
                     "[crio.runtime.runtimes.runc]\nmonitor_exec_cgroup = \"pod\"\n",
                     "crio.runtime.runtimes.runc.monitor_exec_cgroup", "got \"pod\""},
        BadValueCase{"TlsMinVersion", "[crio.api]\ntls_min_version = \"TLS1.2\"\n",
                     "crio.api.tls_min_version", "got \"TLS1.2\""},
        BadValueCase{"GrpcSendZero", "[crio.api]\ngrpc_max_send_msg_size = 0\n",
                     "crio.api.grpc_max_send_msg_size", "must be greater than 0, got 0"},
        BadValueCase{"GrpcRecvNegative", "[crio.api]\ngrpc_max_recv_msg_size = -5\n",
                     "crio.api.grpc_max_recv_msg_size", "must be greater than 0, got -5"},
        BadValueCase{"MetricsPortZero", "[crio.metrics]\nmetrics_port = 0\n",
                     "crio.metrics.metrics_port", "expected a port number in 1..65535, got 0"},
        BadValueCase{"MetricsPortTooLarge", "[crio.metrics]\nmetrics_port = 65536\n",
                     "crio.metrics.metrics_port", "got 65536"},
        BadValueCase{"LogSizeMaxBelowConmonBuffer", "[crio.runtime]\nlog_size_max = 8191\n",
                     "crio.runtime.log_size_max", "at least 8192"},
        BadValueCase{"PullProgressTimeout", "[crio.image]\npull_progress_timeout = \"10 min\"\n",
                     "crio.image.pull_progress_timeout", "duration \"10 min\""},
        BadValueCase{"PullProgressTimeoutNoUnit", "[crio.image]\npull_progress_timeout = \"10\"\n",
                     "crio.image.pull_progress_timeout", "missing unit in duration \"10\""},
        BadValueCase{"StreamIdleTimeout", "[crio.api]\nstream_idle_timeout = \"forever\"\n",
                     "crio.api.stream_idle_timeout", "invalid duration \"forever\""},
        BadValueCase{"CniStatusGracePeriod", "[crio.network]\ncni_status_grace_period = \"5x\"\n",
                     "crio.network.cni_status_grace_period", "unknown unit \"x\""},
        BadValueCase{"NriRequestTimeout", "[crio.nri]\nnri_plugin_request_timeout = \"\"\n",
                     "crio.nri.nri_plugin_request_timeout", "invalid duration \"\""}),
    [](const ::testing::TestParamInfo<BadValueCase>& param_info) { return param_info.param.name; });

TEST(ApplyToml, BoundaryValues_Accepted) {
  for (const char* text : {
           "[crio.runtime]\nlog_size_max = -1\n",
           "[crio.runtime]\nlog_size_max = 0\n",
           "[crio.runtime]\nlog_size_max = 8192\n",
           "[crio.metrics]\nmetrics_port = 1\n",
           "[crio.metrics]\nmetrics_port = 65535\n",
           "[crio.api]\nstream_idle_timeout = \"\"\n",
           "[crio.api]\ngrpc_max_send_msg_size = 1\n",
           "[crio.image]\npull_progress_timeout = \"0\"\n",
           "[crio.runtime]\nlog_level = \"warning\"\n",
       }) {
    EXPECT_EQ(ApplyError(text), "") << text;
  }
}

TEST(ApplyToml, UnparsableToml_ReportsFileLineColumn) {
  const std::string text =
      "[crio.runtime]\n"
      "log_level = \"info\"\n"
      "pids_limit = \n";

  std::string error = ApplyError(text);

  EXPECT_THAT(error, StartsWith("test.conf:3:"));
  EXPECT_THAT(error, HasSubstr(": parse error: "));
}

TEST(ApplyToml, DuplicateKey_ReportsParseErrorAtSecondDefinition) {
  std::string error = ApplyError("[crio.runtime]\nlog_level = \"info\"\nlog_level = \"debug\"\n");

  EXPECT_THAT(error, StartsWith("test.conf:3:"));
  EXPECT_THAT(error, HasSubstr("parse error"));
}

}  // namespace
}  // namespace crio::config
