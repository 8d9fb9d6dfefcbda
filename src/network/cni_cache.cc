#include "network/cni_cache.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "os/file.h"
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

// A cached entry holds one network's config and its ADD result: kilobytes.
constexpr size_t kMaxEntrySize = 4 << 20;

StatusOr<CacheEntry> ReadEntry(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, os::ReadSmallFile(path, kMaxEntrySize));
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return InvalidArgument("not JSON");
  return FromJson(doc);
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
  return os::WriteFileAtomic(PathFor(entry.network_name, entry.container_id, entry.ifname),
                             ToJson(entry).dump(), 0600);
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
    StatusOr<CacheEntry> entry = ReadEntry(path.string());
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
