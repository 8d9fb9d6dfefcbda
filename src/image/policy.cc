#include "image/policy.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "os/file.h"

namespace crio::image {
namespace {

using json = nlohmann::json;

constexpr std::string_view kGlobalDefaultScope = "default";

Status PolicyError(std::string_view origin, std::string_view what) {
  return InvalidArgument(absl::StrCat(std::string(origin), ": ", std::string(what)));
}

StatusOr<std::vector<PolicyRequirement>> ParseRequirements(const json& j, std::string_view where,
                                                           std::string_view origin) {
  if (!j.is_array()) {
    return PolicyError(origin,
                       absl::StrCat(std::string(where), ": must be a list of requirements"));
  }
  if (j.empty()) {
    return PolicyError(
        origin, absl::StrCat(std::string(where), ": an empty requirement list is not allowed"));
  }
  std::vector<PolicyRequirement> out;
  for (const json& r : j) {
    if (!r.is_object() || !r.contains("type") || !r["type"].is_string()) {
      return PolicyError(
          origin, absl::StrCat(std::string(where), ": each requirement needs a string \"type\""));
    }
    out.push_back(PolicyRequirement{r["type"].get<std::string>()});
  }
  return out;
}

// Docker scopes are "host[:port][/ns...][/repo][:tag|@digest]" or "*.domain".
Status ValidateDockerScope(const std::string& scope, std::string_view origin) {
  if (scope.empty()) return absl::OkStatus();
  if (scope.substr(0, 2) == "*.") {
    if (scope.size() == 2 || scope.find_first_of("/:@*", 2) != std::string::npos) {
      return PolicyError(origin, absl::StrCat("invalid docker scope \"", scope,
                                              "\": wildcards must be of the form *.domain"));
    }
    return absl::OkStatus();
  }
  std::string_view s = scope;
  size_t slash = s.find('/');
  std::string_view host = s.substr(0, slash);
  Status st = ValidateDomainName(host);
  if (!st.ok()) {
    return PolicyError(origin, absl::StrCat("invalid docker scope \"", scope, "\": ", Message(st)));
  }
  if (slash == std::string_view::npos) return absl::OkStatus();
  // A repository or namespace scope must already be in normalised form (docker.io/library/x).
  StatusOr<Reference> ref = ParseReference(scope);
  if (!ref.ok() || ref->IsShortName()) {
    return PolicyError(origin, absl::StrCat("invalid docker scope \"", scope, "\"",
                                            ref.ok() ? "" : ": " + Message(ref.status())));
  }
  return absl::OkStatus();
}

// Identity then namespaces, most specific first (containers/image
// docker/policyconfiguration/naming.go).
std::vector<std::string> ScopesFor(const Reference& ref) {
  std::vector<std::string> out;
  std::string identity = ref.Name();
  // With both tag and digest CRI-O pulls by digest; the digest is the identity.
  if (!ref.digest.empty()) {
    absl::StrAppend(&identity, "@", ref.digest);
  } else if (!ref.tag.empty()) {
    absl::StrAppend(&identity, ":", ref.tag);
  }
  out.push_back(identity);
  std::string name = ref.Name();
  while (true) {
    out.push_back(name);
    size_t slash = name.rfind('/');
    if (slash == std::string::npos) break;
    name.resize(slash);
  }
  size_t colon = name.find(':');
  if (colon != std::string::npos) name.resize(colon);
  while (true) {
    size_t dot = name.find('.');
    if (dot == std::string::npos) break;
    name = name.substr(dot + 1);
    out.push_back("*." + name);
  }
  return out;
}

}  // namespace

StatusOr<Policy> Policy::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, os::ReadSmallFile(path));
  return Parse(text, path);
}

StatusOr<Policy> Policy::Parse(std::string_view text, std::string_view origin) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return PolicyError(origin, "invalid JSON");
  if (!root.is_object()) return PolicyError(origin, "top level must be an object");
  Policy policy;
  policy.origin_ = std::string(origin);
  if (!root.contains("default")) return PolicyError(origin, "missing \"default\" requirements");
  ASSIGN_OR_RETURN(policy.default_, ParseRequirements(root["default"], "default", origin));
  if (root.contains("transports")) {
    const json& transports = root["transports"];
    if (!transports.is_object()) return PolicyError(origin, "\"transports\" must be an object");
    for (const auto& [transport, scopes] : transports.items()) {
      if (!scopes.is_object()) {
        return PolicyError(origin, absl::StrCat("transports.", transport, " must be an object"));
      }
      for (const auto& [scope, reqs] : scopes.items()) {
        std::string where = absl::StrCat("transports.", transport, "[\"", scope, "\"]");
        ASSIGN_OR_RETURN(std::vector<PolicyRequirement> parsed,
                         ParseRequirements(reqs, where, origin));
        // Other transports (docker-daemon, oci, ...) are never used by a CRI pull.
        if (transport != "docker") continue;
        RETURN_IF_ERROR(ValidateDockerScope(scope, origin));
        policy.docker_scopes_[scope] = std::move(parsed);
      }
    }
  }
  for (const auto& [key, value] : root.items()) {
    if (key != "default" && key != "transports") {
      return PolicyError(origin, absl::StrCat("unknown key \"", key, "\""));
    }
  }
  return policy;
}

const std::vector<PolicyRequirement>& Policy::RequirementsFor(const Reference& ref,
                                                              std::string* scope) const {
  for (const std::string& candidate : ScopesFor(ref)) {
    auto it = docker_scopes_.find(candidate);
    if (it != docker_scopes_.end()) {
      *scope = candidate;
      return it->second;
    }
  }
  auto transport_default = docker_scopes_.find("");
  if (transport_default != docker_scopes_.end()) {
    scope->clear();
    return transport_default->second;
  }
  *scope = std::string(kGlobalDefaultScope);
  return default_;
}

std::string Policy::MatchedScope(const Reference& ref) const {
  std::string scope;
  RequirementsFor(ref, &scope);
  return scope;
}

Status Policy::Evaluate(const Reference& ref) const {
  std::string scope;
  const std::vector<PolicyRequirement>& reqs = RequirementsFor(ref, &scope);
  std::string scope_label = scope.empty() ? std::string("docker transport default") : scope;
  // A reject anywhere in the list is final, whatever else the list holds.
  for (const PolicyRequirement& r : reqs) {
    if (r.type == "reject") {
      return PermissionDenied(absl::StrCat("image ", ref.String(), " rejected by signature policy ",
                                           origin_, " (scope ", scope_label, ")"));
    }
  }
  for (const PolicyRequirement& r : reqs) {
    if (r.type != "insecureAcceptAnything") {
      return FailedPrecondition(absl::StrCat("policy requirement type ", r.type,
                                             " is not supported yet (image ", ref.String(),
                                             ", policy ", origin_, ", scope ", scope_label, ")"));
    }
  }
  return absl::OkStatus();
}

std::string PolicyPathForNamespace(const std::string& dir, const std::string& pod_namespace,
                                   const std::string& default_path) {
  if (dir.empty() || pod_namespace.empty() || pod_namespace.find('/') != std::string::npos) {
    return default_path;
  }
  std::string candidate = absl::StrCat(dir, "/", pod_namespace, ".json");
  struct stat st;
  if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return candidate;
  return default_path;
}

}  // namespace crio::image
