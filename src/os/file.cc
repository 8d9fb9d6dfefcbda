#include "os/file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "os/socket.h"
#include "os/unique_fd.h"

namespace crio::os {
namespace {

constexpr size_t kTempNameLength = 10;  // 50 random bits
constexpr int kTempNameAttempts = 100;

std::string TempNameFor(const std::string& path) {
  return absl::StrCat(path, ".", RandomName(kTempNameLength), ".tmp");
}

// A temp file beside `path`, created exclusively so no other writer can be using it.
struct TempFile {
  std::string path;
  UniqueFd fd;
};

StatusOr<TempFile> CreateTempFileFor(const std::string& path, mode_t mode) {
  for (int attempt = 0;; ++attempt) {
    TempFile tmp{TempNameFor(path), UniqueFd()};
    tmp.fd.reset(::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (tmp.fd) {
      return tmp;
    }
    if (errno != EEXIST || attempt + 1 == kTempNameAttempts) {
      return ErrnoError(errno, absl::StrCat("create `", tmp.path, "`"));
    }
  }
}

Status FsyncDirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    return ErrnoError(errno, absl::StrCat("open `", dir, "`"));
  }
  if (::fsync(fd.get()) != 0) {
    return ErrnoError(errno, absl::StrCat("fsync `", dir, "`"));
  }
  return absl::OkStatus();
}

// Everything WriteFileAtomic does between creating the temp file and renaming it over `path`.
Status FillAndRename(TempFile& tmp, std::string_view contents, const std::string& path) {
  RETURN_IF_ERROR(Annotate(WriteAll(tmp.fd.get(), contents), absl::StrCat("`", tmp.path, "`")));
  if (::fsync(tmp.fd.get()) != 0) {
    return ErrnoError(errno, absl::StrCat("fsync `", tmp.path, "`"));
  }
  tmp.fd.reset();
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("rename `", tmp.path, "` to `", path, "`"));
  }
  return absl::OkStatus();
}

}  // namespace

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

Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode) {
  ASSIGN_OR_RETURN(TempFile tmp, CreateTempFileFor(path, mode));
  Status filled = FillAndRename(tmp, contents, path);
  if (!filled.ok()) {
    ::unlink(tmp.path.c_str());
    return filled;
  }
  return FsyncDirOf(path);
}

Status ReplaceSymlink(const std::string& target, const std::string& link_path) {
  for (int attempt = 0;; ++attempt) {
    const std::string tmp = TempNameFor(link_path);
    if (::symlink(target.c_str(), tmp.c_str()) != 0) {
      if (errno == EEXIST && attempt + 1 < kTempNameAttempts) {
        continue;
      }
      return ErrnoError(errno, absl::StrCat("symlink `", tmp, "`"));
    }
    if (::rename(tmp.c_str(), link_path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoError(err, absl::StrCat("rename `", tmp, "` to `", link_path, "`"));
    }
    return absl::OkStatus();
  }
}

std::string RandomName(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string bytes(length, '\0');
  size_t got = 0;
  while (got < length) {
    ssize_t n = getrandom(bytes.data() + got, length - got, 0);
    if (n < 0) {
      CRIO_CHECK(errno == EINTR, "getrandom failed");
      continue;
    }
    got += static_cast<size_t>(n);
  }
  for (char& c : bytes) {
    c = kAlphabet[static_cast<unsigned char>(c) % 32];
  }
  return bytes;
}

}  // namespace crio::os
