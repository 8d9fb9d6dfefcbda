// crioctl pod and container verbs (crictl's names, flags and output formats):
// runp, pods, inspectp, stopp, rmp, create, start, run, ps, inspect, stop, rm, exec; logs is
// in logs_command.cc.

#include "runtime_commands.h"

#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "call.h"
#include "runtime_format.h"
#include "stream_commands.h"

namespace crioctl {

namespace {

using std::chrono::nanoseconds;

// ---- Plumbing ----

int64_t NowNanos() {
  return std::chrono::duration_cast<nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Optional duration flags ("" = unset).
crio::StatusOr<nanoseconds> OptionalDuration(const std::string& text, const char* flag) {
  if (text.empty()) return nanoseconds(0);
  auto d = ParseDuration(text);
  if (!d.ok()) return crio::Annotate(d.status(), flag);
  return d;
}

// Output formats crioctl can write; crictl's yaml and go-template have no writer here.
crio::Status CheckOutput(const std::string& output, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (output == a) return absl::OkStatus();
  }
  if (output == "yaml" || output == "go-template") {
    return crio::Unimplemented(
        absl::StrCat("output format \"", output, "\" is not supported by crioctl (use json)"));
  }
  return crio::InvalidArgument(absl::StrCat("unsupported output format \"", output, "\""));
}

// What crictl prints after a verb on one ID succeeded: the ID itself, or "<prefix> <id>".
auto PrintLine(std::string text) {
  return [text = std::move(text)](const auto& /*response*/) { std::printf("%s\n", text.c_str()); };
}

// ---- RPCs on one pod, container or image (failures are printed; callers return the code) ----

int ImageStatus(Client& client, const std::string& image, v1::ImageStatusResponse* resp) {
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(image);
  return Call(client, Rpc{"ImageStatus", &ImageStub::ImageStatus}, req, resp);
}

int PodStatus(Client& client, const std::string& id, bool verbose,
              v1::PodSandboxStatusResponse* resp) {
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(id);
  req.set_verbose(verbose);
  return Call(client, Rpc{"PodSandboxStatus", &RuntimeStub::PodSandboxStatus}, req, resp);
}

int ContainerStatus(Client& client, const std::string& id, bool verbose,
                    v1::ContainerStatusResponse* resp) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(verbose);
  return Call(client, Rpc{"ContainerStatus", &RuntimeStub::ContainerStatus}, req, resp);
}

int StopPod(Client& client, const std::string& id) {
  v1::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  return CallAndPrint(client, Rpc{"StopPodSandbox", &RuntimeStub::StopPodSandbox}, req,
                      PrintLine("Stopped sandbox " + id));
}

int StopContainer(Client& client, const std::string& id, int64_t timeout) {
  v1::StopContainerRequest req;
  req.set_container_id(id);
  req.set_timeout(timeout);
  return CallAndPrint(client, Rpc{"StopContainer", &RuntimeStub::StopContainer}, req, PrintLine(id),
                      CallContext(client, 1, std::chrono::seconds(std::max<int64_t>(timeout, 0))));
}

int StartContainer(Client& client, const std::string& id) {
  v1::StartContainerRequest req;
  req.set_container_id(id);
  return CallAndPrint(client, Rpc{"StartContainer", &RuntimeStub::StartContainer}, req,
                      PrintLine(id));
}

int RunPod(Client& client, const v1::PodSandboxConfig& config, const std::string& handler,
           nanoseconds cancel, std::string* id) {
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = config;
  req.set_runtime_handler(handler);
  v1::RunPodSandboxResponse resp;
  // Sandbox creation may pull the pause image and set up the network: twice the timeout, as
  // the kubelet's CRI client allows.
  if (int rc = Call(client, Rpc{"RunPodSandbox", &RuntimeStub::RunPodSandbox}, req, &resp,
                    CallContext(client, 2, {}, cancel))) {
    return rc;
  }
  *id = resp.pod_sandbox_id();
  return 0;
}

// Image flags shared by create and run.
struct PullFlags {
  bool no_pull = false;
  bool with_pull = false;  // pull even when the image is present
  std::string creds;       // USERNAME[:PASSWORD]
  std::string auth;        // base64 USERNAME:PASSWORD
  std::string pull_timeout;
};

// Pulls `image` unless it is present (or always, with --with-pull). No deadline by default:
// a pull takes as long as the image is big.
int EnsureImage(Client& client, const std::string& image,
                const google::protobuf::Map<std::string, std::string>& annotations,
                const v1::PodSandboxConfig& pod_config, const PullFlags& flags,
                nanoseconds pull_timeout) {
  if (!flags.with_pull) {
    v1::ImageStatusResponse status;
    if (int rc = ImageStatus(client, image, &status)) return rc;
    if (status.has_image()) return 0;
  }
  v1::PullImageRequest req;
  req.mutable_image()->set_image(image);
  *req.mutable_image()->mutable_annotations() = annotations;
  *req.mutable_sandbox_config() = pod_config;
  SetAuth(flags.creds, flags.auth, &req);
  v1::PullImageResponse resp;
  return Call(client, Rpc{"PullImage", &ImageStub::PullImage}, req, &resp,
              ContextWithTimeout(pull_timeout));
}

int CreateContainer(Client& client, const std::string& pod_id, v1::ContainerConfig config,
                    const v1::PodSandboxConfig& pod_config, const PullFlags& flags,
                    nanoseconds cancel, std::string* id) {
  if (flags.no_pull && flags.with_pull) return Fail("conflict: no-pull and with-pull are both set");
  auto pull_timeout = OptionalDuration(flags.pull_timeout, "--pull-timeout");
  if (!pull_timeout.ok()) return Fail(pull_timeout.status());
  if (config.image().user_specified_image().empty()) {
    config.mutable_image()->set_user_specified_image(config.image().image());
  }
  if (!flags.no_pull) {
    for (const std::string& image : ImagesToPull(config)) {
      const auto& annotations = image == config.image().image()
                                    ? config.image().annotations()
                                    : google::protobuf::Map<std::string, std::string>();
      if (int rc = EnsureImage(client, image, annotations, pod_config, flags, *pull_timeout)) {
        return rc;
      }
    }
  }
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(pod_id);
  *req.mutable_config() = std::move(config);
  *req.mutable_sandbox_config() = pod_config;
  v1::CreateContainerResponse resp;
  if (int rc = Call(client, Rpc{"CreateContainer", &RuntimeStub::CreateContainer}, req, &resp,
                    CallContext(client, 1, {}, cancel))) {
    return rc;
  }
  *id = resp.container_id();
  return 0;
}

void AddPullFlags(CLI::App* cmd, PullFlags* flags, const char* no_pull_help) {
  cmd->add_flag("--no-pull", flags->no_pull, no_pull_help);
  cmd->add_flag("--with-pull", flags->with_pull, "Pull the image even when it is present");
  cmd->add_option("--creds", flags->creds, "Use USERNAME[:PASSWORD] for accessing the registry");
  cmd->add_option("--auth", flags->auth,
                  "Use AUTH_STRING (base64 of USERNAME[:PASSWORD]) for accessing the registry");
  cmd->add_option("--pull-timeout", flags->pull_timeout,
                  "Maximum time for pulling the image, e.g. 5m (default: no limit)")
      ->envname("CRICTL_PULL_TIMEOUT");
}

void AddLabelOption(CLI::App* cmd, std::vector<std::string>* labels) {
  cmd->add_option("--label", *labels, "Filter by key=value label (repeatable)")
      ->allow_extra_args(false);
}

// ---- runp ----

struct RunpOptions {
  std::string config;
  std::string runtime;
  std::string cancel_timeout;
};

int CmdRunp(Client& client, const RunpOptions& o) {
  auto cancel = OptionalDuration(o.cancel_timeout, "--cancel-timeout");
  if (!cancel.ok()) return Fail(cancel.status());
  auto config = LoadPodSandboxConfig(o.config);
  if (!config.ok()) return Fail(config.status());
  std::string id;
  if (int rc = RunPod(client, *config, o.runtime, *cancel, &id)) return rc;
  std::printf("%s\n", id.c_str());
  return 0;
}

// ---- pods ----

struct PodsOptions {
  PodListOptions list;
  bool verbose = false;
  bool quiet = false;
  bool no_trunc = false;
  std::string output = "table";
};

// Lists pods with the CRI filter, then the client-side filters. Returns an exit code.
int FindPods(Client& client, const PodListOptions& list, std::vector<v1::PodSandbox>* out) {
  auto req = BuildListPodSandboxRequest(list);
  if (!req.ok()) return Fail(req.status());
  v1::ListPodSandboxResponse resp;
  if (int rc = Call(client, Rpc{"ListPodSandbox", &RuntimeStub::ListPodSandbox}, *req, &resp)) {
    return rc;
  }
  *out = SelectPods(resp.items(), list);
  return 0;
}

int CmdPods(Client& client, const PodsOptions& o) {
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  std::vector<v1::PodSandbox> pods;
  if (int rc = FindPods(client, o.list, &pods)) return rc;
  if (o.output == "json") {
    v1::ListPodSandboxResponse out;
    for (auto& pod : pods) *out.add_items() = std::move(pod);
    Print(ProtoToJson(out).dump(2) + "\n");
  } else if (o.quiet) {
    for (const auto& pod : pods) std::printf("%s\n", pod.id().c_str());
  } else if (o.verbose) {
    Print(FormatPodsVerbose(pods, LocalZone));
  } else {
    Print(FormatPodsTable(pods, o.no_trunc, NowNanos()));
  }
  return 0;
}

// ---- inspectp / inspect ----

// The IDs given, else those of the objects `find` lists (filters). Returns an exit code.
template <typename Object>
int IdsOrFound(const std::vector<std::string>& given,
               const std::function<int(std::vector<Object>*)>& find,
               std::vector<std::string>* ids) {
  *ids = given;
  if (ids->empty()) {
    std::vector<Object> found;
    if (int rc = find(&found)) return rc;
    for (const auto& object : found) ids->push_back(object.id());
  }
  if (ids->empty()) return Fail("No IDs provided or nothing found per filter");
  return 0;
}

// One status per ID, printed as a table each, or as one JSON document (an object for one ID,
// an array for several) once all succeeded; the first failure ends the verb.
template <typename Response>
int InspectEach(const std::vector<std::string>& ids, const std::string& output,
                const std::function<int(const std::string&, Response*)>& status,
                const std::function<std::string(const Response&)>& table,
                const std::function<nlohmann::json(const Response&)>& entry) {
  std::vector<nlohmann::json> entries;
  int rc = ForEach(ids, OnError::kStop, [&](const std::string& id) {
    Response resp;
    if (int failed = status(id, &resp)) return failed;
    if (output == "table") {
      Print(table(resp));
    } else {
      entries.push_back(entry(resp));
    }
    return 0;
  });
  if (rc != 0) return rc;
  if (!entries.empty()) Print(InspectDocument(entries) + "\n");
  return 0;
}

struct InspectpOptions {
  std::vector<std::string> ids;
  PodListOptions list;  // used when no IDs are given
  std::string output = "json";
  bool quiet = false;
};

int CmdInspectp(Client& client, const InspectpOptions& o) {
  using Response = v1::PodSandboxStatusResponse;
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  std::vector<std::string> ids;
  if (int rc = IdsOrFound<v1::PodSandbox>(
          o.ids, [&](auto* pods) { return FindPods(client, o.list, pods); }, &ids)) {
    return rc;
  }
  return InspectEach<Response>(
      ids, o.output,
      [&](const std::string& id, Response* r) { return PodStatus(client, id, !o.quiet, r); },
      [&](const Response& r) { return FormatPodStatusTable(r, !o.quiet, LocalZone); },
      [](const Response& r) { return PodInspectEntry(r, LocalZone); });
}

// ---- stopp / rmp ----

int CmdStopp(Client& client, const std::vector<std::string>& ids) {
  return ForEach(ids, OnError::kStop, [&](const std::string& id) { return StopPod(client, id); });
}

struct RmpOptions {
  std::vector<std::string> ids;
  bool force = false;
  bool all = false;
};

// A running pod is refused, or with --force stopped first.
int RemovePod(Client& client, const std::string& id, bool force) {
  v1::PodSandboxStatusResponse status;
  if (int rc = PodStatus(client, id, false, &status)) return rc;
  if (status.status().state() == v1::SANDBOX_READY) {
    if (!force) {
      return Fail(absl::StrCat("pod sandbox \"", id, "\" is running, please stop it first"));
    }
    if (int rc = StopPod(client, id)) return rc;
  }
  v1::RemovePodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  return CallAndPrint(client, Rpc{"RemovePodSandbox", &RuntimeStub::RemovePodSandbox}, req,
                      PrintLine("Removed sandbox " + id));
}

int CmdRmp(Client& client, const RmpOptions& o) {
  std::vector<std::string> ids = o.ids;
  if (o.all) {
    v1::ListPodSandboxResponse resp;
    if (int rc = Call(client, Rpc{"ListPodSandbox", &RuntimeStub::ListPodSandbox}, {}, &resp)) {
      return rc;
    }
    ids.clear();
    for (const auto& pod : resp.items()) ids.push_back(pod.id());
    if (ids.empty()) {
      std::fprintf(stderr, "No pods to remove\n");
      return 0;
    }
  }
  if (ids.empty()) return Fail("ID cannot be empty (give POD-ID... or --all)");
  return ForEach(ids, OnError::kKeepGoing,
                 [&](const std::string& id) { return RemovePod(client, id, o.force); });
}

// ---- create / start / run ----

struct CreateOptions {
  std::string pod_id;
  std::string container_config;
  std::string pod_config;
  PullFlags pull;
  std::string cancel_timeout;
};

int CmdCreate(Client& client, const CreateOptions& o) {
  auto cancel = OptionalDuration(o.cancel_timeout, "--cancel-timeout");
  if (!cancel.ok()) return Fail(cancel.status());
  auto config = LoadContainerConfig(o.container_config);
  if (!config.ok()) return Fail(config.status());
  auto pod_config = LoadPodSandboxConfig(o.pod_config);
  if (!pod_config.ok()) return Fail(pod_config.status());
  std::string id;
  if (int rc = CreateContainer(client, o.pod_id, *std::move(config), *pod_config, o.pull, *cancel,
                               &id)) {
    return rc;
  }
  std::printf("%s\n", id.c_str());
  return 0;
}

int CmdStart(Client& client, const std::vector<std::string>& ids) {
  return ForEach(ids, OnError::kStop,
                 [&](const std::string& id) { return StartContainer(client, id); });
}

struct RunOptions {
  std::string container_config;
  std::string pod_config;
  std::string runtime;
  PullFlags pull;
  std::string cancel_timeout;
};

// runp + create + start; prints the container ID (as `start` does).
int CmdRun(Client& client, const RunOptions& o) {
  auto cancel = OptionalDuration(o.cancel_timeout, "--cancel-timeout");
  if (!cancel.ok()) return Fail(cancel.status());
  auto config = LoadContainerConfig(o.container_config);
  if (!config.ok()) return Fail(config.status());
  auto pod_config = LoadPodSandboxConfig(o.pod_config);
  if (!pod_config.ok()) return Fail(pod_config.status());
  std::string pod_id;
  // As crictl: --cancel-timeout is documented for the container create, not the sandbox.
  if (int rc = RunPod(client, *pod_config, o.runtime, nanoseconds(0), &pod_id)) return rc;
  std::string id;
  if (int rc =
          CreateContainer(client, pod_id, *std::move(config), *pod_config, o.pull, *cancel, &id)) {
    return rc;
  }
  return StartContainer(client, id);
}

// ---- ps / inspect ----

// --image: containers whose image resolves to the same image ID as the flag's.
struct ImageFilter {
  std::string image;
  std::string image_id;  // resolved
  int rc = 0;            // the first ImageStatus failure while filtering (already printed)
};

std::function<bool(const v1::Container&)> ImagePredicate(Client& client, ImageFilter* filter) {
  if (filter->image.empty()) return nullptr;
  return [&client, filter](const v1::Container& c) {
    if (filter->rc != 0) return false;
    v1::ImageStatusResponse resp;
    filter->rc = ImageStatus(client, c.image().image(), &resp);
    return filter->rc == 0 && resp.has_image() && resp.image().id() == filter->image_id;
  };
}

// Lists containers with the CRI filter, the client-side filters and --image. Returns an exit
// code; an image that does not exist matches nothing, as in crictl.
int FindContainers(Client& client, const ContainerListOptions& list, const std::string& image,
                   std::vector<v1::Container>* out) {
  auto req = BuildListContainersRequest(list);
  if (!req.ok()) return Fail(req.status());
  ImageFilter filter{image, {}, 0};
  if (!image.empty()) {
    v1::ImageStatusResponse resp;
    if (int rc = ImageStatus(client, image, &resp)) return rc;
    if (!resp.has_image()) {
      out->clear();
      return 0;
    }
    filter.image_id = resp.image().id();
  }
  v1::ListContainersResponse resp;
  if (int rc = Call(client, Rpc{"ListContainers", &RuntimeStub::ListContainers}, *req, &resp)) {
    return rc;
  }
  *out = SelectContainers(resp.containers(), list, ImagePredicate(client, &filter));
  return filter.rc;
}

struct PsOptions {
  ContainerListOptions list;
  std::string image;
  bool verbose = false;
  bool quiet = false;
  bool no_trunc = false;
  bool resolve_image_path = false;
  std::string output = "table";
};

// ps -r: each container's image shown as its first repo tag.
int ResolveImagePaths(Client& client, std::vector<v1::Container>* containers) {
  for (auto& c : *containers) {
    v1::ImageStatusResponse resp;
    if (int rc = ImageStatus(client, c.image().image(), &resp)) return rc;
    if (resp.has_image() && resp.image().repo_tags_size() > 0) {
      c.mutable_image()->set_image(resp.image().repo_tags(0));
    }
  }
  return 0;
}

int CmdPs(Client& client, const PsOptions& o) {
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  std::vector<v1::Container> containers;
  if (int rc = FindContainers(client, o.list, o.image, &containers)) return rc;
  if (o.output == "json") {
    v1::ListContainersResponse out;
    for (auto& c : containers) *out.add_containers() = std::move(c);
    Print(ProtoToJson(out).dump(2) + "\n");
    return 0;
  }
  if (o.quiet) {
    for (const auto& c : containers) std::printf("%s\n", c.id().c_str());
    return 0;
  }
  if (o.resolve_image_path) {
    if (int rc = ResolveImagePaths(client, &containers)) return rc;
  }
  Print(o.verbose ? FormatContainersVerbose(containers, NowNanos())
                  : FormatContainersTable(containers, o.no_trunc, NowNanos()));
  return 0;
}

struct InspectOptions {
  std::vector<std::string> ids;
  ContainerListOptions list;  // used when no IDs are given
  std::string image;
  std::string output = "json";
  bool quiet = false;
};

int CmdInspect(Client& client, const InspectOptions& o) {
  using Response = v1::ContainerStatusResponse;
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  std::vector<std::string> ids;
  auto find = [&](auto* containers) { return FindContainers(client, o.list, o.image, containers); };
  if (int rc = IdsOrFound<v1::Container>(o.ids, find, &ids)) return rc;
  return InspectEach<Response>(
      ids, o.output,
      [&](const std::string& id, Response* r) { return ContainerStatus(client, id, !o.quiet, r); },
      [&](const Response& r) { return FormatContainerStatusTable(r, !o.quiet, NowNanos()); },
      [](const Response& r) { return ContainerInspectEntry(r, LocalZone); });
}

// ---- stop / rm ----

struct StopOptions {
  std::vector<std::string> ids;
  int64_t timeout = 0;
  bool all = false;
};

int CmdStop(Client& client, const StopOptions& o) {
  if (o.all && !o.ids.empty()) return Fail("cannot specify CONTAINER-ID(s) when using --all");
  std::vector<std::string> ids = o.ids;
  if (o.all) {
    std::vector<v1::Container> running;
    if (int rc = FindContainers(client, ContainerListOptions{}, "", &running)) return rc;
    if (running.empty()) {
      std::printf("No running containers found.\n");
      return 0;
    }
    for (const auto& c : running) ids.push_back(c.id());
  }
  if (ids.empty()) return Fail("you must specify at least one CONTAINER-ID or use --all");
  return ForEach(ids, OnError::kStop,
                 [&](const std::string& id) { return StopContainer(client, id, o.timeout); });
}

struct RmOptions {
  std::vector<std::string> ids;
  bool force = false;
  bool all = false;
  bool keep_logs = false;
};

// crictl removes the container's log file and its rotations (`<log>.*`) after removal.
void RemoveLogs(const std::string& id, const std::string& log_path) {
  if (log_path.empty()) return;
  std::vector<std::string> files = {log_path};
  glob_t g{};
  if (glob((log_path + ".*").c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  for (const auto& f : files) {
    if (unlink(f.c_str()) != 0 && errno != ENOENT) {
      std::fprintf(stderr, "crioctl: removing log file %s for container \"%s\": %s\n", f.c_str(),
                   id.c_str(), std::strerror(errno));
    }
  }
}

// A running container is refused, or with --force stopped first.
int RemoveContainer(Client& client, const std::string& id, const RmOptions& o) {
  v1::ContainerStatusResponse status;
  if (int rc = ContainerStatus(client, id, false, &status)) return rc;
  if (status.status().state() == v1::CONTAINER_RUNNING) {
    if (!o.force) {
      return Fail(absl::StrCat("container \"", id, "\" is running, please stop it first"));
    }
    if (int rc = StopContainer(client, id, 0)) return rc;
  }
  v1::RemoveContainerRequest req;
  req.set_container_id(id);
  return CallAndPrint(client, Rpc{"RemoveContainer", &RuntimeStub::RemoveContainer}, req,
                      [&](const v1::RemoveContainerResponse&) {
                        std::printf("%s\n", id.c_str());
                        if (!o.keep_logs) RemoveLogs(id, status.status().log_path());
                      });
}

int CmdRm(Client& client, const RmOptions& o) {
  std::vector<std::string> ids = o.ids;
  if (o.all) {
    v1::ListContainersResponse resp;
    if (int rc = Call(client, Rpc{"ListContainers", &RuntimeStub::ListContainers}, {}, &resp)) {
      return rc;
    }
    ids.clear();
    for (const auto& c : resp.containers()) ids.push_back(c.id());
    if (ids.empty()) {
      std::fprintf(stderr, "No containers to remove\n");
      return 0;
    }
  }
  if (ids.empty()) return Fail("ID cannot be empty (give CONTAINER-ID... or --all)");
  return ForEach(ids, OnError::kKeepGoing,
                 [&](const std::string& id) { return RemoveContainer(client, id, o); });
}

// ---- exec ----

struct ExecOptions {
  bool sync = false;
  int64_t timeout = 0;
  bool tty = false;
  bool interactive = false;
};

// ExecSync's output, stdout then stderr; the command's exit code becomes crioctl's.
int PrintExecSync(const v1::ExecSyncResponse& resp) {
  std::fwrite(resp.stdout().data(), 1, resp.stdout().size(), stdout);
  std::fflush(stdout);
  std::fwrite(resp.stderr().data(), 1, resp.stderr().size(), stderr);
  std::fflush(stderr);
  return resp.exit_code();
}

// Runs the command: with -s through ExecSync (its output printed when it ends), otherwise
// streamed through the streaming server, as crictl does. Either way its exit code is
// crioctl's. `args` = CONTAINER-ID CMD [ARG...].
int CmdExec(Client& client, const ExecOptions& o, std::vector<std::string> args) {
  if (args.size() >= 2 && args[1] == "--") args.erase(args.begin() + 1);
  if (args.size() < 2) {
    return Fail("usage: exec [-s] [-i] [-t] [--timeout N] CONTAINER-ID COMMAND [ARG...]");
  }
  if (!o.sync) {
    return StreamExec(client, args[0], {args.begin() + 1, args.end()}, o.tty, o.interactive);
  }
  v1::ExecSyncRequest req;
  req.set_container_id(args[0]);
  for (std::size_t i = 1; i < args.size(); ++i) req.add_cmd(args[i]);
  req.set_timeout(o.timeout);
  // No limit without --timeout, like crictl.
  auto ctx = o.timeout > 0 ? CallContext(client, 1, std::chrono::seconds(o.timeout))
                           : ContextWithTimeout({});
  return CallAndPrint(client, Rpc{"ExecSync", &RuntimeStub::ExecSync}, req, PrintExecSync,
                      std::move(ctx));
}

// ---- Registration ----

void AddPodListFlags(CLI::App* cmd, PodListOptions* list) {
  cmd->add_option("--name", list->name_regex, "Filter by pod name regular expression pattern");
  cmd->add_option("--namespace", list->namespace_regex,
                  "Filter by pod namespace regular expression pattern");
  cmd->add_option("--state,-s", list->state, "Filter by pod state (ready, notready)");
  AddLabelOption(cmd, &list->labels);
  cmd->add_flag("--latest,-l", list->latest, "Show the most recently created pod");
  cmd->add_option("--last,-n", list->last, "Show last n recently created pods (0: unlimited)");
}

void AddContainerListFlags(CLI::App* cmd, ContainerListOptions* list, std::string* image) {
  cmd->add_option("--name", list->name_regex,
                  "Filter by container name regular expression pattern");
  cmd->add_option("--namespace", list->namespace_regex,
                  "Filter by pod namespace regular expression pattern");
  cmd->add_option("--pod,-p", list->pod_id, "Filter by pod id");
  cmd->add_option("--image", *image, "Filter by container image");
  cmd->add_option("--state,-s", list->state,
                  "Filter by container state (created, running, exited, unknown)");
  AddLabelOption(cmd, &list->labels);
  cmd->add_flag("--all,-a", list->all, "Show all containers (default: running ones)");
  cmd->add_flag("--latest,-l", list->latest,
                "Show the most recently created container (includes all states)");
  cmd->add_option("--last,-n", list->last,
                  "Show last n recently created containers (includes all states; 0: unlimited)");
}

void AddPodVerbs(CLI::App& app, Commands& commands) {
  auto [runp_cmd, runp] = AddVerb(app, commands, "runp", "Run a new pod", CmdRunp);
  runp_cmd->add_option("pod-config", runp.config, "pod-config.[json|yaml]")->required();
  runp_cmd->add_option("--runtime,-r", runp.runtime,
                       "Runtime handler to use. Available options are defined by the runtime.");
  runp_cmd->add_option("--cancel-timeout,-T", runp.cancel_timeout,
                       "Time to wait for the request before cancelling it, e.g. 30s "
                       "(default: twice --timeout)");

  auto [pods_cmd, pods] = AddVerb(app, commands, "pods", "List pods", CmdPods);
  pods_cmd->add_option("--id", pods.list.id, "Filter by pod id");
  AddPodListFlags(pods_cmd, &pods.list);
  pods_cmd->add_flag("--verbose,-v", pods.verbose, "Show verbose info for pods");
  pods_cmd->add_flag("--quiet,-q", pods.quiet, "List only pod IDs");
  pods_cmd->add_option("--output,-o", pods.output, "Output format, one of: json|table");
  pods_cmd->add_flag("--no-trunc", pods.no_trunc, "Show output without truncating the ID");

  auto [inspectp_cmd, inspectp] =
      AddVerb(app, commands, "inspectp", "Display the status of one or more pods", CmdInspectp);
  inspectp_cmd->add_option("pod-id", inspectp.ids, "POD-ID [POD-ID...] (default: by filters)");
  AddPodListFlags(inspectp_cmd, &inspectp.list);
  inspectp_cmd->add_option("--output,-o", inspectp.output, "Output format, one of: json|table");
  inspectp_cmd->add_flag("--quiet,-q", inspectp.quiet, "Do not show verbose information");

  auto [stopp_cmd, stopp] =
      AddVerb(app, commands, "stopp", "Stop one or more running pods", CmdStopp);
  stopp_cmd->add_option("pod-id", stopp, "POD-ID [POD-ID...]")->required();

  auto [rmp_cmd, rmp] = AddVerb(app, commands, "rmp", "Remove one or more pods", CmdRmp);
  rmp_cmd->add_option("pod-id", rmp.ids, "POD-ID [POD-ID...]");
  rmp_cmd->add_flag("--force,-f", rmp.force,
                    "Force removal of the pod sandbox, disregarding if running");
  rmp_cmd->add_flag("--all,-a", rmp.all, "Remove all pods");
}

void AddExecVerb(CLI::App& app, Commands& commands) {
  auto exec = std::make_shared<ExecOptions>();
  CLI::App* exec_cmd = app.add_subcommand("exec", "Run a command in a running container");
  exec_cmd->footer(
      "Usage: exec [-s] [-i] [-t] [--timeout N] CONTAINER-ID COMMAND [ARG...]\n"
      "Streams the command's stdio through the streaming server (Exec), or with -s runs it\n"
      "with ExecSync and prints its output when it ends. The exit code becomes crioctl's.");
  exec_cmd->add_flag("--sync,-s", exec->sync, "Run the command synchronously (ExecSync)");
  exec_cmd->add_option("--timeout", exec->timeout, "Timeout in seconds for -s (default 0: none)");
  exec_cmd->add_flag("--tty,-t", exec->tty, "Allocate a pseudo-TTY");
  exec_cmd->add_flag("--interactive,-i", exec->interactive, "Keep STDIN open");
  // Everything from the container ID on is ours: `exec ID sh -c 'echo hi'`.
  exec_cmd->prefix_command();
  commands.push_back(
      {exec_cmd, [exec, exec_cmd](Client& c) { return CmdExec(c, *exec, exec_cmd->remaining()); }});
}

void AddContainerVerbs(CLI::App& app, Commands& commands) {
  auto [create_cmd, create] =
      AddVerb(app, commands, "create",
              "Create a new container (pulls its image first unless present)", CmdCreate);
  create_cmd->add_option("pod-id", create.pod_id, "POD")->required();
  create_cmd
      ->add_option("container-config", create.container_config, "container-config.[json|yaml]")
      ->required();
  create_cmd->add_option("pod-config", create.pod_config, "pod-config.[json|yaml]")->required();
  AddPullFlags(create_cmd, &create.pull, "Do not pull the image on container creation");
  create_cmd->add_option("--cancel-timeout,-T", create.cancel_timeout,
                         "Time to wait for the create request before cancelling it, e.g. 30s");

  auto [start_cmd, start] =
      AddVerb(app, commands, "start", "Start one or more created containers", CmdStart);
  start_cmd->add_option("container-id", start, "CONTAINER-ID [CONTAINER-ID...]")->required();

  auto [run_cmd, run] =
      AddVerb(app, commands, "run", "Run a new container inside a new pod", CmdRun);
  run_cmd->add_option("container-config", run.container_config, "container-config.[json|yaml]")
      ->required();
  run_cmd->add_option("pod-config", run.pod_config, "pod-config.[json|yaml]")->required();
  run_cmd->add_option("--runtime,-r", run.runtime,
                      "Runtime handler to use. Available options are defined by the runtime.");
  AddPullFlags(run_cmd, &run.pull, "Do not pull the image");
  run_cmd->add_option("--cancel-timeout,-T", run.cancel_timeout,
                      "Time to wait for the container create request before cancelling it");

  auto [ps_cmd, ps] = AddVerb(app, commands, "ps", "List containers", CmdPs);
  ps_cmd->add_option("--id", ps.list.id, "Filter by container id");
  AddContainerListFlags(ps_cmd, &ps.list, &ps.image);
  ps_cmd->add_flag("--verbose,-v", ps.verbose, "Show verbose information for containers");
  ps_cmd->add_flag("--quiet,-q", ps.quiet, "Only display container IDs");
  ps_cmd->add_option("--output,-o", ps.output, "Output format, one of: json|table");
  ps_cmd->add_flag("--no-trunc", ps.no_trunc, "Show output without truncating the ID");
  ps_cmd->add_flag("--resolve-image-path,-r", ps.resolve_image_path,
                   "Show image path instead of image id");

  auto [inspect_cmd, inspect] =
      AddVerb(app, commands, "inspect", "Display the status of one or more containers", CmdInspect);
  inspect_cmd->add_option("container-id", inspect.ids,
                          "CONTAINER-ID [CONTAINER-ID...] (default: by filters)");
  AddContainerListFlags(inspect_cmd, &inspect.list, &inspect.image);
  inspect_cmd->add_option("--output,-o", inspect.output, "Output format, one of: json|table");
  inspect_cmd->add_flag("--quiet,-q", inspect.quiet, "Do not show verbose information");

  auto [stop_cmd, stop] =
      AddVerb(app, commands, "stop", "Stop one or more running containers", CmdStop);
  stop_cmd->add_option("container-id", stop.ids, "CONTAINER-ID [CONTAINER-ID...]");
  stop_cmd->add_option("--timeout,-t", stop.timeout,
                       "Seconds to wait to kill the container after a graceful stop is requested "
                       "(default 0)");
  stop_cmd->add_flag("--all,-a", stop.all, "Stop all running containers");

  auto [rm_cmd, rm] = AddVerb(app, commands, "rm", "Remove one or more containers", CmdRm);
  rm_cmd->add_option("container-id", rm.ids, "CONTAINER-ID [CONTAINER-ID...]");
  rm_cmd->add_flag("--force,-f", rm.force,
                   "Force removal of the container, disregarding if running");
  rm_cmd->add_flag("--keep-logs,-k", rm.keep_logs,
                   "Preserve the container log file and its rotations");
  rm_cmd->add_flag("--all,-a", rm.all, "Remove all containers");

  AddExecVerb(app, commands);
}

}  // namespace

void AddPodCommands(CLI::App& app, Commands& commands) {
  AddPodVerbs(app, commands);
  AddContainerVerbs(app, commands);
  AddLogsCommand(app, commands);
}

}  // namespace crioctl
