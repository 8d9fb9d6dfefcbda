// Validate: every option's value rules (from the option table) plus the rules that span
// options: the default runtime has a handler, handlers can run, TLS streaming has its files,
// metrics collectors exist.

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "config/options.h"
#include "util/strings.h"

namespace crio::config {

using config_internal::CheckValue;
using config_internal::FieldOf;
using config_internal::HandlerOption;
using config_internal::kMetrics;
using config_internal::kRuntimesTable;
using config_internal::OneOfList;
using config_internal::Option;
using config_internal::TomlKey;

namespace {

bool IsShimName(std::string_view path) {
  constexpr std::string_view kPrefix = "containerd-shim-";
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.size() <= kPrefix.size() || base.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  return std::all_of(base.begin() + kPrefix.size(), base.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '+';
  });
}

Status ValidateHandler(const std::string& name, const RuntimeHandler& handler) {
  std::string path = absl::StrCat(std::string(kRuntimesTable), ".", name);
  for (const HandlerOption& option : config_internal::HandlerOptions()) {
    Status status = CheckValue(option, FieldOf(option, handler));
    if (!status.ok()) {
      return Annotate(status, absl::StrCat(path, ".", std::string(option.key)));
    }
  }
  if (handler.runtime_path.empty()) {
    return InvalidArgument(absl::StrCat(path, ".runtime_path: empty, and ", util::QuoteString(name),
                                        " is not in $PATH"));
  }
  if (handler.runtime_type == "vm" && !IsShimName(handler.runtime_path)) {
    return InvalidArgument(absl::StrCat(
        path, ".runtime_path: a vm runtime must be a containerd-shim-NAME binary, got ",
        util::QuoteString(handler.runtime_path)));
  }
  return absl::OkStatus();
}

Status ValidateOptions(const Config& config) {
  for (const Option& option : config_internal::Options()) {
    Status status = CheckValue(option, FieldOf(option, config));
    if (!status.ok()) {
      return Annotate(status,
                      absl::StrCat(std::string(option.table), ".", std::string(option.key)));
    }
  }
  return absl::OkStatus();
}

Status ValidateStreaming(const ApiConfig& api) {
  if (!api.stream_enable_tls) {
    return absl::OkStatus();
  }
  if (api.stream_tls_cert.empty()) {
    return InvalidArgument("crio.api.stream_tls_cert: required when stream_enable_tls is true");
  }
  if (api.stream_tls_key.empty()) {
    return InvalidArgument("crio.api.stream_tls_key: required when stream_enable_tls is true");
  }
  return absl::OkStatus();
}

// CRI-O's collectors (server/metrics/collectors), in its order.
constexpr std::string_view kMetricsCollectors[] = {
    "image_pulls_layer_size",
    "containers_events_dropped_total",
    "containers_oom_total",
    "processes_defunct",
    "operations_total",
    "operations_latency_seconds",
    "operations_latency_seconds_total",
    "operations_errors_total",
    "image_pulls_bytes_total",
    "image_pulls_skipped_bytes_total",
    "image_pulls_failure_total",
    "image_pulls_success_total",
    "image_layer_reuse_total",
    "containers_oom_count_total",
    "containers_seccomp_notifier_count_total",
    "resources_stalled_at_stage",
    "containers_stopped_monitor_count",
    "default_runtime",
};

}  // namespace

Status Validate(const Config& config) {
  RETURN_IF_ERROR(ValidateOptions(config));
  const RuntimeConfig& rt = config.runtime;
  if (rt.runtimes.find(rt.default_runtime) == rt.runtimes.end()) {
    return InvalidArgument(absl::StrCat("default_runtime ", util::QuoteString(rt.default_runtime),
                                        " has no [", std::string(kRuntimesTable), ".",
                                        TomlKey(rt.default_runtime), "] table"));
  }
  for (const auto& [name, handler] : rt.runtimes) {
    RETURN_IF_ERROR(ValidateHandler(name, handler));
  }
  RETURN_IF_ERROR(ValidateStreaming(config.api));
  return Annotate(ValidateMetricsCollectors(config.metrics.metrics_collectors),
                  absl::StrCat(std::string(kMetrics), ".metrics_collectors"));
}

std::span<const std::string_view> MetricsCollectorNames() { return kMetricsCollectors; }

std::string_view StripMetricsCollectorPrefix(std::string_view name) {
  if (name.starts_with("container_runtime_")) name.remove_prefix(sizeof("container_runtime_") - 1);
  if (name.starts_with("crio_")) name.remove_prefix(sizeof("crio_") - 1);
  return name;
}

Status ValidateMetricsCollectors(const std::vector<std::string>& collectors) {
  for (const std::string& collector : collectors) {
    std::string_view name = StripMetricsCollectorPrefix(collector);
    if (std::find(std::begin(kMetricsCollectors), std::end(kMetricsCollectors), name) ==
        std::end(kMetricsCollectors)) {
      return InvalidArgument(absl::StrCat("unknown collector ", util::QuoteString(collector),
                                          "; expected one of ", OneOfList(kMetricsCollectors)));
    }
  }
  return absl::OkStatus();
}

}  // namespace crio::config
