#include "daemon/wipe.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "os/file.h"
#include "os/mount_point.h"
#include "state/state_store.h"
#include "storage/store.h"
#include "util/build_info.h"
#include "util/log.h"

namespace crio::daemon {
namespace {

namespace fs = std::filesystem;

// The metadata our container layers carry (lifecycle::Manager::CreateContainer).
constexpr char kOurLayerMetadata[] = "crio-cpp";

// "1.30.0+abc" or "\"1.30.0\"" -> "1.30"; "" when there is no major.minor.
std::string MajorMinor(std::string_view version) {
  while (!version.empty() && (version.front() == '"' || version.front() == 'v')) {
    version.remove_prefix(1);
  }
  size_t first_dot = version.find('.');
  if (first_dot == std::string_view::npos || first_dot == 0) return "";
  size_t end = first_dot + 1;
  while (end < version.size() && version[end] >= '0' && version[end] <= '9') ++end;
  if (end == first_dot + 1) return "";
  for (size_t i = 0; i < first_dot; ++i) {
    if (version[i] < '0' || version[i] > '9') return "";
  }
  return std::string(version.substr(0, end));
}

std::string WipeDoneMarker(const config::Config& config) {
  return (fs::path(config.root.version_file).parent_path() / "crio-wipe-done").string();
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::exists(path, ec);
}

Status WriteFileMakingParents(const std::string& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return Internal(
        absl::StrCat("create ", fs::path(path).parent_path().string(), ": ", ec.message()));
  RETURN_IF_ERROR(state::WriteFileAtomic(path, content));
  if (::chmod(path.c_str(), 0644) != 0) return ErrnoError(errno, absl::StrCat("chmod ", path));
  return absl::OkStatus();
}

// Unmounts what is below `dir` and removes it; a missing dir is fine.
void RemoveTree(const std::string& dir) {
  if (dir.empty()) return;
  if (Status st = os::UnmountAllBelow(dir); !st.ok()) CRIO_LOG_WARN("wipe: {}", st.message());
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) CRIO_LOG_WARN("wipe: remove {}: {}", dir, ec.message());
}

Status WipeStorageRoot(const config::Config& config) {
  const std::string& root = config.root.root;
  RETURN_IF_ERROR(os::UnmountAllBelow(root));
  std::error_code ec;
  fs::remove_all(root, ec);
  if (ec)
    return Internal(absl::StrCat("failed to remove storage directory ", root, ": ", ec.message()));
  RemoveTree(RunDir(config));
  if (Status done = WriteFileMakingParents(WipeDoneMarker(config), "done"); !done.ok()) {
    CRIO_LOG_WARN("wipe: {}", done.message());
  }
  return absl::OkStatus();
}

}  // namespace

std::string StateDir(const config::Config& config) { return config.root.root + "/crio-cpp-state"; }
std::string RunDir(const config::Config& config) { return config.root.runroot + "/crio-cpp"; }

bool ShouldWipe(const std::string& version_file, std::string_view current, std::string* why) {
  if (version_file.empty()) return false;
  auto text = os::ReadSmallFile(version_file, 4096);
  if (!text.ok()) {
    *why = absl::StrCat("version file ", version_file, ": ", text.status().message());
    return true;
  }
  std::string stored = MajorMinor(*text);
  if (stored.empty()) {
    *why = absl::StrCat("version file ", version_file, " malformatted");
    return true;
  }
  if (stored != MajorMinor(current)) {
    *why = absl::StrCat("version file ", version_file, " says ", stored, ", this is ",
                        std::string(current));
    return true;
  }
  return false;
}

WipePlan PlanWipe(const config::Config& config, bool force, bool for_daemon) {
  WipePlan plan;
  const std::string version = build::kVersion;
  if (force) {
    plan.containers = plan.images = true;
    plan.reasons.push_back("forced: wiping containers and images");
  } else {
    std::string why;
    plan.containers = ShouldWipe(config.root.version_file, version, &why);
    if (plan.containers) plan.reasons.push_back(absl::StrCat(why, ": wiping containers"));
    why.clear();
    bool images = ShouldWipe(config.root.version_file_persist, version, &why);
    if (images && plan.containers) {
      plan.images = true;
      plan.reasons.push_back(absl::StrCat(why, ": wiping images"));
    } else if (images) {
      plan.reasons.push_back(
          absl::StrCat(why, ", but the version file ", config.root.version_file,
                       " is current: images are never wiped without containers"));
    }
  }
  const std::string& clean = config.root.clean_shutdown_file;
  const bool unclean = !clean.empty() && Exists(clean + ".supported") && !Exists(clean);
  if (unclean && for_daemon) {
    plan.reasons.push_back(absl::StrCat("file ", clean,
                                        " not found: the last shutdown was not clean; run "
                                        "`crio wipe` to remove the storage if the node crashed"));
  } else if (unclean && (plan.containers || force)) {
    if (Exists(WipeDoneMarker(config))) {
      plan.reasons.push_back("unclean shutdown check already succeeded by a previous crio wipe");
    } else {
      plan.storage = true;
      plan.reasons.push_back(absl::StrCat("file ", clean, " not found: wiping storage directory ",
                                          config.root.root,
                                          " because of suspected unclean shutdown"));
    }
  }
  if (!plan.containers && !plan.storage) {
    plan.reasons.push_back("version unchanged and node not rebooted; no wipe needed");
  }
  return plan;
}

StatusOr<int> ExecuteWipe(const config::Config& config, const WipePlan& plan) {
  if (plan.storage) {
    RETURN_IF_ERROR(WipeStorageRoot(config));
    return 0;
  }
  if (!plan.containers) return 0;
  storage::StoreOptions store_options;
  store_options.root = config.root.root;
  store_options.runroot = config.root.runroot;
  store_options.driver = config.root.storage_driver;
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Store> store, storage::Store::Open(store_options));
  ASSIGN_OR_RETURN(std::unique_ptr<state::StateStore> records,
                   state::StateStore::Open(StateDir(config)));

  std::set<std::string> images;
  int removed = 0;
  auto remove_layer = [&](const std::string& id) {
    auto layer = store->GetContainerLayer(id);
    if (!layer.ok() || layer->metadata != kOurLayerMetadata) return;
    images.insert(layer->image_id);
    (void)store->Unmount(id, /*force=*/true);
    if (Status st = store->RemoveContainerLayer(id); !st.ok()) {
      CRIO_LOG_WARN("wipe: unable to delete container {}: {}", id, st.message());
    }
  };
  for (const auto& ctr : records->ListContainers()) {
    remove_layer(ctr.id());
    RemoveTree(ctr.bundle());
    RemoveTree(ctr.persist_dir());
    if (Status st = records->DeleteContainer(ctr.id()); !st.ok()) {
      CRIO_LOG_WARN("wipe: unable to delete container {}: {}", ctr.id(), st.message());
      continue;
    }
    ++removed;
    CRIO_LOG_INFO("deleted container {}", ctr.id());
  }
  for (const auto& pod : records->ListPods()) {
    remove_layer(pod.id());  // the infra container's layer, when it ran from an image
    RemoveTree(pod.infra_bundle());
    RemoveTree(pod.pod_dir());
    if (Status st = records->DeletePod(pod.id()); !st.ok()) {
      CRIO_LOG_WARN("wipe: unable to delete pod {}: {}", pod.id(), st.message());
      continue;
    }
    CRIO_LOG_INFO("deleted pod {}", pod.id());
  }
  // Layers of ours without a record (a crash between creating the layer and the record).
  for (const auto& layer : store->ListContainerLayers()) {
    if (layer.metadata != kOurLayerMetadata) continue;
    remove_layer(layer.id);
    ++removed;
    CRIO_LOG_INFO("deleted container {}", layer.id);
  }
  if (plan.images) {
    for (const std::string& image : images) {
      if (image.empty()) continue;
      Status st = store->RemoveImage(image);
      if (st.ok()) {
        CRIO_LOG_INFO("deleted image {}", image);
      } else if (!absl::IsNotFound(st)) {
        CRIO_LOG_WARN("wipe: unable to delete image {}: {}", image, st.message());
      }
    }
  }
  return removed;
}

Status MarkDaemonStarted(const config::Config& config) {
  const std::string quoted = absl::StrCat("\"", build::kVersion, "\"");
  for (const std::string& file : {config.root.version_file, config.root.version_file_persist}) {
    if (!file.empty()) RETURN_IF_ERROR(WriteFileMakingParents(file, quoted));
  }
  const std::string& clean = config.root.clean_shutdown_file;
  if (clean.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(WriteFileMakingParents(clean + ".supported", ""));
  if (::unlink(clean.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove ", clean));
  }
  return absl::OkStatus();
}

Status MarkCleanShutdown(const config::Config& config) {
  ::sync();  // the layers and records reach the disk before we call the shutdown clean
  if (config.root.clean_shutdown_file.empty()) return absl::OkStatus();
  return WriteFileMakingParents(config.root.clean_shutdown_file, "");
}

}  // namespace crio::daemon
