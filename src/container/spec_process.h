#pragma once
// `process` of a container's or infra container's spec: args, terminal, user and groups, env,
// cwd, rlimits and oomScoreAdj. Capabilities, noNewPrivileges and the AppArmor profile belong to
// security (spec_security.h).

#include "container/spec_internal.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::container::spec_internal {

// The kubelet/Docker merge rule (CRI-O SpecSetProcessArgs): the CRI command replaces the image
// Entrypoint and drops its Cmd; CRI args replace the image Cmd. `image` may be null.
// InvalidArgument "container has no command" when nothing is left.
StatusOr<std::vector<std::string>> ProcessArgs(const runtime::v1::ContainerConfig& config,
                                               const image::ImageConfig* image);

// process.rlimits from crio.conf default_ulimits ("name=soft:hard" or "name=value", -1 for
// unlimited); a repeated name replaces the earlier value in its place. InvalidArgument for an
// unknown name, a bad value or soft above hard.
StatusOr<nlohmann::json> Rlimits(const std::vector<std::string>& ulimits);

// `requested`, raised to HostInfo::min_oom_score_adj when the runtime could not set it.
int64_t OomScoreAdj(int64_t requested, const HostInfo& host);

// A container's process object, without what security adds. InvalidArgument: no command, user
// resolution errors (image_user.h), run_as_non_root with uid 0, bad default_ulimits.
StatusOr<nlohmann::json> ContainerProcess(const ContainerContext& ctx);

// The infra container's process object: the pause command (or the pause image's Entrypoint and
// Cmd), the pod's run_as_user/run_as_group and supplemental groups, PATH only, cwd "/" and
// oomScoreAdj -998. InvalidArgument: no pause command, ids out of range, bad default_ulimits.
StatusOr<nlohmann::json> SandboxProcess(const SandboxContext& ctx);

}  // namespace crio::container::spec_internal
