#include "http/client.h"

#include <curl/curl.h>

#include <memory>

namespace crio::http {
namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

StatusOr<Reply> GetOverUnixSocket(const std::string& socket, const std::string& target,
                                  std::chrono::milliseconds timeout) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Internal("curl_easy_init failed");
  Reply reply;
  const std::string url = "http://localhost" + target;
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return DeadlineExceeded(absl::StrCat("GET ", target, " on ", socket, ": no answer within ",
                                         timeout.count(), " ms"));
  }
  if (rc != CURLE_OK) {
    return Unavailable(absl::StrCat("GET ", target, " on ", socket, ": ", curl_easy_strerror(rc),
                                    " (is crio running?)"));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.code);
  return reply;
}

}  // namespace crio::http
