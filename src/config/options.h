#pragma once
// Shared by the translation units of src/config, one per concern: the option table (options.cc)
// drives loading (load.cc), validation (validate.cc), printing (toml_writer.cc), command-line
// flags (flags.cc) and reloading (live_config.cc). Not for use outside src/config; the public
// API is config.h.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "util/status.h"
#include "util/strings.h"

namespace crio::config::config_internal {

enum class Kind {
  kString,
  kBool,
  kInt64,
  kStringList,  // TOML array of strings
  kStringMap,   // TOML table of strings, kept as sorted "key=value" strings
};

using FieldRef = std::variant<std::string*, bool*, int64_t*, std::vector<std::string>*>;

// One option. `Owner` is Config for the fixed tables and RuntimeHandler for the keys of a
// [crio.runtime.runtimes.NAME] table.
template <typename Owner>
struct OptionT {
  std::string_view table = {};  // "crio.runtime"; empty for handler options
  std::string_view key;
  Kind kind;
  FieldRef (*field)(Owner&);
  bool reloadable = false;                        // CRI-O: "supports live configuration reload"
  std::span<const std::string_view> one_of = {};  // allowed values of a string option
  Status (*check_string)(std::string_view) = nullptr;
  Status (*check_int)(int64_t) = nullptr;
  std::string_view help;  // comment printed above the option; '\n' separates lines
};
using Option = OptionT<Config>;
using HandlerOption = OptionT<RuntimeHandler>;

inline constexpr std::string_view kRoot = "crio";
inline constexpr std::string_view kApi = "crio.api";
inline constexpr std::string_view kRuntime = "crio.runtime";
inline constexpr std::string_view kImage = "crio.image";
inline constexpr std::string_view kNetwork = "crio.network";
inline constexpr std::string_view kMetrics = "crio.metrics";
inline constexpr std::string_view kTracing = "crio.tracing";
inline constexpr std::string_view kStats = "crio.stats";
inline constexpr std::string_view kNri = "crio.nri";
inline constexpr std::string_view kNriValidator = "crio.nri.default_validator";
inline constexpr std::string_view kRuntimesTable = "crio.runtime.runtimes";
inline constexpr std::string_view kWorkloadsTable = "crio.runtime.workloads";

struct TableInfo {
  std::string_view name;
  std::string_view help;
};

// The fixed tables in printing order (CRI-O's `crio config` order).
std::span<const TableInfo> Tables();
// Every option of the fixed tables, grouped by table.
std::span<const Option> Options();
// The keys of a [crio.runtime.runtimes.NAME] table.
std::span<const HandlerOption> HandlerOptions();

// nullptr when the table has no such key.
const Option* FindOption(std::string_view table, std::string_view key);
const HandlerOption* FindHandlerOption(std::string_view key);
// A table that may hold options or sub-tables: a fixed table, runtimes or workloads.
bool IsKnownTable(std::string_view name);

// Typed access to a FieldRef. A kind that does not match the field is a bug in the option table.
template <typename T>
T& Get(const FieldRef& field) {
  T* const* value = std::get_if<T*>(&field);
  CRIO_CHECK(value != nullptr, "option kind does not match its field type");
  return **value;
}

template <typename Owner>
FieldRef FieldOf(const OptionT<Owner>& option, const Owner& owner) {
  // The accessor takes a mutable owner so one table serves reads and writes; reading through it
  // does not modify `owner`.
  return option.field(const_cast<Owner&>(owner));
}

// `"a", "b", "c"`: the allowed values in an error message.
std::string OneOfList(std::span<const std::string_view> allowed);

// The option's value rules, shared by ApplyToml (with file:line) and Validate; the message is
// what follows "KEY: ".
template <typename Owner>
Status CheckValue(const OptionT<Owner>& option, const FieldRef& field) {
  if (!option.one_of.empty()) {
    const std::string& value = Get<std::string>(field);
    if (std::find(option.one_of.begin(), option.one_of.end(), value) == option.one_of.end()) {
      return InvalidArgument(absl::StrCat("expected one of ", OneOfList(option.one_of), ", got ",
                                          util::QuoteString(value)));
    }
  }
  if (option.check_string != nullptr) {
    RETURN_IF_ERROR(option.check_string(Get<std::string>(field)));
  }
  if (option.check_int != nullptr) {
    RETURN_IF_ERROR(option.check_int(Get<int64_t>(field)));
  }
  return absl::OkStatus();
}

// TOML spelling of values, defined in toml_writer.cc; also used in validation messages and
// reload change lines.
// `key` bare when TOML allows it, else quoted.
std::string TomlKey(std::string_view key);
// The field's value as a TOML value of `kind`.
std::string FormatValue(Kind kind, const FieldRef& field);

}  // namespace crio::config::config_internal
