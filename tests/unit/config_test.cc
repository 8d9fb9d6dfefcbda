#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace crio::config {

// gtest prints warnings in failure messages through ADL, so this lives in Warning's namespace.
void PrintTo(const Warning& warning, std::ostream* os) {
  *os << warning.file << ":" << warning.line << ": " << warning.message;
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/crio-config-test-XXXXXX";
    const char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

  std::string Write(const std::string& name, const std::string& contents) const {
    std::string file = Join(name);
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream out(file);
    out << contents;
    return file;
  }

 private:
  std::string path_;
};

std::string ReadTestData(const std::string& name) {
  std::ifstream in(std::string(CRIO_TEST_DATA_DIR) + "/config/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> Messages(const std::vector<Warning>& warnings) {
  std::vector<std::string> messages;
  for (const Warning& warning : warnings) {
    messages.push_back(warning.message);
  }
  return messages;
}

// Applies `text` as file "test.conf" onto Defaults() and returns the error message ("" if ok).
std::string ApplyError(const std::string& text) {
  Config config = Defaults();
  std::vector<Warning> warnings;
  return Message(ApplyToml(text, "test.conf", config, warnings));
}

// ----------------------------------------------------------------------------------------------
// Defaults and $PATH.
// ----------------------------------------------------------------------------------------------

TEST(Defaults, Always_MatchCrioDefaults) {
  // Given / When
  Config config = Defaults();

  // Then: CRI-O 1.36's documented defaults.
  EXPECT_EQ(config.root.root, "/var/lib/containers/storage");
  EXPECT_EQ(config.root.storage_driver, "overlay");
  EXPECT_EQ(config.root.log_dir, "/var/log/crio/pods");
  EXPECT_EQ(config.api.listen, "/var/run/crio/crio.sock");
  EXPECT_EQ(config.api.stream_port, "0");
  EXPECT_EQ(config.api.grpc_max_send_msg_size, 80 * 1024 * 1024);
  EXPECT_EQ(config.api.grpc_max_recv_msg_size, 80 * 1024 * 1024);
  EXPECT_EQ(config.runtime.cgroup_manager, "systemd");
  EXPECT_EQ(config.runtime.pids_limit, -1);
  EXPECT_EQ(config.runtime.log_size_max, -1);
  EXPECT_EQ(config.runtime.ctr_stop_timeout, 30);
  EXPECT_TRUE(config.runtime.drop_infra_ctr);
  EXPECT_TRUE(config.runtime.seccomp_use_default_when_empty);
  EXPECT_EQ(config.runtime.apparmor_profile, "crio-default");
  EXPECT_EQ(config.runtime.log_level, "info");
  EXPECT_THAT(config.runtime.default_capabilities,
              ElementsAre("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID",
                          "SETPCAP", "NET_BIND_SERVICE", "KILL"));
  EXPECT_THAT(config.runtime.hooks_dir, ElementsAre("/usr/share/containers/oci/hooks.d"));
  EXPECT_EQ(config.image.pause_image, "registry.k8s.io/pause:3.10.1");
  EXPECT_EQ(config.image.image_volumes, "mkdir");
  EXPECT_EQ(config.image.short_name_mode, "enforcing");
  EXPECT_EQ(config.image.pull_progress_timeout, "0s");
  EXPECT_EQ(config.network.network_dir, "/etc/cni/net.d/");
  EXPECT_THAT(config.network.plugin_dirs, ElementsAre("/opt/cni/bin/"));
  EXPECT_EQ(config.metrics.metrics_port, 9090);
  EXPECT_TRUE(config.nri.enable_nri);
  EXPECT_EQ(config.tracing.tracing_endpoint, "127.0.0.1:4317");
  EXPECT_EQ(config.api.tls_min_version, "VersionTLS12");
  EXPECT_TRUE(config.runtime.hostnetwork_disable_selinux);
}

TEST(Defaults, CrunInstalled_DefaultHandlerIsCrun) {
  std::string crun = FindInPath("crun");
  if (crun.empty()) {
    GTEST_SKIP() << "crun is not installed";
  }
  std::string conmon = FindInPath("conmon");

  Config config = Defaults();

  // crun 1.8 cannot run containers on hybrid cgroup hosts whose v2 tree has controllers; there
  // the default is runc (when installed) and crun stays available as a handler.
  std::ifstream controllers("/sys/fs/cgroup/unified/cgroup.controllers");
  std::string first_controller;
  bool crun_unusable = static_cast<bool>(controllers >> first_controller);
  bool runc_installed = !FindInPath("runc").empty();
  EXPECT_EQ(config.runtime.default_runtime, crun_unusable && runc_installed ? "runc" : "crun");
  ASSERT_EQ(config.runtime.runtimes.count("crun"), 1u);
  const RuntimeHandler& handler = config.runtime.runtimes.at("crun");
  EXPECT_EQ(handler.runtime_path, crun);
  EXPECT_EQ(handler.runtime_root, "/run/crun");
  EXPECT_EQ(handler.runtime_type, "oci");
  EXPECT_EQ(handler.monitor_path, conmon.empty() ? "/usr/bin/conmon" : conmon);
  EXPECT_THAT(handler.allowed_annotations, IsEmpty());
  EXPECT_TRUE(Validate(config).ok()) << Validate(config);
}

TEST(Defaults, RuncInstalled_RuncHandlerAlsoPresent) {
  std::string runc = FindInPath("runc");
  if (runc.empty()) {
    GTEST_SKIP() << "runc is not installed";
  }

  Config config = Defaults();

  ASSERT_EQ(config.runtime.runtimes.count("runc"), 1u);
  EXPECT_EQ(config.runtime.runtimes.at("runc").runtime_path, runc);
  EXPECT_EQ(config.runtime.runtimes.at("runc").runtime_root, "/run/runc");
}

TEST(FindInPath, ExecutableInPath_ReturnsAbsolutePath) {
  // Given a $PATH holding one executable and one plain file.
  TempDir dir;
  std::string tool = dir.Write("bin/crio-test-tool", "#!/bin/sh\n");
  ASSERT_EQ(chmod(tool.c_str(), 0755), 0);
  dir.Write("bin/crio-test-data", "not executable\n");
  const char* old_path = getenv("PATH");
  std::string saved = old_path != nullptr ? old_path : "";
  setenv("PATH", ("relative/dir:" + dir.Join("bin")).c_str(), 1);

  // When
  std::string found = FindInPath("crio-test-tool");
  std::string data = FindInPath("crio-test-data");
  std::string missing = FindInPath("crio-test-no-such-tool");
  setenv("PATH", saved.c_str(), 1);

  // Then
  EXPECT_EQ(found, tool);
  EXPECT_EQ(data, "");
  EXPECT_EQ(missing, "");
  EXPECT_EQ(FindInPath("/bin/sh"), "/bin/sh");
}

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
  Status status = LoadFiles(main_file, dir.Join("crio.conf.d"), config, warnings);

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

  Status status =
      LoadFiles(dir.Join("no-such-crio.conf"), dir.Join("crio.conf.d"), config, warnings);

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.runtime.log_level, "trace");
}

TEST(LoadFiles, MissingMainFileAndDropInDir_KeepsDefaults) {
  TempDir dir;
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles(dir.Join("crio.conf"), dir.Join("crio.conf.d"), config, warnings);

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config, Defaults());
}

TEST(LoadFiles, UnreadableMainFile_FailsNamingTheFile) {
  // Given a main "file" that is a directory, so reading it fails (tests may run as root, which
  // permission bits would not stop).
  TempDir dir;
  std::filesystem::create_directory(dir.Join("crio.conf"));
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles(dir.Join("crio.conf"), "", config, warnings);

  EXPECT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr(dir.Join("crio.conf")));
}

TEST(LoadFiles, BadDropIn_FailsNamingTheDropIn) {
  TempDir dir;
  dir.Write("crio.conf.d/50-bad.conf", "[crio.runtime]\ncgroup_manager = \"upstart\"\n");
  Config config = Defaults();
  std::vector<Warning> warnings;

  Status status = LoadFiles("", dir.Join("crio.conf.d"), config, warnings);

  EXPECT_THAT(Message(status), StartsWith(dir.Join("crio.conf.d/50-bad.conf") + ":2: "));
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
  Status status = LoadFiles(main_file, dir.Join("crio.conf.d"), config, warnings);

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
              testing::UnorderedElementsAre(
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

class ApplyTomlBadValue : public testing::TestWithParam<BadValueCase> {};

TEST_P(ApplyTomlBadValue, Refused_NamesFileLineKeyAndProblem) {
  const BadValueCase& c = GetParam();

  std::string error = ApplyError(c.toml);

  EXPECT_THAT(error, StartsWith(std::string("test.conf:2: ") + c.key + ": "));
  EXPECT_THAT(error, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    EnumsSizesDurations, ApplyTomlBadValue,
    testing::Values(
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
    [](const testing::TestParamInfo<BadValueCase>& param_info) { return param_info.param.name; });

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

// ----------------------------------------------------------------------------------------------
// Durations.
// ----------------------------------------------------------------------------------------------

TEST(ParseGoDuration, GoSyntax_Parses) {
  EXPECT_EQ(*ParseGoDuration("0"), 0ns);
  EXPECT_EQ(*ParseGoDuration("0s"), 0ns);
  EXPECT_EQ(*ParseGoDuration("10m"), 10min);
  EXPECT_EQ(*ParseGoDuration("1h30m"), 90min);
  EXPECT_EQ(*ParseGoDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseGoDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseGoDuration(".5s"), 500ms);
  EXPECT_EQ(*ParseGoDuration("-2h"), -2h);
  EXPECT_EQ(*ParseGoDuration("+3us"), 3us);
  EXPECT_EQ(*ParseGoDuration("3\xC2\xB5s"), 3us);
  EXPECT_EQ(*ParseGoDuration("1h2m3s4ms5us6ns"), 1h + 2min + 3s + 4ms + 5us + 6ns);
  EXPECT_EQ(ParseGoDuration("9223372036854775807ns")->count(), INT64_MAX);
  EXPECT_EQ(ParseGoDuration("-9223372036854775808ns")->count(), INT64_MIN);
}

TEST(ParseGoDuration, Malformed_Fails) {
  for (const char* text : {"", "10", "s", "10x", "1h30", "abc", "1..5s", "-", "1 h",
                           "9223372036854775808ns", "2562048h"}) {
    StatusOr<std::chrono::nanoseconds> parsed = ParseGoDuration(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

// ----------------------------------------------------------------------------------------------
// Validate.
// ----------------------------------------------------------------------------------------------

TEST(Validate, Defaults_Pass) {
  if (FindInPath("crun").empty() && FindInPath("runc").empty()) {
    GTEST_SKIP() << "neither crun nor runc is installed";
  }
  EXPECT_TRUE(Validate(Defaults()).ok()) << Validate(Defaults());
}

TEST(Validate, DefaultRuntimeWithoutHandler_Fails) {
  Config config = Defaults();
  config.runtime.default_runtime = "kata";

  Status status = Validate(config);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), "default_runtime \"kata\" has no [crio.runtime.runtimes.kata] table");
}

TEST(Validate, DefaultRuntimeFromFileWithoutHandler_Fails) {
  TempDir dir;
  std::string main_file = dir.Write("crio.conf", "[crio.runtime]\ndefault_runtime = \"youki\"\n");
  Config config = Defaults();
  std::vector<Warning> warnings;
  ASSERT_TRUE(LoadFiles(main_file, "", config, warnings).ok());

  EXPECT_EQ(Message(Validate(config)),
            "default_runtime \"youki\" has no [crio.runtime.runtimes.youki] table");
}

TEST(Validate, OciHandlerNotInPath_Fails) {
  Config config = Defaults();
  config.runtime.runtimes["crio-test-no-such-runtime"] = RuntimeHandler{};
  ResolveHandlers(config);

  Status status = Validate(config);

  EXPECT_THAT(Message(status),
              StartsWith("crio.runtime.runtimes.crio-test-no-such-runtime.runtime_path: empty"));
}

TEST(Validate, VmHandlerThatIsNotAShim_Fails) {
  Config config = Defaults();
  RuntimeHandler kata;
  kata.runtime_type = "vm";
  kata.runtime_path = "/usr/bin/kata-runtime";
  config.runtime.runtimes["kata"] = kata;

  EXPECT_THAT(Message(Validate(config)), HasSubstr("crio.runtime.runtimes.kata.runtime_path"));

  config.runtime.runtimes["kata"].runtime_path = "/usr/bin/containerd-shim-kata-v2";
  if (!config.runtime.runtimes.at(config.runtime.default_runtime).runtime_path.empty()) {
    EXPECT_TRUE(Validate(config).ok()) << Validate(config);
  }
}

TEST(Validate, ValuesSetInCode_CheckedLikeFileValues) {
  Config config = Defaults();
  config.runtime.cgroup_manager = "upstart";
  EXPECT_THAT(Message(Validate(config)),
              StartsWith("crio.runtime.cgroup_manager: expected one of"));

  config = Defaults();
  config.runtime.log_size_max = 4096;
  EXPECT_THAT(Message(Validate(config)), StartsWith("crio.runtime.log_size_max: "));

  config = Defaults();
  config.runtime.runtimes.begin()->second.runtime_type = "wasm";
  EXPECT_THAT(Message(Validate(config)), HasSubstr(".runtime_type: expected one of"));
}

TEST(Validate, StreamTlsWithoutCertificate_Fails) {
  Config config = Defaults();
  config.api.stream_enable_tls = true;
  config.api.stream_tls_key = "/etc/crio/tls.key";

  EXPECT_THAT(Message(Validate(config)), StartsWith("crio.api.stream_tls_cert: required"));
}

// ----------------------------------------------------------------------------------------------
// ToToml.
// ----------------------------------------------------------------------------------------------

TEST(ToToml, Defaults_RoundTripWithoutWarnings) {
  // Given
  Config config = Defaults();

  // When
  std::string text = ToToml(config);
  Config read_back = Defaults();
  std::vector<Warning> warnings;
  Status status = ApplyToml(text, "printed.conf", read_back, warnings);

  // Then
  ASSERT_TRUE(status.ok()) << status << "\n" << text;
  EXPECT_THAT(warnings, IsEmpty());
  EXPECT_EQ(read_back, config);
}

TEST(ToToml, NonDefaultConfig_RoundTripsOntoDefaults) {
  // Given the full CRI-O file plus values that need quoting and escaping.
  Config config = Defaults();
  std::vector<Warning> warnings;
  ASSERT_TRUE(ApplyToml(ReadTestData("crio-full.conf"), "crio-full.conf", config, warnings).ok());
  config.runtime.log_filter = "quote\" backslash\\ tab\t newline\n";
  RuntimeHandler odd;
  odd.runtime_path = "/opt/odd/runtime";
  odd.default_annotations = {"a.b/c=d=e", "x="};
  config.runtime.runtimes["odd.name with space"] = odd;
  config.runtime.minimum_mappable_uid = INT64_MIN;
  config.runtime.pids_limit = INT64_MAX;
  config.root.storage_option.clear();

  // When
  std::string text = ToToml(config);
  Config read_back = Defaults();
  warnings.clear();
  Status status = ApplyToml(text, "printed.conf", read_back, warnings);

  // Then
  ASSERT_TRUE(status.ok()) << status << "\n" << text;
  EXPECT_THAT(warnings, IsEmpty());
  EXPECT_EQ(read_back, config);
  EXPECT_EQ(read_back.runtime.workloads, config.runtime.workloads);
}

TEST(ToToml, Output_HasTableHeadersCommentsAndHandlers) {
  Config config = Defaults();
  config.runtime.runtimes["kata"].runtime_type = "vm";

  std::string text = ToToml(config);

  for (const char* header :
       {"[crio]\n", "[crio.api]\n", "[crio.runtime]\n", "[crio.image]\n", "[crio.network]\n",
        "[crio.metrics]\n", "[crio.tracing]\n", "[crio.nri]\n", "[crio.nri.default_validator]\n",
        "[crio.stats]\n", "[crio.runtime.runtimes.kata]\n"}) {
    EXPECT_THAT(text, HasSubstr(header));
  }
  EXPECT_THAT(text, HasSubstr("Reloaded on SIGHUP.\nlog_level = \"info\"\n"));
  EXPECT_THAT(text, HasSubstr("\nplugin_dirs = [\"/opt/cni/bin/\"]\n"));
  EXPECT_THAT(text, HasSubstr("\nruntime_type = \"vm\"\n"));
  EXPECT_THAT(text, HasSubstr("crio-cpp addition (not in CRI-O)"));
}

// ----------------------------------------------------------------------------------------------
// Reload.
// ----------------------------------------------------------------------------------------------

TEST(ApplyReloadable, LogLevelChanged_CopiesAndReports) {
  // Given
  Config live = Defaults();
  Config fresh = Defaults();
  fresh.runtime.log_level = "debug";
  fresh.image.pinned_images = {"quay.io/app:1"};
  fresh.runtime.cgroup_manager = "cgroupfs";  // needs a restart

  // When
  std::vector<std::string> changes = ApplyReloadable(fresh, live);

  // Then
  EXPECT_THAT(changes, testing::UnorderedElementsAre("log_level: \"info\" -> \"debug\"",
                                                     "pinned_images: [] -> [\"quay.io/app:1\"]"));
  EXPECT_EQ(live.runtime.log_level, "debug");
  EXPECT_THAT(live.image.pinned_images, ElementsAre("quay.io/app:1"));
  EXPECT_EQ(live.runtime.cgroup_manager, "systemd");
}

TEST(ApplyReloadable, HandlerAddedAndDefaultSwitched_Reported) {
  Config live = Defaults();
  Config fresh = Defaults();
  RuntimeHandler kata;
  kata.runtime_type = "vm";
  kata.runtime_path = "/usr/bin/containerd-shim-kata-v2";
  fresh.runtime.runtimes["kata"] = kata;
  fresh.runtime.default_runtime = "kata";

  std::vector<std::string> changes = ApplyReloadable(fresh, live);

  EXPECT_THAT(changes, testing::Contains("runtimes: added \"kata\""));
  EXPECT_THAT(changes, testing::Contains(StartsWith("default_runtime: ")));
  EXPECT_EQ(live.runtime.default_runtime, "kata");
  EXPECT_EQ(live.runtime.runtimes.count("kata"), 1u);
}

TEST(ApplyReloadable, SameConfig_ReportsNothing) {
  Config live = Defaults();

  EXPECT_THAT(ApplyReloadable(Defaults(), live), IsEmpty());
  EXPECT_EQ(live, Defaults());
}

}  // namespace
}  // namespace crio::config

namespace crio::config {
namespace {

TEST(RuntimeHostProblemTest, CrunOnHybridHostWithControllers_NamesTheHandlerAndControllers) {
  std::string problem = RuntimeHostProblem("fast", "/usr/bin/crun", "hugetlb\n");
  EXPECT_NE(problem.find("\"fast\""), std::string::npos) << problem;
  EXPECT_NE(problem.find("hugetlb"), std::string::npos) << problem;
  EXPECT_NE(problem.find("use runc"), std::string::npos) << problem;
}

TEST(RuntimeHostProblemTest, RuncOrEmptyUnifiedTree_NoProblem) {
  EXPECT_EQ(RuntimeHostProblem("runc", "/usr/sbin/runc", "hugetlb\n"), "");
  EXPECT_EQ(RuntimeHostProblem("crun", "/usr/bin/crun", "\n"), "");
  EXPECT_EQ(RuntimeHostProblem("crun", "/usr/bin/crun", ""), "");
  // A wrapper (e.g. one hiding the cgroup2 mount) is not crun itself.
  EXPECT_EQ(RuntimeHostProblem("crun", "/tmp/crun-wrapper", "hugetlb"), "");
}

}  // namespace
}  // namespace crio::config

namespace crio::config {
namespace {

const CommandLineFlag* FindFlag(const std::string& name) {
  for (const auto& flag : CommandLineFlags()) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

TEST(CommandLineFlags, OnePerOptionWithCrioNamesAndUniqueEnvTwins) {
  const auto& flags = CommandLineFlags();
  EXPECT_GT(flags.size(), 100u);
  std::set<std::string> names, envs;
  for (const auto& flag : flags) {
    EXPECT_TRUE(names.insert(flag.name).second) << "duplicate --" << flag.name;
    EXPECT_TRUE(envs.insert(flag.env).second) << "duplicate " << flag.env;
    EXPECT_EQ(flag.name.find('_'), std::string::npos) << flag.name;
  }
  ASSERT_NE(FindFlag("cni-config-dir"), nullptr);
  EXPECT_EQ(FindFlag("cni-config-dir")->key, "network_dir");
  ASSERT_NE(FindFlag("storage-driver"), nullptr);
  EXPECT_EQ(FindFlag("storage-driver")->short_name, "s");
  EXPECT_EQ(FindFlag("log-level")->short_name, "l");
  EXPECT_EQ(FindFlag("cgroup-manager")->env, "CONTAINER_CGROUP_MANAGER");
  EXPECT_TRUE(FindFlag("enable-metrics")->is_bool);
  EXPECT_TRUE(FindFlag("default-sysctls")->is_list);
}

TEST(CommandLineFlags, ApplyMeansWhatTheFileMeans) {
  Config cfg = Defaults();
  ASSERT_TRUE(ApplyCommandLineFlag(*FindFlag("cgroup-manager"), {"systemd", "cgroupfs"}, cfg).ok());
  EXPECT_EQ(cfg.runtime.cgroup_manager, "cgroupfs") << "a scalar takes its last value";
  ASSERT_TRUE(ApplyCommandLineFlag(*FindFlag("enable-metrics"), {}, cfg).ok());
  EXPECT_TRUE(cfg.metrics.enable_metrics);
  ASSERT_TRUE(ApplyCommandLineFlag(*FindFlag("enable-metrics"), {"false"}, cfg).ok());
  EXPECT_FALSE(cfg.metrics.enable_metrics);
  ASSERT_TRUE(ApplyCommandLineFlag(*FindFlag("metrics-port"), {"9191"}, cfg).ok());
  EXPECT_EQ(cfg.metrics.metrics_port, 9191);
  ASSERT_TRUE(
      ApplyCommandLineFlag(*FindFlag("default-sysctls"), {"net.a=1,net.b=2", "net.c=3"}, cfg).ok());
  EXPECT_THAT(cfg.runtime.default_sysctls, ElementsAre("net.a=1", "net.b=2", "net.c=3"));

  Status bad = ApplyCommandLineFlag(*FindFlag("metrics-port"), {"many"}, cfg);
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_THAT(std::string(bad.message()), HasSubstr("--metrics-port"));
  EXPECT_EQ(cfg.metrics.metrics_port, 9191) << "a refused flag changes nothing";
  EXPECT_TRUE(
      absl::IsInvalidArgument(ApplyCommandLineFlag(*FindFlag("enable-metrics"), {"maybe"}, cfg)));
}

}  // namespace
}  // namespace crio::config
