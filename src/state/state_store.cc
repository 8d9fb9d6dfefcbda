#include "state/state_store.h"

#include <filesystem>

#include "os/file.h"
#include "util/log.h"

namespace crio::state {

namespace fs = std::filesystem;

// The lifecycle's and the daemon's callers still come through here; os::WriteFileAtomic is the
// implementation.
Status WriteFileAtomic(const std::string& path, const std::string& data) {
  return os::WriteFileAtomic(path, data, 0600);
}

namespace {

// A record holds a pod's or container's CRI config: annotations and labels are bounded by the
// kubelet, so anything this large is not one of ours.
constexpr size_t kMaxRecordSize = 16 << 20;

template <typename Message>
void LoadDir(const std::string& dir, std::map<std::string, Message>& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string path = entry.path().string();
    if (entry.path().extension() == ".tmp") {
      fs::remove(entry.path(), ec);  // an interrupted write; the previous record is intact
      continue;
    }
    if (entry.path().extension() != ".pb") continue;
    auto data = os::ReadSmallFile(path, kMaxRecordSize);
    Message msg;
    if (!data.ok() || !msg.ParseFromString(*data) || msg.id().empty()) {
      CRIO_LOG_WARN("state record {} is unreadable; moved aside", path);
      fs::rename(entry.path(), path + ".corrupt", ec);
      continue;
    }
    out.emplace(msg.id(), std::move(msg));
  }
}

template <typename Map>
StatusOr<std::string> ResolveId(const Map& map, const std::string& id_or_prefix, const char* what) {
  if (id_or_prefix.empty()) return InvalidArgument(absl::StrCat(what, " id is empty"));
  if (map.count(id_or_prefix)) return id_or_prefix;
  std::string found;
  for (auto it = map.lower_bound(id_or_prefix); it != map.end(); ++it) {
    if (it->first.rfind(id_or_prefix, 0) != 0) break;
    if (!found.empty()) {
      return InvalidArgument(absl::StrCat(what, " id prefix ", id_or_prefix, " is ambiguous"));
    }
    found = it->first;
  }
  if (found.empty()) return NotFound(absl::StrCat(what, " ", id_or_prefix, " not found"));
  return found;
}

}  // namespace

StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir + "/pods", ec);
  fs::create_directories(dir + "/containers", ec);
  if (ec) return Internal(absl::StrCat("create state dir ", dir, ": ", ec.message()));
  std::unique_ptr<StateStore> store(new StateStore(dir));
  RETURN_IF_ERROR(store->Load());
  return store;
}

Status StateStore::Load() {
  std::lock_guard lock(mu_);
  LoadDir(dir_ + "/pods", pods_);
  LoadDir(dir_ + "/containers", containers_);
  for (const auto& [id, pod] : pods_) names_[pod.name()] = id;
  for (const auto& [id, ctr] : containers_) names_[ctr.name()] = id;
  return absl::OkStatus();
}

Status StateStore::PutPod(const PodState& pod) {
  RETURN_IF_ERROR(WriteFileAtomic(PodFile(pod.id()), pod.SerializeAsString()));
  std::lock_guard lock(mu_);
  pods_[pod.id()] = pod;
  return absl::OkStatus();
}

Status StateStore::PutContainer(const ContainerState& container) {
  RETURN_IF_ERROR(WriteFileAtomic(ContainerFile(container.id()), container.SerializeAsString()));
  std::lock_guard lock(mu_);
  containers_[container.id()] = container;
  return absl::OkStatus();
}

std::optional<PodState> StateStore::GetPod(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = pods_.find(id);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::optional<ContainerState> StateStore::GetContainer(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

std::vector<PodState> StateStore::ListPods() const {
  std::lock_guard lock(mu_);
  std::vector<PodState> out;
  for (const auto& [id, pod] : pods_) out.push_back(pod);
  return out;
}

std::vector<ContainerState> StateStore::ListContainers() const {
  std::lock_guard lock(mu_);
  std::vector<ContainerState> out;
  for (const auto& [id, ctr] : containers_) out.push_back(ctr);
  return out;
}

std::vector<ContainerState> StateStore::ContainersOfPod(const std::string& pod_id) const {
  std::lock_guard lock(mu_);
  std::vector<ContainerState> out;
  for (const auto& [id, ctr] : containers_) {
    if (ctr.pod_id() == pod_id) out.push_back(ctr);
  }
  return out;
}

Status StateStore::DeletePod(const std::string& id) {
  std::error_code ec;
  fs::remove(PodFile(id), ec);
  if (ec) return Internal(absl::StrCat("remove state of pod ", id, ": ", ec.message()));
  std::lock_guard lock(mu_);
  pods_.erase(id);
  locks_.erase(id);
  return absl::OkStatus();
}

Status StateStore::DeleteContainer(const std::string& id) {
  std::error_code ec;
  fs::remove(ContainerFile(id), ec);
  if (ec) return Internal(absl::StrCat("remove state of container ", id, ": ", ec.message()));
  std::lock_guard lock(mu_);
  containers_.erase(id);
  locks_.erase(id);
  return absl::OkStatus();
}

StatusOr<std::string> StateStore::ResolvePodId(const std::string& id_or_prefix) const {
  std::lock_guard lock(mu_);
  return ResolveId(pods_, id_or_prefix, "pod sandbox");
}

StatusOr<std::string> StateStore::ResolveContainerId(const std::string& id_or_prefix) const {
  std::lock_guard lock(mu_);
  return ResolveId(containers_, id_or_prefix, "container");
}

Status StateStore::ReserveName(const std::string& name, const std::string& id) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = names_.emplace(name, id);
  if (!inserted && it->second != id) {
    return AlreadyExists(absl::StrCat("name ", name, " is reserved for ", it->second));
  }
  return absl::OkStatus();
}

void StateStore::ReleaseName(const std::string& name) {
  std::lock_guard lock(mu_);
  names_.erase(name);
}

std::shared_ptr<std::mutex> StateStore::LockFor(const std::string& id) {
  std::lock_guard lock(mu_);
  auto& slot = locks_[id];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

}  // namespace crio::state
