#include "container/resources_update.h"

#include <cctype>
#include <charconv>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "container/spec_builder.h"

namespace crio::container {

namespace v1 = ::runtime::v1;
using nlohmann::json;

namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A Linux CPU/memory-node list: "0", "0-3", "0-3,5,7-8".
bool IsCpuList(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string_view item =
        s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!AllDigits(item)) return false;
    } else {
      std::string_view lo = item.substr(0, dash);
      std::string_view hi = item.substr(dash + 1);
      if (!AllDigits(lo) || !AllDigits(hi)) return false;
      unsigned long a = 0, b = 0;
      auto ra = std::from_chars(lo.data(), lo.data() + lo.size(), a);
      auto rb = std::from_chars(hi.data(), hi.data() + hi.size(), b);
      if (ra.ec != std::errc() || rb.ec != std::errc() || a > b) return false;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

// "2MB", "1GB", "64KB" (the kubelet's hugetlb page-size names).
bool IsPageSize(std::string_view s) {
  if (s.size() < 3) return false;
  std::string_view unit = s.substr(s.size() - 2);
  if (unit != "KB" && unit != "MB" && unit != "GB") return false;
  return AllDigits(s.substr(0, s.size() - 2));
}

// "memory.high", "cpu.max": a controller and a file, lower-case letters, digits, '_' and '.'.
bool IsUnifiedKey(std::string_view k) {
  size_t dot = k.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == k.size()) return false;
  for (char c : k) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '_') {
      return false;
    }
  }
  return k.find('/') == std::string_view::npos;
}

}  // namespace

Status ValidateUpdateResources(const v1::LinuxContainerResources& r, bool cgroup_v2) {
  return ValidateUpdateResources(r, cgroup_v2, "linux");
}

Status ValidateUpdateResources(const v1::LinuxContainerResources& r, bool cgroup_v2,
                               std::string_view prefix) {
  auto Bad = [prefix](std::string_view field, std::string_view what) {
    return InvalidArgument(
        absl::StrCat(std::string(prefix), ".", std::string(field), ": ", std::string(what)));
  };

  if (r.cpu_period() < 0) {
    return Bad("cpu_period", absl::StrCat(r.cpu_period(), " is negative"));
  }
  if (r.cpu_quota() < -1) {
    return Bad("cpu_quota", absl::StrCat(r.cpu_quota(), " is below -1 (unlimited)"));
  }
  if (r.cpu_shares() < 0) {
    return Bad("cpu_shares", absl::StrCat(r.cpu_shares(), " is negative"));
  }
  if (r.memory_limit_in_bytes() < 0) {
    return Bad("memory_limit_in_bytes", absl::StrCat(r.memory_limit_in_bytes(), " is negative"));
  }
  if (r.memory_limit_in_bytes() > 0 && r.memory_limit_in_bytes() < kMinUpdateMemoryLimit) {
    return Bad("memory_limit_in_bytes",
               absl::StrCat(r.memory_limit_in_bytes(), " is too low; it must be at least ",
                            kMinUpdateMemoryLimit, " bytes"));
  }
  const int64_t swap = r.memory_swap_limit_in_bytes();
  if (swap < -1) {
    return Bad("memory_swap_limit_in_bytes", absl::StrCat(swap, " is below -1 (unlimited)"));
  }
  if (swap > 0 && r.memory_limit_in_bytes() > 0 && swap < r.memory_limit_in_bytes()) {
    return Bad(
        "memory_swap_limit_in_bytes",
        absl::StrCat(swap, " is lower than memory_limit_in_bytes ", r.memory_limit_in_bytes()));
  }
  if (!r.cpuset_cpus().empty() && !IsCpuList(r.cpuset_cpus())) {
    return Bad("cpuset_cpus", absl::StrCat("\"", r.cpuset_cpus(), "\" is not a CPU list"));
  }
  if (!r.cpuset_mems().empty() && !IsCpuList(r.cpuset_mems())) {
    return Bad("cpuset_mems", absl::StrCat("\"", r.cpuset_mems(), "\" is not a node list"));
  }
  for (const v1::HugepageLimit& h : r.hugepage_limits()) {
    if (!IsPageSize(h.page_size())) {
      return Bad("hugepage_limits",
                 absl::StrCat("page size \"", h.page_size(), "\" is not <number>KB|MB|GB"));
    }
  }
  for (const auto& [key, value] : r.unified()) {
    if (!IsUnifiedKey(key)) {
      return Bad("unified", absl::StrCat("\"", key, "\" is not a cgroup v2 file name"));
    }
  }
  if (r.unified_size() > 0 && !cgroup_v2) {
    return Bad("unified", "unified cgroup resources need cgroup v2, but the host uses v1");
  }
  return absl::OkStatus();
}

StatusOr<json> UpdateResourcesJson(const v1::LinuxContainerResources& r, const UpdateHost& host) {
  RETURN_IF_ERROR(ValidateUpdateResources(r, host.cgroup_v2));
  json out = json::object();
  json cpu = CpuResourcesJson(r);
  if (!cpu.empty()) out["cpu"] = std::move(cpu);

  if (r.memory_limit_in_bytes() > 0) {
    json memory = {{"limit", r.memory_limit_in_bytes()}};
    int64_t swap = r.memory_swap_limit_in_bytes() != 0 ? r.memory_swap_limit_in_bytes()
                                                       : r.memory_limit_in_bytes();
    if (host.memory_swap) memory["swap"] = swap;
    out["memory"] = std::move(memory);
  }
  if (host.hugetlb && r.hugepage_limits_size() > 0) {
    json limits = json::array();
    for (const v1::HugepageLimit& h : r.hugepage_limits()) {
      limits.push_back({{"pageSize", h.page_size()}, {"limit", h.limit()}});
    }
    out["hugepageLimits"] = std::move(limits);
  }
  if (r.unified_size() > 0) {
    json unified = json::object();
    for (const auto& [k, v] : r.unified()) unified[k] = v;
    out["unified"] = std::move(unified);
  }
  return out;
}

v1::LinuxContainerResources MergedResources(const v1::LinuxContainerResources& current,
                                            const v1::LinuxContainerResources& update) {
  v1::LinuxContainerResources out = update;
  out.set_oom_score_adj(current.oom_score_adj());
  return out;
}

}  // namespace crio::container
