#include "registry_fixture.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <system_error>
#include <thread>

#include "os/unique_fd.h"

#ifndef CRIO_FIXTURES_DIR
#error "CRIO_FIXTURES_DIR must name tests/fixtures (target_compile_definitions on the test target)"
#endif

extern char** environ;

namespace crio::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kFixturesDir = CRIO_FIXTURES_DIR;
constexpr auto kStartTimeout = 30s;
constexpr auto kStopGrace = 5s;
constexpr auto kPushTimeout = 300s;
constexpr auto kPollInterval = 20ms;
constexpr int kStartAttempts = 3;
// Debian's docker-registry service listens there; tests never touch it.
constexpr int kSystemRegistryPort = 5000;

std::string FixturePath(std::string_view name) {
  return std::string(kFixturesDir) + "/" + std::string(name);
}

std::optional<std::string> FindInPath(const std::string& name) {
  const char* path = getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError(errno, "open `" + path + "`");
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return ErrnoError(errno, "create `" + path + "`");
  out << content;
  out.close();
  if (!out) return Internal("write `" + path + "` failed");
  return absl::OkStatus();
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// The last bytes of a log file, for error messages.
std::string LogTail(const std::string& path, size_t max_bytes = 3000) {
  StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return "(no log: " + Message(content.status()) + ")";
  if (content->size() <= max_bytes) return *content;
  return "..." + content->substr(content->size() - max_bytes);
}

// Binds 127.0.0.1:0 to let the kernel pick a free port, then releases it. Another process may
// grab it before the registry binds; Start() retries on "address already in use".
StatusOr<int> PickFreePort() {
  for (;;) {
    os::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoError(errno, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return ErrnoError(errno, "bind 127.0.0.1:0");
    }
    socklen_t len = sizeof(addr);
    if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return ErrnoError(errno, "getsockname");
    }
    int port = ntohs(addr.sin_port);
    if (port != kSystemRegistryPort) return port;
  }
}

// Where a child's stdin/stdout/stderr go. stderr_path empty: same file as stdout.
struct ChildIo {
  std::string stdout_path;
  std::string stderr_path;
};

// The environment minus REGISTRY_* variables, which docker-registry reads as config overrides.
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env;
  for (char** var = environ; var != nullptr && *var != nullptr; ++var) {
    if (std::string_view(*var).substr(0, 9) == "REGISTRY_") continue;
    env.emplace_back(*var);
  }
  return env;
}

// posix_spawn with default signal dispositions, an empty signal mask, stdin from /dev/null,
// stdout/stderr to files and no other inherited fds.
StatusOr<pid_t> SpawnChild(const std::vector<std::string>& argv, const ChildIo& io) {
  posix_spawn_file_actions_t actions;
  if (int err = posix_spawn_file_actions_init(&actions); err != 0) {
    return ErrnoError(err, "posix_spawn_file_actions_init");
  }
  posix_spawnattr_t attr;
  if (int err = posix_spawnattr_init(&attr); err != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return ErrnoError(err, "posix_spawnattr_init");
  }
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  constexpr int kOutFlags = O_WRONLY | O_CREAT | O_TRUNC;
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, io.stdout_path.c_str(), kOutFlags,
                                   0644);
  if (io.stderr_path.empty()) {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, io.stderr_path.c_str(), kOutFlags,
                                     0644);
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment();
  std::vector<char*> env;
  for (std::string& var : env_strings) env.push_back(var.data());
  env.push_back(nullptr);

  pid_t pid = -1;
  int err = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ErrnoError(err, "posix_spawn `" + argv[0] + "`");
  return pid;
}

constexpr int kNotWaitable = -1;

// Reaps pid if it exits before the deadline. Returns its wait status (kNotWaitable if waitpid
// fails, e.g. someone else reaped it), or nullopt on timeout.
std::optional<int> WaitUntil(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return status;
    if (got < 0 && errno != EINTR) return kNotWaitable;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string DescribeWaitStatus(int status) {
  if (status == kNotWaitable) return "waitpid failed";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t ParseHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();  // a new response (e.g. after 100-continue): keep only the final one
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  (*headers)[name] = std::string(value);
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

bool RegistryFixture::Available() { return FindInPath("docker-registry").has_value(); }

StatusOr<std::unique_ptr<RegistryFixture>> RegistryFixture::Start(bool with_auth) {
  if (!Available()) return FailedPrecondition("docker-registry is not installed (Debian package)");
  for (const char* name : {"registry_config.yml.in", "registry_auth.yml.in", "htpasswd"}) {
    if (access(FixturePath(name).c_str(), R_OK) != 0) {
      return FailedPrecondition("fixture file `" + FixturePath(name) + "` is missing");
    }
  }
  std::string pattern = "/tmp/crio-registry-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoError(errno, "mkdtemp `" + pattern + "`");
  // From here on the destructor stops the registry and removes the temp dir on every error path.
  std::unique_ptr<RegistryFixture> fixture(new RegistryFixture(pattern, with_auth));
  if (mkdir(fixture->storage_dir().c_str(), 0700) != 0) {
    return ErrnoError(errno, "mkdir `" + fixture->storage_dir() + "`");
  }
  Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    ASSIGN_OR_RETURN(fixture->port_, PickFreePort());
    RETURN_IF_ERROR(fixture->WriteConfig());
    RETURN_IF_ERROR(fixture->Spawn());
    last = fixture->WaitUntilServing(kStartTimeout);
    if (last.ok()) return fixture;
    fixture->Stop();
    // Only a lost race for the port is worth another try.
    if (Message(last).find("address already in use") == std::string::npos) break;
  }
  return last;
}

RegistryFixture::~RegistryFixture() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove_all(temp_dir_, ignored);
}

std::string RegistryFixture::host() const { return "127.0.0.1:" + std::to_string(port_); }

Status RegistryFixture::WriteConfig() {
  ASSIGN_OR_RETURN(std::string config, ReadFile(FixturePath("registry_config.yml.in")));
  std::string auth;
  if (with_auth_) {
    ASSIGN_OR_RETURN(std::string htpasswd, ReadFile(FixturePath("htpasswd")));
    std::string htpasswd_path = temp_dir_ + "/htpasswd";
    RETURN_IF_ERROR(WriteFile(htpasswd_path, htpasswd));
    ASSIGN_OR_RETURN(auth, ReadFile(FixturePath("registry_auth.yml.in")));
    auth = ReplaceAll(auth, "@HTPASSWD@", htpasswd_path);
  }
  config = ReplaceAll(config, "@ADDR@", host());
  config = ReplaceAll(config, "@ROOTDIR@", storage_dir());
  config = ReplaceAll(config, "@AUTH@", auth);
  return WriteFile(temp_dir_ + "/config.yml", config);
}

Status RegistryFixture::Spawn() {
  std::optional<std::string> registry = FindInPath("docker-registry");
  if (!registry) return FailedPrecondition("docker-registry is not installed");
  std::vector<std::string> argv;
  // setpriv (util-linux) execs the registry in place with PDEATHSIG=KILL, so a test binary that
  // crashes or is killed does not leave a registry behind. The PID stays the registry's.
  if (std::optional<std::string> setpriv = FindInPath("setpriv")) {
    argv = {*setpriv, "--pdeathsig", "KILL", "--"};
  }
  argv.insert(argv.end(), {*registry, "serve", temp_dir_ + "/config.yml"});
  ASSIGN_OR_RETURN(pid_, SpawnChild(argv, {.stdout_path = log_path(), .stderr_path = ""}));
  return absl::OkStatus();
}

Status RegistryFixture::WaitUntilServing(Clock::duration timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const std::string url = base_url() + "/v2/";
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable("docker-registry on " + host() + " exited (" + DescribeWaitStatus(status) +
                         "): " + LogTail(log_path()));
    }
    HttpRequestOptions probe;
    probe.timeout = 1000ms;
    StatusOr<HttpResponse> response = HttpGet(url, probe);
    // 401 is the answer of a registry with auth: it is serving.
    if (response.ok() && (response->status == 200 || response->status == 401)) {
      return absl::OkStatus();
    }
    if (Clock::now() >= deadline) {
      return Unavailable("docker-registry on " + host() +
                         " did not answer GET /v2/ in time: " + LogTail(log_path()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void RegistryFixture::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!WaitUntil(pid_, Clock::now() + kStopGrace).has_value()) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

Status RegistryFixture::PushTestImages() {
  if (pushed_) return absl::OkStatus();
  std::string python = "/usr/bin/python3";  // Debian's: the script needs nothing else
  if (access(python.c_str(), X_OK) != 0) {
    std::optional<std::string> found = FindInPath("python3");
    if (!found) return FailedPrecondition("python3 is not installed");
    python = *found;
  }
  std::string script = FixturePath("make_test_images.py");
  if (access(script.c_str(), R_OK) != 0) {
    return FailedPrecondition("`" + script + "` is missing");
  }
  std::vector<std::string> argv = {python, script, "--registry", host()};
  argv.insert(argv.end(), {"--registry-storage", storage_dir()});
  if (with_auth_) {
    argv.insert(argv.end(), {"--user", std::string(kUser) + ":" + kPassword});
  }
  const std::string json_path = temp_dir_ + "/images.json";
  const std::string log = temp_dir_ + "/push.log";
  ASSIGN_OR_RETURN(pid_t pid, SpawnChild(argv, {.stdout_path = json_path, .stderr_path = log}));
  std::optional<int> status = WaitUntil(pid, Clock::now() + kPushTimeout);
  if (!status.has_value()) {
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return DeadlineExceeded("make_test_images.py did not finish in time: " + LogTail(log));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return Internal("make_test_images.py failed (" + DescribeWaitStatus(*status) +
                    "): " + LogTail(log));
  }
  ASSIGN_OR_RETURN(std::string output, ReadFile(json_path));
  nlohmann::json parsed = nlohmann::json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Internal("make_test_images.py printed invalid JSON (see `" + json_path + "`)");
  }
  images_ = std::move(parsed);
  pushed_ = true;
  return absl::OkStatus();
}

StatusOr<HttpResponse> HttpGet(const std::string& url, const HttpRequestOptions& options) {
  EnsureCurlInitialized();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Internal("curl_easy_init failed");
  curl_slist* raw_headers = nullptr;
  for (const std::string& header : options.headers) {
    raw_headers = curl_slist_append(raw_headers, header.c_str());
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  HttpResponse response;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ParseHeaderLine);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (options.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (options.user) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(c, CURLOPT_USERPWD, options.user->c_str());
  }
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    return Unavailable(options.method + " " + url + ": " + curl_easy_strerror(code));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string ManifestAcceptHeader() {
  return "Accept: application/vnd.oci.image.manifest.v1+json, "
         "application/vnd.oci.image.index.v1+json, "
         "application/vnd.docker.distribution.manifest.v2+json, "
         "application/vnd.docker.distribution.manifest.list.v2+json, "
         "application/vnd.docker.distribution.manifest.v1+prettyjws";
}

}  // namespace crio::testing
