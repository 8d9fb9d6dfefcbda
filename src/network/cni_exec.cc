#include "network/cni_exec.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "network/cni_result.h"
#include "os/process.h"

extern char** environ;

namespace crio::network {

namespace {

constexpr size_t kOutputExcerpt = 512;

// The daemon's environment (plugins need PATH for iptables and friends) minus stale CNI_* vars,
// plus the call's own.
std::vector<std::string> PluginEnv(const PluginCall& call) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("CNI_", 0) == 0) continue;
    env.emplace_back(kv);
  }
  env.push_back("CNI_COMMAND=" + call.command);
  if (!call.container_id.empty()) env.push_back("CNI_CONTAINERID=" + call.container_id);
  if (!call.netns.empty()) env.push_back("CNI_NETNS=" + call.netns);
  if (!call.ifname.empty()) env.push_back("CNI_IFNAME=" + call.ifname);
  if (!call.cni_args.empty()) env.push_back("CNI_ARGS=" + call.cni_args);
  env.push_back("CNI_PATH=" + absl::StrJoin(call.plugin_dirs, ":"));
  return env;
}

std::string Excerpt(std::string_view text) {
  std::string out(text.substr(0, kOutputExcerpt));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (text.size() > kOutputExcerpt) out += "...";
  return out;
}

}  // namespace

StatusOr<std::string> FindPlugin(const std::string& type, const std::vector<std::string>& dirs) {
  for (const auto& dir : dirs) {
    std::string path = (std::filesystem::path(dir) / type).lexically_normal().string();
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return NotFound(absl::StrCat("failed to find plugin \"", type, "\" in path [",
                               absl::StrJoin(dirs, " "), "]"));
}

StatusOr<std::string> ExecPlugin(const PluginCall& call) {
  const std::string name = std::filesystem::path(call.plugin_path).filename().string();
  os::SpawnRequest request;
  request.argv = {call.plugin_path};
  request.env = PluginEnv(call);
  os::RunOptions options;
  options.input = call.stdin_data;
  options.timeout = call.timeout;
  options.max_output = 1 << 20;
  auto run = os::RunCommand(std::move(request), options);
  if (!run.ok()) {
    return Annotate(run.status(), absl::StrCat("plugin ", name, " ", call.command));
  }
  if (run->status.Success()) return std::move(run->stdout_data);

  const std::string prefix = absl::StrCat("plugin ", name, " ", call.command, " failed");
  if (run->status.signal == 0) {
    if (auto err = ParseError(run->stdout_data)) {
      std::string msg = absl::StrCat(prefix, ": ", err->msg);
      if (!err->details.empty()) absl::StrAppend(&msg, ": ", err->details);
      absl::StrAppend(&msg, " (CNI error code ", err->code, ")");
      return err->code == 11 ? Unavailable(msg) : Internal(msg);
    }
  }
  std::string msg = absl::StrCat(prefix, ": ", run->status.ToString());
  if (!run->stdout_data.empty()) absl::StrAppend(&msg, "; stdout: ", Excerpt(run->stdout_data));
  if (!run->stderr_data.empty()) absl::StrAppend(&msg, "; stderr: ", Excerpt(run->stderr_data));
  return Internal(msg);
}

}  // namespace crio::network
