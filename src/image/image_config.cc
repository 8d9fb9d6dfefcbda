#include "image/image_config.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "image/digest.h"

namespace crio::image {
namespace {

using json = nlohmann::json;

Status Invalid(std::string_view what) {
  return InvalidArgument(absl::StrCat("invalid image config: ", std::string(what)));
}

// Missing and null both mean "not set".
bool Has(const json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

Status GetString(const json& j, const char* key, std::string& out) {
  if (!Has(j, key)) return absl::OkStatus();
  if (!j[key].is_string()) return Invalid(absl::StrCat("\"", key, "\" must be a string"));
  out = j[key].get<std::string>();
  return absl::OkStatus();
}

Status GetStringList(const json& j, const char* key, std::vector<std::string>& out) {
  if (!Has(j, key)) return absl::OkStatus();
  if (!j[key].is_array()) return Invalid(absl::StrCat("\"", key, "\" must be a list of strings"));
  for (const json& e : j[key]) {
    if (!e.is_string()) return Invalid(absl::StrCat("\"", key, "\" must be a list of strings"));
    out.push_back(e.get<std::string>());
  }
  return absl::OkStatus();
}

// {"80/tcp": {}, ...} -> sorted keys.
Status GetObjectKeys(const json& j, const char* key, std::vector<std::string>& out) {
  if (!Has(j, key)) return absl::OkStatus();
  if (!j[key].is_object()) return Invalid(absl::StrCat("\"", key, "\" must be an object"));
  for (const auto& [k, v] : j[key].items()) out.push_back(k);
  return absl::OkStatus();
}

Status ParseDefaults(const json& c, ContainerDefaults& out) {
  if (!c.is_object()) return Invalid("\"config\" must be an object");
  RETURN_IF_ERROR(GetString(c, "User", out.user));
  RETURN_IF_ERROR(GetStringList(c, "Env", out.env));
  RETURN_IF_ERROR(GetStringList(c, "Entrypoint", out.entrypoint));
  RETURN_IF_ERROR(GetStringList(c, "Cmd", out.cmd));
  RETURN_IF_ERROR(GetString(c, "WorkingDir", out.working_dir));
  RETURN_IF_ERROR(GetString(c, "StopSignal", out.stop_signal));
  RETURN_IF_ERROR(GetObjectKeys(c, "Volumes", out.volumes));
  RETURN_IF_ERROR(GetObjectKeys(c, "ExposedPorts", out.exposed_ports));
  if (Has(c, "Labels")) {
    if (!c["Labels"].is_object()) return Invalid("\"Labels\" must be an object");
    for (const auto& [k, v] : c["Labels"].items()) {
      if (!v.is_string()) return Invalid("\"Labels\" values must be strings");
      out.labels[k] = v.get<std::string>();
    }
  }
  return absl::OkStatus();
}

Status ParseRootfs(const json& r, std::vector<std::string>& diff_ids) {
  if (!r.is_object()) return Invalid("\"rootfs\" must be an object");
  std::string type;
  RETURN_IF_ERROR(GetString(r, "type", type));
  if (type != "layers") {
    return Invalid(absl::StrCat("rootfs.type must be \"layers\", got \"", type, "\""));
  }
  RETURN_IF_ERROR(GetStringList(r, "diff_ids", diff_ids));
  for (const std::string& d : diff_ids) {
    Status s = ValidateDigest(d);
    if (!s.ok()) return Invalid(absl::StrCat("rootfs.diff_ids: ", Message(s)));
  }
  return absl::OkStatus();
}

Status ParseHistory(const json& h, std::vector<HistoryEntry>& out) {
  if (!h.is_array()) return Invalid("\"history\" must be a list");
  for (const json& e : h) {
    if (!e.is_object()) return Invalid("\"history\" entries must be objects");
    HistoryEntry entry;
    RETURN_IF_ERROR(GetString(e, "created", entry.created));
    RETURN_IF_ERROR(GetString(e, "created_by", entry.created_by));
    RETURN_IF_ERROR(GetString(e, "author", entry.author));
    RETURN_IF_ERROR(GetString(e, "comment", entry.comment));
    if (Has(e, "empty_layer")) {
      if (!e["empty_layer"].is_boolean()) return Invalid("\"empty_layer\" must be a boolean");
      entry.empty_layer = e["empty_layer"].get<bool>();
    }
    out.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<ImageConfig> ParseImageConfig(std::string_view raw) {
  json root = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Invalid("not valid JSON");
  if (!root.is_object()) return Invalid("top level must be an object");
  ImageConfig cfg;
  cfg.raw = std::string(raw);
  RETURN_IF_ERROR(GetString(root, "architecture", cfg.architecture));
  RETURN_IF_ERROR(GetString(root, "os", cfg.os));
  RETURN_IF_ERROR(GetString(root, "variant", cfg.variant));
  RETURN_IF_ERROR(GetString(root, "created", cfg.created));
  RETURN_IF_ERROR(GetString(root, "author", cfg.author));
  if (Has(root, "config")) RETURN_IF_ERROR(ParseDefaults(root["config"], cfg.config));
  if (Has(root, "rootfs")) RETURN_IF_ERROR(ParseRootfs(root["rootfs"], cfg.diff_ids));
  if (Has(root, "history")) RETURN_IF_ERROR(ParseHistory(root["history"], cfg.history));
  return cfg;
}

}  // namespace crio::image
