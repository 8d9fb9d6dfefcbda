#include "streaming/client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "os/socket.h"

namespace crio::streaming {

namespace {

using nlohmann::json;

struct ParsedUrl {
  std::string host;
  int port = 80;
  std::string path;
};

StatusOr<ParsedUrl> ParseHttpUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return InvalidArgument(absl::StrCat("streaming URL \"", url, "\": only http:// is supported"));
  }
  std::string rest = url.substr(kScheme.size());
  std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  ParsedUrl out;
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &out.port)) {
      return InvalidArgument(absl::StrCat("streaming URL \"", url, "\": bad port"));
    }
    authority.resize(colon);
  }
  if (authority.size() > 1 && authority.front() == '[') {
    authority = authority.substr(1, authority.size() - 2);
  }
  out.host = authority;
  return out;
}

// Reads the HTTP response head (up to the blank line) and returns it; what follows it is
// left in `rest`.
StatusOr<std::string> ReadResponseHead(int fd, std::string& rest) {
  std::string data;
  std::array<char, 4096> buf;
  while (data.size() < 64 * 1024) {
    if (auto end = data.find("\r\n\r\n"); end != std::string::npos) {
      rest = data.substr(end + 4);
      return data.substr(0, end + 2);
    }
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable("the streaming server closed the connection");
    data.append(buf.data(), static_cast<std::size_t>(n));
  }
  return Internal("streaming server: response head too long");
}

// The value of header `name` (lowercase) in a response head; empty when absent.
std::string HeaderValue(const std::string& head, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    std::size_t colon = head.find(':', pos);
    std::size_t eol = head.find("\r\n", pos);
    if (colon == std::string::npos || colon > eol) continue;
    std::string key = absl::AsciiStrToLower(head.substr(pos, colon - pos));
    if (key == name) {
      std::string value = head.substr(colon + 1, eol - colon - 1);
      absl::StripAsciiWhitespace(&value);
      return value;
    }
  }
  return "";
}

// Copies `fd` into `stream` until EOF (then half-closes the stream) or an error.
void CopyFdToStream(int fd, spdy::Stream& stream) {
  std::array<char, 64 * 1024> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!stream.Write(std::string_view(buf.data(), static_cast<std::size_t>(n))).ok()) return;
  }
  (void)stream.CloseWrite();
}

// Copies `stream` into `fd` until the stream ends.
void CopyStreamToFd(spdy::Stream& stream, int fd) {
  std::array<char, 64 * 1024> buf;
  for (;;) {
    auto n = stream.Read(buf.data(), buf.size());
    if (!n.ok() || *n == 0) return;
    if (fd >= 0 && !os::WriteAll(fd, std::string_view(buf.data(), *n)).ok()) return;
  }
}

std::string ReadAll(spdy::Stream& stream) {
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    auto n = stream.Read(buf.data(), buf.size());
    if (!n.ok() || *n == 0) return out;
    out.append(buf.data(), *n);
  }
}

// What the error stream said, as the client library reads it.
StatusOr<int> InterpretErrorStream(const std::string& text, const std::string& protocol) {
  if (text.empty()) return 0;
  if (protocol != "v4.channel.k8s.io") return Internal(text);
  json status = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) return Internal(absl::StrCat("bad status from server: ", text));
  if (status.value("status", "") == "Success") return 0;
  if (status.value("reason", "") == "NonZeroExitCode") {
    for (const auto& cause : status["details"].value("causes", json::array())) {
      int code = 0;
      if (cause.value("reason", "") == "ExitCode" &&
          absl::SimpleAtoi(cause.value("message", ""), &code)) {
        return code;
      }
    }
  }
  return Internal(status.value("message", text));
}

}  // namespace

StatusOr<SpdyDial> DialSpdy(const std::string& url, const std::vector<std::string>& protocols,
                            std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(ParsedUrl parsed, ParseHttpUrl(url));
  ASSIGN_OR_RETURN(os::UniqueFd fd, os::ConnectTcp(parsed.host, parsed.port));
  int one = 1;  // small frames go out at once (see http::Server)
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string request =
      absl::StrCat("POST ", parsed.path, " HTTP/1.1\r\nHost: ", parsed.host, ":", parsed.port,
                   "\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n");
  for (const std::string& p : protocols) {
    absl::StrAppend(&request, "X-Stream-Protocol-Version: ", p, "\r\n");
  }
  absl::StrAppend(&request, "Content-Length: 0\r\n\r\n");
  RETURN_IF_ERROR(os::WriteAll(fd.get(), request));
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string rest;
  ASSIGN_OR_RETURN(std::string head, ReadResponseHead(fd.get(), rest));
  timeval none{};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  SpdyDial out;
  out.protocol = HeaderValue(head, "x-stream-protocol-version");
  if (head.rfind("HTTP/1.1 101", 0) != 0 || out.protocol.empty()) {
    std::string status_line = head.substr(0, head.find("\r\n"));
    return FailedPrecondition(
        absl::StrCat("unable to upgrade connection: ", status_line, ": ", rest));
  }
  out.conn = std::make_unique<spdy::Connection>(std::make_unique<spdy::FdTransport>(std::move(fd)),
                                                spdy::Connection::Role::kClient, std::move(rest));
  out.conn->Start();
  return out;
}

StatusOr<int> RunRemoteCommandClient(const std::string& url,
                                     const RemoteCommandClientOptions& options) {
  ASSIGN_OR_RETURN(SpdyDial dial, DialSpdy(url, options.protocols));
  spdy::Connection& conn = *dial.conn;
  auto open = [&](const char* type) {
    return conn.OpenStream({{"streamtype", type}}, std::chrono::seconds(30));
  };
  // The order crictl uses: error, stdin, stdout, stderr, resize.
  ASSIGN_OR_RETURN(auto error, open("error"));
  std::shared_ptr<spdy::Stream> in, out, err, resize;
  if (options.stdin) {
    ASSIGN_OR_RETURN(in, open("stdin"));
  }
  if (options.stdout) {
    ASSIGN_OR_RETURN(out, open("stdout"));
  }
  if (options.stderr && !options.tty) {
    ASSIGN_OR_RETURN(err, open("stderr"));
  }
  if (options.tty && dial.protocol != "channel.k8s.io" && dial.protocol != "v2.channel.k8s.io") {
    ASSIGN_OR_RETURN(resize, open("resize"));
  }
  std::vector<std::thread> threads;
  if (in) {
    // Not joined: a terminal's stdin blocks until the user types. Detached with its stream.
    std::thread([in, fd = options.stdin_fd] { CopyFdToStream(fd, *in); }).detach();
    // As Go clients do: the server ending its side of stdin ends ours (how a server stops an
    // interactive session).
    std::thread([in] {
      std::array<char, 512> sink;
      for (;;) {
        auto n = in->Read(sink.data(), sink.size());
        if (!n.ok() || *n == 0) break;
      }
      (void)in->CloseWrite();
    }).detach();
  }
  if (resize && options.next_resize) {
    std::thread([resize, next = options.next_resize] {
      while (auto size = next()) {
        std::string line = json{{"Width", size->width}, {"Height", size->height}}.dump() + "\n";
        if (!resize->Write(line).ok()) return;
      }
    }).detach();
  }
  if (out) threads.emplace_back([&] { CopyStreamToFd(*out, options.stdout_fd); });
  if (err) threads.emplace_back([&] { CopyStreamToFd(*err, options.stderr_fd); });
  for (auto& t : threads) t.join();
  std::string report = ReadAll(*error);
  conn.Close();
  return InterpretErrorStream(report, dial.protocol);
}

Status ForwardOneConnection(spdy::Connection& conn, int port, int request_id, int local_fd) {
  spdy::Headers headers = {{"streamtype", "error"},
                           {"port", std::to_string(port)},
                           {"requestid", std::to_string(request_id)}};
  ASSIGN_OR_RETURN(auto error, conn.OpenStream(headers, std::chrono::seconds(30)));
  (void)error->CloseWrite();
  headers[0].second = "data";
  ASSIGN_OR_RETURN(auto data, conn.OpenStream(headers, std::chrono::seconds(30)));
  std::thread up([&] { CopyFdToStream(local_fd, *data); });
  CopyStreamToFd(*data, local_fd);
  ::shutdown(local_fd, SHUT_WR);
  // The server is done with this connection; the local side may still be sending.
  ::shutdown(local_fd, SHUT_RD);
  up.join();
  std::string message = ReadAll(*error);
  if (!message.empty()) return Unavailable(message);
  return absl::OkStatus();
}

}  // namespace crio::streaming
