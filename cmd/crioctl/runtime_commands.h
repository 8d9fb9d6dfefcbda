#pragma once
// crioctl's pod and container verbs, with crictl's names, flags and output:
//   runp, pods, inspectp, stopp, rmp, create, start, run, ps, inspect, stop, rm, exec, logs.

#include <CLI/CLI.hpp>

#include "client.h"

namespace crioctl {

// Adds the verbs above as subcommands of `app` and their actions to `commands`.
void AddPodCommands(CLI::App& app, Commands& commands);

// Adds `logs` alone (logs_command.cc); AddPodCommands calls it.
void AddLogsCommand(CLI::App& app, Commands& commands);

}  // namespace crioctl
