// Fs: every syscall strata makes on the namespace, behind one narrow
// interface (in the spirit of leveldb's Env) so tests can inject faults by
// wrapping the real file system (see FsWrapper).
//
// Paths are absolute or relative to the process working directory; the
// namespace layer confines them to ROOT before calling here. All methods are
// thread-safe; a File is used by one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace strata {

struct FileStat {
  uint64_t size = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  int64_t btime_ns = 0;  // birth time when the file system reports it, else ctime
  uint32_t mode = 0;
  uint32_t nlink = 1;
  bool is_dir() const;
  bool is_file() const;
  bool is_symlink() const;
};

struct DirEntry {
  std::string name;
  bool is_dir = false;   // after following nothing: d_type (or lstat) of the entry
  bool is_file = false;  // regular file
};

// An open file descriptor. Closed on destruction.
class File {
 public:
  virtual ~File() = default;
  virtual int fd() const = 0;
  // Reads up to n bytes at offset; returns bytes read (0 at EOF).
  virtual Result<size_t> PRead(void* buf, size_t n, uint64_t offset) = 0;
  // Writes all n bytes at offset, or fails.
  virtual Status PWrite(const void* buf, size_t n, uint64_t offset) = 0;
  // Appends all n bytes at the current end.
  virtual Status Append(const void* buf, size_t n) = 0;
  // Copies n bytes from src at src_off to this file at dst_off in the kernel
  // (copy_file_range; falls back to read/write).
  virtual Status CopyFrom(File& src, uint64_t src_off, uint64_t dst_off, uint64_t n) = 0;
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<FileStat> Stat() = 0;
  virtual Status SetXattr(const std::string& name, const std::string& value) = 0;
  // kNotFound when the attribute is absent; kUnsupported when the file
  // system has no xattrs.
  virtual Result<std::string> GetXattr(const std::string& name) = 0;
  // Waits for an exclusive lock on the whole file: an open-file-description
  // (OFD) lock, so it excludes every other File open on the same inode, in
  // this process (any thread) and in others sharing the file system. Released
  // when this File is closed. Needs a File opened for writing.
  virtual Status Lock();
  // Byte-range OFD locks on [off, off+len): exclusive (write) or shared
  // (read). Without `wait`, kBusy when another open file description holds
  // a conflicting lock. Locks of this File never conflict with each other:
  // a second lock of a range it holds converts it (write <-> read).
  virtual Status LockRange(uint64_t off, uint64_t len, bool exclusive, bool wait);
  virtual Status UnlockRange(uint64_t off, uint64_t len);
  // Whether another open file description holds a lock on [off, off+len)
  // that conflicts with an exclusive one.
  virtual bool RangeLockedElsewhere(uint64_t off, uint64_t len);
};

// The mount that holds a path: file system type and options, as in
// /proc/self/mountinfo (fs type, then mount and super options, comma joined).
struct MountInfo {
  std::string fstype;
  std::string options;
  std::string mount_point;
};
Result<MountInfo> MountOf(const std::string& path);

class Fs {
 public:
  virtual ~Fs() = default;

  // Opens for reading. Refuses to follow a symlink in the final component;
  // never blocks (a FIFO opens at once and is then not a regular file).
  virtual Result<std::unique_ptr<File>> OpenRead(const std::string& path) = 0;
  // Opens for read/write; `create` adds O_CREAT, `exclusive` O_EXCL.
  virtual Result<std::unique_ptr<File>> OpenWrite(const std::string& path, bool create,
                                                  bool exclusive) = 0;
  // Opens base/rel for reading, refusing (kPathConflict) any symlink or ".."
  // on the way and anything that would resolve outside base (openat2 with
  // RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): confinement in one syscall.
  virtual Result<std::unique_ptr<File>> OpenReadBeneath(const std::string& base,
                                                        const std::string& rel) = 0;
  // lstat semantics (does not follow a final symlink).
  virtual Result<FileStat> Stat(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // rename with RENAME_NOREPLACE: kAlreadyExists when `to` exists.
  virtual Status RenameNoReplace(const std::string& from, const std::string& to) = 0;
  virtual Status Unlink(const std::string& path) = 0;
  virtual Status Mkdir(const std::string& path) = 0;  // ok if it exists as a directory
  virtual Status MkdirAll(const std::string& path) = 0;
  virtual Status Rmdir(const std::string& path) = 0;
  // Entries except "." and "..", unsorted.
  virtual Result<std::vector<DirEntry>> ListDir(const std::string& path) = 0;
  virtual Status SetXattr(const std::string& path, const std::string& name,
                          const std::string& value) = 0;
  virtual Result<std::string> GetXattr(const std::string& path, const std::string& name) = 0;
  virtual Status RemoveXattr(const std::string& path, const std::string& name) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  // Removes a tree (files and directories) below and including path.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Sets the modification time (used to keep mtime across rewrites of a stub).
  virtual Status SetMtime(const std::string& path, int64_t mtime_ns) = 0;
  // Sets the permission bits (07777) of a file or directory.
  // REQUIRES: path is not a symlink (callers check with Stat first).
  virtual Status Chmod(const std::string& path, uint32_t mode) = 0;
};

// The real POSIX file system. The returned object lives for the process.
Fs* PosixFs();

// Forwards every call to a target; tests derive and override one method.
class FsWrapper : public Fs {
 public:
  explicit FsWrapper(Fs* target) : target_(target) {}
  Result<std::unique_ptr<File>> OpenRead(const std::string& p) override {
    return target_->OpenRead(p);
  }
  Result<std::unique_ptr<File>> OpenWrite(const std::string& p, bool c, bool e) override {
    return target_->OpenWrite(p, c, e);
  }
  Result<std::unique_ptr<File>> OpenReadBeneath(const std::string& b,
                                                const std::string& r) override {
    return target_->OpenReadBeneath(b, r);
  }
  Result<FileStat> Stat(const std::string& p) override { return target_->Stat(p); }
  Status Rename(const std::string& a, const std::string& b) override {
    return target_->Rename(a, b);
  }
  Status RenameNoReplace(const std::string& a, const std::string& b) override {
    return target_->RenameNoReplace(a, b);
  }
  Status Unlink(const std::string& p) override { return target_->Unlink(p); }
  Status Mkdir(const std::string& p) override { return target_->Mkdir(p); }
  Status MkdirAll(const std::string& p) override { return target_->MkdirAll(p); }
  Status Rmdir(const std::string& p) override { return target_->Rmdir(p); }
  Result<std::vector<DirEntry>> ListDir(const std::string& p) override {
    return target_->ListDir(p);
  }
  Status SetXattr(const std::string& p, const std::string& n, const std::string& v) override {
    return target_->SetXattr(p, n, v);
  }
  Result<std::string> GetXattr(const std::string& p, const std::string& n) override {
    return target_->GetXattr(p, n);
  }
  Status RemoveXattr(const std::string& p, const std::string& n) override {
    return target_->RemoveXattr(p, n);
  }
  Status SyncDir(const std::string& p) override { return target_->SyncDir(p); }
  Status RemoveAll(const std::string& p) override { return target_->RemoveAll(p); }
  Status SetMtime(const std::string& p, int64_t t) override { return target_->SetMtime(p, t); }
  Status Chmod(const std::string& p, uint32_t m) override { return target_->Chmod(p, m); }

 protected:
  Fs* target() { return target_; }

 private:
  Fs* target_;
};

}  // namespace strata
