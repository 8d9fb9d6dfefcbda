#pragma once
// crioctl's streaming verbs, spoken over SPDY as crictl speaks them: exec (without -s),
// attach and port-forward.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "client.h"

namespace crioctl {

// `exec` without -s: the Exec RPC, then the command's stdio over the streaming server. With
// `tty` this terminal is put in raw mode and its size follows the window. Returns the
// command's exit code.
int StreamExec(Client& client, const std::string& container_id, const std::vector<std::string>& cmd,
               bool tty, bool interactive);

// Adds `attach` and `port-forward`.
void AddStreamCommands(CLI::App& app, Commands& commands);

}  // namespace crioctl
