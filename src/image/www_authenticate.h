#pragma once
// Parsing of the HTTP WWW-Authenticate header (RFC 7235) as registries send it:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."
//   Basic realm="Registry Realm"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace crio::image {

struct AuthChallenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lowercased, values unquoted/unescaped
  bool operator==(const AuthChallenge&) const = default;
};

// Parses every challenge in one header value. Malformed trailing input is ignored (a registry's
// odd header must not break anonymous pulls); an empty or unparsable value gives {}.
std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

}  // namespace crio::image
