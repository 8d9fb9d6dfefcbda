// End-to-end tests of the OCI spec generator (src/container/spec_builder): config.json for
// containers and infra containers as a whole, and the host probe. Each concern of the spec has
// its own tests: spec_process_test, spec_security_test, spec_namespaces_test, spec_mounts_test
// and spec_resources_test.

// spec_test_util.h pulls in api.pb.h, which must come before any system header.
#include "spec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "container/spec_builder.h"
#include "container/spec_internal.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using spec_test::FindNamespace;
using spec_test::MountDestinations;
using spec_test::Strings;
using ::testing::ElementsAre;

class SpecBuilderTest : public spec_test::SpecFixture {};

// --- annotations -------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Annotations_CriAnnotationsPlusCrioKeys) {
  (*config_.mutable_annotations())["io.kubernetes.container.hash"] = "abc";
  EXPECT_EQ(Build()["annotations"], json({{"io.kubernetes.container.hash", "abc"},
                                          {"io.kubernetes.cri-o.ContainerID", "ctr1"},
                                          {"io.kubernetes.cri-o.SandboxID", "pod1"},
                                          {"io.kubernetes.cri-o.ContainerType", "container"}}));
}

TEST_F(SpecBuilderTest, Spec_TopLevel_VersionRootAndMissingInputs) {
  json spec = Build();
  EXPECT_EQ(spec["ociVersion"], "1.1.0");
  EXPECT_EQ(spec["root"]["readonly"], false);
  in_.runtime = nullptr;
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

// --- infra container ---------------------------------------------------------------------------

class SandboxSpecTest : public SpecBuilderTest {
 protected:
  SandboxSpecTest() {
    sin_.sandbox_id = "pod1";
    sin_.sandbox = &sandbox_;
    sin_.rootfs = "/var/lib/crio/pod1/rootfs";
    sin_.pod = in_.pod;
    sin_.runtime = &runtime_;
    sin_.cgroups_path = "/crio-cpp-test/crio-pod1";
    sin_.host = &host_;
  }
  SandboxSpecInputs sin_;
};

TEST_F(SandboxSpecTest, Default_PauseReadonlyPinnedNamespacesNewPid) {
  auto spec = BuildSandboxSpec(sin_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(Strings((*spec)["process"]["args"]), ElementsAre("/pause"));
  EXPECT_EQ((*spec)["root"]["readonly"], true);
  EXPECT_EQ((*spec)["process"]["oomScoreAdj"], -998);
  EXPECT_EQ((*spec)["linux"]["resources"]["cpu"]["shares"], 2);
  EXPECT_EQ((*spec)["hostname"], "web-0");
  EXPECT_EQ((*FindNamespace(*spec, "network"))["path"], "/var/run/netns/pod1");
  ASSERT_NE(FindNamespace(*spec, "pid"), nullptr);
  EXPECT_FALSE(FindNamespace(*spec, "pid")->contains("path"));
  EXPECT_EQ((*spec)["linux"]["cgroupsPath"], "/crio-cpp-test/crio-pod1");
  EXPECT_EQ((*spec)["annotations"]["io.kubernetes.cri-o.ContainerType"], "sandbox");
  EXPECT_THAT(MountDestinations(*spec),
              ElementsAre("/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                          "/dev/shm", "/etc/resolv.conf", "/etc/hostname"));
  EXPECT_EQ((*spec)["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

TEST_F(SandboxSpecTest, PauseCommandEmpty_ImageEntrypointAndCmd) {
  sin_.pause_command.clear();
  image_.config.entrypoint = {"/pause"};
  image_.config.cmd = {"-v"};
  sin_.image = &image_;
  auto spec = BuildSandboxSpec(sin_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(Strings((*spec)["process"]["args"]), ElementsAre("/pause", "-v"));
  sin_.image = nullptr;
  EXPECT_EQ(BuildSandboxSpec(sin_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SandboxSpecTest, HostPidAndNetwork_NamespacesOmitted) {
  sin_.pod.host_pid = true;
  sin_.pod.host_network = true;
  sin_.pod.netns_path.clear();
  sin_.pod.utsns_path.clear();
  auto spec = BuildSandboxSpec(sin_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(FindNamespace(*spec, "pid"), nullptr);
  EXPECT_EQ(FindNamespace(*spec, "network"), nullptr);
  EXPECT_FALSE(spec->contains("hostname"));
}

TEST_F(SandboxSpecTest, UsernsPod_FailedPrecondition) {
  sandbox_.mutable_linux()
      ->mutable_security_context()
      ->mutable_namespace_options()
      ->mutable_userns_options()
      ->set_mode(v1::POD);
  EXPECT_EQ(BuildSandboxSpec(sin_).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ProbeHostTest, RunningSystem_PlausibleFacts) {
  HostInfo host = ProbeHost(false);
  EXPECT_GE(host.cap_last_cap, 30);
  EXPECT_FALSE(host.machine.empty());
  EXPECT_FALSE(host.kernel_release.empty());
}

// --- checked inputs ----------------------------------------------------------------------------

TEST_F(SpecBuilderTest, ContainerContextFor_ReadonlyRootFromCrioConfAndPrivilegedCheck) {
  runtime_.read_only = true;
  auto ctx = spec_internal::ContainerContextFor(in_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_TRUE(ctx->readonly_root);
  EXPECT_FALSE(ctx->privileged);
  sc()->set_privileged(true);
  EXPECT_EQ(spec_internal::ContainerContextFor(in_).status().code(),
            absl::StatusCode::kInvalidArgument);
  MakeSandboxPrivileged();
  auto privileged = spec_internal::ContainerContextFor(in_);
  ASSERT_TRUE(privileged.ok()) << privileged.status();
  EXPECT_TRUE(privileged->privileged);
}

}  // namespace
}  // namespace crio::container
