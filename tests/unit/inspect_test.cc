// The inspect endpoints' JSON (src/server/inspect.h): CRI-O's field names, which cAdvisor reads.
#include "server/inspect.h"

#include <gtest/gtest.h>

namespace crio::server {
namespace {

TEST(CrioInfoJson, CriOFieldsFromTheEffectiveConfig) {
  config::Config config = config::Defaults();
  config.root.root = "/var/lib/x";
  config.root.storage_driver = "overlay";
  config.root.imagestore = "/images";
  config.runtime.cgroup_manager = "cgroupfs";
  nlohmann::json info = CrioInfoJson(config);
  EXPECT_EQ(info["storage_root"], "/var/lib/x");
  EXPECT_EQ(info["storage_driver"], "overlay");
  EXPECT_EQ(info["storage_image"], "/images");
  EXPECT_EQ(info["cgroup_driver"], "cgroupfs");
  for (const char* ids : {"uids", "gids"}) {
    const nlohmann::json& m = info["default_id_mappings"][ids];
    ASSERT_EQ(m.size(), 1u) << ids;
    EXPECT_EQ(m[0]["container_id"], 0);
    EXPECT_EQ(m[0]["host_id"], 0);
    EXPECT_EQ(m[0]["size"], 4294967295ULL);
  }
}

TEST(ContainerInfoJson, CriOFieldsFromTheRecords) {
  state::PodState pod;
  pod.set_id("pod1");
  pod.add_ips("10.0.0.5");
  pod.add_ips("fd00::5");
  pod.mutable_config()
      ->mutable_linux()
      ->mutable_security_context()
      ->mutable_namespace_options()
      ->set_network(runtime::v1::NODE);
  state::ContainerState ctr;
  ctr.set_id("c1");
  ctr.set_pod_id("pod1");
  ctr.set_name("k8s_app_web_ns_uid_0");
  ctr.set_pid(4242);
  ctr.set_image_name("busybox:latest");
  ctr.set_image_id("abc123");
  ctr.set_created_at(1700000000123456789);
  ctr.set_log_path("/logs/app.log");
  ctr.set_rootfs("/merged");
  (*ctr.mutable_config()->mutable_labels())["app"] = "web";
  (*ctr.mutable_config()->mutable_annotations())["note"] = "x";
  nlohmann::json c = ContainerInfoJson(ctr, pod, {{"io.kubernetes.cri-o.Name", "n"}});
  EXPECT_EQ(c["name"], "k8s_app_web_ns_uid_0");
  EXPECT_EQ(c["pid"], 4242);
  EXPECT_EQ(c["image"], "busybox:latest");
  EXPECT_EQ(c["image_ref"], "abc123");
  EXPECT_EQ(c["created_time"], 1700000000123456789);
  EXPECT_EQ(c["labels"], nlohmann::json({{"app", "web"}}));
  EXPECT_EQ(c["annotations"], nlohmann::json({{"note", "x"}}));
  EXPECT_EQ(c["crio_annotations"]["io.kubernetes.cri-o.Name"], "n");
  EXPECT_EQ(c["log_path"], "/logs/app.log");
  EXPECT_EQ(c["root"], "/merged");
  EXPECT_EQ(c["sandbox"], "pod1");
  EXPECT_EQ(c["ip_addresses"], nlohmann::json({"10.0.0.5", "fd00::5"}));
  EXPECT_EQ(c["host_network"], true);
  // Empty maps are objects, not null: cAdvisor ranges over them.
  state::ContainerState bare;
  nlohmann::json b = ContainerInfoJson(bare, state::PodState(), {});
  EXPECT_TRUE(b["labels"].is_object());
  EXPECT_TRUE(b["crio_annotations"].is_object());
  EXPECT_TRUE(b["ip_addresses"].is_array());
}

}  // namespace
}  // namespace crio::server
