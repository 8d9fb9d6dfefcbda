#include "container/spec_security.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "container/seccomp_default.h"
#include "os/file.h"
#include "util/log.h"

namespace crio::container::spec_internal {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

// Capability names by number (linux/capability.h), CAP_CHOWN = 0 .. CAP_CHECKPOINT_RESTORE = 40.
// clang-format off
constexpr const char* kCapNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH",  "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",            "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",         "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",       "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",         "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",   "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",           "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",      "CAP_PERFMON",          "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};
// clang-format on
constexpr int kKnownCaps = sizeof(kCapNames) / sizeof(kCapNames[0]);
constexpr int kCapSysAdmin = 21;

// Paths hidden from non-privileged containers: containers/common's defaults plus the two CRI-O
// adds (/proc/asound, /proc/interrupts). The kubelet's lists are merged in, never replace these.
const std::vector<std::string>& DefaultMaskedPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/acpi",        "/proc/asound",   "/proc/interrupts",
      "/proc/kcore",       "/proc/keys",     "/proc/latency_stats",
      "/proc/sched_debug", "/proc/scsi",     "/proc/timer_list",
      "/proc/timer_stats", "/sys/dev/block", "/sys/devices/virtual/powercap",
      "/sys/firmware",     "/sys/fs/selinux"};
  return kPaths;
}

const std::vector<std::string>& DefaultReadonlyPaths() {
  static const std::vector<std::string> kPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                  "/proc/sysrq-trigger"};
  return kPaths;
}

// ---------------------------------------------------------------------------------------------
// Capabilities

std::string CapName(const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  return absl::StartsWith(upper, "CAP_") ? upper : "CAP_" + upper;
}

StatusOr<int> CapIndex(const std::string& name, const HostInfo& host, std::string_view what) {
  const std::string full = CapName(name);
  const int last = std::min(host.cap_last_cap, kKnownCaps - 1);
  for (int i = 0; i <= last; ++i) {
    if (full == kCapNames[i]) {
      return i;
    }
  }
  return InvalidArgument(absl::StrCat("unknown capability \"", full, "\" to ", std::string(what)));
}

bool InBoundingSet(int cap, const HostInfo& host) {
  return cap < 64 && (host.bounding_caps & (uint64_t{1} << cap)) != 0;
}

// Every capability the kernel knows and the daemon can pass on.
std::set<int> AllCaps(const HostInfo& host) {
  std::set<int> out;
  for (int i = 0; i <= std::min(host.cap_last_cap, kKnownCaps - 1); ++i) {
    if (InBoundingSet(i, host)) {
      out.insert(i);
    }
  }
  return out;
}

json CapabilitiesJson(const std::set<int>& caps, bool inheritable) {
  const std::vector<std::string> list = CapabilityNames(caps);
  return {{"bounding", list},
          {"effective", list},
          {"permitted", list},
          {"inheritable", inheritable ? list : std::vector<std::string>{}},
          {"ambient", json::array()}};
}

// ---------------------------------------------------------------------------------------------
// Seccomp and AppArmor

StatusOr<json> LoadSeccompFile(const std::string& path, const std::vector<std::string>& caps,
                               const HostInfo& host, bool from_request) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument(absl::StrCat("seccomp profile path \"", path, "\" is not absolute"));
  }
  auto text = os::ReadSmallFile(path);
  if (!text.ok()) {
    if (from_request) {
      return InvalidArgument(
          absl::StrCat("seccomp profile \"", path, "\" cannot be read: ", Message(text.status())));
    }
    return Annotate(text.status(), "seccomp profile");
  }
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return InvalidArgument(absl::StrCat("seccomp profile \"", path, "\" is not valid JSON"));
  }
  auto oci = SeccompProfileToOci(doc, caps, {host.machine, host.kernel_release});
  if (!oci.ok()) {
    return InvalidArgument(absl::StrCat("\"", path, "\": ", Message(oci.status())));
  }
  return *oci;
}

enum class ProfileKind { kRuntimeDefault, kUnconfined, kLocalhost };

struct ProfileChoice {
  ProfileKind kind = ProfileKind::kRuntimeDefault;
  std::string localhost;  // path (seccomp) or profile name (AppArmor)
};

// The deprecated string fields: "runtime/default", "docker/default", "unconfined",
// "localhost/<ref>"; "" means RuntimeDefault.
StatusOr<ProfileChoice> LegacyProfile(const std::string& value, const char* what) {
  if (value.empty() || value == "runtime/default" || value == "docker/default") {
    return ProfileChoice{};
  }
  if (value == "unconfined") {
    return ProfileChoice{ProfileKind::kUnconfined, ""};
  }
  if (absl::StartsWith(value, "localhost/")) {
    return ProfileChoice{ProfileKind::kLocalhost, value.substr(strlen("localhost/"))};
  }
  return InvalidArgument(absl::StrCat("unknown ", what, " profile \"", value, "\""));
}

ProfileChoice FromSecurityProfile(const v1::SecurityProfile& p) {
  switch (p.profile_type()) {
    case v1::SecurityProfile::Unconfined:
      return {ProfileKind::kUnconfined, ""};
    case v1::SecurityProfile::Localhost:
      return {ProfileKind::kLocalhost, p.localhost_ref()};
    default:
      return {};
  }
}

// Old kubelets still send the deprecated string fields; read them in one place.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::string LegacySeccompProfile(const v1::LinuxContainerSecurityContext& sc) {
  return sc.seccomp_profile_path();
}
std::string LegacySeccompProfile(const v1::LinuxSandboxSecurityContext& sc) {
  return sc.seccomp_profile_path();
}
std::string LegacyAppArmorProfile(const v1::LinuxContainerSecurityContext& sc) {
  return sc.apparmor_profile();
}
#pragma GCC diagnostic pop

// linux.seccomp, or null for none. Mirrors CRI-O's setupSeccomp: privileged containers are
// unconfined unless privileged_seccomp_profile is set; an absent profile is RuntimeDefault
// unless seccomp_use_default_when_empty is false, then unconfined.
StatusOr<json> SeccompFor(bool has_profile, const v1::SecurityProfile& profile,
                          const std::string& legacy, bool privileged,
                          const config::RuntimeConfig& rc, const std::vector<std::string>& caps,
                          const HostInfo& host) {
  if (privileged) {
    if (rc.privileged_seccomp_profile.empty()) {
      return json();
    }
    return LoadSeccompFile(rc.privileged_seccomp_profile, caps, host, false);
  }
  if (!has_profile && legacy.empty() && !rc.seccomp_use_default_when_empty) {
    return json();  // nothing asked for: unconfined, as the CRI says
  }
  ProfileChoice choice;
  if (has_profile) {
    choice = FromSecurityProfile(profile);
  } else {
    ASSIGN_OR_RETURN(choice, LegacyProfile(legacy, "seccomp"));
  }
  switch (choice.kind) {
    case ProfileKind::kUnconfined:
      return json();
    case ProfileKind::kLocalhost:
      return LoadSeccompFile(choice.localhost, caps, host, true);
    case ProfileKind::kRuntimeDefault:
      break;
  }
  if (!rc.seccomp_profile.empty()) {
    return LoadSeccompFile(rc.seccomp_profile, caps, host, false);
  }
  return DefaultSeccompProfile(caps, {host.machine, host.kernel_release});
}

// process.apparmorProfile, "" for none (AppArmor off or privileged, as in CRI-O).
StatusOr<std::string> AppArmorFor(bool has_profile, const v1::SecurityProfile& profile,
                                  const std::string& legacy, bool privileged,
                                  const config::RuntimeConfig& rc, const HostInfo& host) {
  if (!host.apparmor_enabled || privileged) {
    return std::string();
  }
  ProfileChoice choice;
  if (has_profile) {
    choice = FromSecurityProfile(profile);
  } else {
    ASSIGN_OR_RETURN(choice, LegacyProfile(legacy, "apparmor"));
  }
  switch (choice.kind) {
    case ProfileKind::kUnconfined:
      return std::string("unconfined");
    case ProfileKind::kLocalhost: {
      std::string name = choice.localhost;
      if (absl::StartsWith(name, "localhost/")) {
        name = name.substr(strlen("localhost/"));
      }
      if (name.empty()) {
        return InvalidArgument("apparmor Localhost profile needs a name");
      }
      return name;
    }
    case ProfileKind::kRuntimeDefault:
      break;
  }
  return rc.apparmor_profile;
}

// ---------------------------------------------------------------------------------------------
// Masked and read-only paths

std::vector<std::string> MergedPaths(const std::vector<std::string>& defaults,
                                     const google::protobuf::RepeatedPtrField<std::string>& cri) {
  std::set<std::string> all(defaults.begin(), defaults.end());
  for (const std::string& p : cri) {
    if (!p.empty()) all.insert(p);
  }
  return {all.begin(), all.end()};
}

}  // namespace

StatusOr<std::set<int>> ContainerCaps(const v1::Capability& caps,
                                      const std::vector<std::string>& defaults,
                                      const HostInfo& host) {
  auto is_all = [](const std::string& c) { return absl::EqualsIgnoreCase(c, "ALL"); };
  const bool add_all =
      std::any_of(caps.add_capabilities().begin(), caps.add_capabilities().end(), is_all);
  const bool drop_all =
      std::any_of(caps.drop_capabilities().begin(), caps.drop_capabilities().end(), is_all);
  std::set<int> out;
  if (add_all && !drop_all) {
    out = AllCaps(host);
  }
  std::vector<std::string> adds(caps.add_capabilities().begin(), caps.add_capabilities().end());
  if (!add_all && !drop_all) {
    adds.insert(adds.end(), defaults.begin(), defaults.end());
  }
  for (const std::string& c : adds) {
    if (!is_all(c)) {
      ASSIGN_OR_RETURN(int index, CapIndex(c, host, "add"));
      if (!InBoundingSet(index, host)) {
        return InvalidArgument(absl::StrCat("capability ", kCapNames[index],
                                            " cannot be added: the runtime does not have it "
                                            "(not in crio's bounding set)"));
      }
      out.insert(index);
    }
  }
  for (const std::string& c : caps.drop_capabilities()) {
    if (!is_all(c)) {
      ASSIGN_OR_RETURN(int index, CapIndex(c, host, "drop"));
      out.erase(index);
    }
  }
  return out;
}

std::vector<std::string> CapabilityNames(const std::set<int>& caps) {
  std::vector<std::string> out;
  for (int c : caps) {
    out.emplace_back(kCapNames[c]);
  }
  return out;
}

Status AddContainerSecurity(const ContainerContext& ctx, json& spec) {
  const v1::LinuxContainerSecurityContext& sc = ctx.sc;
  std::set<int> caps;
  if (ctx.privileged) {
    caps = AllCaps(ctx.host);
  } else {
    ASSIGN_OR_RETURN(caps, ContainerCaps(sc.capabilities(), ctx.rc.default_capabilities, ctx.host));
  }
  json& process = spec["process"];
  process["capabilities"] = CapabilitiesJson(caps, ctx.rc.add_inheritable_capabilities);
  process["noNewPrivileges"] = sc.no_new_privs();
  if (sc.no_new_privs() && (ctx.privileged || caps.count(kCapSysAdmin) > 0)) {
    CRIO_LOG_WARN("container {}: noNewPrivileges has no effect with CAP_SYS_ADMIN or privileged",
                  ctx.in.container_id);
  }
  ASSIGN_OR_RETURN(std::string apparmor,
                   AppArmorFor(sc.has_apparmor(), sc.apparmor(), LegacyAppArmorProfile(sc),
                               ctx.privileged, ctx.rc, ctx.host));
  if (!apparmor.empty()) process["apparmorProfile"] = apparmor;

  json& linux = spec["linux"];
  if (!ctx.privileged) {
    linux["maskedPaths"] = MergedPaths(DefaultMaskedPaths(), sc.masked_paths());
    linux["readonlyPaths"] = MergedPaths(DefaultReadonlyPaths(), sc.readonly_paths());
  }
  ASSIGN_OR_RETURN(json seccomp,
                   SeccompFor(sc.has_seccomp(), sc.seccomp(), LegacySeccompProfile(sc),
                              ctx.privileged, ctx.rc, CapabilityNames(caps), ctx.host));
  if (!seccomp.is_null()) linux["seccomp"] = std::move(seccomp);
  return absl::OkStatus();
}

Status AddSandboxSecurity(const SandboxContext& ctx, json& spec) {
  const v1::LinuxSandboxSecurityContext& sc = ctx.sc;
  ASSIGN_OR_RETURN(std::set<int> caps,
                   ContainerCaps(v1::Capability(), ctx.rc.default_capabilities, ctx.host));
  json& process = spec["process"];
  process["capabilities"] = CapabilitiesJson(caps, ctx.rc.add_inheritable_capabilities);
  process["noNewPrivileges"] = true;
  ASSIGN_OR_RETURN(std::string apparmor, AppArmorFor(sc.has_apparmor(), sc.apparmor(), "",
                                                     sc.privileged(), ctx.rc, ctx.host));
  if (!apparmor.empty()) process["apparmorProfile"] = apparmor;

  json& linux = spec["linux"];
  linux["maskedPaths"] = DefaultMaskedPaths();
  linux["readonlyPaths"] = DefaultReadonlyPaths();
  ASSIGN_OR_RETURN(json seccomp,
                   SeccompFor(sc.has_seccomp(), sc.seccomp(), LegacySeccompProfile(sc),
                              sc.privileged(), ctx.rc, CapabilityNames(caps), ctx.host));
  if (!seccomp.is_null()) linux["seccomp"] = std::move(seccomp);
  return absl::OkStatus();
}

}  // namespace crio::container::spec_internal
