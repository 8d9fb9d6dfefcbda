#pragma once
// containers-registries.conf(5), version 2: registry prefixes/locations/mirrors, blocked and
// insecure registries, unqualified-search registries, short-name mode and aliases, plus the
// registries.conf.d drop-in directory. Used to turn a user reference into the ordered list of
// places to pull it from.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/reference.h"
#include "util/status.h"

namespace crio::image {

// CRI-O's defaults; callers pass paths explicitly (tests use temp dirs).
inline constexpr std::string_view kDefaultRegistriesConfPath = "/etc/containers/registries.conf";
inline constexpr std::string_view kDefaultRegistriesConfDir = "/etc/containers/registries.conf.d";

enum class ShortNameMode { kDisabled, kPermissive, kEnforcing };
// Parses "disabled" | "permissive" | "enforcing". Errors: InvalidArgument.
StatusOr<ShortNameMode> ParseShortNameMode(std::string_view s);
std::string_view ShortNameModeName(ShortNameMode mode);

enum class PullFromMirror { kAll, kDigestOnly, kTagOnly };

struct MirrorConfig {
  std::string location;  // host[:port][/namespace...]
  bool insecure = false;
  PullFromMirror pull_from_mirror = PullFromMirror::kAll;
};

struct RegistryConfig {
  // "host[:port][/ns...][/repo]" or "*.example.com"; defaults to `location`.
  std::string prefix;
  // Where images matching `prefix` really live; empty only for wildcard prefixes (no rewrite).
  std::string location;
  bool insecure = false;
  bool blocked = false;
  bool mirror_by_digest_only = false;
  std::vector<MirrorConfig> mirrors;  // tried in order, before `location`
  std::string origin;                 // file this entry came from (for messages)
};

struct RegistriesConf {
  // host[:port] entries tried, in order, for short names without an alias.
  std::vector<std::string> unqualified_search_registries;
  std::string unqualified_search_origin;  // file that set the list
  // Unset when no file sets it; containers/image then defaults to permissive. CRI-O overrides it
  // with crio.conf's short_name_mode (default "enforcing"); see ResolvePullSources.
  std::optional<ShortNameMode> short_name_mode;
  // One entry per prefix (a later file's entry replaces an earlier one), sorted by prefix.
  std::vector<RegistryConfig> registries;
  // Short name ("busybox", "library/busybox") -> fully-qualified repository. An empty value
  // (set by a drop-in to cancel an earlier alias) means "no alias".
  std::map<std::string, std::string> aliases;
  std::map<std::string, std::string> alias_origins;
};

// Parses one file's text. `origin` names it in errors and in RegistryConfig::origin.
// v1 tables ([registries.search|insecure|block]) are converted as containers/image does, unless
// mixed with v2 keys. Errors: InvalidArgument("<origin>: <what>") for TOML syntax errors, wrong
// value types, both prefix and location unset, a location with a URI scheme, a malformed
// wildcard prefix ("*.host" only, no location), a mirror without location, an unknown
// pull-from-mirror or short-name-mode value, pull-from-mirror combined with
// mirror-by-digest-only, an invalid unqualified-search registry, or an invalid alias.
StatusOr<RegistriesConf> ParseRegistriesConf(std::string_view toml_text, std::string_view origin);

// Loads `main_path` (a missing file counts as empty) and then every `*.conf` file directly in
// `drop_in_dir` (a missing dir is fine) in lexical order; drop-ins must use the v2 format.
// Later files override: [[registry]] entries with the same prefix are replaced,
// unqualified-search-registries and short-name-mode are replaced when set, aliases merge per key.
// Errors: InvalidArgument from parsing (annotated with the path); other read errors (EACCES...)
// with the errno-derived code.
StatusOr<RegistriesConf> LoadRegistriesConf(const std::string& main_path,
                                            const std::string& drop_in_dir);

// The [[registry]] entry whose prefix matches `name` (a "domain/path[:tag|@digest]" string)
// best: longest prefix; a prefix matches when equal to `name` or followed by '/', ':' or '@';
// "*.example.com" matches any subdomain host of example.com. nullptr if none matches.
const RegistryConfig* FindRegistry(const RegistriesConf& conf, std::string_view name);

struct PullSource {
  // The fully-qualified image the user asked for (after short-name resolution). The pulled image
  // is stored under this name and it is what policy.json is evaluated against.
  Reference logical;
  // Where to fetch from: the logical reference with the registry prefix rewritten to the mirror's
  // or registry's location. `reference.domain` is the host[:port] to connect to; look up
  // credentials for this reference.
  Reference reference;
  bool insecure = false;  // plain HTTP or unverified TLS allowed
  bool mirror = false;
};

// Returns, in the order to try them, the sources for `ref`:
//  * fully-qualified `ref`: the matching registry's mirrors (filtered by pull-from-mirror /
//    mirror-by-digest-only against whether `ref` has a digest), then the registry itself, each
//    with the prefix->location rewrite applied; without a matching entry, just `ref` (secure).
//  * short name: an alias, if one is configured, is the only candidate; otherwise each
//    unqualified-search registry in order (docker.io gets "library/" for one-component names);
//    each candidate then expands to its mirrors and origin as above. Tag/digest are kept.
// `mode_override` (CRI-O's crio.conf short_name_mode) replaces the file's short-name-mode.
// With mode enforcing, no alias and more than one search registry, CRI-O (which has no TTY to
// prompt on) fails with "short name mode is enforcing, but image name X returns ambiguous list"
// (cri-o internal/storage/image.go); we do the same: FailedPrecondition. Permissive and disabled
// modes try every search registry in order.
// Errors: PermissionDenied("registry X is blocked in registries.conf") when the (only, or every)
// candidate's registry is blocked (blocked candidates are skipped when others remain);
// FailedPrecondition for a short name with no alias and no search registries, or the ambiguity
// above; InvalidArgument if a rewrite yields an invalid reference.
StatusOr<std::vector<PullSource>> ResolvePullSources(
    const Reference& ref, const RegistriesConf& conf,
    std::optional<ShortNameMode> mode_override = std::nullopt);

}  // namespace crio::image
