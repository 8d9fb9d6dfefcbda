#pragma once
// Connection to a CRI endpoint, shared by every crioctl verb.

#include <chrono>
#include <memory>
#include <string>

#include <functional>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include "api.grpc.pb.h"

namespace crioctl {

namespace v1 = ::runtime::v1;

struct GlobalOptions {
  std::string runtime_endpoint = "unix:///var/run/crio/crio.sock";
  std::string image_endpoint;  // empty: same as runtime_endpoint
  double timeout_seconds = 2;
  bool debug = false;
};

class Client {
 public:
  explicit Client(const GlobalOptions& opts);

  v1::RuntimeService::Stub& runtime() { return *runtime_; }
  v1::ImageService::Stub& image() { return *image_; }
  // A fresh context with the configured deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;

 private:
  GlobalOptions opts_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> image_;
};

// A verb: its CLI11 subcommand and what runs when it was given.
struct Command {
  CLI::App* app;
  std::function<int(Client&)> run;
};
using Commands = std::vector<Command>;

void AddRuntimeCommands(CLI::App& app, Commands& commands);
void AddImageCommands(CLI::App& app, Commands& commands);

}  // namespace crioctl
