#include <gtest/gtest.h>

#include "image/www_authenticate.h"

namespace crio::image {
namespace {

TEST(ParseWwwAuthenticate, DockerHubBearer_ParsesAllParams) {
  auto c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ(c[0].params.at("scope"), "repository:library/busybox:pull");
}

TEST(ParseWwwAuthenticate, Basic_LowercasesSchemeAndKeys) {
  auto c = ParseWwwAuthenticate(R"(BASIC Realm="Registry Realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params.at("realm"), "Registry Realm");
}

TEST(ParseWwwAuthenticate, MultipleChallenges_AreSeparated) {
  auto c = ParseWwwAuthenticate(
      R"(Basic realm="r1", Bearer realm="https://t/token", service="svc", error="invalid_token")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params.size(), 1u);
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params.at("service"), "svc");
  EXPECT_EQ(c[1].params.at("error"), "invalid_token");
}

TEST(ParseWwwAuthenticate, QuotedEscapesAndSpaces_AreHandled) {
  auto c = ParseWwwAuthenticate(R"(Bearer  realm = "a \"quoted\" realm" , service=unquoted)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].params.at("realm"), R"(a "quoted" realm)");
  EXPECT_EQ(c[0].params.at("service"), "unquoted");
}

TEST(ParseWwwAuthenticate, UnquotedValueWithColons_IsKeptWhole) {
  auto c = ParseWwwAuthenticate("Bearer realm=https://x/token,scope=repository:a/b:pull");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].params.at("realm"), "https://x/token");
  EXPECT_EQ(c[0].params.at("scope"), "repository:a/b:pull");
}

TEST(ParseWwwAuthenticate, EmptyOrSchemeOnly_Works) {
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
  auto c = ParseWwwAuthenticate("Bearer");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].params.empty());
}

}  // namespace
}  // namespace crio::image
