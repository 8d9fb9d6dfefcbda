// Unit tests of the OCI spec generator (src/container): config.json for containers and infra
// containers, user resolution against image passwd/group files, and seccomp profiles.
// Hermetic: host facts come from a fixed HostInfo; files live in mkdtemp dirs.

// spec_builder.h pulls in api.pb.h, which must come before any system header.
#include "container/spec_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "container/image_user.h"
#include "container/seccomp_default.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/crio-spec-builder-XXXXXX";
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

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) {
    return out;
  }
  for (const json& v : j) {
    out.push_back(v.get<std::string>());
  }
  return out;
}

const json* FindMount(const json& spec, const std::string& destination) {
  for (const json& m : spec["mounts"]) {
    if (m["destination"] == destination) {
      return &m;
    }
  }
  return nullptr;
}

std::vector<std::string> MountDestinations(const json& spec) {
  std::vector<std::string> out;
  for (const json& m : spec["mounts"]) {
    out.push_back(m["destination"].get<std::string>());
  }
  return out;
}

const json* FindNamespace(const json& spec, const std::string& type) {
  for (const json& ns : spec["linux"]["namespaces"]) {
    if (ns["type"] == type) {
      return &ns;
    }
  }
  return nullptr;
}

// The action applying to `name` when called without argument filters ("" when not listed).
std::string SyscallAction(const json& seccomp, const std::string& name) {
  for (const json& rule : seccomp["syscalls"]) {
    if (rule.contains("args")) {
      continue;
    }
    for (const json& n : rule["names"]) {
      if (n == name) {
        return rule["action"].get<std::string>();
      }
    }
  }
  return "";
}

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n"
    "broken line\n"
    "alice:x:1000:1000::/home/alice:/bin/sh\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "nginx:x:101:\n"
    "alice:x:1000:\n"
    "video:x:44:alice,bob\n"
    "audio:x:29:alice\n"
    "staff:x:50:bob\n";

class SpecBuilderTest : public ::testing::Test {
 protected:
  SpecBuilderTest() {
    config_.mutable_metadata()->set_name("app");
    config_.mutable_image()->set_image("docker.io/library/busybox:latest");
    sandbox_.mutable_metadata()->set_name("pod");
    sandbox_.mutable_metadata()->set_namespace_("default");
    // What the kubelet sends for an ordinary pod: private PID namespace per container.
    config_.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    image_.config.entrypoint = {"/docker-entrypoint.sh"};
    image_.config.cmd = {"nginx", "-g", "daemon off;"};
    host_.cap_last_cap = 40;
    host_.apparmor_enabled = false;
    host_.memory_swap = true;
    host_.hugetlb = true;
    host_.machine = "x86_64";
    host_.kernel_release = "6.1.0";
    host_.dev_dir = dev_dir_.path();

    in_.container_id = "ctr1";
    in_.config = &config_;
    in_.sandbox = &sandbox_;
    in_.image = &image_;
    in_.rootfs = "/var/lib/crio/ctr1/rootfs";
    in_.runtime = &runtime_;
    in_.host = &host_;
    in_.cgroups_path = "/crio-cpp-test/crio-ctr1";
    in_.etc_passwd = kPasswd;
    in_.etc_group = kGroup;
    in_.pod.pod_id = "pod1";
    in_.pod.hostname = "web-0";
    in_.pod.netns_path = "/var/run/netns/pod1";
    in_.pod.ipcns_path = "/var/run/ipcns/pod1";
    in_.pod.utsns_path = "/var/run/utsns/pod1";
    in_.pod.hostname_file = "/run/crio/pod1/hostname";
    in_.pod.resolv_conf_file = "/run/crio/pod1/resolv.conf";
    in_.pod.hosts_file = "/run/crio/pod1/hosts";
    in_.pod.shm_path = "/run/crio/pod1/shm";
  }

  v1::LinuxContainerSecurityContext* sc() {
    return config_.mutable_linux()->mutable_security_context();
  }
  v1::LinuxContainerResources* resources() { return config_.mutable_linux()->mutable_resources(); }
  void MakeSandboxPrivileged() {
    sandbox_.mutable_linux()->mutable_security_context()->set_privileged(true);
  }

  json Build() {
    auto spec = BuildSpec(in_);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.ok() ? *spec : json::object();
  }
  Status BuildError() {
    auto spec = BuildSpec(in_);
    return spec.ok() ? absl::OkStatus() : spec.status();
  }

  TempDir dev_dir_;
  v1::ContainerConfig config_;
  v1::PodSandboxConfig sandbox_;
  image::ImageConfig image_;
  config::RuntimeConfig runtime_;
  HostInfo host_;
  SpecInputs in_;
};

// --- process.args ------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Args_NoCommandNoArgs_ImageEntrypointPlusCmd) {
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]),
              ElementsAre("/docker-entrypoint.sh", "nginx", "-g", "daemon off;"));
}

TEST_F(SpecBuilderTest, Args_ArgsOnly_ImageEntrypointPlusArgs) {
  config_.add_args("sleep");
  config_.add_args("10");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]),
              ElementsAre("/docker-entrypoint.sh", "sleep", "10"));
}

TEST_F(SpecBuilderTest, Args_CommandOnly_ImageCmdDropped) {
  config_.add_command("/bin/sh");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]), ElementsAre("/bin/sh"));
}

TEST_F(SpecBuilderTest, Args_CommandAndArgs_CommandPlusArgs) {
  config_.add_command("/bin/sh");
  config_.add_args("-c");
  config_.add_args("true");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]), ElementsAre("/bin/sh", "-c", "true"));
}

TEST_F(SpecBuilderTest, Args_NothingAnywhere_InvalidArgument) {
  image_.config.entrypoint.clear();
  image_.config.cmd.clear();
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("container has no command"));
}

// --- process.env / cwd / terminal --------------------------------------------------------------

TEST_F(SpecBuilderTest, Env_LaterSourcesWinByKey_DefaultEnvLowestCriHighest) {
  runtime_.default_env = {"A=default", "B=default", "ONLY_DEFAULT=1"};
  image_.config.env = {"PATH=/image/bin", "B=image", "C=image"};
  auto* kv = config_.add_envs();
  kv->set_key("C");
  kv->set_value("cri");
  kv = config_.add_envs();
  kv->set_key("D");
  kv->set_value("x=y");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["env"]),
              ElementsAre("PATH=/image/bin", "HOSTNAME=web-0", "A=default", "B=image",
                          "ONLY_DEFAULT=1", "C=cri", "D=x=y"));
}

TEST_F(SpecBuilderTest, Env_NoImageEnv_DefaultPathAndTermWithTty) {
  config_.set_tty(true);
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["env"]),
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "TERM=xterm", "HOSTNAME=web-0"));
  EXPECT_EQ(spec["process"]["terminal"], true);
}

TEST_F(SpecBuilderTest, Cwd_CriOverImageOverRoot) {
  EXPECT_EQ(Build()["process"]["cwd"], "/");
  image_.config.working_dir = "/srv";
  EXPECT_EQ(Build()["process"]["cwd"], "/srv");
  config_.set_working_dir("/work");
  EXPECT_EQ(Build()["process"]["cwd"], "/work");
}

// --- process.user ------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, User_NoneAnywhere_Root) {
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 0);
  EXPECT_EQ(user["gid"], 0);
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(0));
}

TEST_F(SpecBuilderTest, User_ImageUserName_ResolvedFromPasswdWithGroups) {
  image_.config.user = "alice";
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 1000);
  EXPECT_EQ(user["gid"], 1000);
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(1000, 44, 29));
}

TEST_F(SpecBuilderTest, User_RunAsUserNumeric_GidFromPasswdAndOverridesImageUser) {
  image_.config.user = "nginx";
  sc()->mutable_run_as_user()->set_value(1000);
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 1000);
  EXPECT_EQ(user["gid"], 1000);
}

TEST_F(SpecBuilderTest, User_NumericUidNotInPasswd_GidZero) {
  sc()->mutable_run_as_user()->set_value(4242);
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 4242);
  EXPECT_EQ(user["gid"], 0);
}

TEST_F(SpecBuilderTest, User_RunAsUsernameWithRunAsGroup_GroupOverridden) {
  sc()->set_run_as_username("nginx");
  sc()->mutable_run_as_group()->set_value(3000);
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 101);
  EXPECT_EQ(user["gid"], 3000);
}

TEST(ResolveUserTest, UserColonGroupForms_ExplicitGroupAndNoSupplementaryGroups) {
  UserRequest req;
  req.image_user = "alice:video";
  auto named = ResolveUser(req, kPasswd, kGroup);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->uid, 1000u);
  EXPECT_EQ(named->gid, 44u);
  EXPECT_THAT(named->additional_gids, ElementsAre(44u));

  req.image_user = "1000:50";
  auto numeric = ResolveUser(req, kPasswd, kGroup);
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_EQ(numeric->uid, 1000u);
  EXPECT_EQ(numeric->gid, 50u);

  req.image_user = "4242:staff";
  auto uid_group = ResolveUser(req, kPasswd, kGroup);
  ASSERT_TRUE(uid_group.ok()) << uid_group.status();
  EXPECT_EQ(uid_group->uid, 4242u);
  EXPECT_EQ(uid_group->gid, 50u);
}

TEST(ResolveUserTest, AbsentNamedUser_InvalidArgumentNamingUser) {
  UserRequest req;
  req.image_user = "postgres";
  auto r = ResolveUser(req, kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(r.status()), HasSubstr("postgres"));
}

TEST(ResolveUserTest, AbsentNamedGroup_InvalidArgumentNamingGroup) {
  UserRequest req;
  req.image_user = "alice:wheel";
  auto r = ResolveUser(req, kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(r.status()), HasSubstr("wheel"));
}

TEST(ResolveUserTest, RunAsGroupWithoutUser_InvalidArgument) {
  UserRequest req;
  req.run_as_group = 10;
  EXPECT_EQ(ResolveUser(req, kPasswd, kGroup).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecBuilderTest, User_RunAsNonRootResolvingToRoot_InvalidArgument) {
  in_.run_as_non_root = true;
  image_.config.user = "root";
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  image_.config.user = "alice";
  EXPECT_TRUE(BuildError().ok());
}

TEST_F(SpecBuilderTest, SupplementalGroups_Merge_ImageGroupsThenCriGroups) {
  image_.config.user = "alice";
  sc()->add_supplemental_groups(5000);
  sc()->add_supplemental_groups(44);
  json user = Build()["process"]["user"];
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(1000, 44, 29, 5000));
}

TEST_F(SpecBuilderTest, SupplementalGroups_Strict_OnlyCriGroups) {
  image_.config.user = "alice";
  sc()->add_supplemental_groups(5000);
  sc()->set_supplemental_groups_policy(v1::Strict);
  json user = Build()["process"]["user"];
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(1000, 5000));
}

TEST(ParsePasswdTest, MalformedLines_Skipped) {
  std::vector<PasswdEntry> users = ParsePasswd(
      "a:x:1:2::/h:/bin/sh\nb:x:notnum:2::/:/\n\n#c\n"
      "c:x:3:4\n");
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].name, "a");
  EXPECT_EQ(users[0].home, "/h");
  std::vector<GroupEntry> groups = ParseGroup("g:x:7:u1,u2\nbad:x:\n");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_THAT(groups[0].members, ElementsAre("u1", "u2"));
}

// --- capabilities ------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Caps_Defaults_BoundingEffectivePermittedNoInheritableNoAmbient) {
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

TEST_F(SpecBuilderTest, Caps_AddAndDropWithOrWithoutPrefix_Applied) {
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

TEST_F(SpecBuilderTest, Caps_AddAllDropOne_EverythingButThat) {
  sc()->mutable_capabilities()->add_add_capabilities("ALL");
  sc()->mutable_capabilities()->add_drop_capabilities("SYS_ADMIN");
  std::vector<std::string> b = Strings(Build()["process"]["capabilities"]["bounding"]);
  EXPECT_EQ(b.size(), 40u);
  EXPECT_THAT(b, Not(Contains("CAP_SYS_ADMIN")));
  EXPECT_THAT(b, Contains("CAP_CHECKPOINT_RESTORE"));
}

TEST_F(SpecBuilderTest, Caps_DropAllAddOne_OnlyThat) {
  sc()->mutable_capabilities()->add_drop_capabilities("ALL");
  sc()->mutable_capabilities()->add_add_capabilities("NET_BIND_SERVICE");
  EXPECT_THAT(Strings(Build()["process"]["capabilities"]["bounding"]),
              ElementsAre("CAP_NET_BIND_SERVICE"));
}

TEST_F(SpecBuilderTest, Caps_UnknownAdd_InvalidArgument) {
  sc()->mutable_capabilities()->add_add_capabilities("FLY");
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("CAP_FLY"));
}

TEST_F(SpecBuilderTest, Caps_Privileged_EveryKernelCapability) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  host_.cap_last_cap = 37;  // an older kernel: up to CAP_AUDIT_READ
  std::vector<std::string> b = Strings(Build()["process"]["capabilities"]["bounding"]);
  EXPECT_EQ(b.size(), 38u);
  EXPECT_THAT(b, Contains("CAP_SYS_ADMIN"));
  EXPECT_THAT(b, Not(Contains("CAP_PERFMON")));
}

TEST_F(SpecBuilderTest, Caps_DaemonLacksOne_PrivilegedAndAllLeaveItOutAddRefused) {
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

TEST_F(SpecBuilderTest, Caps_AddInheritableConfigured_InheritableEqualsBounding) {
  runtime_.add_inheritable_capabilities = true;
  json caps = Build()["process"]["capabilities"];
  EXPECT_EQ(caps["inheritable"], caps["bounding"]);
}

TEST_F(SpecBuilderTest, Privileged_SandboxNotPrivileged_InvalidArgument) {
  sc()->set_privileged(true);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

// --- rlimits, oom, no_new_privs ----------------------------------------------------------------

TEST_F(SpecBuilderTest, Rlimits_FromDefaultUlimits) {
  runtime_.default_ulimits = {"nofile=1024:2048", "nproc=-1", "core=0:0"};
  json r = Build()["process"]["rlimits"];
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], json({{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 2048}}));
  EXPECT_EQ(r[1]["type"], "RLIMIT_NPROC");
  EXPECT_EQ(r[1]["soft"].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(r[2]["type"], "RLIMIT_CORE");
}

TEST_F(SpecBuilderTest, Rlimits_BadUlimit_InvalidArgument) {
  runtime_.default_ulimits = {"nofile=2048:1024"};
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  runtime_.default_ulimits = {"bogus=1"};
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecBuilderTest, Process_OomScoreAdjAndNoNewPrivs_FromCri) {
  resources()->set_oom_score_adj(999);
  sc()->set_no_new_privs(true);
  json p = Build()["process"];
  EXPECT_EQ(p["oomScoreAdj"], 999);
  EXPECT_EQ(p["noNewPrivileges"], true);
}

TEST_F(SpecBuilderTest, OomScoreAdj_BelowWhatTheHostAllows_Raised) {
  resources()->set_oom_score_adj(-997);
  EXPECT_EQ(Build()["process"]["oomScoreAdj"], -997);
  host_.min_oom_score_adj = 0;
  EXPECT_EQ(Build()["process"]["oomScoreAdj"], 0);
  resources()->set_oom_score_adj(1000);
  EXPECT_EQ(Build()["process"]["oomScoreAdj"], 1000);
}

TEST_F(SpecBuilderTest, AppArmor_EnabledHost_DefaultUnconfinedAndLocalhost) {
  EXPECT_FALSE(Build()["process"].contains("apparmorProfile"));
  host_.apparmor_enabled = true;
  EXPECT_EQ(Build()["process"]["apparmorProfile"], "crio-default");
  sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Localhost);
  sc()->mutable_apparmor()->set_localhost_ref("localhost/my-profile");
  EXPECT_EQ(Build()["process"]["apparmorProfile"], "my-profile");
  sc()->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Unconfined);
  EXPECT_EQ(Build()["process"]["apparmorProfile"], "unconfined");
}

// --- mounts ------------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Mounts_CriOOrderAndOptions) {
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

TEST_F(SpecBuilderTest, Mounts_CriMountOverridesDefaults_DefaultDropped) {
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

TEST_F(SpecBuilderTest, Mounts_Propagation_RootfsPropagationFollows) {
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
class PropagationTest : public SpecBuilderTest {
 protected:
  PropagationTest() {
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

TEST_F(PropagationTest, HostToContainer_SharedOrSlaveSource_Accepted) {
  EXPECT_TRUE(Mount(shared_dir_ + "/sub", v1::PROPAGATION_HOST_TO_CONTAINER).ok());
  EXPECT_TRUE(Mount(slave_dir_, v1::PROPAGATION_HOST_TO_CONTAINER).ok());
  EXPECT_TRUE(Mount(private_dir_, v1::PROPAGATION_PRIVATE).ok());
}

TEST_F(PropagationTest, HostToContainer_PrivateSource_InvalidArgument) {
  Status s = Mount(private_dir_, v1::PROPAGATION_HOST_TO_CONTAINER);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("is mounted on \"/\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a shared or slave mount"));
}

TEST_F(PropagationTest, Bidirectional_OnlySharedSource) {
  EXPECT_TRUE(Mount(shared_dir_, v1::PROPAGATION_BIDIRECTIONAL).ok());
  Status s = Mount(slave_dir_, v1::PROPAGATION_BIDIRECTIONAL);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a shared mount"));
  EXPECT_EQ(Mount(private_dir_, v1::PROPAGATION_BIDIRECTIONAL).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PropagationTest, MissingSourceOrUnreadableTable) {
  // A missing source is the runtime's to report; an unreadable table is an error.
  EXPECT_TRUE(Mount(dir_.path() + "/absent", v1::PROPAGATION_BIDIRECTIONAL).ok());
  host_.mountinfo_path = dir_.path() + "/no-such-mountinfo";
  EXPECT_FALSE(Mount(shared_dir_, v1::PROPAGATION_BIDIRECTIONAL).ok());
}

TEST_F(SpecBuilderTest, Mounts_RecursiveReadOnly_RroOptionOrErrors) {
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

TEST_F(SpecBuilderTest, Mounts_EmptyPaths_InvalidArgument) {
  auto* m = config_.add_mounts();
  m->set_host_path("/srv");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  m->set_container_path("/data");
  m->clear_host_path();
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecBuilderTest, Mounts_AbsentSourceListedForRejection_InvalidArgument) {
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

TEST_F(SpecBuilderTest, Mounts_ReadonlyRootfs_RootAndPodFilesReadOnly) {
  sc()->set_readonly_rootfs(true);
  json spec = Build();
  EXPECT_EQ(spec["root"], json({{"path", "/var/lib/crio/ctr1/rootfs"}, {"readonly", true}}));
  EXPECT_THAT(Strings((*FindMount(spec, "/etc/hostname"))["options"]), ElementsAre("ro", "bind"));
  EXPECT_THAT(Strings((*FindMount(spec, "/etc/resolv.conf"))["options"]), Contains("ro"));
}

TEST_F(SpecBuilderTest, Mounts_Privileged_SysfsAndCgroupWritable) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  json spec = Build();
  EXPECT_THAT(Strings((*FindMount(spec, "/sys"))["options"]), Contains("rw"));
  EXPECT_THAT(Strings((*FindMount(spec, "/sys"))["options"]), Not(Contains("ro")));
  EXPECT_THAT(Strings((*FindMount(spec, "/sys/fs/cgroup"))["options"]), Contains("rw"));
}

TEST_F(SpecBuilderTest, Mounts_HostIpcWithoutPodShm_BindsHostDevShm) {
  in_.pod.host_ipc = true;
  in_.pod.ipcns_path.clear();
  in_.pod.shm_path.clear();
  json spec = Build();
  EXPECT_EQ((*FindMount(spec, "/dev/shm"))["source"], "/dev/shm");
  EXPECT_EQ(FindNamespace(spec, "ipc"), nullptr);
}

// --- namespaces --------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Namespaces_PodNamespaces_JoinedByPath) {
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

TEST_F(SpecBuilderTest, Namespaces_HostNetwork_NoNetworkNorUtsNorHostname) {
  in_.pod.host_network = true;
  in_.pod.netns_path.clear();
  in_.pod.utsns_path.clear();
  sc()->mutable_namespace_options()->set_network(v1::NODE);
  json spec = Build();
  EXPECT_EQ(FindNamespace(spec, "network"), nullptr);
  EXPECT_EQ(FindNamespace(spec, "uts"), nullptr);
  EXPECT_FALSE(spec.contains("hostname"));
}

TEST_F(SpecBuilderTest, Namespaces_PodPidNamespace_JoinsInfraPidNs) {
  sc()->mutable_namespace_options()->set_pid(v1::POD);
  in_.pod.pidns_path = "/proc/4242/ns/pid";
  EXPECT_EQ((*FindNamespace(Build(), "pid"))["path"], "/proc/4242/ns/pid");
}

TEST_F(SpecBuilderTest, Namespaces_HostPid_NoPidNamespace) {
  sc()->mutable_namespace_options()->set_pid(v1::NODE);
  EXPECT_EQ(FindNamespace(Build(), "pid"), nullptr);
}

TEST_F(SpecBuilderTest, Namespaces_TargetPid_NeedsTargetPath) {
  sc()->mutable_namespace_options()->set_pid(v1::TARGET);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  in_.target_pidns_path = "/proc/77/ns/pid";
  EXPECT_EQ((*FindNamespace(Build(), "pid"))["path"], "/proc/77/ns/pid");
}

TEST_F(SpecBuilderTest, Namespaces_CgroupV2_NewCgroupNamespaceUnlessPrivileged) {
  in_.cgroup_v2 = true;
  EXPECT_NE(FindNamespace(Build(), "cgroup"), nullptr);
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  EXPECT_EQ(FindNamespace(Build(), "cgroup"), nullptr);
}

TEST_F(SpecBuilderTest, Userns_PodModeRequested_FailedPrecondition) {
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

// --- masked / readonly paths -------------------------------------------------------------------

TEST_F(SpecBuilderTest, MaskedPaths_Default_CrioListMergedWithCri) {
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

TEST_F(SpecBuilderTest, MaskedPaths_Privileged_None) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  json linux = Build()["linux"];
  EXPECT_FALSE(linux.contains("maskedPaths"));
  EXPECT_FALSE(linux.contains("readonlyPaths"));
}

// --- sysctls -----------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Sysctls_NamespacedAllowedAndPodOverridesDefaults) {
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

TEST_F(SpecBuilderTest, PodSysctls_OnlyNamespacedDefaultsKeptPodOverrides) {
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

TEST_F(SpecBuilderTest, Sysctls_NotNamespaced_InvalidArgument) {
  (*sandbox_.mutable_linux()->mutable_sysctls())["kernel.panic"] = "1";
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("kernel.panic"));
}

TEST_F(SpecBuilderTest, Sysctls_NetWithHostNetwork_InvalidArgument) {
  (*sandbox_.mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "1024";
  EXPECT_TRUE(BuildError().ok());
  in_.pod.host_network = true;
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

// --- resources ---------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Resources_CgroupV1_CpuMemoryHugepagesPids) {
  resources()->set_cpu_shares(512);
  resources()->set_cpu_quota(50000);
  resources()->set_cpu_period(100000);
  resources()->set_cpuset_cpus("0-1");
  resources()->set_cpuset_mems("0");
  resources()->set_memory_limit_in_bytes(256 << 20);
  auto* h = resources()->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4 << 20);
  runtime_.pids_limit = 1024;
  json linux = Build()["linux"];
  json r = linux["resources"];
  EXPECT_EQ(
      r["cpu"],
      json(
          {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0-1"}, {"mems", "0"}}));
  EXPECT_EQ(r["memory"], json({{"limit", 256 << 20}, {"swap", 256 << 20}}));
  EXPECT_EQ(r["hugepageLimits"], json::array({{{"pageSize", "2MB"}, {"limit", 4 << 20}}}));
  EXPECT_EQ(r["pids"], json({{"limit", 1024}}));
  EXPECT_EQ(linux["cgroupsPath"], "/crio-cpp-test/crio-ctr1");
}

TEST_F(SpecBuilderTest, Resources_SwapLimit_UsedAndValidated) {
  resources()->set_memory_limit_in_bytes(256 << 20);
  resources()->set_memory_swap_limit_in_bytes(512 << 20);
  EXPECT_EQ(Build()["linux"]["resources"]["memory"]["swap"], 512 << 20);
  resources()->set_memory_swap_limit_in_bytes(128 << 20);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  resources()->set_memory_swap_limit_in_bytes(0);
  host_.memory_swap = false;
  EXPECT_FALSE(Build()["linux"]["resources"]["memory"].contains("swap"));
}

TEST_F(SpecBuilderTest, Resources_MemoryBelowMinimum_InvalidArgument) {
  resources()->set_memory_limit_in_bytes(4 << 20);
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecBuilderTest, Resources_Unified_RefusedOnV1AcceptedOnV2) {
  (*resources()->mutable_unified())["memory.high"] = "100000000";
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("cgroup v2"));
  in_.cgroup_v2 = true;
  EXPECT_EQ(Build()["linux"]["resources"]["unified"], json({{"memory.high", "100000000"}}));
}

TEST_F(SpecBuilderTest, Resources_NoneRequested_NoCpuOrMemoryNoPids) {
  json r = Build()["linux"]["resources"];
  EXPECT_FALSE(r.contains("cpu"));
  EXPECT_FALSE(r.contains("memory"));
  EXPECT_FALSE(r.contains("pids"));
  EXPECT_FALSE(Build()["process"].contains("oomScoreAdj"));
}

// --- devices -----------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Devices_Default_DenyAllThenStandardAllows) {
  json linux = Build()["linux"];
  const json& rules = linux["resources"]["devices"];
  ASSERT_GE(rules.size(), 2u);
  EXPECT_EQ(rules[0], json({{"allow", false}, {"access", "rwm"}}));
  EXPECT_THAT(
      rules, Contains(json(
                 {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}})));
  EXPECT_THAT(rules,
              Contains(json({{"allow", true}, {"type", "c"}, {"major", 136}, {"access", "rwm"}})));
  EXPECT_TRUE(linux["devices"].empty());
}

TEST_F(SpecBuilderTest, Devices_CriDevice_NodeAndCgroupRule) {
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  auto* d = config_.add_devices();
  d->set_host_path("/dev/null");
  d->set_container_path("/dev/mynull");
  d->set_permissions("rw");
  json linux = Build()["linux"];
  ASSERT_EQ(linux["devices"].size(), 1u);
  const json& dev = linux["devices"][0];
  EXPECT_EQ(dev["path"], "/dev/mynull");
  EXPECT_EQ(dev["type"], "c");
  EXPECT_EQ(dev["major"], major(st.st_rdev));
  EXPECT_EQ(dev["minor"], minor(st.st_rdev));
  EXPECT_EQ(linux["resources"]["devices"].back(), json({{"allow", true},
                                                        {"type", "c"},
                                                        {"major", major(st.st_rdev)},
                                                        {"minor", minor(st.st_rdev)},
                                                        {"access", "rw"}}));
}

TEST_F(SpecBuilderTest, Devices_MissingOrNotADevice_InvalidArgument) {
  auto* d = config_.add_devices();
  d->set_host_path("/dev/does-not-exist-crio");
  d->set_container_path("/dev/x");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  TempDir dir;
  WriteFile(dir.path() + "/plain", "x");
  d->set_host_path(dir.path() + "/plain");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  d->set_host_path("/dev/null");
  d->set_permissions("rwx");
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecBuilderTest, Devices_Privileged_AllowAllAndHostDevicesListed) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  if (mknod((dev_dir_.path() + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs CAP_MKNOD: " << strerror(errno);
  }
  ASSERT_EQ(chmod((dev_dir_.path() + "/null").c_str(), 0666), 0);  // mknod obeys the umask
  std::filesystem::create_directory(dev_dir_.path() + "/pts");
  mknod((dev_dir_.path() + "/pts/0").c_str(), S_IFCHR | 0620, makedev(136, 0));
  symlink("null", (dev_dir_.path() + "/link").c_str());
  json linux = Build()["linux"];
  EXPECT_EQ(linux["resources"]["devices"], json::array({{{"allow", true}, {"access", "rwm"}}}));
  ASSERT_EQ(linux["devices"].size(), 1u);
  EXPECT_EQ(linux["devices"][0]["path"], "/dev/null");
  EXPECT_EQ(linux["devices"][0]["fileMode"], 0666);
}

// --- seccomp -----------------------------------------------------------------------------------

TEST_F(SpecBuilderTest, Seccomp_RuntimeDefault_AllowlistDenyingMountWithoutSysAdmin) {
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

TEST_F(SpecBuilderTest, Seccomp_RuntimeDefaultWithSysAdmin_MountAndCloneAllowed) {
  sc()->mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
  json seccomp = Build()["linux"]["seccomp"];
  EXPECT_EQ(SyscallAction(seccomp, "mount"), "SCMP_ACT_ALLOW");
  EXPECT_EQ(SyscallAction(seccomp, "clone3"), "SCMP_ACT_ALLOW");
}

TEST_F(SpecBuilderTest, Seccomp_Unset_BuiltInDefault) {
  EXPECT_EQ(Build()["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

TEST_F(SpecBuilderTest, Seccomp_UnsetWithoutDefaultWhenEmpty_Unconfined) {
  runtime_.seccomp_use_default_when_empty = false;
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}

TEST_F(SpecBuilderTest, Seccomp_ExplicitRuntimeDefaultWithoutDefaultWhenEmpty_Default) {
  runtime_.seccomp_use_default_when_empty = false;
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  EXPECT_EQ(Build()["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

TEST_F(SpecBuilderTest, Seccomp_Unconfined_NoSeccompSection) {
  sc()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}

TEST_F(SpecBuilderTest, Seccomp_Privileged_NoSeccompSection) {
  MakeSandboxPrivileged();
  sc()->set_privileged(true);
  EXPECT_FALSE(Build()["linux"].contains("seccomp"));
}

TEST_F(SpecBuilderTest, Seccomp_Localhost_FileConvertedFromDockerFormat) {
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

TEST_F(SpecBuilderTest, Seccomp_LocalhostMissingOrRelativeOrInvalid_InvalidArgument) {
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

TEST_F(SpecBuilderTest, Seccomp_ConfiguredDefaultProfileFile_UsedForRuntimeDefault) {
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

// --- image volumes -----------------------------------------------------------------------------

TEST_F(SpecBuilderTest, ImageVolumes_Bind_FreshDirectoryPerVolumeUnlessCriMountThere) {
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

TEST_F(SpecBuilderTest, ImageVolumes_MkdirIgnoreOrNoDirectory_NoMounts) {
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

TEST(ProbeHostTest, RunningSystem_PlausibleFacts) {
  HostInfo host = ProbeHost(false);
  EXPECT_GE(host.cap_last_cap, 30);
  EXPECT_FALSE(host.machine.empty());
  EXPECT_FALSE(host.kernel_release.empty());
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

TEST_F(SpecBuilderTest, Resources_NoHugetlbController_HugepageLimitsLeftOut) {
  host_.hugetlb = false;
  auto* h = resources()->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4 << 20);
  EXPECT_FALSE(Build()["linux"]["resources"].contains("hugepageLimits"));
}

}  // namespace
}  // namespace crio::container
