// Unit tests of CDI device resolution (src/container/cdi.h): spec files, names, precedence, and
// the containerEdits applied to an OCI spec.

#include "container/cdi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace crio::container {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crio-cdi-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

constexpr char kSpec[] = R"({
  "cdiVersion": "0.6.0",
  "kind": "example.com/dev",
  "containerEdits": {"env": ["FROM_SPEC=1", "SHARED=spec"]},
  "devices": [
    {"name": "null0",
     "containerEdits": {
       "env": ["SHARED=device", "DEV=null0"],
       "deviceNodes": [{"path": "/dev/cdi-null", "hostPath": "/dev/null"}],
       "mounts": [{"hostPath": "/etc/hostname", "containerPath": "/etc/cdi-host",
                   "options": ["ro"]}],
       "hooks": [{"hookName": "createContainer", "path": "/bin/true", "args": ["true"]}],
       "additionalGids": [44]}},
    {"name": "blk", "containerEdits": {
       "deviceNodes": [{"path": "/dev/fake", "type": "b", "major": 7, "minor": 0,
                        "permissions": "r", "fileMode": 384}]}}
  ]})";

json BaseSpec() {
  return json::parse(R"({
    "process": {"env": ["PATH=/bin", "SHARED=base"], "user": {"uid": 0, "gid": 0}},
    "mounts": [{"destination": "/etc/cdi-host", "type": "tmpfs", "source": "tmpfs"}],
    "linux": {"devices": [], "resources": {"devices": [{"allow": false, "access": "rwm"}]}}
  })");
}

CdiRegistry Registry(const std::string& text) {
  CdiRegistry r;
  Status st = ParseCdiSpec("spec.json", text, &r.devices);
  EXPECT_TRUE(st.ok()) << st;
  return r;
}

TEST(CdiNames, QualifiedNames) {
  EXPECT_TRUE(IsQualifiedDeviceName("example.com/dev=null0"));
  EXPECT_TRUE(IsQualifiedDeviceName("nvidia.com/gpu=all"));
  EXPECT_TRUE(IsQualifiedDeviceName("vendor.com/class=GPU-1:a_b.c"));
  EXPECT_FALSE(IsQualifiedDeviceName("example.com/dev"));
  EXPECT_FALSE(IsQualifiedDeviceName("dev=null0"));
  EXPECT_FALSE(IsQualifiedDeviceName("example.com/dev="));
  EXPECT_FALSE(IsQualifiedDeviceName("example.com/d.v=x"));
}

TEST(CdiParse, DevicesAreKeyedByQualifiedName) {
  CdiRegistry r = Registry(kSpec);
  ASSERT_EQ(r.devices.size(), 2u);
  EXPECT_TRUE(r.devices.count("example.com/dev=null0"));
  EXPECT_TRUE(r.devices.count("example.com/dev=blk"));
  EXPECT_EQ(r.devices.at("example.com/dev=null0").spec_file, "spec.json");
}

TEST(CdiParse, InvalidSpecs_AreRefusedWithTheReason) {
  struct Case {
    std::string text;
    std::string reason;
  } cases[] = {
      {"[", "not a JSON object"},
      {R"({"kind":"a.com/b","devices":[{"name":"x"}]})", "missing cdiVersion"},
      {R"({"cdiVersion":"0.6.0","kind":"nokind","devices":[{"name":"x"}]})", "kind must be"},
      {R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[]})", "no devices"},
      {R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[{"name":"bad name"}]})",
       "no valid name"},
      {R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[{"name":"x","containerEdits":)"
       R"({"env":["NOEQUALS"]}}]})",
       "not KEY=VALUE"},
      {R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[{"name":"x","containerEdits":)"
       R"({"deviceNodes":[{"path":"dev/rel"}]}}]})",
       "absolute path"},
      {R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[{"name":"x","containerEdits":)"
       R"({"hooks":[{"hookName":"bogus","path":"/x"}]}}]})",
       "known hookName"},
  };
  for (const auto& c : cases) {
    std::map<std::string, CdiDevice> out;
    Status st = ParseCdiSpec("s.json", c.text, &out);
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.reason)) << c.text;
    EXPECT_TRUE(out.empty());
  }
}

TEST(CdiApply, SpecThenDeviceEdits_EnvDevicesMountsHooksGids) {
  CdiRegistry r = Registry(kSpec);
  json spec = BaseSpec();
  ASSERT_TRUE(ApplyCdiDevices(spec, r, {"example.com/dev=null0"}).ok());
  EXPECT_EQ(spec["process"]["env"],
            json({"PATH=/bin", "SHARED=device", "FROM_SPEC=1", "DEV=null0"}));
  ASSERT_EQ(spec["linux"]["devices"].size(), 1u);
  const json& dev = spec["linux"]["devices"][0];
  EXPECT_EQ(dev["path"], "/dev/cdi-null");
  EXPECT_EQ(dev["type"], "c");
  EXPECT_EQ(dev["major"], 1);
  EXPECT_EQ(dev["minor"], 3);
  const json& rules = spec["linux"]["resources"]["devices"];
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[1],
            json::parse(R"({"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"})"));
  ASSERT_EQ(spec["mounts"].size(), 1u);  // replaced the tmpfs at the same destination
  EXPECT_EQ(spec["mounts"][0],
            json::parse(R"({"destination":"/etc/cdi-host","source":"/etc/hostname",
                                               "type":"bind","options":["ro","bind"]})"));
  EXPECT_EQ(spec["hooks"]["createContainer"][0],
            json::parse(R"({"path":"/bin/true","args":["true"]})"));
  EXPECT_EQ(spec["process"]["user"]["additionalGids"], json({44}));
}

TEST(CdiApply, ExplicitNodeInfo_NeedsNoHostNode) {
  CdiRegistry r = Registry(kSpec);
  json spec = BaseSpec();
  ASSERT_TRUE(ApplyCdiDevices(spec, r, {"example.com/dev=blk"}).ok());
  EXPECT_EQ(spec["linux"]["devices"][0],
            json::parse(R"({"path":"/dev/fake","type":"b","major":7,"minor":0,"fileMode":384})"));
  EXPECT_EQ(spec["linux"]["resources"]["devices"][1]["access"], "r");
  // Spec-level edits come with every device of the spec.
  EXPECT_EQ(spec["process"]["env"], json({"PATH=/bin", "SHARED=spec", "FROM_SPEC=1"}));
}

TEST(CdiApply, UnknownDevice_IsInvalidArgumentNamingIt_AndSpecUntouched) {
  CdiRegistry r = Registry(kSpec);
  json spec = BaseSpec();
  const json before = spec;
  Status st = ApplyCdiDevices(spec, r, {"example.com/dev=null0", "example.com/dev=nope"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("example.com/dev=nope"));
  EXPECT_EQ(spec, before);
}

TEST(CdiApply, HostPathThatIsNotADevice_IsInvalidArgument) {
  CdiRegistry r = Registry(R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[{"name":"x",
      "containerEdits":{"deviceNodes":[{"path":"/dev/x","hostPath":"/etc/hostname"}]}}]})");
  json spec = BaseSpec();
  Status st = ApplyCdiDevices(spec, r, {"a.com/b=x"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("not a device node"));
}

TEST(CdiRequested, DevicesThenAnnotations_WithoutDuplicates) {
  auto names = RequestedCdiDevices(
      {"a.com/b=1", "a.com/b=2"},
      {{"cdi.k8s.io/plugin", "a.com/b=2, a.com/b=3"}, {"other/x", "a.com/b=9"}});
  EXPECT_EQ(names, (std::vector<std::string>{"a.com/b=1", "a.com/b=2", "a.com/b=3"}));
}

TEST(CdiLoad, LaterDirWins_BadAndYamlFilesSkipped) {
  TempDir tmp;
  Write(tmp.Sub("etc/a.json"), R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[
      {"name":"x","containerEdits":{"env":["WHO=etc"]}},
      {"name":"y","containerEdits":{"env":["WHO=etc-y"]}}]})");
  Write(tmp.Sub("run/z.json"), R"({"cdiVersion":"0.6.0","kind":"a.com/b","devices":[
      {"name":"x","containerEdits":{"env":["WHO=run"]}}]})");
  Write(tmp.Sub("run/bad.json"), "{oops");
  Write(tmp.Sub("run/c.yaml"), "cdiVersion: 0.6.0\n");
  CdiRegistry r = LoadCdiSpecs({tmp.Sub("etc"), tmp.Sub("run"), tmp.Sub("missing")});
  ASSERT_EQ(r.devices.size(), 2u);
  EXPECT_EQ(r.devices.at("a.com/b=x").device_edits["env"][0], "WHO=run");
  EXPECT_EQ(r.devices.at("a.com/b=y").device_edits["env"][0], "WHO=etc-y");
}

}  // namespace
}  // namespace crio::container
