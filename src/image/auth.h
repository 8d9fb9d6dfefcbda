#pragma once
// Registry credentials: from the CRI AuthConfig of a PullImage request, or from an auth file in
// containers-auth.json(5) format.

#include <string>
#include <string_view>

#include "image/reference.h"
#include "util/status.h"

namespace crio::image {

// The CRI runtime.v1.AuthConfig fields, as plain strings.
struct AuthConfig {
  std::string username;
  std::string password;
  std::string auth;  // base64("user:password"); overrides username/password when set
  std::string server_address;
  std::string identity_token;  // OAuth2 refresh token, exchanged at the token endpoint
  std::string registry_token;  // bearer token sent to the registry as is
};

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;
  std::string registry_token;

  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
  bool operator==(const Credentials&) const = default;
};

// Standard base64 (with or without '=' padding) via OpenSSL EVP_DecodeBlock.
// Errors: InvalidArgument for characters outside the alphabet or a bad length.
StatusOr<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

// Credentials from a CRI AuthConfig, as CRI-O does: a non-empty `auth` is decoded into
// username/password (and wins over the plain fields); tokens are passed through.
// Errors: InvalidArgument when `auth` is not base64 or has no ':' separator.
StatusOr<Credentials> CredentialsFromAuthConfig(const AuthConfig& config);

// Looks up credentials for `ref` (the reference actually contacted, i.e. a PullSource's
// `reference`) in a containers-auth.json file: {"auths": {"<key>": {"auth": "base64",
// "identitytoken": "..."}}}. Keys are tried most specific first: "host/ns/repo", "host/ns",
// "host"; then legacy keys ("https://host/v1/", "http://host") normalised to their host, with
// docker.io matching "index.docker.io" / "registry-1.docker.io" / "https://index.docker.io/v1/".
// A missing file or no matching entry gives empty Credentials (anonymous access), as in
// containers/image. An entry whose "auth" decodes without a ':' is skipped like Docker does.
// Errors: InvalidArgument for invalid JSON or a non-base64 "auth"; errno-derived errors for an
// unreadable file.
StatusOr<Credentials> LookupAuthFile(const std::string& path, const Reference& ref);

// Same lookup over the file's text (for tests and callers that already read the file).
StatusOr<Credentials> LookupAuthJson(std::string_view json_text, std::string_view origin,
                                     const Reference& ref);

}  // namespace crio::image
