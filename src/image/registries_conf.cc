#include "image/registries_conf.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "os/file.h"
#include "util/log.h"

namespace crio::image {
namespace {

// ---------------------------------------------------------------------------------------------
// TOML helpers: every type error names the file, line and key.
// ---------------------------------------------------------------------------------------------

Status TypeError(std::string_view origin, const toml::node& node, std::string_view key,
                 std::string_view want) {
  return InvalidArgument(absl::StrCat(std::string(origin), ":", node.source().begin.line, ": \"",
                                      std::string(key), "\" must be ", std::string(want)));
}

Status ReadString(const toml::table& t, std::string_view key, std::string_view origin,
                  std::string& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  const auto* v = n->as_string();
  if (v == nullptr) return TypeError(origin, *n, key, "a string");
  out = v->get();
  return absl::OkStatus();
}

Status ReadBool(const toml::table& t, std::string_view key, std::string_view origin, bool& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  const auto* v = n->as_boolean();
  if (v == nullptr) return TypeError(origin, *n, key, "a boolean");
  out = v->get();
  return absl::OkStatus();
}

// Returns whether the key was present (an empty array counts as present).
StatusOr<bool> ReadStringArray(const toml::table& t, std::string_view key, std::string_view origin,
                               std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return false;
  const auto* arr = n->as_array();
  if (arr == nullptr) return TypeError(origin, *n, key, "an array of strings");
  out.clear();
  for (const toml::node& e : *arr) {
    const auto* v = e.as_string();
    if (v == nullptr) return TypeError(origin, e, key, "an array of strings");
    out.push_back(v->get());
  }
  return true;
}

Status FileError(std::string_view origin, std::string_view what) {
  return InvalidArgument(absl::StrCat(std::string(origin), ": ", std::string(what)));
}

StatusOr<toml::table> ParseToml(std::string_view text, std::string_view origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(absl::StrCat(std::string(origin), ":", e.source().begin.line, ":",
                                        e.source().begin.column,
                                        ": TOML parse error: ", std::string(e.description())));
  }
}

// ---------------------------------------------------------------------------------------------
// Validation, as containers/image's postProcessRegistries.
// ---------------------------------------------------------------------------------------------

bool IsWildcardPrefix(std::string_view prefix) { return prefix.substr(0, 2) == "*."; }

StatusOr<std::string> CleanLocation(std::string_view input, std::string_view origin) {
  std::string_view trimmed = input;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.remove_suffix(1);
  if (trimmed.substr(0, 7) == "http://" || trimmed.substr(0, 8) == "https://") {
    return FileError(origin, absl::StrCat("invalid location \"", std::string(input),
                                          "\": URI schemes are not supported"));
  }
  return std::string(trimmed);
}

StatusOr<PullFromMirror> ParsePullFromMirror(std::string_view s, std::string_view location,
                                             std::string_view origin) {
  if (s.empty() || s == "all") return PullFromMirror::kAll;
  if (s == "digest-only") return PullFromMirror::kDigestOnly;
  if (s == "tag-only") return PullFromMirror::kTagOnly;
  return FileError(origin, absl::StrCat("unsupported pull-from-mirror value \"", std::string(s),
                                        "\" for mirror \"", std::string(location),
                                        "\" (want all, digest-only or tag-only)"));
}

StatusOr<MirrorConfig> ParseMirror(const toml::table& t, const RegistryConfig& reg,
                                   std::string_view origin) {
  MirrorConfig m;
  std::string location, pull_from;
  RETURN_IF_ERROR(ReadString(t, "location", origin, location));
  RETURN_IF_ERROR(ReadBool(t, "insecure", origin, m.insecure));
  RETURN_IF_ERROR(ReadString(t, "pull-from-mirror", origin, pull_from));
  ASSIGN_OR_RETURN(m.location, CleanLocation(location, origin));
  if (m.location.empty()) {
    return FileError(origin,
                     absl::StrCat("mirror of registry \"", reg.prefix, "\": location is unset"));
  }
  if (reg.mirror_by_digest_only && !pull_from.empty()) {
    return FileError(origin, absl::StrCat("registry \"", reg.prefix,
                                          "\": cannot set mirror-by-digest-only and "
                                          "pull-from-mirror (mirror \"",
                                          m.location, "\") at the same time"));
  }
  ASSIGN_OR_RETURN(m.pull_from_mirror, ParsePullFromMirror(pull_from, m.location, origin));
  return m;
}

StatusOr<RegistryConfig> ParseRegistry(const toml::table& t, std::string_view origin) {
  RegistryConfig reg;
  reg.origin = std::string(origin);
  std::string prefix, location, pull_from;
  RETURN_IF_ERROR(ReadString(t, "prefix", origin, prefix));
  RETURN_IF_ERROR(ReadString(t, "location", origin, location));
  RETURN_IF_ERROR(ReadBool(t, "insecure", origin, reg.insecure));
  RETURN_IF_ERROR(ReadBool(t, "blocked", origin, reg.blocked));
  RETURN_IF_ERROR(ReadBool(t, "mirror-by-digest-only", origin, reg.mirror_by_digest_only));
  RETURN_IF_ERROR(ReadString(t, "pull-from-mirror", origin, pull_from));
  ASSIGN_OR_RETURN(reg.location, CleanLocation(location, origin));
  if (prefix.empty()) {
    if (reg.location.empty()) {
      return FileError(origin, "[[registry]]: both location and prefix are unset");
    }
    reg.prefix = reg.location;
  } else {
    ASSIGN_OR_RETURN(reg.prefix, CleanLocation(prefix, origin));
    if (IsWildcardPrefix(reg.prefix)) {
      if (reg.prefix.find_first_of("/@:") != std::string::npos) {
        return FileError(origin, absl::StrCat("wildcard prefix \"", reg.prefix,
                                              "\" must be of the form *.example.com"));
      }
    } else if (reg.location.empty()) {
      return FileError(origin, absl::StrCat("registry \"", reg.prefix,
                                            "\": location is unset and the prefix is not of "
                                            "the form *.example.com"));
    }
  }
  if (!pull_from.empty()) {
    return FileError(origin, absl::StrCat("pull-from-mirror must not be set for the "
                                          "non-mirror registry \"",
                                          reg.prefix, "\""));
  }
  if (const toml::node* n = t.get("mirror")) {
    const toml::array* mirrors = n->as_array();
    if (mirrors == nullptr) return TypeError(origin, *n, "mirror", "an array of tables");
    for (const toml::node& e : *mirrors) {
      const toml::table* mt = e.as_table();
      if (mt == nullptr) return TypeError(origin, e, "mirror", "an array of tables");
      ASSIGN_OR_RETURN(MirrorConfig m, ParseMirror(*mt, reg, origin));
      reg.mirrors.push_back(std::move(m));
    }
  }
  return reg;
}

Status ParseAliases(const toml::table& t, std::string_view origin, RegistriesConf& conf) {
  for (auto&& [key, node] : t) {
    std::string name(key.str());
    const auto* v = node.as_string();
    if (v == nullptr) return TypeError(origin, node, name, "a string");
    StatusOr<Reference> short_ref = ParseRepositoryName(name);
    if (!short_ref.ok()) {
      return FileError(origin, absl::StrCat("invalid short-name alias \"", name,
                                            "\": ", Message(short_ref.status())));
    }
    if (!short_ref->IsShortName()) {
      return FileError(origin, absl::StrCat("invalid short-name alias \"", name,
                                            "\": must not contain a registry"));
    }
    std::string value = v->get();
    if (!value.empty()) {
      StatusOr<Reference> target = ParseRepositoryName(value);
      if (!target.ok()) {
        return FileError(origin, absl::StrCat("invalid value for alias \"", name,
                                              "\": ", Message(target.status())));
      }
      if (target->IsShortName()) {
        return FileError(origin, absl::StrCat("invalid value \"", value, "\" for alias \"", name,
                                              "\": must contain a registry and repository"));
      }
      value = target->Name();
    }
    conf.aliases[name] = value;
    conf.alias_origins[name] = std::string(origin);
  }
  return absl::OkStatus();
}

// v1 format: [registries.search] registries = [...], [registries.insecure], [registries.block].
StatusOr<bool> ConvertV1(const toml::table& root, std::string_view origin, RegistriesConf& conf) {
  const toml::node* n = root.get("registries");
  if (n == nullptr) return false;
  const toml::table* v1 = n->as_table();
  if (v1 == nullptr) return TypeError(origin, *n, "registries", "a table");
  auto list = [&](std::string_view section) -> StatusOr<std::vector<std::string>> {
    std::vector<std::string> out;
    const toml::node* s = v1->get(section);
    if (s == nullptr) return out;
    const toml::table* st = s->as_table();
    if (st == nullptr) return TypeError(origin, *s, section, "a table");
    ASSIGN_OR_RETURN(bool present, ReadStringArray(*st, "registries", origin, out));
    (void)present;
    return out;
  };
  ASSIGN_OR_RETURN(std::vector<std::string> search, list("search"));
  ASSIGN_OR_RETURN(std::vector<std::string> insecure, list("insecure"));
  ASSIGN_OR_RETURN(std::vector<std::string> block, list("block"));
  std::map<std::string, RegistryConfig> by_location;
  std::vector<std::string> order;
  auto get = [&](const std::string& raw) -> StatusOr<RegistryConfig*> {
    ASSIGN_OR_RETURN(std::string location, CleanLocation(raw, origin));
    auto [it, inserted] = by_location.try_emplace(location);
    if (inserted) {
      it->second.prefix = location;
      it->second.location = location;
      it->second.origin = std::string(origin);
      order.push_back(location);
    }
    return &it->second;
  };
  for (const std::string& b : block) {
    ASSIGN_OR_RETURN(RegistryConfig * reg, get(b));
    reg->blocked = true;
  }
  for (const std::string& i : insecure) {
    ASSIGN_OR_RETURN(RegistryConfig * reg, get(i));
    reg->insecure = true;
  }
  for (const std::string& location : order) conf.registries.push_back(by_location[location]);
  conf.unqualified_search_registries = std::move(search);
  conf.unqualified_search_origin = std::string(origin);
  return !conf.registries.empty() || !conf.unqualified_search_registries.empty();
}

bool HasV2Keys(const toml::table& root) {
  for (std::string_view key : {"registry", "unqualified-search-registries", "short-name-mode",
                               "aliases", "credential-helpers"}) {
    if (root.contains(key)) return true;
  }
  return false;
}

void SortAndDedupRegistries(std::vector<RegistryConfig>& regs) {
  // Within one file the first entry for a prefix wins, as in containers/image.
  std::vector<RegistryConfig> unique;
  std::set<std::string> seen;
  for (RegistryConfig& r : regs) {
    if (seen.insert(r.prefix).second) unique.push_back(std::move(r));
  }
  std::sort(unique.begin(), unique.end(),
            [](const RegistryConfig& a, const RegistryConfig& b) { return a.prefix < b.prefix; });
  regs = std::move(unique);
}

StatusOr<RegistriesConf> ParseFile(std::string_view text, std::string_view origin, bool force_v2) {
  ASSIGN_OR_RETURN(toml::table root, ParseToml(text, origin));
  RegistriesConf conf;
  if (root.contains("registries")) {
    if (force_v2) {
      return FileError(origin, "drop-in files must use the v2 format, not [registries.*]");
    }
    if (HasV2Keys(root)) return FileError(origin, "mixing registries.conf v1 and v2 formats");
    ASSIGN_OR_RETURN(bool converted, ConvertV1(root, origin, conf));
    (void)converted;
    SortAndDedupRegistries(conf.registries);
    return conf;
  }
  ASSIGN_OR_RETURN(bool search_set, ReadStringArray(root, "unqualified-search-registries", origin,
                                                    conf.unqualified_search_registries));
  if (search_set) {
    conf.unqualified_search_origin = std::string(origin);
    for (std::string& r : conf.unqualified_search_registries) {
      ASSIGN_OR_RETURN(r, CleanLocation(r, origin));
      if (!ValidateDomainName(r).ok()) {
        return FileError(origin, absl::StrCat("invalid unqualified-search-registries entry \"", r,
                                              "\" (want host[:port])"));
      }
    }
  }
  std::string mode;
  RETURN_IF_ERROR(ReadString(root, "short-name-mode", origin, mode));
  if (!mode.empty()) {
    StatusOr<ShortNameMode> parsed = ParseShortNameMode(mode);
    if (!parsed.ok()) return FileError(origin, Message(parsed.status()));
    conf.short_name_mode = *parsed;
  }
  if (const toml::node* n = root.get("registry")) {
    const toml::array* regs = n->as_array();
    if (regs == nullptr) return TypeError(origin, *n, "registry", "an array of tables");
    for (const toml::node& e : *regs) {
      const toml::table* rt = e.as_table();
      if (rt == nullptr) return TypeError(origin, e, "registry", "an array of tables");
      ASSIGN_OR_RETURN(RegistryConfig reg, ParseRegistry(*rt, origin));
      conf.registries.push_back(std::move(reg));
    }
  }
  SortAndDedupRegistries(conf.registries);
  if (const toml::node* n = root.get("aliases")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return TypeError(origin, *n, "aliases", "a table");
    RETURN_IF_ERROR(ParseAliases(*t, origin, conf));
  }
  for (auto&& [key, node] : root) {
    static const std::set<std::string_view> kKnown = {
        "registry",           "unqualified-search-registries",     "short-name-mode", "aliases",
        "credential-helpers", "additional-layer-store-auth-helper"};
    if (kKnown.count(key.str()) == 0) {
      CRIO_LOG_DEBUG("registries.conf {}: ignoring unknown key \"{}\"", std::string(origin),
                     std::string(key.str()));
    }
  }
  return conf;
}

void Merge(RegistriesConf& base, RegistriesConf&& update) {
  std::map<std::string, RegistryConfig> by_prefix;
  for (RegistryConfig& r : base.registries) by_prefix[r.prefix] = std::move(r);
  for (RegistryConfig& r : update.registries) by_prefix[r.prefix] = std::move(r);
  base.registries.clear();
  for (auto& [prefix, r] : by_prefix) base.registries.push_back(std::move(r));
  if (!update.unqualified_search_origin.empty()) {
    base.unqualified_search_registries = std::move(update.unqualified_search_registries);
    base.unqualified_search_origin = std::move(update.unqualified_search_origin);
  }
  if (update.short_name_mode.has_value()) base.short_name_mode = update.short_name_mode;
  for (auto& [k, v] : update.aliases) base.aliases[k] = v;
  for (auto& [k, v] : update.alias_origins) base.alias_origins[k] = v;
}

// ---------------------------------------------------------------------------------------------
// Matching and rewriting.
// ---------------------------------------------------------------------------------------------

// Length of the part of `name` matched by a "*.example.com" prefix (the host), or -1.
long MatchWildcardPrefix(std::string_view name, std::string_view prefix) {
  std::string_view suffix = prefix.substr(1);  // ".example.com"
  size_t index = name.find(suffix);
  if (index == std::string_view::npos) return -1;
  if (name.substr(0, index).find('/') != std::string_view::npos) return -1;
  index += suffix.size();
  if (index == name.size()) return static_cast<long>(index);
  char c = name[index];
  return (c == ':' || c == '/' || c == '@') ? static_cast<long>(index) : -1;
}

long MatchPrefix(std::string_view name, std::string_view prefix) {
  if (IsWildcardPrefix(prefix)) return MatchWildcardPrefix(name, prefix);
  if (name.size() < prefix.size() || name.substr(0, prefix.size()) != prefix) return -1;
  if (name.size() == prefix.size()) return static_cast<long>(prefix.size());
  char c = name[prefix.size()];
  return (c == ':' || c == '/' || c == '@') ? static_cast<long>(prefix.size()) : -1;
}

StatusOr<Reference> Rewrite(const Reference& ref, const RegistryConfig& reg,
                            std::string_view location) {
  if (location.empty()) return ref;  // wildcard entries keep the reference as is
  std::string name = ref.String();
  long matched = MatchPrefix(name, reg.prefix);
  CRIO_CHECK(matched >= 0, "FindRegistry returned a registry whose prefix does not match");
  std::string rewritten = absl::StrCat(std::string(location), name.substr(matched));
  StatusOr<Reference> out = ParseReference(rewritten);
  if (!out.ok()) {
    return InvalidArgument(absl::StrCat("rewriting ", name, " with location \"",
                                        std::string(location), "\" (", reg.origin,
                                        "): ", Message(out.status())));
  }
  if (out->IsShortName()) {
    return InvalidArgument(absl::StrCat("rewriting ", name, " with location \"",
                                        std::string(location), "\" (", reg.origin, ") gives \"",
                                        rewritten, "\", which has no registry host"));
  }
  return out;
}

bool MirrorApplies(const RegistryConfig& reg, const MirrorConfig& m, bool digested) {
  if (reg.mirror_by_digest_only) return digested;
  switch (m.pull_from_mirror) {
    case PullFromMirror::kDigestOnly:
      return digested;
    case PullFromMirror::kTagOnly:
      return !digested;
    case PullFromMirror::kAll:
      return true;
  }
  return true;
}

Status BlockedError(const RegistryConfig& reg) {
  return PermissionDenied(
      absl::StrCat("registry ", reg.prefix, " is blocked in registries.conf (", reg.origin, ")"));
}

// Mirrors then origin for one fully-qualified candidate.
StatusOr<std::vector<PullSource>> SourcesForCandidate(const Reference& cand,
                                                      const RegistriesConf& conf) {
  std::vector<PullSource> out;
  const RegistryConfig* reg = FindRegistry(conf, cand.String());
  if (reg == nullptr) {
    out.push_back(PullSource{cand, cand, false, false});
    return out;
  }
  if (reg->blocked) return BlockedError(*reg);
  bool digested = !cand.digest.empty();
  for (const MirrorConfig& m : reg->mirrors) {
    if (!MirrorApplies(*reg, m, digested)) continue;
    ASSIGN_OR_RETURN(Reference physical, Rewrite(cand, *reg, m.location));
    out.push_back(PullSource{cand, std::move(physical), m.insecure, true});
  }
  ASSIGN_OR_RETURN(Reference physical, Rewrite(cand, *reg, reg->location));
  out.push_back(PullSource{cand, std::move(physical), reg->insecure, false});
  return out;
}

std::string UserInput(const Reference& ref) {
  std::string out = ref.short_name;
  if (!ref.tag.empty()) absl::StrAppend(&out, ":", ref.tag);
  if (!ref.digest.empty()) absl::StrAppend(&out, "@", ref.digest);
  return out;
}

StatusOr<std::vector<Reference>> ShortNameCandidates(const Reference& ref,
                                                     const RegistriesConf& conf,
                                                     ShortNameMode mode) {
  std::vector<Reference> out;
  auto alias = conf.aliases.find(ref.short_name);
  if (alias != conf.aliases.end() && !alias->second.empty()) {
    ASSIGN_OR_RETURN(Reference target, ParseRepositoryName(alias->second));
    target.tag = ref.tag;
    target.digest = ref.digest;
    CRIO_LOG_INFO("Resolved \"{}\" as an alias ({})", ref.short_name,
                  conf.alias_origins.count(ref.short_name) ? conf.alias_origins.at(ref.short_name)
                                                           : std::string("registries.conf"));
    out.push_back(std::move(target));
    return out;
  }
  const std::vector<std::string>& search = conf.unqualified_search_registries;
  if (search.empty()) {
    return FailedPrecondition(absl::StrCat(
        "short name \"", UserInput(ref),
        "\" did not resolve to an alias and no unqualified-search registries are defined in ",
        conf.unqualified_search_origin.empty() ? std::string("registries.conf")
                                               : conf.unqualified_search_origin));
  }
  if (mode == ShortNameMode::kEnforcing && search.size() > 1) {
    return FailedPrecondition(absl::StrCat("short name mode is enforcing, but image name ",
                                           UserInput(ref), " returns ambiguous list"));
  }
  for (const std::string& registry : search) {
    std::string qualified = absl::StrCat(registry, "/", UserInput(ref));
    StatusOr<Reference> cand = ParseReference(qualified);
    if (!cand.ok()) {
      return InvalidArgument(absl::StrCat("creating reference with unqualified-search registry \"",
                                          registry, "\": ", Message(cand.status())));
    }
    if (cand->IsShortName()) {
      // A search registry without '.', ':' or "localhost" would re-parse as a docker.io path.
      return InvalidArgument(absl::StrCat("unqualified-search registry \"", registry,
                                          "\" does not look like a registry host"));
    }
    out.push_back(std::move(*cand));
  }
  return out;
}

}  // namespace

StatusOr<ShortNameMode> ParseShortNameMode(std::string_view s) {
  if (s == "disabled") return ShortNameMode::kDisabled;
  if (s == "permissive") return ShortNameMode::kPermissive;
  if (s == "enforcing") return ShortNameMode::kEnforcing;
  return InvalidArgument(absl::StrCat("invalid short-name-mode \"", std::string(s),
                                      "\" (want disabled, permissive or enforcing)"));
}

std::string_view ShortNameModeName(ShortNameMode mode) {
  switch (mode) {
    case ShortNameMode::kDisabled:
      return "disabled";
    case ShortNameMode::kPermissive:
      return "permissive";
    case ShortNameMode::kEnforcing:
      return "enforcing";
  }
  return "unknown";
}

StatusOr<RegistriesConf> ParseRegistriesConf(std::string_view toml_text, std::string_view origin) {
  return ParseFile(toml_text, origin, /*force_v2=*/false);
}

StatusOr<RegistriesConf> LoadRegistriesConf(const std::string& main_path,
                                            const std::string& drop_in_dir) {
  RegistriesConf conf;
  StatusOr<std::string> main_text = os::ReadSmallFile(main_path);
  if (main_text.ok()) {
    ASSIGN_OR_RETURN(conf, ParseFile(*main_text, main_path, /*force_v2=*/false));
  } else if (!absl::IsNotFound(main_text.status())) {
    return main_text.status();
  }
  if (drop_in_dir.empty()) return conf;

  std::vector<std::string> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(drop_in_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return conf;
    return ErrnoError(ec.value(), absl::StrCat("reading registries.conf.d `", drop_in_dir, "`"));
  }
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) continue;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".conf") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& path : files) {
    StatusOr<std::string> text = os::ReadSmallFile(path);
    if (!text.ok()) {
      if (absl::IsNotFound(text.status())) continue;  // removed since the listing
      return text.status();
    }
    ASSIGN_OR_RETURN(RegistriesConf drop_in, ParseFile(*text, path, /*force_v2=*/true));
    Merge(conf, std::move(drop_in));
  }
  return conf;
}

const RegistryConfig* FindRegistry(const RegistriesConf& conf, std::string_view name) {
  const RegistryConfig* best = nullptr;
  size_t best_len = 0;
  for (const RegistryConfig& r : conf.registries) {
    // Like containers/image, specificity is the prefix's own length, so "sub.example.com"
    // beats "*.example.com".
    if (MatchPrefix(name, r.prefix) >= 0 && r.prefix.size() > best_len) {
      best = &r;
      best_len = r.prefix.size();
    }
  }
  return best;
}

StatusOr<std::vector<PullSource>> ResolvePullSources(const Reference& ref,
                                                     const RegistriesConf& conf,
                                                     std::optional<ShortNameMode> mode_override) {
  ShortNameMode mode =
      mode_override.value_or(conf.short_name_mode.value_or(ShortNameMode::kPermissive));
  std::vector<Reference> candidates;
  if (ref.IsShortName()) {
    ASSIGN_OR_RETURN(candidates, ShortNameCandidates(ref, conf, mode));
  } else {
    candidates.push_back(ref);
  }
  std::vector<PullSource> out;
  Status first_blocked;
  for (const Reference& cand : candidates) {
    StatusOr<std::vector<PullSource>> sources = SourcesForCandidate(cand, conf);
    if (!sources.ok()) {
      if (absl::IsPermissionDenied(sources.status())) {
        CRIO_LOG_DEBUG("image {}: skipping candidate {}: {}", ref.String(), cand.String(),
                       Message(sources.status()));
        if (first_blocked.ok()) first_blocked = sources.status();
        continue;
      }
      return sources.status();
    }
    for (PullSource& s : *sources) out.push_back(std::move(s));
  }
  if (out.empty()) {
    CRIO_CHECK(!first_blocked.ok(), "every candidate either yields sources or is blocked");
    return first_blocked;
  }
  return out;
}

}  // namespace crio::image
