// BuildSpec and BuildSandboxSpec: each a list of steps, one per concern of the spec, each in its
// own translation unit (spec_process, spec_security, spec_namespaces, spec_mounts,
// spec_resources). This file holds the input checks, the host probe and the top-level fields.
#include "container/spec_builder.h"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <charconv>
#include <filesystem>
#include <string_view>

#include "absl/strings/match.h"
#include "container/spec_internal.h"
#include "container/spec_mounts.h"
#include "container/spec_namespaces.h"
#include "container/spec_process.h"
#include "container/spec_resources.h"
#include "container/spec_security.h"
#include "os/file.h"

namespace crio::container {

namespace v1 = runtime::v1;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Helpers shared by the spec_*.cc units

namespace spec_internal {

std::string CleanPath(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadTrimmed(const std::string& path) {
  auto text = os::ReadSmallFile(path, 4096);
  if (!text.ok()) {
    return "";
  }
  std::string out = *text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

namespace {

const HostInfo& HostFor(const HostInfo* given, bool cgroup_v2) {
  if (given != nullptr) {
    return *given;
  }
  static const HostInfo kV1 = ProbeHost(false);
  static const HostInfo kV2 = ProbeHost(true);
  return cgroup_v2 ? kV2 : kV1;
}

}  // namespace

StatusOr<ContainerContext> ContainerContextFor(const SpecInputs& in) {
  if (in.config == nullptr || in.sandbox == nullptr || in.runtime == nullptr) {
    return InvalidArgument("BuildSpec needs config, sandbox and runtime configuration");
  }
  const v1::LinuxContainerSecurityContext& sc = in.config->linux().security_context();
  RETURN_IF_ERROR(CheckUserns(*in.sandbox, &sc.namespace_options()));
  if (sc.privileged() && !in.sandbox->linux().security_context().privileged()) {
    return InvalidArgument("no privileged container allowed in a non-privileged sandbox");
  }
  return ContainerContext{.in = in,
                          .config = *in.config,
                          .sandbox = *in.sandbox,
                          .rc = *in.runtime,
                          .host = HostFor(in.host, in.cgroup_v2),
                          .sc = sc,
                          .privileged = sc.privileged(),
                          .readonly_root = sc.readonly_rootfs() || in.runtime->read_only};
}

StatusOr<SandboxContext> SandboxContextFor(const SandboxSpecInputs& in) {
  if (in.sandbox == nullptr || in.runtime == nullptr) {
    return InvalidArgument("BuildSandboxSpec needs sandbox and runtime configuration");
  }
  RETURN_IF_ERROR(CheckUserns(*in.sandbox, nullptr));
  return SandboxContext{.in = in,
                        .sandbox = *in.sandbox,
                        .rc = *in.runtime,
                        .host = HostFor(in.host, in.cgroup_v2),
                        .sc = in.sandbox->linux().security_context()};
}

}  // namespace spec_internal

namespace {

using spec_internal::CleanPath;
using spec_internal::ContainerContext;
using spec_internal::NamespacePlan;
using spec_internal::PathExists;
using spec_internal::ReadTrimmed;
using spec_internal::SandboxContext;

constexpr char kOciVersion[] = "1.1.0";
constexpr char kAnnotationContainerId[] = "io.kubernetes.cri-o.ContainerID";
constexpr char kAnnotationSandboxId[] = "io.kubernetes.cri-o.SandboxID";
constexpr char kAnnotationContainerType[] = "io.kubernetes.cri-o.ContainerType";

// Without CAP_SYS_RESOURCE (bit 24 of CapEff) no process we start can go below our own score.
int ProbeMinOomScoreAdj() {
  auto status = os::ReadSmallFile("/proc/self/status", 1 << 16);
  constexpr std::string_view kCapEff = "\nCapEff:\t";
  const size_t pos = status.ok() ? status->find(kCapEff) : std::string::npos;
  if (pos == std::string::npos) {
    return -1000;
  }
  uint64_t eff = 0;
  const char* begin = status->data() + pos + kCapEff.size();
  if (std::from_chars(begin, status->data() + status->size(), eff, 16).ec != std::errc() ||
      (eff & (uint64_t{1} << 24)) != 0) {
    return -1000;
  }
  const std::string own = ReadTrimmed("/proc/self/oom_score_adj");
  int score = 0;
  if (std::from_chars(own.data(), own.data() + own.size(), score).ec != std::errc()) {
    return 0;
  }
  return score;
}

uint64_t ProbeBoundingCaps() {
  auto status = os::ReadSmallFile("/proc/self/status", 1 << 16);
  constexpr std::string_view kCapBnd = "\nCapBnd:\t";
  const size_t pos = status.ok() ? status->find(kCapBnd) : std::string::npos;
  uint64_t bounding = 0;
  if (pos == std::string::npos || std::from_chars(status->data() + pos + kCapBnd.size(),
                                                  status->data() + status->size(), bounding, 16)
                                          .ec != std::errc()) {
    return ~uint64_t{0};
  }
  return bounding;
}

json BaseSpec(const std::string& rootfs, bool readonly) {
  return {{"ociVersion", kOciVersion}, {"root", {{"path", rootfs}, {"readonly", readonly}}}};
}

// The request's annotations plus the keys CRI-O adds, which win.
json Annotations(const google::protobuf::Map<std::string, std::string>& cri,
                 const std::string& container_id, const std::string& sandbox_id, const char* type) {
  json annotations = json::object();
  for (const auto& [k, v] : cri) annotations[k] = v;
  annotations[kAnnotationContainerId] = container_id;
  annotations[kAnnotationSandboxId] = sandbox_id;
  annotations[kAnnotationContainerType] = type;
  return annotations;
}

}  // namespace

HostInfo ProbeHost(bool cgroup_v2) {
  HostInfo host;
  const std::string last = ReadTrimmed("/proc/sys/kernel/cap_last_cap");
  int value = 0;
  if (!last.empty() &&
      std::from_chars(last.data(), last.data() + last.size(), value).ec == std::errc()) {
    host.cap_last_cap = value;
  }
  host.apparmor_enabled =
      absl::StartsWith(ReadTrimmed("/sys/module/apparmor/parameters/enabled"), "Y");
  if (cgroup_v2) {
    // Look where this process lives: the root cgroup has no memory.swap.* files.
    std::string self = ReadTrimmed("/proc/self/cgroup");  // "0::/path"
    std::string rel = self.size() > 3 && absl::StartsWith(self, "0::") ? self.substr(3) : "/";
    host.memory_swap = PathExists(CleanPath("/sys/fs/cgroup/" + rel + "/memory.swap.current")) ||
                       PathExists(CleanPath("/sys/fs/cgroup/" + rel + "/memory.swap.max"));
    host.hugetlb = absl::StrContains(ReadTrimmed("/sys/fs/cgroup/cgroup.controllers"), "hugetlb");
  } else {
    host.memory_swap = PathExists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
    host.hugetlb = PathExists("/sys/fs/cgroup/hugetlb");
  }
  host.min_oom_score_adj = ProbeMinOomScoreAdj();
  host.bounding_caps = ProbeBoundingCaps();
  struct utsname u;
  if (::uname(&u) == 0) {
    host.machine = u.machine;
    host.kernel_release = u.release;
  }
  return host;
}

StatusOr<nlohmann::json> BuildSpec(const SpecInputs& in) {
  ASSIGN_OR_RETURN(const ContainerContext ctx, spec_internal::ContainerContextFor(in));
  json spec = BaseSpec(in.rootfs, ctx.readonly_root);
  ASSIGN_OR_RETURN(spec["process"], spec_internal::ContainerProcess(ctx));
  RETURN_IF_ERROR(spec_internal::AddContainerSecurity(ctx, spec));
  ASSIGN_OR_RETURN(const NamespacePlan plan, spec_internal::AddContainerNamespaces(ctx, spec));
  RETURN_IF_ERROR(spec_internal::AddContainerMounts(ctx, plan, spec));
  RETURN_IF_ERROR(spec_internal::AddContainerResources(ctx, spec));
  spec["annotations"] =
      Annotations(ctx.config.annotations(), in.container_id, in.pod.pod_id, "container");
  return spec;
}

StatusOr<nlohmann::json> BuildSandboxSpec(const SandboxSpecInputs& in) {
  ASSIGN_OR_RETURN(const SandboxContext ctx, spec_internal::SandboxContextFor(in));
  // The infra container's root is never written to.
  json spec = BaseSpec(in.rootfs, true);
  ASSIGN_OR_RETURN(spec["process"], spec_internal::SandboxProcess(ctx));
  RETURN_IF_ERROR(spec_internal::AddSandboxSecurity(ctx, spec));
  ASSIGN_OR_RETURN(const NamespacePlan plan, spec_internal::AddSandboxNamespaces(ctx, spec));
  spec["mounts"] = spec_internal::SandboxMounts(in.pod, plan);
  spec_internal::AddSandboxResources(ctx, spec);
  spec["annotations"] =
      Annotations(ctx.sandbox.annotations(), in.sandbox_id, in.sandbox_id, "sandbox");
  return spec;
}

}  // namespace crio::container
