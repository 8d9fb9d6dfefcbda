#include <gtest/gtest.h>

#include "util/log.h"
#include "util/status.h"
#include "util/strings.h"

namespace crio {
namespace {

Status FailsWith(absl::StatusCode code) { return Status(code, "boom"); }

Status PropagatesFirstError(int& reached) {
  RETURN_IF_ERROR(FailsWith(absl::StatusCode::kNotFound));
  reached = 1;
  return absl::OkStatus();
}

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusMacros, ReturnIfError_Error_StopsAndPropagatesCode) {
  int reached = 0;
  Status s = PropagatesFirstError(reached);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reached, 0);
}

TEST(StatusMacros, AssignOrReturn_ValueAndError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ErrnoError, Enoent_IsNotFoundWithStrerror) {
  Status s = ErrnoError(ENOENT, "open `/x`");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "open `/x`: No such file or directory");
}

TEST(Annotate, KeepsCodePrependsContext) {
  Status s = Annotate(NotFound("layer abc"), "pull busybox");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "pull busybox: layer abc");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
}

TEST(Strings, SplitNonEmpty_DropsEmptyParts) {
  EXPECT_EQ(util::SplitNonEmpty("/a//b/", '/'), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(util::SplitNonEmpty("", ',').empty());
}

TEST(Strings, QuoteString_EscapesSpecials) {
  EXPECT_EQ(util::QuoteString("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
}

TEST(Strings, TrimSpace_DropsSpacesTabsNewlinesAtBothEnds) {
  EXPECT_EQ(util::TrimSpace(" \t42\n\n"), "42");
  EXPECT_EQ(util::TrimSpace("a b"), "a b");
  EXPECT_EQ(util::TrimSpace(" \n\t"), "");
  EXPECT_EQ(util::TrimSpace("\rx\r"), "\rx\r");  // only space, tab and newline
}

TEST(Strings, ParseUint64_WholeDecimalOnly) {
  EXPECT_EQ(util::ParseUint64("0"), 0u);
  EXPECT_EQ(util::ParseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(util::ParseUint64("18446744073709551616"), std::nullopt);  // overflow
  EXPECT_EQ(util::ParseUint64(""), std::nullopt);
  EXPECT_EQ(util::ParseUint64("-1"), std::nullopt);
  EXPECT_EQ(util::ParseUint64("+1"), std::nullopt);
  EXPECT_EQ(util::ParseUint64(" 1"), std::nullopt);
  EXPECT_EQ(util::ParseUint64("1\n"), std::nullopt);
  EXPECT_EQ(util::ParseUint64("12x"), std::nullopt);
  EXPECT_EQ(util::ParseUint64(util::TrimSpace("12\n")), 12u);
}

TEST(Strings, Basename_LastComponentIgnoringTrailingSlashes) {
  EXPECT_EQ(util::Basename("/a/b/kubepods.slice"), "kubepods.slice");
  EXPECT_EQ(util::Basename("a/b/"), "b");
  EXPECT_EQ(util::Basename("plain"), "plain");
  EXPECT_EQ(util::Basename("/"), "");
  EXPECT_EQ(util::Basename(""), "");
}

TEST(LogLevel, ParsesCrioNames) {
  EXPECT_EQ(*log::ParseLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(*log::ParseLevel("fatal"), spdlog::level::critical);
  EXPECT_EQ(*log::ParseLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(log::LevelName(spdlog::level::err), "error");
  auto bad = log::ParseLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(Message(bad.status()).find("verbose"), std::string::npos);
}

}  // namespace
}  // namespace crio
