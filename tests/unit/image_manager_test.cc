// Pure helpers of the image manager: the image config's User and pinned_images patterns.
#include "image/image_manager.h"

#include <gtest/gtest.h>

namespace crio::image {
namespace {

struct User {
  std::optional<int64_t> uid;
  std::string username;
};

User Parse(const std::string& user) {
  User out;
  out.username = "stale";  // the function must reset both outputs
  out.uid = 42;
  ParseImageUser(user, out.uid, out.username);
  return out;
}

TEST(ParseImageUser, NumericUser_SetsUidOnly) {
  User u = Parse("1000");
  ASSERT_TRUE(u.uid.has_value());
  EXPECT_EQ(*u.uid, 1000);
  EXPECT_EQ(u.username, "");
}

TEST(ParseImageUser, Name_SetsUsernameOnly) {
  User u = Parse("tester");
  EXPECT_FALSE(u.uid.has_value());
  EXPECT_EQ(u.username, "tester");
}

TEST(ParseImageUser, UidAndGid_TakesTheUid) {
  User u = Parse("1234:1234");
  ASSERT_TRUE(u.uid.has_value());
  EXPECT_EQ(*u.uid, 1234);
  EXPECT_EQ(u.username, "");
}

TEST(ParseImageUser, NumericUidWithGroupName_TakesTheUid) {
  User u = Parse("0:wheel");
  ASSERT_TRUE(u.uid.has_value());
  EXPECT_EQ(*u.uid, 0);
  EXPECT_EQ(u.username, "");
}

TEST(ParseImageUser, NameAndGroup_TakesTheName) {
  User u = Parse("name:group");
  EXPECT_FALSE(u.uid.has_value());
  EXPECT_EQ(u.username, "name");
}

TEST(ParseImageUser, Empty_SetsNeither) {
  User u = Parse("");
  EXPECT_FALSE(u.uid.has_value());
  EXPECT_EQ(u.username, "");
}

TEST(ParseImageUser, OnlyAGroup_SetsNeither) {
  User u = Parse(":1234");
  EXPECT_FALSE(u.uid.has_value());
  EXPECT_EQ(u.username, "");
}

TEST(ParseImageUser, NameStartingWithDigits_IsAName) {
  User u = Parse("1abc");
  EXPECT_FALSE(u.uid.has_value());
  EXPECT_EQ(u.username, "1abc");
}

// The config comes from an untrusted image: a uid that does not fit in int64 must not throw
// (our code never throws; in the daemon it would abort ListImages). Like CRI-O, which falls
// back to a user name when strconv.ParseInt fails, it becomes the username.
TEST(ParseImageUser, UidOverflowingInt64_IsANameAndDoesNotThrow) {
  User u;
  EXPECT_NO_THROW(u = Parse("99999999999999999999:0"));
  EXPECT_FALSE(u.uid.has_value());
  EXPECT_EQ(u.username, "99999999999999999999");
}

TEST(MatchesPinnedPattern, Exact_MatchesOnlyTheSameName) {
  EXPECT_TRUE(MatchesPinnedPattern("registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10.1"));
  EXPECT_FALSE(MatchesPinnedPattern("registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10"));
  EXPECT_FALSE(MatchesPinnedPattern("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10.1"));
}

TEST(MatchesPinnedPattern, TrailingStar_MatchesThePrefix) {
  EXPECT_TRUE(MatchesPinnedPattern("registry.k8s.io/pause*", "registry.k8s.io/pause:3.10.1"));
  EXPECT_TRUE(MatchesPinnedPattern("registry.k8s.io/pause*", "registry.k8s.io/pause"));
  EXPECT_FALSE(MatchesPinnedPattern("registry.k8s.io/pause*", "docker.io/registry.k8s.io/pause"));
}

TEST(MatchesPinnedPattern, StarsAroundAKeyword_MatchAnywhere) {
  EXPECT_TRUE(MatchesPinnedPattern("*pause*", "registry.k8s.io/pause:3.10.1"));
  EXPECT_TRUE(MatchesPinnedPattern("*pause*", "pause"));
  EXPECT_FALSE(MatchesPinnedPattern("*pause*", "docker.io/library/busybox:latest"));
}

TEST(MatchesPinnedPattern, NonMatchAndEmptyPattern_AreFalse) {
  EXPECT_FALSE(MatchesPinnedPattern("quay.io/foo:1", "quay.io/bar:1"));
  EXPECT_FALSE(MatchesPinnedPattern("", "quay.io/bar:1"));
  EXPECT_FALSE(MatchesPinnedPattern("", ""));
}

}  // namespace
}  // namespace crio::image
