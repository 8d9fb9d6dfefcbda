#include <gtest/gtest.h>

#include <string>

#include "image/reference.h"

namespace crio::image {
namespace {

const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

Reference MustParse(const std::string& s) {
  StatusOr<Reference> r = ParseReference(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status();
  return r.ok() ? *r : Reference{};
}

void ExpectInvalid(const std::string& input, const std::string& fragment) {
  StatusOr<Reference> r = ParseReference(input);
  ASSERT_FALSE(r.ok()) << input << " parsed as " << r->String();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << input;
  EXPECT_NE(std::string(r.status().message()).find(fragment), std::string::npos)
      << input << ": " << r.status().message();
}

TEST(ParseReference, OfficialShortName_NormalisesToLibraryLatest) {
  Reference r = MustParse("busybox");
  EXPECT_EQ(r.domain, "docker.io");
  EXPECT_EQ(r.path, "library/busybox");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.digest, "");
  EXPECT_TRUE(r.IsShortName());
  EXPECT_EQ(r.short_name, "busybox");
  EXPECT_EQ(r.String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(r.FamiliarName(), "busybox");
  EXPECT_EQ(r.FamiliarString(), "busybox:latest");
}

TEST(ParseReference, UserRepoWithTag_StaysOnDockerHubWithoutLibrary) {
  Reference r = MustParse("repo/name:1.0");
  EXPECT_EQ(r.String(), "docker.io/repo/name:1.0");
  EXPECT_TRUE(r.IsShortName());
  EXPECT_EQ(r.short_name, "repo/name");
  EXPECT_EQ(r.FamiliarName(), "repo/name");
}

TEST(ParseReference, ExplicitDockerHub_IsNotShortAndGetsLibrary) {
  Reference r = MustParse("docker.io/busybox");
  EXPECT_EQ(r.String(), "docker.io/library/busybox:latest");
  EXPECT_FALSE(r.IsShortName());
}

TEST(ParseReference, LegacyIndexDomain_MapsToDockerIo) {
  EXPECT_EQ(MustParse("index.docker.io/foo/bar").String(), "docker.io/foo/bar:latest");
}

TEST(ParseReference, HostPortWithDigest_KeepsDigestAndAddsNoTag) {
  Reference r = MustParse("myhost:5000/team/app@" + kDigest);
  EXPECT_EQ(r.domain, "myhost:5000");
  EXPECT_EQ(r.path, "team/app");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.digest, kDigest);
  EXPECT_EQ(r.TagOrDigest(), kDigest);
  EXPECT_EQ(r.String(), "myhost:5000/team/app@" + kDigest);
  EXPECT_EQ(r.RepoTagString(), "");
}

TEST(ParseReference, TagAndDigest_KeepsBothAndPullsByDigest) {
  Reference r = MustParse("quay.io/ns/app:v2@" + kDigest);
  EXPECT_EQ(r.tag, "v2");
  EXPECT_EQ(r.digest, kDigest);
  EXPECT_EQ(r.TagOrDigest(), kDigest);
  EXPECT_EQ(r.String(), "quay.io/ns/app:v2@" + kDigest);
}

TEST(ParseReference, LocalhostDomain_IsRecognised) {
  Reference r = MustParse("localhost/app:dev");
  EXPECT_EQ(r.domain, "localhost");
  EXPECT_EQ(r.path, "app");
  EXPECT_FALSE(r.IsShortName());
}

TEST(ParseReference, Ipv6Domain_IsRecognised) {
  Reference r = MustParse("[::1]:5000/app");
  EXPECT_EQ(r.domain, "[::1]:5000");
  EXPECT_EQ(r.path, "app");
}

TEST(ParseReference, UppercaseDomainAndTag_AreAllowed) {
  Reference r = MustParse("Registry.Example.COM/app:Release-1");
  EXPECT_EQ(r.domain, "Registry.Example.COM");
  EXPECT_EQ(r.tag, "Release-1");
}

TEST(ParseReference, SeparatorsInPath_FollowDistributionGrammar) {
  EXPECT_EQ(MustParse("quay.io/a.b_c__d---e/f").path, "a.b_c__d---e/f");
  ExpectInvalid("quay.io/a..b", "invalid repository path component \"a..b\"");
  ExpectInvalid("quay.io/a___b", "a___b");
  ExpectInvalid("quay.io/-a", "\"-a\"");
  ExpectInvalid("quay.io/a-", "\"a-\"");
  ExpectInvalid("quay.io//a", "\"\"");
}

TEST(ReferenceStrings, RepoDigestAndRepoTag_UseFullName) {
  Reference r = MustParse("busybox:1.36");
  EXPECT_EQ(r.RepoTagString(), "docker.io/library/busybox:1.36");
  EXPECT_EQ(r.RepoDigestString(kDigest), "docker.io/library/busybox@" + kDigest);
  EXPECT_EQ(MustParse("docker.io/library/a/b").FamiliarName(), "library/a/b");
  EXPECT_EQ(MustParse("quay.io/x/y:1").FamiliarString(), "quay.io/x/y:1");
}

TEST(ParseReference, Empty_IsInvalid) { ExpectInvalid("", "empty"); }

TEST(ParseReference, UppercaseRepository_IsRejected) {
  ExpectInvalid("Busybox", "must be lowercase");
  ExpectInvalid("quay.io/Team/app", "must be lowercase");
  ExpectInvalid("Foo/bar", "must be lowercase");
}

TEST(ParseReference, BadTag_IsRejected) {
  ExpectInvalid("busybox:", "empty tag");
  ExpectInvalid("busybox:-x", "invalid tag");
  ExpectInvalid("busybox:a+b", "invalid tag");
  ExpectInvalid("busybox:" + std::string(129, 'a'), "longer than 128");
  EXPECT_EQ(MustParse("busybox:" + std::string(128, 'a')).tag.size(), 128u);
}

TEST(ParseReference, BadDigest_IsRejected) {
  ExpectInvalid("busybox@sha256:abc", "64 lowercase hex");
  ExpectInvalid("busybox@md5:0123456789abcdef0123456789abcdef", "unsupported algorithm");
  ExpectInvalid("busybox@" + std::string("sha256:") + std::string(64, 'A'), "lowercase hex");
  ExpectInvalid("busybox@nocolon", "algorithm:");
}

TEST(ParseReference, BadDomain_IsRejected) {
  ExpectInvalid("my_host.com/app", "invalid domain");
  ExpectInvalid("host.com:port/app", "invalid port");
  ExpectInvalid("host.com:/app", "empty port");
  ExpectInvalid("[zz]:5000/app", "IPv6");
}

TEST(ParseReference, ImageIdAlone_IsRejected) { ExpectInvalid(std::string(64, 'a'), "image ID"); }

TEST(ParseReference, TooLongName_IsRejected) {
  ExpectInvalid("quay.io/" + std::string(250, 'a'), "longer than 255");
}

TEST(ParseReference, InvalidCharacters_AreRejected) {
  ExpectInvalid("busy box", "invalid repository path component");
  ExpectInvalid("quay.io/app!", "invalid repository path component");
}

TEST(ParseRepositoryName, TagOrDigest_AreRejectedAndNoDefaultTag) {
  StatusOr<Reference> r = ParseRepositoryName("quay.io/ns/app");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(ParseRepositoryName("quay.io/ns/app:1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateDomainName, AcceptsHostsAndRejectsPaths) {
  EXPECT_TRUE(ValidateDomainName("quay.io").ok());
  EXPECT_TRUE(ValidateDomainName("localhost:5000").ok());
  EXPECT_FALSE(ValidateDomainName("quay.io/ns").ok());
  EXPECT_FALSE(ValidateDomainName("").ok());
}

}  // namespace
}  // namespace crio::image
