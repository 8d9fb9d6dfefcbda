// crioctl pod and container verbs (crictl's names, flags and output formats):
// runp, pods, inspectp, stopp, rmp, create, start, run, ps, inspect, stop, rm, exec, logs.

#include "runtime_commands.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include "os/unique_fd.h"
#include "runtime_format.h"
#include "stream_commands.h"

namespace crioctl {

namespace {

using std::chrono::nanoseconds;

// ---- Plumbing ----

int Fail(const std::string& message) {
  std::fprintf(stderr, "crioctl: %s\n", message.c_str());
  return 1;
}

int Fail(const crio::Status& status) { return Fail(crio::Message(status)); }

int64_t NowNanos() {
  return std::chrono::duration_cast<nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

// The global --timeout deadline, multiplied by `factor` and extended by `extra` (the CRI client
// gives RunPodSandbox twice the timeout, and StopContainer / ExecSync their own timeout on top).
// A verb's --cancel-timeout (`cancel` > 0) replaces it.
std::unique_ptr<grpc::ClientContext> CallContext(Client& client, int factor = 1,
                                                 std::chrono::seconds extra = {},
                                                 nanoseconds cancel = {}) {
  auto ctx = client.Context();
  const auto now = std::chrono::system_clock::now();
  if (cancel.count() > 0) {
    ctx->set_deadline(now +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(cancel));
    return ctx;
  }
  const auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return ctx;  // --timeout 0
  ctx->set_deadline(now + (deadline - now) * factor + extra);
  return ctx;
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

// ---- RPC helpers (print nothing; callers Report) ----

grpc::Status ListPods(Client& client, const v1::ListPodSandboxRequest& req,
                      v1::ListPodSandboxResponse* resp) {
  auto ctx = CallContext(client);
  return client.runtime().ListPodSandbox(ctx.get(), req, resp);
}

grpc::Status ListContainers(Client& client, const v1::ListContainersRequest& req,
                            v1::ListContainersResponse* resp) {
  auto ctx = CallContext(client);
  return client.runtime().ListContainers(ctx.get(), req, resp);
}

grpc::Status ImageStatus(Client& client, const std::string& image, v1::ImageStatusResponse* resp) {
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(image);
  auto ctx = CallContext(client);
  return client.image().ImageStatus(ctx.get(), req, resp);
}

grpc::Status PodStatus(Client& client, const std::string& id, bool verbose,
                       v1::PodSandboxStatusResponse* resp) {
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(id);
  req.set_verbose(verbose);
  auto ctx = CallContext(client);
  return client.runtime().PodSandboxStatus(ctx.get(), req, resp);
}

grpc::Status ContainerStatus(Client& client, const std::string& id, bool verbose,
                             v1::ContainerStatusResponse* resp) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(verbose);
  auto ctx = CallContext(client);
  return client.runtime().ContainerStatus(ctx.get(), req, resp);
}

// ---- Shared verb steps (print like crictl; return an exit code) ----

int StopPod(Client& client, const std::string& id) {
  v1::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse resp;
  auto ctx = CallContext(client);
  grpc::Status st = client.runtime().StopPodSandbox(ctx.get(), req, &resp);
  if (!st.ok()) return Report("StopPodSandbox", st);
  std::printf("Stopped sandbox %s\n", id.c_str());
  return 0;
}

int StopContainer(Client& client, const std::string& id, int64_t timeout) {
  v1::StopContainerRequest req;
  req.set_container_id(id);
  req.set_timeout(timeout);
  v1::StopContainerResponse resp;
  auto ctx = CallContext(client, 1, std::chrono::seconds(std::max<int64_t>(timeout, 0)));
  grpc::Status st = client.runtime().StopContainer(ctx.get(), req, &resp);
  if (!st.ok()) return Report("StopContainer", st);
  std::printf("%s\n", id.c_str());
  return 0;
}

int StartContainer(Client& client, const std::string& id) {
  v1::StartContainerRequest req;
  req.set_container_id(id);
  v1::StartContainerResponse resp;
  auto ctx = CallContext(client);
  grpc::Status st = client.runtime().StartContainer(ctx.get(), req, &resp);
  if (!st.ok()) return Report("StartContainer", st);
  std::printf("%s\n", id.c_str());
  return 0;
}

int RunPod(Client& client, const v1::PodSandboxConfig& config, const std::string& handler,
           nanoseconds cancel, std::string* id) {
  v1::RunPodSandboxRequest req;
  *req.mutable_config() = config;
  req.set_runtime_handler(handler);
  v1::RunPodSandboxResponse resp;
  // Sandbox creation may pull the pause image and set up the network: twice the timeout, as
  // the kubelet's CRI client allows.
  auto ctx = CallContext(client, 2, {}, cancel);
  grpc::Status st = client.runtime().RunPodSandbox(ctx.get(), req, &resp);
  if (!st.ok()) return Report("RunPodSandbox", st);
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
    grpc::Status st = ImageStatus(client, image, &status);
    if (!st.ok()) return Report("ImageStatus", st);
    if (status.has_image()) return 0;
  }
  v1::PullImageRequest req;
  req.mutable_image()->set_image(image);
  *req.mutable_image()->mutable_annotations() = annotations;
  *req.mutable_sandbox_config() = pod_config;
  if (!flags.creds.empty()) {
    auto colon = flags.creds.find(':');
    req.mutable_auth()->set_username(flags.creds.substr(0, colon));
    if (colon != std::string::npos) req.mutable_auth()->set_password(flags.creds.substr(colon + 1));
  }
  if (!flags.auth.empty()) req.mutable_auth()->set_auth(flags.auth);
  v1::PullImageResponse resp;
  grpc::ClientContext ctx;
  if (pull_timeout.count() > 0) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(pull_timeout));
  }
  grpc::Status st = client.image().PullImage(&ctx, req, &resp);
  if (!st.ok()) return Report("PullImage", st);
  return 0;
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
  auto ctx = CallContext(client, 1, {}, cancel);
  grpc::Status st = client.runtime().CreateContainer(ctx.get(), req, &resp);
  if (!st.ok()) return Report("CreateContainer", st);
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

int CmdPods(Client& client, const PodsOptions& o) {
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  auto req = BuildListPodSandboxRequest(o.list);
  if (!req.ok()) return Fail(req.status());
  v1::ListPodSandboxResponse resp;
  grpc::Status st = ListPods(client, *req, &resp);
  if (!st.ok()) return Report("ListPodSandbox", st);
  std::vector<v1::PodSandbox> pods = SelectPods(resp.items(), o.list);
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

// ---- inspectp ----

struct InspectpOptions {
  std::vector<std::string> ids;
  PodListOptions list;  // used when no IDs are given
  std::string output = "json";
  bool quiet = false;
};

int CmdInspectp(Client& client, const InspectpOptions& o) {
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  std::vector<std::string> ids = o.ids;
  if (ids.empty()) {
    auto req = BuildListPodSandboxRequest(o.list);
    if (!req.ok()) return Fail(req.status());
    v1::ListPodSandboxResponse resp;
    grpc::Status st = ListPods(client, *req, &resp);
    if (!st.ok()) return Report("ListPodSandbox", st);
    for (const auto& pod : SelectPods(resp.items(), o.list)) ids.push_back(pod.id());
  }
  if (ids.empty()) return Fail("No IDs provided or nothing found per filter");
  std::vector<nlohmann::json> entries;
  for (const auto& id : ids) {
    v1::PodSandboxStatusResponse resp;
    grpc::Status st = PodStatus(client, id, !o.quiet, &resp);
    if (!st.ok()) return Report("PodSandboxStatus", st);
    if (o.output == "table") {
      Print(FormatPodStatusTable(resp, !o.quiet, LocalZone));
    } else {
      entries.push_back(PodInspectEntry(resp, LocalZone));
    }
  }
  if (!entries.empty()) Print(InspectDocument(entries) + "\n");
  return 0;
}

// ---- stopp / rmp ----

int CmdStopp(Client& client, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (int rc = StopPod(client, id)) return rc;
  }
  return 0;
}

struct RmpOptions {
  std::vector<std::string> ids;
  bool force = false;
  bool all = false;
};

int CmdRmp(Client& client, const RmpOptions& o) {
  std::vector<std::string> ids = o.ids;
  if (o.all) {
    v1::ListPodSandboxResponse resp;
    grpc::Status st = ListPods(client, v1::ListPodSandboxRequest(), &resp);
    if (!st.ok()) return Report("ListPodSandbox", st);
    ids.clear();
    for (const auto& pod : resp.items()) ids.push_back(pod.id());
    if (ids.empty()) {
      std::fprintf(stderr, "No pods to remove\n");
      return 0;
    }
  }
  if (ids.empty()) return Fail("ID cannot be empty (give POD-ID... or --all)");
  int rc = 0;
  for (const auto& id : ids) {
    v1::PodSandboxStatusResponse status;
    grpc::Status st = PodStatus(client, id, false, &status);
    if (!st.ok()) {
      rc = Report("PodSandboxStatus", st);
      continue;
    }
    if (status.status().state() == v1::SANDBOX_READY) {
      if (!o.force) {
        rc = Fail(absl::StrCat("pod sandbox \"", id, "\" is running, please stop it first"));
        continue;
      }
      if (StopPod(client, id) != 0) {
        rc = 1;
        continue;
      }
    }
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    auto ctx = CallContext(client);
    st = client.runtime().RemovePodSandbox(ctx.get(), req, &resp);
    if (!st.ok()) {
      rc = Report("RemovePodSandbox", st);
      continue;
    }
    std::printf("Removed sandbox %s\n", id.c_str());
  }
  return rc;
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
  for (const auto& id : ids) {
    if (int rc = StartContainer(client, id)) return rc;
  }
  return 0;
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
  grpc::Status error;    // first RPC failure while filtering
};

std::function<bool(const v1::Container&)> ImagePredicate(Client& client, ImageFilter* filter) {
  if (filter->image.empty()) return nullptr;
  return [&client, filter](const v1::Container& c) {
    if (!filter->error.ok()) return false;
    v1::ImageStatusResponse resp;
    grpc::Status st = ImageStatus(client, c.image().image(), &resp);
    if (!st.ok()) {
      filter->error = st;
      return false;
    }
    return resp.has_image() && resp.image().id() == filter->image_id;
  };
}

// Lists containers with the CRI filter, the client-side filters and --image. Returns an exit
// code; an image that does not exist matches nothing, as in crictl.
int FindContainers(Client& client, const ContainerListOptions& list, const std::string& image,
                   std::vector<v1::Container>* out) {
  auto req = BuildListContainersRequest(list);
  if (!req.ok()) return Fail(req.status());
  ImageFilter filter{image, {}, grpc::Status::OK};
  if (!image.empty()) {
    v1::ImageStatusResponse resp;
    grpc::Status st = ImageStatus(client, image, &resp);
    if (!st.ok()) return Report("ImageStatus", st);
    if (!resp.has_image()) {
      out->clear();
      return 0;
    }
    filter.image_id = resp.image().id();
  }
  v1::ListContainersResponse resp;
  grpc::Status st = ListContainers(client, *req, &resp);
  if (!st.ok()) return Report("ListContainers", st);
  *out = SelectContainers(resp.containers(), list, ImagePredicate(client, &filter));
  if (!filter.error.ok()) return Report("ImageStatus", filter.error);
  return 0;
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
    for (auto& c : containers) {
      v1::ImageStatusResponse resp;
      grpc::Status st = ImageStatus(client, c.image().image(), &resp);
      if (!st.ok()) return Report("ImageStatus", st);
      if (resp.has_image() && resp.image().repo_tags_size() > 0) {
        c.mutable_image()->set_image(resp.image().repo_tags(0));
      }
    }
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
  if (auto st = CheckOutput(o.output, {"json", "table"}); !st.ok()) return Fail(st);
  std::vector<std::string> ids = o.ids;
  if (ids.empty()) {
    std::vector<v1::Container> containers;
    if (int rc = FindContainers(client, o.list, o.image, &containers)) return rc;
    for (const auto& c : containers) ids.push_back(c.id());
  }
  if (ids.empty()) return Fail("No IDs provided or nothing found per filter");
  std::vector<nlohmann::json> entries;
  for (const auto& id : ids) {
    v1::ContainerStatusResponse resp;
    grpc::Status st = ContainerStatus(client, id, !o.quiet, &resp);
    if (!st.ok()) return Report("ContainerStatus", st);
    if (o.output == "table") {
      Print(FormatContainerStatusTable(resp, !o.quiet, NowNanos()));
    } else {
      entries.push_back(ContainerInspectEntry(resp, LocalZone));
    }
  }
  if (!entries.empty()) Print(InspectDocument(entries) + "\n");
  return 0;
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
  for (const auto& id : ids) {
    if (int rc = StopContainer(client, id, o.timeout)) return rc;
  }
  return 0;
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

int CmdRm(Client& client, const RmOptions& o) {
  std::vector<std::string> ids = o.ids;
  if (o.all) {
    v1::ListContainersResponse resp;
    grpc::Status st = ListContainers(client, v1::ListContainersRequest(), &resp);
    if (!st.ok()) return Report("ListContainers", st);
    ids.clear();
    for (const auto& c : resp.containers()) ids.push_back(c.id());
    if (ids.empty()) {
      std::fprintf(stderr, "No containers to remove\n");
      return 0;
    }
  }
  if (ids.empty()) return Fail("ID cannot be empty (give CONTAINER-ID... or --all)");
  int rc = 0;
  for (const auto& id : ids) {
    v1::ContainerStatusResponse status;
    grpc::Status st = ContainerStatus(client, id, false, &status);
    if (!st.ok()) {
      rc = Report("ContainerStatus", st);
      continue;
    }
    if (status.status().state() == v1::CONTAINER_RUNNING) {
      if (!o.force) {
        rc = Fail(absl::StrCat("container \"", id, "\" is running, please stop it first"));
        continue;
      }
      if (StopContainer(client, id, 0) != 0) {
        rc = 1;
        continue;
      }
    }
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    v1::RemoveContainerResponse resp;
    auto ctx = CallContext(client);
    st = client.runtime().RemoveContainer(ctx.get(), req, &resp);
    if (!st.ok()) {
      rc = Report("RemoveContainer", st);
      continue;
    }
    std::printf("%s\n", id.c_str());
    if (!o.keep_logs) RemoveLogs(id, status.status().log_path());
  }
  return rc;
}

// ---- exec ----

struct ExecOptions {
  bool sync = false;
  int64_t timeout = 0;
  bool tty = false;
  bool interactive = false;
};

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
  v1::ExecSyncResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx;
  if (o.timeout > 0) {
    ctx = CallContext(client, 1, std::chrono::seconds(o.timeout));
  } else {
    ctx = std::make_unique<grpc::ClientContext>();  // no limit, like crictl
  }
  grpc::Status st = client.runtime().ExecSync(ctx.get(), req, &resp);
  if (!st.ok()) return Report("ExecSync", st);
  std::fwrite(resp.stdout().data(), 1, resp.stdout().size(), stdout);
  std::fflush(stdout);
  std::fwrite(resp.stderr().data(), 1, resp.stderr().size(), stderr);
  std::fflush(stderr);
  return resp.exit_code();
}

// ---- logs ----

struct LogsOptions {
  std::string id;
  bool follow = false;
  int64_t tail = -1;
  bool timestamps = false;
  std::string stream;  // "", "stdout" or "stderr"
};

class LogPrinter {
 public:
  explicit LogPrinter(const LogsOptions& o) : o_(o) {}

  void Print(const std::vector<crio::oci::LogEntry>& entries) {
    for (const auto& e : entries) {
      const bool is_stdout = e.stream == crio::oci::LogStream::kStdout;
      if (!o_.stream.empty() && o_.stream != (is_stdout ? "stdout" : "stderr")) continue;
      std::string text = FormatLogEntry(e, o_.timestamps);
      std::fwrite(text.data(), 1, text.size(), is_stdout ? stdout : stderr);
    }
    std::fflush(stdout);
    std::fflush(stderr);
  }

 private:
  const LogsOptions& o_;
};

crio::StatusOr<crio::os::UniqueFd> OpenLog(const std::string& path) {
  crio::os::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return crio::ErrnoError(errno, absl::StrCat("open log file `", path, "`"));
  return fd;
}

// Reads what `fd` has now. Returns false at end of file.
crio::StatusOr<bool> ReadSome(int fd, const std::string& path, LogStreamReader* reader,
                              std::vector<crio::oci::LogEntry>* out) {
  char buf[65536];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return crio::ErrnoError(errno, absl::StrCat("read log file `", path, "`"));
  if (n == 0) return false;
  for (auto& e : reader->Feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
    out->push_back(std::move(e));
  }
  return true;
}

// Follows the file until the container is no longer running and the file is drained. Handles
// rotation (a new inode at `path`) and truncation by reopening / rewinding.
int FollowLog(Client& client, const LogsOptions& o, const std::string& path, crio::os::UniqueFd fd,
              LogStreamReader* reader, LogPrinter* printer) {
  constexpr auto kPoll = std::chrono::milliseconds(100);
  constexpr int kPollsPerStatusCheck = 5;
  struct stat current {};
  if (fstat(fd.get(), &current) != 0) return Fail(crio::ErrnoError(errno, "stat log file"));
  int idle_polls = 0;
  bool exited = false;
  while (true) {
    std::vector<crio::oci::LogEntry> entries;
    auto more = ReadSome(fd.get(), path, reader, &entries);
    if (!more.ok()) return Fail(more.status());
    printer->Print(entries);
    if (*more) {
      idle_polls = 0;
      continue;
    }
    // End of the file we hold: was it rotated or truncated?
    struct stat now_at_path {};
    if (stat(path.c_str(), &now_at_path) == 0) {
      if (now_at_path.st_ino != current.st_ino || now_at_path.st_dev != current.st_dev) {
        auto reopened = OpenLog(path);
        if (reopened.ok()) {
          printer->Print(reader->EndOfFile());  // the old file's last line, if unterminated
          fd = *std::move(reopened);
          current = now_at_path;
          continue;
        }
      } else if (now_at_path.st_size < lseek(fd.get(), 0, SEEK_CUR)) {
        lseek(fd.get(), 0, SEEK_SET);
        continue;
      }
    }
    if (exited) {
      printer->Print(reader->Finish());
      return 0;
    }
    if (idle_polls++ % kPollsPerStatusCheck == 0) {
      v1::ContainerStatusResponse status;
      grpc::Status st = ContainerStatus(client, o.id, false, &status);
      if (!st.ok()) return Report("ContainerStatus", st);
      // Drain once more after the exit: the runtime may have written the last lines since.
      if (status.status().state() != v1::CONTAINER_RUNNING) {
        exited = true;
        continue;
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
}

int CmdLogs(Client& client, const LogsOptions& o) {
  if (!o.stream.empty() && o.stream != "stdout" && o.stream != "stderr") {
    return Fail(
        absl::StrCat("invalid stream \"", o.stream, "\", must be \"stdout\" or \"stderr\""));
  }
  if (o.tail >= 0 && !o.stream.empty()) return Fail("--tail and --stream are mutually exclusive");
  v1::ContainerStatusResponse status;
  grpc::Status st = ContainerStatus(client, o.id, false, &status);
  if (!st.ok()) return Report("ContainerStatus", st);
  const std::string& path = status.status().log_path();
  if (path.empty()) return Fail("the container has not set log path");
  auto fd = OpenLog(path);
  if (!fd.ok()) return Fail(fd.status());

  LogStreamReader reader;
  LogPrinter printer(o);
  std::vector<crio::oci::LogEntry> existing;
  while (true) {
    auto more = ReadSome(fd->get(), path, &reader, &existing);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
  }
  if (!o.follow) {
    for (auto& e : reader.Finish()) existing.push_back(std::move(e));
    printer.Print(TailEntries(std::move(existing), o.tail));
    return 0;
  }
  printer.Print(TailEntries(std::move(existing), o.tail));
  return FollowLog(client, o, path, *std::move(fd), &reader, &printer);
}

// ---- Registration helpers ----

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
  auto runp = std::make_shared<RunpOptions>();
  CLI::App* runp_cmd = app.add_subcommand("runp", "Run a new pod");
  runp_cmd->add_option("pod-config", runp->config, "pod-config.[json|yaml]")->required();
  runp_cmd->add_option("--runtime,-r", runp->runtime,
                       "Runtime handler to use. Available options are defined by the runtime.");
  runp_cmd->add_option("--cancel-timeout,-T", runp->cancel_timeout,
                       "Time to wait for the request before cancelling it, e.g. 30s "
                       "(default: twice --timeout)");
  commands.push_back({runp_cmd, [runp](Client& c) { return CmdRunp(c, *runp); }});

  auto pods = std::make_shared<PodsOptions>();
  CLI::App* pods_cmd = app.add_subcommand("pods", "List pods");
  pods_cmd->add_option("--id", pods->list.id, "Filter by pod id");
  AddPodListFlags(pods_cmd, &pods->list);
  pods_cmd->add_flag("--verbose,-v", pods->verbose, "Show verbose info for pods");
  pods_cmd->add_flag("--quiet,-q", pods->quiet, "List only pod IDs");
  pods_cmd->add_option("--output,-o", pods->output, "Output format, one of: json|table");
  pods_cmd->add_flag("--no-trunc", pods->no_trunc, "Show output without truncating the ID");
  commands.push_back({pods_cmd, [pods](Client& c) { return CmdPods(c, *pods); }});

  auto inspectp = std::make_shared<InspectpOptions>();
  CLI::App* inspectp_cmd = app.add_subcommand("inspectp", "Display the status of one or more pods");
  inspectp_cmd->add_option("pod-id", inspectp->ids, "POD-ID [POD-ID...] (default: by filters)");
  AddPodListFlags(inspectp_cmd, &inspectp->list);
  inspectp_cmd->add_option("--output,-o", inspectp->output, "Output format, one of: json|table");
  inspectp_cmd->add_flag("--quiet,-q", inspectp->quiet, "Do not show verbose information");
  commands.push_back({inspectp_cmd, [inspectp](Client& c) { return CmdInspectp(c, *inspectp); }});

  auto stopp = std::make_shared<std::vector<std::string>>();
  CLI::App* stopp_cmd = app.add_subcommand("stopp", "Stop one or more running pods");
  stopp_cmd->add_option("pod-id", *stopp, "POD-ID [POD-ID...]")->required();
  commands.push_back({stopp_cmd, [stopp](Client& c) { return CmdStopp(c, *stopp); }});

  auto rmp = std::make_shared<RmpOptions>();
  CLI::App* rmp_cmd = app.add_subcommand("rmp", "Remove one or more pods");
  rmp_cmd->add_option("pod-id", rmp->ids, "POD-ID [POD-ID...]");
  rmp_cmd->add_flag("--force,-f", rmp->force,
                    "Force removal of the pod sandbox, disregarding if running");
  rmp_cmd->add_flag("--all,-a", rmp->all, "Remove all pods");
  commands.push_back({rmp_cmd, [rmp](Client& c) { return CmdRmp(c, *rmp); }});
}

void AddContainerVerbs(CLI::App& app, Commands& commands) {
  auto create = std::make_shared<CreateOptions>();
  CLI::App* create_cmd =
      app.add_subcommand("create", "Create a new container (pulls its image first unless present)");
  create_cmd->add_option("pod-id", create->pod_id, "POD")->required();
  create_cmd
      ->add_option("container-config", create->container_config, "container-config.[json|yaml]")
      ->required();
  create_cmd->add_option("pod-config", create->pod_config, "pod-config.[json|yaml]")->required();
  AddPullFlags(create_cmd, &create->pull, "Do not pull the image on container creation");
  create_cmd->add_option("--cancel-timeout,-T", create->cancel_timeout,
                         "Time to wait for the create request before cancelling it, e.g. 30s");
  commands.push_back({create_cmd, [create](Client& c) { return CmdCreate(c, *create); }});

  auto start = std::make_shared<std::vector<std::string>>();
  CLI::App* start_cmd = app.add_subcommand("start", "Start one or more created containers");
  start_cmd->add_option("container-id", *start, "CONTAINER-ID [CONTAINER-ID...]")->required();
  commands.push_back({start_cmd, [start](Client& c) { return CmdStart(c, *start); }});

  auto run = std::make_shared<RunOptions>();
  CLI::App* run_cmd = app.add_subcommand("run", "Run a new container inside a new pod");
  run_cmd->add_option("container-config", run->container_config, "container-config.[json|yaml]")
      ->required();
  run_cmd->add_option("pod-config", run->pod_config, "pod-config.[json|yaml]")->required();
  run_cmd->add_option("--runtime,-r", run->runtime,
                      "Runtime handler to use. Available options are defined by the runtime.");
  AddPullFlags(run_cmd, &run->pull, "Do not pull the image");
  run_cmd->add_option("--cancel-timeout,-T", run->cancel_timeout,
                      "Time to wait for the container create request before cancelling it");
  commands.push_back({run_cmd, [run](Client& c) { return CmdRun(c, *run); }});

  auto ps = std::make_shared<PsOptions>();
  CLI::App* ps_cmd = app.add_subcommand("ps", "List containers");
  ps_cmd->add_option("--id", ps->list.id, "Filter by container id");
  AddContainerListFlags(ps_cmd, &ps->list, &ps->image);
  ps_cmd->add_flag("--verbose,-v", ps->verbose, "Show verbose information for containers");
  ps_cmd->add_flag("--quiet,-q", ps->quiet, "Only display container IDs");
  ps_cmd->add_option("--output,-o", ps->output, "Output format, one of: json|table");
  ps_cmd->add_flag("--no-trunc", ps->no_trunc, "Show output without truncating the ID");
  ps_cmd->add_flag("--resolve-image-path,-r", ps->resolve_image_path,
                   "Show image path instead of image id");
  commands.push_back({ps_cmd, [ps](Client& c) { return CmdPs(c, *ps); }});

  auto inspect = std::make_shared<InspectOptions>();
  CLI::App* inspect_cmd =
      app.add_subcommand("inspect", "Display the status of one or more containers");
  inspect_cmd->add_option("container-id", inspect->ids,
                          "CONTAINER-ID [CONTAINER-ID...] (default: by filters)");
  AddContainerListFlags(inspect_cmd, &inspect->list, &inspect->image);
  inspect_cmd->add_option("--output,-o", inspect->output, "Output format, one of: json|table");
  inspect_cmd->add_flag("--quiet,-q", inspect->quiet, "Do not show verbose information");
  commands.push_back({inspect_cmd, [inspect](Client& c) { return CmdInspect(c, *inspect); }});

  auto stop = std::make_shared<StopOptions>();
  CLI::App* stop_cmd = app.add_subcommand("stop", "Stop one or more running containers");
  stop_cmd->add_option("container-id", stop->ids, "CONTAINER-ID [CONTAINER-ID...]");
  stop_cmd->add_option("--timeout,-t", stop->timeout,
                       "Seconds to wait to kill the container after a graceful stop is requested "
                       "(default 0)");
  stop_cmd->add_flag("--all,-a", stop->all, "Stop all running containers");
  commands.push_back({stop_cmd, [stop](Client& c) { return CmdStop(c, *stop); }});

  auto rm = std::make_shared<RmOptions>();
  CLI::App* rm_cmd = app.add_subcommand("rm", "Remove one or more containers");
  rm_cmd->add_option("container-id", rm->ids, "CONTAINER-ID [CONTAINER-ID...]");
  rm_cmd->add_flag("--force,-f", rm->force,
                   "Force removal of the container, disregarding if running");
  rm_cmd->add_flag("--keep-logs,-k", rm->keep_logs,
                   "Preserve the container log file and its rotations");
  rm_cmd->add_flag("--all,-a", rm->all, "Remove all containers");
  commands.push_back({rm_cmd, [rm](Client& c) { return CmdRm(c, *rm); }});

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

  auto logs = std::make_shared<LogsOptions>();
  CLI::App* logs_cmd = app.add_subcommand("logs", "Fetch the logs of a container");
  logs_cmd->add_option("container-id", logs->id, "CONTAINER-ID")->required();
  logs_cmd->add_flag("--follow,-f", logs->follow, "Follow log output");
  logs_cmd->add_option("--tail", logs->tail,
                       "Number of lines to show from the end of the logs (default: all)");
  logs_cmd->add_flag("--timestamps,-t", logs->timestamps, "Show timestamps");
  logs_cmd->add_option("--stream,-s", logs->stream,
                       "Show specified stream (stdout or stderr). Defaults to both.");
  commands.push_back({logs_cmd, [logs](Client& c) { return CmdLogs(c, *logs); }});
}

}  // namespace

void AddPodCommands(CLI::App& app, Commands& commands) {
  AddPodVerbs(app, commands);
  AddContainerVerbs(app, commands);
}

}  // namespace crioctl
