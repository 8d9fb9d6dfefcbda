// What is added to a container's spec after container::BuildSpec: OCI hooks from hooks_dir and
// CDI devices. Kept apart from manager.cc.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "container/cdi.h"
#include "container/hooks.h"
#include "lifecycle/containers.h"
#include "util/log.h"

namespace crio::lifecycle {

Status Containers::ApplySpecExtensions(nlohmann::json& spec, const v1::ContainerConfig& config,
                                       const std::string& id) {
  std::vector<std::string> cdi_names;
  for (const auto& d : config.cdi_devices()) cdi_names.push_back(d.name());
  std::map<std::string, std::string> annotations(config.annotations().begin(),
                                                 config.annotations().end());
  std::vector<std::string> requested = container::RequestedCdiDevices(cdi_names, annotations);
  if (!requested.empty()) {
    container::CdiRegistry registry =
        container::LoadCdiSpecs(ctx_.CurrentConfig()->runtime.cdi_spec_dirs);
    Status st = container::ApplyCdiDevices(spec, registry, requested);
    if (!st.ok()) return Annotate(st, absl::StrCat("container ", config.metadata().name()));
    CRIO_LOG_INFO("container={}: CDI devices {}", id, absl::StrJoin(requested, ","));
  }
  // Loaded per container, so edits in hooks_dir apply without a restart (CRI-O watches it).
  container::HookSet hooks = container::LoadHooks(ctx_.deps().config.runtime.hooks_dir);
  if (!hooks.hooks.empty()) {
    int added = container::ApplyHooks(spec, hooks, config.mounts_size() > 0);
    if (added > 0) CRIO_LOG_INFO("container={}: {} OCI hooks from hooks_dir", id, added);
  }
  return absl::OkStatus();
}

}  // namespace crio::lifecycle
