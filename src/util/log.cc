#include "util/log.h"

#include <cstdio>
#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>

namespace crio::log {

StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  using spdlog::level::level_enum;
  if (name == "trace") return level_enum::trace;
  if (name == "debug") return level_enum::debug;
  if (name == "info") return level_enum::info;
  if (name == "warn" || name == "warning") return level_enum::warn;
  if (name == "error") return level_enum::err;
  if (name == "fatal" || name == "panic") return level_enum::critical;
  return InvalidArgument(
      absl::StrCat("unknown log level \"", std::string(name),
                   "\": expected one of trace, debug, info, warn, error, fatal, panic"));
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "fatal";
    default:
      return "off";
  }
}

void Init(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_logger_mt("crio");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ %v");
  spdlog::set_default_logger(logger);
  SetLevel(level);
}

void SetLevel(spdlog::level::level_enum level) {
  spdlog::set_level(level);
  spdlog::flush_on(level < spdlog::level::info ? level : spdlog::level::info);
}

spdlog::level::level_enum CurrentLevel() { return spdlog::get_level(); }

}  // namespace crio::log

namespace crio::internal {
void CheckFailed(const char* file, int line, const char* cond, std::string_view msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s: %.*s\n", file, line, cond,
               static_cast<int>(msg.size()), msg.data());
  std::abort();
}
}  // namespace crio::internal
