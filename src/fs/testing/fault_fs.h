// FaultFs: a test-only Fs that forwards to a real file system and injects
// the faults a disk and a file system can produce (in the spirit of leveldb's
// FaultInjectionTestEnv and RocksDB's FaultInjectionTestFS):
//
//   - ENOSPC on data writes (File::PWrite, Append, CopyFrom) once a byte
//     budget is spent: the write that crosses it stores what fits, as a full
//     disk does, then fails;
//   - EIO on fsync (File::Sync and Fs::SyncDir);
//   - a failing rename (Rename and RenameNoReplace) with a chosen errno;
//   - coarse timestamps: Stat (Fs and File) reports mtime, ctime and birth
//     time truncated to a granularity, as on file systems that keep whole
//     seconds (or without fine-grained ctimes), so two changes within one
//     tick leave the same times; and times shifted into the past, so new
//     files look old;
//   - a hook run right after each successful rename and setxattr, so a
//     test can look at what such a step just made visible before the
//     caller's next step;
//   - a file system without xattrs: Get/Set/RemoveXattr answer kUnsupported,
//     as on file systems mounted without user xattrs, so callers take their
//     sidecar path; or a chosen errno from SetXattr only (e.g. ENOSPC, E2BIG
//     when the xattr space is full).
//
// Faults may be limited to paths containing a substring (path_filter).
// Header-only and compiled into the unit tests only; never link it into
// strata itself.
//
// Thread-safety: the knobs are atomics (the filter is set before use); every
// method may be called from any thread, as the Fs contract requires.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fs/fs.h"

namespace strata {

class FaultFs : public FsWrapper {
 public:
  explicit FaultFs(Fs* target = PosixFs()) : FsWrapper(target) {}

  // ---- knobs ----
  // Bytes of file data that may still be written before writes fail with
  // ENOSPC; negative means unlimited (the default).
  void SetSpaceLeft(int64_t bytes) { space_left_ = bytes; }
  void SetNoSpace() { SetSpaceLeft(0); }
  // File::Sync and Fs::SyncDir fail with EIO while set.
  void SetSyncFails(bool on) { sync_fails_ = on; }
  // Rename and RenameNoReplace fail with `err` while non-zero.
  void SetRenameErrno(int err) { rename_errno_ = err; }
  // Stat reports times truncated to this many nanoseconds while non-zero.
  void SetTimeGranularity(int64_t ns) { time_granularity_ = ns; }
  // Stat reports times this many nanoseconds earlier (files look older).
  void SetTimeShift(int64_t ns) { time_shift_ = ns; }
  // All xattr calls answer kUnsupported while set.
  void SetNoXattr(bool on) { no_xattr_ = on; }
  // SetXattr (Fs and File) fails with `err` while non-zero.
  void SetSetXattrErrno(int err) { setxattr_errno_ = err; }
  // Runs fn(op, path) after every successful change of a matching path:
  // op "rename" (Rename and RenameNoReplace; path is the destination) or
  // "setxattr" (Fs and File). Set it before those calls start; an empty
  // function clears it.
  using AfterHook = std::function<void(const std::string& op, const std::string& path)>;
  void SetAfter(AfterHook fn) { after_ = std::move(fn); }
  // Faults apply only to paths containing `s` ("" = every path). Set it
  // before the faulted calls start.
  void SetPathFilter(std::string s) { filter_ = std::move(s); }
  // Clears every fault.
  void Heal() {
    space_left_ = -1;
    sync_fails_ = false;
    rename_errno_ = 0;
    no_xattr_ = false;
    setxattr_errno_ = 0;
    time_granularity_ = 0;
    time_shift_ = 0;
  }

  // ---- counters (for asserting that a fault was actually hit) ----
  int injected() const { return injected_; }

  // ---- Fs ----
  Result<std::unique_ptr<File>> OpenRead(const std::string& p) override {
    return Wrap(target()->OpenRead(p), p);
  }
  Result<std::unique_ptr<File>> OpenWrite(const std::string& p, bool c, bool e) override {
    return Wrap(target()->OpenWrite(p, c, e), p);
  }
  Result<std::unique_ptr<File>> OpenReadBeneath(const std::string& b,
                                                const std::string& r) override {
    return Wrap(target()->OpenReadBeneath(b, r), b + "/" + r);
  }
  Result<FileStat> Stat(const std::string& p) override { return Coarsen(target()->Stat(p)); }
  Status Rename(const std::string& a, const std::string& b) override {
    if (int err = rename_errno_; err && (Matches(a) || Matches(b)))
      return Inject(err, "rename " + b);
    return After(target()->Rename(a, b), "rename", b, a);
  }
  Status RenameNoReplace(const std::string& a, const std::string& b) override {
    if (int err = rename_errno_; err && (Matches(a) || Matches(b)))
      return Inject(err, "rename " + b);
    return After(target()->RenameNoReplace(a, b), "rename", b, a);
  }
  Status SetXattr(const std::string& p, const std::string& n, const std::string& v) override {
    if (Status s = XattrFault(p, true); !s.ok()) return s;
    return After(target()->SetXattr(p, n, v), "setxattr", p);
  }
  Result<std::string> GetXattr(const std::string& p, const std::string& n) override {
    if (Status s = XattrFault(p, false); !s.ok()) return s;
    return target()->GetXattr(p, n);
  }
  Status RemoveXattr(const std::string& p, const std::string& n) override {
    if (Status s = XattrFault(p, false); !s.ok()) return s;
    return target()->RemoveXattr(p, n);
  }
  Status SyncDir(const std::string& p) override {
    if (sync_fails_ && Matches(p)) return Inject(EIO, "fsync dir " + p);
    return target()->SyncDir(p);
  }

 private:
  // A File whose writes, syncs and xattrs go through the owner's faults.
  class FaultFile : public File {
   public:
    FaultFile(FaultFs* fs, std::unique_ptr<File> f, std::string path)
        : fs_(fs), f_(std::move(f)), path_(std::move(path)) {}
    int fd() const override { return f_->fd(); }
    Result<size_t> PRead(void* buf, size_t n, uint64_t off) override {
      return f_->PRead(buf, n, off);
    }
    Status PWrite(const void* buf, size_t n, uint64_t off) override {
      size_t allowed = fs_->Take(path_, n);
      if (allowed > 0) STRATA_RETURN_IF_ERROR(f_->PWrite(buf, allowed, off));
      if (allowed < n) return fs_->Inject(ENOSPC, "pwrite " + path_);
      return Status::Ok();
    }
    Status Append(const void* buf, size_t n) override {
      size_t allowed = fs_->Take(path_, n);
      if (allowed > 0) STRATA_RETURN_IF_ERROR(f_->Append(buf, allowed));
      if (allowed < n) return fs_->Inject(ENOSPC, "append " + path_);
      return Status::Ok();
    }
    Status CopyFrom(File& src, uint64_t src_off, uint64_t dst_off, uint64_t n) override {
      uint64_t allowed = fs_->Take(path_, n);
      if (allowed > 0) STRATA_RETURN_IF_ERROR(f_->CopyFrom(src, src_off, dst_off, allowed));
      if (allowed < n) return fs_->Inject(ENOSPC, "copy_file_range " + path_);
      return Status::Ok();
    }
    Status Sync() override {
      if (fs_->sync_fails_ && fs_->Matches(path_)) return fs_->Inject(EIO, "fsync " + path_);
      return f_->Sync();
    }
    Status Truncate(uint64_t size) override { return f_->Truncate(size); }
    Result<FileStat> Stat() override { return fs_->Coarsen(f_->Stat()); }
    Status SetXattr(const std::string& name, const std::string& value) override {
      if (Status s = fs_->XattrFault(path_, true); !s.ok()) return s;
      return fs_->After(f_->SetXattr(name, value), "setxattr", path_);
    }
    Result<std::string> GetXattr(const std::string& name) override {
      if (Status s = fs_->XattrFault(path_, false); !s.ok()) return s;
      return f_->GetXattr(name);
    }

   private:
    FaultFs* fs_;
    std::unique_ptr<File> f_;
    std::string path_;
  };

  Result<std::unique_ptr<File>> Wrap(Result<std::unique_ptr<File>> f, const std::string& p) {
    if (!f.ok()) return f;
    return std::unique_ptr<File>(new FaultFile(this, std::move(*f), p));
  }

  Result<FileStat> Coarsen(Result<FileStat> st) const {
    if (!st.ok()) return st;
    int64_t shift = time_shift_;
    st->mtime_ns -= shift;
    st->ctime_ns -= shift;
    st->btime_ns -= shift;
    int64_t g = time_granularity_;
    if (g <= 0) return st;
    st->mtime_ns -= st->mtime_ns % g;
    st->ctime_ns -= st->ctime_ns % g;
    st->btime_ns -= st->btime_ns % g;
    return st;
  }
  Status After(Status s, const char* op, const std::string& path, const std::string& from = "") {
    if (s.ok() && after_ && (Matches(path) || (!from.empty() && Matches(from)))) after_(op, path);
    return s;
  }
  bool Matches(const std::string& path) const {
    return filter_.empty() || path.find(filter_) != std::string::npos;
  }

  Status Inject(int err, const std::string& context) {
    ++injected_;
    return ErrnoStatus(err, context);
  }

  Status XattrFault(const std::string& path, bool set) {
    if (!Matches(path)) return Status::Ok();
    if (no_xattr_) {
      ++injected_;
      return Status(ErrorKind::kUnsupported, "xattrs unsupported (FaultFs)");
    }
    if (int err = setxattr_errno_; set && err) return Inject(err, "setxattr " + path);
    return Status::Ok();
  }

  // Claims up to n bytes of the space budget for a write to `path`; returns
  // how many may be written.
  uint64_t Take(const std::string& path, uint64_t n) {
    if (!Matches(path)) return n;
    int64_t left = space_left_.load();
    while (true) {
      if (left < 0) return n;
      uint64_t take = n < static_cast<uint64_t>(left) ? n : static_cast<uint64_t>(left);
      if (space_left_.compare_exchange_weak(left, left - static_cast<int64_t>(take))) return take;
    }
  }

  std::atomic<int64_t> space_left_{-1};
  std::atomic<bool> sync_fails_{false};
  std::atomic<int> rename_errno_{0};
  std::atomic<bool> no_xattr_{false};
  std::atomic<int> setxattr_errno_{0};
  std::atomic<int64_t> time_granularity_{0};
  std::atomic<int64_t> time_shift_{0};
  std::atomic<int> injected_{0};
  std::string filter_;
  AfterHook after_;
};

}  // namespace strata
