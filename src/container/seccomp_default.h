#pragma once
// Seccomp for containers: the built-in RuntimeDefault profile and the conversion of profile files
// (the Docker / containers-common "seccomp.json" format that Kubernetes Localhost profiles and
// crio.conf's seccomp_profile use) into the OCI `linux.seccomp` object (config-linux.md).
//
// The built-in profile is an allowlist: every syscall not listed fails with EPERM
// (SCMP_ACT_ERRNO, errnoRet 1). Syscalls that need a capability are allowed only when the
// container's bounding set holds it (e.g. mount/unshare/setns with CAP_SYS_ADMIN); without
// CAP_SYS_ADMIN, clone is allowed only without namespace flags and clone3 fails with ENOSYS so
// libc falls back to clone; personality is limited to the harmless personas.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::container {

// What of the host the profile depends on.
struct SeccompHost {
  std::string machine = "x86_64";  // uname -m: selects architectures and arch-only syscalls
  std::string kernel_release;      // uname -r, for "minKernel" rules; "" = rules always apply
};

// The OCI libseccomp architecture names for `machine` (x86_64 gives SCMP_ARCH_X86_64,
// SCMP_ARCH_X86, SCMP_ARCH_X32; aarch64 gives SCMP_ARCH_AARCH64, SCMP_ARCH_ARM); empty for an
// unknown machine, which leaves the runtime's native architecture only.
std::vector<std::string> SeccompArchitectures(const std::string& machine);

// The built-in RuntimeDefault profile as an OCI linux.seccomp object for a container whose
// bounding capability set is `caps` ("CAP_SYS_ADMIN" form).
nlohmann::json DefaultSeccompProfile(const std::vector<std::string>& caps, const SeccompHost& host);

// Converts a parsed profile file into an OCI linux.seccomp object. Accepts the OCI form itself
// and the Docker form: "archMap" (the entry for the host architecture and its
// subArchitectures), "name" or "names", and per-rule "includes"/"excludes" on "caps",
// "arches" (Go names: amd64, arm64, ...) and "minKernel", evaluated against `caps` and `host`.
// "defaultErrnoRet", "flags", "listenerPath" and "listenerMetadata" are carried over.
// InvalidArgument when the document is not an object, lacks "defaultAction", or has a rule
// without names or action.
StatusOr<nlohmann::json> SeccompProfileToOci(const nlohmann::json& profile,
                                             const std::vector<std::string>& caps,
                                             const SeccompHost& host);

}  // namespace crio::container
