#pragma once
// The one path every crioctl verb takes to the runtime: call a unary CRI method under the
// verb's deadline; on failure print crictl's error line and exit 1, else print the response.
// And the verb table's plumbing: a subcommand with its options in one call.
// Include it before system headers: it pulls in api.pb.h, whose Signal enum values (SIGABRT...)
// collide with <signal.h>'s macros.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "client.h"
#include "util/status.h"

namespace crioctl {

using RuntimeStub = v1::RuntimeService::Stub;
using ImageStub = v1::ImageService::Stub;

// A unary CRI method and the name error lines give it: Rpc{"Version", &RuntimeStub::Version}.
template <typename Stub, typename Request, typename Response>
struct Rpc {
  const char* name;
  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*);
};

// Prints "crioctl: <rpc>: rpc error: code = <n> desc = <message>" and returns exit code 1.
int Report(const char* rpc, const grpc::Status& status);
// Prints "crioctl: <message>" and returns exit code 1.
int Fail(const std::string& message);
int Fail(const crio::Status& status);

// A context whose deadline is `timeout` from now; none when `timeout` is 0 (pulls and ExecSync
// take as long as they take unless asked otherwise, as in crictl).
std::unique_ptr<grpc::ClientContext> ContextWithTimeout(std::chrono::nanoseconds timeout);

// The global --timeout deadline, multiplied by `factor` and extended by `extra` (the CRI client
// gives RunPodSandbox twice the timeout, and StopContainer / ExecSync their own timeout on top).
// A verb's --cancel-timeout (`cancel` > 0) replaces it.
std::unique_ptr<grpc::ClientContext> CallContext(Client& client, int factor = 1,
                                                 std::chrono::seconds extra = {},
                                                 std::chrono::nanoseconds cancel = {});

// The client's stub for `Stub`'s service (the image service may have its own endpoint).
template <typename Stub>
Stub& StubOf(Client& client) {
  if constexpr (std::is_same_v<Stub, ImageStub>) {
    return client.image();
  } else {
    return client.runtime();
  }
}

// Calls `rpc` under `ctx` (default: the --timeout deadline) and fills `*response`. Returns 0,
// or 1 after printing the failure.
template <typename Stub, typename Request, typename Response>
int Call(Client& client, Rpc<Stub, Request, Response> rpc,
         const std::type_identity_t<Request>& request, std::type_identity_t<Response>* response,
         std::unique_ptr<grpc::ClientContext> ctx = nullptr) {
  if (ctx == nullptr) ctx = client.Context();
  grpc::Status status = (StubOf<Stub>(client).*rpc.method)(ctx.get(), request, response);
  return status.ok() ? 0 : Report(rpc.name, status);
}

// Call, then `print(response)`. The exit code is print's when it returns one, else 0.
template <typename Stub, typename Request, typename Response, typename Printer>
int CallAndPrint(Client& client, Rpc<Stub, Request, Response> rpc,
                 const std::type_identity_t<Request>& request, Printer&& print,
                 std::unique_ptr<grpc::ClientContext> ctx = nullptr) {
  Response response;
  if (int rc = Call(client, rpc, request, &response, std::move(ctx))) return rc;
  if constexpr (std::is_void_v<std::invoke_result_t<Printer, const Response&>>) {
    print(std::as_const(response));
    return 0;
  } else {
    return print(std::as_const(response));
  }
}

// How a verb given several arguments goes on after one fails: crictl's stopp, start and stop
// stop there; rmp, rm, rmi and inspecti try the rest and fail at the end.
enum class OnError { kStop, kKeepGoing };

// Runs `verb` on each argument; the exit code is the first failure's (kStop) or the last
// failure's (kKeepGoing), else 0.
int ForEach(const std::vector<std::string>& args, OnError on_error,
            const std::function<int(const std::string&)>& verb);

// Writes `text` to stdout as is.
void Print(const std::string& text);

// --creds USERNAME[:PASSWORD] and --auth AUTH_STRING (when given) into a pull request.
void SetAuth(const std::string& creds, const std::string& auth, v1::PullImageRequest* req);

// Protobuf message as compact JSON (camelCase names, like crictl).
std::string ToJson(const google::protobuf::Message& msg);

// A verbose response's info map into `out`: values that parse as JSON inlined as JSON, others
// as strings (`crictl info`, `inspecti`).
void AddInfoValues(const google::protobuf::Map<std::string, std::string>& info,
                   nlohmann::json* out);

// A verb's subcommand and its options, which live as long as the command table.
template <typename Options>
struct Verb {
  CLI::App* cmd;
  Options& options;
};

// Adds subcommand `name`; when it is given, `run(client, options)` gives the exit code.
template <typename Options>
Verb<Options> AddVerb(CLI::App& app, Commands& commands, const std::string& name,
                      const std::string& help, int (*run)(Client&, const Options&)) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(name, help);
  commands.push_back({cmd, [options, run](Client& client) { return run(client, *options); }});
  return {cmd, *options};
}

}  // namespace crioctl
