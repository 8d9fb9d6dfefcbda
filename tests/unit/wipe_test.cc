// `crio wipe` decisions (src/daemon/wipe.h) over version and shutdown files in a temp dir.
#include "daemon/wipe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "util/build_info.h"

namespace crio::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;

class WipePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crio-wipe-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.root.root = dir_ + "/root";
    config_.root.runroot = dir_ + "/runroot";
    config_.root.version_file = dir_ + "/run/version";
    config_.root.version_file_persist = dir_ + "/lib/version";
    config_.root.clean_shutdown_file = dir_ + "/lib/clean.shutdown";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  // What a daemon leaves after a graceful stop.
  void CleanStop() {
    ASSERT_TRUE(MarkDaemonStarted(config_).ok());
    ASSERT_TRUE(MarkCleanShutdown(config_).ok());
  }

  std::string dir_;
  config::Config config_;
};

TEST_F(WipePlanTest, ShouldWipe_ComparesMajorMinorOnly) {
  std::string why;
  EXPECT_FALSE(ShouldWipe("", "1.2.3", &why));
  Write(dir_ + "/v", "\"1.2.9+abc\"");
  EXPECT_FALSE(ShouldWipe(dir_ + "/v", "1.2.3", &why));
  EXPECT_TRUE(ShouldWipe(dir_ + "/v", "1.3.0", &why));
  EXPECT_THAT(why, HasSubstr("1.2"));
  Write(dir_ + "/v", "garbage");
  EXPECT_TRUE(ShouldWipe(dir_ + "/v", "1.2.3", &why));
  EXPECT_THAT(why, HasSubstr("malformatted"));
  EXPECT_TRUE(ShouldWipe(dir_ + "/missing", "1.2.3", &why));
}

TEST_F(WipePlanTest, DaemonStart_WritesQuotedVersionAndSupportedMarker) {
  Write(config_.root.clean_shutdown_file, "");
  ASSERT_TRUE(MarkDaemonStarted(config_).ok());
  std::ifstream in(config_.root.version_file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, std::string("\"") + build::kVersion + "\"");
  EXPECT_TRUE(fs::exists(config_.root.version_file_persist));
  EXPECT_TRUE(fs::exists(config_.root.clean_shutdown_file + ".supported"));
  EXPECT_FALSE(fs::exists(config_.root.clean_shutdown_file)) << "only a graceful stop writes it";
  ASSERT_TRUE(MarkCleanShutdown(config_).ok());
  EXPECT_TRUE(fs::exists(config_.root.clean_shutdown_file));
}

TEST_F(WipePlanTest, NothingChanged_NoWipe) {
  CleanStop();
  WipePlan plan = PlanWipe(config_, false, false);
  EXPECT_FALSE(plan.containers);
  EXPECT_FALSE(plan.images);
  EXPECT_FALSE(plan.storage);
  EXPECT_THAT(plan.reasons, Contains(HasSubstr("no wipe needed")));
}

TEST_F(WipePlanTest, Reboot_WipesContainersOnly) {
  CleanStop();
  fs::remove(config_.root.version_file);
  WipePlan plan = PlanWipe(config_, false, false);
  EXPECT_TRUE(plan.containers);
  EXPECT_FALSE(plan.images);
  EXPECT_FALSE(plan.storage);
}

TEST_F(WipePlanTest, Upgrade_WipesContainersAndImages_ButImagesNeverAlone) {
  CleanStop();
  fs::remove(config_.root.version_file);
  fs::remove(config_.root.version_file_persist);
  WipePlan plan = PlanWipe(config_, false, false);
  EXPECT_TRUE(plan.containers);
  EXPECT_TRUE(plan.images);

  CleanStop();
  fs::remove(config_.root.version_file_persist);
  plan = PlanWipe(config_, false, false);
  EXPECT_FALSE(plan.containers);
  EXPECT_FALSE(plan.images);
}

TEST_F(WipePlanTest, UncleanShutdown_WipeCommandWipesStorageOnce_DaemonOnlyWarns) {
  ASSERT_TRUE(MarkDaemonStarted(config_).ok());  // then a crash: no clean-shutdown file
  fs::remove(config_.root.version_file);         // and the reboot
  WipePlan daemon_plan = PlanWipe(config_, false, true);
  EXPECT_FALSE(daemon_plan.storage);
  EXPECT_TRUE(daemon_plan.containers);
  EXPECT_THAT(daemon_plan.reasons, Contains(HasSubstr("not clean")));

  WipePlan plan = PlanWipe(config_, false, false);
  EXPECT_TRUE(plan.storage);
  fs::create_directories(config_.root.root + "/overlay-layers");
  auto wiped = ExecuteWipe(config_, plan);
  ASSERT_TRUE(wiped.ok()) << wiped.status();
  EXPECT_FALSE(fs::exists(config_.root.root));
  // The marker (next to version_file) keeps a second run from wiping again.
  EXPECT_FALSE(PlanWipe(config_, false, false).storage);
}

TEST_F(WipePlanTest, NoSupportedMarker_NoStorageWipe) {
  fs::remove(config_.root.version_file);
  WipePlan plan = PlanWipe(config_, false, false);
  EXPECT_TRUE(plan.containers);
  EXPECT_FALSE(plan.storage);
}

TEST_F(WipePlanTest, Force_WipesContainersAndImages) {
  CleanStop();
  WipePlan plan = PlanWipe(config_, true, false);
  EXPECT_TRUE(plan.containers);
  EXPECT_TRUE(plan.images);
}

}  // namespace
}  // namespace crio::daemon
