#pragma once
// CRI-O's inspect endpoints, HTTP/1.1 on the CRI socket itself (cri_server.cc tells them from
// gRPC by a connection's first bytes): what cAdvisor's CRI-O handler and `crio status` read.
//   GET /info                      the daemon: storage driver, image store and root, cgroup
//                                  driver, default ID mappings
//   GET /containers/{id}           one container as CRI-O's ContainerInfo; 404 for unknown ids
//   GET /config                    the effective configuration as TOML
//   GET /pause/{id}, /unpause/{id} freeze or thaw a running container
// Field names are CRI-O's (pkg/types/types.go) exactly: cAdvisor decodes them.

// Generated CRI headers first: their Signal enum clashes with <signal.h> macros, which Boost
// (under http/server.h) pulls in.
#include "server/service_context.h"

#include <nlohmann/json.hpp>

#include "http/server.h"

namespace crio::server {

// The routes above, reading `ctx` per request.
http::Router InspectRouter(ServiceContext& ctx);

// CRI-O's CrioInfo for `config` (the daemon's effective one). Pure.
nlohmann::json CrioInfoJson(const config::Config& config);

// CRI-O's ContainerInfo for container `ctr` of pod `pod`; `spec_annotations` are the OCI spec's
// annotations (CRI-O's crio_annotations). Pure.
nlohmann::json ContainerInfoJson(const state::ContainerState& ctr, const state::PodState& pod,
                                 const std::map<std::string, std::string>& spec_annotations);

}  // namespace crio::server
