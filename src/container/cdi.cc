#include "container/cdi.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "os/file.h"
#include "util/log.h"

namespace crio::container {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A CDI spec lists a vendor's devices; even thousands of them stay far below this.
constexpr size_t kMaxCdiSpecSize = 16 << 20;

bool CharsOk(const std::string& s, std::string_view extra) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

// "<vendor>/<class>".
bool IsKind(const std::string& kind) {
  size_t slash = kind.find('/');
  if (slash == std::string::npos) return false;
  return CharsOk(kind.substr(0, slash), "-_.") && CharsOk(kind.substr(slash + 1), "-_");
}

bool IsDeviceName(const std::string& name) { return CharsOk(name, "-_.:"); }

Status Invalid(const std::string& file, std::string_view what) {
  return InvalidArgument(absl::StrCat("CDI spec ", file, ": ", std::string(what)));
}

bool IsStringArray(const json& j) {
  return j.is_array() &&
         std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); });
}

bool IsAbsPath(const json& j) {
  return j.is_string() && !j.get<std::string>().empty() && j.get<std::string>()[0] == '/';
}

// Checks the shape of a containerEdits object so applying it cannot meet a surprise.
Status ValidateEdits(const std::string& file, const std::string& where, const json& e) {
  if (e.is_null()) return absl::OkStatus();
  if (!e.is_object())
    return Invalid(file, absl::StrCat(where, ": containerEdits must be an object"));
  if (e.contains("env")) {
    if (!IsStringArray(e["env"]))
      return Invalid(file, absl::StrCat(where, ": env must be a list of strings"));
    for (const auto& kv : e["env"]) {
      if (kv.get<std::string>().find('=') == std::string::npos) {
        return Invalid(file, absl::StrCat(where, ": env entry \"", kv.get<std::string>(),
                                          "\" is not KEY=VALUE"));
      }
    }
  }
  if (e.contains("deviceNodes")) {
    if (!e["deviceNodes"].is_array())
      return Invalid(file, absl::StrCat(where, ": deviceNodes must be a list"));
    for (const auto& d : e["deviceNodes"]) {
      if (!d.is_object() || !IsAbsPath(d.value("path", json()))) {
        return Invalid(file, absl::StrCat(where, ": a device node needs an absolute path"));
      }
      if (d.contains("hostPath") && !IsAbsPath(d["hostPath"])) {
        return Invalid(file, absl::StrCat(where, ": device node hostPath must be absolute"));
      }
      if (d.contains("type") &&
          (!d["type"].is_string() ||
           !std::set<std::string>{"c", "b", "u", "p"}.count(d["type"].get<std::string>()))) {
        return Invalid(file, absl::StrCat(where, ": device node type must be c, b, u or p"));
      }
      for (const char* k : {"major", "minor", "fileMode", "uid", "gid"}) {
        if (d.contains(k) && !d[k].is_number_integer()) {
          return Invalid(file, absl::StrCat(where, ": device node ", k, " must be an integer"));
        }
      }
      if (d.contains("permissions") && !d["permissions"].is_string()) {
        return Invalid(file, absl::StrCat(where, ": device node permissions must be a string"));
      }
    }
  }
  if (e.contains("mounts")) {
    if (!e["mounts"].is_array())
      return Invalid(file, absl::StrCat(where, ": mounts must be a list"));
    for (const auto& m : e["mounts"]) {
      if (!m.is_object() || !m.contains("hostPath") || !m["hostPath"].is_string() ||
          !IsAbsPath(m.value("containerPath", json()))) {
        return Invalid(
            file, absl::StrCat(where, ": a mount needs hostPath and an absolute containerPath"));
      }
      if (m.contains("options") && !IsStringArray(m["options"])) {
        return Invalid(file, absl::StrCat(where, ": mount options must be a list of strings"));
      }
      if (m.contains("type") && !m["type"].is_string()) {
        return Invalid(file, absl::StrCat(where, ": mount type must be a string"));
      }
    }
  }
  if (e.contains("hooks")) {
    static const std::set<std::string> kStages = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
    if (!e["hooks"].is_array()) return Invalid(file, absl::StrCat(where, ": hooks must be a list"));
    for (const auto& h : e["hooks"]) {
      if (!h.is_object() || !h.contains("hookName") || !h["hookName"].is_string() ||
          !kStages.count(h["hookName"].get<std::string>())) {
        return Invalid(file, absl::StrCat(where, ": a hook needs a known hookName"));
      }
      if (!IsAbsPath(h.value("path", json()))) {
        return Invalid(file, absl::StrCat(where, ": a hook needs an absolute path"));
      }
      for (const char* k : {"args", "env"}) {
        if (h.contains(k) && !IsStringArray(h[k])) {
          return Invalid(file, absl::StrCat(where, ": hook ", k, " must be a list of strings"));
        }
      }
      if (h.contains("timeout") && !h["timeout"].is_number_integer()) {
        return Invalid(file, absl::StrCat(where, ": hook timeout must be an integer"));
      }
    }
  }
  if (e.contains("additionalGids")) {
    const json& g = e["additionalGids"];
    if (!g.is_array() || !std::all_of(g.begin(), g.end(), [](const json& x) {
          return x.is_number_unsigned() || (x.is_number_integer() && x.get<int64_t>() >= 0);
        })) {
      return Invalid(file, absl::StrCat(where, ": additionalGids must be a list of gids"));
    }
  }
  return absl::OkStatus();
}

std::string EnvKey(const std::string& kv) { return kv.substr(0, kv.find('=')); }

void ApplyEnv(json& spec, const json& env) {
  json& list = spec["process"]["env"];
  if (!list.is_array()) list = json::array();
  for (const auto& e : env) {
    const std::string kv = e.get<std::string>();
    auto same = std::find_if(list.begin(), list.end(), [&](const json& x) {
      return x.is_string() && EnvKey(x.get<std::string>()) == EnvKey(kv);
    });
    if (same != list.end()) {
      *same = kv;
    } else {
      list.push_back(kv);
    }
  }
}

Status ApplyDeviceNode(json& spec, const json& node, const std::string& device) {
  const std::string path = node["path"].get<std::string>();
  const std::string host_path = node.value("hostPath", path);
  std::string type = node.value("type", "");
  json out = {{"path", path}};
  const bool need_stat = type.empty() || ((type == "c" || type == "b" || type == "u") &&
                                          (!node.contains("major") || !node.contains("minor")));
  int64_t major_num = node.value("major", int64_t{0});
  int64_t minor_num = node.value("minor", int64_t{0});
  uint32_t mode = 0;
  if (need_stat || !node.contains("fileMode")) {
    struct stat st {};
    if (::stat(host_path.c_str(), &st) != 0) {
      if (need_stat) {
        return InvalidArgument(absl::StrCat("CDI device ", device, ": device node ", host_path,
                                            ": ", std::strerror(errno)));
      }
    } else {
      mode = st.st_mode & 07777;
      if (need_stat) {
        if (S_ISCHR(st.st_mode)) {
          type = "c";
        } else if (S_ISBLK(st.st_mode)) {
          type = "b";
        } else if (S_ISFIFO(st.st_mode)) {
          type = "p";
        } else {
          return InvalidArgument(
              absl::StrCat("CDI device ", device, ": ", host_path, " is not a device node"));
        }
        major_num = major(st.st_rdev);
        minor_num = minor(st.st_rdev);
      }
    }
  }
  out["type"] = type;
  if (type != "p") {
    out["major"] = major_num;
    out["minor"] = minor_num;
  }
  if (node.contains("fileMode")) {
    out["fileMode"] = node["fileMode"];
  } else if (mode != 0) {
    out["fileMode"] = mode;
  }
  if (node.contains("uid")) out["uid"] = node["uid"];
  if (node.contains("gid")) out["gid"] = node["gid"];

  json& devices = spec["linux"]["devices"];
  if (!devices.is_array()) devices = json::array();
  devices.erase(std::remove_if(devices.begin(), devices.end(),
                               [&](const json& d) { return d.value("path", "") == path; }),
                devices.end());
  devices.push_back(out);
  if (type != "p") {
    json& rules = spec["linux"]["resources"]["devices"];
    if (!rules.is_array()) rules = json::array();
    rules.push_back({{"allow", true},
                     {"type", type == "u" ? "c" : type},
                     {"major", major_num},
                     {"minor", minor_num},
                     {"access", node.value("permissions", "rwm")}});
  }
  return absl::OkStatus();
}

void ApplyMount(json& spec, const json& m) {
  json out = {{"destination", m["containerPath"]}, {"source", m["hostPath"]}};
  std::string type = m.value("type", "");
  json options = m.value("options", json::array());
  if (type.empty()) type = "bind";
  if (type == "bind" && std::none_of(options.begin(), options.end(),
                                     [](const json& o) { return o == "bind" || o == "rbind"; })) {
    options.push_back("bind");
  }
  out["type"] = type;
  out["options"] = options;
  json& mounts = spec["mounts"];
  if (!mounts.is_array()) mounts = json::array();
  mounts.erase(std::remove_if(
                   mounts.begin(), mounts.end(),
                   [&](const json& x) { return x.value("destination", "") == out["destination"]; }),
               mounts.end());
  mounts.push_back(std::move(out));
}

Status ApplyEdits(json& spec, const json& edits, const std::string& device) {
  if (!edits.is_object()) return absl::OkStatus();
  if (edits.contains("env")) ApplyEnv(spec, edits["env"]);
  if (edits.contains("deviceNodes")) {
    for (const auto& node : edits["deviceNodes"])
      RETURN_IF_ERROR(ApplyDeviceNode(spec, node, device));
  }
  if (edits.contains("mounts")) {
    for (const auto& m : edits["mounts"]) ApplyMount(spec, m);
  }
  if (edits.contains("hooks")) {
    for (const auto& h : edits["hooks"]) {
      json hook = {{"path", h["path"]}};
      for (const char* k : {"args", "env", "timeout"}) {
        if (h.contains(k)) hook[k] = h[k];
      }
      json& stage = spec["hooks"][h["hookName"].get<std::string>()];
      if (!stage.is_array()) stage = json::array();
      stage.push_back(std::move(hook));
    }
  }
  if (edits.contains("additionalGids")) {
    json& gids = spec["process"]["user"]["additionalGids"];
    if (!gids.is_array()) gids = json::array();
    for (const auto& g : edits["additionalGids"]) {
      if (std::find(gids.begin(), gids.end(), g) == gids.end()) gids.push_back(g);
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsQualifiedDeviceName(const std::string& name) {
  size_t eq = name.find('=');
  if (eq == std::string::npos) return false;
  return IsKind(name.substr(0, eq)) && IsDeviceName(name.substr(eq + 1));
}

Status ParseCdiSpec(const std::string& file, const std::string& text,
                    std::map<std::string, CdiDevice>* out) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid(file, "not a JSON object");
  if (!j.contains("cdiVersion") || !j["cdiVersion"].is_string()) {
    return Invalid(file, "missing cdiVersion");
  }
  const json kind = j.value("kind", json());
  if (!kind.is_string() || !IsKind(kind.get<std::string>())) {
    return Invalid(file, "kind must be \"<vendor>/<class>\"");
  }
  json spec_edits = j.value("containerEdits", json::object());
  RETURN_IF_ERROR(ValidateEdits(file, "containerEdits", spec_edits));
  const json devices = j.value("devices", json());
  if (!devices.is_array() || devices.empty()) return Invalid(file, "no devices");
  std::map<std::string, CdiDevice> parsed;
  for (const auto& d : devices) {
    if (!d.is_object() || !d.contains("name") || !d["name"].is_string() ||
        !IsDeviceName(d["name"].get<std::string>())) {
      return Invalid(file, "a device has no valid name");
    }
    const std::string name = d["name"].get<std::string>();
    json edits = d.value("containerEdits", json::object());
    RETURN_IF_ERROR(ValidateEdits(file, absl::StrCat("device ", name), edits));
    std::string qualified = absl::StrCat(kind.get<std::string>(), "=", name);
    if (parsed.count(qualified))
      return Invalid(file, absl::StrCat("device ", name, " is listed twice"));
    parsed[qualified] = CdiDevice{qualified, file, spec_edits, edits};
  }
  for (auto& [name, dev] : parsed) (*out)[name] = std::move(dev);
  return absl::OkStatus();
}

CdiRegistry LoadCdiSpecs(const std::vector<std::string>& dirs) {
  CdiRegistry registry;
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      if (ec != std::errc::no_such_file_or_directory) {
        CRIO_LOG_WARN("CDI spec dir {}: {}", dir, ec.message());
      }
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& e : it) {
      std::string ext = e.path().extension().string();
      if (ext == ".yaml" || ext == ".yml") {
        CRIO_LOG_WARN("CDI spec {} skipped: YAML specs are not supported, use JSON",
                      e.path().string());
      } else if (ext == ".json") {
        files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());
    std::map<std::string, CdiDevice> this_dir;
    for (const auto& path : files) {
      StatusOr<std::string> text = os::ReadSmallFile(path.string(), kMaxCdiSpecSize);
      if (!text.ok()) {
        CRIO_LOG_WARN("CDI spec {} skipped: cannot be read: {}", path.string(),
                      text.status().message());
        continue;
      }
      std::map<std::string, CdiDevice> devices;
      Status st = ParseCdiSpec(path.string(), *text, &devices);
      if (!st.ok()) {
        CRIO_LOG_WARN("{}; skipped", st.message());
        continue;
      }
      for (auto& [name, dev] : devices) {
        if (this_dir.count(name)) {
          CRIO_LOG_WARN("CDI device {} in {} ignored: already defined by {}", name, path.string(),
                        this_dir[name].spec_file);
          continue;
        }
        this_dir[name] = std::move(dev);
      }
    }
    for (auto& [name, dev] : this_dir) registry.devices[name] = std::move(dev);
  }
  return registry;
}

std::vector<std::string> RequestedCdiDevices(
    const std::vector<std::string>& cdi_devices,
    const std::map<std::string, std::string>& annotations) {
  std::vector<std::string> out;
  auto add = [&](std::string name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) {
      out.push_back(std::move(name));
    }
  };
  for (const auto& d : cdi_devices) add(d);
  for (const auto& [key, value] : annotations) {
    if (key.rfind(kCdiAnnotationPrefix, 0) != 0) continue;
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      std::string name(part);
      name.erase(0, name.find_first_not_of(" \t"));
      name.erase(name.find_last_not_of(" \t") + 1);
      add(name);
    }
  }
  return out;
}

Status ApplyCdiDevices(json& spec, const CdiRegistry& registry,
                       const std::vector<std::string>& names) {
  // Resolve everything first, so an unknown device leaves the spec untouched.
  std::vector<const CdiDevice*> devices;
  for (const auto& name : names) {
    auto it = registry.devices.find(name);
    if (it == registry.devices.end()) {
      return InvalidArgument(absl::StrCat("unresolvable CDI device ", name));
    }
    devices.push_back(&it->second);
  }
  json edited = spec;
  std::set<std::string> spec_edits_applied;
  // As the CDI reference implementation: per device, its spec's edits the first time that
  // spec is met, then the device's own.
  for (const CdiDevice* dev : devices) {
    if (spec_edits_applied.insert(dev->spec_file).second) {
      RETURN_IF_ERROR(ApplyEdits(edited, dev->spec_edits, dev->qualified_name));
    }
    RETURN_IF_ERROR(ApplyEdits(edited, dev->device_edits, dev->qualified_name));
  }
  spec = std::move(edited);
  return absl::OkStatus();
}

}  // namespace crio::container
