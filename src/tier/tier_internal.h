// Small helpers shared by the capacity tier's files (capacity_tier.cc,
// cache.cc). Not part of tier/'s interface.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "common/status.h"
#include "fs/fs.h"
#include "ns/record.h"
#include "tier/journal.h"

namespace strata::tier::internal {

using TierState = ns::BlobRecord::TierState;

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline bool SameFile(const FileStat& a, const FileStat& b) {
  return a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns;
}

inline bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

inline JournalEntry DeleteEntry(const std::string& c, const std::string& b,
                                const std::string& name) {
  JournalEntry d;
  d.op = JournalEntry::Op::kRemoteDelete;
  d.step = "delete";
  d.container = c;
  d.blob = b;
  d.remote_name = name;
  return d;
}

// Damage rather than a remote out of reach: the copy recorded is not what
// the remote holds (412: its ETag changed; another ETag than asked for;
// 404: it is gone).
inline bool IsDamage(const Status& s) {
  return s.kind() == ErrorKind::kPathConflict || s.kind() == ErrorKind::kNotFound;
}

inline Status VerificationFailed(const ns::BlobRecord& rec, const std::string& why) {
  return Status(ErrorKind::kIo,
                "the remote copy " + rec.remote_name + " failed verification (" + why + ")");
}

}  // namespace strata::tier::internal
