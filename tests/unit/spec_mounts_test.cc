// Unit tests of a spec's mounts (src/container/spec_mounts): standard and pod mounts, CRI
// mounts and their propagation, image volumes, and PrepareRootfs.

// spec_test_util.h pulls in api.pb.h, which must come before any system header.
#include "spec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "container/spec_mounts.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using spec_test::FindMount;
using spec_test::FindNamespace;
using spec_test::MountDestinations;
using spec_test::Strings;
using spec_test::TempDir;
using spec_test::WriteFile;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class SpecMountsTest : public spec_test::SpecFixture {};

// --- mounts ------------------------------------------------------------------------------------

TEST_F(SpecMountsTest, Mounts_CriOOrderAndOptions) {
  auto* m = config_.add_mounts();
  m->set_container_path("/var/lib/data/sub");
  m->set_host_path("/srv/data/sub");
  m = config_.add_mounts();
  m->set_container_path("/var/lib/data");
  m->set_host_path("/srv/data");
  m->set_readonly(true);
  m = config_.add_mounts();
  m->set_container_path("/dev/termination-log");
  m->set_host_path("/var/lib/kubelet/pods/x/termination-log");
  json spec = Build();
  EXPECT_THAT(MountDestinations(spec),
              ElementsAre("/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                          "/dev/shm", "/etc/hostname", "/etc/resolv.conf", "/etc/hosts",
                          "/dev/termination-log", "/var/lib/data", "/var/lib/data/sub"));
  EXPECT_EQ(*FindMount(spec, "/dev"),
            json({{"destination", "/dev"},
                  {"type", "tmpfs"},
                  {"source", "tmpfs"},
                  {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}}));
  EXPECT_THAT(
      Strings((*FindMount(spec, "/dev/pts"))["options"]),
      ElementsAre("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"));
  EXPECT_THAT(Strings((*FindMount(spec, "/sys"))["options"]), Contains("ro"));
  EXPECT_THAT(Strings((*FindMount(spec, "/sys/fs/cgroup"))["options"]), Contains("ro"));
  const json& shm = *FindMount(spec, "/dev/shm");
  EXPECT_EQ(shm["source"], "/run/crio/pod1/shm");
  EXPECT_THAT(Strings(shm["options"]), ElementsAre("rw", "bind"));
  EXPECT_EQ((*FindMount(spec, "/etc/hosts"))["source"], "/run/crio/pod1/hosts");
  const json& data = *FindMount(spec, "/var/lib/data");
  EXPECT_EQ(data["type"], "bind");
  EXPECT_EQ(data["source"], "/srv/data");
  EXPECT_THAT(Strings(data["options"]), ElementsAre("rbind", "rprivate", "ro"));
  EXPECT_THAT(Strings((*FindMount(spec, "/var/lib/data/sub"))["options"]),
              ElementsAre("rbind", "rprivate", "rw"));
  EXPECT_FALSE(spec["linux"].contains("rootfsPropagation"));
}

TEST_F(SpecMountsTest, Mounts_CriMountOverridesDefaults_DefaultDropped) {
  auto* m = config_.add_mounts();
  m->set_container_path("/etc/hosts");
  m->set_host_path("/var/lib/kubelet/pods/x/etc-hosts");
  m = config_.add_mounts();
  m->set_container_path("/dev");
  m->set_host_path("/dev");
  json spec = Build();
  std::vector<std::string> dests = MountDestinations(spec);
  EXPECT_EQ(std::count(dests.begin(), dests.end(), "/etc/hosts"), 1);
  EXPECT_EQ((*FindMount(spec, "/etc/hosts"))["source"], "/var/lib/kubelet/pods/x/etc-hosts");
  EXPECT_THAT(dests, Not(Contains("/dev/pts")));
  EXPECT_THAT(dests, Not(Contains("/dev/shm")));
  EXPECT_EQ((*FindMount(spec, "/dev"))["type"], "bind");
}

TEST_F(SpecMountsTest, Mounts_Propagation_RootfsPropagationFollows) {
  auto* m = config_.add_mounts();
  m->set_container_path("/slave");
  m->set_host_path("/a");
  m->set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
  json spec = Build();
  EXPECT_THAT(Strings((*FindMount(spec, "/slave"))["options"]), Contains("rslave"));
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rslave");

  m = config_.add_mounts();
  m->set_container_path("/shared");
  m->set_host_path("/b");
  m->set_propagation(v1::PROPAGATION_BIDIRECTIONAL);
  spec = Build();
  EXPECT_THAT(Strings((*FindMount(spec, "/shared"))["options"]), Contains("rshared"));
  EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rshared");
}

// A fake host mount table: `shared_dir` on a shared mount, `slave_dir` on a slave one, the rest
// (including `private_dir`) on the private root.
class SpecPropagationTest : public SpecMountsTest {
 protected:
  SpecPropagationTest() {
    shared_dir_ = dir_.path() + "/shared dir";
    slave_dir_ = dir_.path() + "/slave";
    private_dir_ = dir_.path() + "/private";
    for (const std::string& d : {shared_dir_, shared_dir_ + "/sub", slave_dir_, private_dir_}) {
      std::filesystem::create_directories(d);
    }
    const std::string shared_escaped = dir_.path() + "/shared\\040dir";
    WriteFile(dir_.path() + "/mountinfo",
              "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
              "30 26 0:40 / " +
                  shared_escaped +
                  " rw shared:7 - tmpfs t rw\n"
                  "31 26 0:41 / " +
                  slave_dir_ +
                  " rw master:7 - tmpfs t rw\n"
                  "32 26 0:42 / " +
                  slave_dir_ + "-other rw shared:9 - tmpfs t rw\n");
    host_.mountinfo_path = dir_.path() + "/mountinfo";
  }

  Status Mount(const std::string& source, v1::MountPropagation propagation) {
    config_.clear_mounts();
    auto* m = config_.add_mounts();
    m->set_container_path("/data");
    m->set_host_path(source);
    m->set_propagation(propagation);
    return BuildError();
  }

  TempDir dir_;
  std::string shared_dir_, slave_dir_, private_dir_;
};

TEST_F(SpecPropagationTest, HostToContainer_SharedOrSlaveSource_Accepted) {
  EXPECT_TRUE(Mount(shared_dir_ + "/sub", v1::PROPAGATION_HOST_TO_CONTAINER).ok());
  EXPECT_TRUE(Mount(slave_dir_, v1::PROPAGATION_HOST_TO_CONTAINER).ok());
  EXPECT_TRUE(Mount(private_dir_, v1::PROPAGATION_PRIVATE).ok());
}

TEST_F(SpecPropagationTest, HostToContainer_PrivateSource_InvalidArgument) {
  Status s = Mount(private_dir_, v1::PROPAGATION_HOST_TO_CONTAINER);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("is mounted on \"/\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a shared or slave mount"));
}

TEST_F(SpecPropagationTest, Bidirectional_OnlySharedSource) {
  EXPECT_TRUE(Mount(shared_dir_, v1::PROPAGATION_BIDIRECTIONAL).ok());
  Status s = Mount(slave_dir_, v1::PROPAGATION_BIDIRECTIONAL);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a shared mount"));
  EXPECT_EQ(Mount(private_dir_, v1::PROPAGATION_BIDIRECTIONAL).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecPropagationTest, MissingSourceOrUnreadableTable) {
  // A missing source is the runtime's to report; an unreadable table is an error.
  EXPECT_TRUE(Mount(dir_.path() + "/absent", v1::PROPAGATION_BIDIRECTIONAL).ok());
  host_.mountinfo_path = dir_.path() + "/no-such-mountinfo";
  EXPECT_FALSE(Mount(shared_dir_, v1::PROPAGATION_BIDIRECTIONAL).ok());
}

TEST_F(SpecMountsTest, Mounts_RecursiveReadOnly_RroOptionOrErrors) {
  auto* m = config_.add_mounts();
  m->set_container_path("/data");
  m->set_host_path("/srv");
  m->set_readonly(true);
  m->set_recursive_read_only(true);
  EXPECT_THAT(Strings((*FindMount(Build(), "/data"))["options"]),
              ElementsAre("rbind", "rprivate", "ro", "rro"));
  m->set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  m->set_propagation(v1::PROPAGATION_PRIVATE);
  m->set_readonly(false);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecMountsTest, Mounts_EmptyPaths_InvalidArgument) {
  auto* m = config_.add_mounts();
  m->set_host_path("/srv");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  m->set_container_path("/data");
  m->clear_host_path();
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecMountsTest, Mounts_AbsentSourceListedForRejection_InvalidArgument) {
  TempDir dir;
  const std::string missing = dir.path() + "/hostname";
  runtime_.absent_mount_sources_to_reject = {missing};
  auto* m = config_.add_mounts();
  m->set_container_path("/etc/hostname");
  m->set_host_path(missing);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  WriteFile(missing, "x\n");
  EXPECT_TRUE(BuildError().ok());
}

TEST_F(SpecMountsTest, Mounts_ReadonlyRootfs_RootAndPodFilesReadOnly) {
  sc()->set_readonly_rootfs(true);
  json spec = Build();
  EXPECT_EQ(spec["root"], json({{"path", "/var/lib/crio/ctr1/rootfs"}, {"readonly", true}}));
  EXPECT_THAT(Strings((*FindMount(spec, "/etc/hostname"))["options"]), ElementsAre("ro", "bind"));
  EXPECT_THAT(Strings((*FindMount(spec, "/etc/resolv.conf"))["options"]), Contains("ro"));
}

TEST_F(SpecMountsTest, Mounts_Privileged_SysfsAndCgroupWritable) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  json spec = Build();
  EXPECT_THAT(Strings((*FindMount(spec, "/sys"))["options"]), Contains("rw"));
  EXPECT_THAT(Strings((*FindMount(spec, "/sys"))["options"]), Not(Contains("ro")));
  EXPECT_THAT(Strings((*FindMount(spec, "/sys/fs/cgroup"))["options"]), Contains("rw"));
}

TEST_F(SpecMountsTest, Mounts_HostIpcWithoutPodShm_BindsHostDevShm) {
  in_.pod.host_ipc = true;
  in_.pod.ipcns_path.clear();
  in_.pod.shm_path.clear();
  json spec = Build();
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["source"], "/dev/shm");
  EXPECT_EQ(FindNamespace(spec, "ipc"), nullptr);
}

// --- image volumes -----------------------------------------------------------------------------

TEST_F(SpecMountsTest, ImageVolumes_Bind_FreshDirectoryPerVolumeUnlessCriMountThere) {
  image_.config.volumes = {"/var/cache/app", "/data/"};
  in_.image_volumes = "bind";
  in_.image_volume_dir = "/run/crio/ctr1/volumes";
  auto* m = config_.add_mounts();
  m->set_container_path("/data");
  m->set_host_path("/srv/kubelet-volume");
  json spec = Build();
  const json* v = FindMount(spec, "/var/cache/app");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ((*v)["type"], "bind");
  EXPECT_EQ((*v)["source"], ImageVolumeSource("/run/crio/ctr1/volumes", "/var/cache/app"));
  EXPECT_THAT(Strings((*v)["options"]), ElementsAre("rbind", "rprivate", "rw"));
  // The CRI mount wins over the image's volume at the same place.
  const std::vector<std::string> dests = MountDestinations(spec);
  EXPECT_EQ(std::count(dests.begin(), dests.end(), "/data"), 1);
  EXPECT_EQ((*FindMount(spec, "/data"))["source"], "/srv/kubelet-volume");
}

TEST_F(SpecMountsTest, ImageVolumes_MkdirIgnoreOrNoDirectory_NoMounts) {
  image_.config.volumes = {"/var/cache/app"};
  for (const char* mode : {"mkdir", "ignore", "bind"}) {
    in_.image_volumes = mode;  // "bind" without image_volume_dir: skipped with a warning
    EXPECT_EQ(FindMount(Build(), "/var/cache/app"), nullptr) << mode;
  }
}

TEST(ImageVolumeSourceTest, DistinctPerCleanedDestination) {
  EXPECT_EQ(ImageVolumeSource("/d", "/a/b"), ImageVolumeSource("/d", "/a/b/"));
  EXPECT_NE(ImageVolumeSource("/d", "/a/b"), ImageVolumeSource("/d", "/a_b"));
  EXPECT_EQ(ImageVolumeSource("/d", "/a").rfind("/d/", 0), 0u);
  EXPECT_EQ(ImageVolumeSource("/d", "/a/b").find('/', 3), std::string::npos);
}

// --- PrepareRootfs -----------------------------------------------------------------------------

TEST(PrepareRootfsTest, CreatesCwdAndVolumes_SymlinksStayInsideRootfs) {
  TempDir root;
  TempDir outside;
  // An absolute symlink in the image must resolve inside the rootfs, not on the host.
  ASSERT_EQ(symlink(outside.path().c_str(), (root.path() + "/escape").c_str()), 0);
  ASSERT_EQ(symlink("../../../..", (root.path() + "/up").c_str()), 0);
  Status s = PrepareRootfs(root.path(), "/srv/app", {"/data", "/escape/vol", "/up/v2"}, "mkdir",
                           getuid(), getgid());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(std::filesystem::is_directory(root.path() + "/srv/app"));
  EXPECT_TRUE(std::filesystem::is_directory(root.path() + "/data"));
  EXPECT_TRUE(std::filesystem::is_directory(root.path() + outside.path() + "/vol"));
  EXPECT_FALSE(std::filesystem::exists(outside.path() + "/vol"));
  EXPECT_TRUE(std::filesystem::is_directory(root.path() + "/v2"));
}

TEST(PrepareRootfsTest, IgnoreModeAndFileInTheWay) {
  TempDir root;
  ASSERT_TRUE(PrepareRootfs(root.path(), "/", {"/data"}, "ignore", getuid(), getgid()).ok());
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/data"));
  WriteFile(root.path() + "/file", "x");
  EXPECT_EQ(PrepareRootfs(root.path(), "/file/sub", {}, "mkdir", getuid(), getgid()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PrepareRootfsTest, BindMode_CreatesVolumeSourcesOutsideRootfs) {
  TempDir root;
  TempDir state;
  const std::string dir = state.path() + "/volumes";
  ASSERT_TRUE(
      PrepareRootfs(root.path(), "/", {"/vol", "/a/b"}, "bind", getuid(), getgid(), dir).ok());
  struct stat st;
  ASSERT_EQ(::stat(ImageVolumeSource(dir, "/vol").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, getuid());
  EXPECT_TRUE(std::filesystem::is_directory(ImageVolumeSource(dir, "/a/b")));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/vol"));  // the runtime makes the target
  // Again (a restarted create): existing directories are fine.
  EXPECT_TRUE(PrepareRootfs(root.path(), "/", {"/vol"}, "bind", getuid(), getgid(), dir).ok());
}

// --- direct calls ------------------------------------------------------------------------------

TEST_F(SpecMountsTest, MountHolding_LongestPrefixUnescapedWithTags) {
  const std::string table =
      "1 0 8:1 / / rw - ext4 /dev/sda rw\n"
      "2 1 0:5 / /var/lib rw shared:3 master:1 - tmpfs t rw\n"
      "3 1 0:6 / /var/lib\\040x rw - tmpfs t rw\n"
      "short line\n";
  auto m = spec_internal::MountHolding(table, "/var/lib/kubelet");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mount_point, "/var/lib");
  EXPECT_EQ(m->tags, "shared:3 master:1");
  m = spec_internal::MountHolding(table, "/var/lib x/y");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mount_point, "/var/lib x");
  EXPECT_EQ(m->tags, "");
  m = spec_internal::MountHolding(table, "/var/library");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mount_point, "/");
  EXPECT_FALSE(spec_internal::MountHolding("", "/a").has_value());
}

TEST_F(SpecMountsTest, AddContainerMounts_Direct_ReadOnlyScratchAndHostEtcHosts) {
  runtime_.read_only = true;
  in_.pod.hosts_file.clear();
  auto ctx = spec_internal::ContainerContextFor(in_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  spec_internal::NamespacePlan plan;
  plan.host_net = true;
  json spec = json::object();
  Status s = spec_internal::AddContainerMounts(*ctx, plan, spec);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(
      MountDestinations(spec),
      ElementsAre("/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/dev/shm",
                  "/etc/hostname", "/etc/resolv.conf", "/etc/hosts", "/run", "/tmp", "/var/tmp"));
  EXPECT_EQ((*FindMount(spec, "/etc/hosts"))["source"], "/etc/hosts");
  EXPECT_THAT(Strings((*FindMount(spec, "/etc/hosts"))["options"]), ElementsAre("ro", "bind"));
  EXPECT_THAT(Strings((*FindMount(spec, "/tmp"))["options"]),
              ElementsAre("rw", "noexec", "nosuid", "nodev", "tmpcopyup", "mode=1777"));
  EXPECT_FALSE(spec.contains("linux"));  // no propagating CRI mount
}

TEST_F(SpecMountsTest, SandboxMounts_Direct_HostIpcWithoutPodShm) {
  in_.pod.shm_path.clear();
  spec_internal::NamespacePlan plan;
  plan.host_ipc = true;
  json spec = {{"mounts", spec_internal::SandboxMounts(in_.pod, plan)}};
  EXPECT_THAT(MountDestinations(spec),
              ElementsAre("/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                          "/dev/shm", "/etc/resolv.conf", "/etc/hostname"));
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["source"], "/dev/shm");
  EXPECT_THAT(Strings((*FindMount(spec, "/etc/hostname"))["options"]), ElementsAre("ro", "bind"));
}

}  // namespace
}  // namespace crio::container
