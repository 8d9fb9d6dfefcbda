#include "network/cni_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::network {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kKind = "cniCacheV1";

json ToJson(const CacheEntry& e) {
  return {{"kind", kKind},
          {"networkName", e.network_name},
          {"containerId", e.container_id},
          {"ifName", e.ifname},
          {"netns", e.netns},
          {"cniArgs", e.cni_args},
          {"config", e.config},
          {"capabilityArgs", e.capability_args},
          {"result", e.result}};
}

StatusOr<CacheEntry> FromJson(const json& doc) {
  if (!doc.is_object() || doc.value("kind", "") != kKind) {
    return InvalidArgument("not a cniCacheV1 entry");
  }
  CacheEntry e;
  e.network_name = doc.value("networkName", "");
  e.container_id = doc.value("containerId", "");
  e.ifname = doc.value("ifName", "");
  e.netns = doc.value("netns", "");
  e.cni_args = doc.value("cniArgs", "");
  e.config = doc.value("config", json());
  e.capability_args = doc.value("capabilityArgs", json::object());
  e.result = doc.value("result", json());
  if (e.network_name.empty() || e.container_id.empty() || !e.config.is_object()) {
    return InvalidArgument("cache entry lacks network, container id or config");
  }
  return e;
}

Status WriteAtomic(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError(errno, "create " + tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "fsync " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError(errno, "rename " + tmp);
  return absl::OkStatus();
}

}  // namespace

std::string ResultCache::PathFor(const std::string& network, const std::string& container_id,
                                 const std::string& ifname) const {
  return absl::StrCat(dir_, "/results/", network, "-", container_id, "-", ifname);
}

Status ResultCache::Put(const CacheEntry& entry) {
  std::error_code ec;
  fs::create_directories(dir_ + "/results", ec);
  if (ec) return Internal(absl::StrCat("create ", dir_, "/results: ", ec.message()));
  return WriteAtomic(PathFor(entry.network_name, entry.container_id, entry.ifname),
                     ToJson(entry).dump());
}

Status ResultCache::Remove(const std::string& network, const std::string& container_id,
                           const std::string& ifname) {
  const std::string path = PathFor(network, container_id, ifname);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(errno, "remove " + path);
  return absl::OkStatus();
}

std::vector<CacheEntry> ResultCache::Scan(const std::string& container_id) {
  std::vector<CacheEntry> out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir_ + "/results", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.ends_with(".tmp")) continue;
    if (!container_id.empty() && name.find("-" + container_id + "-") == std::string::npos) continue;
    files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    json doc = json::parse(buf.str(), nullptr, false);
    auto entry =
        doc.is_discarded() ? StatusOr<CacheEntry>(InvalidArgument("not JSON")) : FromJson(doc);
    if (!entry.ok()) {
      CRIO_LOG_WARN("CNI cache {}: {}; ignored", path.string(), entry.status().message());
      continue;
    }
    if (!container_id.empty() && entry->container_id != container_id) continue;
    out.push_back(std::move(*entry));
  }
  return out;
}

std::vector<CacheEntry> ResultCache::ForContainer(const std::string& container_id) {
  if (container_id.empty()) return {};
  return Scan(container_id);
}

std::vector<CacheEntry> ResultCache::All() { return Scan(""); }

}  // namespace crio::network
