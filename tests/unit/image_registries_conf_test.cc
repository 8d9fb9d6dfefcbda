#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/registries_conf.h"
#include "support/temp_dir.h"

namespace crio::image {
namespace {

const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

RegistriesConf MustParseConf(const std::string& text) {
  StatusOr<RegistriesConf> c = ParseRegistriesConf(text, "test.conf");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : RegistriesConf{};
}

Reference Ref(const std::string& s) {
  StatusOr<Reference> r = ParseReference(s);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

std::vector<std::string> SourceStrings(const StatusOr<std::vector<PullSource>>& sources) {
  std::vector<std::string> out;
  if (!sources.ok()) return {"error: " + std::string(sources.status().message())};
  for (const PullSource& s : *sources) {
    out.push_back(s.reference.String() + (s.insecure ? " insecure" : "") +
                  (s.mirror ? " mirror" : ""));
  }
  return out;
}

using testing::TempDir;

TEST(ResolvePullSources, MirrorsThenOrigin_InFileOrder) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "mirror-a.example.com"
[[registry.mirror]]
location = "mirror-b.example.com:5000/cache"
insecure = true
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/ns/app:1"), conf)),
            (std::vector<std::string>{"mirror-a.example.com/ns/app:1 mirror",
                                      "mirror-b.example.com:5000/cache/ns/app:1 insecure mirror",
                                      "quay.io/ns/app:1"}));
}

TEST(ResolvePullSources, Sources_KeepTheLogicalReference) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "mirror.example.com"
)");
  StatusOr<std::vector<PullSource>> s = ResolvePullSources(Ref("quay.io/ns/app:1"), conf);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].logical.String(), "quay.io/ns/app:1");
  EXPECT_EQ((*s)[0].reference.domain, "mirror.example.com");
}

TEST(ResolvePullSources, PrefixRewrite_ReplacesMatchedNamespace) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
prefix = "example.com/foo"
location = "internal.example.com:5000/bar"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("example.com/foo/app@" + kDigest), conf)),
            (std::vector<std::string>{"internal.example.com:5000/bar/app@" + kDigest}));
  // "example.com/foobar" does not match the prefix "example.com/foo".
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("example.com/foobar/app:1"), conf)),
            (std::vector<std::string>{"example.com/foobar/app:1"}));
}

TEST(ResolvePullSources, LongestPrefix_Wins) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
prefix = "example.com"
location = "a.example.net"
[[registry]]
prefix = "example.com/team/app"
location = "b.example.net/app"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("example.com/team/app:7"), conf)),
            (std::vector<std::string>{"b.example.net/app:7"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("example.com/other:7"), conf)),
            (std::vector<std::string>{"a.example.net/other:7"}));
}

TEST(ResolvePullSources, WildcardPrefix_MatchesSubdomainsOnly) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry.mirror]]
location = "cache.local:5000"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("a.b.example.com/app:1"), conf)),
            (std::vector<std::string>{"cache.local:5000/app:1 mirror",
                                      "a.b.example.com/app:1 insecure"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("example.com/app:1"), conf)),
            (std::vector<std::string>{"example.com/app:1"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("notexample.com/app:1"), conf)),
            (std::vector<std::string>{"notexample.com/app:1"}));
}

TEST(ResolvePullSources, ExactHost_BeatsWildcard) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
prefix = "*.example.com"
blocked = true
[[registry]]
location = "good.example.com"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("good.example.com/app:1"), conf)),
            (std::vector<std::string>{"good.example.com/app:1"}));
  EXPECT_EQ(ResolvePullSources(Ref("bad.example.com/app:1"), conf).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ResolvePullSources, BlockedRegistry_IsPermissionDenied) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
location = "evil.example.com"
blocked = true
)");
  StatusOr<std::vector<PullSource>> s = ResolvePullSources(Ref("evil.example.com/x:1"), conf);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(s.status().message())
                .find("registry evil.example.com is blocked in registries.conf"),
            std::string::npos)
      << s.status();
}

TEST(ResolvePullSources, InsecureOrigin_IsFlagged) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
location = "127.0.0.1:5000"
insecure = true
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("127.0.0.1:5000/app:1"), conf)),
            (std::vector<std::string>{"127.0.0.1:5000/app:1 insecure"}));
}

TEST(ResolvePullSources, PullFromMirror_FiltersByDigestOrTag) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "digests.example.com"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tags.example.com"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "all.example.com"
pull-from-mirror = "all"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/a:1"), conf)),
            (std::vector<std::string>{"tags.example.com/a:1 mirror", "all.example.com/a:1 mirror",
                                      "quay.io/a:1"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/a@" + kDigest), conf)),
            (std::vector<std::string>{"digests.example.com/a@" + kDigest + " mirror",
                                      "all.example.com/a@" + kDigest + " mirror",
                                      "quay.io/a@" + kDigest}));
}

TEST(ResolvePullSources, MirrorByDigestOnly_SkipsMirrorsForTags) {
  RegistriesConf conf = MustParseConf(R"(
[[registry]]
location = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.example.com"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/a:1"), conf)),
            (std::vector<std::string>{"quay.io/a:1"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/a@" + kDigest), conf)).size(), 2u);
}

TEST(ResolvePullSources, ShortName_TriesSearchRegistriesInOrderWhenPermissive) {
  RegistriesConf conf = MustParseConf(R"(
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "permissive"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("busybox:1.36"), conf)),
            (std::vector<std::string>{"quay.io/busybox:1.36", "docker.io/library/busybox:1.36"}));
}

TEST(ResolvePullSources, ShortNameEnforcingAndAmbiguous_FailsLikeCrio) {
  RegistriesConf conf = MustParseConf(R"(
unqualified-search-registries = ["quay.io", "docker.io"]
)");
  StatusOr<std::vector<PullSource>> s =
      ResolvePullSources(Ref("busybox"), conf, ShortNameMode::kEnforcing);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.status().message()).find("returns ambiguous list"), std::string::npos);
  // One search registry is not ambiguous.
  RegistriesConf single = MustParseConf(R"(unqualified-search-registries = ["docker.io"])");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("busybox"), single, ShortNameMode::kEnforcing)),
            (std::vector<std::string>{"docker.io/library/busybox:latest"}));
}

TEST(ResolvePullSources, ModeOverride_ReplacesFileMode) {
  RegistriesConf conf = MustParseConf(R"(
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
)");
  EXPECT_EQ(ResolvePullSources(Ref("busybox"), conf).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      SourceStrings(ResolvePullSources(Ref("busybox"), conf, ShortNameMode::kDisabled)).size(), 2u);
}

TEST(ResolvePullSources, Alias_WinsOverSearchRegistriesAndKeepsTag) {
  RegistriesConf conf = MustParseConf(R"(
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
[aliases]
"busybox" = "docker.io/library/busybox"
"tools/app" = "registry.example.com/tools/app"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("busybox:1.36"), conf)),
            (std::vector<std::string>{"docker.io/library/busybox:1.36"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("tools/app@" + kDigest), conf)),
            (std::vector<std::string>{"registry.example.com/tools/app@" + kDigest}));
}

TEST(ResolvePullSources, ShortNameCandidates_GetMirrorsToo) {
  RegistriesConf conf = MustParseConf(R"(
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.gcr.io"
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("nginx"), conf)),
            (std::vector<std::string>{"mirror.gcr.io/library/nginx:latest mirror",
                                      "docker.io/library/nginx:latest"}));
}

TEST(ResolvePullSources, BlockedCandidate_IsSkippedWhenOthersRemain) {
  RegistriesConf conf = MustParseConf(R"(
unqualified-search-registries = ["blocked.example.com", "docker.io"]
[[registry]]
location = "blocked.example.com"
blocked = true
)");
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("app"), conf, ShortNameMode::kPermissive)),
            (std::vector<std::string>{"docker.io/library/app:latest"}));
}

TEST(ResolvePullSources, ShortNameWithoutSearchRegistries_FailsWithOrigin) {
  StatusOr<std::vector<PullSource>> s = ResolvePullSources(Ref("busybox"), RegistriesConf{});
  ASSERT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.status().message()).find("no unqualified-search registries"),
            std::string::npos);
}

TEST(ResolvePullSources, NoMatchingEntry_ReturnsReferenceItself) {
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/a/b:c"), RegistriesConf{})),
            (std::vector<std::string>{"quay.io/a/b:c"}));
}

TEST(ParseRegistriesConf, InvalidInput_NamesTheProblem) {
  struct Case {
    std::string text;
    std::string fragment;
  };
  for (const Case& c : std::vector<Case>{
           {"[[registry]]\ninsecure = true\n", "both location and prefix are unset"},
           {"[[registry]]\nlocation = \"https://quay.io\"\n", "URI schemes are not supported"},
           {"[[registry]]\nprefix = \"*.example.com/ns\"\n", "*.example.com"},
           {"[[registry]]\nprefix = \"example.com\"\n", "location is unset"},
           {"[[registry]]\nlocation = \"q.io\"\n[[registry.mirror]]\ninsecure = true\n",
            "location is unset"},
           {"[[registry]]\nlocation = \"q.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\n"
            "pull-from-mirror = \"sometimes\"\n",
            "unsupported pull-from-mirror value \"sometimes\""},
           {"[[registry]]\nlocation = \"q.io\"\nmirror-by-digest-only = true\n"
            "[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"all\"\n",
            "at the same time"},
           {"short-name-mode = \"loose\"\n", "invalid short-name-mode \"loose\""},
           {"unqualified-search-registries = [\"quay.io/ns\"]\n", "invalid unqualified-search"},
           {"[aliases]\n\"quay.io/x\" = \"quay.io/x\"\n", "must not contain a registry"},
           {"[aliases]\n\"x\" = \"y\"\n", "must contain a registry"},
           {"[[registry]]\nlocation = 5\n", "\"location\" must be a string"},
           {"unqualified-search-registries = [\n", "TOML parse error"},
           {"[registries.search]\nregistries = [\"a.io\"]\n[[registry]]\nlocation = \"b.io\"\n",
            "mixing"},
       }) {
    StatusOr<RegistriesConf> conf = ParseRegistriesConf(c.text, "bad.conf");
    ASSERT_FALSE(conf.ok()) << c.text;
    EXPECT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(std::string(conf.status().message()).find(c.fragment), std::string::npos)
        << c.text << " -> " << conf.status();
    EXPECT_NE(std::string(conf.status().message()).find("bad.conf"), std::string::npos);
  }
}

TEST(ParseRegistriesConf, V1Format_IsConverted) {
  RegistriesConf conf = MustParseConf(R"(
[registries.search]
registries = ["quay.io", "docker.io"]
[registries.insecure]
registries = ["local.example.com:5000"]
[registries.block]
registries = ["evil.example.com"]
)");
  EXPECT_EQ(conf.unqualified_search_registries, (std::vector<std::string>{"quay.io", "docker.io"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("local.example.com:5000/a:1"), conf)),
            (std::vector<std::string>{"local.example.com:5000/a:1 insecure"}));
  EXPECT_EQ(ResolvePullSources(Ref("evil.example.com/a:1"), conf).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(LoadRegistriesConf, DropIns_OverrideInLexicalOrder) {
  TempDir dir;
  dir.Write("registries.conf", R"(
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "permissive"
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "old-mirror.example.com"
[[registry]]
location = "keep.example.com"
insecure = true
[aliases]
"busybox" = "quay.io/libs/busybox"
"gone" = "quay.io/libs/gone"
)");
  dir.Write("registries.conf.d/20-second.conf", R"(
unqualified-search-registries = ["registry.fedoraproject.org"]
[aliases]
"gone" = ""
)");
  dir.Write("registries.conf.d/10-first.conf", R"(
short-name-mode = "enforcing"
unqualified-search-registries = ["never.example.com"]
[[registry]]
location = "quay.io"
[[registry.mirror]]
location = "new-mirror.example.com"
)");
  dir.Write("registries.conf.d/30-ignored.txt", "this is not TOML [[[");
  StatusOr<RegistriesConf> conf =
      LoadRegistriesConf(dir.path() + "/registries.conf", dir.path() + "/registries.conf.d");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(conf->unqualified_search_registries,
            (std::vector<std::string>{"registry.fedoraproject.org"}));
  EXPECT_EQ(conf->unqualified_search_origin, dir.path() + "/registries.conf.d/20-second.conf");
  EXPECT_EQ(conf->short_name_mode, ShortNameMode::kEnforcing);
  // The quay.io entry was replaced as a whole; keep.example.com survived.
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("quay.io/a:1"), *conf)),
            (std::vector<std::string>{"new-mirror.example.com/a:1 mirror", "quay.io/a:1"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("keep.example.com/a:1"), *conf)),
            (std::vector<std::string>{"keep.example.com/a:1 insecure"}));
  // Aliases merge per key; an empty value cancels one.
  // (The alias target lives on quay.io, so it gets quay.io's mirror as well.)
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("busybox"), *conf)),
            (std::vector<std::string>{"new-mirror.example.com/libs/busybox:latest mirror",
                                      "quay.io/libs/busybox:latest"}));
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("gone"), *conf)),
            (std::vector<std::string>{"registry.fedoraproject.org/gone:latest"}));
}

TEST(LoadRegistriesConf, MissingFiles_GiveEmptyConfig) {
  TempDir dir;
  StatusOr<RegistriesConf> conf =
      LoadRegistriesConf(dir.path() + "/nope.conf", dir.path() + "/nope.d");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_TRUE(conf->registries.empty());
  EXPECT_FALSE(conf->short_name_mode.has_value());
}

TEST(LoadRegistriesConf, AliasesOnlyInDropIn_AreUsed) {
  TempDir dir;
  dir.Write("d/aliases.conf", "[aliases]\n\"pause\" = \"registry.k8s.io/pause\"\n");
  StatusOr<RegistriesConf> conf = LoadRegistriesConf(dir.path() + "/none.conf", dir.path() + "/d");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(SourceStrings(ResolvePullSources(Ref("pause:3.10"), *conf)),
            (std::vector<std::string>{"registry.k8s.io/pause:3.10"}));
}

TEST(LoadRegistriesConf, V1DropIn_IsRejectedWithPath) {
  TempDir dir;
  dir.Write("d/old.conf", "[registries.search]\nregistries = [\"a.io\"]\n");
  StatusOr<RegistriesConf> conf = LoadRegistriesConf(dir.path() + "/none.conf", dir.path() + "/d");
  ASSERT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(conf.status().message()).find("old.conf"), std::string::npos);
}

TEST(FindRegistry, PrefixBoundary_RequiresSeparator) {
  RegistriesConf conf = MustParseConf("[[registry]]\nlocation = \"example.com/ns\"\n");
  EXPECT_NE(FindRegistry(conf, "example.com/ns"), nullptr);
  EXPECT_NE(FindRegistry(conf, "example.com/ns/app:1"), nullptr);
  EXPECT_NE(FindRegistry(conf, "example.com/ns@" + kDigest), nullptr);
  EXPECT_EQ(FindRegistry(conf, "example.com/nsx/app"), nullptr);
  EXPECT_EQ(FindRegistry(conf, "example.com"), nullptr);
}

}  // namespace
}  // namespace crio::image
