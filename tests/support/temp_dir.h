#pragma once
// A temporary directory for tests, shared by the unit and integration tests.

#include <string>

namespace crio::testing {

// A fresh directory "<base>/<prefix>-XXXXXX", removed with everything below it on destruction.
// The removal first unmounts whatever is mounted at or below it (a test that failed half-way may
// leave mounts behind), then deletes entries without following symlinks or entering a filesystem
// other than the directory's own: nothing outside the directory is ever touched.
// path() is "" when the directory could not be made.
class TempDir {
 public:
  // Under `base`: a private systemd's namespace has its own /tmp; /var/tmp is shared with it.
  explicit TempDir(const std::string& base = "/tmp", const std::string& prefix = "crio-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // "<path>/<name>".
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to Sub(name), making its parent directories; returns Sub(name).
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace crio::testing
