#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/policy.h"
#include "support/temp_dir.h"

namespace crio::image {
namespace {

Reference Ref(const std::string& s) {
  StatusOr<Reference> r = ParseReference(s);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

Policy MustParsePolicy(const std::string& text) {
  StatusOr<Policy> p = Policy::Parse(text, "/etc/containers/policy.json");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Policy{};
}

constexpr char kScoped[] = R"({
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "docker.io": [{"type": "insecureAcceptAnything"}],
      "docker.io/library/evil": [{"type": "reject"}],
      "quay.io/team": [{"type": "insecureAcceptAnything"}],
      "quay.io/team/secret:prod": [{"type": "reject"}],
      "*.example.com": [{"type": "insecureAcceptAnything"}],
      "*.bad.example.com": [{"type": "reject"}],
      "localhost:5000": [{"type": "insecureAcceptAnything"}],
      "signed.example.org": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}]
    },
    "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}
  }
})";

TEST(PolicyEvaluate, DefaultReject_RejectsUnscopedImages) {
  Policy p = MustParsePolicy(kScoped);
  Status s = p.Evaluate(Ref("registry.other.org/app:1"));
  ASSERT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(s.message()),
            "image registry.other.org/app:1 rejected by signature policy "
            "/etc/containers/policy.json (scope default)");
}

TEST(PolicyEvaluate, InsecureAcceptAnything_Allows) {
  Policy p = MustParsePolicy(kScoped);
  EXPECT_TRUE(p.Evaluate(Ref("busybox")).ok());
  EXPECT_TRUE(p.Evaluate(Ref("quay.io/team/app:1")).ok());
  EXPECT_TRUE(p.Evaluate(Ref("localhost:5000/app:1")).ok());
}

TEST(PolicyEvaluate, MostSpecificScope_Wins) {
  Policy p = MustParsePolicy(kScoped);
  EXPECT_EQ(p.MatchedScope(Ref("docker.io/library/evil:1")), "docker.io/library/evil");
  Status s = p.Evaluate(Ref("evil"));
  ASSERT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(s.message()).find("(scope docker.io/library/evil)"), std::string::npos);
  // Tag-level scope beats the namespace scope, for that tag only.
  EXPECT_EQ(p.Evaluate(Ref("quay.io/team/secret:prod")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(p.Evaluate(Ref("quay.io/team/secret:dev")).ok());
  // A port is part of the host scope.
  EXPECT_EQ(p.Evaluate(Ref("localhost:5001/app:1")).code(), absl::StatusCode::kPermissionDenied);
}

TEST(PolicyEvaluate, WildcardScopes_MostSpecificWildcardWins) {
  Policy p = MustParsePolicy(kScoped);
  EXPECT_TRUE(p.Evaluate(Ref("registry.example.com/app:1")).ok());
  EXPECT_EQ(p.MatchedScope(Ref("registry.example.com/app:1")), "*.example.com");
  EXPECT_EQ(p.Evaluate(Ref("x.bad.example.com/app:1")).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(p.MatchedScope(Ref("x.bad.example.com:8443/app:1")), "*.bad.example.com");
  // "*.example.com" does not cover example.com itself.
  EXPECT_EQ(p.MatchedScope(Ref("example.com/app:1")), "default");
}

TEST(PolicyEvaluate, UnsupportedRequirementType_IsFailedPrecondition) {
  Policy p = MustParsePolicy(kScoped);
  Status s = p.Evaluate(Ref("signed.example.org/app:1"));
  ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("policy requirement type signedBy is not supported yet"),
            std::string::npos)
      << s;
}

TEST(PolicyEvaluate, RejectInList_WinsOverUnsupported) {
  Policy p = MustParsePolicy(
      R"({"default": [{"type": "sigstoreSigned", "keyPath": "/k"}, {"type": "reject"}]})");
  EXPECT_EQ(p.Evaluate(Ref("quay.io/a:1")).code(), absl::StatusCode::kPermissionDenied);
}

TEST(PolicyEvaluate, TransportDefault_AppliesBeforeGlobalDefault) {
  Policy p = MustParsePolicy(R"({
    "default": [{"type": "reject"}],
    "transports": {"docker": {"": [{"type": "insecureAcceptAnything"}]}}
  })");
  EXPECT_TRUE(p.Evaluate(Ref("quay.io/anything:1")).ok());
  EXPECT_EQ(p.MatchedScope(Ref("quay.io/anything:1")), "");
}

TEST(PolicyEvaluate, DigestIdentity_MatchesDigestScope) {
  const std::string digest =
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  Policy p = MustParsePolicy(R"({"default": [{"type": "insecureAcceptAnything"}],
    "transports": {"docker": {"quay.io/a@)" +
                             digest + R"(": [{"type": "reject"}]}}})");
  EXPECT_EQ(p.Evaluate(Ref("quay.io/a:v1@" + digest)).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(p.Evaluate(Ref("quay.io/a:v1")).ok());
}

TEST(PolicyParse, InvalidPolicies_AreRejected) {
  for (const std::string& text : std::vector<std::string>{
           "not json",
           "{}",
           R"({"default": []})",
           R"({"default": [{"kind": "reject"}]})",
           R"({"default": [{"type": "reject"}], "extra": 1})",
           R"({"default": [{"type": "reject"}],)"
           R"( "transports": {"docker": {"*.a/b": [{"type": "reject"}]}}})",
           R"({"default": [{"type": "reject"}],)"
           R"( "transports": {"docker": {"Bad Host": [{"type": "reject"}]}}})",
           R"({"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": []}}})",
       }) {
    StatusOr<Policy> p = Policy::Parse(text, "p.json");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(std::string(p.status().message()).find("p.json"), std::string::npos);
  }
}

TEST(PolicyLoad, MissingFile_IsAnError) {
  StatusOr<Policy> p = Policy::Load("/nonexistent/crio-test/policy.json");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(p.status().message()).find("/nonexistent/crio-test/policy.json"),
            std::string::npos);
}

TEST(PolicyPathForNamespace, ExistingNamespaceFile_IsPreferred) {
  testing::TempDir tmp;
  const std::string& dir = tmp.path();
  ASSERT_FALSE(dir.empty());
  std::ofstream(dir + "/team-a.json") << R"({"default": [{"type": "reject"}]})";
  EXPECT_EQ(PolicyPathForNamespace(dir, "team-a", "/etc/containers/policy.json"),
            dir + "/team-a.json");
  EXPECT_EQ(PolicyPathForNamespace(dir, "team-b", "/etc/containers/policy.json"),
            "/etc/containers/policy.json");
  EXPECT_EQ(PolicyPathForNamespace(dir, "", "/default.json"), "/default.json");
  StatusOr<Policy> loaded = Policy::Load(dir + "/team-a.json");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
}

}  // namespace
}  // namespace crio::image
