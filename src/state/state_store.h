#pragma once
// Persistent, thread-safe registry of pods and containers, with name reservation and
// per-object locks. Each record is one file, replaced atomically, so a crash at any moment
// leaves either the old or the new record, never a torn one.

#include "crio_state.pb.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace crio::state {

class StateStore {
 public:
  // Creates `dir`/{pods,containers} and loads every record. Unreadable records are logged and
  // skipped (moved aside as *.corrupt) so one bad file cannot keep the daemon down.
  static StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir);

  Status PutPod(const PodState& pod);
  Status PutContainer(const ContainerState& container);
  // Copies, so callers never hold the store's lock.
  std::optional<PodState> GetPod(const std::string& id) const;
  std::optional<ContainerState> GetContainer(const std::string& id) const;
  std::vector<PodState> ListPods() const;
  std::vector<ContainerState> ListContainers() const;
  std::vector<ContainerState> ContainersOfPod(const std::string& pod_id) const;
  // Idempotent.
  Status DeletePod(const std::string& id);
  Status DeleteContainer(const std::string& id);

  // Full id from an id or a unique prefix. NotFound, or InvalidArgument when ambiguous.
  StatusOr<std::string> ResolvePodId(const std::string& id_or_prefix) const;
  StatusOr<std::string> ResolveContainerId(const std::string& id_or_prefix) const;

  // Names are unique across pods and containers. AlreadyExists (naming the holder) if `name`
  // belongs to another id; OK if it already belongs to `id`.
  Status ReserveName(const std::string& name, const std::string& id);
  void ReleaseName(const std::string& name);

  // The lock serialising lifecycle operations on one pod or container.
  std::shared_ptr<std::mutex> LockFor(const std::string& id);

 private:
  explicit StateStore(std::string dir) : dir_(std::move(dir)) {}
  Status Load();
  std::string PodFile(const std::string& id) const { return dir_ + "/pods/" + id + ".pb"; }
  std::string ContainerFile(const std::string& id) const {
    return dir_ + "/containers/" + id + ".pb";
  }

  std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, PodState> pods_;
  std::map<std::string, ContainerState> containers_;
  std::map<std::string, std::string> names_;  // name -> id
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

// Writes `data` to `path` atomically and durably: temp file, fsync, rename, fsync of the dir.
Status WriteFileAtomic(const std::string& path, const std::string& data);

}  // namespace crio::state
