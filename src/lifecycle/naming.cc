#include "lifecycle/naming.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>

#include "util/status.h"

namespace crio::lifecycle {

int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", 1},   {"INT", 2},     {"QUIT", 3},  {"ILL", 4},     {"TRAP", 5},  {"ABRT", 6},
      {"BUS", 7},   {"FPE", 8},     {"KILL", 9},  {"USR1", 10},   {"SEGV", 11}, {"USR2", 12},
      {"PIPE", 13}, {"ALRM", 14},   {"TERM", 15}, {"STKFLT", 16}, {"CHLD", 17}, {"CONT", 18},
      {"STOP", 19}, {"TSTP", 20},   {"TTIN", 21}, {"TTOU", 22},   {"URG", 23},  {"XCPU", 24},
      {"XFSZ", 25}, {"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28},  {"IO", 29},   {"PWR", 30},
      {"SYS", 31}};
  if (name.empty()) return 0;
  if (std::all_of(name.begin(), name.end(), ::isdigit)) return std::stoi(name);
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  // Real-time signals: RTMIN (34), RTMIN+k, RTMAX (64), RTMAX-k; the proto spells "_PLUS_".
  for (auto& c : n)
    if (c == '_') c = ' ';
  auto rt = [&](const char* base, int value) -> std::optional<int> {
    std::string b = base;
    if (n.rfind(b, 0) != 0) return std::nullopt;
    std::string rest = n.substr(b.size());
    if (rest.empty()) return value;
    int k = 0;
    for (char c : rest)
      if (isdigit(static_cast<unsigned char>(c))) k = k * 10 + (c - '0');
    bool minus = rest.find('-') != std::string::npos || rest.find("MINUS") != std::string::npos;
    return minus ? value - k : value + k;
  };
  if (auto v = rt("RTMIN", 34)) return *v;
  if (auto v = rt("RTMAX", 64)) return *v;
  auto it = kSignals.find(n);
  return it == kSignals.end() ? 0 : it->second;
}

v1::Signal SignalEnum(int number) {
  static const char* kNames[] = {
      nullptr,     "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS"};
  v1::Signal out = v1::RUNTIME_DEFAULT;
  std::string name;
  if (number > 0 && number < 32) {
    name = kNames[number];
  } else if (number == 34) {
    name = "SIGRTMIN";
  } else if (number > 34 && number < 64) {
    name = number <= 49 ? absl::StrCat("SIGRTMINPLUS", number - 34)
                        : absl::StrCat("SIGRTMAXMINUS", 64 - number);
  } else if (number == 64) {
    name = "SIGRTMAX";
  }
  if (!name.empty()) v1::Signal_Parse(name, &out);
  return out;
}

std::string NewId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::string id(64, '0');
  for (auto& c : id) c = kHex[rng() % 16];
  return id;
}

std::string PodName(const v1::PodSandboxMetadata& m) {
  return absl::StrCat("k8s_POD_", m.name(), "_", m.namespace_(), "_", m.uid(), "_", m.attempt());
}

std::string ContainerName(const v1::ContainerMetadata& c, const v1::PodSandboxMetadata& p) {
  return absl::StrCat("k8s_", c.name(), "_", p.name(), "_", p.namespace_(), "_", p.uid(), "_",
                      c.attempt());
}

bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace crio::lifecycle
