// network/cni_config and network/cni_result: config discovery and parsing, result formats.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "network/cni_config.h"
#include "network/cni_result.h"
#include "support/temp_dir.h"

namespace crio::network {
namespace {

using nlohmann::json;

using testing::TempDir;

TEST(CniVersion, Parse_AcceptsTwoAndThreePartsRejectsGarbage) {
  auto v = ParseCniVersion("1.1.0");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (CniVersion{1, 1, 0}));
  EXPECT_EQ(*ParseCniVersion("0.4"), (CniVersion{0, 4, 0}));
  EXPECT_FALSE(ParseCniVersion("x").ok());
  EXPECT_FALSE(ParseCniVersion("1").ok());
  EXPECT_FALSE(ParseCniVersion("1.0.0-rc1").ok());
  EXPECT_TRUE(IsSupportedVersion({0, 3, 1}));
  EXPECT_FALSE(IsSupportedVersion({1, 2, 0}));
}

TEST(CniConfig, ParseConfigList_Valid_KeepsPluginsInOrder) {
  auto list = ParseConfigList(
      R"({"cniVersion":"1.0.0","name":"n","disableCheck":true,
          "plugins":[{"type":"bridge","bridge":"b0"},{"type":"portmap"}]})");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->name, "n");
  EXPECT_TRUE(list->disable_check);
  ASSERT_EQ(list->plugins.size(), 2u);
  EXPECT_EQ(list->plugins[0]["bridge"], "b0");
  EXPECT_EQ(list->plugins[1]["type"], "portmap");
  EXPECT_EQ(list->ToJson()["plugins"].size(), 2u);
}

TEST(CniConfig, ParseConfigList_Malformed_InvalidArgumentSayingWhat) {
  struct Case {
    const char* doc;
    const char* says;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {R"({"cniVersion":"1.0.0","plugins":[{"type":"a"}]})", "name"},
      {R"({"name":"n","plugins":[{"type":"a"}]})", "cniVersion"},
      {R"({"cniVersion":"9.0.0","name":"n","plugins":[{"type":"a"}]})", "unsupported"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[]})", "no plugins"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"x"}]})", "no type"},
      {R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../sh"}]})", "plain name"},
  };
  for (const auto& c : cases) {
    auto list = ParseConfigList(c.doc);
    ASSERT_FALSE(list.ok()) << c.doc;
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(list.status().message().find(c.says), std::string::npos) << list.status();
  }
}

TEST(CniConfig, ParseSingleConfig_LiftsPluginIntoList) {
  auto list = ParseSingleConfig(R"({"cniVersion":"0.3.1","name":"one","type":"bridge"})");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->cni_version, "0.3.1");
  ASSERT_EQ(list->plugins.size(), 1u);
  EXPECT_EQ(list->plugins[0]["type"], "bridge");
}

TEST(CniConfig, Discover_FirstValidInLexicalOrder_MalformedSkippedWithWarning) {
  TempDir dir;
  dir.Write("05-broken.conflist", "{\"cniVersion\":");
  dir.Write("10-b.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]})");
  dir.Write("20-a.conf", R"({"cniVersion":"1.0.0","name":"a","type":"y"})");
  dir.Write("00-ignored.txt", R"({"cniVersion":"1.0.0","name":"txt","type":"y"})");
  Discovery d = DiscoverNetwork(dir.path(), "");
  ASSERT_TRUE(d.found) << d.error;
  EXPECT_EQ(d.network.name, "b");
  EXPECT_EQ(d.network.source, dir.path() + "/10-b.conflist");
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("05-broken.conflist"), std::string::npos) << d.warnings[0];
}

TEST(CniConfig, Discover_DefaultNetworkByName) {
  TempDir dir;
  dir.Write("10-b.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]})");
  dir.Write("20-a.conf", R"({"cniVersion":"1.0.0","name":"a","type":"y"})");
  Discovery d = DiscoverNetwork(dir.path(), "a");
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.network.name, "a");
  Discovery missing = DiscoverNetwork(dir.path(), "zzz");
  EXPECT_FALSE(missing.found);
  EXPECT_NE(missing.error.find("\"zzz\""), std::string::npos) << missing.error;
}

TEST(CniConfig, Discover_EmptyOrMissingDir_ErrorNamesDir) {
  TempDir dir;
  Discovery d = DiscoverNetwork(dir.path(), "");
  EXPECT_FALSE(d.found);
  EXPECT_NE(d.error.find("no CNI configuration file in " + dir.path()), std::string::npos);
  EXPECT_FALSE(DiscoverNetwork(dir.path() + "/nope", "").found);
}

TEST(CniResult, Parse_V1_InterfacesIpsAndPodIpsV4First) {
  auto r = ParseResult(R"({"cniVersion":"1.0.0",
      "interfaces":[{"name":"cni0"},{"name":"veth1"},{"name":"eth0","sandbox":"/run/netns/x"}],
      "ips":[{"address":"fd00::7/64","interface":2},{"address":"10.0.0.7/24","gateway":"10.0.0.1",
              "interface":2},{"address":"10.0.0.1/24","interface":0}],
      "routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["1.1.1.1"]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->interfaces.size(), 3u);
  ASSERT_EQ(r->ips.size(), 3u);
  EXPECT_TRUE(r->ips[0].v6);
  EXPECT_EQ(r->ips[1].gateway, "10.0.0.1");
  // The bridge's own address (host-side interface) is not a pod IP.
  EXPECT_EQ(PodIps(*r), (std::vector<std::string>{"10.0.0.7", "fd00::7"}));
}

TEST(CniResult, Parse_V02_Ip4Ip6) {
  auto r = ParseResult(
      R"({"cniVersion":"0.2.0","ip4":{"ip":"10.1.0.2/16","gateway":"10.1.0.1"},"ip6":{"ip":"fd01::2/64"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(PodIps(*r), (std::vector<std::string>{"10.1.0.2", "fd01::2"}));
  EXPECT_EQ(r->ips[0].gateway, "10.1.0.1");
}

TEST(CniResult, Parse_Garbage_InvalidArgument) {
  EXPECT_FALSE(ParseResult("hello").ok());
  EXPECT_FALSE(ParseResult("[1,2]").ok());
  EXPECT_FALSE(ParseResult(R"({"ips":[{"interface":0}]})").ok());
  EXPECT_FALSE(
      ParseResult(R"({"interfaces":[],"ips":[{"address":"1.2.3.4/8","interface":3}]})").ok());
}

TEST(CniResult, ToJson_ConvertsBetweenVersions) {
  auto r = ParseResult(R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/n"}],
      "ips":[{"address":"10.0.0.7/24","gateway":"10.0.0.1","interface":0},
             {"address":"fd00::7/64","interface":0}]})");
  ASSERT_TRUE(r.ok());
  json v031 = ResultToJson(*r, "0.3.1");
  EXPECT_EQ(v031["cniVersion"], "0.3.1");
  EXPECT_EQ(v031["ips"][0]["version"], "4");
  EXPECT_EQ(v031["ips"][1]["version"], "6");
  EXPECT_EQ(v031["interfaces"][0]["sandbox"], "/n");
  json v020 = ResultToJson(*r, "0.2.0");
  EXPECT_EQ(v020["ip4"]["ip"], "10.0.0.7/24");
  EXPECT_EQ(v020["ip4"]["gateway"], "10.0.0.1");
  EXPECT_EQ(v020["ip6"]["ip"], "fd00::7/64");
  EXPECT_FALSE(v020.contains("ips"));
  json v100 = ResultToJson(*r, "1.0.0");
  EXPECT_FALSE(v100["ips"][0].contains("version"));
  // And back: a 0.2.0 result read and written as 1.0.0 keeps its addresses.
  auto back = ParseResult(v020.dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(PodIps(*back), (std::vector<std::string>{"10.0.0.7", "fd00::7"}));
}

TEST(CniResult, ParseError_CodeMsgDetails) {
  auto e = ParseError(R"({"cniVersion":"1.0.0","code":7,"msg":"bad","details":"why"})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 7);
  EXPECT_EQ(e->msg, "bad");
  EXPECT_EQ(e->details, "why");
  EXPECT_FALSE(ParseError("garbage").has_value());
  EXPECT_FALSE(ParseError(R"({"msg":"no code"})").has_value());
}

}  // namespace
}  // namespace crio::network
