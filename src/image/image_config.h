#pragma once
// The image configuration blob (OCI image-spec config.md; Docker image JSON v1.2).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::image {

struct ContainerDefaults {
  std::string user;
  std::vector<std::string> env;  // "KEY=value"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<std::string> volumes;        // keys of "Volumes", sorted
  std::vector<std::string> exposed_ports;  // keys of "ExposedPorts" ("80/tcp"), sorted
};

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string created;  // RFC 3339, as written
  std::string author;
  ContainerDefaults config;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids: digests of the uncompressed layers
  std::vector<HistoryEntry> history;
  std::string raw;  // the blob exactly as fetched (its digest is the image ID)
};

// Parses an image config blob. "config" may be absent or null (all defaults empty).
// Errors: InvalidArgument("invalid image config: <what>") for invalid JSON, wrong field types,
// a rootfs.type other than "layers", or an invalid diff_id digest.
StatusOr<ImageConfig> ParseImageConfig(std::string_view raw);

}  // namespace crio::image
