#pragma once
// `crio wipe` and the same checks at daemon start (internal_wipe), with CRI-O's semantics
// (internal/criocli/wipe.go, internal/version):
//  - version_file (on tmpfs, so gone after a reboot) missing or of another major.minor:
//    containers are wiped (they died with the node);
//  - version_file_persist likewise: images are wiped too, but never without the containers;
//  - the shutdown was unclean (`<clean_shutdown_file>.supported` exists, clean_shutdown_file
//    does not): `crio wipe` removes the whole storage root, once per boot (a marker
//    `crio-wipe-done` next to version_file). The daemon itself only warns: a daemon crash is
//    not a node crash.
// Only what is ours is touched: container layers whose metadata is ours, their images, our
// pod and container records.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "util/status.h"

namespace crio::daemon {

// True when `version_file` says another major.minor than `current` ("0.1.0"), is missing or
// unreadable, or holds no version (CRI-O writes a JSON-quoted semver). An empty path: false.
// `why` gets the reason for the log. Pure but for reading the file.
bool ShouldWipe(const std::string& version_file, std::string_view current, std::string* why);

struct WipePlan {
  bool containers = false;
  bool images = false;               // only with containers
  bool storage = false;              // the whole storage root (unclean shutdown; `crio wipe` only)
  std::vector<std::string> reasons;  // one log line each
};

// What a wipe must remove. `force` wipes containers and images whatever the files say.
// `for_daemon`: the start-up check, which never plans a storage wipe.
WipePlan PlanWipe(const config::Config& config, bool force, bool for_daemon);

// Carries the plan out. Returns the number of containers removed.
StatusOr<int> ExecuteWipe(const config::Config& config, const WipePlan& plan);

// At daemon start: writes both version files (JSON-quoted version, mode 0644, parents 0755),
// creates `<clean_shutdown_file>.supported` and removes the clean-shutdown file, so only a
// graceful stop leaves it.
Status MarkDaemonStarted(const config::Config& config);
// At graceful shutdown: sync(2), then writes the clean-shutdown file.
Status MarkCleanShutdown(const config::Config& config);

// Where the daemon keeps its records (shared with daemon.cc).
std::string StateDir(const config::Config& config);
std::string RunDir(const config::Config& config);

}  // namespace crio::daemon
