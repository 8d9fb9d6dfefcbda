// Defaults, $PATH lookup, runtime host problems and Go durations (config.cc, duration.cc).

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>

#include "config_test_util.h"
#include "support/temp_dir.h"

namespace crio::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::TempDir;
using namespace std::chrono_literals;

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
  setenv("PATH", ("relative/dir:" + dir.Sub("bin")).c_str(), 1);

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

}  // namespace
}  // namespace crio::config
