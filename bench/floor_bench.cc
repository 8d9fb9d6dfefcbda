#include "floor_bench.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "os/process.h"

namespace crio::bench {
namespace {

using json = nlohmann::json;

// Runs a runtime command with stdio on /dev/null (as conmon would not give it a terminal
// either) and waits for it. The container started by `run -d` keeps running.
Status RunQuiet(const std::vector<std::string>& argv) {
  os::SpawnRequest request;
  request.argv = argv;
  ASSIGN_OR_RETURN(os::ChildProcess child, os::Spawn(request));
  ASSIGN_OR_RETURN(os::ExitStatus status, child.Wait(std::chrono::seconds(60)));
  if (!status.Success()) {
    // Run it again for the message: the timed run must not pay for capturing output.
    StatusOr<ChildResult> again = RunChild(argv);
    std::string detail = again.ok() ? again->output : Message(again.status());
    return Internal(argv[0] + " " + argv[3] + ": " + status.ToString() + ": " + detail);
  }
  return absl::OkStatus();
}

// One `run -d` + `delete -f`; adds the times when `record`.
Status RuntimeCycle(const RuntimeFloorOptions& o, int i, Samples* run, Samples* del,
                    Samples* total) {
  std::string id = "crio-bench-floor-" + std::to_string(::getpid()) + "-" + std::to_string(i);
  auto start = Clock::now();
  RETURN_IF_ERROR(RunQuiet({o.runtime, "--root", o.root, "run", "-d", "--bundle", o.bundle, id}));
  double run_ms = MsSince(start);
  auto del_start = Clock::now();
  Status deleted = RunQuiet({o.runtime, "--root", o.root, "delete", "-f", id});
  double del_ms = MsSince(del_start);
  RETURN_IF_ERROR(deleted);
  if (run != nullptr) {
    run->Add(run_ms);
    del->Add(del_ms);
    total->Add(run_ms + del_ms);
  }
  return absl::OkStatus();
}

}  // namespace

Status RunRuntimeFloor(const RuntimeFloorOptions& o) {
  for (int i = 0; i < o.warmup; ++i) {
    RETURN_IF_ERROR(RuntimeCycle(o, -1 - i, nullptr, nullptr, nullptr));
  }
  Samples run, del, total;
  for (int i = 0; i < o.runs; ++i) RETURN_IF_ERROR(RuntimeCycle(o, i, &run, &del, &total));
  RETURN_IF_ERROR(AppendLatency(o.results, o.row, "create+start+stop+remove", total));
  RETURN_IF_ERROR(AppendLatency(o.results, o.row, "run -d", run));
  return AppendLatency(o.results, o.row, "delete -f", del);
}

namespace {

// `runtime exec` of `true`, timed, in the running container `id`.
Status TimedExec(const RuntimeFloorOptions& o, const std::string& id, Samples* samples) {
  auto start = Clock::now();
  RETURN_IF_ERROR(RunQuiet({o.runtime, "--root", o.root, "exec", id, "true"}));
  if (samples != nullptr) samples->Add(MsSince(start));
  return absl::OkStatus();
}

}  // namespace

Status RunRuntimeExecFloor(const RuntimeFloorOptions& o) {
  std::string id = "crio-bench-exec-" + std::to_string(::getpid());
  RETURN_IF_ERROR(RunQuiet({o.runtime, "--root", o.root, "run", "-d", "--bundle", o.bundle, id}));
  Samples exec;
  Status st;
  for (int i = -o.warmup; i < o.runs && st.ok(); ++i) {
    st = TimedExec(o, id, i < 0 ? nullptr : &exec);
  }
  Status deleted = RunQuiet({o.runtime, "--root", o.root, "delete", "-f", id});
  RETURN_IF_ERROR(st);
  RETURN_IF_ERROR(deleted);
  return AppendLatency(o.results, o.row, "runtime exec true", exec);
}

namespace {

// A new network namespace pinned at `path` (an empty file with the netns bind-mounted on it),
// made by a short-lived thread: unshare(CLONE_NEWNET) moves only the calling thread.
Status PinNewNetns(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "create `" + path + "`");
  ::close(fd);
  Status result;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      result = ErrnoError(errno, "unshare(CLONE_NEWNET)");
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      result = ErrnoError(errno, "bind netns on `" + path + "`");
    }
  }).join();
  if (!result.ok()) ::unlink(path.c_str());
  return result;
}

Status UnpinNetns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0) return ErrnoError(errno, "umount `" + path + "`");
  if (::unlink(path.c_str()) != 0) return ErrnoError(errno, "unlink `" + path + "`");
  return absl::OkStatus();
}

struct CniCall {
  std::string command;  // ADD or DEL
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string bin_dir;
};

// Executes one plugin with its network config on stdin; returns its stdout parsed (null for an
// empty answer, as DEL gives). Errors: the plugin failed; its CNI error message is included.
StatusOr<json> ExecPlugin(const CniCall& call, const json& config) {
  std::string type = config.value("type", "");
  std::vector<std::string> env = {"CNI_COMMAND=" + call.command,
                                  "CNI_CONTAINERID=" + call.container_id, "CNI_NETNS=" + call.netns,
                                  "CNI_IFNAME=" + call.ifname, "CNI_PATH=" + call.bin_dir};
  ASSIGN_OR_RETURN(ChildResult r, RunChild({call.bin_dir + "/" + type}, env, config.dump(), false));
  if (r.exit_code != 0) {
    return Internal("CNI " + call.command + " " + type + ": exit " + std::to_string(r.exit_code) +
                    ": " + r.output);
  }
  if (r.output.empty()) return json();
  json out = json::parse(r.output, nullptr, false);
  if (out.is_discarded()) return Internal("CNI " + type + " printed invalid JSON: " + r.output);
  return out;
}

// The config one plugin of a conflist gets: its own object plus the list's name and version,
// and the previous plugin's result when there is one.
json PluginConfig(const json& list, const json& plugin, const json& prev) {
  json c = plugin;
  c["name"] = list.value("name", "");
  c["cniVersion"] = list.value("cniVersion", "1.0.0");
  if (!prev.is_null()) c["prevResult"] = prev;
  return c;
}

json LoopbackConfig(const json& list) {
  return {{"cniVersion", list.value("cniVersion", "1.0.0")},
          {"name", "cni-loopback"},
          {"type", "loopback"}};
}

// ADD for loopback and then the list; returns the list's final result.
StatusOr<json> AddAll(const json& list, CniCall call) {
  call.command = "ADD";
  call.ifname = "lo";
  RETURN_IF_ERROR(ExecPlugin(call, LoopbackConfig(list)).status());
  call.ifname = "eth0";
  json prev;
  for (const auto& plugin : list["plugins"]) {
    ASSIGN_OR_RETURN(json result, ExecPlugin(call, PluginConfig(list, plugin, prev)));
    if (!result.is_null()) prev = result;
  }
  return prev;
}

// DEL for the list in reverse order, then loopback. Every plugin is called even after a failure.
Status DelAll(const json& list, CniCall call, const json& result) {
  call.command = "DEL";
  call.ifname = "eth0";
  Status first;
  const json& plugins = list["plugins"];
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    Status st = ExecPlugin(call, PluginConfig(list, *it, result)).status();
    if (first.ok()) first = st;
  }
  call.ifname = "lo";
  Status st = ExecPlugin(call, LoopbackConfig(list)).status();
  if (first.ok()) first = st;
  return first;
}

Status NetworkCycle(const NetworkFloorOptions& o, const json& list, int i, Samples* add,
                    Samples* del, Samples* total) {
  CniCall call;
  call.container_id = "crio-bench-" + std::to_string(::getpid()) + "-" + std::to_string(i + 100);
  call.netns = o.netns_dir + "/" + call.container_id;
  call.bin_dir = o.bin_dir;
  auto start = Clock::now();
  RETURN_IF_ERROR(PinNewNetns(call.netns));
  StatusOr<json> result = AddAll(list, call);
  double add_ms = MsSince(start);
  auto del_start = Clock::now();
  Status deleted = DelAll(list, call, result.ok() ? *result : json());
  Status unpinned = UnpinNetns(call.netns);
  double del_ms = MsSince(del_start);
  RETURN_IF_ERROR(result.status());
  RETURN_IF_ERROR(deleted);
  RETURN_IF_ERROR(unpinned);
  if (add != nullptr) {
    add->Add(add_ms);
    del->Add(del_ms);
    total->Add(add_ms + del_ms);
  }
  return absl::OkStatus();
}

}  // namespace

Status RunNetworkFloor(const NetworkFloorOptions& o) {
  std::ifstream in(o.conflist);
  if (!in) return ErrnoError(errno, "open `" + o.conflist + "`");
  std::stringstream text;
  text << in.rdbuf();
  json list = json::parse(text.str(), nullptr, false);
  if (list.is_discarded() || !list.contains("plugins") || !list["plugins"].is_array()) {
    return InvalidArgument("`" + o.conflist + "` is not a CNI conflist");
  }
  for (int i = 0; i < o.warmup; ++i) {
    RETURN_IF_ERROR(NetworkCycle(o, list, -1 - i, nullptr, nullptr, nullptr));
  }
  Samples add, del, total;
  for (int i = 0; i < o.runs; ++i) RETURN_IF_ERROR(NetworkCycle(o, list, i, &add, &del, &total));
  RETURN_IF_ERROR(AppendLatency(o.results, o.row, "netns+ADD", add));
  RETURN_IF_ERROR(AppendLatency(o.results, o.row, "DEL+netns rm", del));
  return AppendLatency(o.results, o.row, "pod run+stop+remove (CNI)", total);
}

}  // namespace crio::bench
