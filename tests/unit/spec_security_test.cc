// Unit tests of a spec's security settings (src/container/spec_security): capabilities,
// privileged containers, AppArmor, masked and read-only paths, seccomp (with seccomp_default's
// profile conversion).

// spec_test_util.h pulls in api.pb.h, which must come before any system header.
#include "spec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <cstdint>
#include <string>
#include <vector>

#include "container/seccomp_default.h"
#include "container/spec_security.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using spec_test::Strings;
using spec_test::SyscallAction;
using spec_test::TempDir;
using spec_test::WriteFile;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class SpecSecurityTest : public spec_test::SpecFixture {};

// --- capabilities ------------------------------------------------------------------------------

TEST_F(SpecSecurityTest, Caps_Defaults_BoundingEffectivePermittedNoInheritableNoAmbient) {
  json caps = Build()["process"]["capabilities"];
  EXPECT_THAT(Strings(caps["bounding"]),
              UnorderedElementsAre("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                                   "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
                                   "CAP_NET_BIND_SERVICE", "CAP_KILL"));
  EXPECT_EQ(caps["effective"], caps["bounding"]);
  EXPECT_EQ(caps["permitted"], caps["bounding"]);
  EXPECT_TRUE(caps["inheritable"].empty());
  EXPECT_TRUE(caps["ambient"].empty());
}

TEST_F(SpecSecurityTest, Caps_AddAndDropWithOrWithoutPrefix_Applied) {
  sc()->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc()->mutable_capabilities()->add_add_capabilities("cap_sys_time");
  sc()->mutable_capabilities()->add_drop_capabilities("CAP_KILL");
  sc()->mutable_capabilities()->add_drop_capabilities("chown");
  std::vector<std::string> b = Strings(Build()["process"]["capabilities"]["bounding"]);
  EXPECT_THAT(b, Contains("CAP_NET_ADMIN"));
  EXPECT_THAT(b, Contains("CAP_SYS_TIME"));
  EXPECT_THAT(b, Not(Contains("CAP_KILL")));
  EXPECT_THAT(b, Not(Contains("CAP_CHOWN")));
  EXPECT_THAT(b, Contains("CAP_SETUID"));
}

TEST_F(SpecSecurityTest, Caps_AddAllDropOne_EverythingButThat) {
  sc()->mutable_capabilities()->add_add_capabilities("ALL");
  sc()->mutable_capabilities()->add_drop_capabilities("SYS_ADMIN");
  std::vector<std::string> b = Strings(Build()["process"]["capabilities"]["bounding"]);
  EXPECT_EQ(b.size(), 40u);
  EXPECT_THAT(b, Not(Contains("CAP_SYS_ADMIN")));
  EXPECT_THAT(b, Contains("CAP_CHECKPOINT_RESTORE"));
}

TEST_F(SpecSecurityTest, Caps_DropAllAddOne_OnlyThat) {
  sc()->mutable_capabilities()->add_drop_capabilities("ALL");
  sc()->mutable_capabilities()->add_add_capabilities("NET_BIND_SERVICE");
  EXPECT_THAT(Strings(Build()["process"]["capabilities"]["bounding"]),
              ElementsAre("CAP_NET_BIND_SERVICE"));
}

TEST_F(SpecSecurityTest, Caps_UnknownAdd_InvalidArgument) {
  sc()->mutable_capabilities()->add_add_capabilities("FLY");
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("CAP_FLY"));
}

TEST_F(SpecSecurityTest, Caps_Privileged_EveryKernelCapability) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  host_.cap_last_cap = 37;  // an older kernel: up to CAP_AUDIT_READ
  std::vector<std::string> b = Strings(Build()["process"]["capabilities"]["bounding"]);
  EXPECT_EQ(b.size(), 38u);
  EXPECT_THAT(b, Contains("CAP_SYS_ADMIN"));
  EXPECT_THAT(b, Not(Contains("CAP_PERFMON")));
}

TEST_F(SpecSecurityTest, Caps_DaemonLacksOne_PrivilegedAndAllLeaveItOutAddRefused) {
  host_.bounding_caps = ~(uint64_t{1} << 24);  // no CAP_SYS_RESOURCE, as in some sandboxes
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  std::vector<std::string> b = Strings(Build()["process"]["capabilities"]["effective"]);
  EXPECT_EQ(b.size(), 40u);
  EXPECT_THAT(b, Not(Contains("CAP_SYS_RESOURCE")));
  sc()->set_privileged(false);
  sc()->mutable_capabilities()->add_add_capabilities("ALL");
  b = Strings(Build()["process"]["capabilities"]["bounding"]);
  EXPECT_EQ(b.size(), 40u);
  EXPECT_THAT(b, Not(Contains("CAP_SYS_RESOURCE")));
  sc()->mutable_capabilities()->clear_add_capabilities();
  sc()->mutable_capabilities()->add_add_capabilities("SYS_RESOURCE");
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("CAP_SYS_RESOURCE"));
}

TEST_F(SpecSecurityTest, Caps_AddInheritableConfigured_InheritableEqualsBounding) {
  runtime_.add_inheritable_capabilities = true;
  json caps = Build()["process"]["capabilities"];
  EXPECT_EQ(caps["inheritable"], caps["bounding"]);
}

TEST_F(SpecSecurityTest, Privileged_SandboxNotPrivileged_InvalidArgument) {
  sc()->set_privileged(true);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecSecurityTest, AppArmor_EnabledHost_DefaultUnconfinedAndLocalhost) {
  EXPECT_FALSE(Build()["process"].contains("apparmorProfile"));
  host_.apparmor_enabled = true;
  EXPECT_EQ(Build()["process"]["apparmorProfile"], "crio-default");
  sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Localhost);
  sc()->mutable_apparmor()->set_localhost_ref("localhost/my-profile");
  EXPECT_EQ(Build()["process"]["apparmorProfile"], "my-profile");
  sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Unconfined);
  EXPECT_EQ(Build()["process"]["apparmorProfile"], "unconfined");
}

// --- masked / readonly paths -------------------------------------------------------------------

TEST_F(SpecSecurityTest, MaskedPaths_Default_CrioListMergedWithCri) {
  sc()->add_masked_paths("/proc/kcore");
  sc()->add_masked_paths("/proc/extra");
  json linux = Build()["linux"];
  std::vector<std::string> masked = Strings(linux["maskedPaths"]);
  EXPECT_THAT(masked, Contains("/proc/kcore"));
  EXPECT_THAT(masked, Contains("/proc/interrupts"));
  EXPECT_THAT(masked, Contains("/sys/firmware"));
  EXPECT_THAT(masked, Contains("/proc/extra"));
  EXPECT_EQ(std::count(masked.begin(), masked.end(), "/proc/kcore"), 1);
  EXPECT_THAT(Strings(linux["readonlyPaths"]), ElementsAre("/proc/bus", "/proc/fs", "/proc/irq",
                                                           "/proc/sys", "/proc/sysrq-trigger"));
}

TEST_F(SpecSecurityTest, MaskedPaths_Privileged_None) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  json linux = Build()["linux"];
  EXPECT_FALSE(linux.contains("maskedPaths"));
  EXPECT_FALSE(linux.contains("readonlyPaths"));
}

// --- seccomp -----------------------------------------------------------------------------------

TEST_F(SpecSecurityTest, Seccomp_RuntimeDefault_AllowlistDenyingMountWithoutSysAdmin) {
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  json seccomp = Build()["linux"]["seccomp"];
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(seccomp["defaultErrnoRet"], 1);
  EXPECT_THAT(Strings(seccomp["architectures"]),
              ElementsAre("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
  EXPECT_EQ(SyscallAction(seccomp, "read"), "SCMP_ACT_ALLOW");
  EXPECT_EQ(SyscallAction(seccomp, "arch_prctl"), "SCMP_ACT_ALLOW");
  EXPECT_EQ(SyscallAction(seccomp, "mount"), "");
  EXPECT_EQ(SyscallAction(seccomp, "clone3"), "SCMP_ACT_ERRNO");
  EXPECT_EQ(SyscallAction(seccomp, "kexec_load"), "");
}

TEST_F(SpecSecurityTest, Seccomp_RuntimeDefaultWithSysAdmin_MountAndCloneAllowed) {
  sc()->mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
  json seccomp = Build()["linux"]["seccomp"];
  EXPECT_EQ(SyscallAction(seccomp, "mount"), "SCMP_ACT_ALLOW");
  EXPECT_EQ(SyscallAction(seccomp, "clone3"), "SCMP_ACT_ALLOW");
}

TEST_F(SpecSecurityTest, Seccomp_Unset_BuiltInDefault) {
  EXPECT_EQ(Build()["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

TEST_F(SpecSecurityTest, Seccomp_UnsetWithoutDefaultWhenEmpty_Unconfined) {
  runtime_.seccomp_use_default_when_empty = false;
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}

TEST_F(SpecSecurityTest, Seccomp_ExplicitRuntimeDefaultWithoutDefaultWhenEmpty_Default) {
  runtime_.seccomp_use_default_when_empty = false;
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  EXPECT_EQ(Build()["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

TEST_F(SpecSecurityTest, Seccomp_Unconfined_NoSeccompSection) {
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}

TEST_F(SpecSecurityTest, Seccomp_Privileged_NoSeccompSection) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}

TEST_F(SpecSecurityTest, Seccomp_Localhost_FileConvertedFromDockerFormat) {
  TempDir dir;
  const std::string path = dir.path() + "/profile.json";
  WriteFile(path, R"({
    "defaultAction": "SCMP_ACT_LOG",
    "archMap": [
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
      {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
    ],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
    ]})");
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc()->mutable_seccomp()->set_localhost_ref(path);
  json seccomp = Build()["linux"]["seccomp"];
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_LOG");
  EXPECT_THAT(Strings(seccomp["architectures"]), ElementsAre("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"));
  EXPECT_EQ(SyscallAction(seccomp, "write"), "SCMP_ACT_ALLOW");
  EXPECT_EQ(SyscallAction(seccomp, "mount"), "");
  ASSERT_EQ(seccomp["syscalls"].size(), 2u);
  EXPECT_EQ(seccomp["syscalls"][1]["errnoRet"], 13);
}

TEST_F(SpecSecurityTest, Seccomp_LocalhostMissingOrRelativeOrInvalid_InvalidArgument) {
  TempDir dir;
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc()->mutable_seccomp()->set_localhost_ref(dir.path() + "/missing.json");
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("missing.json"));
  sc()->mutable_seccomp()->set_localhost_ref("profiles/x.json");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  WriteFile(dir.path() + "/bad.json", "{not json");
  sc()->mutable_seccomp()->set_localhost_ref(dir.path() + "/bad.json");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecSecurityTest, Seccomp_ConfiguredDefaultProfileFile_UsedForRuntimeDefault) {
  TempDir dir;
  const std::string path = dir.path() + "/seccomp.json";
  WriteFile(path, R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  runtime_.seccomp_profile = path;
  EXPECT_EQ(Build()["linux"]["seccomp"], json({{"defaultAction", "SCMP_ACT_ALLOW"}}));
}

TEST(SeccompProfileToOciTest, RuleFilters_ArchesExcludesMinKernel) {
  json profile = json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "syscalls": [
      {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
      {"names": ["b"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
      {"names": ["c"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["d"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.0"}},
      {"names": ["e"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"},
       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
    ]})");
  auto oci = SeccompProfileToOci(profile, {"CAP_SYS_ADMIN"}, {"x86_64", "6.1.0"});
  ASSERT_TRUE(oci.ok()) << oci.status();
  ASSERT_EQ((*oci)["syscalls"].size(), 2u);
  EXPECT_EQ((*oci)["syscalls"][0]["names"], json::array({"b"}));
  EXPECT_EQ((*oci)["syscalls"][1]["names"], json::array({"e"}));
  EXPECT_EQ((*oci)["syscalls"][1]["args"][0]["value"], 1);
  EXPECT_EQ((*oci)["defaultErrnoRet"], 1);
}

TEST(SeccompProfileToOciTest, MissingDefaultActionOrNamelessRule_InvalidArgument) {
  EXPECT_EQ(SeccompProfileToOci(json::object(), {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  json bad = {{"defaultAction", "SCMP_ACT_ERRNO"},
              {"syscalls", json::array({{{"action", "SCMP_ACT_ALLOW"}}})}};
  EXPECT_EQ(SeccompProfileToOci(bad, {}, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DefaultSeccompProfileTest, Aarch64_ArmArchesAndArmOnlySyscalls) {
  json p = DefaultSeccompProfile({}, {"aarch64", "6.1.0"});
  EXPECT_THAT(Strings(p["architectures"]), ElementsAre("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"));
  EXPECT_EQ(SyscallAction(p, "set_tls"), "SCMP_ACT_ALLOW");
  EXPECT_EQ(SyscallAction(p, "arch_prctl"), "");
}

// --- direct calls ------------------------------------------------------------------------------

TEST_F(SpecSecurityTest, ContainerCaps_DefaultsThenAddsThenDrops) {
  v1::Capability caps;
  caps.add_add_capabilities("net_raw");
  caps.add_drop_capabilities("CAP_CHOWN");
  auto set = spec_internal::ContainerCaps(caps, {"CAP_CHOWN", "CAP_KILL"}, host_);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(spec_internal::CapabilityNames(*set), ElementsAre("CAP_KILL", "CAP_NET_RAW"));
  caps.add_drop_capabilities("FLY");
  EXPECT_EQ(spec_internal::ContainerCaps(caps, {}, host_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecSecurityTest, AddContainerSecurity_Direct_OnlySecurityFields) {
  auto ctx = spec_internal::ContainerContextFor(in_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  json spec = json::object();
  Status s = spec_internal::AddContainerSecurity(*ctx, spec);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(spec["process"]["noNewPrivileges"], false);
  EXPECT_THAT(Strings(spec["process"]["capabilities"]["bounding"]), Contains("CAP_CHOWN"));
  EXPECT_FALSE(spec["process"].contains("args"));
  EXPECT_THAT(Strings(spec["linux"]["maskedPaths"]), Contains("/proc/kcore"));
  EXPECT_EQ(spec["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_FALSE(spec["linux"].contains("namespaces"));
}

TEST_F(SpecSecurityTest, AddSandboxSecurity_Direct_NoNewPrivsAndDefaultPaths) {
  sandbox_.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
      v1::SecurityProfile::Unconfined);
  SandboxSpecInputs sin;
  sin.sandbox = &sandbox_;
  sin.runtime = &runtime_;
  sin.host = &host_;
  auto ctx = spec_internal::SandboxContextFor(sin);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  json spec = json::object();
  Status s = spec_internal::AddSandboxSecurity(*ctx, spec);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(spec["process"]["noNewPrivileges"], true);
  EXPECT_THAT(Strings(spec["linux"]["readonlyPaths"]), Contains("/proc/sys"));
  EXPECT_FALSE(spec["linux"].contains("seccomp"));
}

}  // namespace
}  // namespace crio::container
