#pragma once
// Running one CNI plugin binary per the spec: the CNI_* environment, the network config on stdin,
// the result or error object on stdout. Children go through os::RunCommand (the process seam),
// so a plugin that hangs is killed at the timeout and one that crashes leaves no zombie.

#include <chrono>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::network {

struct PluginCall {
  std::string command;                   // ADD, DEL, CHECK, STATUS, VERSION
  std::string plugin_path;               // absolute path of the binary
  std::string container_id;              // CNI_CONTAINERID (not for STATUS/VERSION)
  std::string netns;                     // CNI_NETNS; may be empty on DEL
  std::string ifname;                    // CNI_IFNAME
  std::string cni_args;                  // CNI_ARGS, "K=V;K=V"
  std::vector<std::string> plugin_dirs;  // CNI_PATH
  std::string stdin_data;                // the plugin's network config
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// The first executable `type` in `dirs`. Errors: NotFound naming the type and the dirs.
StatusOr<std::string> FindPlugin(const std::string& type, const std::vector<std::string>& dirs);

// Runs `call` and returns the plugin's stdout on success (exit 0).
// Errors: Spawn's errors (NotFound for a vanished binary); DeadlineExceeded on timeout (the
// plugin is killed); for a non-zero exit, Internal (Unavailable for CNI code 11 "try again
// later") carrying the plugin's msg and details when it printed an error object, else its exit
// status and the start of its output.
StatusOr<std::string> ExecPlugin(const PluginCall& call);

}  // namespace crio::network
