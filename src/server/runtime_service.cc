#include "server/runtime_service.h"

#include <nlohmann/json.hpp>

#include "server/grpc_status.h"
#include "server/readiness.h"
#include "util/build_info.h"
#include "util/log.h"

namespace crio::server {

namespace {
constexpr char kRuntimeName[] = "crio-cpp";
constexpr char kRuntimeApiVersion[] = "v1";
constexpr char kService[] = "runtime.v1.RuntimeService";

void AddCondition(v1::RuntimeStatus* status, const char* type, const Condition& c) {
  auto* cond = status->add_conditions();
  cond->set_type(type);
  cond->set_status(c.ready);
  cond->set_reason(c.reason);
  cond->set_message(c.message);
}

// Verbose Status info: what an operator needs to see which config the daemon runs with.
std::string VerboseConfigJson(const config::Config& cfg, const std::string& pod_cidr) {
  nlohmann::json handlers = nlohmann::json::object();
  for (const auto& [name, h] : cfg.runtime.runtimes) {
    handlers[name] = {{"runtime_path", h.runtime_path},
                      {"runtime_type", h.runtime_type},
                      {"runtime_root", h.runtime_root},
                      {"monitor_path", h.monitor_path}};
  }
  nlohmann::json j = {
      {"version", build::kVersion},
      {"git_commit", build::kGitCommit},
      {"root", cfg.root.root},
      {"runroot", cfg.root.runroot},
      {"storage_driver", cfg.root.storage_driver},
      {"listen", cfg.api.listen},
      {"cgroup_manager", cfg.runtime.cgroup_manager},
      {"default_runtime", cfg.runtime.default_runtime},
      {"runtimes", handlers},
      {"log_level", cfg.runtime.log_level},
      {"pause_image", cfg.image.pause_image},
      {"cni_network_dir", cfg.network.network_dir},
      {"cni_plugin_dirs", cfg.network.plugin_dirs},
      {"pod_cidr", pod_cidr},
  };
  return j.dump();
}
}  // namespace

grpc::Status RuntimeService::Pending(std::string_view rpc) { return NotImplemented(kService, rpc); }

grpc::Status RuntimeService::Version(grpc::ServerContext*, const v1::VersionRequest*,
                                     v1::VersionResponse* resp) {
  // `version` is the kubelet-facing API version of this message, CRI's own: 0.1.0.
  resp->set_version("0.1.0");
  resp->set_runtime_name(kRuntimeName);
  resp->set_runtime_version(build::kVersion);
  resp->set_runtime_api_version(kRuntimeApiVersion);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::Status(grpc::ServerContext*, const v1::StatusRequest* req,
                                    v1::StatusResponse* resp) {
  config::Config cfg = ctx_.ConfigSnapshot();
  auto* status = resp->mutable_status();
  AddCondition(status, "RuntimeReady", CheckRuntimeReady(cfg));
  if (ctx_.network != nullptr) {
    lifecycle::NetworkReadiness net = ctx_.network->Readiness();
    AddCondition(status, "NetworkReady", {net.ready, net.reason, net.message});
  } else {
    AddCondition(status, "NetworkReady", CheckNetworkReady(cfg.network));
  }
  for (const auto& [name, handler] : cfg.runtime.runtimes) {
    auto* h = resp->add_runtime_handlers();
    h->set_name(name);
    // Not yet supported: reported false so the kubelet does not rely on them.
    h->mutable_features()->set_recursive_read_only_mounts(false);
    h->mutable_features()->set_user_namespaces(false);
    if (name == cfg.runtime.default_runtime) {
      // The kubelet looks up the default handler under the empty name.
      auto* d = resp->add_runtime_handlers();
      *d = *h;
      d->set_name("");
    }
  }
  if (req->verbose()) {
    (*resp->mutable_info())["config"] = VerboseConfigJson(cfg, ctx_.PodCidr());
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                                           v1::RuntimeConfigResponse* resp) {
  config::Config cfg = ctx_.ConfigSnapshot();
  resp->mutable_linux()->set_cgroup_driver(cfg.runtime.cgroup_manager == "cgroupfs"
                                               ? v1::CgroupDriver::CGROUPFS
                                               : v1::CgroupDriver::SYSTEMD);
  return grpc::Status::OK;
}

grpc::Status RuntimeService::UpdateRuntimeConfig(grpc::ServerContext*,
                                                 const v1::UpdateRuntimeConfigRequest* req,
                                                 v1::UpdateRuntimeConfigResponse*) {
  const std::string& cidr = req->runtime_config().network_config().pod_cidr();
  if (cidr.empty()) {
    return grpc::Status::OK;  // the kubelet sends empty updates; nothing to keep
  }
  std::string old = ctx_.PodCidr();
  if (old != cidr) {
    ctx_.SetPodCidr(cidr);
    if (ctx_.network != nullptr) ctx_.network->SetPodCidr(cidr);
    CRIO_LOG_INFO("pod CIDR updated: \"{}\" -> \"{}\"", old, cidr);
  }
  return grpc::Status::OK;
}

}  // namespace crio::server
