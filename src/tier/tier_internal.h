// Small helpers shared by the capacity tier's files (capacity_tier.cc,
// cache.cc). Not part of tier/'s interface.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <string>

#include "common/crypto.h"
#include "common/status.h"
#include "fs/fs.h"
#include "ns/record.h"
#include "tier/journal.h"
#include "tier/remote.h"

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

// The MD5 of the first `size` bytes of `f`, read in 1 MiB pieces;
// kAlreadyExists when the file is shorter (it changed under the caller).
inline Result<std::string> FileMd5(File& f, uint64_t size) {
  Md5Hasher h;
  std::string buf(1 << 20, '\0');
  for (uint64_t off = 0; off < size;) {
    auto n = f.PRead(buf.data(), buf.size(), off);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status(ErrorKind::kAlreadyExists, "the blob shrank");
    h.Update(buf.data(), *n);
    off += *n;
  }
  return h.Final();
}

// What a remote copy of the blob `rec` describes carries with it.
inline RemoteBlobHeaders HeadersOf(const ns::BlobRecord& rec, const std::string& md5) {
  RemoteBlobHeaders hdr;
  hdr.content_type = rec.content_type;
  hdr.content_encoding = rec.content_encoding;
  hdr.content_language = rec.content_language;
  hdr.content_disposition = rec.content_disposition;
  hdr.cache_control = rec.cache_control;
  hdr.content_md5 = md5;
  hdr.metadata = rec.metadata;
  return hdr;
}

// Passes the bytes of a whole blob of `size` bytes on as they come, but
// for its last `hold` bytes, which wait for Release() (once the blob
// verified): what streams before the verdict can never be the whole blob.
class TailHolder {
 public:
  TailHolder(uint64_t size, uint64_t hold) : safe_(size > hold ? size - hold : 0) {}
  // What `emit` answered (true when nothing went to it).
  bool Add(const char* d, size_t n, const RemoteSink& emit) {
    bool ok = true;
    if (pos_ < safe_) {
      size_t now = static_cast<size_t>(std::min<uint64_t>(n, safe_ - pos_));
      ok = emit(d, now);
      d += now;
      n -= now;
      pos_ += now;
    }
    held_.append(d, n);
    pos_ += n;
    return ok;
  }
  bool Release(const RemoteSink& emit) {
    return held_.empty() || emit(held_.data(), held_.size());
  }

 private:
  uint64_t safe_;
  uint64_t pos_ = 0;
  std::string held_;
};

}  // namespace strata::tier::internal
