// ToToml: what `crio config` prints. Every option of the option table with its help as a
// comment and its effective value, in CRI-O's table order, so ApplyToml reads it back to the
// same Config.

#include <toml++/toml.h>

#include <algorithm>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "config/config.h"
#include "config/load.h"
#include "config/options.h"
#include "util/strings.h"

namespace crio::config::config_internal {
namespace {

bool IsBareKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::pair<std::string_view, std::string_view> SplitEntry(std::string_view entry) {
  size_t eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return {entry, ""};
  }
  return {entry.substr(0, eq), entry.substr(eq + 1)};
}

std::string FormatList(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  quoted.reserve(values.size());
  for (const std::string& value : values) {
    quoted.push_back(util::QuoteString(value));
  }
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string FormatMap(const std::vector<std::string>& entries) {
  if (entries.empty()) {
    return "{}";
  }
  std::vector<std::string> pairs;
  pairs.reserve(entries.size());
  for (const std::string& entry : entries) {
    auto [key, value] = SplitEntry(entry);
    pairs.push_back(absl::StrCat(util::QuoteString(key), " = ", util::QuoteString(value)));
  }
  return absl::StrCat("{ ", absl::StrJoin(pairs, ", "), " }");
}

}  // namespace

std::string TomlKey(std::string_view key) {
  return IsBareKey(key) ? std::string(key) : util::QuoteString(key);
}

std::string FormatValue(Kind kind, const FieldRef& field) {
  switch (kind) {
    case Kind::kString:
      return util::QuoteString(Get<std::string>(field));
    case Kind::kBool:
      return Get<bool>(field) ? "true" : "false";
    case Kind::kInt64:
      return std::to_string(Get<int64_t>(field));
    case Kind::kStringList:
      return FormatList(Get<std::vector<std::string>>(field));
    case Kind::kStringMap:
      return FormatMap(Get<std::vector<std::string>>(field));
  }
  return "";
}

namespace {

void AppendComment(std::string& out, std::string_view text, std::string_view prefix = "# ") {
  for (const std::string& line : util::SplitNonEmpty(text, '\n')) {
    absl::StrAppend(&out, std::string(prefix), line, "\n");
  }
}

template <typename Owner>
void AppendOption(std::string& out, const OptionT<Owner>& option, const Owner& owner,
                  bool with_help) {
  if (with_help) {
    AppendComment(out, option.help);
  }
  absl::StrAppend(&out, std::string(option.key), " = ",
                  FormatValue(option.kind, FieldOf(option, owner)), "\n");
  if (with_help) {
    out += "\n";
  }
}

void AppendHandlers(std::string& out, const RuntimeConfig& rt) {
  out += "# One [crio.runtime.runtimes.NAME] table per runtime handler (Kubernetes\n";
  out += "# RuntimeClass handler). Keys:\n";
  for (const HandlerOption& option : HandlerOptions()) {
    AppendComment(out, absl::StrCat(std::string(option.key), ": ", std::string(option.help)),
                  "#   ");
  }
  for (const auto& [name, handler] : rt.runtimes) {
    absl::StrAppend(&out, "\n[", std::string(kRuntimesTable), ".", TomlKey(name), "]\n");
    for (const HandlerOption& option : HandlerOptions()) {
      AppendOption(out, option, handler, /*with_help=*/false);
    }
  }
  out += "\n";
}

void AppendWorkloads(std::string& out, const RuntimeConfig& rt) {
  if (rt.workloads.empty()) {
    return;
  }
  out += "# Workloads (experimental) are kept as written; crio-cpp does not apply them yet.\n";
  toml::table workloads;
  for (const auto& [name, text] : rt.workloads) {
    StatusOr<toml::table> parsed = ParseToml(text, name);
    if (parsed.ok()) {
      workloads.insert(name, std::move(*parsed));
    }
  }
  toml::table runtime;
  runtime.insert("workloads", std::move(workloads));
  toml::table crio;
  crio.insert("runtime", std::move(runtime));
  toml::table root;
  root.insert("crio", std::move(crio));
  std::ostringstream text;
  text << root;
  absl::StrAppend(&out, text.str(), "\n\n");
}

}  // namespace
}  // namespace crio::config::config_internal

namespace crio::config {

using config_internal::AppendComment;
using config_internal::AppendHandlers;
using config_internal::AppendOption;
using config_internal::AppendWorkloads;
using config_internal::kRuntime;
using config_internal::Option;
using config_internal::TableInfo;

std::string ToToml(const Config& config) {
  std::string out =
      "# crio-cpp configuration, in CRI-O's crio.conf(5) format. Every option is listed with its\n"
      "# effective value. Options marked \"Reloaded on SIGHUP\" change without a restart.\n\n";
  for (const TableInfo& table : config_internal::Tables()) {
    AppendComment(out, table.help);
    absl::StrAppend(&out, "[", std::string(table.name), "]\n\n");
    for (const Option& option : config_internal::Options()) {
      if (option.table == table.name) {
        AppendOption(out, option, config, /*with_help=*/true);
      }
    }
    if (table.name == kRuntime) {
      AppendHandlers(out, config.runtime);
      AppendWorkloads(out, config.runtime);
    }
  }
  return out;
}

}  // namespace crio::config
