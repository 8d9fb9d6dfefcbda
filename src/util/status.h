#pragma once
// One error style for the whole project: absl::Status / absl::StatusOr<T>.
// Our code never throws; library exceptions are caught where they can arise.

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace crio {

using absl::Status;
using absl::StatusOr;

// Error from a failed syscall: "<what>: <strerror>", code derived from errno.
// Pass errno captured right after the call.
inline Status ErrnoError(int err, std::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(std::string(what), ": ", std::strerror(err)));
}

// Keeps the code and prepends "context: " to the message.
inline Status Annotate(const Status& status, std::string_view context) {
  if (status.ok()) {
    return status;
  }
  return Status(status.code(),
                absl::StrCat(std::string(context), ": ", std::string(status.message())));
}

// Convenience constructors taking std::string_view (absl::string_view is a distinct type here).
inline Status InvalidArgument(std::string_view m) {
  return absl::InvalidArgumentError(std::string(m));
}
inline Status NotFound(std::string_view m) { return absl::NotFoundError(std::string(m)); }
inline Status AlreadyExists(std::string_view m) { return absl::AlreadyExistsError(std::string(m)); }
inline Status FailedPrecondition(std::string_view m) {
  return absl::FailedPreconditionError(std::string(m));
}
inline Status Internal(std::string_view m) { return absl::InternalError(std::string(m)); }
inline Status Unavailable(std::string_view m) { return absl::UnavailableError(std::string(m)); }
inline Status Unimplemented(std::string_view m) { return absl::UnimplementedError(std::string(m)); }
inline Status DeadlineExceeded(std::string_view m) {
  return absl::DeadlineExceededError(std::string(m));
}
inline Status PermissionDenied(std::string_view m) {
  return absl::PermissionDeniedError(std::string(m));
}
inline Status Unauthenticated(std::string_view m) {
  return absl::UnauthenticatedError(std::string(m));
}

inline std::string Message(const Status& s) { return std::string(s.message()); }

}  // namespace crio

#define CRIO_CONCAT_INNER_(a, b) a##b
#define CRIO_CONCAT_(a, b) CRIO_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status crio_status_ = (expr);        \
    if (!crio_status_.ok()) return crio_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(*tmp)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(CRIO_CONCAT_(crio_statusor_, __LINE__), lhs, expr)

// Broken invariant: abort, in release builds too. Never for conditions the environment controls.
#define CRIO_CHECK(cond, msg)                                                     \
  do {                                                                            \
    if (!(cond)) ::crio::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

namespace crio::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, std::string_view msg);
}
