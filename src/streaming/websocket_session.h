#pragma once
// Exec, attach and port-forward over WebSocket, as the kubelet's streaming server offers them
// next to SPDY (k8s.io/apimachinery wsstream): one WebSocket connection carries numbered
// channels, each message starting with its channel number. Newer kubectl and crictl
// (--transport websocket) speak this; crictl 1.26 only speaks SPDY (spdy_session.h).

#include "http/server.h"
#include "streaming/backend.h"
#include "streaming/request_cache.h"
#include "streaming/spdy_session.h"

namespace crio::streaming {

// Subprotocols, negotiated with Sec-WebSocket-Protocol; no header at all means "" (binary).
inline constexpr char kWebSocketProtocolV5[] = "v5.channel.k8s.io";
inline constexpr char kWebSocketProtocolV4Binary[] = "v4.channel.k8s.io";
inline constexpr char kWebSocketProtocolV4Base64[] = "v4.base64.channel.k8s.io";
inline constexpr char kWebSocketProtocolBinary[] = "channel.k8s.io";
inline constexpr char kWebSocketProtocolBase64[] = "base64.channel.k8s.io";

// True when the request asks for a WebSocket upgrade (Upgrade: websocket, and Connection
// holds the token "upgrade"), compared case-insensitively.
bool IsWebSocketRequest(const http::Request& request);

// Serves an exec or attach over WebSocket on the exchange's connection, until it ends.
// Subprotocols: "v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io",
// "channel.k8s.io", "base64.channel.k8s.io" and "" (binary); the client's first supported
// choice wins, none is 403. Channels: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize (JSON
// {"Width","Height"}). Binary protocols prefix each message with the channel byte, base64 ones
// send text messages of '0'+channel and the base64 payload. Right after the upgrade the server
// sends an empty message on the lowest writable channel; v5 clients half-close a channel with
// the binary message [255, channel] (stdin EOF). The outcome goes on channel 3 (v4/v5: a
// metav1.Status in JSON; the others: plain text, nothing on success), then a normal close.
// A client that goes away gets the command killed (when it next writes output).
void ServeWebSocketRemoteCommand(http::Exchange& exchange, const StreamRequest& request,
                                 Backend& backend, const SessionOptions& options);

// Serves a port-forward over WebSocket. Subprotocols: "v4.channel.k8s.io",
// "v4.base64.channel.k8s.io" and "". The ports are request.ports (PortForwardRequest.port);
// port i uses channel 2i for data both ways and 2i+1 for errors (server to client, text).
// Each channel first carries the port as 2 little-endian bytes. Every port is dialed once,
// at connect; the session ends when every forward has ended or the client goes away.
// Invalid ports (outside 1..65535) are refused with 400 before the upgrade.
void ServeWebSocketPortForward(http::Exchange& exchange, const StreamRequest& request,
                               Backend& backend, const SessionOptions& options);

}  // namespace crio::streaming
