#include "storage/overlay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "os/file.h"
#include "os/mount_point.h"
#include "storage/fs_tree.h"
#include "util/log.h"

namespace crio::storage {
namespace {

bool HasOverlaySeparator(const std::string& s) {
  return s.find_first_of(",:\\") != std::string::npos;
}

Status CheckPathPart(const std::string& what, const std::string& s) {
  if (s.empty()) {
    return InvalidArgument(absl::StrCat("overlay ", what, " is empty"));
  }
  if (HasOverlaySeparator(s)) {
    return InvalidArgument(absl::StrCat("overlay ", what, " `", s, "` contains ',', ':' or '\\'"));
  }
  return absl::OkStatus();
}

size_t MaxMountData() {
  long page = sysconf(_SC_PAGESIZE);
  return static_cast<size_t>(page > 0 ? page : 4096) - 1;  // the kernel wants a NUL in the page
}

}  // namespace

ScopedMount::~ScopedMount() {
  if (target_.empty()) {
    return;
  }
  Status st = os::DetachMount(target_);
  if (!st.ok()) {
    CRIO_LOG_WARN("rollback of mount {} failed: {}", target_, Message(st));
  }
}

StatusOr<std::string> OverlayMountData(const OverlaySpec& spec, bool relative_lowers) {
  if (spec.lower_links.empty()) {
    return InvalidArgument("overlay mount needs at least one lower dir");
  }
  RETURN_IF_ERROR(CheckPathPart("link dir", spec.link_dir));
  RETURN_IF_ERROR(CheckPathPart("upper dir", spec.upper_dir));
  RETURN_IF_ERROR(CheckPathPart("work dir", spec.work_dir));
  std::vector<std::string> lowers;
  lowers.reserve(spec.lower_links.size());
  for (const std::string& link : spec.lower_links) {
    RETURN_IF_ERROR(CheckPathPart("lower dir", link));
    lowers.push_back(relative_lowers ? link : absl::StrCat(spec.link_dir, "/", link));
  }
  std::string data = absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":"),
                                  ",upperdir=", spec.upper_dir, ",workdir=", spec.work_dir);
  if (!spec.options.empty()) {
    absl::StrAppend(&data, ",", spec.options);
  }
  if (!spec.mount_label.empty()) {
    if (spec.mount_label.find('"') != std::string::npos) {
      return InvalidArgument(absl::StrCat("mount label `", spec.mount_label, "` contains '\"'"));
    }
    absl::StrAppend(&data, ",context=\"", spec.mount_label, "\"");
  }
  if (data.size() > MaxMountData()) {
    return InvalidArgument(absl::StrCat("overlay mount data for `", spec.target, "` is ",
                                        data.size(), " bytes (", spec.lower_links.size(),
                                        " layers), more than the ", MaxMountData(),
                                        " bytes the kernel accepts"));
  }
  return data;
}

Status MountOverlay(const OverlaySpec& spec, LowerPaths mode) {
  if (mode != LowerPaths::kRelative) {
    StatusOr<std::string> data = OverlayMountData(spec, /*relative_lowers=*/false);
    if (data.ok()) {
      return os::Mount("overlay", spec.target, "overlay", 0, *data);
    }
    if (mode == LowerPaths::kAbsolute) {
      return data.status();
    }
  }
  ASSIGN_OR_RETURN(std::string data, OverlayMountData(spec, /*relative_lowers=*/true));
  // Lower dirs relative to the link dir: a page holds about twice as many layers that way.
  return os::MountFrom(spec.link_dir, "overlay", spec.target, "overlay", 0, data);
}

bool IsMountPoint(const std::string& path) { return os::IsMountRoot(path).value_or(false); }

Status EnsureSymlink(const std::string& link_path, const std::string& target) {
  if (symlink(target.c_str(), link_path.c_str()) == 0) {
    return absl::OkStatus();
  }
  if (errno != EEXIST) {
    return ErrnoError(errno, absl::StrCat("symlink `", link_path, "`"));
  }
  char buf[PATH_MAX];
  ssize_t n = readlink(link_path.c_str(), buf, sizeof(buf));
  if (n >= 0 && std::string(buf, static_cast<size_t>(n)) == target) {
    return absl::OkStatus();
  }
  // A stale link (or something else) under our name: replace it atomically.
  return os::ReplaceSymlink(target, link_path);
}

StatusOr<std::string> ProbeOverlay(const std::string& scratch_dir,
                                   const std::vector<std::string>& candidates) {
  Status last = Unavailable("no overlay option set to try");
  for (const std::string& options : candidates) {
    for (const char* sub : {"lower", "upper", "work", "merged"}) {
      RETURN_IF_ERROR(MakeDir(absl::StrCat(scratch_dir, "/", sub), 0700));
    }
    { std::ofstream(absl::StrCat(scratch_dir, "/lower/probe")) << "probe"; }
    OverlaySpec spec{scratch_dir,
                     {"lower"},
                     absl::StrCat(scratch_dir, "/upper"),
                     absl::StrCat(scratch_dir, "/work"),
                     absl::StrCat(scratch_dir, "/merged"),
                     options,
                     ""};
    last = MountOverlay(spec, LowerPaths::kAbsolute);
    if (last.ok()) {
      ScopedMount guard(spec.target);
      struct stat st;
      if (stat(absl::StrCat(spec.target, "/probe").c_str(), &st) != 0) {
        last = Internal(absl::StrCat("overlay probe mount at `", spec.target,
                                     "` does not show the lower file"));
      }
    }
    // Empty the scratch dir for the next candidate (also removes overlay's work/work).
    for (const char* sub : {"lower", "upper", "work", "merged"}) {
      RETURN_IF_ERROR(RemoveTree(absl::StrCat(scratch_dir, "/", sub)));
    }
    if (last.ok()) {
      return options;
    }
  }
  return last;
}

}  // namespace crio::storage
