#include "common/status.h"

#include <cstring>

namespace strata {

std::string Status::ToString() const {
  if (ok()) return "OK";
  return "error " + std::to_string(static_cast<int>(kind_)) + ": " + message_;
}

Status ErrnoStatus(int err, const std::string& context) {
  std::string msg = context + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return Status(ErrorKind::kNotFound, msg);
    case EEXIST: return Status(ErrorKind::kAlreadyExists, msg);
    case ENOSPC:
    case EDQUOT: return Status(ErrorKind::kNoSpace, msg);
    case EACCES:
    case EPERM:
    case EROFS: return Status(ErrorKind::kPermission, msg);
    case ENOTDIR: return Status(ErrorKind::kPathConflict, msg);
    case EISDIR: return Status(ErrorKind::kIsDirectory, msg);
    case ENOTEMPTY: return Status(ErrorKind::kNotEmpty, msg);
    case ENAMETOOLONG: return Status(ErrorKind::kInvalidName, msg);
    case EFBIG: return Status(ErrorKind::kTooLarge, msg);
    case EAGAIN:
    case EINTR:
    case EBUSY: return Status(ErrorKind::kBusy, msg);
    case ENOTSUP: return Status(ErrorKind::kUnsupported, msg);
    default: return Status(ErrorKind::kIo, msg);
  }
}

}  // namespace strata
