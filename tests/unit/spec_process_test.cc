// Unit tests of a spec's process object (src/container/spec_process): args, env, cwd, user and
// groups (with image_user's passwd/group resolution), rlimits and oomScoreAdj.

// spec_test_util.h pulls in api.pb.h, which must come before any system header.
#include "spec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "container/image_user.h"
#include "container/spec_process.h"

namespace crio::container {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;
using spec_test::kGroup;
using spec_test::kPasswd;
using spec_test::Strings;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SpecProcessTest : public spec_test::SpecFixture {};

// --- process.args ------------------------------------------------------------------------------

TEST_F(SpecProcessTest, Args_NoCommandNoArgs_ImageEntrypointPlusCmd) {
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]),
              ElementsAre("/docker-entrypoint.sh", "nginx", "-g", "daemon off;"));
}

TEST_F(SpecProcessTest, Args_ArgsOnly_ImageEntrypointPlusArgs) {
  config_.add_args("sleep");
  config_.add_args("10");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]),
              ElementsAre("/docker-entrypoint.sh", "sleep", "10"));
}

TEST_F(SpecProcessTest, Args_CommandOnly_ImageCmdDropped) {
  config_.add_command("/bin/sh");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]), ElementsAre("/bin/sh"));
}

TEST_F(SpecProcessTest, Args_CommandAndArgs_CommandPlusArgs) {
  config_.add_command("/bin/sh");
  config_.add_args("-c");
  config_.add_args("true");
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["args"]), ElementsAre("/bin/sh", "-c", "true"));
}

TEST_F(SpecProcessTest, Args_NothingAnywhere_InvalidArgument) {
  image_.config.entrypoint.clear();
  image_.config.cmd.clear();
  Status s = BuildError();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("container has no command"));
}

// --- process.env / cwd / terminal --------------------------------------------------------------

TEST_F(SpecProcessTest, Env_LaterSourcesWinByKey_DefaultEnvLowestCriHighest) {
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

TEST_F(SpecProcessTest, Env_NoImageEnv_DefaultPathAndTermWithTty) {
  config_.set_tty(true);
  json spec = Build();
  EXPECT_THAT(Strings(spec["process"]["env"]),
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "TERM=xterm", "HOSTNAME=web-0"));
  EXPECT_EQ(spec["process"]["terminal"], true);
}

TEST_F(SpecProcessTest, Cwd_CriOverImageOverRoot) {
  EXPECT_EQ(Build()["process"]["cwd"], "/");
  image_.config.working_dir = "/srv";
  EXPECT_EQ(Build()["process"]["cwd"], "/srv");
  config_.set_working_dir("/work");
  EXPECT_EQ(Build()["process"]["cwd"], "/work");
}

// --- process.user ------------------------------------------------------------------------------

TEST_F(SpecProcessTest, User_NoneAnywhere_Root) {
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 0);
  EXPECT_EQ(user["gid"], 0);
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(0));
}

TEST_F(SpecProcessTest, User_ImageUserName_ResolvedFromPasswdWithGroups) {
  image_.config.user = "alice";
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 1000);
  EXPECT_EQ(user["gid"], 1000);
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(1000, 44, 29));
}

TEST_F(SpecProcessTest, User_RunAsUserNumeric_GidFromPasswdAndOverridesImageUser) {
  image_.config.user = "nginx";
  sc()->mutable_run_as_user()->set_value(1000);
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 1000);
  EXPECT_EQ(user["gid"], 1000);
}

TEST_F(SpecProcessTest, User_NumericUidNotInPasswd_GidZero) {
  sc()->mutable_run_as_user()->set_value(4242);
  json user = Build()["process"]["user"];
  EXPECT_EQ(user["uid"], 4242);
  EXPECT_EQ(user["gid"], 0);
}

TEST_F(SpecProcessTest, User_RunAsUsernameWithRunAsGroup_GroupOverridden) {
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

TEST_F(SpecProcessTest, User_RunAsNonRootResolvingToRoot_InvalidArgument) {
  in_.run_as_non_root = true;
  image_.config.user = "root";
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  image_.config.user = "alice";
  EXPECT_TRUE(BuildError().ok());
}

TEST_F(SpecProcessTest, SupplementalGroups_Merge_ImageGroupsThenCriGroups) {
  image_.config.user = "alice";
  sc()->add_supplemental_groups(5000);
  sc()->add_supplemental_groups(44);
  json user = Build()["process"]["user"];
  EXPECT_THAT(user["additionalGids"].get<std::vector<uint32_t>>(), ElementsAre(1000, 44, 29, 5000));
}

TEST_F(SpecProcessTest, SupplementalGroups_Strict_OnlyCriGroups) {
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

// --- rlimits, oom, no_new_privs ----------------------------------------------------------------

TEST_F(SpecProcessTest, Rlimits_FromDefaultUlimits) {
  runtime_.default_ulimits = {"nofile=1024:2048", "nproc=-1", "core=0:0"};
  json r = Build()["process"]["rlimits"];
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], json({{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 2048}}));
  EXPECT_EQ(r[1]["type"], "RLIMIT_NPROC");
  EXPECT_EQ(r[1]["soft"].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(r[2]["type"], "RLIMIT_CORE");
}

TEST_F(SpecProcessTest, Rlimits_BadUlimit_InvalidArgument) {
  runtime_.default_ulimits = {"nofile=2048:1024"};
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
  runtime_.default_ulimits = {"bogus=1"};
  EXPECT_EQ(BuildError().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecProcessTest, Process_OomScoreAdjAndNoNewPrivs_FromCri) {
  resources()->set_oom_score_adj(999);
  sc()->set_no_new_privs(true);
  json p = Build()["process"];
  EXPECT_EQ(p["oomScoreAdj"], 999);
  EXPECT_EQ(p["noNewPrivileges"], true);
}

TEST_F(SpecProcessTest, OomScoreAdj_BelowWhatTheHostAllows_Raised) {
  resources()->set_oom_score_adj(-997);
  EXPECT_EQ(Build()["process"]["oomScoreAdj"], -997);
  host_.min_oom_score_adj = 0;
  EXPECT_EQ(Build()["process"]["oomScoreAdj"], 0);
  resources()->set_oom_score_adj(1000);
  EXPECT_EQ(Build()["process"]["oomScoreAdj"], 1000);
}

// --- direct calls ------------------------------------------------------------------------------

TEST_F(SpecProcessTest, ProcessArgs_NoImage_RequestOnlyOrError) {
  EXPECT_EQ(spec_internal::ProcessArgs(config_, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  config_.add_args("sleep");
  auto args = spec_internal::ProcessArgs(config_, nullptr);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(*args, ElementsAre("sleep"));
}

TEST_F(SpecProcessTest, Rlimits_SingleValueAndRepeatedNameReplacedInPlace) {
  auto r = spec_internal::Rlimits({"nofile=10", "core=1:2", "NOFILE=20:30"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, json::array({{{"type", "RLIMIT_NOFILE"}, {"soft", 20}, {"hard", 30}},
                             {{"type", "RLIMIT_CORE"}, {"soft", 1}, {"hard", 2}}}));
  EXPECT_EQ(spec_internal::Rlimits({"nofile=1:2:3"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SpecProcessTest, ContainerProcess_Direct_ProcessFieldsWithoutSecurity) {
  resources()->set_oom_score_adj(5);
  auto ctx = spec_internal::ContainerContextFor(in_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto p = spec_internal::ContainerProcess(*ctx);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(Strings((*p)["args"]),
              ElementsAre("/docker-entrypoint.sh", "nginx", "-g", "daemon off;"));
  EXPECT_EQ((*p)["terminal"], false);
  EXPECT_EQ((*p)["cwd"], "/");
  EXPECT_EQ((*p)["oomScoreAdj"], 5);
  EXPECT_EQ((*p)["rlimits"], json::array());
  EXPECT_FALSE(p->contains("capabilities"));
  EXPECT_FALSE(p->contains("noNewPrivileges"));
}

TEST_F(SpecProcessTest, SandboxProcess_Direct_PodIdsUniqueGroupsAndRangeChecked) {
  SandboxSpecInputs sin;
  sin.sandbox = &sandbox_;
  sin.runtime = &runtime_;
  sin.host = &host_;
  auto* pod_sc = sandbox_.mutable_linux()->mutable_security_context();
  pod_sc->mutable_run_as_user()->set_value(1000);
  pod_sc->mutable_run_as_group()->set_value(3000);
  pod_sc->add_supplemental_groups(3000);
  pod_sc->add_supplemental_groups(44);
  auto ctx = spec_internal::SandboxContextFor(sin);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto p = spec_internal::SandboxProcess(*ctx);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)["user"], json({{"uid", 1000}, {"gid", 3000}, {"additionalGids", {3000, 44}}}));
  EXPECT_THAT(Strings((*p)["args"]), ElementsAre("/pause"));
  EXPECT_THAT(Strings((*p)["env"]),
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  EXPECT_EQ((*p)["oomScoreAdj"], -998);
  pod_sc->add_supplemental_groups(-1);
  EXPECT_EQ(spec_internal::SandboxProcess(*ctx).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crio::container
