// Unit tests of the pure and rootless parts of namespace pinning (src/sandbox/namespaces.h):
// sysctl rules, request validation, pin paths and idempotent unpinning of plain files.
// Real pinning runs in tests/integration/podns_test.cc.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "sandbox/namespaces.h"

namespace crio::sandbox {
namespace {

using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crio-sandbox-ns-XXXXXX";
    char* dir = mkdtemp(tmpl);
    if (dir != nullptr) {
      path_ = dir;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Touch(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  close(fd);
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

PinRequest NetRequest(const std::string& dir) {
  PinRequest r;
  r.namespaces_dir = dir;
  r.pod_id = "0123456789abcdef";
  r.net = true;
  r.ipc = true;
  r.uts = true;
  return r;
}

TEST(ClassifySysctl, NetSysctl_IsNet) {
  auto ns = ClassifySysctl("net.ipv4.ip_unprivileged_port_start");
  ASSERT_TRUE(ns.ok()) << ns.status();
  EXPECT_EQ(*ns, SysctlNamespace::kNet);
}

TEST(ClassifySysctl, SlashedNetSysctl_IsNet) {
  auto ns = ClassifySysctl("net/ipv4/conf/eth0.100/rp_filter");
  ASSERT_TRUE(ns.ok()) << ns.status();
  EXPECT_EQ(*ns, SysctlNamespace::kNet);
}

TEST(ClassifySysctl, IpcSysctls_AreIpc) {
  for (const char* name : {"kernel.shmmni", "kernel.shm_rmid_forced", "kernel.msgmax", "kernel.sem",
                           "fs.mqueue.msg_max"}) {
    auto ns = ClassifySysctl(name);
    ASSERT_TRUE(ns.ok()) << name << ": " << ns.status();
    EXPECT_EQ(*ns, SysctlNamespace::kIpc) << name;
  }
}

TEST(ClassifySysctl, HostWideSysctls_InvalidArgumentNamingThem) {
  for (const char* name : {"kernel.panic", "vm.swappiness", "kernel.semfoo", "fs.file-max",
                           "kernel.hostname", "netfoo.bar"}) {
    auto ns = ClassifySysctl(name);
    ASSERT_FALSE(ns.ok()) << name;
    EXPECT_TRUE(absl::IsInvalidArgument(ns.status())) << name;
    EXPECT_THAT(Message(ns.status()), HasSubstr(name));
  }
}

TEST(SysctlProcPath, DottedName_MapsToProcSys) {
  auto path = SysctlProcPath("net.ipv4.ip_unprivileged_port_start");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, "/proc/sys/net/ipv4/ip_unprivileged_port_start");
}

TEST(SysctlProcPath, VlanInterfaceInEitherForm_KeepsTheDotInTheComponent) {
  auto slashed = SysctlProcPath("net/ipv4/conf/eth0.100/rp_filter");
  auto dotted = SysctlProcPath("net.ipv4.conf.eth0/100.rp_filter");
  ASSERT_TRUE(slashed.ok()) << slashed.status();
  ASSERT_TRUE(dotted.ok()) << dotted.status();
  EXPECT_EQ(*slashed, "/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
  EXPECT_EQ(*dotted, *slashed);
}

TEST(SysctlProcPath, TraversalOrOddCharacters_InvalidArgument) {
  for (const char* name :
       {"", "net..ipv4", "net.ipv4.", ".net", "net/../../etc/passwd", "net.ipv4.conf.a b.x",
        "net.ipv4.*", "net.ipv4.conf./.x", "net.ipv4.conf.//.x"}) {
    auto path = SysctlProcPath(name);
    EXPECT_FALSE(path.ok()) << "'" << name << "' gave " << path.value_or("");
    if (!path.ok()) {
      EXPECT_TRUE(absl::IsInvalidArgument(path.status())) << name;
    }
  }
}

TEST(ValidatePinRequest, GoodRequestWithSysctls_Ok) {
  PinRequest r = NetRequest("/var/run");
  r.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"},
               {"kernel.shmmni", "1234"},
               {"net.ipv4.ping_group_range", "0 2147483647"}};
  EXPECT_TRUE(ValidatePinRequest(r).ok()) << ValidatePinRequest(r);
}

TEST(ValidatePinRequest, NetSysctlForHostNetworkPod_InvalidArgumentNamingIt) {
  PinRequest r = NetRequest("/var/run");
  r.net = false;
  r.sysctls = {{"net.core.somaxconn", "1024"}};
  Status s = ValidatePinRequest(r);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(Message(s), HasSubstr("net.core.somaxconn"));
}

TEST(ValidatePinRequest, IpcSysctlForHostIpcPod_InvalidArgument) {
  PinRequest r = NetRequest("/var/run");
  r.ipc = false;
  r.sysctls = {{"kernel.msgmax", "8192"}};
  Status s = ValidatePinRequest(r);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(Message(s), HasSubstr("kernel.msgmax"));
}

TEST(ValidatePinRequest, NotNamespacedSysctl_InvalidArgumentNamingIt) {
  PinRequest r = NetRequest("/var/run");
  r.sysctls = {{"kernel.shmmni", "10"}, {"vm.overcommit_memory", "1"}};
  Status s = ValidatePinRequest(r);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(Message(s), HasSubstr("vm.overcommit_memory"));
}

TEST(ValidatePinRequest, ValueWithNewline_InvalidArgument) {
  PinRequest r = NetRequest("/var/run");
  r.sysctls = {{"net.ipv4.tcp_syncookies", "1\n0"}};
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePinRequest(r)));
}

TEST(ValidatePinRequest, BadPodIds_InvalidArgument) {
  for (const char* id : {"", ".", "..", "a/b", "../x"}) {
    PinRequest r = NetRequest("/var/run");
    r.pod_id = id;
    EXPECT_TRUE(absl::IsInvalidArgument(ValidatePinRequest(r))) << "'" << id << "'";
  }
}

TEST(ValidatePinRequest, NothingRequested_InvalidArgument) {
  PinRequest r = NetRequest("/var/run");
  r.net = r.ipc = r.uts = false;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePinRequest(r)));
}

TEST(ValidatePinRequest, RelativeNamespacesDir_InvalidArgument) {
  PinRequest r = NetRequest("var/run");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePinRequest(r)));
}

TEST(ValidatePinRequest, UserNamespaceMappings_MustComeTogether) {
  PinRequest r = NetRequest("/var/run");
  r.user = true;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePinRequest(r)));
  r.uid_map = "0 100000 65536";
  r.gid_map = "0 100000 65536";
  EXPECT_TRUE(ValidatePinRequest(r).ok());
  r.user = false;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePinRequest(r)));
}

TEST(PinNamespaces, InvalidRequest_FailsBeforeTouchingTheFilesystem) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  PinRequest r = NetRequest(tmp.path() + "/ns");
  r.sysctls = {{"kernel.panic", "1"}};
  auto pins = PinNamespaces(r);
  ASSERT_FALSE(pins.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(pins.status()));
  EXPECT_THAT(Message(pins.status()), HasSubstr(r.pod_id));
  EXPECT_FALSE(Exists(tmp.path() + "/ns"));
}

TEST(PinPathsFor, Pod_GivesCrioLayout) {
  PinnedNamespaces p = PinPathsFor("/var/run", "abc");
  EXPECT_EQ(p.net_path, "/var/run/netns/abc");
  EXPECT_EQ(p.ipc_path, "/var/run/ipcns/abc");
  EXPECT_EQ(p.uts_path, "/var/run/utsns/abc");
  EXPECT_EQ(p.user_path, "/var/run/userns/abc");
}

TEST(UnpinNamespaces, MissingPaths_OkAndIdempotent) {
  TempDir tmp;
  PinnedNamespaces p = PinPathsFor(tmp.path(), "gone");
  EXPECT_TRUE(UnpinNamespaces(p).ok());
  EXPECT_TRUE(UnpinNamespaces(p).ok());
  EXPECT_TRUE(UnpinNamespaces(PinnedNamespaces{}).ok());
}

TEST(UnpinNamespaces, UnmountedLeftoverFiles_AreRemoved) {
  TempDir tmp;
  PinnedNamespaces p = PinPathsFor(tmp.path(), "left");
  ASSERT_EQ(mkdir((tmp.path() + "/netns").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((tmp.path() + "/utsns").c_str(), 0755), 0);
  Touch(p.net_path);
  Touch(p.uts_path);
  ASSERT_TRUE(UnpinNamespaces(p).ok());
  EXPECT_FALSE(Exists(p.net_path));
  EXPECT_FALSE(Exists(p.uts_path));
  EXPECT_TRUE(Exists(tmp.path() + "/netns"));  // shared with other pods
}

TEST(HasRealNetns, RegularFileOrMissing_False) {
  TempDir tmp;
  std::string file = tmp.path() + "/plain";
  Touch(file);
  EXPECT_FALSE(HasRealNetns(file));
  EXPECT_FALSE(HasRealNetns(tmp.path() + "/missing"));
}

TEST(HasRealNetns, OwnNetnsAndOtherNamespaceType_TrueAndFalse) {
  // /proc/self/ns/* are nsfs files readable without privileges.
  EXPECT_TRUE(HasRealNetns("/proc/self/ns/net"));
  EXPECT_FALSE(HasRealNetns("/proc/self/ns/uts"));
}

}  // namespace
}  // namespace crio::sandbox
