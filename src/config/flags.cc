// crio(8)'s command-line flags and their CONTAINER_* environment twins: one per option of the
// fixed tables, applied through the TOML loader so a flag means what the same key in a file
// means.

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "config/config.h"
#include "config/options.h"
#include "util/strings.h"

namespace crio::config {

using config_internal::Kind;
using config_internal::Option;

namespace {

// CRI-O's flag names that are not simply the key with '-' for '_'.
struct FlagName {
  std::string_view key, name, short_name;
};
constexpr FlagName kFlagNames[] = {
    {"root", "root", "r"},
    {"storage_driver", "storage-driver", "s"},
    {"storage_option", "storage-opt", ""},
    {"log_level", "log-level", "l"},
    {"network_dir", "cni-config-dir", ""},
    {"plugin_dirs", "cni-plugin-dir", ""},
    {"insecure_registries", "insecure-registry", ""},
};

CommandLineFlag FlagFor(const Option& option) {
  CommandLineFlag flag;
  flag.table = std::string(option.table);
  flag.key = std::string(option.key);
  flag.name = flag.key;
  std::replace(flag.name.begin(), flag.name.end(), '_', '-');
  for (const FlagName& known : kFlagNames) {
    if (known.key == option.key) {
      flag.name = std::string(known.name);
      flag.short_name = std::string(known.short_name);
    }
  }
  flag.env = "CONTAINER_" + flag.name;
  for (char& c : flag.env) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  flag.help = std::string(option.help.substr(0, option.help.find('\n')));
  flag.is_bool = option.kind == Kind::kBool;
  flag.is_list = option.kind == Kind::kStringList || option.kind == Kind::kStringMap;
  return flag;
}

// A list flag's items: every value split at commas.
std::vector<std::string> ListItems(const std::vector<std::string>& values) {
  std::vector<std::string> items;
  for (const std::string& value : values) {
    for (const std::string& item : util::SplitNonEmpty(value, ',')) items.push_back(item);
  }
  return items;
}

// The flag's values as the TOML value of an option of `kind`; the last value for a scalar.
StatusOr<std::string> TomlValue(const CommandLineFlag& flag, Kind kind,
                                const std::vector<std::string>& values) {
  std::vector<std::string> items;
  if (flag.is_list) items = ListItems(values);
  switch (kind) {
    case Kind::kString:
      return util::QuoteString(values.empty() ? "" : values.back());
    case Kind::kBool: {
      std::string v = values.empty() || values.back().empty() ? "true" : values.back();
      if (v != "true" && v != "false") {
        return InvalidArgument(absl::StrCat("--", flag.name, ": want true or false, got ", v));
      }
      return v;
    }
    case Kind::kInt64:
      return values.empty() ? "" : values.back();
    case Kind::kStringList: {
      std::vector<std::string> quoted;
      for (const auto& item : items) quoted.push_back(util::QuoteString(item));
      return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
    }
    case Kind::kStringMap: {
      std::vector<std::string> pairs;
      for (const auto& item : items) {
        size_t eq = item.find('=');
        if (eq == std::string::npos) {
          return InvalidArgument(absl::StrCat("--", flag.name, ": want key=value, got ", item));
        }
        pairs.push_back(absl::StrCat(util::QuoteString(item.substr(0, eq)), " = ",
                                     util::QuoteString(item.substr(eq + 1))));
      }
      return absl::StrCat("{ ", absl::StrJoin(pairs, ", "), " }");
    }
  }
  return std::string();
}

}  // namespace

const std::vector<CommandLineFlag>& CommandLineFlags() {
  static const std::vector<CommandLineFlag> flags = [] {
    std::vector<CommandLineFlag> out;
    for (const Option& option : config_internal::Options()) out.push_back(FlagFor(option));
    return out;
  }();
  return flags;
}

Status ApplyCommandLineFlag(const CommandLineFlag& flag, const std::vector<std::string>& values,
                            Config& config) {
  const Option* option = config_internal::FindOption(flag.table, flag.key);
  if (option == nullptr) return InvalidArgument(absl::StrCat("--", flag.name, ": unknown option"));
  ASSIGN_OR_RETURN(std::string value, TomlValue(flag, option->kind, values));
  const std::string text = absl::StrCat("[", flag.table, "]\n", flag.key, " = ", value, "\n");
  std::vector<Warning> warnings;
  return ApplyToml(text, absl::StrCat("--", flag.name), config, warnings);
}

}  // namespace crio::config
