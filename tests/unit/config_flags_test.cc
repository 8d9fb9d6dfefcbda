// CommandLineFlags and ApplyCommandLineFlag (flags.cc): crio(8)'s flags and CONTAINER_* twins.

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "config_test_util.h"

namespace crio::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
