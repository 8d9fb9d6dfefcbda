#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/auth.h"
#include "support/temp_dir.h"

namespace crio::image {
namespace {

Reference Ref(const std::string& s) {
  StatusOr<Reference> r = ParseReference(s);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

Credentials Lookup(const std::string& json, const std::string& image) {
  StatusOr<Credentials> c = LookupAuthJson(json, "auth.json", Ref(image));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Credentials{};
}

TEST(Base64, RoundTripsAllPaddingLengths) {
  for (const std::string& s :
       {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
        std::string("user:p@ss:word"), std::string("\x00\xff\x10", 3)}) {
    StatusOr<std::string> decoded = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
}

TEST(Base64, UnpaddedInput_IsAccepted) {
  StatusOr<std::string> d = Base64Decode("YWI");  // "ab" without "="
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, "ab");
}

TEST(Base64, InvalidInput_IsRejected) {
  EXPECT_EQ(Base64Decode("!!!!").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("abcde").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CredentialsFromAuthConfig, AuthField_OverridesUsernamePassword) {
  AuthConfig config;
  config.username = "ignored";
  config.password = "ignored";
  config.auth = Base64Encode("alice:s3cr:et");
  StatusOr<Credentials> c = CredentialsFromAuthConfig(config);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cr:et");
}

TEST(CredentialsFromAuthConfig, PlainFieldsAndTokens_PassThrough) {
  AuthConfig config{"bob", "pw", "", "quay.io", "refresh", "bearer"};
  StatusOr<Credentials> c = CredentialsFromAuthConfig(config);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, (Credentials{"bob", "pw", "refresh", "bearer"}));
  EXPECT_TRUE(CredentialsFromAuthConfig(AuthConfig{})->empty());
}

TEST(CredentialsFromAuthConfig, BadAuthField_IsInvalidArgument) {
  AuthConfig config;
  config.auth = "%%%";
  EXPECT_EQ(CredentialsFromAuthConfig(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.auth = Base64Encode("no-colon");
  EXPECT_EQ(CredentialsFromAuthConfig(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LookupAuthJson, MostSpecificKey_Wins) {
  std::string json = R"({"auths": {
    "quay.io": {"auth": ")" +
                     Base64Encode("host:1") + R"("},
    "quay.io/team": {"auth": ")" +
                     Base64Encode("ns:2") + R"("},
    "quay.io/team/app": {"auth": ")" +
                     Base64Encode("repo:3") + R"("}
  }})";
  EXPECT_EQ(Lookup(json, "quay.io/team/app:1").username, "repo");
  EXPECT_EQ(Lookup(json, "quay.io/team/other:1").username, "ns");
  EXPECT_EQ(Lookup(json, "quay.io/elsewhere/x:1").username, "host");
  EXPECT_EQ(Lookup(json, "quay.io/team/app:1").password, "3");
  EXPECT_TRUE(Lookup(json, "ghcr.io/team/app:1").empty());
}

TEST(LookupAuthJson, LegacyDockerHubKey_MatchesDockerIo) {
  std::string json = R"({"auths": {"https://index.docker.io/v1/": {"auth": ")" +
                     Base64Encode("hubuser:hubpass") + R"("}}})";
  Credentials c = Lookup(json, "busybox");
  EXPECT_EQ(c.username, "hubuser");
  EXPECT_EQ(c.password, "hubpass");
}

TEST(LookupAuthJson, UrlKeyForOtherRegistry_MatchesByHost) {
  std::string json = R"({"auths": {"https://registry.example.com:5000/v2/": {"auth": ")" +
                     Base64Encode("u:p") + R"("}}})";
  EXPECT_EQ(Lookup(json, "registry.example.com:5000/a/b:1").username, "u");
  EXPECT_TRUE(Lookup(json, "registry.example.com/a/b:1").empty());
}

TEST(LookupAuthJson, IdentityToken_IsReturned) {
  std::string json = R"({"auths": {"quay.io": {"auth": ")" + Base64Encode("u:") +
                     R"(", "identitytoken": "tok"}}})";
  Credentials c = Lookup(json, "quay.io/a:1");
  EXPECT_EQ(c.username, "u");
  EXPECT_EQ(c.identity_token, "tok");
}

TEST(LookupAuthJson, EntryWithoutColon_IsSkippedLikeDocker) {
  std::string json = R"({"auths": {"quay.io/team": {"auth": ")" + Base64Encode("nocolon") +
                     R"("}, "quay.io": {"auth": ")" + Base64Encode("u:p") + R"("}}})";
  EXPECT_EQ(Lookup(json, "quay.io/team/a:1").username, "u");
}

TEST(LookupAuthJson, InvalidInput_IsInvalidArgument) {
  Reference ref = Ref("quay.io/a:1");
  EXPECT_EQ(LookupAuthJson("{", "auth.json", ref).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      LookupAuthJson(R"({"auths": {"quay.io": {"auth": "%%"}}})", "auth.json", ref).status().code(),
      absl::StatusCode::kInvalidArgument);
  // No "auths" at all: anonymous.
  EXPECT_TRUE(LookupAuthJson(R"({"credHelpers": {}})", "auth.json", ref)->empty());
}

TEST(LookupAuthFile, MissingFile_IsAnonymousAndFileIsRead) {
  EXPECT_TRUE(LookupAuthFile("/nonexistent/crio/auth.json", Ref("quay.io/a:1"))->empty());
  testing::TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  std::string path = tmp.Sub("auth.json");
  std::ofstream(path) << R"({"auths": {"quay.io": {"auth": ")" << Base64Encode("f:g") << "\"}}}";
  StatusOr<Credentials> c = LookupAuthFile(path, Ref("quay.io/a:1"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->username, "f");
  EXPECT_EQ(c->password, "g");
}

}  // namespace
}  // namespace crio::image
