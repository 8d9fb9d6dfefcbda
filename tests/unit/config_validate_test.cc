// Validate (validate.cc): option values set in code and the rules that span options.

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_util.h"
#include "support/temp_dir.h"

namespace crio::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

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

}  // namespace
}  // namespace crio::config
