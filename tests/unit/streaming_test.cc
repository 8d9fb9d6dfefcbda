// The streaming server's protocol-independent parts: the token cache, protocol negotiation and
// the status reports on the error stream.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "streaming/remote_command.h"
#include "streaming/request_cache.h"
#include "streaming/server.h"

namespace crio::streaming {
namespace {

using namespace std::chrono_literals;

StreamRequest ExecRequest(std::string id) {
  StreamRequest r;
  r.kind = RequestKind::kExec;
  r.container_id = std::move(id);
  r.cmd = {"true"};
  r.stdout = true;
  return r;
}

TEST(StreamingTokens, AreEightUrlSafeCharactersAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    auto token = NewToken();
    ASSERT_TRUE(token.ok());
    ASSERT_EQ(token->size(), 8u);
    for (char c : *token)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    seen.insert(*token);
  }
  EXPECT_GT(seen.size(), 1990u);  // 48 random bits: collisions are vanishingly rare
}

TEST(StreamingRequestCache, TokenIsSingleUse) {
  RequestCache cache;
  auto token = cache.Insert(ExecRequest("c1"));
  ASSERT_TRUE(token.ok());
  auto first = cache.Consume(*token, RequestKind::kExec);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->container_id, "c1");
  EXPECT_FALSE(cache.Consume(*token, RequestKind::kExec).has_value());
  EXPECT_FALSE(cache.Consume("unknown0", RequestKind::kExec).has_value());
}

TEST(StreamingRequestCache, WrongKindConsumesTheToken) {
  RequestCache cache;
  auto token = cache.Insert(ExecRequest("c1"));
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(cache.Consume(*token, RequestKind::kAttach).has_value());
  EXPECT_FALSE(cache.Consume(*token, RequestKind::kExec).has_value());
}

TEST(StreamingRequestCache, ExpiresAfterTheTtl) {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  RequestCache cache(1min, 10, [&] { return now; });
  auto token = cache.Insert(ExecRequest("c1"));
  ASSERT_TRUE(token.ok());
  now += 61s;
  EXPECT_FALSE(cache.Consume(*token, RequestKind::kExec).has_value());
}

TEST(StreamingRequestCache, FullCacheIsResourceExhaustedUntilEntriesExpire) {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  RequestCache cache(1min, 3, [&] { return now; });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.Insert(ExecRequest("c")).ok());
  auto full = cache.Insert(ExecRequest("c"));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  now += 2min;
  EXPECT_TRUE(cache.Insert(ExecRequest("c")).ok());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(StreamingNegotiation, ClientPreferenceWinsAndCommaListsCount) {
  std::vector<std::string> server = {"v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"};
  EXPECT_EQ(NegotiateProtocol({"v3.channel.k8s.io", "v4.channel.k8s.io"}, server),
            "v3.channel.k8s.io");
  EXPECT_EQ(NegotiateProtocol({"v9.channel.k8s.io, channel.k8s.io"}, server), "channel.k8s.io");
  EXPECT_EQ(NegotiateProtocol({"v9.channel.k8s.io"}, server), std::nullopt);
  EXPECT_EQ(NegotiateProtocol({}, server), std::nullopt);
}

TEST(StreamingStatus, V4JsonForSuccessExitCodeAndError) {
  auto ok = nlohmann::json::parse(StatusJson(0, false));
  EXPECT_EQ(ok["status"], "Success");
  EXPECT_TRUE(ok["metadata"].is_object());

  auto exit3 = nlohmann::json::parse(StatusJson(3, false));
  EXPECT_EQ(exit3["status"], "Failure");
  EXPECT_EQ(exit3["reason"], "NonZeroExitCode");
  EXPECT_EQ(exit3["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(exit3["details"]["causes"][0]["message"], "3");

  auto err = nlohmann::json::parse(StatusJson(absl::NotFoundError("gone"), true));
  EXPECT_EQ(err["reason"], "InternalError");
  EXPECT_EQ(err["code"], 500);
  EXPECT_NE(err["message"].get<std::string>().find("error attaching to container: gone"),
            std::string::npos);
}

TEST(StreamingStatus, TextBeforeV4IsEmptyOnSuccess) {
  EXPECT_EQ(StatusText(0, false), "");
  EXPECT_NE(StatusText(1, false).find("exit code 1"), std::string::npos);
  EXPECT_NE(StatusText(absl::InternalError("boom"), false).find("boom"), std::string::npos);
}

TEST(StreamingResize, ParsesTheClientsJson) {
  EXPECT_EQ(ParseTerminalSize(R"({"Width":80,"Height":24})"), (TerminalSize{80, 24}));
  EXPECT_EQ(ParseTerminalSize(R"({"Width":70000,"Height":24})"), std::nullopt);
  EXPECT_EQ(ParseTerminalSize(R"({"Width":-1,"Height":24})"), std::nullopt);
  EXPECT_EQ(ParseTerminalSize("garbage"), std::nullopt);
  EXPECT_EQ(ParseTerminalSize(R"({"Height":24})"), std::nullopt);
}

}  // namespace
}  // namespace crio::streaming
