#pragma once
// Exec, attach and port-forward sessions over SPDY/3.1, as the kubelet's streaming server
// serves them to crictl, kubectl (through the API server) and critest: the client opens one
// stream per channel, told apart by the `streamType` header.

#include <chrono>
#include <string>

#include "http/server.h"
#include "streaming/backend.h"
#include "streaming/request_cache.h"

namespace crio::streaming {

// The remote-command protocols, oldest first.
enum class RemoteCommandVersion { kV1, kV2, kV3, kV4 };

inline constexpr char kProtocolV1[] = "channel.k8s.io";
inline constexpr char kProtocolV2[] = "v2.channel.k8s.io";
inline constexpr char kProtocolV3[] = "v3.channel.k8s.io";
inline constexpr char kProtocolV4[] = "v4.channel.k8s.io";
inline constexpr char kProtocolPortForward[] = "portforward.k8s.io";

std::optional<RemoteCommandVersion> ParseRemoteCommandVersion(std::string_view protocol);

struct SessionOptions {
  // How long the client has to open every stream the request needs.
  std::chrono::milliseconds stream_creation_timeout{30000};
  // A port-forward connection with no traffic for this long is closed (the client pings).
  std::chrono::milliseconds idle_timeout{std::chrono::hours(4)};
  // How long a finished exec/attach waits for the client to hang up after the last frame.
  std::chrono::milliseconds linger{5000};
};

// Serves one upgraded SPDY connection for an exec or attach request, until it ends.
void ServeSpdyRemoteCommand(http::UpgradedConnection conn, RemoteCommandVersion version,
                            const StreamRequest& request, Backend& backend,
                            const SessionOptions& options);

// Serves one upgraded SPDY port-forward connection: every pair of data and error streams
// (matched by `requestID`) is a connection to the stream's `port` in the pod.
void ServeSpdyPortForward(http::UpgradedConnection conn, const StreamRequest& request,
                          Backend& backend, const SessionOptions& options);

}  // namespace crio::streaming
