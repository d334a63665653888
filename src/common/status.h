// Status and Result: the one error-carrying type of strata below the API edge.
//
// A Status is either ok or an error kind plus a human-readable message. The
// kinds are strata's own words (not Azure's): api/ maps them to wire errors
// through its error table. Result<T> holds a value or a non-ok Status.
// Both are cheap to move; neither is thread-safe for concurrent mutation.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace strata {

enum class ErrorKind {
  kOk = 0,
  kNotFound,          // the object does not exist
  kContainerNotFound, // the container does not exist
  kAlreadyExists,     // create of something that exists
  kPathConflict,      // "a" vs "a/b": a file where a directory must be, or back
  kInvalidName,       // a name that cannot be stored (message says which rule)
  kInvalidArgument,   // malformed input
  kNoSpace,           // ENOSPC / EDQUOT
  kIo,                // any other I/O failure
  kPermission,        // EACCES / EPERM / read-only
  kTooLarge,          // a size limit was exceeded
  kIsDirectory,       // a blob name names a directory
  kNotEmpty,          // a directory that must be empty is not
  kBusy,              // transient; retryable
  kQuotaExceeded,     // a container's configured byte or file limit would be exceeded
  kLimitReached,      // a count limit would be passed (uncommitted blocks of a blob)
  kUnsupported,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// Translates an errno value from a syscall on `context` into a Status.
// The one place where errno becomes an ErrorKind.
Status ErrnoStatus(int err, const std::string& context);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  Result(ErrorKind kind, std::string message) : v_(Status(kind, std::move(message))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  // The error, or Ok when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

#define STRATA_RETURN_IF_ERROR(expr)   \
  do {                                 \
    ::strata::Status _st = (expr);     \
    if (!_st.ok()) return _st;         \
  } while (0)

}  // namespace strata
