#include "image/reference.h"

#include "absl/strings/str_cat.h"
#include "image/digest.h"

namespace crio::image {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;
constexpr std::string_view kLegacyDockerHubDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool HasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

Status Invalid(std::string_view input, std::string_view what) {
  return InvalidArgument(
      absl::StrCat("invalid image reference \"", std::string(input), "\": ", std::string(what)));
}

// Distribution grammar: path-component := [a-z0-9]+ (separator [a-z0-9]+)*,
// separator := "." | "_" | "__" | "-"+.
bool IsValidPathComponent(std::string_view c) {
  size_t i = 0;
  auto alnum_run = [&]() {
    size_t start = i;
    while (i < c.size() && IsLowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsValidDomainComponent(std::string_view c) {
  if (c.empty() || !IsAlnum(c.front()) || !IsAlnum(c.back())) return false;
  for (char ch : c) {
    if (!IsAlnum(ch) && ch != '-') return false;
  }
  return true;
}

Status ValidateDomain(std::string_view input, std::string_view domain) {
  std::string_view host = domain;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) {
      return Invalid(input,
                     absl::StrCat("invalid IPv6 address in domain \"", std::string(domain), "\""));
    }
    for (char c : host.substr(1, close - 1)) {
      bool hex = IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':') {
        return Invalid(
            input, absl::StrCat("invalid IPv6 address in domain \"", std::string(domain), "\""));
      }
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Invalid(input, absl::StrCat("invalid domain \"", std::string(domain), "\""));
      }
      port = rest.substr(1);
      if (port.empty()) {
        return Invalid(input, absl::StrCat("empty port in domain \"", std::string(domain), "\""));
      }
    }
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) {
        return Invalid(input, absl::StrCat("empty port in domain \"", std::string(domain), "\""));
      }
    }
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      std::string_view component =
          host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (!IsValidDomainComponent(component)) {
        return Invalid(input, absl::StrCat("invalid domain \"", std::string(domain),
                                           "\" (allowed: letters, digits, '-' and '.')"));
      }
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  for (char c : port) {
    if (!IsDigit(c)) {
      return Invalid(input, absl::StrCat("invalid port in domain \"", std::string(domain), "\""));
    }
  }
  return absl::OkStatus();
}

Status ValidatePath(std::string_view input, std::string_view path) {
  if (path.empty()) return Invalid(input, "empty repository name");
  if (HasUpper(path)) {
    return Invalid(input,
                   absl::StrCat("repository name \"", std::string(path), "\" must be lowercase"));
  }
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view component = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidPathComponent(component)) {
      return Invalid(input,
                     absl::StrCat("invalid repository path component \"", std::string(component),
                                  "\" (allowed: a-z, 0-9, separated by '.', '_', '__' or '-')"));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return absl::OkStatus();
}

Status ValidateTag(std::string_view input, std::string_view tag) {
  if (tag.empty()) return Invalid(input, "empty tag");
  if (tag.size() > kMaxTagLength) {
    return Invalid(input, absl::StrCat("tag is longer than ", kMaxTagLength, " characters"));
  }
  if (!IsWordChar(tag.front())) {
    return Invalid(input, absl::StrCat("invalid tag \"", std::string(tag),
                                       "\" (must start with a letter, digit or '_')"));
  }
  for (char c : tag) {
    if (!IsWordChar(c) && c != '.' && c != '-') {
      return Invalid(input, absl::StrCat("invalid tag \"", std::string(tag),
                                         "\" (allowed: letters, digits, '_', '.', '-')"));
    }
  }
  return absl::OkStatus();
}

// A first component names a registry when it looks like a host: has a '.' or a ':' (port), or is
// "localhost". (Distribution also treats an uppercase first component as a domain; like
// containers/image's short-name logic we do not, so "Foo/bar" is rejected as non-lowercase.)
bool LooksLikeDomain(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

struct Parts {
  std::string domain;  // empty when not given
  std::string path;
  std::string tag;
  std::string digest;
};

StatusOr<Parts> Split(std::string_view input) {
  if (input.empty()) return Invalid(input, "empty reference");
  Parts parts;
  std::string_view name = input;
  size_t at = name.find('@');
  if (at != std::string_view::npos) {
    parts.digest = std::string(name.substr(at + 1));
    name = name.substr(0, at);
    Status s = ValidateDigest(parts.digest);
    if (!s.ok()) return Invalid(input, Message(s));
  }
  size_t last_slash = name.rfind('/');
  size_t last_colon = name.rfind(':');
  if (last_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || last_colon > last_slash)) {
    parts.tag = std::string(name.substr(last_colon + 1));
    name = name.substr(0, last_colon);
    RETURN_IF_ERROR(ValidateTag(input, parts.tag));
  }
  if (name.empty()) return Invalid(input, "empty repository name");
  if (name.size() > kMaxNameLength) {
    return Invalid(input,
                   absl::StrCat("repository name is longer than ", kMaxNameLength, " characters"));
  }
  size_t slash = name.find('/');
  if (slash != std::string_view::npos && LooksLikeDomain(name.substr(0, slash))) {
    parts.domain = std::string(name.substr(0, slash));
    parts.path = std::string(name.substr(slash + 1));
    RETURN_IF_ERROR(ValidateDomain(input, parts.domain));
  } else {
    parts.path = std::string(name);
  }
  RETURN_IF_ERROR(ValidatePath(input, parts.path));
  return parts;
}

Reference Normalize(Parts parts) {
  Reference ref;
  if (parts.domain.empty()) {
    ref.short_name = parts.path;
    ref.domain = std::string(kDockerHubDomain);
  } else if (parts.domain == kLegacyDockerHubDomain) {
    ref.domain = std::string(kDockerHubDomain);
  } else {
    ref.domain = std::move(parts.domain);
  }
  ref.path = std::move(parts.path);
  if (ref.domain == kDockerHubDomain && ref.path.find('/') == std::string::npos) {
    ref.path = std::string(kOfficialRepoPrefix) + ref.path;
  }
  ref.tag = std::move(parts.tag);
  ref.digest = std::move(parts.digest);
  return ref;
}

}  // namespace

std::string Reference::Name() const { return absl::StrCat(domain, "/", path); }

std::string Reference::String() const {
  std::string out = Name();
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

std::string Reference::FamiliarName() const {
  if (domain != kDockerHubDomain) return Name();
  std::string_view p = path;
  if (p.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix &&
      p.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
    p.remove_prefix(kOfficialRepoPrefix.size());
  }
  return std::string(p);
}

std::string Reference::FamiliarString() const {
  std::string out = FamiliarName();
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

std::string Reference::RepoTagString() const {
  if (tag.empty()) return "";
  return absl::StrCat(Name(), ":", tag);
}

std::string Reference::RepoDigestString(std::string_view d) const {
  return absl::StrCat(Name(), "@", std::string(d));
}

Status ValidateDomainName(std::string_view domain) {
  if (domain.empty()) return InvalidArgument("invalid registry domain: empty");
  Status s = ValidateDomain(domain, domain);
  if (!s.ok()) {
    return InvalidArgument(absl::StrCat("invalid registry domain \"", std::string(domain), "\""));
  }
  return absl::OkStatus();
}

bool LooksLikeImageId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

StatusOr<Reference> ParseReference(std::string_view input) {
  if (LooksLikeImageId(input)) {
    return Invalid(input, "a 64-character hex string is an image ID, not a repository name");
  }
  ASSIGN_OR_RETURN(Parts parts, Split(input));
  Reference ref = Normalize(std::move(parts));
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = std::string(kDefaultTag);
  return ref;
}

StatusOr<Reference> ParseRepositoryName(std::string_view input) {
  if (LooksLikeImageId(input)) {
    return Invalid(input, "a 64-character hex string is an image ID, not a repository name");
  }
  ASSIGN_OR_RETURN(Parts parts, Split(input));
  if (!parts.tag.empty() || !parts.digest.empty()) {
    return Invalid(input, "a repository name must not contain a tag or digest");
  }
  return Normalize(std::move(parts));
}

}  // namespace crio::image
