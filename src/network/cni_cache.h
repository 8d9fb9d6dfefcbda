#pragma once
// The CNI spec's result cache: per attachment (network, container id, ifname) the network config
// and arguments used on ADD and, once ADD succeeded, its result. An entry is written before ADD
// and deleted after a successful DEL, so a daemon restart (or a crash mid-ADD) can still DEL
// with the exact config that set the attachment up, even when the config file has changed.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace crio::network {

struct CacheEntry {
  std::string network_name;
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::string cni_args;
  nlohmann::json config;           // the conflist document
  nlohmann::json capability_args;  // runtimeConfig values offered on ADD
  nlohmann::json result;           // null until ADD succeeded
};

class ResultCache {
 public:
  explicit ResultCache(std::string dir) : dir_(std::move(dir)) {}

  // Writes `entry` atomically (temp file + rename). Errors: the failing syscall.
  Status Put(const CacheEntry& entry);
  // Removes the entry; OK when it does not exist.
  Status Remove(const std::string& network, const std::string& container_id,
                const std::string& ifname);
  // Every entry of `container_id` (any network, any ifname). Unreadable entries are skipped with
  // a warning.
  std::vector<CacheEntry> ForContainer(const std::string& container_id);
  // All entries.
  std::vector<CacheEntry> All();

  std::string PathFor(const std::string& network, const std::string& container_id,
                      const std::string& ifname) const;

 private:
  std::vector<CacheEntry> Scan(const std::string& container_id);

  std::string dir_;
};

}  // namespace crio::network
