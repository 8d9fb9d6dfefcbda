// Unit tests of crioctl's YAML-to-JSON conversion (cmd/crioctl/yaml_json.h): crictl's example
// configs, the scalar typing the protobuf parser relies on, and errors naming the line.

#include "yaml_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace crioctl {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// Parses `yaml` and returns the JSON as a (key-sorted) value, failing the test on an error.
Json Convert(const std::string& yaml) {
  auto out = YamlToJson(yaml);
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return nullptr;
  return Json::parse(*out);
}

std::string ErrorOf(const std::string& yaml) {
  auto out = YamlToJson(yaml);
  EXPECT_FALSE(out.ok()) << "accepted: " << yaml << " -> " << *out;
  if (out.ok()) return std::string();
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(out.status().message());
}

TEST(YamlJson_Crictl, PodSandboxExample_ConvertsToExpectedJson) {
  // crictl's docs/examples/podsandbox-config.yaml, plus the usual comments.
  const std::string yaml =
      "# pod config\n"
      "metadata:\n"
      "  attempt: 1\n"
      "  name: busybox-sandbox\n"
      "  namespace: default\n"
      "  uid: hdishd83djaidwnduwk28bcsb  # any unique string\n"
      "log_directory: /tmp\n"
      "linux:\n"
      "  namespaces:\n"
      "    options: {}\n";
  EXPECT_EQ(Convert(yaml), Json::parse(R"({
      "metadata": {"attempt": 1, "name": "busybox-sandbox", "namespace": "default",
                   "uid": "hdishd83djaidwnduwk28bcsb"},
      "log_directory": "/tmp",
      "linux": {"namespaces": {"options": {}}}})"));
}

TEST(YamlJson_Crictl, ContainerExample_ConvertsToExpectedJson) {
  const std::string yaml =
      "metadata:\n"
      "  name: busybox\n"
      "image:\n"
      "  image: docker.io/busybox:latest\n"
      "command:\n"
      "  - top\n"
      "log_path: busybox.0.log\n";
  EXPECT_EQ(Convert(yaml), Json::parse(R"({
      "metadata": {"name": "busybox"}, "image": {"image": "docker.io/busybox:latest"},
      "command": ["top"], "log_path": "busybox.0.log"})"));
}

TEST(YamlJson_Sequences, MappingsInSequence_BecomeObjects) {
  const std::string yaml =
      "envs:\n"
      "- key: A\n"
      "  value: \"1\"\n"
      "-   key: B\n"
      "    value: two words\n"
      "mounts:\n"
      "  - container_path: /data\n"
      "    host_path: /srv/data\n"
      "    readonly: true\n";
  EXPECT_EQ(Convert(yaml), Json::parse(R"({
      "envs": [{"key": "A", "value": "1"}, {"key": "B", "value": "two words"}],
      "mounts": [{"container_path": "/data", "host_path": "/srv/data", "readonly": true}]})"));
}

TEST(YamlJson_Sequences, NestedAndEmptyItems_AreKept) {
  EXPECT_EQ(Convert("- - a\n  - b\n- \n- c\n"), Json::parse(R"([["a", "b"], null, "c"])"));
}

TEST(YamlJson_Sequences, ItemOnFollowingLine_IsParsed) {
  EXPECT_EQ(Convert("args:\n  -\n    x: 1\n  - y\n"), Json::parse(R"({"args": [{"x": 1}, "y"]})"));
}

TEST(YamlJson_Scalars, PlainScalars_ResolveLikeYaml12Core) {
  const std::string yaml =
      "a: 42\n"
      "b: -7\n"
      "c: 1.5\n"
      "d: true\n"
      "e: False\n"
      "f: ~\n"
      "g:\n"
      "h: null\n"
      "i: 0x1F\n"
      "j: 0o17\n"
      "k: yes\n"
      "l: 1e3\n"
      "m: 10.0.0.1\n"
      "n: 18446744073709551615\n"
      "o: 99999999999999999999999\n"
      "p: +5\n"
      "q: .inf\n";
  Json j = Convert(yaml);
  EXPECT_EQ(j["a"], 42);
  EXPECT_EQ(j["b"], -7);
  EXPECT_DOUBLE_EQ(j["c"].get<double>(), 1.5);
  EXPECT_EQ(j["d"], true);
  EXPECT_EQ(j["e"], false);
  EXPECT_TRUE(j["f"].is_null());
  EXPECT_TRUE(j["g"].is_null());
  EXPECT_TRUE(j["h"].is_null());
  EXPECT_EQ(j["i"], 31);
  EXPECT_EQ(j["j"], 15);
  EXPECT_EQ(j["k"], "yes");  // YAML 1.1 booleans are strings in 1.2
  EXPECT_DOUBLE_EQ(j["l"].get<double>(), 1000.0);
  EXPECT_EQ(j["m"], "10.0.0.1");
  EXPECT_EQ(j["n"].get<uint64_t>(), 18446744073709551615ULL);
  EXPECT_EQ(j["o"], "99999999999999999999999");
  EXPECT_EQ(j["p"], 5);
  EXPECT_EQ(j["q"], ".inf");  // JSON has no infinity
}

TEST(YamlJson_Scalars, QuotedScalars_UnescapeAndStayStrings) {
  const std::string yaml =
      "a: \"42\"\n"
      "b: 'it''s # not a comment'\n"
      "c: \"tab\\tnew\\nline \\u00e9 \\\"q\\\"\"\n"
      "d: it's plain # comment\n"
      "e: a#b\n"
      "\"quoted key\": 'v'\n"
      "f: \"\"\n"
      "g: 'true'\n"
      "h: \"null\"\n"
      "i: !!str 7\n";
  Json j = Convert(yaml);
  EXPECT_EQ(j["a"], "42");
  EXPECT_EQ(j["b"], "it's # not a comment");
  EXPECT_EQ(j["c"], "tab\tnew\nline \xC3\xA9 \"q\"");
  EXPECT_EQ(j["d"], "it's plain");
  EXPECT_EQ(j["e"], "a#b");
  EXPECT_EQ(j["quoted key"], "v");
  EXPECT_EQ(j["f"], "");
  EXPECT_EQ(j["g"], "true");
  EXPECT_EQ(j["h"], "null");
  EXPECT_EQ(j["i"], "7");
}

TEST(YamlJson_Scalars, ColonInsideValue_StaysInScalar) {
  Json j = Convert("image: docker.io/library/busybox:1.36\nurl: http://x:80/y\n");
  EXPECT_EQ(j["image"], "docker.io/library/busybox:1.36");
  EXPECT_EQ(j["url"], "http://x:80/y");
}

TEST(YamlJson_Scalars, ValueOnNextLine_IsParsed) {
  EXPECT_EQ(Convert("key:\n  value\nother: 1\n"), Json::parse(R"({"key": "value", "other": 1})"));
}

TEST(YamlJson_Scalars, NumericKeys_StayText) {
  EXPECT_EQ(Convert("1: a\ntrue: b\n~: c\n"),
            Json::parse(R"({"1": "a", "true": "b", "null": "c"})"));
}

TEST(YamlJson_Flow, FlowCollections_AreParsed) {
  const std::string yaml =
      "command: [\"sh\", \"-c\", 'echo hi; sleep 1']\n"
      "empty_seq: []\n"
      "labels: {app: web, tier: \"front\", n: 3}\n"
      "nested: {a: [1, 2, {b: c}], d: }\n"
      "multi: [1,\n  2]\n";
  EXPECT_EQ(Convert(yaml), Json::parse(R"({
      "command": ["sh", "-c", "echo hi; sleep 1"], "empty_seq": [],
      "labels": {"app": "web", "tier": "front", "n": 3},
      "nested": {"a": [1, 2, {"b": "c"}], "d": null}, "multi": [1, 2]})"));
}

TEST(YamlJson_BlockScalars, LiteralAndFolded_FollowChomping) {
  const std::string yaml =
      "literal: |\n"
      "  line one\n"
      "    indented # kept\n"
      "\n"
      "  line three\n"
      "strip: |-\n"
      "  no newline\n"
      "keep: |+\n"
      "  kept\n"
      "\n"
      "folded: >\n"
      "  folded\n"
      "  text\n"
      "\n"
      "  para\n"
      "after: 1\n";
  Json j = Convert(yaml);
  EXPECT_EQ(j["literal"], "line one\n  indented # kept\n\nline three\n");
  EXPECT_EQ(j["strip"], "no newline");
  EXPECT_EQ(j["keep"], "kept\n\n");
  EXPECT_EQ(j["folded"], "folded text\npara\n");
  EXPECT_EQ(j["after"], 1);
}

TEST(YamlJson_BlockScalars, InSequence_IsParsed) {
  EXPECT_EQ(Convert("args:\n- |\n  echo a\n  echo b\n- x\n"),
            Json::parse(R"({"args": ["echo a\necho b\n", "x"]})"));
}

TEST(YamlJson_Document, MarkersCrlfAndEmpty_AreHandled) {
  EXPECT_EQ(Convert("---\r\na: 1\r\n...\r\n"), Json::parse(R"({"a": 1})"));
  EXPECT_TRUE(Convert("# only a comment\n\n").is_null());
  EXPECT_TRUE(Convert("").is_null());
  EXPECT_EQ(Convert("\xEF\xBB\xBF"
                    "a: b\n"),
            Json::parse(R"({"a": "b"})"));
  EXPECT_EQ(Convert("%YAML 1.2\n---\na: 1\n"), Json::parse(R"({"a": 1})"));
}

TEST(YamlJson_Document, KeyOrder_IsPreserved) {
  auto out = YamlToJson("z: 1\na: 2\nm: 3\n");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, R"({"z":1,"a":2,"m":3})");
}

TEST(YamlJson_Document, LoneScalarDocument_IsAValue) {
  EXPECT_EQ(Convert("just text\n"), Json("just text"));
}

TEST(YamlJson_Document, AnchorsAliasesAndMultiLineScalars_AreFullYaml) {
  const std::string yaml =
      "base: &labels {app: web}\n"
      "copy: *labels\n"
      "folded: one\n"
      "  two\n"
      "quoted: \"a\n"
      "  b\"\n";
  EXPECT_EQ(Convert(yaml), Json::parse(R"({"base": {"app": "web"}, "copy": {"app": "web"},
                                           "folded": "one two", "quoted": "a b"})"));
}

TEST(YamlJson_Errors, MalformedYaml_IsRefusedWithLineNumber) {
  EXPECT_THAT(ErrorOf("a:\n\tb: 1\n"), HasSubstr("yaml line 2"));
  EXPECT_THAT(ErrorOf("a:\n    b: 1\n  c: 2\n"), HasSubstr("yaml line 3"));
  EXPECT_THAT(ErrorOf("a: b: c\n"), HasSubstr("yaml line 1"));
  EXPECT_THAT(ErrorOf("a: 1\n- trailing: x\nb: 2\n"), HasSubstr("yaml line 2"));
  EXPECT_THAT(ErrorOf("just text\nmore: 1\n"), HasSubstr("yaml line 2"));
  EXPECT_THAT(ErrorOf("a:\n  b: [1, 2\n"), HasSubstr("yaml line"));
}

TEST(YamlJson_Errors, AmbiguousDocuments_AreRefusedWithLineNumber) {
  EXPECT_THAT(ErrorOf("a: 1\na: 2\n"), HasSubstr("yaml line 2: duplicate key \"a\""));
  EXPECT_THAT(ErrorOf("a: 1\n---\nb: 2\n"), HasSubstr("multiple documents"));
  EXPECT_THAT(ErrorOf("x: 1\n? [a, b]\n: c\n"), HasSubstr("yaml line 2: complex mapping keys"));
  EXPECT_THAT(ErrorOf("a: &a [*a]\n"), HasSubstr("yaml line 1: nested deeper"));
}

}  // namespace
}  // namespace crioctl
