// Unit tests of OCI hooks files (src/container/hooks.h): parsing, directory precedence, the
// `when` conditions and what lands in the spec.

#include "container/hooks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace crio::container {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

using testing::TempDir;

void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string HookJson(const std::string& path, const std::string& when,
                     const std::string& stages = R"(["prestart"])") {
  return R"({"version":"1.0.0","hook":{"path":")" + path + R"(","args":["x","1"],"timeout":3},)" +
         R"("when":)" + when + R"(,"stages":)" + stages + "}";
}

json Spec(const std::string& cmd, const json& annotations = json::object()) {
  return {{"process", {{"args", {cmd, "arg"}}}}, {"annotations", annotations}};
}

TEST(HooksParse, ValidFile_KeepsHookFieldsAndStages) {
  auto hook = ParseHook(
      "a.json", HookJson("/bin/hook", R"({"always":true})", R"(["createRuntime","poststop"])"));
  ASSERT_TRUE(hook.ok()) << hook.status();
  EXPECT_EQ(hook->hook, json::parse(R"({"path":"/bin/hook","args":["x","1"],"timeout":3})"));
  EXPECT_EQ(hook->stages, (std::vector<std::string>{"createRuntime", "poststop"}));
  EXPECT_TRUE(hook->always);
}

TEST(HooksParse, InvalidFiles_AreRefusedWithTheReason) {
  struct Case {
    std::string text;
    std::string reason;
  } cases[] = {
      {"not json", "not a JSON object"},
      {R"({"version":"0.1.0","hook":{"path":"/x"},"when":{"always":true},"stages":["prestart"]})",
       "unsupported version"},
      {HookJson("relative/x", R"({"always":true})"), "must be absolute"},
      {R"({"version":"1.0.0","hook":{},"when":{"always":true},"stages":["prestart"]})",
       "hook.path is required"},
      {HookJson("/x", R"({"always":true})", R"(["prestrat"])"), "unknown stage \"prestrat\""},
      {HookJson("/x", R"({"always":true})", "[]"), "non-empty list"},
      {HookJson("/x", "{}"), "has no condition"},
      {HookJson("/x", R"({"commands":["("]})"), "invalid regular expression"},
      {HookJson("/x", R"({"annotations":{"a":1}})"), "must be a string"},
      {R"({"version":"1.0.0","hook":{"path":"/x","timeout":0},"when":{"always":true},)"
       R"("stages":["prestart"]})",
       "timeout must be a positive integer"},
  };
  for (const auto& c : cases) {
    auto hook = ParseHook("f.json", c.text);
    ASSERT_FALSE(hook.ok()) << c.text;
    EXPECT_EQ(hook.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(hook.status().message()), HasSubstr(c.reason)) << c.text;
    EXPECT_THAT(std::string(hook.status().message()), HasSubstr("f.json"));
  }
}

TEST(HooksMatch, ConditionsAreOred_AndPatternsAreSearched) {
  auto hook = ParseHook("a.json", HookJson("/x", R"({"annotations":{"^example\\.com/gpu$":"^yes$"},
                                                    "commands":["sh$"],"hasBindMounts":true})"));
  ASSERT_TRUE(hook.ok()) << hook.status();
  EXPECT_TRUE(HookMatches(*hook, {{"example.com/gpu", "yes"}}, "/bin/true", false));
  EXPECT_FALSE(HookMatches(*hook, {{"example.com/gpu", "no"}}, "/bin/true", false));
  EXPECT_FALSE(HookMatches(*hook, {{"other", "yes"}}, "/bin/true", false));
  EXPECT_TRUE(HookMatches(*hook, {}, "/bin/sh", false));
  EXPECT_FALSE(HookMatches(*hook, {}, "/bin/shell", false));
  EXPECT_TRUE(HookMatches(*hook, {}, "/bin/true", true));
  EXPECT_FALSE(HookMatches(*hook, {}, "/bin/true", false));
}

TEST(HooksMatch, AlwaysFalseWithoutOtherConditions_NeverMatches) {
  auto hook = ParseHook("a.json", HookJson("/x", R"({"always":false})"));
  ASSERT_TRUE(hook.ok()) << hook.status();
  EXPECT_FALSE(HookMatches(*hook, {{"a", "b"}}, "sh", true));
}

TEST(HooksLoad, LaterDirOverridesSameName_InvalidSkipped_NonJsonIgnored) {
  TempDir tmp;
  Write(tmp.Sub("a/10-x.json"), HookJson("/from/a", R"({"always":true})"));
  Write(tmp.Sub("b/10-x.json"), HookJson("/from/b", R"({"always":true})"));
  Write(tmp.Sub("a/20-y.json"), HookJson("/only/a", R"({"always":true})", R"(["poststop"])"));
  Write(tmp.Sub("b/05-bad.json"), "{");
  Write(tmp.Sub("b/readme.txt"), HookJson("/txt", R"({"always":true})"));
  HookSet set = LoadHooks({tmp.Sub("a"), tmp.Sub("b"), tmp.Sub("missing")});
  ASSERT_EQ(set.hooks.size(), 2u);
  EXPECT_EQ(set.hooks[0].hook["path"], "/from/b");
  EXPECT_EQ(set.hooks[1].hook["path"], "/only/a");
}

TEST(HooksApply, MatchingHooksAreAppendedPerStage_InFileOrder) {
  TempDir tmp;
  Write(tmp.Sub("d/1.json"), HookJson("/h1", R"({"always":true})", R"(["prestart","poststart"])"));
  Write(tmp.Sub("d/2.json"), HookJson("/h2", R"({"commands":["^/usr/bin/nginx$"]})"));
  Write(tmp.Sub("d/3.json"), HookJson("/h3", R"({"annotations":{"gpu":"true"}})"));
  HookSet set = LoadHooks({tmp.Sub("d")});
  ASSERT_EQ(set.hooks.size(), 3u);
  json spec = Spec("/bin/sh", {{"gpu", "true"}});
  spec["hooks"] = {{"prestart", {{{"path", "/existing"}}}}};
  EXPECT_EQ(ApplyHooks(spec, set, false), 2);
  ASSERT_EQ(spec["hooks"]["prestart"].size(), 3u);
  EXPECT_EQ(spec["hooks"]["prestart"][0]["path"], "/existing");
  EXPECT_EQ(spec["hooks"]["prestart"][1]["path"], "/h1");
  EXPECT_EQ(spec["hooks"]["prestart"][2]["path"], "/h3");
  ASSERT_EQ(spec["hooks"]["poststart"].size(), 1u);
  EXPECT_EQ(spec["hooks"]["poststart"][0]["args"], json({"x", "1"}));
}

TEST(HooksApply, NothingMatches_SpecUnchanged) {
  auto hook = ParseHook("a.json", HookJson("/x", R"({"commands":["nginx"]})"));
  ASSERT_TRUE(hook.ok());
  HookSet set;
  set.hooks.push_back(*hook);
  json spec = Spec("/bin/sh");
  const json before = spec;
  EXPECT_EQ(ApplyHooks(spec, set, true), 0);
  EXPECT_EQ(spec, before);
}

}  // namespace
}  // namespace crio::container
