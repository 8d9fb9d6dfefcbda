#include "container/seccomp_default.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace crio::container {
namespace {

using nlohmann::json;

constexpr int kEperm = 1;
constexpr int kEnosys = 38;

// Syscalls every container may make. The kernel still applies its own permission checks
// (e.g. mknod needs CAP_MKNOD, setuid needs CAP_SETUID); the filter only removes attack surface
// that unprivileged workloads have no use for. Names unknown on an architecture (chown32 on
// x86_64, ...) are skipped by the runtime's libseccomp lookup.
const std::vector<const char*>& AlwaysAllowed() {
  // Grouped by topic, several names per line.
  // clang-format off
  static const std::vector<const char*> kNames = {
      // files and directories
      "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod",
      "fchmodat", "fchmodat2", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown",
      "lchown32", "creat", "open", "openat", "openat2", "close", "close_range", "dup", "dup2",
      "dup3", "fcntl", "fcntl64", "flock", "fsync", "fdatasync", "sync", "syncfs",
      "sync_file_range", "truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate",
      "fadvise64", "fadvise64_64", "readahead", "getdents", "getdents64", "link", "linkat",
      "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir",
      "mkdirat", "rmdir", "mknod", "mknodat", "readlink", "readlinkat", "stat", "stat64",
      "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx", "statfs",
      "statfs64", "fstatfs", "fstatfs64", "umask", "utime", "utimes", "utimensat",
      "utimensat_time64", "futimesat", "getxattr", "lgetxattr", "fgetxattr", "setxattr",
      "lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
      "lremovexattr", "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
      "inotify_rm_watch", "fanotify_mark", "copy_file_range", "sendfile", "sendfile64",
      "splice", "tee", "vmsplice", "cachestat",
      // I/O
      "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev",
      "pwritev2", "lseek", "_llseek", "ioctl", "pipe", "pipe2", "select", "_newselect",
      "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64", "epoll_create",
      "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
      "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4",
      "timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime",
      "timerfd_gettime64", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
      "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
      // memory
      "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
      "mlock", "mlock2", "mlockall", "munlock", "munlockall", "memfd_create", "memfd_secret",
      "membarrier", "remap_file_pages", "pkey_alloc", "pkey_free", "pkey_mprotect",
      "map_shadow_stack",
      // processes, threads, signals
      "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid",
      "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "process_mrelease",
      "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
      "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
      "sigaltstack", "sigprocmask", "sigreturn", "pause", "restart_syscall", "futex",
      "futex_time64", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue",
      "set_robust_list", "get_robust_list", "set_tid_address", "get_thread_area",
      "set_thread_area", "rseq", "prctl", "seccomp", "capget", "capset", "getpid", "getppid",
      "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid", "getpriority",
      "setpriority", "getrlimit", "setrlimit", "ugetrlimit", "prlimit64", "getrusage", "times",
      "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
      "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
      "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
      "sched_rr_get_interval_time64", "getcpu", "landlock_create_ruleset", "landlock_add_rule",
      "landlock_restrict_self", "ptrace",
      // credentials
      "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid",
      "getegid32", "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups",
      "getgroups32", "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32",
      "setregid", "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32",
      "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32",
      // time
      "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
      "clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "alarm",
      "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
      "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "adjtimex",
      "clock_adjtime", "clock_adjtime64",
      // sockets
      "socket", "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4",
      "getsockname", "getpeername", "getsockopt", "setsockopt", "send", "sendto", "sendmsg",
      "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "shutdown",
      // System V and POSIX IPC (namespaced by the pod's IPC namespace)
      "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semctl", "semtimedop",
      "semtimedop_time64", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink",
      "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
      "mq_notify", "mq_getsetattr",
      // misc
      "uname", "sysinfo", "getrandom",
  };
  // clang-format on
  return kNames;
}

struct CapGated {
  const char* cap;
  std::vector<const char*> names;
};

// Syscalls that only make sense with a capability; allowed only when the container holds it.
const std::vector<CapGated>& CapGatedGroups() {
  // clang-format off
  static const std::vector<CapGated> kGroups = {
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
      {"CAP_SYS_ADMIN",
       {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at",
        "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
        "sethostname", "setns", "syslog", "umount", "umount2", "unshare"}},
      {"CAP_SYS_BOOT", {"reboot"}},
      {"CAP_SYS_CHROOT", {"chroot"}},
      {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_PTRACE",
       {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev"}},
      {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
      {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
      {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
      {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_BPF", {"bpf"}},
      {"CAP_PERFMON", {"perf_event_open"}},
  };
  // clang-format on
  return kGroups;
}

bool IsX86(const std::string& machine) {
  return machine == "x86_64" || machine == "i386" || machine == "i686";
}

bool IsArm(const std::string& machine) {
  return machine == "aarch64" || machine.rfind("arm", 0) == 0;
}

// Go's GOARCH for a uname machine, which Docker-format profiles use in "arches".
std::string GoArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i386" || machine == "i686") return "386";
  if (machine.rfind("arm", 0) == 0) return "arm";
  return machine;  // ppc64le, s390x, riscv64 are spelled the same
}

bool HasCap(const std::vector<std::string>& caps, std::string_view cap) {
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

json Allow(const std::vector<const char*>& names) {
  json rule = {{"action", "SCMP_ACT_ALLOW"}, {"names", json::array()}};
  for (const char* n : names) {
    rule["names"].push_back(n);
  }
  return rule;
}

json ArgEq(int index, uint64_t value) {
  return json::array({{{"index", index}, {"value", value}, {"op", "SCMP_CMP_EQ"}}});
}

// Kernel "major.minor" as a comparable number; -1 when unparsable.
long KernelVersion(const std::string& release) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) {
    return -1;
  }
  return major * 1000L + minor;
}

bool StringListHas(const json& list, const std::string& value) {
  if (!list.is_array()) {
    return false;
  }
  for (const json& v : list) {
    if (v.is_string() && v.get<std::string>() == value) {
      return true;
    }
  }
  return false;
}

bool ArchMatches(const json& arches, const std::string& machine) {
  return StringListHas(arches, GoArch(machine)) || StringListHas(arches, machine);
}

// Whether a Docker-format rule applies to this container and host.
bool RuleApplies(const json& rule, const std::vector<std::string>& caps, const SeccompHost& host) {
  if (auto inc = rule.find("includes"); inc != rule.end() && inc->is_object()) {
    if (auto c = inc->find("caps"); c != inc->end() && c->is_array()) {
      for (const json& cap : *c) {
        if (!cap.is_string() || !HasCap(caps, cap.get<std::string>())) {
          return false;
        }
      }
    }
    if (auto a = inc->find("arches");
        a != inc->end() && a->is_array() && !a->empty() && !ArchMatches(*a, host.machine)) {
      return false;
    }
    if (auto k = inc->find("minKernel"); k != inc->end() && k->is_string()) {
      long have = KernelVersion(host.kernel_release);
      long want = KernelVersion(k->get<std::string>());
      if (have >= 0 && want >= 0 && have < want) {
        return false;
      }
    }
  }
  if (auto exc = rule.find("excludes"); exc != rule.end() && exc->is_object()) {
    if (auto c = exc->find("caps"); c != exc->end() && c->is_array()) {
      for (const json& cap : *c) {
        if (cap.is_string() && HasCap(caps, cap.get<std::string>())) {
          return false;
        }
      }
    }
    if (auto a = exc->find("arches");
        a != exc->end() && a->is_array() && ArchMatches(*a, host.machine)) {
      return false;
    }
  }
  return true;
}

StatusOr<json> ConvertArchitectures(const json& profile, const SeccompHost& host) {
  json out = json::array();
  if (auto a = profile.find("architectures"); a != profile.end() && a->is_array()) {
    out = *a;
  }
  auto map = profile.find("archMap");
  if (map == profile.end() || map->is_null()) {
    return out;
  }
  if (!map->is_array()) {
    return InvalidArgument("seccomp profile: archMap must be an array");
  }
  std::vector<std::string> native = SeccompArchitectures(host.machine);
  if (native.empty()) {
    return out;
  }
  for (const json& entry : *map) {
    if (!entry.is_object() || entry.value("architecture", "") != native.front()) {
      continue;
    }
    if (!StringListHas(out, native.front())) {
      out.push_back(native.front());
    }
    if (auto subs = entry.find("subArchitectures"); subs != entry.end() && subs->is_array()) {
      for (const json& s : *subs) {
        if (s.is_string() && !StringListHas(out, s.get<std::string>())) {
          out.push_back(s);
        }
      }
    }
  }
  return out;
}

StatusOr<json> ConvertRule(const json& rule, size_t index) {
  const std::string where = absl::StrCat("seccomp profile: syscalls[", index, "]");
  if (!rule.is_object()) {
    return InvalidArgument(where + " is not an object");
  }
  json names = json::array();
  if (auto n = rule.find("names"); n != rule.end() && n->is_array()) {
    for (const json& name : *n) {
      if (name.is_string() && !name.get<std::string>().empty()) {
        names.push_back(name);
      }
    }
  }
  if (auto n = rule.find("name");
      n != rule.end() && n->is_string() && !n->get<std::string>().empty()) {
    names.push_back(*n);
  }
  auto action = rule.find("action");
  if (names.empty() || action == rule.end() || !action->is_string()) {
    return InvalidArgument(where + " needs names and an action");
  }
  json out = {{"names", names}, {"action", *action}};
  if (auto e = rule.find("errnoRet"); e != rule.end() && e->is_number_unsigned()) {
    out["errnoRet"] = *e;
  }
  if (auto a = rule.find("args"); a != rule.end() && a->is_array() && !a->empty()) {
    out["args"] = *a;
  }
  return out;
}

}  // namespace

std::vector<std::string> SeccompArchitectures(const std::string& machine) {
  if (machine == "x86_64") return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  if (machine == "i386" || machine == "i686") return {"SCMP_ARCH_X86"};
  if (machine == "aarch64") return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  if (machine.rfind("arm", 0) == 0) return {"SCMP_ARCH_ARM"};
  if (machine == "ppc64le") return {"SCMP_ARCH_PPC64LE"};
  if (machine == "s390x") return {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
  if (machine == "riscv64") return {"SCMP_ARCH_RISCV64"};
  return {};
}

nlohmann::json DefaultSeccompProfile(const std::vector<std::string>& caps,
                                     const SeccompHost& host) {
  json syscalls = json::array();
  syscalls.push_back(Allow(AlwaysAllowed()));

  // Only the personas that change nothing security-relevant: PER_LINUX, PER_LINUX32 (and their
  // UNAME26 variants) and the 0xffffffff query.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
    json rule = Allow({"personality"});
    rule["args"] = ArgEq(0, persona);
    syscalls.push_back(std::move(rule));
  }

  if (IsX86(host.machine)) {
    syscalls.push_back(Allow({"arch_prctl", "modify_ldt"}));
  }
  if (IsArm(host.machine)) {
    syscalls.push_back(Allow({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
                              "breakpoint", "cacheflush", "set_tls"}));
  }

  for (const CapGated& group : CapGatedGroups()) {
    if (HasCap(caps, group.cap)) {
      syscalls.push_back(Allow(group.names));
    }
  }
  if (!HasCap(caps, "CAP_SYS_ADMIN")) {
    // clone without any CLONE_NEW* flag (0x7E020000: NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|
    // NEWPID|NEWNET), so threads and fork work but namespaces cannot be created.
    json clone = Allow({"clone"});
    clone["args"] = json::array(
        {{{"index", 0}, {"value", 0x7E020000ULL}, {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}});
    syscalls.push_back(std::move(clone));
    // clone3 passes its flags in memory, which seccomp cannot inspect: ENOSYS makes libc fall
    // back to clone, which the rule above checks.
    syscalls.push_back(
        {{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}});
  }

  json profile = {{"defaultAction", "SCMP_ACT_ERRNO"},
                  {"defaultErrnoRet", kEperm},
                  {"syscalls", std::move(syscalls)}};
  std::vector<std::string> arches = SeccompArchitectures(host.machine);
  if (!arches.empty()) {
    profile["architectures"] = arches;
  }
  return profile;
}

StatusOr<nlohmann::json> SeccompProfileToOci(const nlohmann::json& profile,
                                             const std::vector<std::string>& caps,
                                             const SeccompHost& host) {
  if (!profile.is_object()) {
    return InvalidArgument("seccomp profile: not a JSON object");
  }
  auto action = profile.find("defaultAction");
  if (action == profile.end() || !action->is_string() || action->get<std::string>().empty()) {
    return InvalidArgument("seccomp profile: defaultAction is required");
  }
  json out = {{"defaultAction", *action}};
  for (const char* key : {"defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"}) {
    if (auto v = profile.find(key); v != profile.end() && !v->is_null()) {
      out[key] = *v;
    }
  }
  ASSIGN_OR_RETURN(json arches, ConvertArchitectures(profile, host));
  if (!arches.empty()) {
    out["architectures"] = std::move(arches);
  }
  json syscalls = json::array();
  if (auto s = profile.find("syscalls"); s != profile.end() && !s->is_null()) {
    if (!s->is_array()) {
      return InvalidArgument("seccomp profile: syscalls must be an array");
    }
    for (size_t i = 0; i < s->size(); ++i) {
      const json& rule = (*s)[i];
      if (rule.is_object() && !RuleApplies(rule, caps, host)) {
        continue;
      }
      ASSIGN_OR_RETURN(json converted, ConvertRule(rule, i));
      syscalls.push_back(std::move(converted));
    }
  }
  if (!syscalls.empty()) {
    out["syscalls"] = std::move(syscalls);
  }
  return out;
}

}  // namespace crio::container
