#pragma once
// The pure parts of crioctl's pod and container verbs, kept apart from gRPC so they can be
// unit-tested: config file loading, list filters -> requests, crictl-style tables and JSON,
// and CRI log reading. Output formats follow crictl (kubernetes-sigs/cri-tools).
// Include it before system headers: it pulls in api.pb.h, whose Signal enum values (SIGABRT...)
// collide with <signal.h>'s macros.

#include <google/protobuf/message.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api.pb.h"
#include "oci/log_format.h"
#include "util/status.h"

namespace crioctl {

namespace v1 = ::runtime::v1;

// ---- Config files ----------------------------------------------------------------------------

// Fills `msg` from a config file's text: JSON when the first non-blank character is '{',
// otherwise YAML (yaml_json.h). Field names may be snake_case (crictl's samples) or
// camelCase; unknown fields are ignored. YAML numbers and booleans given for string fields
// (e.g. a label "version: 2") are taken as their text.
// Errors: InvalidArgument (YAML line, or the protobuf JSON parser's message).
crio::Status ParseConfigText(std::string_view text, google::protobuf::Message* msg);

// crictl's checks on a pod config: metadata with name and namespace are required; an empty uid
// is replaced by a random UUID. Errors: InvalidArgument.
crio::Status ValidatePodSandboxConfig(v1::PodSandboxConfig* config);
// crictl's checks on a container config: metadata with a name. Errors: InvalidArgument.
crio::Status ValidateContainerConfig(const v1::ContainerConfig& config);

// Reads, parses and validates a config file. Errors: NotFound "config at <path> not found",
// other read errors, and those of ParseConfigText / Validate*, annotated with the path.
crio::StatusOr<v1::PodSandboxConfig> LoadPodSandboxConfig(const std::string& path);
crio::StatusOr<v1::ContainerConfig> LoadContainerConfig(const std::string& path);

// Images CreateContainer needs: the container image, then any image volume sources.
std::vector<std::string> ImagesToPull(const v1::ContainerConfig& config);

// ---- Filters ---------------------------------------------------------------------------------

// "k=v" flags to a label selector. Errors: InvalidArgument "incorrectly specified label: <s>"
// unless each has exactly one '='.
crio::StatusOr<std::map<std::string, std::string>> ParseLabels(const std::vector<std::string>& in);

struct PodListOptions {
  std::string id;
  std::string name_regex;       // client-side, unanchored (like Go's regexp.MatchString)
  std::string namespace_regex;  // client-side
  std::string state;            // "ready" | "notready" (any case) | ""
  std::vector<std::string> labels;
  bool latest = false;  // only the newest
  int last = 0;         // only the newest N (0: all)
};

// Errors: InvalidArgument for a bad --state or label.
crio::StatusOr<v1::ListPodSandboxRequest> BuildListPodSandboxRequest(const PodListOptions& o);
// Regex filters, newest first, then --latest / --last. Pods without metadata are dropped.
std::vector<v1::PodSandbox> SelectPods(const google::protobuf::RepeatedPtrField<v1::PodSandbox>& in,
                                       const PodListOptions& o);

struct ContainerListOptions {
  std::string id;
  std::string pod_id;
  std::string name_regex;       // client-side
  std::string namespace_regex;  // client-side, on the io.kubernetes.pod.namespace label
  std::string state;            // created|running|exited|unknown (any case) | ""
  std::vector<std::string> labels;
  bool all = false;  // without it and without --state: running containers only
  bool latest = false;
  int last = 0;
};

// Errors: InvalidArgument for a bad --state or label.
crio::StatusOr<v1::ListContainersRequest> BuildListContainersRequest(const ContainerListOptions& o);
// Regex filters and `keep` (when set), newest first, then --latest / --last.
std::vector<v1::Container> SelectContainers(
    const google::protobuf::RepeatedPtrField<v1::Container>& in, const ContainerListOptions& o,
    const std::function<bool(const v1::Container&)>& keep = nullptr);

// ---- Text output -----------------------------------------------------------------------------

// A time zone: the UTC offset in seconds at `unix_seconds`, and (when `name` is set) the zone's
// abbreviation there. LocalZone is the process' local zone; tests pass fixed zones.
using ZoneFn = long (*)(int64_t unix_seconds, std::string* name);
long LocalZone(int64_t unix_seconds, std::string* name);

// go-units HumanDuration: "Less than a second", "1 second", "5 seconds", "About a minute",
// "3 minutes", "About an hour", "5 hours", "3 days", "2 weeks", "3 months", "2 years".
std::string HumanDuration(std::chrono::nanoseconds d);
// "<HumanDuration(now - created)> ago".
std::string Ago(int64_t created_unix_nanos, int64_t now_unix_nanos);

// Drops `prefix` when present and keeps 13 characters (crictl's getTruncatedID).
std::string TruncateId(std::string_view id, std::string_view prefix = {});

// Go text/tabwriter as crictl sets it up (minwidth 20, padding 3, spaces): every column but the
// last is left-aligned in max(20, widest cell + 3) characters. One "\n"-terminated line per row.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

std::string PodStateName(v1::PodSandboxState state);       // "Ready" / "NotReady"
std::string ContainerStateName(v1::ContainerState state);  // "Created", "Running", ...

// `crictl pods` table (POD ID, CREATED, STATE, NAME, NAMESPACE, ATTEMPT, RUNTIME), or -v text.
std::string FormatPodsTable(const std::vector<v1::PodSandbox>& pods, bool no_trunc,
                            int64_t now_unix_nanos);
std::string FormatPodsVerbose(const std::vector<v1::PodSandbox>& pods, ZoneFn zone);
// `crictl ps` table (CONTAINER, IMAGE, CREATED, STATE, NAME, ATTEMPT, POD ID, POD, NAMESPACE),
// or -v text.
std::string FormatContainersTable(const std::vector<v1::Container>& containers, bool no_trunc,
                                  int64_t now_unix_nanos);
std::string FormatContainersVerbose(const std::vector<v1::Container>& containers,
                                    int64_t now_unix_nanos);

// `inspectp -o table` / `inspect -o table` text.
std::string FormatPodStatusTable(const v1::PodSandboxStatusResponse& resp, bool verbose,
                                 ZoneFn zone);
std::string FormatContainerStatusTable(const v1::ContainerStatusResponse& resp, bool verbose,
                                       int64_t now_unix_nanos);

// ---- JSON output -----------------------------------------------------------------------------

// Go's time.Unix(0, ns).Format(time.RFC3339Nano) in `zone`: fractional seconds without
// trailing zeros, "Z" for offset 0 ("2024-05-01T10:00:00.5+02:00").
std::string FormatGoRfc3339Nano(int64_t unix_nanos, ZoneFn zone);
// Go's default time.Time formatting ("2006-01-02 15:04:05.999999999 -0700 MST"), as crictl's
// verbose outputs print creation times.
std::string FormatGoTimeString(int64_t unix_nanos, ZoneFn zone);

// Message as JSON with default values printed and protobuf's lowerCamelCase names, fields in
// declaration order (crictl's protojson EmitDefaultValues), e.g. for `pods -o json`.
nlohmann::ordered_json ProtoToJson(const google::protobuf::Message& msg);

// One `inspectp`/`inspect` entry as crictl builds it: {"info": ..., "status": ...} with the
// status' timestamps as RFC 3339 strings (local zone), info values that start with '{' parsed
// as JSON objects and other values with their double quotes trimmed. Keys sorted like Go maps.
nlohmann::json PodInspectEntry(const v1::PodSandboxStatusResponse& resp, ZoneFn zone);
nlohmann::json ContainerInspectEntry(const v1::ContainerStatusResponse& resp, ZoneFn zone);
// One entry prints as an object, several as an array; 2-space indentation.
std::string InspectDocument(const std::vector<nlohmann::json>& entries);

// ---- Durations -------------------------------------------------------------------------------

// Go duration syntax ("1m30s", "500ms", "2h") or a bare number of seconds ("10", "1.5").
// Errors: InvalidArgument.
crio::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// ---- CRI logs --------------------------------------------------------------------------------

// Turns a CRI log file's bytes, fed as they arrive, into messages (P chunks joined per stream).
// Malformed records are skipped and counted, as the kubelet does.
class LogStreamReader {
 public:
  // Returns the messages completed by `data`; an unterminated last line waits for more bytes.
  std::vector<crio::oci::LogEntry> Feed(std::string_view data);
  // End of one file (e.g. before following a rotated log into its successor): parses an
  // unterminated last line as a whole record. Partial messages stay pending.
  std::vector<crio::oci::LogEntry> EndOfFile();
  // End of input: EndOfFile, then the messages whose F chunk never came (marked incomplete).
  std::vector<crio::oci::LogEntry> Finish();
  int malformed() const { return malformed_; }

 private:
  void ParseLine(std::string_view line, std::vector<crio::oci::LogEntry>* out);

  std::string buffer_;
  crio::oci::LogJoiner joiner_;
  int malformed_ = 0;
};

// What `logs` prints for a message: "[<RFC3339Nano UTC> ]<message>" and a newline unless the
// message never got its F chunk.
std::string FormatLogEntry(const crio::oci::LogEntry& entry, bool timestamps);

// The last `n` entries (n < 0: all).
std::vector<crio::oci::LogEntry> TailEntries(std::vector<crio::oci::LogEntry> entries, int64_t n);

}  // namespace crioctl
