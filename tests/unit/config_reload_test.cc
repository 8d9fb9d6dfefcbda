// ApplyReloadable (live_config.cc): what a SIGHUP reload takes from the fresh configuration.

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_util.h"

namespace crio::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

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
  EXPECT_THAT(changes, ::testing::UnorderedElementsAre("log_level: \"info\" -> \"debug\"",
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

  EXPECT_THAT(changes, ::testing::Contains("runtimes: added \"kata\""));
  EXPECT_THAT(changes, ::testing::Contains(StartsWith("default_runtime: ")));
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
