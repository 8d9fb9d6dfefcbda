// ToToml (toml_writer.cc): what `crio config` prints reads back to the same configuration.

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config_test_util.h"

namespace crio::config {
namespace {

using config_test::ReadTestData;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

}  // namespace
}  // namespace crio::config
