#include "container/image_user.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace crio::container {
namespace {

// Decimal id in [0, 2^32-1]; nullopt for anything else (including "", "+1", "1x").
std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() ||
      value > std::numeric_limits<uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  const absl::string_view all(text.data(), text.size());
  for (absl::string_view piece : absl::StrSplit(all, '\n')) {
    std::string_view line(piece.data(), piece.size());
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  for (absl::string_view f : absl::StrSplit(absl::string_view(line.data(), line.size()), ':')) {
    out.emplace_back(f.data(), f.size());
  }
  return out;
}

StatusOr<uint32_t> IdFromInt64(int64_t value, std::string_view what) {
  if (value < 0 || value > static_cast<int64_t>(std::numeric_limits<uint32_t>::max())) {
    return InvalidArgument(absl::StrCat(std::string(what), " ", value, " is out of range"));
  }
  return static_cast<uint32_t>(value);
}

// The user string CRI-O builds (generateUserString): username, else uid, else the image's User.
std::string UserString(const UserRequest& request) {
  if (!request.run_as_username.empty()) {
    return request.run_as_username;
  }
  if (request.run_as_user.has_value()) {
    return std::to_string(*request.run_as_user);
  }
  return request.image_user;
}

void AddUnique(std::vector<uint32_t>& gids, uint32_t gid) {
  if (std::find(gids.begin(), gids.end(), gid) == gids.end()) {
    gids.push_back(gid);
  }
}

}  // namespace

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = Fields(line);
    if (f.size() != 7 || f[0].empty()) {
      continue;
    }
    std::optional<uint32_t> uid = ParseId(f[2]);
    std::optional<uint32_t> gid = ParseId(f[3]);
    if (!uid || !gid) {
      continue;
    }
    out.push_back({std::string(f[0]), *uid, *gid, std::string(f[5])});
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = Fields(line);
    if (f.size() != 4 || f[0].empty()) {
      continue;
    }
    std::optional<uint32_t> gid = ParseId(f[2]);
    if (!gid) {
      continue;
    }
    GroupEntry entry{std::string(f[0]), *gid, {}};
    for (absl::string_view m : absl::StrSplit(absl::string_view(f[3].data(), f[3].size()), ',')) {
      if (!m.empty()) {
        entry.members.emplace_back(m);
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<ResolvedUser> ResolveUser(const UserRequest& request, std::string_view etc_passwd,
                                   std::string_view etc_group) {
  if (request.run_as_group.has_value() && !request.run_as_user.has_value() &&
      request.run_as_username.empty()) {
    return InvalidArgument("user group is specified without user or username");
  }
  if (request.run_as_user.has_value()) {
    RETURN_IF_ERROR(IdFromInt64(*request.run_as_user, "run_as_user").status());
  }

  const std::string spec = UserString(request);
  std::string_view user_part = spec;
  std::string_view group_part;
  const bool has_group = spec.find(':') != std::string::npos;
  if (has_group) {
    user_part = std::string_view(spec).substr(0, spec.find(':'));
    group_part = std::string_view(spec).substr(spec.find(':') + 1);
    if (user_part.empty() || group_part.empty()) {
      return InvalidArgument(absl::StrCat("invalid user \"", spec, "\": expected user[:group]"));
    }
  }

  ResolvedUser out;
  std::optional<PasswdEntry> matched;
  if (!user_part.empty()) {
    const std::vector<PasswdEntry> users = ParsePasswd(etc_passwd);
    std::optional<uint32_t> uid = ParseId(user_part);
    for (const PasswdEntry& u : users) {
      if (uid ? u.uid == *uid : u.name == user_part) {
        matched = u;
        break;
      }
    }
    if (matched) {
      out.uid = matched->uid;
      out.gid = matched->gid;
      if (!matched->home.empty()) {
        out.home = matched->home;
      }
    } else if (uid) {
      out.uid = *uid;  // numeric users need no passwd entry; the primary group stays 0
    } else {
      return InvalidArgument(absl::StrCat("unable to find user ", std::string(user_part),
                                          ": no matching entries in passwd file"));
    }
  }

  std::vector<uint32_t> image_groups;
  if (has_group || matched) {
    const std::vector<GroupEntry> groups = ParseGroup(etc_group);
    if (has_group) {
      std::optional<uint32_t> gid = ParseId(group_part);
      std::optional<uint32_t> found;
      for (const GroupEntry& g : groups) {
        if (gid ? g.gid == *gid : g.name == group_part) {
          found = g.gid;
          break;
        }
      }
      if (!found && !gid) {
        return InvalidArgument(absl::StrCat("unable to find group ", std::string(group_part),
                                            ": no matching entries in group file"));
      }
      out.gid = found ? *found : *gid;
    } else {
      // Supplementary groups only come with the implicit form "user" (runc's rule).
      for (const GroupEntry& g : groups) {
        if (std::find(g.members.begin(), g.members.end(), matched->name) != g.members.end()) {
          image_groups.push_back(g.gid);
        }
      }
    }
  }

  if (request.run_as_group.has_value()) {
    ASSIGN_OR_RETURN(out.gid, IdFromInt64(*request.run_as_group, "run_as_group"));
  }
  if (request.run_as_non_root && out.uid == 0) {
    return InvalidArgument(
        absl::StrCat("container would run as root (user \"", spec, "\") but runAsNonRoot is set"));
  }

  out.additional_gids.push_back(out.gid);
  if (request.merge_image_groups) {
    for (uint32_t g : image_groups) {
      AddUnique(out.additional_gids, g);
    }
  }
  for (int64_t g : request.supplemental_groups) {
    ASSIGN_OR_RETURN(uint32_t gid, IdFromInt64(g, "supplemental group"));
    AddUnique(out.additional_gids, gid);
  }
  return out;
}

}  // namespace crio::container
