#include "stats/collector.h"

#include <charconv>

#include "os/file.h"
#include "util/log.h"
#include "util/strings.h"

namespace crio::stats {
namespace {

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t ToU64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Whitespace-separated fields of `line`.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::vector<InterfaceCounters> ParseNetDev(std::string_view text) {
  std::vector<InterfaceCounters> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // the two header lines have '|' not ':'
    auto name_fields = Fields(line.substr(0, colon));
    auto counters = Fields(line.substr(colon + 1));
    if (name_fields.size() != 1 || counters.size() < 16) continue;
    InterfaceCounters c;
    c.name = std::string(name_fields[0]);
    c.rx_bytes = ToU64(counters[0]);
    c.rx_packets = ToU64(counters[1]);
    c.rx_errors = ToU64(counters[2]);
    c.rx_dropped = ToU64(counters[3]);
    c.tx_bytes = ToU64(counters[8]);
    c.tx_packets = ToU64(counters[9]);
    c.tx_errors = ToU64(counters[10]);
    c.tx_dropped = ToU64(counters[11]);
    out.push_back(std::move(c));
  }
  return out;
}

StatusOr<std::vector<InterfaceCounters>> ReadInterfaces(const std::string& net_dev_path) {
  ASSIGN_OR_RETURN(std::string text, os::ReadSmallFile(net_dev_path, 1 << 20));
  std::vector<InterfaceCounters> out = ParseNetDev(text);
  std::erase_if(out, [](const InterfaceCounters& c) { return c.name == "lo"; });
  return out;
}

std::optional<uint64_t> NanoCores(uint64_t cpu_before_ns, int64_t t_before_ns,
                                  uint64_t cpu_after_ns, int64_t t_after_ns) {
  if (t_after_ns <= t_before_ns || cpu_after_ns < cpu_before_ns) return std::nullopt;
  const long double rate = static_cast<long double>(cpu_after_ns - cpu_before_ns) * 1e9L /
                           static_cast<long double>(t_after_ns - t_before_ns);
  return static_cast<uint64_t>(rate);
}

Collector::Collector(cgroups::CgroupManager* cgroups, CollectorOptions options)
    : cgroups_(cgroups), options_(std::move(options)) {
  if (!options_.now) options_.now = SystemNowNs;
  thread_ = std::jthread([this] { Background(); });
}

Collector::~Collector() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
}

CgroupSample Collector::SampleOne(const CgroupTarget& target, const cgroups::CgroupStats& counters,
                                  int64_t now_ns) {
  CgroupSample sample;
  sample.counters = counters;
  sample.parts = target.parts;
  sample.timestamp_ns = now_ns;
  if (counters.cpu_usage_ns) {
    auto previous = previous_.find(target.key);
    if (previous != previous_.end() && previous->second.counters.cpu_usage_ns) {
      sample.usage_nano_cores =
          NanoCores(*previous->second.counters.cpu_usage_ns, previous->second.timestamp_ns,
                    *counters.cpu_usage_ns, now_ns);
      // Asked again within a moment: keep the rate of the last real interval.
      if (!sample.usage_nano_cores) sample.usage_nano_cores = previous->second.usage_nano_cores;
    } else if (target.started_ns > 0) {
      // First sample: the average since the workload started, rather than nothing.
      sample.usage_nano_cores = NanoCores(0, target.started_ns, *counters.cpu_usage_ns, now_ns);
    }
  }
  previous_[target.key] = sample;
  return sample;
}

std::optional<CgroupSample> Collector::ReadOne(const CgroupTarget& target, int64_t now_ns) {
  if (target.cgroup_path.empty()) return std::nullopt;
  auto counters = cgroups_->ReadStats(target.cgroup_path, target.parts);
  if (!counters.ok()) return std::nullopt;
  std::lock_guard lock(mu_);
  return SampleOne(target, *counters, now_ns);
}

std::vector<std::optional<CgroupSample>> Collector::Sample(
    const std::vector<CgroupTarget>& targets) {
  std::vector<std::optional<CgroupSample>> out(targets.size());
  std::vector<size_t> to_read;
  if (options_.collection_period.count() > 0) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < targets.size(); ++i) {
      // The refresh reads what every caller of this key asked for.
      auto [refresh, inserted] = refresh_targets_.try_emplace(targets[i].key, targets[i]);
      if (!inserted) {
        const unsigned parts = refresh->second.parts | targets[i].parts;
        refresh->second = targets[i];
        refresh->second.parts = parts;
      }
      auto it = refreshed_.find(targets[i].key);
      if (it != refreshed_.end() && (it->second.parts & targets[i].parts) == targets[i].parts) {
        out[i] = it->second;
      } else {
        to_read.push_back(i);
      }
    }
  } else {
    for (size_t i = 0; i < targets.size(); ++i) to_read.push_back(i);
  }
  const int64_t now_ns = options_.now();
  ReadAll(targets, to_read, now_ns, out);
  if (options_.collection_period.count() > 0) {
    // Read now because the refresh had not seen them yet: serve the next requests from here.
    std::lock_guard lock(mu_);
    for (size_t i : to_read) {
      if (out[i]) refreshed_[targets[i].key] = *out[i];
    }
  }
  return out;
}

void Collector::ReadAll(const std::vector<CgroupTarget>& targets, const std::vector<size_t>& which,
                        int64_t now_ns, std::vector<std::optional<CgroupSample>>& out) {
  // Reading a cgroup is a handful of syscalls; at node scale (110 pods) a request is thousands
  // of them, so a large batch is split with one helper thread to use a second core.
  constexpr size_t kSplitAbove = 32;
  auto read_range = [&](size_t begin, size_t end) {
    for (size_t k = begin; k < end; ++k) out[which[k]] = ReadOne(targets[which[k]], now_ns);
  };
  if (which.size() <= kSplitAbove || std::thread::hardware_concurrency() < 2) {
    read_range(0, which.size());
    return;
  }
  const size_t half = which.size() / 2;
  std::thread helper(read_range, half, which.size());
  read_range(0, half);
  helper.join();
}

std::optional<LayerUsage> Collector::WritableLayer(const std::string& id, const std::string& dir) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = layers_.try_emplace(id);
  if (inserted || it->second.dir != dir) {
    it->second.dir = dir;
    it->second.due = std::chrono::steady_clock::now();
    wake_.notify_all();
  }
  return it->second.usage;
}

void Collector::Retain(std::string_view prefix, const std::set<std::string>& live) {
  auto stale = [&](const auto& kv) {
    return kv.first.starts_with(prefix) && !live.count(kv.first);
  };
  std::lock_guard lock(mu_);
  std::erase_if(previous_, stale);
  std::erase_if(layers_, stale);
  std::erase_if(refreshed_, stale);
  std::erase_if(refresh_targets_, stale);
}

void Collector::RefreshAll() {
  std::vector<CgroupTarget> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, target] : refresh_targets_) targets.push_back(target);
  }
  const int64_t now_ns = options_.now();
  std::map<std::string, CgroupSample> fresh;
  for (const auto& target : targets) {
    if (auto sample = ReadOne(target, now_ns)) fresh[target.key] = *sample;
  }
  std::lock_guard lock(mu_);
  refreshed_ = std::move(fresh);
}

void Collector::MeasureDueLayers() {
  if (!options_.measure_layer) return;
  for (;;) {
    std::string id, dir;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      const auto now = std::chrono::steady_clock::now();
      for (auto& [key, entry] : layers_) {
        if (entry.due <= now) {
          id = key;
          dir = entry.dir;
          entry.due = now + options_.layer_interval;
          break;
        }
      }
    }
    if (id.empty()) return;
    auto usage = options_.measure_layer(dir);
    std::lock_guard lock(mu_);
    auto it = layers_.find(id);
    if (it == layers_.end()) continue;
    if (usage.ok()) {
      it->second.usage = *usage;
    } else {
      CRIO_LOG_DEBUG("container={}: writable layer {}: {}", id, dir, usage.status().message());
    }
  }
}

void Collector::Background() {
  auto next_refresh = std::chrono::steady_clock::now();
  for (;;) {
    MeasureDueLayers();
    if (options_.collection_period.count() > 0 &&
        std::chrono::steady_clock::now() >= next_refresh) {
      RefreshAll();
      next_refresh = std::chrono::steady_clock::now() + options_.collection_period;
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    auto wake_at = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    if (options_.measure_layer) {
      for (const auto& [key, entry] : layers_) wake_at = std::min(wake_at, entry.due);
    }
    if (options_.collection_period.count() > 0) wake_at = std::min(wake_at, next_refresh);
    wake_.wait_until(lock, wake_at);
    if (stopping_) return;
  }
}

}  // namespace crio::stats
