#pragma once
// containers-policy.json(5): which images may be pulled. Only the "docker" transport is
// evaluated; only the "insecureAcceptAnything" and "reject" requirement types are implemented.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "image/reference.h"
#include "util/status.h"

namespace crio::image {

inline constexpr std::string_view kDefaultPolicyPath = "/etc/containers/policy.json";

struct PolicyRequirement {
  std::string type;  // "insecureAcceptAnything", "reject", "signedBy", "sigstoreSigned", ...
};

class Policy {
 public:
  // Reads and parses the policy file. Like containers/image (and so CRI-O), a missing file is an
  // error, not "accept everything": there is no implicit default policy.
  // Errors: NotFound("open `path`: No such file or directory") for a missing file, other
  // errno-derived errors for unreadable files, InvalidArgument from Parse.
  static StatusOr<Policy> Load(const std::string& path);

  // Parses policy JSON. `origin` (usually the path) names the file in messages.
  // Errors: InvalidArgument("<origin>: <what>") for invalid JSON, a missing or empty "default",
  // a requirement that is not an object with a string "type", an empty requirement list, or a
  // malformed docker scope.
  static StatusOr<Policy> Parse(std::string_view json, std::string_view origin);

  // Whether `ref` (the logical, fully-qualified image) may be pulled. The most specific scope of
  // transports.docker wins: "host/ns/repo:tag" (or "@digest"), "host/ns/repo", "host/ns", "host",
  // then "*.sub.domain", "*.domain" wildcards, then the transport default "" and then "default".
  // Every requirement of the chosen list must accept.
  // Errors: PermissionDenied("image X rejected by signature policy FILE (scope S)") for "reject";
  // FailedPrecondition("policy requirement type T is not supported yet") for any other
  // requirement type (signature verification is not implemented).
  Status Evaluate(const Reference& ref) const;

  // The scope Evaluate would use for `ref`: a docker scope string, "" for transports.docker's
  // default entry, or "default" for the global default.
  std::string MatchedScope(const Reference& ref) const;

  const std::string& origin() const { return origin_; }

 private:
  const std::vector<PolicyRequirement>& RequirementsFor(const Reference& ref,
                                                        std::string* scope) const;

  std::string origin_;
  std::vector<PolicyRequirement> default_;
  std::map<std::string, std::vector<PolicyRequirement>> docker_scopes_;  // "" = transport default
};

// CRI-O's per-namespace policies: `<dir>/<namespace>.json` when the pod namespace is known and
// that file exists, else `default_path`.
std::string PolicyPathForNamespace(const std::string& dir, const std::string& pod_namespace,
                                   const std::string& default_path);

}  // namespace crio::image
