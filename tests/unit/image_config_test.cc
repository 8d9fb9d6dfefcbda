#include "image/image_config.h"

#include <gtest/gtest.h>

#include <string>

namespace crio::image {
namespace {

constexpr char kConfig[] = R"({
  "architecture": "amd64",
  "os": "linux",
  "created": "2024-05-01T12:00:00.123456789Z",
  "author": "someone",
  "config": {
    "User": "1000:1000",
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=b=c"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "WorkingDir": "/srv",
    "Labels": {"maintainer": "NGINX", "version": "1.25"},
    "StopSignal": "SIGQUIT",
    "Volumes": {"/var/cache": {}, "/data": {}},
    "ExposedPorts": {"80/tcp": {}, "443/tcp": {}}
  },
  "rootfs": {"type": "layers", "diff_ids": [
    "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"]},
  "history": [
    {"created": "2024-05-01T11:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in /"},
    {"created": "2024-05-01T11:00:01Z", "created_by": "CMD [\"nginx\"]", "empty_layer": true,
     "comment": "buildkit"}
  ]
})";

TEST(ParseImageConfig, FullConfig_ParsesEveryField) {
  StatusOr<ImageConfig> c = ParseImageConfig(kConfig);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->created, "2024-05-01T12:00:00.123456789Z");
  EXPECT_EQ(c->author, "someone");
  EXPECT_EQ(c->config.user, "1000:1000");
  ASSERT_EQ(c->config.env.size(), 2u);
  EXPECT_EQ(c->config.env[1], "A=b=c");
  EXPECT_EQ(c->config.entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
  EXPECT_EQ(c->config.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(c->config.working_dir, "/srv");
  EXPECT_EQ(c->config.labels.at("version"), "1.25");
  EXPECT_EQ(c->config.stop_signal, "SIGQUIT");
  EXPECT_EQ(c->config.volumes, (std::vector<std::string>{"/data", "/var/cache"}));
  EXPECT_EQ(c->config.exposed_ports, (std::vector<std::string>{"443/tcp", "80/tcp"}));
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1].substr(0, 8), "sha256:2");
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_FALSE(c->history[0].empty_layer);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->history[1].comment, "buildkit");
  EXPECT_EQ(c->raw, kConfig);
}

TEST(ParseImageConfig, MinimalAndNullFields_GiveDefaults) {
  StatusOr<ImageConfig> c = ParseImageConfig(
      R"({"architecture": "arm64", "variant": "v8", "os": "linux", "config": {"Cmd": null,
          "Entrypoint": null, "Env": null, "Labels": null}, "rootfs": {"type": "layers",
          "diff_ids": []}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->variant, "v8");
  EXPECT_TRUE(c->config.cmd.empty());
  EXPECT_TRUE(c->config.labels.empty());
  EXPECT_TRUE(c->diff_ids.empty());
  EXPECT_TRUE(ParseImageConfig(R"({"os": "linux"})").ok());
}

TEST(ParseImageConfig, Invalid_IsInvalidArgumentNamingField) {
  struct Case {
    std::string raw;
    std::string fragment;
  };
  for (const Case& c : std::vector<Case>{
           {"{", "not valid JSON"},
           {"[]", "top level"},
           {R"({"config": {"Env": "PATH=/bin"}})", "\"Env\""},
           {R"({"config": {"Labels": {"a": 1}}})", "Labels"},
           {R"({"rootfs": {"type": "other", "diff_ids": []}})", "rootfs.type"},
           {R"({"rootfs": {"type": "layers", "diff_ids": ["sha256:zz"]}})", "diff_ids"},
           {R"({"history": [{"empty_layer": "yes"}]})", "empty_layer"},
       }) {
    StatusOr<ImageConfig> cfg = ParseImageConfig(c.raw);
    ASSERT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument) << c.raw;
    EXPECT_NE(std::string(cfg.status().message()).find(c.fragment), std::string::npos)
        << c.raw << " -> " << cfg.status();
  }
}

}  // namespace
}  // namespace crio::image
