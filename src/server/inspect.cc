#include "server/inspect.h"

#include "os/file.h"
#include "util/log.h"

namespace crio::server {
namespace {

namespace beast_http = http::beast_http;

// Every ID in a container's user namespace maps to itself: what an unmapped container sees.
nlohmann::json IdentityMapping() {
  return nlohmann::json::array({{{"container_id", 0}, {"host_id", 0}, {"size", 4294967295ULL}}});
}

std::map<std::string, std::string> ToMap(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

// An OCI spec is kilobytes; a large environment or many mounts stay far below this.
constexpr size_t kMaxSpecSize = 16 << 20;

// The annotations of the OCI spec in `bundle`; empty when it cannot be read (a removed bundle).
std::map<std::string, std::string> SpecAnnotations(const std::string& bundle) {
  std::map<std::string, std::string> out;
  if (bundle.empty()) return out;
  StatusOr<std::string> text = os::ReadSmallFile(bundle + "/config.json", kMaxSpecSize);
  if (!text.ok()) return out;
  nlohmann::json spec = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!spec.is_object() || !spec.contains("annotations") || !spec["annotations"].is_object()) {
    return out;
  }
  for (const auto& [key, value] : spec["annotations"].items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
  }
  return out;
}

bool HostNetwork(const state::PodState& pod) {
  return pod.config().linux().security_context().namespace_options().network() == runtime::v1::NODE;
}

http::Response Json(const http::Request& request, const nlohmann::json& body) {
  return http::MakeResponse(request, beast_http::status::ok, body.dump(), "application/json");
}

http::Response Text(const http::Request& request, beast_http::status status, std::string body) {
  return http::MakeResponse(request, status, std::move(body) + "\n");
}

// The part of the path after `prefix` ("/containers/"): the container ID.
std::string IdAfter(std::string_view path, std::string_view prefix) {
  return std::string(path.substr(prefix.size()));
}

beast_http::status HttpStatusOf(const Status& status) {
  if (absl::IsNotFound(status)) return beast_http::status::not_found;
  if (absl::IsInvalidArgument(status)) return beast_http::status::bad_request;
  if (absl::IsFailedPrecondition(status)) return beast_http::status::conflict;
  return beast_http::status::internal_server_error;
}

// The info of `id`: a container, or a pod's infra (pause) container under the pod's ID, as
// cAdvisor asks for every crio-<id> cgroup it finds.
StatusOr<nlohmann::json> ContainerInfoOf(lifecycle::Manager& lifecycle, const std::string& id) {
  auto ctr = lifecycle.ContainerStatus(id);
  if (ctr.ok()) {
    ASSIGN_OR_RETURN(state::PodState pod, lifecycle.PodStatus(ctr->pod_id()));
    return ContainerInfoJson(*ctr, pod, SpecAnnotations(ctr->bundle()));
  }
  if (!absl::IsNotFound(ctr.status())) return ctr.status();
  auto pod = lifecycle.PodStatus(id);
  if (!pod.ok()) {
    if (absl::IsNotFound(pod.status())) {
      return NotFound(absl::StrCat("can't find the container with id ", id));
    }
    return pod.status();
  }
  state::ContainerState infra;
  infra.set_id(pod->id());
  infra.set_pod_id(pod->id());
  infra.set_name(pod->name());
  infra.set_created_at(pod->created_at());
  infra.set_image_name(pod->infra_image());
  infra.set_bundle(pod->infra_bundle());
  *infra.mutable_config()->mutable_labels() = pod->config().labels();
  // As CRI-O labels its infra containers; cAdvisor takes a pod's network from the one so named.
  (*infra.mutable_config()->mutable_labels())["io.kubernetes.container.name"] = "POD";
  *infra.mutable_config()->mutable_annotations() = pod->config().annotations();
  return ContainerInfoJson(infra, *pod, SpecAnnotations(pod->infra_bundle()));
}

void ServeInfo(ServiceContext& ctx, http::Exchange& exchange) {
  (void)exchange.Respond(Json(exchange.request(), CrioInfoJson(ctx.ConfigSnapshot())));
}

void ServeConfig(ServiceContext& ctx, http::Exchange& exchange) {
  (void)exchange.Respond(http::MakeResponse(exchange.request(), beast_http::status::ok,
                                            config::ToToml(ctx.ConfigSnapshot()),
                                            "application/toml"));
}

void ServeContainer(ServiceContext& ctx, http::Exchange& exchange) {
  const std::string id = IdAfter(exchange.path(), "/containers/");
  auto info = ContainerInfoOf(*ctx.lifecycle, id);
  if (!info.ok()) {
    (void)exchange.Respond(Text(exchange.request(), HttpStatusOf(info.status()),
                                std::string(info.status().message())));
    return;
  }
  (void)exchange.Respond(Json(exchange.request(), *info));
}

// /pause/{id} and /unpause/{id}.
void ServeFreeze(ServiceContext& ctx, http::Exchange& exchange, bool pause) {
  const std::string id = IdAfter(exchange.path(), pause ? "/pause/" : "/unpause/");
  Status done = pause ? ctx.lifecycle->PauseContainer(id) : ctx.lifecycle->ResumeContainer(id);
  if (!done.ok()) {
    CRIO_LOG_INFO("container={}: {} through the inspect endpoint: {}", id,
                  pause ? "pause" : "unpause", done.ToString());
    (void)exchange.Respond(
        Text(exchange.request(), HttpStatusOf(done), std::string(done.message())));
    return;
  }
  // CRI-O's exact answer.
  (void)exchange.Respond(
      http::MakeResponse(exchange.request(), beast_http::status::ok, "200 OK", "text/html"));
}

// Every route is GET-only and needs the lifecycle manager.
http::Handler GetOnly(ServiceContext& ctx, std::function<void(http::Exchange&)> serve) {
  return [&ctx, serve = std::move(serve)](http::Exchange& exchange) {
    if (ctx.lifecycle == nullptr) {
      (void)exchange.Respond(Text(exchange.request(), beast_http::status::service_unavailable,
                                  "the daemon is starting"));
      return;
    }
    if (exchange.request().method() != beast_http::verb::get) {
      (void)exchange.Respond(Text(exchange.request(), beast_http::status::method_not_allowed,
                                  "only GET is served here"));
      return;
    }
    serve(exchange);
  };
}

}  // namespace

nlohmann::json CrioInfoJson(const config::Config& config) {
  return {
      {"storage_driver", config.root.storage_driver},
      {"storage_image", config.root.imagestore},
      {"storage_root", config.root.root},
      {"cgroup_driver", config.runtime.cgroup_manager},
      {"default_id_mappings", {{"uids", IdentityMapping()}, {"gids", IdentityMapping()}}},
  };
}

nlohmann::json ContainerInfoJson(const state::ContainerState& ctr, const state::PodState& pod,
                                 const std::map<std::string, std::string>& spec_annotations) {
  return {
      {"name", ctr.name()},
      {"pid", ctr.pid()},
      {"image", ctr.image_name()},
      {"image_ref", ctr.image_id()},
      {"created_time", ctr.created_at()},
      {"labels", ToMap(ctr.config().labels())},
      {"annotations", ToMap(ctr.config().annotations())},
      {"crio_annotations", spec_annotations},
      {"log_path", ctr.log_path()},
      {"root", ctr.rootfs()},
      {"sandbox", ctr.pod_id()},
      {"ip_addresses", std::vector<std::string>(pod.ips().begin(), pod.ips().end())},
      {"host_network", HostNetwork(pod)},
  };
}

http::Router InspectRouter(ServiceContext& ctx) {
  http::Router router;
  router.Handle("/info", GetOnly(ctx, [&ctx](http::Exchange& e) { ServeInfo(ctx, e); }));
  router.Handle("/config", GetOnly(ctx, [&ctx](http::Exchange& e) { ServeConfig(ctx, e); }));
  router.Handle("/containers/",
                GetOnly(ctx, [&ctx](http::Exchange& e) { ServeContainer(ctx, e); }));
  router.Handle("/pause/", GetOnly(ctx, [&ctx](http::Exchange& e) { ServeFreeze(ctx, e, true); }));
  router.Handle("/unpause/",
                GetOnly(ctx, [&ctx](http::Exchange& e) { ServeFreeze(ctx, e, false); }));
  return router;
}

}  // namespace crio::server
