#pragma once
// Shared by the translation units of the spec builder (spec_builder.cc and spec_*.cc, one per
// concern): the checked inputs of one spec and small path helpers. Not for use outside
// src/container; the public API is spec_builder.h.

// spec_builder.h pulls in api.pb.h, which must come before any system header.
#include "container/spec_builder.h"

#include <string>

#include "util/status.h"

namespace crio::container::spec_internal {

// BuildSpec's inputs with the required pointers checked, plus what several concerns derive.
struct ContainerContext {
  const SpecInputs& in;
  const runtime::v1::ContainerConfig& config;
  const runtime::v1::PodSandboxConfig& sandbox;
  const config::RuntimeConfig& rc;
  const HostInfo& host;
  const runtime::v1::LinuxContainerSecurityContext& sc;  // config.linux().security_context()
  bool privileged = false;
  bool readonly_root = false;  // the CRI readonly_rootfs or crio.conf read_only
};

// BuildSandboxSpec's inputs with the required pointers checked.
struct SandboxContext {
  const SandboxSpecInputs& in;
  const runtime::v1::PodSandboxConfig& sandbox;
  const config::RuntimeConfig& rc;
  const HostInfo& host;
  const runtime::v1::LinuxSandboxSecurityContext& sc;  // sandbox.linux().security_context()
};

// The checks BuildSpec makes before any concern runs. InvalidArgument: missing config, sandbox
// or runtime; a privileged container in a non-privileged sandbox. FailedPrecondition: user
// namespaces requested.
StatusOr<ContainerContext> ContainerContextFor(const SpecInputs& in);
// The same for BuildSandboxSpec (missing sandbox or runtime; user namespaces).
StatusOr<SandboxContext> SandboxContextFor(const SandboxSpecInputs& in);

// Lexically cleaned path ("/a/b/../c/" -> "/a/c"), as Go's filepath.Clean.
std::string CleanPath(const std::string& path);
bool PathExists(const std::string& path);
// A small file's content without trailing newlines and spaces; "" when unreadable.
std::string ReadTrimmed(const std::string& path);

}  // namespace crio::container::spec_internal
