#pragma once
// The service manager's readiness protocol (sd_notify(3)): Type=notify units learn that the
// daemon is ready, reloading or stopping. A no-op when not started by systemd.
//
// The socket is taken out of the environment once at start (TakeNotifySocketFromEnvironment):
// a runtime that inherits $NOTIFY_SOCKET (runc, crun) would proxy it into containers and report
// their readiness as ours. sd_notify(3) reads the variable on every call, so the datagram is
// sent here to the address taken.

#include <string_view>

namespace crio::os {

// Reads and unsets $NOTIFY_SOCKET. Call before any thread or child starts.
void TakeNotifySocketFromEnvironment();

// "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", newline-separated. Failures are ignored:
// the protocol is advisory.
void NotifyServiceManager(std::string_view state);

}  // namespace crio::os
