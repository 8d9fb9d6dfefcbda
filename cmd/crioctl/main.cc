// crioctl: a small CRI client for people and tests, with crictl's verbs and flags.

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "call.h"
#include "runtime_commands.h"
#include "stream_commands.h"

namespace crioctl {

namespace {

std::string Channel(std::string endpoint) {
  // crictl takes unix:///path; gRPC wants unix:/path or unix:///path (both accepted).
  if (endpoint.rfind("unix://", 0) != 0 && endpoint.rfind("/", 0) == 0)
    endpoint = "unix://" + endpoint;
  return endpoint;
}

void PrintVersion(const v1::VersionResponse& resp) {
  std::printf("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n",
              resp.version().c_str(), resp.runtime_name().c_str(), resp.runtime_version().c_str(),
              resp.runtime_api_version().c_str());
}

// Like `crictl info`: the status as JSON, with the verbose info values inlined as JSON.
void PrintInfo(const v1::StatusResponse& resp) {
  nlohmann::json out = {{"status", nlohmann::json::parse(ToJson(resp.status()))}};
  nlohmann::json handlers = nlohmann::json::array();
  for (const auto& h : resp.runtime_handlers())
    handlers.push_back(nlohmann::json::parse(ToJson(h)));
  out["runtimeHandlers"] = handlers;
  AddInfoValues(resp.info(), &out);
  std::cout << out.dump(2) << "\n";
}

int CmdVersion(Client& client) {
  return CallAndPrint(client, Rpc{"Version", &RuntimeStub::Version}, {}, PrintVersion);
}

int CmdInfo(Client& client) {
  v1::StatusRequest req;
  req.set_verbose(true);
  return CallAndPrint(client, Rpc{"Status", &RuntimeStub::Status}, req, PrintInfo);
}

}  // namespace

void AddRuntimeCommands(CLI::App& app, Commands& commands) {
  commands.push_back({app.add_subcommand("version", "Show the runtime version"), CmdVersion});
  commands.push_back(
      {app.add_subcommand("info", "Show the runtime status and configuration"), CmdInfo});
}

Client::Client(const GlobalOptions& opts) : opts_(opts) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  auto runtime_channel = grpc::CreateCustomChannel(Channel(opts.runtime_endpoint),
                                                   grpc::InsecureChannelCredentials(), args);
  auto image_channel = opts.image_endpoint.empty()
                           ? runtime_channel
                           : grpc::CreateCustomChannel(Channel(opts.image_endpoint),
                                                       grpc::InsecureChannelCredentials(), args);
  runtime_ = v1::RuntimeService::NewStub(runtime_channel);
  image_ = v1::ImageService::NewStub(image_channel);
}

std::unique_ptr<grpc::ClientContext> Client::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (opts_.timeout_seconds > 0) {
    ctx->set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(opts_.timeout_seconds * 1000)));
  }
  return ctx;
}

}  // namespace crioctl

int main(int argc, char** argv) {
  using namespace crioctl;
  CLI::App app{"crioctl: a CRI client for crio-cpp (crictl-compatible verbs)", "crioctl"};
  GlobalOptions opts;
  app.add_option("--runtime-endpoint,-r", opts.runtime_endpoint, "CRI runtime endpoint")
      ->envname("CONTAINER_RUNTIME_ENDPOINT");
  app.add_option("--image-endpoint,-i", opts.image_endpoint, "CRI image endpoint")
      ->envname("IMAGE_SERVICE_ENDPOINT");
  app.add_option("--timeout,-t", opts.timeout_seconds, "Per-call timeout in seconds (0: none)");
  app.add_flag("--debug,-D", opts.debug, "Debug output");
  app.require_subcommand(1);

  Commands commands;
  AddRuntimeCommands(app, commands);
  AddImageCommands(app, commands);
  AddPodCommands(app, commands);
  AddStreamCommands(app, commands);

  CLI11_PARSE(app, argc, argv);
  Client client(opts);
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run(client);
  }
  return 1;
}
