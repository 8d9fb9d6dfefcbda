#include "runtime_format.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <random>
#include <regex>

#include "os/unique_fd.h"
#include "yaml_json.h"

namespace crioctl {

using crio::Status;
using crio::StatusOr;

namespace {

// Labels the kubelet puts on containers (crictl reads them for the POD / NAMESPACE columns).
constexpr char kPodNameLabel[] = "io.kubernetes.pod.name";
constexpr char kPodNamespaceLabel[] = "io.kubernetes.pod.namespace";
constexpr std::size_t kTruncatedIdLength = 13;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- Config files ----

const google::protobuf::FieldDescriptor* FindField(const google::protobuf::Descriptor* d,
                                                   const std::string& name) {
  if (const auto* f = d->FindFieldByName(name)) return f;
  return d->FindFieldByCamelcaseName(name);
}

void CoerceMessage(nlohmann::json& value, const google::protobuf::Descriptor* d);

// YAML gives 2 for `version: 2` and null for `key:`; a string field wants "2" and "", which
// the protobuf parser will not convert by itself (it refuses null map values).
void CoerceValue(nlohmann::json& value, const google::protobuf::FieldDescriptor* f) {
  using FD = google::protobuf::FieldDescriptor;
  if (f->cpp_type() == FD::CPPTYPE_STRING && f->type() != FD::TYPE_BYTES) {
    if (value.is_number() || value.is_boolean()) value = value.dump();
    if (value.is_null()) value = "";
  } else if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
    CoerceMessage(value, f->message_type());
  }
}

void CoerceMessage(nlohmann::json& value, const google::protobuf::Descriptor* d) {
  if (!value.is_object()) return;
  for (auto& [key, field_value] : value.items()) {
    const auto* f = FindField(d, key);
    if (f == nullptr) continue;
    if (f->is_map()) {
      if (!field_value.is_object()) continue;
      const auto* value_field = f->message_type()->FindFieldByName("value");
      for (auto& [map_key, map_value] : field_value.items()) CoerceValue(map_value, value_field);
    } else if (f->is_repeated()) {
      if (!field_value.is_array()) continue;
      for (auto& element : field_value) CoerceValue(element, f);
    } else {
      CoerceValue(field_value, f);
    }
  }
}

std::string RandomUuid() {
  std::random_device rd;
  unsigned char b[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = rd();
    for (int k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(r >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", b[i]);
  }
  return out;
}

StatusOr<std::string> ReadConfigFile(const std::string& path) {
  crio::os::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return crio::NotFound(absl::StrCat("config at ", path, " not found"));
    return crio::ErrnoError(errno, absl::StrCat("open `", path, "`"));
  }
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return crio::ErrnoError(errno, absl::StrCat("read `", path, "`"));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// ---- Filters ----

// Go's regexp.MatchString(pattern, target): unanchored; an invalid pattern matches nothing.
bool MatchesRegex(const std::string& pattern, const std::string& target) {
  if (pattern.empty()) return true;
  try {
    return std::regex_search(target, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

std::string LabelOr(const google::protobuf::Map<std::string, std::string>& labels,
                    const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? "unknown" : it->second;
}

template <typename T>
void KeepNewest(std::vector<T>& items, bool latest, int last) {
  std::stable_sort(items.begin(), items.end(),
                   [](const T& a, const T& b) { return a.created_at() > b.created_at(); });
  std::size_t n = items.size();
  if (latest) n = 1;
  if (last > 0) n = static_cast<std::size_t>(last);
  if (n < items.size()) items.resize(n);
}

// ---- Text ----

std::size_t DisplayWidth(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;  // count UTF-8 lead bytes
  }
  return n;
}

void AppendSortedMap(std::string& out, const char* title,
                     const google::protobuf::Map<std::string, std::string>& map) {
  if (map.empty()) return;
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  out += title;
  out += ":\n";
  for (const auto& [k, v] : sorted) out += fmt::format("\t{} -> {}\n", k, v);
}

// Go's %v of a map[string]string: "map[a:1 b:2]".
std::string GoMap(const google::protobuf::Map<std::string, std::string>& map) {
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  std::string out = "map[";
  bool first = true;
  for (const auto& [k, v] : sorted) {
    if (!first) out += ' ';
    out += k + ":" + v;
    first = false;
  }
  return out + "]";
}

struct Civil {
  int year;
  unsigned month, day;
  int hour, minute, second;
  int64_t nanos;
  long offset;
};

Civil ToCivil(int64_t unix_nanos, ZoneFn zone, std::string* zone_name) {
  int64_t secs = unix_nanos / kNanosPerSecond;
  int64_t nanos = unix_nanos % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --secs;
  }
  long offset = zone(secs, zone_name);
  using namespace std::chrono;
  sys_seconds local{seconds(secs + offset)};
  auto day_start = floor<days>(local);
  year_month_day ymd(day_start);
  hh_mm_ss<seconds> tod(local - day_start);
  return Civil{static_cast<int>(ymd.year()),
               static_cast<unsigned>(ymd.month()),
               static_cast<unsigned>(ymd.day()),
               static_cast<int>(tod.hours().count()),
               static_cast<int>(tod.minutes().count()),
               static_cast<int>(tod.seconds().count()),
               nanos,
               offset};
}

std::string NumericOffset(long offset, bool colon) {
  char sign = offset < 0 ? '-' : '+';
  long abs = std::labs(offset);
  return fmt::format("{}{:02}{}{:02}", sign, abs / 3600, colon ? ":" : "", (abs % 3600) / 60);
}

// ".5", ".123456789" or "" (Go's .999999999 layout).
std::string TrimmedFraction(int64_t nanos) {
  if (nanos == 0) return "";
  std::string digits = fmt::format("{:09}", nanos);
  digits.erase(digits.find_last_not_of('0') + 1);
  return "." + digits;
}

// protojson-like JSON of `msg`, as a key-sorted value (what crictl's map round trip gives).
nlohmann::json SortedJson(const google::protobuf::Message& msg) {
  return nlohmann::json::parse(ProtoToJson(msg).dump());
}

void AddInfo(nlohmann::json& entry, const google::protobuf::Map<std::string, std::string>& info) {
  for (const auto& [key, value] : info) {
    if (!value.empty() && value.front() == '{') {
      auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) {
        entry[key] = std::move(parsed);
        continue;
      }
    }
    std::size_t b = value.find_first_not_of('"');
    std::size_t e = value.find_last_not_of('"');
    entry[key] = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
  }
}

constexpr char kGoZeroTime[] = "0001-01-01T00:00:00Z";

}  // namespace

// ---- Config files ----

Status ParseConfigText(std::string_view text, google::protobuf::Message* msg) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  std::string json_text;
  if (first != std::string_view::npos && text[first] == '{') {
    json_text = std::string(text);
  } else {
    ASSIGN_OR_RETURN(json_text, YamlToJson(text));
  }
  nlohmann::json value = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return crio::InvalidArgument("malformed JSON");
  if (!value.is_object()) return crio::InvalidArgument("the config must be a JSON/YAML object");
  CoerceMessage(value, msg->GetDescriptor());
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(value.dump(), msg, opts);
  if (!st.ok()) return crio::InvalidArgument(st.message().ToString());
  return absl::OkStatus();
}

Status ValidatePodSandboxConfig(v1::PodSandboxConfig* config) {
  if (!config->has_metadata()) return crio::InvalidArgument("metadata is not set");
  auto* md = config->mutable_metadata();
  if (md->uid().empty()) md->set_uid(RandomUuid());
  if (md->name().empty() || md->namespace_().empty()) {
    return crio::InvalidArgument("name or namespace is not in metadata");
  }
  return absl::OkStatus();
}

Status ValidateContainerConfig(const v1::ContainerConfig& config) {
  if (!config.has_metadata()) return crio::InvalidArgument("metadata is not set");
  if (config.metadata().name().empty()) return crio::InvalidArgument("name is not in metadata");
  return absl::OkStatus();
}

StatusOr<v1::PodSandboxConfig> LoadPodSandboxConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path));
  v1::PodSandboxConfig config;
  Status st = ParseConfigText(text, &config);
  if (st.ok()) st = ValidatePodSandboxConfig(&config);
  if (!st.ok()) return crio::Annotate(st, absl::StrCat("load pod config `", path, "`"));
  return config;
}

StatusOr<v1::ContainerConfig> LoadContainerConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path));
  v1::ContainerConfig config;
  Status st = ParseConfigText(text, &config);
  if (st.ok()) st = ValidateContainerConfig(config);
  if (!st.ok()) return crio::Annotate(st, absl::StrCat("load container config `", path, "`"));
  return config;
}

std::vector<std::string> ImagesToPull(const v1::ContainerConfig& config) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& image) {
    if (!image.empty() && std::find(out.begin(), out.end(), image) == out.end()) {
      out.push_back(image);
    }
  };
  add(config.image().image());
  for (const auto& mount : config.mounts()) add(mount.image().image());
  return out;
}

// ---- Filters ----

StatusOr<std::map<std::string, std::string>> ParseLabels(const std::vector<std::string>& in) {
  std::map<std::string, std::string> out;
  for (const auto& s : in) {
    std::size_t eq = s.find('=');
    if (eq == std::string::npos || s.find('=', eq + 1) != std::string::npos) {
      return crio::InvalidArgument(absl::StrCat("incorrectly specified label: ", s));
    }
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

StatusOr<v1::ListPodSandboxRequest> BuildListPodSandboxRequest(const PodListOptions& o) {
  v1::ListPodSandboxRequest req;
  auto* filter = req.mutable_filter();
  filter->set_id(o.id);
  if (!o.state.empty()) {
    std::string state = ToLower(o.state);
    if (state == "ready") {
      filter->mutable_state()->set_state(v1::SANDBOX_READY);
    } else if (state == "notready") {
      filter->mutable_state()->set_state(v1::SANDBOX_NOTREADY);
    } else {
      return crio::InvalidArgument("--state should be ready or notready");
    }
  }
  ASSIGN_OR_RETURN(auto labels, ParseLabels(o.labels));
  filter->mutable_label_selector()->insert(labels.begin(), labels.end());
  return req;
}

std::vector<v1::PodSandbox> SelectPods(const google::protobuf::RepeatedPtrField<v1::PodSandbox>& in,
                                       const PodListOptions& o) {
  std::vector<v1::PodSandbox> out;
  for (const auto& pod : in) {
    if (pod.has_metadata() && MatchesRegex(o.name_regex, pod.metadata().name()) &&
        MatchesRegex(o.namespace_regex, pod.metadata().namespace_())) {
      out.push_back(pod);
    }
  }
  KeepNewest(out, o.latest, o.last);
  return out;
}

StatusOr<v1::ListContainersRequest> BuildListContainersRequest(const ContainerListOptions& o) {
  v1::ListContainersRequest req;
  auto* filter = req.mutable_filter();
  filter->set_id(o.id);
  filter->set_pod_sandbox_id(o.pod_id);
  if (!o.state.empty()) {
    static const std::map<std::string, v1::ContainerState> kStates = {
        {"created", v1::CONTAINER_CREATED},
        {"running", v1::CONTAINER_RUNNING},
        {"exited", v1::CONTAINER_EXITED},
        {"unknown", v1::CONTAINER_UNKNOWN}};
    auto it = kStates.find(ToLower(o.state));
    if (it == kStates.end()) {
      return crio::InvalidArgument("--state should be one of created, running, exited or unknown");
    }
    filter->mutable_state()->set_state(it->second);
  } else if (!o.all) {
    filter->mutable_state()->set_state(v1::CONTAINER_RUNNING);
  }
  if (o.latest || o.last > 0) filter->clear_state();  // crictl: newest of any state
  ASSIGN_OR_RETURN(auto labels, ParseLabels(o.labels));
  filter->mutable_label_selector()->insert(labels.begin(), labels.end());
  return req;
}

std::vector<v1::Container> SelectContainers(
    const google::protobuf::RepeatedPtrField<v1::Container>& in, const ContainerListOptions& o,
    const std::function<bool(const v1::Container&)>& keep) {
  std::vector<v1::Container> out;
  for (const auto& c : in) {
    if (keep && !keep(c)) continue;
    if (c.has_metadata() && MatchesRegex(o.name_regex, c.metadata().name()) &&
        MatchesRegex(o.namespace_regex, LabelOr(c.labels(), kPodNamespaceLabel))) {
      out.push_back(c);
    }
  }
  KeepNewest(out, o.latest, o.last);
  return out;
}

// ---- Text output ----

long LocalZone(int64_t unix_seconds, std::string* name) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) {
    if (name != nullptr) *name = "UTC";
    return 0;
  }
  if (name != nullptr) *name = tm.tm_zone != nullptr ? tm.tm_zone : "";
  return tm.tm_gmtoff;
}

std::string HumanDuration(std::chrono::nanoseconds d) {
  const double secs = static_cast<double>(d.count()) / 1e9;
  const int64_t seconds = static_cast<int64_t>(secs);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  const int64_t minutes = static_cast<int64_t>(secs / 60);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  const int64_t hours = static_cast<int64_t>(secs / 3600 + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", static_cast<int64_t>(secs / 3600) / 24 / 365);
}

std::string Ago(int64_t created_unix_nanos, int64_t now_unix_nanos) {
  return HumanDuration(std::chrono::nanoseconds(now_unix_nanos - created_unix_nanos)) + " ago";
}

std::string TruncateId(std::string_view id, std::string_view prefix) {
  if (!prefix.empty() && id.substr(0, prefix.size()) == prefix) id.remove_prefix(prefix.size());
  return std::string(id.substr(0, kTruncatedIdLength));
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  constexpr std::size_t kMinWidth = 20;
  constexpr std::size_t kPadding = 3;
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]) + kPadding);
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) {
        out.append(std::max(widths[i], kMinWidth) - DisplayWidth(row[i]), ' ');
      }
    }
    out += '\n';
  }
  return out;
}

std::string PodStateName(v1::PodSandboxState state) {
  switch (state) {
    case v1::SANDBOX_READY:
      return "Ready";
    case v1::SANDBOX_NOTREADY:
      return "NotReady";
    default:
      return "Unknown";
  }
}

std::string ContainerStateName(v1::ContainerState state) {
  switch (state) {
    case v1::CONTAINER_CREATED:
      return "Created";
    case v1::CONTAINER_RUNNING:
      return "Running";
    case v1::CONTAINER_EXITED:
      return "Exited";
    default:
      return "Unknown";
  }
}

std::string FormatPodsTable(const std::vector<v1::PodSandbox>& pods, bool no_trunc,
                            int64_t now_unix_nanos) {
  std::vector<std::vector<std::string>> rows = {
      {"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"}};
  for (const auto& pod : pods) {
    rows.push_back({no_trunc ? pod.id() : TruncateId(pod.id()),
                    Ago(pod.created_at(), now_unix_nanos), PodStateName(pod.state()),
                    pod.metadata().name(), pod.metadata().namespace_(),
                    std::to_string(pod.metadata().attempt()),
                    pod.runtime_handler().empty() ? "(default)" : pod.runtime_handler()});
  }
  return FormatTable(rows);
}

std::string FormatPodsVerbose(const std::vector<v1::PodSandbox>& pods, ZoneFn zone) {
  std::string out;
  for (const auto& pod : pods) {
    out += fmt::format("ID: {}\n", pod.id());
    if (pod.has_metadata()) {
      const auto& md = pod.metadata();
      if (!md.name().empty()) out += fmt::format("Name: {}\n", md.name());
      if (!md.uid().empty()) out += fmt::format("UID: {}\n", md.uid());
      if (!md.namespace_().empty()) out += fmt::format("Namespace: {}\n", md.namespace_());
      if (md.attempt() != 0) out += fmt::format("Attempt: {}\n", md.attempt());
    }
    out += fmt::format("Status: {}\n", PodStateName(pod.state()));
    out += fmt::format("Created: {}\n", FormatGoTimeString(pod.created_at(), zone));
    AppendSortedMap(out, "Labels", pod.labels());
    AppendSortedMap(out, "Annotations", pod.annotations());
    out += fmt::format("Runtime: {}\n\n",
                       pod.runtime_handler().empty() ? "(default)" : pod.runtime_handler());
  }
  return out;
}

namespace {

// crictl shows a digest image reference by its truncated hex.
std::string ContainerImageColumn(const std::string& image, bool no_trunc) {
  if (no_trunc) return image;
  for (auto [algorithm, hex_len] : {std::pair<std::string_view, std::size_t>{"sha256:", 64},
                                    {"sha384:", 96},
                                    {"sha512:", 128}}) {
    if (image.size() == algorithm.size() + hex_len &&
        image.compare(0, algorithm.size(), algorithm) == 0 &&
        image.find_first_not_of("0123456789abcdef", algorithm.size()) == std::string::npos) {
      return TruncateId(image, algorithm);
    }
  }
  return image;
}

}  // namespace

std::string FormatContainersTable(const std::vector<v1::Container>& containers, bool no_trunc,
                                  int64_t now_unix_nanos) {
  std::vector<std::vector<std::string>> rows = {
      {"CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD", "NAMESPACE"}};
  for (const auto& c : containers) {
    rows.push_back({no_trunc ? c.id() : TruncateId(c.id()),
                    ContainerImageColumn(c.image().image(), no_trunc),
                    Ago(c.created_at(), now_unix_nanos), ContainerStateName(c.state()),
                    c.metadata().name(), std::to_string(c.metadata().attempt()),
                    no_trunc ? c.pod_sandbox_id() : TruncateId(c.pod_sandbox_id()),
                    LabelOr(c.labels(), kPodNameLabel), LabelOr(c.labels(), kPodNamespaceLabel)});
  }
  return FormatTable(rows);
}

std::string FormatContainersVerbose(const std::vector<v1::Container>& containers,
                                    int64_t now_unix_nanos) {
  std::string out;
  for (const auto& c : containers) {
    out += fmt::format("ID: {}\nPodID: {}\nNamespace: {}\n", c.id(), c.pod_sandbox_id(),
                       LabelOr(c.labels(), kPodNamespaceLabel));
    if (c.has_metadata()) {
      if (!c.metadata().name().empty()) out += fmt::format("Name: {}\n", c.metadata().name());
      out += fmt::format("Attempt: {}\n", c.metadata().attempt());
    }
    out += fmt::format("State: {}\n", ContainerStateName(c.state()));
    if (c.has_image()) out += fmt::format("Image: {}\n", c.image().image());
    out += fmt::format("Created: {}\n", Ago(c.created_at(), now_unix_nanos));
    AppendSortedMap(out, "Labels", c.labels());
    AppendSortedMap(out, "Annotations", c.annotations());
    out += '\n';
  }
  return out;
}

std::string FormatPodStatusTable(const v1::PodSandboxStatusResponse& resp, bool verbose,
                                 ZoneFn zone) {
  const auto& s = resp.status();
  std::string out = fmt::format("ID: {}\n", s.id());
  if (s.has_metadata()) {
    const auto& md = s.metadata();
    if (!md.name().empty()) out += fmt::format("Name: {}\n", md.name());
    if (!md.uid().empty()) out += fmt::format("UID: {}\n", md.uid());
    if (!md.namespace_().empty()) out += fmt::format("Namespace: {}\n", md.namespace_());
    out += fmt::format("Attempt: {}\n", md.attempt());
  }
  out += fmt::format("Status: {}\n", v1::PodSandboxState_Name(s.state()));
  out += fmt::format("Created: {}\n", FormatGoTimeString(s.created_at(), zone));
  if (s.has_network()) {
    out += fmt::format("IP Addresses: {}\n", s.network().ip());
    for (const auto& ip : s.network().additional_ips()) {
      out += fmt::format("Additional IP: {}\n", ip.ip());
    }
  }
  AppendSortedMap(out, "Labels", s.labels());
  AppendSortedMap(out, "Annotations", s.annotations());
  if (verbose) out += fmt::format("Info: {}\n", GoMap(resp.info()));
  return out;
}

std::string FormatContainerStatusTable(const v1::ContainerStatusResponse& resp, bool verbose,
                                       int64_t now_unix_nanos) {
  const auto& s = resp.status();
  std::string out = fmt::format("ID: {}\n", s.id());
  if (s.has_metadata()) {
    if (!s.metadata().name().empty()) out += fmt::format("Name: {}\n", s.metadata().name());
    if (s.metadata().attempt() != 0) out += fmt::format("Attempt: {}\n", s.metadata().attempt());
  }
  out += fmt::format("State: {}\n", v1::ContainerState_Name(s.state()));
  out += fmt::format("Created: {}\n", Ago(s.created_at(), now_unix_nanos));
  if (s.state() != v1::CONTAINER_CREATED) {
    out += fmt::format("Started: {}\n", Ago(s.started_at(), now_unix_nanos));
  }
  if (s.state() == v1::CONTAINER_EXITED) {
    if (s.finished_at() > 0) {
      out += fmt::format("Finished: {}\n", Ago(s.finished_at(), now_unix_nanos));
    }
    out += fmt::format("Exit Code: {}\n", s.exit_code());
  }
  AppendSortedMap(out, "Labels", s.labels());
  AppendSortedMap(out, "Annotations", s.annotations());
  if (verbose) out += fmt::format("Info: {}\n", GoMap(resp.info()));
  return out;
}

// ---- JSON output ----

std::string FormatGoRfc3339Nano(int64_t unix_nanos, ZoneFn zone) {
  Civil c = ToCivil(unix_nanos, zone, nullptr);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, TrimmedFraction(c.nanos),
                     c.offset == 0 ? "Z" : NumericOffset(c.offset, /*colon=*/true));
}

std::string FormatGoTimeString(int64_t unix_nanos, ZoneFn zone) {
  std::string zone_name;
  Civil c = ToCivil(unix_nanos, zone, &zone_name);
  std::string numeric = NumericOffset(c.offset, /*colon=*/false);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}{} {} {}", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, TrimmedFraction(c.nanos), numeric,
                     zone_name.empty() ? numeric : zone_name);
}

nlohmann::ordered_json ProtoToJson(const google::protobuf::Message& msg) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = false;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(msg, &text, opts).ok()) return nullptr;
  return nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
}

nlohmann::json PodInspectEntry(const v1::PodSandboxStatusResponse& resp, ZoneFn zone) {
  nlohmann::json status = SortedJson(resp.status());
  status["createdAt"] = FormatGoRfc3339Nano(resp.status().created_at(), zone);
  nlohmann::json entry = {{"status", std::move(status)}};
  AddInfo(entry, resp.info());
  return entry;
}

nlohmann::json ContainerInspectEntry(const v1::ContainerStatusResponse& resp, ZoneFn zone) {
  const auto& s = resp.status();
  nlohmann::json status = SortedJson(s);
  status["createdAt"] = FormatGoRfc3339Nano(s.created_at(), zone);
  // crictl: a created container has no start time; only an exited one (or an unknown one that
  // recorded it) has a finish time. Go prints its zero time for the others.
  status["startedAt"] = s.state() != v1::CONTAINER_CREATED
                            ? FormatGoRfc3339Nano(s.started_at(), zone)
                            : std::string(kGoZeroTime);
  const bool finished = s.state() == v1::CONTAINER_EXITED ||
                        (s.state() == v1::CONTAINER_UNKNOWN && s.finished_at() > 0);
  status["finishedAt"] =
      finished ? FormatGoRfc3339Nano(s.finished_at(), zone) : std::string(kGoZeroTime);
  nlohmann::json entry = {{"status", std::move(status)}};
  AddInfo(entry, resp.info());
  return entry;
}

std::string InspectDocument(const std::vector<nlohmann::json>& entries) {
  if (entries.size() == 1) return entries.front().dump(2);
  return nlohmann::json(entries).dump(2);
}

// ---- Durations ----

StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return crio::InvalidArgument(absl::StrCat("invalid duration \"", std::string(text), "\""));
  };
  if (text.empty()) return bad();
  double plain = 0;
  auto [pend, pec] = std::from_chars(text.data(), text.data() + text.size(), plain);
  if (pec == std::errc() && pend == text.data() + text.size()) {
    if (plain < 0) return bad();
    return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(plain * 1e9)));
  }
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
      {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  double total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t n = 0;
    while (n < rest.size() && ((rest[n] >= '0' && rest[n] <= '9') || rest[n] == '.')) ++n;
    double value = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + n, value);
    if (n == 0 || ec != std::errc() || end != rest.data() + n) return bad();
    rest.remove_prefix(n);
    // Longest unit first: "ms" before "m".
    double scale = 0;
    std::size_t unit_len = 0;
    for (const auto& [unit, factor] : kUnits) {
      if (rest.substr(0, unit.size()) == unit && unit.size() > unit_len) {
        scale = factor;
        unit_len = unit.size();
      }
    }
    if (unit_len == 0) return bad();
    rest.remove_prefix(unit_len);
    total += value * scale;
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
}

// ---- CRI logs ----

void LogStreamReader::ParseLine(std::string_view line, std::vector<crio::oci::LogEntry>* out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  auto parsed = crio::oci::ParseLogLine(line);
  if (!parsed.ok()) {
    ++malformed_;
    return;
  }
  if (auto entry = joiner_.Add(*std::move(parsed))) out->push_back(*std::move(entry));
}

std::vector<crio::oci::LogEntry> LogStreamReader::Feed(std::string_view data) {
  std::vector<crio::oci::LogEntry> out;
  buffer_.append(data);
  std::size_t start = 0;
  while (true) {
    std::size_t nl = buffer_.find('\n', start);
    if (nl == std::string::npos) break;
    ParseLine(std::string_view(buffer_).substr(start, nl - start), &out);
    start = nl + 1;
  }
  buffer_.erase(0, start);
  return out;
}

std::vector<crio::oci::LogEntry> LogStreamReader::EndOfFile() {
  std::vector<crio::oci::LogEntry> out;
  if (!buffer_.empty()) {
    ParseLine(buffer_, &out);
    buffer_.clear();
  }
  return out;
}

std::vector<crio::oci::LogEntry> LogStreamReader::Finish() {
  std::vector<crio::oci::LogEntry> out = EndOfFile();
  for (auto& entry : joiner_.Flush()) out.push_back(std::move(entry));
  return out;
}

std::string FormatLogEntry(const crio::oci::LogEntry& entry, bool timestamps) {
  std::string out;
  if (timestamps) out = crio::oci::FormatRfc3339Nano(entry.time) + " ";
  out += entry.message;
  if (entry.complete) out += '\n';
  return out;
}

std::vector<crio::oci::LogEntry> TailEntries(std::vector<crio::oci::LogEntry> entries, int64_t n) {
  if (n >= 0 && static_cast<std::size_t>(n) < entries.size()) {
    entries.erase(entries.begin(), entries.end() - n);
  }
  return entries;
}

}  // namespace crioctl
