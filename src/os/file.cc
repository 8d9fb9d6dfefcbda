#include "os/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "os/unique_fd.h"

namespace crio::os {

StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_size) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, absl::StrCat("open `", path, "`"));
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, absl::StrCat("read `", path, "`"));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_size) {
      return InvalidArgument(absl::StrCat("`", path, "` is larger than ", max_size, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace crio::os
