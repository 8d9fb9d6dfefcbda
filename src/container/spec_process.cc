#include "container/spec_process.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "container/image_user.h"
#include "util/log.h"

namespace crio::container::spec_internal {
namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

constexpr char kDefaultPathEnv[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// CRI-O's infra container: nearly never OOM-killed.
constexpr int kInfraOomScoreAdj = -998;

// Replace-by-key environment list, in first-set order (runtime-tools AddProcessEnv semantics).
class EnvList {
 public:
  void Set(const std::string& entry) {
    const std::string key = entry.substr(0, entry.find('='));
    for (std::string& e : entries_) {
      if (e.substr(0, e.find('=')) == key) {
        e = entry.find('=') == std::string::npos ? key + "=" : entry;
        return;
      }
    }
    entries_.push_back(entry.find('=') == std::string::npos ? key + "=" : entry);
  }
  void Set(const std::string& key, const std::string& value) { Set(key + "=" + value); }
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::vector<std::string> entries_;
};

StatusOr<json> ContainerUser(const ContainerContext& ctx) {
  const v1::LinuxContainerSecurityContext& sc = ctx.sc;
  UserRequest req;
  if (sc.has_run_as_user()) req.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) req.run_as_group = sc.run_as_group().value();
  req.run_as_username = sc.run_as_username();
  if (ctx.in.image != nullptr) req.image_user = ctx.in.image->config.user;
  req.supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  req.merge_image_groups = sc.supplemental_groups_policy() != v1::Strict;
  req.run_as_non_root = ctx.in.run_as_non_root;
  ASSIGN_OR_RETURN(ResolvedUser user, ResolveUser(req, ctx.in.etc_passwd, ctx.in.etc_group));
  return json{{"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}};
}

// Lowest precedence first (CRI-O): runtime defaults, crio.conf default_env, the image's Env,
// then the CRI envs.
std::vector<std::string> ContainerEnv(const ContainerContext& ctx) {
  EnvList env;
  env.Set(kDefaultPathEnv);
  if (ctx.config.tty()) env.Set("TERM", "xterm");
  env.Set("HOSTNAME", ctx.in.pod.hostname);
  for (const std::string& e : ctx.rc.default_env) env.Set(e);
  if (ctx.in.image != nullptr) {
    for (const std::string& e : ctx.in.image->config.env) env.Set(e);
  }
  for (const v1::KeyValue& kv : ctx.config.envs()) env.Set(kv.key(), kv.value());
  return env.entries();
}

std::string ContainerCwd(const ContainerContext& ctx) {
  std::string cwd = "/";
  if (ctx.in.image != nullptr && !ctx.in.image->config.working_dir.empty()) {
    cwd = ctx.in.image->config.working_dir;
  }
  if (!ctx.config.working_dir().empty()) cwd = ctx.config.working_dir();
  return cwd;
}

StatusOr<std::vector<std::string>> PauseArgs(const SandboxSpecInputs& in) {
  std::vector<std::string> args;
  if (!in.pause_command.empty()) {
    args.push_back(in.pause_command);
  } else if (in.image != nullptr) {
    args = in.image->config.entrypoint;
    args.insert(args.end(), in.image->config.cmd.begin(), in.image->config.cmd.end());
  }
  if (args.empty()) {
    return InvalidArgument(
        "cannot run the pause image: neither pause_command nor the image's "
        "Entrypoint or Cmd is set");
  }
  return args;
}

bool OutOfIdRange(int64_t id) { return id < 0 || id > std::numeric_limits<uint32_t>::max(); }

// The pod's numeric run_as_user, run_as_group and supplemental groups; no name lookup.
StatusOr<json> SandboxUser(const v1::LinuxSandboxSecurityContext& sc) {
  if ((sc.has_run_as_user() && OutOfIdRange(sc.run_as_user().value())) ||
      (sc.has_run_as_group() && OutOfIdRange(sc.run_as_group().value()))) {
    return InvalidArgument("pod run_as_user/run_as_group out of range");
  }
  const uint32_t uid = sc.has_run_as_user() ? static_cast<uint32_t>(sc.run_as_user().value()) : 0;
  const uint32_t gid = sc.has_run_as_group() ? static_cast<uint32_t>(sc.run_as_group().value()) : 0;
  std::vector<uint32_t> gids = {gid};
  for (int64_t g : sc.supplemental_groups()) {
    if (OutOfIdRange(g)) {
      return InvalidArgument(absl::StrCat("supplemental group ", g, " is out of range"));
    }
    if (std::find(gids.begin(), gids.end(), static_cast<uint32_t>(g)) == gids.end()) {
      gids.push_back(static_cast<uint32_t>(g));
    }
  }
  return json{{"uid", uid}, {"gid", gid}, {"additionalGids", gids}};
}

}  // namespace

StatusOr<std::vector<std::string>> ProcessArgs(const v1::ContainerConfig& config,
                                               const image::ImageConfig* image) {
  std::vector<std::string> command(config.command().begin(), config.command().end());
  std::vector<std::string> args(config.args().begin(), config.args().end());
  if (command.empty() && image != nullptr) {
    if (args.empty()) {
      args = image->config.cmd;
    }
    command = image->config.entrypoint;
  }
  std::vector<std::string> out = command;
  out.insert(out.end(), args.begin(), args.end());
  if (out.empty()) {
    return InvalidArgument(
        "container has no command: set command or args, or use an image "
        "with an Entrypoint or Cmd");
  }
  return out;
}

StatusOr<json> Rlimits(const std::vector<std::string>& ulimits) {
  static const std::set<std::string> kNames = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  std::map<std::string, json> by_type;
  std::vector<std::string> order;
  for (const std::string& u : ulimits) {
    const size_t eq = u.find('=');
    const std::string name = absl::AsciiStrToLower(u.substr(0, eq));
    if (eq == std::string::npos || kNames.count(name) == 0) {
      return InvalidArgument(absl::StrCat("invalid ulimit \"", u, "\": want name=soft:hard"));
    }
    std::vector<std::string> parts = absl::StrSplit(u.substr(eq + 1), ':');
    if (parts.size() > 2) {
      return InvalidArgument(absl::StrCat("invalid ulimit \"", u, "\": want name=soft:hard"));
    }
    uint64_t values[2] = {0, 0};
    for (size_t i = 0; i < 2; ++i) {
      const std::string& text = parts[std::min(i, parts.size() - 1)];
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size() || v < -1) {
        return InvalidArgument(
            absl::StrCat("invalid ulimit \"", u, "\": bad value \"", text, "\""));
      }
      values[i] = v == -1 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(v);
    }
    if (values[0] > values[1]) {
      return InvalidArgument(absl::StrCat("invalid ulimit \"", u, "\": soft exceeds hard"));
    }
    const std::string type = "RLIMIT_" + absl::AsciiStrToUpper(name);
    if (by_type.count(type) == 0) {
      order.push_back(type);
    }
    by_type[type] = {{"type", type}, {"soft", values[0]}, {"hard", values[1]}};
  }
  json out = json::array();
  for (const std::string& t : order) {
    out.push_back(by_type[t]);
  }
  return out;
}

int64_t OomScoreAdj(int64_t requested, const HostInfo& host) {
  if (requested < host.min_oom_score_adj) {
    CRIO_LOG_DEBUG("oom_score_adj {} raised to {}: no CAP_SYS_RESOURCE to lower it", requested,
                   host.min_oom_score_adj);
    return host.min_oom_score_adj;
  }
  return requested;
}

StatusOr<json> ContainerProcess(const ContainerContext& ctx) {
  json process = json::object();
  ASSIGN_OR_RETURN(process["args"], ProcessArgs(ctx.config, ctx.in.image));
  process["terminal"] = ctx.config.tty();
  ASSIGN_OR_RETURN(process["user"], ContainerUser(ctx));
  process["env"] = ContainerEnv(ctx);
  process["cwd"] = ContainerCwd(ctx);
  ASSIGN_OR_RETURN(process["rlimits"], Rlimits(ctx.rc.default_ulimits));
  if (ctx.config.linux().has_resources()) {
    process["oomScoreAdj"] = OomScoreAdj(ctx.config.linux().resources().oom_score_adj(), ctx.host);
  }
  return process;
}

StatusOr<json> SandboxProcess(const SandboxContext& ctx) {
  json process = json::object();
  ASSIGN_OR_RETURN(process["args"], PauseArgs(ctx.in));
  process["terminal"] = false;
  ASSIGN_OR_RETURN(process["user"], SandboxUser(ctx.sc));
  EnvList env;
  env.Set(kDefaultPathEnv);
  process["env"] = env.entries();
  process["cwd"] = "/";
  ASSIGN_OR_RETURN(process["rlimits"], Rlimits(ctx.rc.default_ulimits));
  process["oomScoreAdj"] = OomScoreAdj(kInfraOomScoreAdj, ctx.host);
  return process;
}

}  // namespace crio::container::spec_internal
