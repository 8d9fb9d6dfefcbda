#include "sandbox/pod_files.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "os/file.h"
#include "os/mount_point.h"
#include "os/unique_fd.h"
#include "util/log.h"

namespace crio::sandbox {
namespace {

using os::UniqueFd;

constexpr size_t kMaxHostnameLength = 64;  // HOST_NAME_MAX on Linux

bool IsIpAddress(std::string_view text) {
  std::string s(text);
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    return true;
  }
  // Link-local IPv6 servers may carry a zone ("fe80::1%eth0"); resolv.conf accepts it.
  size_t percent = s.find('%');
  if (percent != std::string::npos) {
    std::string zone = s.substr(percent + 1);
    if (zone.empty() || zone.size() >= 16) {
      return false;
    }
    s.resize(percent);
  }
  return inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A resolv.conf token: non-empty, printable, no whitespace.
Status ValidateToken(std::string_view kind, std::string_view token) {
  bool ok = !token.empty();
  for (unsigned char c : token) {
    if (c <= ' ' || c == 0x7f) {
      ok = false;
      break;
    }
  }
  if (!ok) {
    return InvalidArgument(
        absl::StrCat("invalid DNS ", std::string(kind), " \"", std::string(token), "\""));
  }
  return absl::OkStatus();
}

std::string JoinPath(const std::string& dir, std::string_view name) {
  return absl::StrCat(dir, "/", std::string(name));
}

// Writes `content` to `path` in place (see the header for why not rename), mode 0644.
Status WriteFileInPlace(const std::string& path, std::string_view content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("open `", path, "`"));
  }
  if (fchmod(fd.get(), 0644) != 0) {  // the daemon's umask must not decide container access
    return ErrnoError(errno, absl::StrCat("chmod `", path, "`"));
  }
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = write(fd.get(), data, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("write `", path, "`"));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (close(fd.release()) != 0) {
    return ErrnoError(errno, absl::StrCat("close `", path, "`"));
  }
  return absl::OkStatus();
}

using os::IsMountRoot;

bool IsEmpty(const DnsConfig& dns) {
  return dns.servers.empty() && dns.searches.empty() && dns.options.empty();
}

}  // namespace

Status ValidateHostname(std::string_view hostname) {
  bool ok = !hostname.empty() && hostname.size() <= kMaxHostnameLength && hostname[0] != '-' &&
            hostname[0] != '.';
  for (char c : hostname) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_')) {
      ok = false;
      break;
    }
  }
  if (!ok) {
    return InvalidArgument(absl::StrCat("invalid pod hostname \"", std::string(hostname), "\""));
  }
  return absl::OkStatus();
}

std::string PodHostname(std::string_view configured, std::string_view pod_id, bool host_network,
                        std::string_view node_hostname) {
  if (!configured.empty()) return std::string(configured);
  if (host_network) return std::string(node_hostname);
  return std::string(pod_id.substr(0, 12));
}

StatusOr<std::string> RenderResolvConf(const DnsConfig& dns) {
  for (const std::string& server : dns.servers) {
    RETURN_IF_ERROR(ValidateToken("server", server));
    if (!IsIpAddress(server)) {
      return InvalidArgument(absl::StrCat("DNS server \"", server, "\" is not an IP address"));
    }
  }
  for (const std::string& search : dns.searches) {
    RETURN_IF_ERROR(ValidateToken("search domain", search));
  }
  for (const std::string& option : dns.options) {
    RETURN_IF_ERROR(ValidateToken("option", option));
  }
  std::string out;
  if (!dns.searches.empty()) {
    absl::StrAppend(&out, "search ", absl::StrJoin(dns.searches, " "), "\n");
  }
  for (const std::string& server : dns.servers) {
    absl::StrAppend(&out, "nameserver ", server, "\n");
  }
  if (!dns.options.empty()) {
    absl::StrAppend(&out, "options ", absl::StrJoin(dns.options, " "), "\n");
  }
  return out;
}

StatusOr<std::string> RenderHosts(std::string_view hostname, const std::vector<std::string>& ips) {
  RETURN_IF_ERROR(ValidateHostname(hostname));
  for (const std::string& ip : ips) {
    if (!IsIpAddress(ip) || ip.find('%') != std::string::npos) {
      return InvalidArgument(absl::StrCat("pod IP \"", ip, "\" is not an IP address"));
    }
  }
  std::string names(hostname);
  // A fully qualified pod hostname also resolves by its first label.
  size_t dot = hostname.find('.');
  if (dot != std::string_view::npos && dot > 0) {
    absl::StrAppend(&names, " ", std::string(hostname.substr(0, dot)));
  }
  std::string out =
      "# Written by crio-cpp for this pod.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  if (ips.empty()) {
    absl::StrAppend(&out, "127.0.1.1\t", names, "\n");
  }
  for (const std::string& ip : ips) {
    absl::StrAppend(&out, ip, "\t", names, "\n");
  }
  return out;
}

Status WriteHostnameFile(const std::string& pod_dir, std::string_view hostname) {
  RETURN_IF_ERROR(ValidateHostname(hostname));
  return WriteFileInPlace(JoinPath(pod_dir, kHostnameFile),
                          absl::StrCat(std::string(hostname), "\n"));
}

Status WriteResolvConf(const std::string& pod_dir, const DnsConfig& dns,
                       const std::string& host_resolv_conf) {
  std::string content;
  if (IsEmpty(dns)) {
    auto host = os::ReadSmallFile(host_resolv_conf, 1 << 20);
    if (host.ok()) {
      content = std::move(*host);
    } else if (absl::IsNotFound(host.status())) {
      CRIO_LOG_WARN("host resolv.conf {} does not exist; pod {} gets an empty resolv.conf",
                    host_resolv_conf, pod_dir);
    } else {
      return Annotate(host.status(), "copy host resolv.conf");
    }
  } else {
    ASSIGN_OR_RETURN(content, RenderResolvConf(dns));
  }
  return WriteFileInPlace(JoinPath(pod_dir, kResolvConfFile), content);
}

Status WriteHostsFile(const std::string& pod_dir, std::string_view hostname,
                      const std::vector<std::string>& ips) {
  ASSIGN_OR_RETURN(std::string content, RenderHosts(hostname, ips));
  return WriteFileInPlace(JoinPath(pod_dir, kHostsFile), content);
}

std::string ShmMountData(uint64_t size_bytes) {
  return absl::StrCat("mode=1777,size=", size_bytes);
}

StatusOr<std::string> MountShm(const std::string& pod_dir, uint64_t size_bytes) {
  if (size_bytes == 0) {
    return InvalidArgument("pod shm size must be greater than 0");
  }
  std::string shm = JoinPath(pod_dir, kShmDir);
  if (mkdir(shm.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(errno, absl::StrCat("mkdir `", shm, "`"));
  }
  struct stat shm_st;
  if (lstat(shm.c_str(), &shm_st) != 0) {
    return ErrnoError(errno, absl::StrCat("stat `", shm, "`"));
  }
  if (!S_ISDIR(shm_st.st_mode)) {
    return FailedPrecondition(absl::StrCat("`", shm, "` is not a directory"));
  }
  ASSIGN_OR_RETURN(bool mounted, IsMountRoot(shm));
  if (mounted) {
    return AlreadyExists(absl::StrCat("something is already mounted on `", shm, "`"));
  }
  std::string data = ShmMountData(size_bytes);
  Status mounted_shm = os::Mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
  if (!mounted_shm.ok()) {
    rmdir(shm.c_str());
    return Annotate(mounted_shm, absl::StrCat("shm (", data, ")"));
  }
  return shm;
}

Status UnmountShm(const std::string& shm_path) {
  // Peel every layer (a retried MountShm cannot stack, but a manual mount could), bounded.
  for (int i = 0; i < 16; ++i) {
    ASSIGN_OR_RETURN(bool mounted, IsMountRoot(shm_path));
    if (!mounted) {
      break;
    }
    RETURN_IF_ERROR(os::DetachMount(shm_path));
  }
  if (rmdir(shm_path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("rmdir `", shm_path, "`"));
  }
  return absl::OkStatus();
}

}  // namespace crio::sandbox
