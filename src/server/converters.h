#pragma once
// Conversions from the persisted pod and container state to CRI status messages, shared by the
// status RPCs and GetContainerEvents so both report the same fields.
#include "api.pb.h"
#include "crio_state.pb.h"

namespace crio::server {

namespace v1 = ::runtime::v1;

void FillPodStatus(const state::PodState& pod, v1::PodSandboxStatus* out);
void FillContainerStatus(const state::ContainerState& c, v1::ContainerStatus* out);

}  // namespace crio::server
