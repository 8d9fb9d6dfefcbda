#pragma once
// Resolving the identity of a container's first process: the CRI security context's
// run_as_user / run_as_username / run_as_group, or the image's `User`, looked up in the
// image's own /etc/passwd and /etc/group (not the host's).
//
// Semantics follow CRI-O (server/container_create.go setupContainerUser), which defers to
// runc's libcontainer/user lookup:
//   * the user string is run_as_username if set, else run_as_user if set, else the image User;
//   * "" means root (0:0); "uid", "name", "uid:gid", "name:group", "uid:group" are accepted;
//   * a numeric uid absent from /etc/passwd is fine (gid 0); a name absent is an error;
//   * the user's supplementary groups (groups listing the user's name) count only when the
//     user matched a passwd entry and no explicit group was given;
//   * run_as_group overrides the primary gid;
//   * additional gids = primary gid, then (policy Merge only) the image's groups of the user,
//     then the CRI supplemental_groups, without duplicates.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace crio::container {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Parses /etc/passwd text ("name:pw:uid:gid:gecos:home:shell" per line). Blank lines, '#'
// comments and malformed lines (wrong field count, non-numeric ids) are skipped, as libc does.
std::vector<PasswdEntry> ParsePasswd(std::string_view text);

// Parses /etc/group text ("name:pw:gid:member,member" per line), skipping bad lines likewise.
std::vector<GroupEntry> ParseGroup(std::string_view text);

struct UserRequest {
  std::optional<int64_t> run_as_user;
  std::string run_as_username;
  std::optional<int64_t> run_as_group;
  std::string image_user;  // the image config's User, e.g. "nginx" or "1000:1000"
  std::vector<int64_t> supplemental_groups;
  bool merge_image_groups = true;  // SupplementalGroupsPolicy Merge (true) or Strict (false)
  // Not part of CRI (the kubelet enforces runAsNonRoot itself); callers with such a policy set it
  // to refuse a process that would run as uid 0.
  bool run_as_non_root = false;
};

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // starts with gid
  std::string home = "/";                 // from the passwd entry, "/" when none matched
};

// Resolves `request` against the image's /etc/passwd and /etc/group contents ("" when the
// image has no such file). Errors, all InvalidArgument:
//   "unable to find user NAME: no matching entries in passwd file",
//   "unable to find group NAME: no matching entries in group file",
//   run_as_group without run_as_user/run_as_username, negative or > 2^32-1 ids, an empty user
//   or group part ("name:" or ":gid"), and run_as_non_root with a resolved uid of 0.
StatusOr<ResolvedUser> ResolveUser(const UserRequest& request, std::string_view etc_passwd,
                                   std::string_view etc_group);

}  // namespace crio::container
