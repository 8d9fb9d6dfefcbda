#include "network/cni_config.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "os/file.h"

namespace crio::network {

namespace fs = std::filesystem;
using nlohmann::json;

StatusOr<CniVersion> ParseCniVersion(std::string_view text) {
  CniVersion v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  size_t part = 0;
  bool have_digit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      *parts[part] = *parts[part] * 10 + (c - '0');
      have_digit = true;
      if (*parts[part] > 1000) {
        return InvalidArgument(absl::StrCat("invalid cniVersion \"", std::string(text), "\""));
      }
    } else if (c == '.' && have_digit && part < 2) {
      ++part;
      have_digit = false;
    } else {
      return InvalidArgument(absl::StrCat("invalid cniVersion \"", std::string(text), "\""));
    }
  }
  if (!have_digit || part < 1) {
    return InvalidArgument(absl::StrCat("invalid cniVersion \"", std::string(text), "\""));
  }
  return v;
}

bool IsSupportedVersion(const CniVersion& v) {
  return v >= CniVersion{0, 1, 0} && v <= CniVersion{1, 1, 0};
}

json NetworkConfigList::ToJson() const {
  json out = {{"cniVersion", cni_version}, {"name", name}, {"plugins", plugins}};
  if (disable_check) out["disableCheck"] = true;
  return out;
}

namespace {

Status CheckVersion(const json& doc, std::string& out) {
  if (!doc.contains("cniVersion") || !doc["cniVersion"].is_string()) {
    return InvalidArgument("missing string cniVersion");
  }
  out = doc["cniVersion"].get<std::string>();
  ASSIGN_OR_RETURN(CniVersion v, ParseCniVersion(out));
  if (!IsSupportedVersion(v)) {
    return InvalidArgument(absl::StrCat("unsupported cniVersion \"", out, "\""));
  }
  return absl::OkStatus();
}

Status CheckPlugin(const json& plugin, size_t index) {
  if (!plugin.is_object())
    return InvalidArgument(absl::StrCat("plugin ", index, " is not an object"));
  if (!plugin.contains("type") || !plugin["type"].is_string() ||
      plugin["type"].get<std::string>().empty()) {
    return InvalidArgument(absl::StrCat("plugin ", index, " has no type"));
  }
  const std::string type = plugin["type"].get<std::string>();
  // A plugin type names a binary inside the plugin dirs, never a path.
  if (type.find('/') != std::string::npos || type == "." || type == "..") {
    return InvalidArgument(absl::StrCat("plugin type \"", type, "\" is not a plain name"));
  }
  return absl::OkStatus();
}

StatusOr<json> ParseObject(std::string_view bytes) {
  json doc = json::parse(bytes, nullptr, false);
  if (doc.is_discarded()) return InvalidArgument("not valid JSON");
  if (!doc.is_object()) return InvalidArgument("not a JSON object");
  return doc;
}

std::string NameOf(const json& doc) {
  auto it = doc.find("name");
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

StatusOr<NetworkConfigList> ParseConfigList(std::string_view bytes) {
  ASSIGN_OR_RETURN(json doc, ParseObject(bytes));
  NetworkConfigList list;
  list.name = NameOf(doc);
  if (list.name.empty()) return InvalidArgument("missing network name");
  RETURN_IF_ERROR(CheckVersion(doc, list.cni_version));
  if (auto it = doc.find("disableCheck"); it != doc.end() && it->is_boolean()) {
    list.disable_check = it->get<bool>();
  }
  auto plugins = doc.find("plugins");
  if (plugins == doc.end() || !plugins->is_array() || plugins->empty()) {
    return InvalidArgument("no plugins in the list");
  }
  for (size_t i = 0; i < plugins->size(); ++i) {
    RETURN_IF_ERROR(CheckPlugin((*plugins)[i], i));
    list.plugins.push_back((*plugins)[i]);
  }
  return list;
}

StatusOr<NetworkConfigList> ParseSingleConfig(std::string_view bytes) {
  ASSIGN_OR_RETURN(json doc, ParseObject(bytes));
  NetworkConfigList list;
  list.name = NameOf(doc);
  if (list.name.empty()) return InvalidArgument("missing network name");
  RETURN_IF_ERROR(CheckVersion(doc, list.cni_version));
  RETURN_IF_ERROR(CheckPlugin(doc, 0));
  list.plugins.push_back(std::move(doc));
  return list;
}

namespace {
// CNI network configs are a few kilobytes; this only bounds a stray file in the config dir.
constexpr size_t kMaxConfigFileSize = 4 << 20;
}  // namespace

StatusOr<NetworkConfigList> LoadConfigFile(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext != ".conf" && ext != ".conflist" && ext != ".json") {
    return InvalidArgument(absl::StrCat(path, ": not a CNI config file extension"));
  }
  ASSIGN_OR_RETURN(std::string text, os::ReadSmallFile(path, kMaxConfigFileSize));
  auto list = ext == ".conflist" ? ParseConfigList(text) : ParseSingleConfig(text);
  if (!list.ok()) return Annotate(list.status(), path);
  list->source = path;
  return list;
}

Discovery DiscoverNetwork(const std::string& dir, const std::string& default_name) {
  Discovery out;
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if ((ext == ".conf" || ext == ".conflist" || ext == ".json") && it->is_regular_file(ec)) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    auto list = LoadConfigFile(path);
    if (!list.ok()) {
      out.warnings.push_back(absl::StrCat("skipping CNI config: ", list.status().message()));
      continue;
    }
    if (!default_name.empty() && list->name != default_name) continue;
    out.found = true;
    out.network = std::move(*list);
    return out;
  }
  out.error = default_name.empty() ? absl::StrCat("no CNI configuration file in ", dir,
                                                  ". Has your network provider started?")
                                   : absl::StrCat("no CNI configuration for network \"",
                                                  default_name, "\" in ", dir);
  return out;
}

}  // namespace crio::network
