// Store: one account's namespace on a POSIX tree.
//
//   ROOT/CONTAINER/path/to/blob   a blob is a plain file; its record in one xattr
//   ROOT/.strata/tmp/             staged uploads (same file system: atomic rename)
//   ROOT/.strata/blocks/H/        uncommitted blocks of one blob (H = md5 of its name):
//                                 an entry per block id, .name (whose blocks) and
//                                 .tally (how many, how many bytes: BlockTally)
//   ROOT/.strata/sidecar/H.INO    records too large for the xattr, or where the
//                                 file system has no xattrs (H = md5 of the name,
//                                 INO = inode of the file or container directory
//                                 described, so a staged file's record never
//                                 replaces the published one's before the rename)
//
// Views: the config can place a container's tree anywhere on the machine
// (ConfigureContainer). Its blobs are then files under that directory, served
// in place; every name resolves beneath it as beneath ROOT/CONTAINER (no
// symlink or ".." leads out). A writable view stages uploads and keeps its
// uncommitted blocks in VIEW/.strata/{tmp,blocks} (same file system: commits
// stay one rename); VIEW/.strata is never a blob or path. A read-only view
// needs no write access at all. Any container may also carry a byte and a
// file limit, checked at every commit against its usage ledger:
//
//   ROOT/.strata/usage/CONTAINER  bytes and files of a limited container
//   VIEW/.strata/usage            the same for a writable view
//
// shared by every gateway on the root and read and rewritten under the
// container's quota lock (Coordination kQuota) by every change of its usage.
// The first gateway to start recounts it (one walk); every strata write then
// keeps it exact. Files changed with plain tools are counted at the next
// start of a first gateway. The bytes of its blobs' uncommitted blocks count
// against the byte limit too, from Put Block until they are committed (then
// the blob's bytes replace them), dropped or expire. Containers without a
// limit have no ledger and take no quota lock.
//
// Thread-safety: all methods are thread-safe. Read-modify-write sequences on
// one blob (conditions, leases, metadata) must hold LockBlob() for that blob;
// on one container, LockContainer().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fs/fs.h"
#include "ns/coordination.h"
#include "ns/record.h"

namespace strata::ns {

class Store;
struct Assembly;       // store_assembly.cc
class SealsInFlight;  // store.cc

// A range reserved at the end of an assembly file for one Put Block body
// (Store::ReserveBlock). Destroyed unpublished, it gives its range back.
// Must not be destroyed while LockBlob of its blob is held.
class BlockSlot {
 public:
  ~BlockSlot();
  BlockSlot(const BlockSlot&) = delete;
  BlockSlot& operator=(const BlockSlot&) = delete;
  int fd() const { return file_->fd(); }
  uint64_t offset() const { return offset_; }
  uint64_t size() const { return size_; }

 private:
  friend class Store;
  BlockSlot() = default;
  Store* store_ = nullptr;
  std::string c_, b_;
  std::shared_ptr<Assembly> asm_;
  std::unique_ptr<File> file_;  // the assembly file, open for writing
  uint64_t offset_ = 0, size_ = 0;
  bool published_ = false;
};

struct BlobInfo {
  std::string name;
  BlobRecord rec;  // stored record, or one derived from the file's stat
  FileStat st;
  bool has_record = false;  // false: written through POSIX, properties derived
};

struct ListItem {
  std::string name;
  bool is_prefix = false;
  bool is_dir = false;  // a directory, listed as an HNS account lists it: a zero-length blob
  BlobInfo info;        // for blobs and directories
};

// Owner, group and access control list of a path (dfs). The permission bits
// are the file's mode; these are what the mode cannot hold. Empty strings:
// never set (owner and group read as "$superuser").
struct PathAcl {
  std::string owner, group, acl;
};

// A file or directory of the hierarchical (dfs) view of a container.
struct PathInfo {
  std::string name;
  bool is_dir = false;
  bool explicit_dir = false;  // a directory carrying a record (made through dfs)
  BlobRecord rec;  // files: as Head(); directories: their record or derived
  FileStat st;
  PathAcl acl;
};

// How the config file sets up one container.
struct ContainerConfig {
  std::string dir;         // a view: the directory (absolute, no symlinks) holding its tree
  bool read_only = false;  // no write of any kind (api answers 403)
  uint64_t max_bytes = 0;  // 0: no limit; else the sum of its files' sizes stays <= this
  uint64_t max_files = 0;  // 0: no limit; else its number of files stays <= this
  // Cache mode (tier/capacity_tier.h, "Cache mode"): the container fronts a
  // remote container of the same names. Its directory is created at Open; a
  // hot record may keep the remote ETag its data replaced (the base of a
  // pending write-back) and still counts as a remote reference.
  bool cached = false;
};

struct Usage {
  uint64_t bytes = 0, files = 0;  // bytes: files' sizes plus uncommitted blocks'
};

// The uncommitted blocks of one blob, counted. Kept in the file .tally of
// its block directory and rewritten, under an OFD lock on that file, by
// every change of the directory, so Put Block costs the same whatever the
// number of blocks and every gateway sharing the root reads one count. A
// crash between a tally update and the entry's rename leaves the tally one
// block over, never under (the limits fail closed) until the blocks are
// committed, dropped or expire.
struct BlockTally {
  uint64_t count = 0;   // distinct uncommitted block ids
  uint64_t bytes = 0;   // the sum of their sizes
  uint32_t id_len = 0;  // the length of their ids (a blob's ids have one); 0: no block
};

struct PathPage {
  std::vector<PathInfo> items;
  std::string next_marker;  // "" when the listing is complete
};

struct ListPage {
  std::vector<ListItem> items;
  std::string next_marker;  // "" when the listing is complete
};

class Store {
 public:
  // `fs` outlives the store. `sync` fsyncs staged files before commit.
  Store(Fs* fs, std::string root, bool sync);
  ~Store();

  // Sets up container `name` as a view and/or with limits. REQUIRES: before
  // Open(), and cfg.dir (when set) already resolved by realpath.
  void ConfigureContainer(const std::string& name, ContainerConfig cfg);

  // Creates ROOT/.strata/{tmp,blocks,sidecar} (and VIEW/.strata/{tmp,blocks}
  // of writable views), removes anything left in tmp by an earlier run
  // (invariant 4) and blocks older than 7 days, and counts the usage of every
  // container with a limit (one walk each). A view whose directory is missing
  // fails the open.
  Status Open();

  bool IsView(const std::string& c) const { return View(c) != nullptr; }
  bool IsReadOnly(const std::string& c) const {
    auto* v = Configured(c);
    return v && v->cfg.read_only;
  }
  // Names no blob or path may have in container c: VIEW/.strata of a view.
  bool IsReservedName(const std::string& c, const std::string& name) const;
  // Whether container c has a byte or file limit.
  bool IsLimited(const std::string& c) const {
    auto* s = Configured(c);
    return s && s->limited();
  }
  // Current usage of a container with a limit (its ledger, read under the
  // quota lock); nullopt for one without, or when the ledger cannot be read.
  std::optional<Usage> GetUsage(const std::string& c);
  // kQuotaExceeded when adding `bytes` and `files` (either may be negative)
  // to c's usage would pass one of its limits. Only a check: commits check
  // again, exactly, when they publish.
  Status CheckQuota(const std::string& c, int64_t bytes, int64_t files);

  // The most uncommitted blocks one blob may have, as on Azure.
  static constexpr uint64_t kMaxUncommittedBlocks = 100000;
  // Changes that limit (tests lower it). Set once, before serving.
  void SetMaxUncommittedBlocks(uint64_t n) { max_uncommitted_ = n; }
  // The operator says this is the only gateway on the root: no file locks
  // (Coordination, single-gateway mode). Before Open().
  void SetSingleGateway(bool single) { single_gateway_ = single; }
  // Whether Open() creates a root that does not exist (with its parents;
  // the default, for tests); else it fails with kNotFound: the server
  // refuses to serve a root on an unmounted shared file system empty
  // (server/config.h, create_root). Before Open().
  void SetCreateRoot(bool create) { create_root_ = create; }
  // How this store's gateway agrees with the others on the root (Open()
  // joins them; before that, in-process locks only).
  Coordination& coord() { return *coord_; }

  // Removes the uncommitted blocks of blobs that saw no Put Block for 7
  // days before `now`, giving their bytes back to their container's usage.
  // Returns how many blobs' blocks went.
  size_t ExpireBlocks(TimeNs now);

  const std::string& root() const { return root_; }
  Fs* fs() const { return fs_; }
  // Where this gateway stages uploads: ROOT/.strata/tmp/GATEWAY-ID (each
  // gateway its own, so one's start or death never touches another's).
  std::string TmpDir() const { return root_ + "/.strata/tmp/" + coord_->id(); }
  // Where uploads to container c are staged: on the file system of its tree.
  std::string TmpDir(const std::string& c) const;
  // Removes what gateways of the root that died left staged (their
  // directories under every .strata/tmp). Returns how many were reaped.
  size_t ReapDeadGateways();

  // ---- containers ----
  Status CreateContainer(const std::string& name, const ContainerRecord& rec);
  // kContainerNotFound when absent.
  Result<ContainerRecord> GetContainer(const std::string& name);
  Status PutContainer(const std::string& name, const ContainerRecord& rec);
  // Removes the container and every blob in it. kPermission for a view (the
  // config file owns it).
  Status DeleteContainer(const std::string& name);
  // Sorted names of all containers: the directories under ROOT whose names
  // are valid container names (never .strata, lost+found, symlinks), and
  // the views.
  Result<std::vector<std::string>> ContainerNames();

  // ---- blobs ----
  // kContainerNotFound, or kNotFound when the blob does not exist (a
  // directory is not a blob).
  Result<BlobInfo> Head(const std::string& c, const std::string& b);
  struct OpenBlob {
    std::unique_ptr<File> file;
    // Shared with the thread's cache of decoded records (see Store::Open).
    std::shared_ptr<const BlobInfo> info;
  };
  Result<OpenBlob> Open(const std::string& c, const std::string& b);

  // A fresh path in TmpDir(c) (TmpDir() when c is empty); the caller
  // creates the file and removes it on failure.
  std::string NewTempPath(const std::string& c = "");
  // Publishes the staged file `temp` as blob b: stores `rec` (fingerprint
  // filled in here) in its xattr, fsyncs per the setting, creates parent
  // directories and renames over any old blob. `drop_blocks` discards the
  // blob's uncommitted blocks. On failure `temp` is left for the caller.
  // kPathConflict when a parent is a file; kIsDirectory when b is a directory;
  // kQuotaExceeded when it would pass a limit of c (nothing changed then).
  // With `replace` false the rename is RENAME_NOREPLACE: kAlreadyExists when
  // a blob exists at b, whoever made it (another gateway, a POSIX writer)
  // since the caller looked, and nothing changed.
  Status Commit(const std::string& c, const std::string& b, const std::string& temp,
                BlobRecord rec, bool drop_blocks, bool replace = true);
  // Rewrites the record of an existing blob in place (its data unchanged).
  Status UpdateRecord(const std::string& c, const std::string& b, BlobRecord rec);
  // Appends the bytes of `src` to the blob and rewrites its record.
  // kQuotaExceeded when it would pass c's byte limit.
  Status AppendFrom(const std::string& c, const std::string& b, File& src, uint64_t n,
                    BlobRecord rec);
  // Removes the blob, its blocks and its sidecar, and prunes now-empty parent
  // directories up to the container.
  Status DeleteBlob(const std::string& c, const std::string& b);

  // ---- capacity tier (tier/ moves data; these keep the record true) ----
  // The record stored for blob b, whether or not its fingerprint still
  // matches the file (nullopt when there is none or it does not unpack), and
  // the file's stat. Tier recovery reads what it wrote before a crash with
  // this. kContainerNotFound, kNotFound.
  struct StoredRecord {
    std::optional<BlobRecord> rec;
    FileStat st;
  };
  Result<StoredRecord> ReadStoredRecord(const std::string& c, const std::string& b);
  // Releases the local data of blob b: publishes, like Commit, a sparse
  // stub of the same size (no data blocks) with mtime `mtime_ns` (the
  // data's, so a repeat after a crash restores it too), the same permission
  // bits and dfs ACL, and `rec` (fingerprint filled in), so the stub is the
  // same blob (same ETag) to Head. Readers that opened the file before keep
  // reading its data. REQUIRES: LockBlob(c, b) held; the caller verified the
  // remote copy (invariant 3). Idempotent.
  Status ReleaseData(const std::string& c, const std::string& b, BlobRecord rec,
                     int64_t mtime_ns);
  // Commit(c, b, temp, rec, false) after giving `temp` the current file's
  // permission bits and dfs owner/group/ACL (a recalled file replacing its
  // stub). REQUIRES: LockBlob(c, b) held.
  Status ReplaceKeepingAttrs(const std::string& c, const std::string& b, const std::string& temp,
                             BlobRecord rec);
  // Called when a commit replaces, or a delete removes, a blob whose stored
  // record names a remote copy (any tier state but hot): first with
  // done=false before the change (the tier journals the clean-up), then with
  // done=true once it happened (the tier deletes the stale copy). Not called
  // when the new record keeps the old ETag (a recall replacing its stub).
  // Set once, before serving.
  using RemoteRefHook =
      std::function<void(const std::string& c, const std::string& b, const BlobRecord& old, bool done)>;
  void SetRemoteRefHook(RemoteRefHook hook) { remote_ref_hook_ = std::move(hook); }
  // Creates directory p of container c and its parents as plain
  // directories (no record, as an upload's parents), refusing anything but a
  // directory on the way (a file, or a symlink a local user planted):
  // kPathConflict. REQUIRES: p a valid blob name.
  Status MakeParentDirs(const std::string& c, const std::string& p) {
    return CheckParentsForCreate(c, p + "/");
  }
  // The file of blob b (not checked to exist).
  std::string BlobFilePath(const std::string& c, const std::string& b) const {
    return BlobPath(c, b);
  }

  // ---- uncommitted blocks ----
  // Moves the staged file `temp` into the blob's block directory as block
  // `id`, replacing an uncommitted block of that id (whose place in an
  // assembly file is then given back). O(1) in the number of blocks.
  // kLimitReached when id is new and the blob has max uncommitted blocks;
  // kQuotaExceeded when the block's bytes (less those of the block it
  // replaces) would pass c's byte limit. On failure nothing changed and
  // `temp` is left for the caller. REQUIRES: LockBlob(c, b) held.
  Status StoreBlock(const std::string& c, const std::string& b, const std::string& id,
                    const std::string& temp);
  // Uncommitted blocks in upload order (one listing of the directory).
  Result<std::vector<BlockInfo>> UncommittedBlocks(const std::string& c, const std::string& b);
  // The blob's BlockTally, read in O(1) (zeros when it has no blocks): a
  // snapshot, exact while LockBlob(c, b) is held in every gateway.
  Result<BlockTally> UncommittedTally(const std::string& c, const std::string& b);
  // Only a check, before a Put Block body is read: the error StoreBlock
  // would answer now for a block `id` of `size` bytes (kLimitReached,
  // kQuotaExceeded), else ok.
  Status CheckBlockRoom(const std::string& c, const std::string& b, const std::string& id,
                        uint64_t size);
  std::string BlockPath(const std::string& c, const std::string& b, const std::string& id) const;
  // Removes the blob's uncommitted blocks and gives their bytes back.
  Status DropBlocks(const std::string& c, const std::string& b);
  // Names of blobs of container c that have uncommitted blocks.
  std::vector<std::string> UncommittedBlobNames(const std::string& c);

  // ---- the assembly file: Put Block List without a copy ----
  // A Put Block body may go straight into this process's assembly file for
  // its blob, appended at a reserved offset (ReserveBlock, before the body
  // is read), and become uncommitted block `id` once checked (StoreBlockSlot):
  // the block's entry is then a sparse file of the block's size naming its
  // place in the assembly file. When a block list names exactly that file's
  // blocks in order (the usual upload: ids in order, a few in flight),
  // CommitAssembled renames the file into place instead of copying it.
  // nullptr: the body is to be spooled as before (no container, a read-only
  // view, an empty body, or the file could not be made).
  std::unique_ptr<BlockSlot> ReserveBlock(const std::string& c, const std::string& b,
                                          uint64_t size);
  // Publishes the slot's bytes as uncommitted block id. REQUIRES: LockBlob
  // (c, b) held. When the assembly file was dropped meanwhile (a commit or a
  // delete of the blob), the bytes are copied into a block of their own.
  Status StoreBlockSlot(const std::string& c, const std::string& b, const std::string& id,
                        BlockSlot& slot);
  // The bytes of uncommitted block id: a file holding them, and where.
  Result<std::pair<std::unique_ptr<File>, uint64_t>> OpenBlock(const std::string& c,
                                                               const std::string& b,
                                                               const std::string& id);
  // When `list` (uncommitted blocks, in order) is this process's assembly
  // file for b from its first byte to its last, with no upload into it in
  // flight, commits that file as the blob (as Commit, dropping the blocks)
  // and returns the status; nullopt: the blocks must be copied. REQUIRES:
  // LockBlob(c, b) held.
  std::optional<Status> CommitAssembled(const std::string& c, const std::string& b,
                                        const std::vector<BlockInfo>& list, const BlobRecord& rec,
                                        bool replace = true);

  // ---- listing ----
  // Blobs of container c in name order, starting at `marker` (a name, from
  // an earlier page's next_marker), restricted to `prefix`, collapsed into
  // prefixes at `delimiter` when non-empty, at most `max` items. Every
  // directory is an item too (is_dir, size 0), as on an HNS account: "d"
  // sorts by its own name, its entries after it as "d/..."; with the
  // delimiter "/" it is both the item "d" and the prefix "d/".
  Result<ListPage> List(const std::string& c, const std::string& prefix,
                        const std::string& delimiter, const std::string& marker, size_t max);

  // ---- hierarchical namespace (dfs; store_paths.cc) ----
  // A directory made through dfs is a real directory whose record (a
  // BlobRecord: metadata, ETag, times, lease) lies in its own xattr; that
  // record marks it explicit, so DeleteBlob does not prune it when its last
  // file goes. Directories without one are implicit (made by a blob commit
  // or with plain tools).

  // The file or directory p (p non-empty). kContainerNotFound, kNotFound.
  Result<PathInfo> HeadPath(const std::string& c, const std::string& p);
  // Creates directory p and any missing parents, all explicit, with mode
  // `mode` and record `rec` (parents get a copy with fresh ETags). When p is
  // a directory already its record is replaced. kPathConflict when p or a
  // parent is a file.
  Status MakeDirectory(const std::string& c, const std::string& p, const BlobRecord& rec,
                       uint32_t mode);
  // Replaces the record of directory p (making it explicit).
  Status PutDirRecord(const std::string& c, const std::string& p, const BlobRecord& rec);
  // Stores owner/group/ACL, sets the permission bits when `mode` is given,
  // then stores `rec` as the path's record (so a file's record stays sealed).
  Status SetPathAcl(const std::string& c, const std::string& p, const PathAcl& acl,
                    std::optional<uint32_t> mode, const BlobRecord& rec);
  // Moves file or directory `from` to `to` (same account) with one
  // rename(2): atomic whatever the tree's size. Replaces a file at `to`, or
  // an empty directory when `from` is one. REQUIRES: to's parent exists (the
  // caller checks, to answer with its own error). kNotFound: no source;
  // kPathConflict: file vs directory at `to`; kNotEmpty: `to` a non-empty
  // directory.
  Status RenamePath(const std::string& from_c, const std::string& from, const std::string& to_c,
                    const std::string& to);
  // Removes file or directory p. A non-empty directory needs `recursive`
  // (kNotEmpty otherwise); the tree leaves the namespace with one rename
  // before it is removed. Prunes implicit empty parents, as DeleteBlob.
  Status DeletePath(const std::string& c, const std::string& p, bool recursive);
  // Paths under directory `dir` ("" = the container) in depth-first order
  // (a directory, then its entries, each level sorted by name), after
  // `marker` (a path from an earlier page), at most `max`. Only the top
  // level unless `recursive`. kNotFound when dir is not a directory.
  Result<PathPage> ListPaths(const std::string& c, const std::string& dir, bool recursive,
                             const std::string& marker, size_t max);
  // Where dfs appends of file b are staged before a flush commits them (in
  // the blob's block directory, so they expire and are dropped with its
  // uncommitted blocks). Creates the directory.
  Result<std::string> AppendStagePath(const std::string& c, const std::string& b);

  // ---- locks ----
  // Held by every read-modify-write of one blob or container, in this
  // process and across the gateways on the root (Coordination). Order:
  // container before blob; two blobs only through LockBlobs.
  using Lock = Coordination::Guard;
  Lock LockBlob(const std::string& c, const std::string& b);
  Lock LockContainer(const std::string& c);
  // Both blobs' locks (they may be one), without deadlock against any other
  // pair.
  std::pair<Lock, Lock> LockBlobs(const std::string& c1, const std::string& b1,
                                  const std::string& c2, const std::string& b2);
  static std::string BlobLockKey(const std::string& c, const std::string& b) {
    return c + '\0' + b;
  }

 private:
  struct ContainerState {
    std::string name;
    ContainerConfig cfg;
    // The quota lock: this mutex excludes the threads of this process, the
    // OFD byte of (kQuota, name) the other gateways (Coordination::Lock with
    // a mutex). Held across a commit's size check, its rename and the
    // ledger's update; always the last lock taken.
    std::mutex quota_mu;
    std::string ledger_path;       // the usage ledger (limited containers)
    std::unique_ptr<File> ledger;  // open from Open() on
    bool limited() const { return cfg.max_bytes || cfg.max_files; }
  };
  // A limited container's quota lock, held, and its ledger as read under it.
  struct QuotaHold {
    ContainerState* q = nullptr;
    Coordination::Guard guard;
    Usage used;
  };
  const ContainerState* Configured(const std::string& c) const {
    if (configured_.empty()) return nullptr;
    auto it = configured_.find(c);
    return it == configured_.end() ? nullptr : it->second.get();
  }
  bool Cached(const std::string& c) const {
    auto* s = Configured(c);
    return s && s->cfg.cached;
  }
  const ContainerState* View(const std::string& c) const {
    auto* s = Configured(c);
    return s && !s->cfg.dir.empty() ? s : nullptr;
  }
  // c's state when it has a limit, else nullptr.
  ContainerState* Limited(const std::string& c) {
    auto* s = Configured(c);
    return s && s->limited() ? const_cast<ContainerState*>(s) : nullptr;
  }
  // kQuotaExceeded when adding (bytes, files) to `used` passes a limit of q.
  static Status Fits(const ContainerState& q, const Usage& used, int64_t bytes, int64_t files);
  // Takes q's quota lock and reads its ledger (recounting it when it is
  // missing or does not parse).
  Result<QuotaHold> HoldQuota(ContainerState* q);
  // Both quota locks (Coordination::LockPair's order) and both ledgers.
  // REQUIRES: a != b.
  Result<std::pair<QuotaHold, QuotaHold>> HoldQuotas(ContainerState* a, ContainerState* b);
  // Adds (bytes, files) to the held usage around `change` (may be empty);
  // see store_quota.cc for the order of the writes. On failure of the change the
  // ledger is as before.
  Status ChangeUsage(QuotaHold& h, int64_t bytes, int64_t files,
                     const std::function<Status()>& change);
  std::optional<Usage> ReadLedger(ContainerState& q);
  Status WriteLedger(ContainerState& q, const Usage& u);
  // q's usage counted from its tree and block tallies. `lock_tallies`
  // false: read the tallies without their locks (the quota lock is held, and
  // a Put Block holding a tally waits for it).
  Usage Recount(const ContainerState& q, bool lock_tallies);
  // Files and bytes of the tree at `dir` (the regular files, no symlinks).
  Usage Walk(const std::string& dir, bool skip_strata);
  std::string ContainerDir(const std::string& c) const {
    if (auto* v = View(c)) return v->cfg.dir;
    return root_ + "/" + c;
  }
  std::string BlobPath(const std::string& c, const std::string& b) const {
    return ContainerDir(c) + "/" + b;
  }
  // Where c's uncommitted blocks live: ROOT/.strata/blocks, or a writable
  // view's own.
  std::string BlocksRoot(const std::string& c) const;
  std::string BlockDir(const std::string& c, const std::string& b) const;
  // The sidecar of blob b whose file has inode `ino`; with b empty, that of
  // container c whose directory has inode `ino`.
  std::string SidecarPath(const std::string& c, const std::string& b, uint64_t ino) const;
  // kPathConflict when the container directory or a component between it and
  // b is a symlink or a file.
  Status CheckParents(const std::string& c, const std::string& b);
  // Stores `packed` as attribute `xattr` of `path` (inode `ino`), or in the
  // sidecar of (c, b, ino) when it is too large for an xattr or the file
  // system has none. Leaves other inodes' sidecars alone. `fresh`: path is a
  // file strata just created, which has no sidecar to remove (an xattr
  // record wins over a sidecar anyway).
  Status WritePacked(const std::string& path, const char* xattr, const std::string& c,
                     const std::string& b, uint64_t ino, const std::string& packed,
                     bool fresh = false);
  // The text stored by WritePacked, or nullopt when there is none.
  std::optional<std::string> ReadPacked(const std::string& path, const char* xattr,
                                        const std::string& c, const std::string& b,
                                        uint64_t ino, File* file = nullptr,
                                        bool* in_xattr = nullptr);
  // Writes rec as the record of the published file at path, sealed with a
  // ctime bound (see BlobRecord::fp_ctime_bound). Staged files are not
  // sealed, since the commit rename moves their ctime.
  Status WriteRecord(const std::string& path, const std::string& c, const std::string& b,
                     BlobRecord rec);
  // Removes the sidecars and uncommitted blocks of the blobs of container c,
  // whose tree now lies at `dir` (their bytes are not given back: the caller
  // cleared the usage).
  void DropContainerResidue(const std::string& c, const std::string& dir);
  Status DropBlocks(const std::string& c, const std::string& b, bool give_back);
  // The blob's properties from its record, or derived from `st`. With `file`
  // (open on path, st its fstat) the record is read through the descriptor,
  // so it belongs to the very inode being served even when a commit renames
  // a new file over path meanwhile; without, a path replaced between the
  // stat and the read is looked at again.
  BlobInfo InfoFromFile(const std::string& path, const std::string& c, const std::string& b,
                        const FileStat& st, File* file = nullptr, bool may_retry = true);
  // The file of blob b, or kContainerNotFound / kNotFound (no file there, a
  // directory, or a parent that is not a plain directory).
  Result<FileStat> StatBlob(const std::string& c, const std::string& b);
  // The same, filling *info in place (GET's path: no BlobInfo moves).
  // *cacheable (when given) says whether the result depends only on st and
  // the record read through `file` (see Store::Open's cache).
  void FillInfo(const std::string& path, const std::string& c, const std::string& b,
                const FileStat& st, File* file, bool may_retry, BlobInfo* info,
                bool* cacheable = nullptr);
  Status RemoveEmptyParents(const std::string& c, const std::string& b);
  // Directory helpers of store_paths.cc.
  bool IsExplicitDir(const std::string& path);
  PathAcl ReadAcl(const std::string& path);
  PathInfo DirInfo(const std::string& c, const std::string& p, const FileStat& st);
  // Creates the directories of b's parents; kPathConflict when one is a file.
  Status CheckParentsForCreate(const std::string& c, const std::string& b);

  // The stored record of the file at path (inode ino) when it names a remote
  // copy and a RemoteRefHook is set.
  std::optional<BlobRecord> RemoteRef(const std::string& path, const std::string& c,
                                      const std::string& b, uint64_t ino);

  friend class BlockSlot;
  // Gives an unpublished slot's range back (see BlockSlot).
  void ReleaseSlot(BlockSlot& slot);
  // Makes b's block directory (with its .name and .tally files) unless it
  // exists.
  Status EnsureBlockDir(const std::string& c, const std::string& b);
  // A block directory's .tally, open and locked (File::Lock) until `file`
  // closes.
  struct HeldTally {
    std::unique_ptr<File> file;
    BlockTally t;
  };
  // Opens and locks the tally of block directory `dir`, rebuilding it by one
  // listing when it is missing (a directory from an older strata) or
  // unreadable. kNotFound when the directory is gone (or went while we
  // waited for the lock).
  Result<HeldTally> LockTally(const std::string& dir);
  // The blocks of block directory `dir` in upload order.
  Result<std::vector<BlockInfo>> ListBlockDir(const std::string& dir);
  Status WriteTally(File& f, const BlockTally& t);
  // StoreBlock's step under the tally lock.
  Status PublishBlock(const std::string& c, const std::string& b, const std::string& id,
                      const std::string& temp, uint64_t size, HeldTally& held);
  // Removes block directory `dir` of container c, whose tally `held` holds
  // locked, and gives its bytes back to c's usage when `give_back`.
  Status RemoveBlockDir(const std::string& c, const std::string& dir, const HeldTally& held,
                        bool give_back);
  // "CONTAINER/BLOB" from a block directory's .name file.
  std::optional<std::string> BlockDirOwner(const std::string& dir);
  // The bytes of the uncommitted blocks of container c's blobs (Recount).
  uint64_t UncommittedBytes(const std::string& c, bool lock_tallies);
  // Gives back the range of an assembly file that a replaced block entry
  // (whose kBlockRefXattr is `ref`, of `size` bytes) named.
  void PunchReplaced(const std::string& dir, const std::string& ref, uint64_t size);
  // Marks b's assembly file dropped (its directory is about to go).
  void ForgetAssembly(const std::string& c, const std::string& b);
  std::string AssemblyKey(const std::string& c, const std::string& b) const {
    return c + '\0' + b;
  }

  Fs* fs_;
  std::string root_;
  std::map<std::string, std::unique_ptr<ContainerState>> configured_;  // fixed after Open
  bool sync_;
  RemoteRefHook remote_ref_hook_;
  uint64_t max_uncommitted_ = kMaxUncommittedBlocks;
  bool single_gateway_ = false;
  bool create_root_ = true;
  std::unique_ptr<Coordination> coord_;
  std::unique_ptr<SealsInFlight> seals_;
  // This process's assembly files by AssemblyKey. Lock order: LockBlob,
  // then asm_mu_.
  std::mutex asm_mu_;
  std::map<std::string, std::shared_ptr<Assembly>> assemblies_;
};

}  // namespace strata::ns
