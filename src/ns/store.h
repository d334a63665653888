// Store: one account's namespace on a POSIX tree.
//
//   ROOT/CONTAINER/path/to/blob   a blob is a plain file; its record in one xattr
//   ROOT/.strata/tmp/             staged uploads (same file system: atomic rename)
//   ROOT/.strata/blocks/H/        uncommitted blocks of one blob (H = md5 of its name)
//   ROOT/.strata/sidecar/H.INO    records too large for the xattr, or where the
//                                 file system has no xattrs (H = md5 of the name,
//                                 INO = inode of the file or container directory
//                                 described, so a staged file's record never
//                                 replaces the published one's before the rename)
//
// Thread-safety: all methods are thread-safe. Read-modify-write sequences on
// one blob (conditions, leases, metadata) must hold LockBlob() for that blob;
// on one container, LockContainer().
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fs/fs.h"
#include "ns/record.h"

namespace strata::ns {

struct BlobInfo {
  std::string name;
  BlobRecord rec;  // stored record, or one derived from the file's stat
  FileStat st;
  bool has_record = false;  // false: written through POSIX, properties derived
};

struct ListItem {
  std::string name;
  bool is_prefix = false;
  BlobInfo info;  // for blobs
};

struct ListPage {
  std::vector<ListItem> items;
  std::string next_marker;  // "" when the listing is complete
};

class Store {
 public:
  // `fs` outlives the store. `sync` fsyncs staged files before commit.
  Store(Fs* fs, std::string root, bool sync);

  // Creates ROOT/.strata/{tmp,blocks,sidecar}, removes anything left in tmp
  // by an earlier run (invariant 4) and blocks older than 7 days.
  Status Open();

  // Removes the uncommitted blocks of blobs that saw no Put Block for 7
  // days before `now`. Returns how many blobs' blocks went.
  size_t ExpireBlocks(TimeNs now);

  const std::string& root() const { return root_; }
  Fs* fs() const { return fs_; }
  std::string TmpDir() const { return root_ + "/.strata/tmp"; }

  // ---- containers ----
  Status CreateContainer(const std::string& name, const ContainerRecord& rec);
  // kContainerNotFound when absent.
  Result<ContainerRecord> GetContainer(const std::string& name);
  Status PutContainer(const std::string& name, const ContainerRecord& rec);
  // Removes the container and every blob in it.
  Status DeleteContainer(const std::string& name);
  // Sorted names of all containers: the directories under ROOT whose names
  // are valid container names (never .strata, lost+found, symlinks).
  Result<std::vector<std::string>> ContainerNames();

  // ---- blobs ----
  // kContainerNotFound, or kNotFound when the blob does not exist (a
  // directory is not a blob).
  Result<BlobInfo> Head(const std::string& c, const std::string& b);
  struct OpenBlob {
    std::unique_ptr<File> file;
    BlobInfo info;
  };
  Result<OpenBlob> Open(const std::string& c, const std::string& b);

  // A fresh path in TmpDir(); the caller creates the file and removes it on
  // failure.
  std::string NewTempPath();
  // Publishes the staged file `temp` as blob b: stores `rec` (fingerprint
  // filled in here) in its xattr, fsyncs per the setting, creates parent
  // directories and renames over any old blob. `drop_blocks` discards the
  // blob's uncommitted blocks. On failure `temp` is left for the caller.
  // kPathConflict when a parent is a file; kIsDirectory when b is a directory.
  Status Commit(const std::string& c, const std::string& b, const std::string& temp,
                BlobRecord rec, bool drop_blocks);
  // Rewrites the record of an existing blob in place (its data unchanged).
  Status UpdateRecord(const std::string& c, const std::string& b, BlobRecord rec);
  // Appends the bytes of `src` to the blob and rewrites its record.
  Status AppendFrom(const std::string& c, const std::string& b, File& src, uint64_t n,
                    BlobRecord rec);
  // Removes the blob, its blocks and its sidecar, and prunes now-empty parent
  // directories up to the container.
  Status DeleteBlob(const std::string& c, const std::string& b);

  // ---- uncommitted blocks ----
  // Moves the staged file `temp` into the blob's block directory as block `id`.
  Status StoreBlock(const std::string& c, const std::string& b, const std::string& id,
                    const std::string& temp);
  // Uncommitted blocks in upload order.
  Result<std::vector<BlockInfo>> UncommittedBlocks(const std::string& c, const std::string& b);
  std::string BlockPath(const std::string& c, const std::string& b, const std::string& id) const;
  Status DropBlocks(const std::string& c, const std::string& b);
  // Names of blobs of container c that have uncommitted blocks.
  std::vector<std::string> UncommittedBlobNames(const std::string& c);

  // ---- listing ----
  // Blobs of container c in name order, starting at `marker` (a name, from
  // an earlier page's next_marker), restricted to `prefix`, collapsed into
  // prefixes at `delimiter` when non-empty, at most `max` items.
  Result<ListPage> List(const std::string& c, const std::string& prefix,
                        const std::string& delimiter, const std::string& marker, size_t max);

  // ---- locks ----
  std::unique_lock<std::mutex> LockBlob(const std::string& c, const std::string& b);
  std::unique_lock<std::mutex> LockContainer(const std::string& c);

 private:
  std::string ContainerDir(const std::string& c) const { return root_ + "/" + c; }
  std::string BlobPath(const std::string& c, const std::string& b) const {
    return root_ + "/" + c + "/" + b;
  }
  std::string BlockDir(const std::string& c, const std::string& b) const;
  // The sidecar of blob b whose file has inode `ino`; with b empty, that of
  // container c whose directory has inode `ino`.
  std::string SidecarPath(const std::string& c, const std::string& b, uint64_t ino) const;
  // kPathConflict when the container directory or a component between it and
  // b is a symlink or a file.
  Status CheckParents(const std::string& c, const std::string& b);
  // Stores `packed` as attribute `xattr` of `path` (inode `ino`), or in the
  // sidecar of (c, b, ino) when it is too large for an xattr or the file
  // system has none. Leaves other inodes' sidecars alone.
  Status WritePacked(const std::string& path, const char* xattr, const std::string& c,
                     const std::string& b, uint64_t ino, const std::string& packed);
  // The text stored by WritePacked, or nullopt when there is none.
  std::optional<std::string> ReadPacked(const std::string& path, const char* xattr,
                                        const std::string& c, const std::string& b,
                                        uint64_t ino, File* file = nullptr);
  // Writes rec as the record of the file at path. `seal` stores a ctime bound
  // (see BlobRecord::fp_ctime_bound); staged files are not sealed, since the
  // commit rename moves their ctime.
  Status WriteRecord(const std::string& path, const std::string& c, const std::string& b,
                     BlobRecord rec, bool seal = true);
  // Removes the sidecars and uncommitted blocks of the blobs of container c,
  // whose tree now lies at `dir`.
  void DropContainerResidue(const std::string& c, const std::string& dir);
  // The blob's properties from its record, or derived from `st`. With `file`
  // (open on path, st its fstat) the record is read through the descriptor,
  // so it belongs to the very inode being served even when a commit renames
  // a new file over path meanwhile; without, a path replaced between the
  // stat and the read is looked at again.
  BlobInfo InfoFromFile(const std::string& path, const std::string& c, const std::string& b,
                        const FileStat& st, File* file = nullptr, bool may_retry = true);
  Status RemoveEmptyParents(const std::string& c, const std::string& b);
  // Creates the directories of b's parents; kPathConflict when one is a file.
  Status CheckParentsForCreate(const std::string& c, const std::string& b);

  Fs* fs_;
  std::string root_;
  bool sync_;
  static constexpr int kStripes = 64;
  std::mutex blob_locks_[kStripes];
  std::mutex container_locks_[kStripes];
};

}  // namespace strata::ns
