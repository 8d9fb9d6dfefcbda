#include "sandbox/namespaces.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "os/mount_point.h"
#include "os/process.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::sandbox {
namespace {

using os::UniqueFd;

// How long the parent waits for the namespace child to report. The child only makes a handful
// of syscalls; the deadline exists so a wedged kernel call cannot hang an RPC forever.
constexpr int kChildReportTimeoutMs = 30'000;
constexpr size_t kChildStackSize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Validation

bool IsSysctlChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ':';
}

// Dotted form of `name`: Kubernetes' rule is that when the first separator is '/', the roles of
// '/' and '.' are swapped.
std::string ToDottedSysctl(std::string_view name) {
  size_t first = name.find_first_of("./");
  std::string out(name);
  if (first != std::string_view::npos && name[first] == '/') {
    for (char& c : out) {
      if (c == '/') {
        c = '.';
      } else if (c == '.') {
        c = '/';
      }
    }
  }
  return out;
}

Status ValidatePodId(const std::string& pod_id) {
  if (pod_id.empty() || pod_id == "." || pod_id == ".." || pod_id.find('/') != std::string::npos ||
      pod_id.find('\0') != std::string::npos || pod_id.size() > NAME_MAX) {
    return InvalidArgument(absl::StrCat("invalid pod id for namespace pinning: \"", pod_id, "\""));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The child. Everything it touches is prepared by the parent; it calls only raw syscalls.

enum ChildStep : int32_t {
  kStepOk = 0,
  kStepPdeathsig,
  kStepWaitMappings,
  kStepSetresgid,
  kStepSetresuid,
  kStepOpenSysctl,
  kStepWriteSysctl,
  kStepLoopbackSocket,
  kStepLoopbackGetFlags,
  kStepLoopbackSetFlags,
  kStepCount,
};

constexpr std::array<const char*, kStepCount> kStepNames = {
    "ok",
    "prctl(PR_SET_PDEATHSIG)",
    "wait for user namespace mappings",
    "setresgid(0) in the user namespace",
    "setresuid(0) in the user namespace",
    "open sysctl",
    "write sysctl",
    "socket() to configure lo",
    "ioctl(SIOCGIFFLAGS) on lo",
    "ioctl(SIOCSIFFLAGS) on lo",
};

// Fixed-size, written with one write(2) (atomic for a pipe), so no allocation in the child.
struct ChildReport {
  int32_t step = kStepOk;
  int32_t err = 0;
  int32_t sysctl_index = -1;
};

struct PreparedSysctl {
  std::string name;  // as given, for messages
  std::string path;  // /proc/sys/...
  std::string value;
};

struct ChildArgs {
  std::vector<PreparedSysctl> sysctls;
  bool bring_up_lo = false;
  bool user = false;
  int report_fd = -1;          // write end, child's
  int report_read_fd = -1;     // parent's end; the child closes its copy
  int mappings_fd = -1;        // read end, child's: 1 byte = user namespace mappings written
  int mappings_write_fd = -1;  // parent's end; the child closes its copy
};

[[noreturn]] void ChildFail(const ChildArgs& args, ChildStep step, int err, int index = -1) {
  ChildReport report;
  report.step = step;
  report.err = err;
  report.sysctl_index = index;
  (void)!write(args.report_fd, &report, sizeof(report));
  _exit(1);
}

bool ChildWriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Blocks until the parent writes a byte (true) or the pipe reports EOF or an error (false).
// Nothing may depend on EOF alone: children cloned concurrently by other threads inherit copies
// of our pipe ends, so an EOF can be delayed until they exit.
bool ChildWaitForParent(int fd) {
  char byte;
  for (;;) {
    ssize_t n = read(fd, &byte, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n == 1;
  }
}

int ChildMain(void* opaque) {
  const ChildArgs& args = *static_cast<const ChildArgs*>(opaque);
  close(args.report_read_fd);
  close(args.mappings_write_fd);

  // If the daemon dies mid-way the child must not linger holding the namespaces.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    ChildFail(args, kStepPdeathsig, errno);
  }
  if (args.user) {
    if (!ChildWaitForParent(args.mappings_fd)) {
      ChildFail(args, kStepWaitMappings, EPIPE);
    }
    // Raw syscalls: glibc's setresuid() would try to signal the parent's threads, which it
    // still believes are ours after a bare clone().
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) {
      ChildFail(args, kStepSetresgid, errno);
    }
    if (syscall(SYS_setresuid, 0, 0, 0) != 0) {
      ChildFail(args, kStepSetresuid, errno);
    }
  }
  // /proc/sys resolves net.* and kernel.shm* against the opener's namespaces, i.e. the new ones.
  for (size_t i = 0; i < args.sysctls.size(); ++i) {
    const PreparedSysctl& sysctl = args.sysctls[i];
    int fd = open(sysctl.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      ChildFail(args, kStepOpenSysctl, errno, static_cast<int>(i));
    }
    if (!ChildWriteAll(fd, sysctl.value.data(), sysctl.value.size())) {
      ChildFail(args, kStepWriteSysctl, errno, static_cast<int>(i));
    }
    if (close(fd) != 0) {
      ChildFail(args, kStepWriteSysctl, errno, static_cast<int>(i));
    }
  }
  if (args.bring_up_lo) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
      ChildFail(args, kStepLoopbackSocket, errno);
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) {
      ChildFail(args, kStepLoopbackGetFlags, errno);
    }
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) {
      ChildFail(args, kStepLoopbackSetFlags, errno);
    }
    close(sock);
  }
  ChildReport ok;
  if (!ChildWriteAll(args.report_fd, reinterpret_cast<const char*>(&ok), sizeof(ok))) {
    _exit(1);
  }
  // Stay alive (keeping the namespaces referenced) until the parent has bind-mounted them and
  // kills us.
  for (;;) {
    pause();
  }
}

// A pin file and, once mounted, its bind mount. Undone on destruction unless committed: the
// mount is detached first, then the file is unlinked.
class PinTarget {
 public:
  explicit PinTarget(std::string path) : path_(std::move(path)) {}
  PinTarget(PinTarget&& other) noexcept
      : path_(std::move(other.path_)), mounted_(other.mounted_), active_(other.active_) {
    other.active_ = false;
  }
  PinTarget(const PinTarget&) = delete;
  PinTarget& operator=(const PinTarget&) = delete;
  PinTarget& operator=(PinTarget&&) = delete;
  ~PinTarget() {
    if (!active_) {
      return;
    }
    if (mounted_) {
      if (Status st = os::DetachMount(path_); !st.ok()) {
        CRIO_LOG_WARN("rollback: {}", st.message());
      }
    }
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
      CRIO_LOG_WARN("rollback: unlink pin {}: {}", path_, std::strerror(errno));
    }
  }

  const std::string& path() const { return path_; }

  // Creates the empty regular file the namespace is mounted on. A leftover plain file (e.g. from
  // a crash between create and mount) is reused; an existing nsfs mount is AlreadyExists.
  Status Create() {
    int fd = open(path_.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0);
    if (fd < 0) {
      int err = errno;
      if (err != EEXIST) {
        return ErrnoError(err, absl::StrCat("create pin file `", path_, "`"));
      }
      struct stat st;
      if (lstat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return FailedPrecondition(absl::StrCat("pin path `", path_, "` is not a regular file"));
      }
      struct statfs fs;
      if (statfs(path_.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC) {
        return AlreadyExists(absl::StrCat("namespace already pinned at `", path_, "`"));
      }
    } else {
      close(fd);
    }
    active_ = true;
    return absl::OkStatus();
  }

  Status BindFrom(const std::string& source) {
    RETURN_IF_ERROR(os::BindMount(source, path_));
    mounted_ = true;
    return absl::OkStatus();
  }

  void Commit() { active_ = false; }

 private:
  std::string path_;
  bool mounted_ = false;
  bool active_ = false;
};

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return ErrnoError(ec.value(), absl::StrCat("mkdir `", dir, "`"));
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return ErrnoError(errno, absl::StrCat("stat `", dir, "`"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPrecondition(absl::StrCat("`", dir, "` exists and is not a directory"));
  }
  return absl::OkStatus();
}

Status WriteProcFile(const std::string& path, const std::string& content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("open `", path, "`"));
  }
  // id maps must be written with a single write(2).
  ssize_t n = write(fd.get(), content.data(), content.size());
  if (n < 0) {
    return ErrnoError(errno, absl::StrCat("write `", path, "`"));
  }
  if (static_cast<size_t>(n) != content.size()) {
    return Internal(absl::StrCat("short write to `", path, "`"));
  }
  return absl::OkStatus();
}

// Reads the child's report, waiting at most kChildReportTimeoutMs. Watching the pidfd too
// notices a child that died without reporting even while another thread's concurrently cloned
// child still holds a copy of the pipe's write end (so EOF would not come).
StatusOr<ChildReport> ReadChildReport(int fd, int pidfd) {
  struct pollfd pfds[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
  for (;;) {
    int r = poll(pfds, 2, kChildReportTimeoutMs);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      return ErrnoError(errno, "poll namespace child");
    }
    if (r == 0) {
      return DeadlineExceeded("namespace child did not report within 30s");
    }
    // The child writes its report before exiting, so a report always shows up with the exit.
    if ((pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      return Internal("namespace child exited without reporting");
    }
    break;
  }
  ChildReport report;
  ssize_t n;
  do {
    n = read(fd, &report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return ErrnoError(errno, "read namespace child report");
  }
  if (n != static_cast<ssize_t>(sizeof(report))) {
    return Internal("namespace child exited without reporting");
  }
  return report;
}

Status ReportToStatus(const ChildReport& report, const ChildArgs& args) {
  if (report.step == kStepOk) {
    return absl::OkStatus();
  }
  std::string what =
      report.step > 0 && report.step < kStepCount ? kStepNames[report.step] : "unknown step";
  if (report.sysctl_index >= 0 && static_cast<size_t>(report.sysctl_index) < args.sysctls.size()) {
    const PreparedSysctl& s = args.sysctls[static_cast<size_t>(report.sysctl_index)];
    absl::StrAppend(&what, " ", s.name, "=", s.value, " (`", s.path, "`)");
  }
  return ErrnoError(report.err, what);
}

struct NamespaceKind {
  const char* proc_name;  // /proc/<pid>/ns/<proc_name>
  const char* dir_name;   // <namespaces_dir>/<dir_name>/<pod_id>
};
constexpr NamespaceKind kNetKind = {"net", "netns"};
constexpr NamespaceKind kIpcKind = {"ipc", "ipcns"};
constexpr NamespaceKind kUtsKind = {"uts", "utsns"};
constexpr NamespaceKind kUserKind = {"user", "userns"};

std::string PinPath(const std::string& dir, const NamespaceKind& kind, const std::string& pod_id) {
  return absl::StrCat(dir, "/", kind.dir_name, "/", pod_id);
}

using os::IsMountRoot;

Status UnpinOne(const std::string& path) {
  if (path.empty()) {
    return absl::OkStatus();
  }
  // A pin may have been mounted more than once (e.g. by hand); peel every layer, bounded.
  for (int i = 0; i < 16; ++i) {
    ASSIGN_OR_RETURN(bool mounted, IsMountRoot(path));
    if (!mounted) {
      break;
    }
    RETURN_IF_ERROR(Annotate(os::DetachMount(path), "pin"));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("unlink pin `", path, "`"));
  }
  return absl::OkStatus();
}

StatusOr<PinnedNamespaces> PinValidated(const PinRequest& request) {
  const std::string& dir = request.namespaces_dir;
  RETURN_IF_ERROR(EnsureDir(dir));

  struct Wanted {
    bool requested;
    NamespaceKind kind;
    std::string PinnedNamespaces::*field;
  };
  // User first: its pin is the owner of the others.
  const std::array<Wanted, 4> wanted = {{
      {request.user, kUserKind, &PinnedNamespaces::user_path},
      {request.uts, kUtsKind, &PinnedNamespaces::uts_path},
      {request.ipc, kIpcKind, &PinnedNamespaces::ipc_path},
      {request.net, kNetKind, &PinnedNamespaces::net_path},
  }};

  // Targets are declared before the child so that on failure the child is reaped first and
  // then the mounts and files are removed.
  std::vector<PinTarget> targets;
  std::vector<const Wanted*> target_kinds;
  for (const Wanted& w : wanted) {
    if (!w.requested) {
      continue;
    }
    RETURN_IF_ERROR(EnsureDir(absl::StrCat(dir, "/", w.kind.dir_name)));
    PinTarget target(PinPath(dir, w.kind, request.pod_id));
    RETURN_IF_ERROR(target.Create());
    targets.push_back(std::move(target));
    target_kinds.push_back(&w);
  }

  ChildArgs args;
  args.user = request.user;
  args.bring_up_lo = request.net;
  for (const auto& [name, value] : request.sysctls) {
    ASSIGN_OR_RETURN(std::string path, SysctlProcPath(name));
    args.sysctls.push_back({name, std::move(path), value});
  }

  int report_pipe[2];
  if (pipe2(report_pipe, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "pipe2");
  }
  UniqueFd report_read(report_pipe[0]);
  UniqueFd report_write(report_pipe[1]);
  int mappings_pipe[2];
  if (pipe2(mappings_pipe, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "pipe2");
  }
  UniqueFd mappings_read(mappings_pipe[0]);
  UniqueFd mappings_write(mappings_pipe[1]);
  args.report_fd = report_write.get();
  args.report_read_fd = report_read.get();
  args.mappings_fd = mappings_read.get();
  args.mappings_write_fd = mappings_write.get();

  int flags = 0;
  if (request.user) {
    flags |= CLONE_NEWUSER;
  }
  if (request.net) {
    flags |= CLONE_NEWNET;
  }
  if (request.ipc) {
    flags |= CLONE_NEWIPC;
  }
  if (request.uts) {
    flags |= CLONE_NEWUTS;
  }

  auto cloned = os::CloneChild(flags, ChildMain, &args, kChildStackSize);
  if (!cloned.ok()) {
    return Annotate(cloned.status(), "namespace child");
  }
  // Killed and reaped on every return: nothing leaves a zombie or a process holding the
  // namespaces.
  os::ChildProcess child = *std::move(cloned);
  const pid_t pid = child.pid();
  report_write.reset();
  mappings_read.reset();

  if (request.user) {
    // setgroups is left alone: a parent with CAP_SETGID in our namespace may write gid_map.
    RETURN_IF_ERROR(WriteProcFile(absl::StrCat("/proc/", pid, "/gid_map"), request.gid_map));
    RETURN_IF_ERROR(WriteProcFile(absl::StrCat("/proc/", pid, "/uid_map"), request.uid_map));
    char byte = '1';
    if (write(mappings_write.get(), &byte, 1) != 1) {
      return ErrnoError(errno, "signal namespace child");
    }
  }

  ASSIGN_OR_RETURN(ChildReport report, ReadChildReport(report_read.get(), child.pidfd()));
  RETURN_IF_ERROR(ReportToStatus(report, args));

  PinnedNamespaces pins;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Wanted& w = *target_kinds[i];
    RETURN_IF_ERROR(targets[i].BindFrom(absl::StrCat("/proc/", pid, "/ns/", w.kind.proc_name)));
    pins.*(w.field) = targets[i].path();
  }

  // The mounts now hold the namespaces; the child has served its purpose.
  RETURN_IF_ERROR(Annotate(child.Signal(SIGKILL), "namespace child"));
  ASSIGN_OR_RETURN(os::ExitStatus exit, child.Wait());
  if (exit.signal != SIGKILL) {
    return Internal(
        absl::StrCat("namespace child ended before it was released (", exit.ToString(), ")"));
  }
  for (PinTarget& target : targets) {
    target.Commit();
  }
  return pins;
}

}  // namespace

StatusOr<SysctlNamespace> ClassifySysctl(std::string_view name) {
  std::string dotted = ToDottedSysctl(name);
  if (dotted.starts_with("net.")) {
    return SysctlNamespace::kNet;
  }
  if (dotted.starts_with("kernel.shm") || dotted.starts_with("kernel.msg") ||
      dotted == "kernel.sem" || dotted.starts_with("fs.mqueue.")) {
    return SysctlNamespace::kIpc;
  }
  return InvalidArgument(absl::StrCat("sysctl \"", std::string(name),
                                      "\" is not namespaced and cannot be set for a pod"));
}

StatusOr<std::string> SysctlProcPath(std::string_view name) {
  auto invalid = [&] {
    return InvalidArgument(absl::StrCat("invalid sysctl name \"", std::string(name), "\""));
  };
  if (name.empty()) {
    return invalid();
  }
  for (char c : name) {
    if (!IsSysctlChar(c)) {
      return invalid();
    }
  }
  // In dotted form '.' separates and '/' stands for a '.' inside a component.
  std::string dotted = ToDottedSysctl(name);
  std::string path = "/proc/sys";
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t end = dotted.find('.', start);
    if (end == std::string::npos) {
      end = dotted.size();
    }
    std::string component = dotted.substr(start, end - start);
    for (char& c : component) {
      if (c == '/') {
        c = '.';
      }
    }
    if (component.empty() || component == "." || component == "..") {
      return invalid();
    }
    absl::StrAppend(&path, "/", component);
    start = end + 1;
  }
  return path;
}

Status ValidatePinRequest(const PinRequest& request) {
  RETURN_IF_ERROR(ValidatePodId(request.pod_id));
  if (request.namespaces_dir.empty() || request.namespaces_dir[0] != '/') {
    return InvalidArgument(
        absl::StrCat("namespaces dir must be an absolute path: \"", request.namespaces_dir, "\""));
  }
  if (!request.net && !request.ipc && !request.uts && !request.user) {
    return InvalidArgument("no namespace requested for pinning");
  }
  if (request.user && (request.uid_map.empty() || request.gid_map.empty())) {
    return InvalidArgument("a user namespace needs both uid and gid mappings");
  }
  if (!request.user && (!request.uid_map.empty() || !request.gid_map.empty())) {
    return InvalidArgument("uid/gid mappings given without a user namespace");
  }
  for (const auto& [name, value] : request.sysctls) {
    ASSIGN_OR_RETURN(SysctlNamespace ns, ClassifySysctl(name));
    RETURN_IF_ERROR(SysctlProcPath(name).status());
    if (ns == SysctlNamespace::kNet && !request.net) {
      return InvalidArgument(
          absl::StrCat("sysctl \"", name, "\" needs a pod network namespace (host network pod)"));
    }
    if (ns == SysctlNamespace::kIpc && !request.ipc) {
      return InvalidArgument(
          absl::StrCat("sysctl \"", name, "\" needs a pod IPC namespace (host IPC pod)"));
    }
    if (value.find('\0') != std::string::npos || value.find('\n') != std::string::npos) {
      return InvalidArgument(absl::StrCat("invalid value for sysctl \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

PinnedNamespaces PinPathsFor(const std::string& namespaces_dir, const std::string& pod_id) {
  PinnedNamespaces pins;
  pins.net_path = PinPath(namespaces_dir, kNetKind, pod_id);
  pins.ipc_path = PinPath(namespaces_dir, kIpcKind, pod_id);
  pins.uts_path = PinPath(namespaces_dir, kUtsKind, pod_id);
  pins.user_path = PinPath(namespaces_dir, kUserKind, pod_id);
  return pins;
}

StatusOr<PinnedNamespaces> PinNamespaces(const PinRequest& request) {
  std::string context = absl::StrCat("pin namespaces for pod ", request.pod_id);
  RETURN_IF_ERROR(Annotate(ValidatePinRequest(request), context));
  auto pins = PinValidated(request);
  if (!pins.ok()) {
    return Annotate(pins.status(), context);
  }
  return pins;
}

Status UnpinNamespaces(const PinnedNamespaces& pins) {
  Status first;
  // Net first: it is the one CNI and the kubelet care about; user last, it owns the others.
  for (const std::string* path :
       {&pins.net_path, &pins.ipc_path, &pins.uts_path, &pins.user_path}) {
    Status s = UnpinOne(*path);
    if (!s.ok() && first.ok()) {
      first = s;
    }
  }
  return first;
}

bool HasRealNetns(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return false;
  }
  struct statfs fs;
  if (fstatfs(fd.get(), &fs) != 0 || fs.f_type != NSFS_MAGIC) {
    return false;
  }
  return ioctl(fd.get(), NS_GET_NSTYPE) == CLONE_NEWNET;
}

}  // namespace crio::sandbox
