#include "server/converters.h"

#include "lifecycle/manager.h"

namespace crio::server {

void FillPodStatus(const state::PodState& pod, v1::PodSandboxStatus* out) {
  out->set_id(pod.id());
  *out->mutable_metadata() = pod.config().metadata();
  out->set_state(pod.state());
  out->set_created_at(pod.created_at());
  if (pod.ips_size() > 0) {
    out->mutable_network()->set_ip(pod.ips(0));
    for (int i = 1; i < pod.ips_size(); ++i) {
      out->mutable_network()->add_additional_ips()->set_ip(pod.ips(i));
    }
  }
  *out->mutable_linux()->mutable_namespaces()->mutable_options() =
      pod.config().linux().security_context().namespace_options();
  *out->mutable_labels() = pod.config().labels();
  *out->mutable_annotations() = pod.config().annotations();
  out->set_runtime_handler(pod.runtime_handler());
}

void FillContainerStatus(const state::ContainerState& c, v1::ContainerStatus* out) {
  out->set_id(c.id());
  *out->mutable_metadata() = c.config().metadata();
  out->set_state(c.state());
  out->set_created_at(c.created_at());
  out->set_started_at(c.started_at());
  out->set_finished_at(c.finished_at());
  out->set_exit_code(c.exit_code());
  *out->mutable_image() = c.config().image();
  out->mutable_image()->set_image(c.image_name());
  out->set_image_ref(c.image_ref());
  out->set_image_id(c.image_id());
  out->set_reason(c.reason());
  out->set_message(c.message());
  *out->mutable_labels() = c.config().labels();
  *out->mutable_annotations() = c.config().annotations();
  *out->mutable_mounts() = c.config().mounts();
  out->set_log_path(c.log_path());
  out->set_stop_signal(lifecycle::SignalEnum(c.stop_signal()));
  if (c.config().linux().has_resources()) {
    *out->mutable_resources()->mutable_linux() = c.config().linux().resources();
  }
}

}  // namespace crio::server
