#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <cstring>
#include <vector>

#include "fs/fs.h"

namespace strata {

bool FileStat::is_dir() const { return S_ISDIR(mode); }
bool FileStat::is_file() const { return S_ISREG(mode); }
bool FileStat::is_symlink() const { return S_ISLNK(mode); }

Status File::Lock() {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
  while (::fcntl(fd(), F_OFD_SETLKW, &fl) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "lock");
  }
  return Status::Ok();
}

namespace {
struct flock RangeOf(short type, uint64_t off, uint64_t len) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = off_t(off);
  fl.l_len = off_t(len);  // 0: to the end of the file, however it grows
  return fl;
}
}  // namespace

Status File::LockRange(uint64_t off, uint64_t len, bool exclusive, bool wait) {
  struct flock fl = RangeOf(exclusive ? F_WRLCK : F_RDLCK, off, len);
  while (::fcntl(fd(), wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
    if (errno == EINTR) continue;
    if (!wait && (errno == EAGAIN || errno == EACCES)) return Status(ErrorKind::kBusy, "locked");
    return ErrnoStatus(errno, "lock");
  }
  return Status::Ok();
}

Status File::UnlockRange(uint64_t off, uint64_t len) {
  struct flock fl = RangeOf(F_UNLCK, off, len);
  while (::fcntl(fd(), F_OFD_SETLK, &fl) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "unlock");
  }
  return Status::Ok();
}

bool File::RangeLockedElsewhere(uint64_t off, uint64_t len) {
  struct flock fl = RangeOf(F_WRLCK, off, len);
  if (::fcntl(fd(), F_OFD_GETLK, &fl) != 0) return false;
  return fl.l_type != F_UNLCK;
}

Result<MountInfo> MountOf(const std::string& path) {
  // The mount whose point is the longest prefix of the resolved path.
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return ErrnoStatus(errno, "realpath " + path);
  std::string p = real;
  ::free(real);
  FILE* f = ::fopen("/proc/self/mountinfo", "re");
  if (!f) return ErrnoStatus(errno, "mountinfo");
  MountInfo best;
  size_t best_len = 0;
  char* line = nullptr;
  size_t cap = 0;
  while (::getline(&line, &cap, f) > 0) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
    std::vector<std::string> w;
    for (char* t = std::strtok(line, " \n"); t; t = std::strtok(nullptr, " \n")) w.push_back(t);
    size_t dash = 0;
    while (dash < w.size() && w[dash] != "-") ++dash;
    if (w.size() < 6 || dash + 3 >= w.size() + 1 || dash + 1 >= w.size()) continue;
    const std::string& mp = w[4];
    bool under = mp == "/" || p == mp || (p.compare(0, mp.size(), mp) == 0 && p[mp.size()] == '/');
    if (!under || mp.size() < best_len) continue;
    best_len = mp.size();
    best.mount_point = mp;
    best.fstype = w[dash + 1];
    best.options = w[5] + (dash + 3 < w.size() ? "," + w[dash + 3] : "");
  }
  ::free(line);
  ::fclose(f);
  if (best.fstype.empty()) return Status(ErrorKind::kNotFound, "no mount holds " + path);
  return best;
}

namespace {

FileStat FromStatx(const struct statx& sx) {
  FileStat st;
  st.size = sx.stx_size;
  st.ino = sx.stx_ino;
  st.dev = (uint64_t(sx.stx_dev_major) << 32) | sx.stx_dev_minor;
  st.mtime_ns = int64_t(sx.stx_mtime.tv_sec) * 1000000000LL + sx.stx_mtime.tv_nsec;
  st.ctime_ns = int64_t(sx.stx_ctime.tv_sec) * 1000000000LL + sx.stx_ctime.tv_nsec;
  if (sx.stx_mask & STATX_BTIME) {
    st.btime_ns = int64_t(sx.stx_btime.tv_sec) * 1000000000LL + sx.stx_btime.tv_nsec;
  } else {
    st.btime_ns = st.ctime_ns;
  }
  st.mode = sx.stx_mode;
  st.nlink = sx.stx_nlink;
  return st;
}

Result<std::string> GetXattrImpl(int fd, const std::string& path, const std::string& name) {
  std::string buf(512, '\0');
  for (int attempt = 0; attempt < 4; ++attempt) {
    ssize_t n = fd >= 0 ? fgetxattr(fd, name.c_str(), buf.data(), buf.size())
                        : lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(n);
      return buf;
    }
    if (errno == ERANGE) {
      ssize_t need = fd >= 0 ? fgetxattr(fd, name.c_str(), nullptr, 0)
                             : lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (need < 0) break;
      buf.resize(need + 1);
      continue;
    }
    if (errno == ENODATA) return Status(ErrorKind::kNotFound, "no xattr " + name);
    if (errno == ENOTSUP) return Status(ErrorKind::kUnsupported, "xattrs unsupported");
    return ErrnoStatus(errno, "getxattr " + path);
  }
  return ErrnoStatus(errno, "getxattr " + path);
}

Status SetXattrImpl(int fd, const std::string& path, const std::string& name,
                    const std::string& value) {
  int rc = fd >= 0 ? fsetxattr(fd, name.c_str(), value.data(), value.size(), 0)
                   : lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0);
  if (rc == 0) return Status::Ok();
  if (errno == ENOTSUP) return Status(ErrorKind::kUnsupported, "xattrs unsupported");
  if (errno == E2BIG || errno == ERANGE) return Status(ErrorKind::kTooLarge, "xattr too large");
  return ErrnoStatus(errno, "setxattr " + path);
}

class PosixFile : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }
  int fd() const override { return fd_; }

  Result<size_t> PRead(void* buf, size_t n, uint64_t offset) override {
    while (true) {
      ssize_t r = ::pread(fd_, buf, n, static_cast<off_t>(offset));
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus(errno, "pread " + path_);
    }
  }

  Status PWrite(const void* buf, size_t n, uint64_t offset) override {
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pwrite " + path_);
      }
      p += w;
      n -= w;
      offset += w;
    }
    return Status::Ok();
  }

  Status Append(const void* buf, size_t n) override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus(errno, "fstat " + path_);
    return PWrite(buf, n, st.st_size);
  }

  Status CopyFrom(File& src, uint64_t src_off, uint64_t dst_off, uint64_t n) override {
    loff_t in = static_cast<loff_t>(src_off), out = static_cast<loff_t>(dst_off);
    while (n > 0) {
      ssize_t c = ::copy_file_range(src.fd(), &in, fd_, &out, n, 0);
      if (c < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) break;
        return ErrnoStatus(errno, "copy_file_range " + path_);
      }
      if (c == 0) return Status(ErrorKind::kIo, "source shorter than expected: " + path_);
      n -= c;
    }
    std::vector<char> buf(1 << 20);
    while (n > 0) {
      size_t want = n < buf.size() ? n : buf.size();
      auto r = src.PRead(buf.data(), want, in);
      if (!r.ok()) return r.status();
      if (*r == 0) return Status(ErrorKind::kIo, "source shorter than expected: " + path_);
      STRATA_RETURN_IF_ERROR(PWrite(buf.data(), *r, out));
      in += *r;
      out += *r;
      n -= *r;
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fsync " + path_);
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return ErrnoStatus(errno, "ftruncate " + path_);
    return Status::Ok();
  }

  Result<FileStat> Stat() override {
    struct statx sx;
    if (::statx(fd_, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
      return ErrnoStatus(errno, "statx " + path_);
    return FromStatx(sx);
  }

  Status SetXattr(const std::string& name, const std::string& value) override {
    return SetXattrImpl(fd_, path_, name, value);
  }
  Result<std::string> GetXattr(const std::string& name) override {
    return GetXattrImpl(fd_, path_, name);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFsImpl : public Fs {
 public:
  Result<std::unique_ptr<File>> OpenRead(const std::string& path) override {
    // O_NONBLOCK: a FIFO in the tree must not block the open (regular files
    // ignore the flag).
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return ErrnoStatus(errno, "open " + path);
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  Result<std::unique_ptr<File>> OpenWrite(const std::string& path, bool create,
                                          bool exclusive) override {
    int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;
    if (create) flags |= O_CREAT;
    if (exclusive) flags |= O_EXCL;
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoStatus(errno, "open " + path);
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  Result<std::unique_ptr<File>> OpenReadBeneath(const std::string& base,
                                                const std::string& rel) override {
    int dirfd = BaseFd(base);
    if (dirfd < 0) return ErrnoStatus(errno, "open " + base);
    struct open_how how {};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = static_cast<int>(::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof(how)));
    if (fd < 0 && errno == ENOSYS) fd = OpenBeneathByComponents(dirfd, rel);
    if (fd < 0) {
      if (errno == ELOOP || errno == EXDEV)
        return Status(ErrorKind::kPathConflict, "a symlink or '..' on the way: " + rel);
      return ErrnoStatus(errno, "open " + base + "/" + rel);
    }
    return std::unique_ptr<File>(new PosixFile(fd, base + "/" + rel));
  }

  // openat2 for kernels (and tools such as valgrind) without it: one
  // O_NOFOLLOW openat per component, refusing "..", "." and empty ones, so
  // the same paths are refused with the same errno (ELOOP, EXDEV).
  static int OpenBeneathByComponents(int base, const std::string& rel) {
    int cur = base;
    size_t pos = 0;
    while (true) {
      size_t slash = rel.find('/', pos);
      std::string comp = rel.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
      const bool last = slash == std::string::npos;
      int fd = -1;
      if (comp.empty() || comp == "." || comp == "..") {
        errno = EXDEV;
      } else {
        fd = ::openat(cur, comp.c_str(),
                      O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY));
      }
      int err = errno;
      if (cur != base) ::close(cur);
      if (fd < 0) {
        errno = err;
        return -1;
      }
      if (last) return fd;
      cur = fd;
      pos = slash + 1;
    }
  }

  Result<FileStat> Stat(const std::string& path) override {
    struct statx sx;
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
                &sx) != 0)
      return ErrnoStatus(errno, "statx " + path);
    return FromStatx(sx);
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus(errno, "rename " + to);
    return Status::Ok();
  }

  Status RenameNoReplace(const std::string& from, const std::string& to) override {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
      return Status::Ok();
    if (errno != EINVAL) return ErrnoStatus(errno, "rename " + to);
    // NFS and CephFS clients have no RENAME_NOREPLACE. link(2) is just as
    // atomic (EEXIST when `to` exists) and works on every shared file
    // system; a crash before the unlink leaves only a second name of the
    // file in the staging directory, which is cleared like any other.
    if (::link(from.c_str(), to.c_str()) != 0) return ErrnoStatus(errno, "rename " + to);
    (void)::unlink(from.c_str());
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unlink " + path);
    return Status::Ok();
  }

  Status Mkdir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return Status::Ok();
    if (errno == EEXIST) {
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
      return Status(ErrorKind::kPathConflict, "not a directory: " + path);
    }
    return ErrnoStatus(errno, "mkdir " + path);
  }

  Status MkdirAll(const std::string& path) override {
    if (path.empty()) return Status::Ok();
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::Ok();
      return Status(ErrorKind::kPathConflict, "not a directory: " + path);
    }
    size_t slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
      STRATA_RETURN_IF_ERROR(MkdirAll(path.substr(0, slash)));
    }
    return Mkdir(path);
  }

  Status Rmdir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return ErrnoStatus(errno, "rmdir " + path);
    return Status::Ok();
  }

  Result<std::vector<DirEntry>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (!d) return ErrnoStatus(errno, "opendir " + path);
    std::vector<DirEntry> out;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && !e->d_name[2])))
        continue;
      DirEntry de;
      de.name = e->d_name;
      unsigned char t = e->d_type;
      if (t == DT_UNKNOWN) {
        struct stat st;
        if (::fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
          t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
        }
      }
      de.is_dir = t == DT_DIR;
      de.is_file = t == DT_REG;
      out.push_back(std::move(de));
    }
    ::closedir(d);
    return out;
  }

  Status SetXattr(const std::string& path, const std::string& name,
                  const std::string& value) override {
    return SetXattrImpl(-1, path, name, value);
  }
  Result<std::string> GetXattr(const std::string& path, const std::string& name) override {
    return GetXattrImpl(-1, path, name);
  }
  Status RemoveXattr(const std::string& path, const std::string& name) override {
    if (::lremovexattr(path.c_str(), name.c_str()) == 0 || errno == ENODATA)
      return Status::Ok();
    return ErrnoStatus(errno, "removexattr " + path);
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open dir " + path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus(err, "fsync dir " + path);
    return Status::Ok();
  }

  Status RemoveAll(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoStatus(errno, "lstat " + path);
    }
    if (S_ISDIR(st.st_mode)) {
      auto entries = ListDir(path);
      if (!entries.ok()) return entries.status();
      for (const auto& e : *entries) STRATA_RETURN_IF_ERROR(RemoveAll(path + "/" + e.name));
      return Rmdir(path);
    }
    return Unlink(path);
  }

  // An O_PATH handle per base directory, opened once: bases are the few
  // account roots, which must not be replaced while the server runs.
  int BaseFd(const std::string& base) {
    std::lock_guard<std::mutex> lock(base_mu_);
    auto it = base_fds_.find(base);
    if (it != base_fds_.end()) return it->second;
    int fd = ::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) base_fds_[base] = fd;
    return fd;
  }
  std::mutex base_mu_;
  std::map<std::string, int> base_fds_;

  Status SetMtime(const std::string& path, int64_t mtime_ns) override {
    struct timespec ts[2];
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = mtime_ns / 1000000000LL;
    ts[1].tv_nsec = mtime_ns % 1000000000LL;
    if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoStatus(errno, "utimensat " + path);
    return Status::Ok();
  }

  Status Chmod(const std::string& path, uint32_t mode) override {
    if (::fchmodat(AT_FDCWD, path.c_str(), mode & 07777, 0) != 0)
      return ErrnoStatus(errno, "chmod " + path);
    return Status::Ok();
  }
};

}  // namespace

Fs* PosixFs() {
  static PosixFsImpl* fs = new PosixFsImpl();
  return fs;
}

}  // namespace strata
