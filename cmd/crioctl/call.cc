#include "call.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

namespace crioctl {

int Report(const char* rpc, const grpc::Status& status) {
  std::fprintf(stderr, "crioctl: %s: rpc error: code = %d desc = %s\n", rpc,
               static_cast<int>(status.error_code()), status.error_message().c_str());
  return 1;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "crioctl: %s\n", message.c_str());
  return 1;
}

int Fail(const crio::Status& status) { return Fail(crio::Message(status)); }

std::unique_ptr<grpc::ClientContext> ContextWithTimeout(std::chrono::nanoseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (timeout.count() > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
  }
  return ctx;
}

std::unique_ptr<grpc::ClientContext> CallContext(Client& client, int factor,
                                                 std::chrono::seconds extra,
                                                 std::chrono::nanoseconds cancel) {
  if (cancel.count() > 0) return ContextWithTimeout(cancel);
  auto ctx = client.Context();
  const auto now = std::chrono::system_clock::now();
  const auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return ctx;  // --timeout 0
  ctx->set_deadline(now + (deadline - now) * factor + extra);
  return ctx;
}

int ForEach(const std::vector<std::string>& args, OnError on_error,
            const std::function<int(const std::string&)>& verb) {
  int rc = 0;
  for (const auto& arg : args) {
    if (int failed = verb(arg)) {
      if (on_error == OnError::kStop) return failed;
      rc = failed;
    }
  }
  return rc;
}

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void SetAuth(const std::string& creds, const std::string& auth, v1::PullImageRequest* req) {
  if (!creds.empty()) {
    auto colon = creds.find(':');
    req->mutable_auth()->set_username(creds.substr(0, colon));
    if (colon != std::string::npos) req->mutable_auth()->set_password(creds.substr(colon + 1));
  }
  if (!auth.empty()) req->mutable_auth()->set_auth(auth);
}

std::string ToJson(const google::protobuf::Message& msg) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = false;
  opts.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(msg, &out, opts);
  return out;
}

void AddInfoValues(const google::protobuf::Map<std::string, std::string>& info,
                   nlohmann::json* out) {
  for (const auto& [key, value] : info) {
    auto parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    (*out)[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
}

}  // namespace crioctl
