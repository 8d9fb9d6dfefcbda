// Unit tests of the per-pod files (src/sandbox/pod_files.h): hostname, resolv.conf and hosts
// content and files in a temp pod dir. The shm tmpfs mount itself is exercised as root in
// tests/integration/podns_test.cc.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sandbox/pod_files.h"
#include "support/temp_dir.h"

namespace crio::sandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

TEST(RenderResolvConf, FullConfig_SearchNameserversOptionsInOrder) {
  DnsConfig dns;
  dns.servers = {"10.96.0.10", "fd00::10"};
  dns.searches = {"default.svc.cluster.local", "svc.cluster.local"};
  dns.options = {"ndots:5", "edns0"};
  auto text = RenderResolvConf(dns);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "search default.svc.cluster.local svc.cluster.local\n"
            "nameserver 10.96.0.10\n"
            "nameserver fd00::10\n"
            "options ndots:5 edns0\n");
}

TEST(RenderResolvConf, OnlyServers_NoSearchOrOptionsLines) {
  DnsConfig dns;
  dns.servers = {"1.1.1.1"};
  auto text = RenderResolvConf(dns);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "nameserver 1.1.1.1\n");
}

TEST(RenderResolvConf, LinkLocalServerWithZone_Accepted) {
  DnsConfig dns;
  dns.servers = {"fe80::1%eth0"};
  auto text = RenderResolvConf(dns);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "nameserver fe80::1%eth0\n");
}

TEST(RenderResolvConf, ServerNotAnIp_InvalidArgumentNamingIt) {
  DnsConfig dns;
  dns.servers = {"dns.example.com"};
  auto text = RenderResolvConf(dns);
  ASSERT_FALSE(text.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(text.status()));
  EXPECT_THAT(Message(text.status()), HasSubstr("dns.example.com"));
}

TEST(RenderResolvConf, LineInjection_InvalidArgument) {
  DnsConfig search;
  search.searches = {"ok.local\nnameserver 6.6.6.6"};
  EXPECT_TRUE(absl::IsInvalidArgument(RenderResolvConf(search).status()));
  DnsConfig option;
  option.options = {"ndots:5 rotate"};
  EXPECT_TRUE(absl::IsInvalidArgument(RenderResolvConf(option).status()));
  DnsConfig empty_entry;
  empty_entry.searches = {""};
  EXPECT_TRUE(absl::IsInvalidArgument(RenderResolvConf(empty_entry).status()));
}

TEST(RenderHosts, NoIps_LoopbackEntriesAndHostnameOn127011) {
  auto text = RenderHosts("web-0", {});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("127.0.0.1\tlocalhost\n"));
  EXPECT_THAT(*text, HasSubstr("::1\tlocalhost ip6-localhost ip6-loopback\n"));
  EXPECT_THAT(*text, HasSubstr("fe00::2\tip6-allrouters\n"));
  EXPECT_THAT(*text, HasSubstr("127.0.1.1\tweb-0\n"));
}

TEST(RenderHosts, WithIps_OneLinePerIpAndNoPlaceholder) {
  auto text = RenderHosts("web-0", {"10.88.0.5", "fd00::5"});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("\n10.88.0.5\tweb-0\n"));
  EXPECT_THAT(*text, HasSubstr("\nfd00::5\tweb-0\n"));
  EXPECT_THAT(*text, Not(HasSubstr("127.0.1.1")));
}

TEST(RenderHosts, FqdnHostname_AlsoListsShortName) {
  auto text = RenderHosts("web-0.web.default.svc", {"10.0.0.1"});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("10.0.0.1\tweb-0.web.default.svc web-0\n"));
}

TEST(RenderHosts, BadIp_InvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(RenderHosts("a", {"10.0.0.300"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(RenderHosts("a", {"fe80::1%eth0"}).status()));
}

TEST(ValidateHostname, Limits) {
  EXPECT_TRUE(ValidateHostname("a").ok());
  EXPECT_TRUE(ValidateHostname(std::string(64, 'a')).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHostname(std::string(65, 'a'))));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHostname("")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHostname("-a")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHostname("a b")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateHostname("a\nb")));
  EXPECT_TRUE(ValidateHostname("crictl_host").ok());
}

TEST(PodHostname, ConfiguredNameWins) {
  EXPECT_EQ(PodHostname("web-0", "0123456789abcdef", false, "node1"), "web-0");
  EXPECT_EQ(PodHostname("web-0", "0123456789abcdef", true, "node1"), "web-0");
}

TEST(PodHostname, NoName_HostNetworkGetsNodeName) {
  EXPECT_EQ(PodHostname("", "0123456789abcdef", true, "node1"), "node1");
}

TEST(PodHostname, NoName_OwnUtsNamespaceGetsShortPodId) {
  // critest's pod names are 68 characters: the name must never be the fallback.
  std::string name = PodHostname("", "0123456789abcdef0123", false, "node1");
  EXPECT_EQ(name, "0123456789ab");
  EXPECT_TRUE(ValidateHostname(name).ok());
}

TEST(WriteHostnameFile, PodDir_WritesNameAndNewlineMode0644) {
  TempDir tmp;
  mode_t old = umask(077);
  Status s = WriteHostnameFile(tmp.path(), "mypod");
  umask(old);
  ASSERT_TRUE(s.ok()) << s;
  std::string path = tmp.path() + "/hostname";
  EXPECT_EQ(ReadAll(path), "mypod\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(WriteHostnameFile, MissingPodDir_NotFound) {
  TempDir tmp;
  Status s = WriteHostnameFile(tmp.path() + "/nope", "mypod");
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
}

TEST(WriteResolvConf, EmptyDnsConfig_CopiesHostFile) {
  TempDir tmp;
  std::string host = tmp.path() + "/host-resolv.conf";
  WriteAll(host, "nameserver 192.0.2.53\nsearch corp.example\n");
  ASSERT_TRUE(WriteResolvConf(tmp.path(), DnsConfig{}, host).ok());
  EXPECT_EQ(ReadAll(tmp.path() + "/resolv.conf"), "nameserver 192.0.2.53\nsearch corp.example\n");
}

TEST(WriteResolvConf, EmptyDnsConfigAndNoHostFile_WritesEmptyFile) {
  TempDir tmp;
  Status s = WriteResolvConf(tmp.path(), DnsConfig{}, tmp.path() + "/missing");
  ASSERT_TRUE(s.ok()) << s;
  struct stat st;
  ASSERT_EQ(stat((tmp.path() + "/resolv.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
}

TEST(WriteResolvConf, GivenDnsConfig_IgnoresHostFile) {
  TempDir tmp;
  std::string host = tmp.path() + "/host-resolv.conf";
  WriteAll(host, "nameserver 192.0.2.53\n");
  DnsConfig dns;
  dns.servers = {"10.96.0.10"};
  dns.searches = {"ns.svc.cluster.local"};
  ASSERT_TRUE(WriteResolvConf(tmp.path(), dns, host).ok());
  EXPECT_EQ(ReadAll(tmp.path() + "/resolv.conf"),
            "search ns.svc.cluster.local\nnameserver 10.96.0.10\n");
}

TEST(WriteResolvConf, InvalidServer_NoFileWritten) {
  TempDir tmp;
  DnsConfig dns;
  dns.servers = {"not-an-ip"};
  EXPECT_TRUE(absl::IsInvalidArgument(WriteResolvConf(tmp.path(), dns)));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/resolv.conf"));
}

TEST(WriteHostsFile, RewriteWithIps_SameInodeNewContent) {
  TempDir tmp;
  std::string path = tmp.path() + "/hosts";
  ASSERT_TRUE(WriteHostsFile(tmp.path(), "pod-a").ok());
  struct stat before;
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  EXPECT_THAT(ReadAll(path), HasSubstr("127.0.1.1\tpod-a\n"));

  ASSERT_TRUE(RewriteHostsWithIps(tmp.path(), "pod-a", {"10.88.0.7"}).ok());
  struct stat after;
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  std::string content = ReadAll(path);
  EXPECT_THAT(content, HasSubstr("10.88.0.7\tpod-a\n"));
  EXPECT_THAT(content, Not(HasSubstr("127.0.1.1")));
}

TEST(ShmMountData, Size_ModeAndBytes) {
  EXPECT_EQ(ShmMountData(kDefaultShmSizeBytes), "mode=1777,size=67108864");
  EXPECT_EQ(kDefaultShmSizeBytes, 65536u * 1024u);
}

TEST(MountShm, ZeroSize_InvalidArgumentNothingCreated) {
  TempDir tmp;
  auto shm = MountShm(tmp.path(), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(shm.status()));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/shm"));
}

TEST(UnmountShm, NothingMountedOrMissing_OkAndRemovesDir) {
  TempDir tmp;
  std::string shm = tmp.path() + "/shm";
  ASSERT_EQ(mkdir(shm.c_str(), 0755), 0);
  EXPECT_TRUE(UnmountShm(shm).ok());
  EXPECT_FALSE(std::filesystem::exists(shm));
  EXPECT_TRUE(UnmountShm(shm).ok());
}

}  // namespace
}  // namespace crio::sandbox
