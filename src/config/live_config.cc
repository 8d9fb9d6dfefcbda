// ApplyReloadable: what a SIGHUP reload (LiveConfig::Reload) takes from the freshly loaded
// configuration; the options the option table marks reloadable, and the handler map.

#include "config/live_config.h"

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "config/options.h"
#include "util/strings.h"

namespace crio::config {

using config_internal::FieldRef;
using config_internal::Option;

namespace {

// Copies the value `from` points at to the same-typed field `to`.
void Assign(const FieldRef& from, const FieldRef& to) {
  std::visit(
      [&to](auto* source) {
        using T = std::remove_pointer_t<decltype(source)>;
        config_internal::Get<T>(to) = *source;
      },
      from);
}

// Copies the reloadable options that differ; one "key: before -> after" line each.
void CopyReloadableOptions(const Config& fresh, Config& live, std::vector<std::string>& changes) {
  for (const Option& option : config_internal::Options()) {
    if (!option.reloadable) {
      continue;
    }
    FieldRef from = config_internal::FieldOf(option, fresh);
    FieldRef to = option.field(live);
    std::string before = config_internal::FormatValue(option.kind, to);
    std::string after = config_internal::FormatValue(option.kind, from);
    if (before != after) {
      Assign(from, to);
      changes.push_back(absl::StrCat(std::string(option.key), ": ", before, " -> ", after));
    }
  }
}

// CRI-O swaps the handler map as a whole when it differs; one line per handler added, changed
// or removed.
void SwapHandlers(const Config& fresh, Config& live, std::vector<std::string>& changes) {
  const auto& next = fresh.runtime.runtimes;
  auto& current = live.runtime.runtimes;
  for (const auto& [name, handler] : next) {
    auto it = current.find(name);
    if (it == current.end()) {
      changes.push_back(absl::StrCat("runtimes: added ", util::QuoteString(name)));
    } else if (!(it->second == handler)) {
      changes.push_back(absl::StrCat("runtimes: changed ", util::QuoteString(name)));
    }
  }
  for (const auto& [name, handler] : current) {
    if (next.find(name) == next.end()) {
      changes.push_back(absl::StrCat("runtimes: removed ", util::QuoteString(name)));
    }
  }
  current = next;
}

}  // namespace

std::vector<std::string> ApplyReloadable(const Config& fresh, Config& live) {
  std::vector<std::string> changes;
  CopyReloadableOptions(fresh, live, changes);
  SwapHandlers(fresh, live, changes);
  return changes;
}

}  // namespace crio::config
