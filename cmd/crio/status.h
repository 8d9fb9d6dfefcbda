#pragma once
// `crio status`: reads the running daemon through the inspect endpoints on its CRI socket
// (src/server/inspect.h) and prints what CRI-O's `crio status` prints.

#include <CLI/CLI.hpp>
#include <string>

#include "util/status.h"

namespace crio::cmd {

struct StatusCommand {
  CLI::App* app = nullptr;
  CLI::App* config = nullptr;
  CLI::App* containers = nullptr;
  CLI::App* info = nullptr;
  std::string socket = "/var/run/crio/crio.sock";
  std::string id;
};

// Adds `status` with its subcommands `config` (c), `containers` (container, cs, s; --id/-i) and
// `info` (i), and -s/--socket, to `app`.
void AddStatusCommand(CLI::App& app, StatusCommand& command);

// Runs the parsed subcommand, printing to stdout. Errors: Unavailable when nothing answers on
// the socket; NotFound for an unknown container; InvalidArgument without --id.
Status RunStatusCommand(const StatusCommand& command);

}  // namespace crio::cmd
