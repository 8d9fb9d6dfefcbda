#pragma once
// Owning file descriptor: closes exactly once, never converts to int implicitly.

#include <utility>

namespace crio::os {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up ownership, e.g. when handing the fd to a child process.
  int release() { return std::exchange(fd_, -1); }
  // Closes the current fd (EINTR ignored: on Linux the fd is released anyway).
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace crio::os
