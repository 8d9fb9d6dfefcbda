#include "image/auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "os/file.h"

namespace crio::image {
namespace {

using json = nlohmann::json;

std::string NormalizeRegistry(std::string_view host) {
  if (host == "registry-1.docker.io" || host == "docker.io") return "index.docker.io";
  return std::string(host);
}

// "https://index.docker.io/v1/" -> "index.docker.io"; plain keys keep their path.
std::string NormalizeAuthKey(std::string_view key) {
  std::string_view stripped = key;
  bool had_scheme = false;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (stripped.substr(0, scheme.size()) == scheme) {
      stripped.remove_prefix(scheme.size());
      had_scheme = true;
      break;
    }
  }
  if (had_scheme) stripped = stripped.substr(0, stripped.find('/'));
  return NormalizeRegistry(stripped);
}

StatusOr<Credentials> DecodeEntry(const json& entry, const std::string& key,
                                  std::string_view origin, bool* usable) {
  *usable = false;
  Credentials creds;
  if (!entry.is_object()) return creds;
  if (entry.contains("auth") && entry["auth"].is_string()) {
    std::string encoded = entry["auth"].get<std::string>();
    if (!encoded.empty()) {
      StatusOr<std::string> decoded = Base64Decode(encoded);
      if (!decoded.ok()) {
        return InvalidArgument(absl::StrCat(std::string(origin), ": entry \"", key,
                                            "\": \"auth\" is not valid base64"));
      }
      size_t colon = decoded->find(':');
      if (colon != std::string::npos) {
        creds.username = decoded->substr(0, colon);
        creds.password = decoded->substr(colon + 1);
        // Some writers pad the password with NULs.
        while (!creds.password.empty() && creds.password.back() == '\0') creds.password.pop_back();
        *usable = true;
      }
    }
  }
  if (entry.contains("identitytoken") && entry["identitytoken"].is_string()) {
    creds.identity_token = entry["identitytoken"].get<std::string>();
    if (!creds.identity_token.empty()) *usable = true;
  }
  return creds;
}

}  // namespace

StatusOr<std::string> Base64Decode(std::string_view in) {
  std::string padded(in);
  while (!padded.empty() && (padded.back() == '\n' || padded.back() == '\r')) padded.pop_back();
  if (padded.size() % 4 == 1) return InvalidArgument("invalid base64: bad length");
  while (padded.size() % 4 != 0) padded += '=';
  if (padded.empty()) return std::string();
  size_t pad = 0;
  if (padded.back() == '=') ++pad;
  if (padded.size() >= 2 && padded[padded.size() - 2] == '=') ++pad;
  std::string out(padded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) return InvalidArgument("invalid base64");
  // EVP_DecodeBlock counts the bytes '=' padding stands for; drop them.
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string Base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

StatusOr<Credentials> CredentialsFromAuthConfig(const AuthConfig& config) {
  Credentials creds;
  creds.username = config.username;
  creds.password = config.password;
  if (!config.auth.empty()) {
    StatusOr<std::string> decoded = Base64Decode(config.auth);
    if (!decoded.ok()) return InvalidArgument("invalid auth config: \"auth\" is not valid base64");
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) {
      return InvalidArgument("invalid auth config: \"auth\" must encode \"username:password\"");
    }
    creds.username = decoded->substr(0, colon);
    creds.password = decoded->substr(colon + 1);
  }
  creds.identity_token = config.identity_token;
  creds.registry_token = config.registry_token;
  return creds;
}

StatusOr<Credentials> LookupAuthJson(std::string_view json_text, std::string_view origin,
                                     const Reference& ref) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return InvalidArgument(absl::StrCat(std::string(origin), ": invalid auth file JSON"));
  }
  if (!root.contains("auths") || !root["auths"].is_object()) return Credentials{};
  const json& auths = root["auths"];

  // Exact keys, most specific first: host/ns/repo, host/ns, host.
  std::string key = ref.Name();
  while (true) {
    if (auths.contains(key)) {
      bool usable = false;
      ASSIGN_OR_RETURN(Credentials creds, DecodeEntry(auths[key], key, origin, &usable));
      if (usable) return creds;
    }
    size_t slash = key.rfind('/');
    if (slash == std::string::npos) break;
    key.resize(slash);
  }

  // Legacy/URL keys, compared by normalised host. Sorted for a deterministic pick.
  std::string want = NormalizeRegistry(ref.domain);
  std::vector<std::string> keys;
  for (const auto& [k, v] : auths.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  for (const std::string& k : keys) {
    if (NormalizeAuthKey(k) != want) continue;
    bool usable = false;
    ASSIGN_OR_RETURN(Credentials creds, DecodeEntry(auths[k], k, origin, &usable));
    if (usable) return creds;
  }
  return Credentials{};
}

StatusOr<Credentials> LookupAuthFile(const std::string& path, const Reference& ref) {
  if (path.empty()) return Credentials{};
  StatusOr<std::string> text = os::ReadSmallFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return Credentials{};
    return text.status();
  }
  return LookupAuthJson(*text, path, ref);
}

}  // namespace crio::image
