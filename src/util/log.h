#pragma once
// Logging for operators: one line per event, naming the pod/container it concerns.
// Thin wrapper over spdlog so the sink and format are chosen in one place.

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/strings/string_view.h"

#include "util/status.h"

namespace crio::log {

// CRI-O's level names: trace, debug, info, warn, error, fatal, panic (and "warning").
StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view name);
std::string_view LevelName(spdlog::level::level_enum level);

// Sets up the process-wide logger writing to stderr.
void Init(spdlog::level::level_enum level);
void SetLevel(spdlog::level::level_enum level);
spdlog::level::level_enum CurrentLevel();

}  // namespace crio::log

// absl::string_view is not std::string_view in Debian's absl: teach fmt to print it and Status.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Ctx>
  auto format(absl::string_view s, Ctx& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};
template <>
struct fmt::formatter<absl::Status> : fmt::formatter<fmt::string_view> {
  template <typename Ctx>
  auto format(const absl::Status& s, Ctx& ctx) const {
    std::string text = s.ToString();
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), ctx);
  }
};

#define CRIO_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define CRIO_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define CRIO_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define CRIO_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define CRIO_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
