#include "container/hooks.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "os/file.h"
#include "util/log.h"

namespace crio::container {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A hook file is a few hundred bytes of JSON.
constexpr size_t kMaxHookFileSize = 1 << 20;

const std::set<std::string>& KnownStages() {
  static const std::set<std::string> kStages = {
      "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  return kStages;
}

Status Invalid(const std::string& file, std::string_view what) {
  return InvalidArgument(absl::StrCat("hook file ", file, ": ", std::string(what)));
}

// std::regex throws on a bad pattern; compile here so the error becomes a Status.
StatusOr<std::regex> Compile(const std::string& file, const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Invalid(file, absl::StrCat("invalid regular expression \"", pattern, "\": ", e.what()));
  }
}

bool IsStringArray(const json& j) {
  return j.is_array() &&
         std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); });
}

bool Search(const std::regex& re, const std::string& s) {
  try {
    return std::regex_search(s, re);
  } catch (const std::regex_error&) {  // e.g. error_complexity on pathological input
    return false;
  }
}

}  // namespace

StatusOr<Hook> ParseHook(const std::string& file, const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid(file, "not a JSON object");
  if (!j.contains("version") || !j["version"].is_string()) {
    return Invalid(file, "missing \"version\"");
  }
  if (j["version"] != "1.0.0") {
    return Invalid(file, absl::StrCat("unsupported version \"", j["version"].get<std::string>(),
                                      "\" (want 1.0.0)"));
  }
  Hook out;
  out.file = file;
  const json& h = j.value("hook", json());
  if (!h.is_object()) return Invalid(file, "missing \"hook\" object");
  if (!h.contains("path") || !h["path"].is_string() || h["path"].get<std::string>().empty()) {
    return Invalid(file, "hook.path is required");
  }
  if (h["path"].get<std::string>()[0] != '/') return Invalid(file, "hook.path must be absolute");
  out.hook = {{"path", h["path"]}};
  for (const char* key : {"args", "env"}) {
    if (!h.contains(key)) continue;
    if (!IsStringArray(h[key]))
      return Invalid(file, absl::StrCat("hook.", key, " must be a list of strings"));
    out.hook[key] = h[key];
  }
  if (h.contains("timeout")) {
    if (!h["timeout"].is_number_integer() || h["timeout"].get<int64_t>() <= 0) {
      return Invalid(file, "hook.timeout must be a positive integer");
    }
    out.hook["timeout"] = h["timeout"];
  }

  const json& stages = j.value("stages", json());
  if (!IsStringArray(stages) || stages.empty()) {
    return Invalid(file, "\"stages\" must be a non-empty list of strings");
  }
  for (const auto& s : stages) {
    std::string stage = s.get<std::string>();
    if (!KnownStages().count(stage))
      return Invalid(file, absl::StrCat("unknown stage \"", stage, "\""));
    out.stages.push_back(stage);
  }

  const json& when = j.value("when", json());
  if (!when.is_object()) return Invalid(file, "missing \"when\" object");
  bool any = false;
  if (when.contains("always")) {
    if (!when["always"].is_boolean()) return Invalid(file, "when.always must be a boolean");
    out.always = when["always"].get<bool>();
    any = true;
  }
  if (when.contains("hasBindMounts")) {
    if (!when["hasBindMounts"].is_boolean()) {
      return Invalid(file, "when.hasBindMounts must be a boolean");
    }
    out.has_bind_mounts = when["hasBindMounts"].get<bool>();
    any = true;
  }
  if (when.contains("annotations")) {
    if (!when["annotations"].is_object()) {
      return Invalid(file, "when.annotations must be an object of regular expressions");
    }
    for (const auto& [k, v] : when["annotations"].items()) {
      if (!v.is_string())
        return Invalid(file, absl::StrCat("when.annotations[\"", k, "\"] must be a string"));
      ASSIGN_OR_RETURN(std::regex key_re, Compile(file, k));
      ASSIGN_OR_RETURN(std::regex value_re, Compile(file, v.get<std::string>()));
      out.annotations.emplace_back(std::move(key_re), std::move(value_re));
    }
    any = true;
  }
  if (when.contains("commands")) {
    if (!IsStringArray(when["commands"])) {
      return Invalid(file, "when.commands must be a list of regular expressions");
    }
    for (const auto& c : when["commands"]) {
      ASSIGN_OR_RETURN(std::regex re, Compile(file, c.get<std::string>()));
      out.commands.push_back(std::move(re));
    }
    any = true;
  }
  if (!any) return Invalid(file, "\"when\" has no condition");
  return out;
}

HookSet LoadHooks(const std::vector<std::string>& dirs) {
  std::map<std::string, std::string> by_name;  // file name -> full path; later dirs win
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      if (ec != std::errc::no_such_file_or_directory) {
        CRIO_LOG_WARN("hooks dir {}: {}", dir, ec.message());
      }
      continue;
    }
    for (const auto& e : it) {
      if (e.path().extension() != ".json") continue;
      by_name[e.path().filename().string()] = e.path().string();
    }
  }
  HookSet out;
  for (const auto& [name, path] : by_name) {
    StatusOr<std::string> text = os::ReadSmallFile(path, kMaxHookFileSize);
    if (!text.ok()) {
      CRIO_LOG_WARN("hook file {} skipped: cannot be read: {}", path, text.status().message());
      continue;
    }
    auto hook = ParseHook(path, *text);
    if (!hook.ok()) {
      CRIO_LOG_WARN("{}; skipped", hook.status().message());
      continue;
    }
    out.hooks.push_back(*std::move(hook));
  }
  return out;
}

bool HookMatches(const Hook& hook, const std::map<std::string, std::string>& annotations,
                 const std::string& cmd, bool has_bind_mounts) {
  if (hook.always) return true;
  if (hook.has_bind_mounts && has_bind_mounts) return true;
  for (const auto& [key_re, value_re] : hook.annotations) {
    for (const auto& [k, v] : annotations) {
      if (Search(key_re, k) && Search(value_re, v)) return true;
    }
  }
  for (const auto& re : hook.commands) {
    if (Search(re, cmd)) return true;
  }
  return false;
}

int ApplyHooks(json& spec, const HookSet& hooks, bool has_bind_mounts) {
  std::map<std::string, std::string> annotations;
  if (spec.contains("annotations") && spec["annotations"].is_object()) {
    for (const auto& [k, v] : spec["annotations"].items()) {
      if (v.is_string()) annotations[k] = v.get<std::string>();
    }
  }
  std::string cmd;
  if (spec.contains("process") && spec["process"].contains("args") &&
      spec["process"]["args"].is_array() && !spec["process"]["args"].empty() &&
      spec["process"]["args"][0].is_string()) {
    cmd = spec["process"]["args"][0].get<std::string>();
  }
  int added = 0;
  for (const Hook& hook : hooks.hooks) {
    if (!HookMatches(hook, annotations, cmd, has_bind_mounts)) continue;
    for (const auto& stage : hook.stages) {
      if (!spec["hooks"].is_object()) spec["hooks"] = json::object();
      if (!spec["hooks"][stage].is_array()) spec["hooks"][stage] = json::array();
      spec["hooks"][stage].push_back(hook.hook);
    }
    ++added;
  }
  return added;
}

}  // namespace crio::container
