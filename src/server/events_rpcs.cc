// GetContainerEvents: one subscription to the lifecycle's event hub per call, written out until
// the client goes, the daemon shuts down, or the subscriber falls too far behind.
#include <chrono>

#include "server/converters.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "util/log.h"

namespace crio::server {

namespace {

// How often a call with nothing to send checks whether its client has gone.
constexpr auto kCancelCheck = std::chrono::milliseconds(200);

void FillEvent(const lifecycle::ContainerEvent& event, v1::ContainerEventResponse* out) {
  out->set_container_id(event.container_id);
  out->set_container_event_type(event.type);
  out->set_created_at(event.created_at);
  FillPodStatus(event.pod, out->mutable_pod_sandbox_status());
  for (const auto& ctr : event.containers) FillContainerStatus(ctr, out->add_containers_statuses());
}

}  // namespace

grpc::Status RuntimeService::GetContainerEvents(
    grpc::ServerContext* context, const v1::GetEventsRequest*,
    grpc::ServerWriter<v1::ContainerEventResponse>* writer) {
  if (!ctx_.lifecycle) return NoLifecycle();
  auto subscription = ctx_.lifecycle->events().Subscribe(context->peer());
  // Headers go out once subscribed: a client that waits for them misses no later event.
  writer->SendInitialMetadata();
  v1::ContainerEventResponse response;
  while (!context->IsCancelled()) {
    auto event = subscription->Next(kCancelCheck);
    if (!event.ok()) {
      // Dropped (ResourceExhausted) or shutting down (Unavailable): the client must relist.
      return ToGrpc(event.status());
    }
    if (*event == nullptr) continue;
    response.Clear();
    FillEvent(**event, &response);
    if (!writer->Write(response)) break;
  }
  CRIO_LOG_DEBUG("events: subscriber={} ({}) gone", subscription->id(), context->peer());
  return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
}

}  // namespace crio::server
