#pragma once
// OCI hooks configured by files in crio.conf's `hooks_dir` (containers/common hooks, format
// 1.0.0, as in oci-hooks(5)):
//
//   {"version": "1.0.0",
//    "hook":   {"path": "/abs/bin", "args": [...], "env": [...], "timeout": 5},
//    "when":   {"always": true, "annotations": {"<key regex>": "<value regex>"},
//               "commands": ["<regex>"], "hasBindMounts": true},
//    "stages": ["prestart", "createRuntime", "createContainer", "startContainer",
//               "poststart", "poststop"]}
//
// A hook applies to a container when any `when` condition holds (they are ORed): `always`;
// some annotation whose key and value match a pattern pair; process.args[0] matching a
// `commands` pattern; `hasBindMounts` and the container has CRI mounts. Patterns are searched
// for, not anchored (Go's regexp.MatchString). Files are `*.json` in each directory; a file in a
// later directory replaces the same-named file of an earlier one; hooks are applied in file-name
// order. Invalid files are skipped with a warning naming the file and the reason.

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace crio::container {

struct Hook {
  std::string file;     // the file it came from, for logs
  nlohmann::json hook;  // OCI hook object: path, args, env, timeout
  std::vector<std::string> stages;
  bool always = false;
  bool has_bind_mounts = false;
  std::vector<std::pair<std::regex, std::regex>> annotations;
  std::vector<std::regex> commands;
};

// Hooks in file-name order.
struct HookSet {
  std::vector<Hook> hooks;
};

// Parses one hooks file's text. `file` is used in messages.
// Errors: InvalidArgument naming the reason: malformed JSON, version other than "1.0.0",
// missing or relative hook.path, bad args/env/timeout types, a non-positive timeout, no stages
// or an unknown stage, a `when` without any condition, an invalid regular expression.
StatusOr<Hook> ParseHook(const std::string& file, const std::string& text);

// Reads `*.json` in `dirs` (missing directories are skipped). Never fails: unreadable or invalid
// files are logged (WARN, naming the file and the reason) and skipped.
HookSet LoadHooks(const std::vector<std::string>& dirs);

// Whether `hook` applies to a container with `annotations`, process command `cmd` (args[0])
// and, when `has_bind_mounts`, CRI bind mounts.
bool HookMatches(const Hook& hook, const std::map<std::string, std::string>& annotations,
                 const std::string& cmd, bool has_bind_mounts);

// Appends every matching hook to spec["hooks"][<stage>] for each of its stages. Annotations and
// the command are taken from the spec itself ("annotations", "process.args[0]"). Returns the
// number of hooks added (one per hook file, whatever the number of stages).
int ApplyHooks(nlohmann::json& spec, const HookSet& hooks, bool has_bind_mounts);

}  // namespace crio::container
