// Unit tests of a spec's namespaces (src/container/spec_namespaces): joined and host
// namespaces, PID modes, user namespaces and the pod's sysctls.

// spec_test_util.h pulls in api.pb.h, which must come before any system header.
#include "spec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <string>

#include "container/spec_namespaces.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using spec_test::FindNamespace;
using ::testing::HasSubstr;

class SpecNamespacesTest : public spec_test::SpecFixture {};

// --- namespaces --------------------------------------------------------------------------------

TEST_F(SpecNamespacesTest, Namespaces_PodNamespaces_JoinedByPath) {
  json spec = Build();
  EXPECT_EQ((*FindNamespace(spec, "network"))["path"], "/var/run/netns/pod1");
  EXPECT_EQ((*FindNamespace(spec, "ipc"))["path"], "/var/run/ipcns/pod1");
  EXPECT_EQ((*FindNamespace(spec, "uts"))["path"], "/var/run/utsns/pod1");
  ASSERT_NE(FindNamespace(spec, "pid"), nullptr);
  EXPECT_FALSE(FindNamespace(spec, "pid")->contains("path"));
  EXPECT_NE(FindNamespace(spec, "mount"), nullptr);
  EXPECT_EQ(FindNamespace(spec, "cgroup"), nullptr);
  EXPECT_EQ(FindNamespace(spec, "user"), nullptr);
  EXPECT_EQ(spec["hostname"], "web-0");
}

TEST_F(SpecNamespacesTest, Namespaces_HostNetwork_NoNetworkNorUtsNorHostname) {
  in_.pod.host_network = true;
  in_.pod.netns_path.clear();
  in_.pod.utsns_path.clear();
  sc()->mutable_namespace_options()->set_network(v1::NODE);
  json spec = Build();
  EXPECT_EQ(FindNamespace(spec, "network"), nullptr);
  EXPECT_EQ(FindNamespace(spec, "uts"), nullptr);
  EXPECT_FALSE(spec.contains("hostname"));
}

TEST_F(SpecNamespacesTest, Namespaces_PodPidNamespace_JoinsInfraPidNs) {
  sc()->mutable_namespace_options()->set_pid(v1::POD);
  in_.pod.pidns_path = "/proc/4242/ns/pid";
  EXPECT_EQ((*FindNamespace(Build(), "pid"))["path"], "/proc/4242/ns/pid");
}

TEST_F(SpecNamespacesTest, Namespaces_HostPid_NoPidNamespace) {
  sc()->mutable_namespace_options()->set_pid(v1::NODE);
  EXPECT_EQ(FindNamespace(Build(), "pid"), nullptr);
}

TEST_F(SpecNamespacesTest, Namespaces_TargetPid_NeedsTargetPath) {
  sc()->mutable_namespace_options()->set_pid(v1::TARGET);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  in_.target_pidns_path = "/proc/77/ns/pid";
  EXPECT_EQ((*FindNamespace(Build(), "pid"))["path"], "/proc/77/ns/pid");
}

TEST_F(SpecNamespacesTest, Namespaces_CgroupV2_NewCgroupNamespaceUnlessPrivileged) {
  in_.cgroup_v2 = true;
  EXPECT_NE(FindNamespace(Build(), "cgroup"), nullptr);
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  EXPECT_EQ(FindNamespace(Build(), "cgroup"), nullptr);
}

TEST_F(SpecNamespacesTest, Userns_PodModeRequested_FailedPrecondition) {
  sandbox_.mutable_linux()
      ->mutable_security_context()
      ->mutable_namespace_options()
      ->mutable_userns_options()
      ->set_mode(v1::NODE);
  EXPECT_TRUE(BuildError().ok());
  sandbox_.mutable_linux()
      ->mutable_security_context()
      ->mutable_namespace_options()
      ->mutable_userns_options()
      ->set_mode(v1::POD);
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s), HasSubstr("user namespaces are not supported yet"));
}

// --- sysctls -----------------------------------------------------------------------------------

TEST_F(SpecNamespacesTest, Sysctls_NamespacedAllowedAndPodOverridesDefaults) {
  runtime_.default_sysctls = {"net.ipv4.ping_group_range=0 0", "kernel.panic=1", "kernel.shmmni=1"};
  auto& sysctls = *sandbox_.mutable_linux()->mutable_sysctls();
  sysctls["net.ipv4.ip_unprivileged_port_start"] = "0";
  sysctls["kernel.shmmni"] = "4096";
  sysctls["fs.mqueue.msg_max"] = "20";
  json s = Build()["linux"]["sysctl"];
  EXPECT_EQ(s, json({{"net.ipv4.ping_group_range", "0 0"},
                     {"net.ipv4.ip_unprivileged_port_start", "0"},
                     {"kernel.shmmni", "4096"},
                     {"fs.mqueue.msg_max", "20"}}));
}

TEST_F(SpecNamespacesTest, PodSysctls_OnlyNamespacedDefaultsKeptPodOverrides) {
  runtime_.default_sysctls = {"kernel.panic=5", "net.ipv4.ip_forward=0", "bad",
                              "kernel.shm_rmid_forced=0"};
  (*sandbox_.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  auto s = PodSysctls(sandbox_, runtime_, false, false);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, (std::map<std::string, std::string>{{"kernel.shm_rmid_forced", "0"},
                                                    {"net.ipv4.ip_forward", "1"}}));
  // Host namespaces: their defaults are dropped, the pod's are refused.
  s = PodSysctls(sandbox_, runtime_, true, true);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  sandbox_.mutable_linux()->clear_sysctls();
  s = PodSysctls(sandbox_, runtime_, true, true);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->empty());
  (*sandbox_.mutable_linux()->mutable_sysctls())["kernel.printk_ratelimit"] = "9";
  s = PodSysctls(sandbox_, runtime_, false, false);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not namespaced"));
}

TEST_F(SpecNamespacesTest, Sysctls_NotNamespaced_InvalidArgument) {
  (*sandbox_.mutable_linux()->mutable_sysctls())["kernel.panic"] = "1";
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("kernel.panic"));
}

TEST_F(SpecNamespacesTest, Sysctls_NetWithHostNetwork_InvalidArgument) {
  (*sandbox_.mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "1024";
  EXPECT_TRUE(BuildError().ok());
  in_.pod.host_network = true;
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

// --- direct calls ------------------------------------------------------------------------------

TEST_F(SpecNamespacesTest, NamespacesJson_HostOnesLeftOutPinnedOnesByPath) {
  PodResources pod;
  pod.netns_path = "/var/run/netns/p";
  spec_internal::NamespacePlan plan;
  plan.pid = "/proc/7/ns/pid";
  plan.host_ipc = true;
  EXPECT_EQ(spec_internal::NamespacesJson(pod, plan, /*cgroupns=*/true),
            json::array({{{"type", "pid"}, {"path", "/proc/7/ns/pid"}},
                         {{"type", "network"}, {"path", "/var/run/netns/p"}},
                         {{"type", "uts"}},
                         {{"type", "mount"}},
                         {{"type", "cgroup"}}}));
}

TEST_F(SpecNamespacesTest, ContainerNamespacePlan_Direct_PodPidWithoutSharedNsAndHostNetwork) {
  sc()->mutable_namespace_options()->set_pid(v1::POD);
  auto ctx = spec_internal::ContainerContextFor(in_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto plan = spec_internal::ContainerNamespacePlan(*ctx);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->pid_new);  // no pod PID namespace to join: a private one
  EXPECT_FALSE(plan->host_net);
  in_.pod.host_pid = true;
  in_.pod.host_network = true;
  in_.pod.utsns_path.clear();
  plan = spec_internal::ContainerNamespacePlan(*ctx);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->pid_new);
  EXPECT_TRUE(plan->pid.empty());
  EXPECT_TRUE(plan->host_net);
  EXPECT_TRUE(plan->host_uts);
  EXPECT_FALSE(plan->host_ipc);
}

}  // namespace
}  // namespace crio::container
