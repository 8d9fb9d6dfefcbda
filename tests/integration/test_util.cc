#include "test_util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace crio::testing {
namespace {

namespace fs = std::filesystem;
constexpr char kCgroupRoot[] = "/sys/fs/cgroup";

class SharedRegistryEnvironment : public ::testing::Environment {
 public:
  static StatusOr<RegistryFixture*> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      started_ = true;
      auto fixture = RegistryFixture::Start();
      if (!fixture.ok()) {
        status_ = fixture.status();
      } else {
        status_ = (*fixture)->PushTestImages();
        fixture_ = *std::move(fixture);
      }
    }
    if (!status_.ok()) return status_;
    return fixture_.get();
  }
  void TearDown() override {
    std::lock_guard<std::mutex> lock(mu_);
    fixture_.reset();
    started_ = false;
    status_ = absl::OkStatus();
  }

 private:
  static inline std::mutex mu_;
  static inline bool started_ = false;
  static inline Status status_;
  static inline std::unique_ptr<RegistryFixture> fixture_;
};

[[maybe_unused]] ::testing::Environment* const kSharedRegistry =
    ::testing::AddGlobalTestEnvironment(new SharedRegistryEnvironment);

}  // namespace

StatusOr<RegistryFixture*> SharedTestRegistry() { return SharedRegistryEnvironment::Get(); }

std::string PathOf(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  }
  return "";
}

bool OnPath(const std::string& name) { return !PathOf(name).empty(); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string RandomHex(size_t n) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kDigits[rng() % 16];
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

std::vector<std::string> CgroupHierarchies() {
  if (fs::exists(std::string(kCgroupRoot) + "/cgroup.controllers")) return {kCgroupRoot};
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kCgroupRoot, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) out.push_back(e.path().string());
  }
  return out;
}

std::vector<std::string> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      out.push_back(fs::relative(it->path(), dir).string());
    }
  }
  return out;
}

void RemoveCgroupTree(const std::string& dir) {
  std::vector<std::string> subs = SubDirs(dir);
  std::sort(subs.begin(), subs.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& s : subs) ::rmdir((dir + "/" + s).c_str());
  ::rmdir(dir.c_str());
}

bool CrunNeedsHybridWorkaround() {
  if (fs::exists(std::string(kCgroupRoot) + "/cgroup.controllers")) return false;
  std::ifstream controllers(std::string(kCgroupRoot) + "/unified/cgroup.controllers");
  std::string first;
  return static_cast<bool>(controllers >> first);
}

// GET `path` over the unix socket `socket` with libcurl; returns the body ("" on failure).
std::string HttpGetUnix(const std::string& socket, const std::string& path, long* code) {
  std::string body;
  CURL* curl = curl_easy_init();
  if (!curl) return body;
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, ("http://localhost" + path).c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  if (curl_easy_perform(curl) == CURLE_OK && code) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
  }
  curl_easy_cleanup(curl);
  return body;
}

// A TCP port on 127.0.0.1 that nothing listens on right now (the config refuses port 0).
int FreeLocalPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Prometheus text format: "name{labels} value" per sample line -> value, keyed by everything
// before the value.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

}  // namespace crio::testing
