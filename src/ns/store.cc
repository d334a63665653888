#include "ns/store.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <random>
#include <vector>

#include "common/crash_point.h"
#include "common/crypto.h"
#include "common/strings.h"
#include "ns/names.h"
#include "ns/assembly.h"

namespace strata::ns {

namespace {
constexpr char kRecordXattr[] = "user.strata.rec";
constexpr char kContainerXattr[] = "user.strata.container";
constexpr char kSidecarMarker[] = "@sidecar";
constexpr size_t kXattrLimit = 3000;  // larger records go to the sidecar
constexpr TimeNs kBlockTtl = 7LL * 24 * 3600 * 1000000000LL;
// How far past "now" a record's ctime bound is set: covers the syscalls
// between taking the time and the change that stamps the ctime, not a
// preemption (see WriteRecord).
constexpr int64_t kSealSlackNs = 200000;

// What Open decoded for recently served files, per I/O thread. A blob read
// a million times is one inode whose (ctime, mtime, size, links, birth) do
// not move, so its record need not be read and decoded again: the entry
// holds while all of those match a fresh fstat of the opened descriptor and
// no record was written since (`g_record_epoch`, bumped by every
// WritePacked, so strata's own updates never wait for a timestamp tick).
// A change through POSIX moves ctime (setxattr, write, rename, link all do),
// so it is seen exactly as FillInfo sees it, provided it moves the ctime to
// a new value: a file system with coarse timestamps (Lustre keeps whole
// seconds) stamps a change made in the same tick as the cached ctime with
// that same ctime, and another gateway's record update on a shared file
// system does not bump this process's epoch. So only settled inodes are
// cached, whose ctime lies kSettledNs before the fill: any later change is
// stamped later than that. Records kept in a sidecar are
// not cached: the sidecar's changes do not touch the blob's inode.
std::atomic<uint64_t> g_record_epoch{1};

struct OpenCacheEntry {
  const void* store = nullptr;
  uint64_t epoch = 0;
  FileStat st;
  std::shared_ptr<const BlobInfo> info;
};
constexpr size_t kOpenCacheSlots = 8192;  // about 1 MiB per I/O thread, plus the records
constexpr size_t kOpenCacheMaxRecord = 1024;  // larger records are not kept
constexpr TimeNs kSettledNs = 3LL * 1000000000LL;  // over any file system's tick

bool SameInodeState(const FileStat& a, const FileStat& b) {
  return a.ino == b.ino && a.dev == b.dev && a.ctime_ns == b.ctime_ns &&
         a.mtime_ns == b.mtime_ns && a.size == b.size && a.nlink == b.nlink &&
         a.btime_ns == b.btime_ns && a.mode == b.mode;
}

OpenCacheEntry& OpenCacheSlot(const FileStat& st) {
  thread_local std::unique_ptr<OpenCacheEntry[]> slots(new OpenCacheEntry[kOpenCacheSlots]);
  uint64_t h = (st.ino * 0x9E3779B97F4A7C15ULL) ^ st.dev;
  return slots[(h >> 32) % kOpenCacheSlots];
}


// Now, but strictly later than every earlier call in this process.
TimeNs BlockSequenceTime() {
  static std::atomic<TimeNs> last{0};
  TimeNs now = NowNs();
  TimeNs prev = last.load();
  TimeNs next;
  do {
    next = now > prev ? now : prev + 1;
  } while (!last.compare_exchange_weak(prev, next));
  return next;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}
}  // namespace

// The inodes whose records WriteRecord is sealing right now, in this
// gateway (this Store; another gateway's seals are seen through the blob's
// lock, see FillInfo). A seal stores a ctime bound taken just before its setxattr; if
// the thread is preempted in between, the ctime the setxattr stamps lies
// past the bound until the next attempt rewrites it. A reader meeting such
// a record while its seal is in flight takes it as it is (it is the record
// being written, not one a POSIX change left stale). Keyed by inode number
// alone: a match on another device only relaxes the ctime test for the
// microseconds of that seal.
class SealsInFlight {
 public:
  void Add(uint64_t ino) {
    std::lock_guard<std::mutex> l(mu_);
    inos_.push_back(ino);
    count_.fetch_add(1);
  }
  void Remove(uint64_t ino) {
    std::lock_guard<std::mutex> l(mu_);
    inos_.erase(std::find(inos_.begin(), inos_.end(), ino));
    count_.fetch_sub(1);
  }
  bool Contains(uint64_t ino) {
    if (count_.load() == 0) return false;
    std::lock_guard<std::mutex> l(mu_);
    return std::find(inos_.begin(), inos_.end(), ino) != inos_.end();
  }

 private:
  std::mutex mu_;
  std::vector<uint64_t> inos_;  // one entry per seal in flight (a multiset)
  std::atomic<int> count_{0};
};

Store::Store(Fs* fs, std::string root, bool sync)
    : fs_(fs),
      root_(std::move(root)),
      sync_(sync),
      coord_(Coordination::InProcess()),
      seals_(std::make_unique<SealsInFlight>()) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Store::~Store() {
  // A clean stop leaves no staging directory behind (uploads still in
  // flight are lost with the process anyway). Before coord_ unregisters.
  if (coord_->id().empty()) return;  // never opened: no directory of its own
  (void)fs_->RemoveAll(TmpDir());
  for (const auto& [name, state] : configured_)
    if (!state->cfg.dir.empty() && !state->cfg.read_only) (void)fs_->RemoveAll(TmpDir(name));
}

void Store::ConfigureContainer(const std::string& name, ContainerConfig cfg) {
  while (cfg.dir.size() > 1 && cfg.dir.back() == '/') cfg.dir.pop_back();
  auto state = std::make_unique<ContainerState>();
  state->name = name;
  state->cfg = std::move(cfg);
  configured_[name] = std::move(state);
}

Status Store::Open() {
  if (!create_root_) {
    auto st = fs_->Stat(root_);
    if (!st.ok() && st.status().kind() == ErrorKind::kNotFound)
      return Status(ErrorKind::kNotFound, "root " + root_ + " does not exist");
  }
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(root_ + "/.strata/blocks"));
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(root_ + "/.strata/sidecar"));
  auto co = Coordination::Open(fs_, root_, single_gateway_);
  if (!co.ok()) return co.status();
  coord_ = std::move(*co);
  // Staging areas: the first gateway to start clears what earlier runs left
  // (every gateway of them is gone); a later one only what dead ones left.
  std::vector<std::string> tmps = {root_ + "/.strata/tmp"};
  for (auto& [name, state] : configured_) {
    const ContainerConfig& cfg = state->cfg;
    if (!cfg.dir.empty()) {
      auto st = fs_->Stat(cfg.dir);
      if (!st.ok() || !st->is_dir())
        return Status(ErrorKind::kNotFound, "view " + name + ": " + cfg.dir + " is not a directory");
      if (!cfg.read_only) {
        STRATA_RETURN_IF_ERROR(fs_->MkdirAll(cfg.dir + "/.strata/blocks"));
        tmps.push_back(cfg.dir + "/.strata/tmp");
      }
    }
    // A cached container exists from the start: its names come from the remote.
    if (cfg.cached) STRATA_RETURN_IF_ERROR(fs_->MkdirAll(ContainerDir(name)));
  }
  if (coord_->first()) {
    for (const auto& t : tmps) STRATA_RETURN_IF_ERROR(fs_->RemoveAll(t));
  }
  for (const auto& t : tmps) STRATA_RETURN_IF_ERROR(fs_->MkdirAll(t + "/" + coord_->id()));
  if (!coord_->first()) ReapDeadGateways();
  for (auto& [name, state] : configured_) {
    if (!state->limited()) continue;
    const ContainerConfig& cfg = state->cfg;
    if (!cfg.dir.empty() && !cfg.read_only) {
      state->ledger_path = cfg.dir + "/.strata/usage";
    } else {
      STRATA_RETURN_IF_ERROR(fs_->MkdirAll(root_ + "/.strata/usage"));
      state->ledger_path = root_ + "/.strata/usage/" + name;
    }
    auto f = fs_->OpenWrite(state->ledger_path, true, false);
    if (!f.ok()) return f.status();
    state->ledger = std::move(*f);
    // The first gateway counts while the others wait in Coordination::Open:
    // nothing changes the trees meanwhile. Later ones trust the ledgers.
    if (coord_->first())
      STRATA_RETURN_IF_ERROR(WriteLedger(*state, Recount(*state, /*lock_tallies=*/true)));
  }
  if (coord_->first()) {
    // Ledgers of containers that have no limit now go: nothing keeps them
    // up to date, and a limit set again later must start from a count.
    if (auto old = fs_->ListDir(root_ + "/.strata/usage"); old.ok()) {
      for (const auto& e : *old) {
        const ContainerState* st = Configured(e.name);
        if (!st || st->ledger_path != root_ + "/.strata/usage/" + e.name)
          (void)fs_->Unlink(root_ + "/.strata/usage/" + e.name);
      }
    }
    for (auto& [name, state] : configured_)
      if (!state->limited() && !state->cfg.dir.empty() && !state->cfg.read_only)
        (void)fs_->Unlink(state->cfg.dir + "/.strata/usage");
  }
  ExpireBlocks(NowNs());
  coord_->Serving();
  return Status::Ok();
}

size_t Store::ExpireBlocks(TimeNs now) {
  size_t removed = 0;
  std::vector<std::string> roots = {root_ + "/.strata/blocks"};
  for (const auto& [name, state] : configured_)
    if (!state->cfg.dir.empty() && !state->cfg.read_only) roots.push_back(BlocksRoot(name));
  for (const auto& root : roots) {
    auto dirs = fs_->ListDir(root);
    if (!dirs.ok()) continue;
    for (const auto& d : *dirs) {
      std::string dir = root + "/" + d.name;
      // A block directory's mtime is its last Put Block.
      auto st = fs_->Stat(dir);
      if (!st.ok() || now - st->mtime_ns <= kBlockTtl) continue;
      // Whose blocks: their container gets their bytes back.
      auto owner = BlockDirOwner(dir);
      size_t slash = owner ? owner->find('/') : std::string::npos;
      std::string c = slash != std::string::npos ? owner->substr(0, slash) : "";
      if (!c.empty()) ForgetAssembly(c, owner->substr(slash + 1));
      auto held = LockTally(dir);
      if (held.ok() ? RemoveBlockDir(c, dir, *held, true).ok() : fs_->RemoveAll(dir).ok())
        ++removed;
    }
  }
  return removed;
}

// ---------------------------------------------------------------- views, limits

std::string Store::TmpDir(const std::string& c) const {
  auto* v = View(c);
  return v && !v->cfg.read_only ? v->cfg.dir + "/.strata/tmp/" + coord_->id() : TmpDir();
}

size_t Store::ReapDeadGateways() {
  std::vector<std::string> tmps = {root_ + "/.strata/tmp"};
  for (const auto& [name, state] : configured_)
    if (!state->cfg.dir.empty() && !state->cfg.read_only)
      tmps.push_back(state->cfg.dir + "/.strata/tmp");
  size_t reaped = 0;
  for (const auto& id : coord_->DeadGateways()) {
    bool done = coord_->Reap(id, [&] {
      bool all = true;
      for (const auto& t : tmps) all = fs_->RemoveAll(t + "/" + id).ok() && all;
      return all;
    });
    if (done) ++reaped;
  }
  return reaped;
}

std::string Store::BlocksRoot(const std::string& c) const {
  auto* v = View(c);
  return v && !v->cfg.read_only ? v->cfg.dir + "/.strata/blocks" : root_ + "/.strata/blocks";
}

bool Store::IsReservedName(const std::string& c, const std::string& name) const {
  return IsView(c) && (name == ".strata" || StartsWith(name, ".strata/"));
}

// ---------------------------------------------------------------- containers

Status Store::CreateContainer(const std::string& name, const ContainerRecord& rec) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (st.ok()) return Status(ErrorKind::kAlreadyExists, "container exists: " + name);
  std::string tmp = NewTempPath();
  STRATA_RETURN_IF_ERROR(fs_->Mkdir(tmp));
  auto tst = fs_->Stat(tmp);
  Status s = tst.status();
  if (s.ok()) s = WritePacked(tmp, kContainerXattr, name, "", tst->ino, rec.Pack());
  std::optional<QuotaHold> hold;
  if (ContainerState* q = s.ok() ? Limited(name) : nullptr) {
    auto h = HoldQuota(q);
    if (h.ok()) {
      hold = std::move(*h);
    } else {
      s = h.status();
    }
  }
  if (s.ok()) s = fs_->RenameNoReplace(tmp, dir);
  // A new container holds nothing (whatever a tree removed with plain tools
  // left counted).
  if (s.ok() && hold) (void)WriteLedger(*hold->q, Usage{});
  hold.reset();
  if (!s.ok()) {
    (void)fs_->Rmdir(tmp);
    if (tst.ok()) (void)fs_->Unlink(SidecarPath(name, "", tst->ino));
    if (s.kind() == ErrorKind::kAlreadyExists || s.kind() == ErrorKind::kNotEmpty)
      return Status(ErrorKind::kAlreadyExists, "container exists: " + name);
  }
  return s;
}

Result<ContainerRecord> Store::GetContainer(const std::string& name) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (!st.ok() || !st->is_dir())
    return Status(ErrorKind::kContainerNotFound, "no container " + name);
  auto packed = ReadPacked(dir, kContainerXattr, name, "", st->ino);
  if (packed) {
    auto rec = ContainerRecord::Unpack(*packed);
    if (rec.ok()) return rec;
  }
  // A directory made with plain tools: a container with derived properties.
  ContainerRecord rec;
  rec.etag = DerivedEtag(st->ino, 0, st->ctime_ns);
  rec.last_modified = st->mtime_ns;
  return rec;
}

Status Store::PutContainer(const std::string& name, const ContainerRecord& rec) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (!st.ok() || !st->is_dir())
    return Status(ErrorKind::kContainerNotFound, "no container " + name);
  return WritePacked(dir, kContainerXattr, name, "", st->ino, rec.Pack());
}

Status Store::DeleteContainer(const std::string& name) {
  if (IsView(name))
    return Status(ErrorKind::kPermission, "a view is removed from the config file, not deleted");
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (!st.ok() || !st->is_dir())
    return Status(ErrorKind::kContainerNotFound, "no container " + name);
  // Move out of the namespace first so the delete looks atomic to readers.
  std::string tmp = NewTempPath();
  {
    // The usage goes to zero with the rename, in one step under the quota
    // lock: a container made again and written to by another gateway right
    // after is counted from zero, not zeroed later.
    std::optional<QuotaHold> hold;
    if (ContainerState* q = Limited(name)) {
      auto h = HoldQuota(q);
      if (!h.ok()) return h.status();
      hold = std::move(*h);
    }
    STRATA_RETURN_IF_ERROR(fs_->Rename(dir, tmp));
    if (hold) (void)WriteLedger(*hold->q, Usage{});
  }
  // The sidecars and blocks of its blobs would otherwise outlive it and be
  // taken for those of a later container's blobs of the same names.
  (void)fs_->Unlink(SidecarPath(name, "", st->ino));
  DropContainerResidue(name, tmp);
  return fs_->RemoveAll(tmp);
}

void Store::DropContainerResidue(const std::string& c, const std::string& dir) {
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    auto entries = fs_->ListDir(rel.empty() ? dir : dir + "/" + rel);
    if (!entries.ok()) return;
    for (const auto& e : *entries) {
      std::string name = rel.empty() ? e.name : rel + "/" + e.name;
      if (e.is_dir) {
        walk(name);
      } else if (e.is_file) {
        auto st = fs_->Stat(dir + "/" + name);
        if (!st.ok()) continue;
        // A blob whose data is remote: its copy goes with it.
        if (auto ref = RemoteRef(dir + "/" + name, c, name, st->ino)) {
          remote_ref_hook_(c, name, *ref, false);
          remote_ref_hook_(c, name, *ref, true);
        }
        (void)fs_->Unlink(SidecarPath(c, name, st->ino));
      }
    }
  };
  walk("");
  for (const auto& b : UncommittedBlobNames(c)) (void)DropBlocks(c, b, /*give_back=*/false);
}

Result<std::vector<std::string>> Store::ContainerNames() {
  auto entries = fs_->ListDir(root_);
  if (!entries.ok()) return entries.status();
  std::vector<std::string> names;
  for (const auto& e : *entries) {
    // Only directories that Azure could name (never .strata, lost+found, ...).
    if (!e.is_dir || !ValidateContainerName(e.name).ok() || IsView(e.name)) continue;
    names.push_back(e.name);
  }
  for (const auto& [name, state] : configured_)
    if (!state->cfg.dir.empty()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

// ---------------------------------------------------------------- blobs

std::string Store::BlockDir(const std::string& c, const std::string& b) const {
  return BlocksRoot(c) + "/" + HexEncode(Md5(c + "/" + b));
}

std::string Store::SidecarPath(const std::string& c, const std::string& b, uint64_t ino) const {
  return root_ + "/.strata/sidecar/" + HexEncode(Md5(c + "/" + b)) + "." + std::to_string(ino);
}

std::string Store::BlockPath(const std::string& c, const std::string& b,
                             const std::string& id) const {
  return BlockDir(c, b) + "/" + HexEncode(id);
}

std::string Store::NewTempPath(const std::string& c) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/%016llx.%llu", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(counter++));
  return (c.empty() ? TmpDir() : TmpDir(c)) + buf;
}

Status Store::CheckParents(const std::string& c, const std::string& b) {
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok()) return cst.status();
  if (!cst->is_dir()) return Status(ErrorKind::kPathConflict, "the container is not a directory");
  size_t pos = 0;
  while ((pos = b.find('/', pos)) != std::string::npos) {
    auto st = fs_->Stat(ContainerDir(c) + "/" + b.substr(0, pos));
    if (!st.ok()) return st.status();
    if (!st->is_dir())
      return Status(ErrorKind::kPathConflict, "a path segment of the blob name is not a directory");
    ++pos;
  }
  return Status::Ok();
}

BlobInfo Store::InfoFromFile(const std::string& path, const std::string& c, const std::string& b,
                             const FileStat& st, File* file, bool may_retry) {
  BlobInfo info;
  FillInfo(path, c, b, st, file, may_retry, &info);
  return info;
}

void Store::FillInfo(const std::string& path, const std::string& c, const std::string& b,
                     const FileStat& st, File* file, bool may_retry, BlobInfo* out,
                     bool* cacheable) {
  BlobInfo& info = *out;
  info.name = b;
  info.st = st;
  bool in_xattr = false;
  std::optional<std::string> text = ReadPacked(path, kRecordXattr, c, b, st.ino, file, &in_xattr);
  // What follows depends only on st and the record read through `file`.
  if (cacheable) *cacheable = file && text && in_xattr && text->size() <= kOpenCacheMaxRecord;
  if (text) {
    auto rec = BlobRecord::Unpack(*text);
    // An unlinked file (replaced by a commit while a reader held it) has a
    // new ctime but the same content.
    bool sealed = rec.ok() && (rec->fp_ctime_bound == 0 || st.nlink == 0 ||
                               st.ctime_ns <= rec->fp_ctime_bound);
    // Being sealed here, or by another gateway (which holds the blob's lock
    // while it writes a record): the record, not a POSIX change.
    bool sealing = rec.ok() && !sealed &&
                   (seals_->Contains(st.ino) ||
                    coord_->HeldElsewhere(Coordination::Space::kBlob, BlobLockKey(c, b)));
    if (rec.ok() && rec->fp_size == st.size && rec->fp_ino == st.ino &&
        rec->fp_mtime == st.mtime_ns && (sealed || sealing)) {
      if (sealing && cacheable) *cacheable = false;
      info.rec = std::move(*rec);
      info.has_record = true;
      return;
    }
    if (!file && may_retry && rec.ok() && rec->fp_ino != st.ino) {
      // Perhaps a commit renamed a new file over path after our stat: then
      // the record read belongs to that file. Look at what path is now.
      auto now = fs_->Stat(path);
      if (now.ok() && now->is_file() && now->ino != st.ino) {
        *out = BlobInfo();
        FillInfo(path, c, b, *now, nullptr, false, out);
        return;
      }
    }
    if (rec.ok()) {
      // Changed through POSIX: keep what still holds (user metadata, type),
      // derive what the change invalidated (ETag, MD5, blocks).
      info.rec = std::move(*rec);
      info.rec.content_md5.clear();
      info.rec.committed_blocks.clear();
      // The file's data is what was written, not a stub: it is hot, and a
      // remote copy the stale record named no longer describes it.
      info.rec.tier_state = BlobRecord::TierState::kHot;
      info.rec.remote_name.clear();
      info.rec.remote_etag.clear();
      info.rec.remote_md5.clear();
      info.rec.remote_size = 0;
      info.rec.rehydrate_to.clear();
      info.rec.rehydrate_priority.clear();
      info.rec.rehydrate_done = 0;
      // New data written through POSIX is readable: not archived.
      if (info.rec.tier == "Archive") {
        info.rec.tier.clear();
        info.rec.tier_change_time = 0;
      }
    }
  }
  info.rec.etag = DerivedEtag(st.ino, st.size, st.mtime_ns, st.ctime_ns);
  info.rec.last_modified = st.mtime_ns;
  if (info.rec.created == 0) info.rec.created = st.btime_ns;
  if (info.rec.content_type.empty() && !text) info.rec.content_type = "application/octet-stream";
  info.rec.fp_size = st.size;
  info.rec.fp_ino = st.ino;
  info.rec.fp_mtime = st.mtime_ns;
}

Result<BlobInfo> Store::Head(const std::string& c, const std::string& b) {
  if (IsReservedName(c, b)) return Status(ErrorKind::kNotFound, "no blob " + b);
  auto st = StatBlob(c, b);
  if (!st.ok()) return st.status();
  return InfoFromFile(BlobPath(c, b), c, b, *st);
}

Result<FileStat> Store::StatBlob(const std::string& c, const std::string& b) {
  auto st = fs_->Stat(BlobPath(c, b));
  if (st.ok() && st->is_file() && CheckParents(c, b).ok()) return st;
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
  return Status(ErrorKind::kNotFound, "no blob " + b);
}

Result<Store::OpenBlob> Store::Open(const std::string& c, const std::string& b) {
  if (IsReservedName(c, b)) return Status(ErrorKind::kNotFound, "no blob " + b);
  std::string path = BlobPath(c, b);
  // One syscall opens the blob and proves no symlink or ".." is on the way.
  auto f = IsView(c) ? fs_->OpenReadBeneath(ContainerDir(c), b)
                     : fs_->OpenReadBeneath(root_, c + "/" + b);
  if (!f.ok()) {
    auto cst = fs_->Stat(ContainerDir(c));
    if (!cst.ok() || !cst->is_dir())
      return Status(ErrorKind::kContainerNotFound, "no container " + c);
    return Status(ErrorKind::kNotFound, "no blob " + b);
  }
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  if (!st->is_file()) return Status(ErrorKind::kNotFound, "no blob " + b);
  Result<OpenBlob> ob{OpenBlob{}};
  OpenCacheEntry& slot = OpenCacheSlot(*st);
  uint64_t epoch = g_record_epoch.load(std::memory_order_acquire);
  if (slot.store == this && slot.epoch == epoch && SameInodeState(slot.st, *st) &&
      slot.info->name == b) {
    ob->info = slot.info;
    ob->file = std::move(*f);
    return ob;
  }
  auto info = std::make_shared<BlobInfo>();
  bool cacheable = false;
  FillInfo(path, c, b, *st, f->get(), true, info.get(), &cacheable);
  if (cacheable && st->ctime_ns < NowNs() - kSettledNs) {
    slot.store = this;
    slot.epoch = epoch;
    slot.st = *st;
    slot.info = info;
  }
  ob->info = std::move(info);
  ob->file = std::move(*f);
  return ob;
}

std::optional<std::string> Store::ReadPacked(const std::string& path, const char* xattr,
                                             const std::string& c, const std::string& b,
                                             uint64_t ino, File* file, bool* in_xattr) {
  auto packed = file ? file->GetXattr(xattr) : fs_->GetXattr(path, xattr);
  if (packed.ok() && *packed != kSidecarMarker) {
    if (in_xattr) *in_xattr = true;
    return std::move(*packed);
  }
  if (!packed.ok() && packed.status().kind() != ErrorKind::kUnsupported) return std::nullopt;
  auto f = fs_->OpenRead(SidecarPath(c, b, ino));
  if (!f.ok()) return std::nullopt;
  auto fst = (*f)->Stat();
  if (!fst.ok()) return std::nullopt;
  std::string buf(fst->size, '\0');
  auto n = (*f)->PRead(buf.data(), buf.size(), 0);
  if (!n.ok() || *n != buf.size()) return std::nullopt;
  return buf;
}

Status Store::WritePacked(const std::string& path, const char* xattr, const std::string& c,
                          const std::string& b, uint64_t ino, const std::string& packed,
                          bool fresh) {
  // Every cached Open result is stale once this returns (see
  // OpenCacheEntry): bumped after the write, on every path out.
  struct BumpEpoch {
    ~BumpEpoch() { g_record_epoch.fetch_add(1, std::memory_order_acq_rel); }
  } bump;
  std::string sidecar = SidecarPath(c, b, ino);
  Status s = Status(ErrorKind::kTooLarge, "record too large for xattr");
  if (packed.size() <= kXattrLimit) s = fs_->SetXattr(path, xattr, packed);
  if (s.ok()) {
    if (!fresh) (void)fs_->Unlink(sidecar);
    return s;
  }
  if (s.kind() != ErrorKind::kTooLarge && s.kind() != ErrorKind::kUnsupported &&
      s.kind() != ErrorKind::kNoSpace)
    return s;
  // Sidecar: written to a temp file and renamed, then marked in the xattr
  // where xattrs work at all.
  std::string tmp = NewTempPath();
  {
    auto f = fs_->OpenWrite(tmp, true, true);
    if (!f.ok()) return f.status();
    Status w = (*f)->PWrite(packed.data(), packed.size(), 0);
    if (w.ok() && sync_) w = (*f)->Sync();
    if (!w.ok()) {
      (void)fs_->Unlink(tmp);
      return w;
    }
  }
  Status r = fs_->Rename(tmp, sidecar);
  if (!r.ok()) {
    (void)fs_->Unlink(tmp);
    return r;
  }
  Status m = fs_->SetXattr(path, xattr, kSidecarMarker);
  if (!m.ok() && m.kind() != ErrorKind::kUnsupported) return m;
  return Status::Ok();
}

Status Store::WriteRecord(const std::string& path, const std::string& c, const std::string& b,
                          BlobRecord rec) {
  // Writing the record moves the file's ctime, so the record cannot hold
  // that ctime itself; it holds a bound taken just before the write, and the
  // write is repeated (rarely: the thread was preempted) until the ctime it
  // caused lies within the bound. Without success the bound is dropped.
  // Readers in this gateway accept the record meanwhile (seals_).
  seals_->Add(rec.fp_ino);
  struct Done {
    SealsInFlight* seals;
    uint64_t ino;
    ~Done() { seals->Remove(ino); }
  } done{seals_.get(), rec.fp_ino};
  for (int attempt = 0; attempt < 8; ++attempt) {
    rec.fp_ctime_bound = attempt < 7 ? NowNs() + kSealSlackNs : 0;
    STRATA_RETURN_IF_ERROR(WritePacked(path, kRecordXattr, c, b, rec.fp_ino, rec.Pack()));
    if (rec.fp_ctime_bound == 0) break;
    auto st = fs_->Stat(path);
    if (!st.ok() || st->ctime_ns <= rec.fp_ctime_bound) break;
  }
  return Status::Ok();
}

Status Store::Commit(const std::string& c, const std::string& b, const std::string& temp,
                     BlobRecord rec, bool drop_blocks, bool replace) {
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
  auto st = fs_->Stat(temp);
  if (!st.ok()) return st.status();
  rec.fp_size = st->size;
  rec.fp_ino = st->ino;
  rec.fp_mtime = st->mtime_ns;
  // The staged record is unsealed (no ctime bound), so it holds for the
  // file whatever ctime the rename gives it: a reader between the rename and
  // the seal below sees the blob's own record. (A bound staged ahead of time
  // would expire whenever the thread is preempted before the rename, and
  // readers would take the new blob for one changed through POSIX.)
  rec.fp_ctime_bound = 0;
  if (Cached(c) && rec.tier_state == BlobRecord::TierState::kHot && rec.remote_name.empty() &&
      replace) {
    // A local write over a cached blob: the new (dirty) record keeps the
    // remote ETag it replaces, the condition of its write-back (a remote
    // changed meanwhile is a conflict). Staged with the record, so a crash
    // cannot lose it.
    std::string path = BlobPath(c, b);
    auto dst = fs_->Stat(path);
    if (dst.ok() && dst->is_file())
      if (auto old = RemoteRef(path, c, b, dst->ino)) {
        rec.remote_name = old->remote_name;
        rec.remote_etag = old->remote_etag;
      }
  }
  Status s = WritePacked(temp, kRecordXattr, c, b, rec.fp_ino, rec.Pack(), /*fresh=*/true);
  if (s.ok() && sync_) {
    auto f = fs_->OpenRead(temp);
    s = f.ok() ? (*f)->Sync() : f.status();
  }
  if (s.ok() && b.find('/') != std::string::npos) s = CheckParentsForCreate(c, b);
  if (!s.ok()) {
    (void)fs_->Unlink(SidecarPath(c, b, rec.fp_ino));  // the staged record's, if any
    return s;
  }
  std::string dest = BlobPath(c, b);
  // With a limit, the size it replaces and the rename are one step under
  // the container's quota lock, so concurrent commits count exactly.
  ContainerState* q = Limited(c);
  // The blob's bytes replace those of the uncommitted blocks it drops: the
  // blocks' tally stays locked from here to their removal, so no Put Block
  // slips in between.
  std::optional<HeldTally> blocks;
  if (q && drop_blocks) {
    auto held = LockTally(BlockDir(c, b));
    if (held.ok()) blocks = std::move(*held);
  }
  std::optional<QuotaHold> hold;
  if (q) {
    auto h = HoldQuota(q);
    if (!h.ok()) {
      (void)fs_->Unlink(SidecarPath(c, b, rec.fp_ino));
      return h.status();
    }
    hold = std::move(*h);
  }
  auto dst = fs_->Stat(dest);
  int64_t dbytes = static_cast<int64_t>(rec.fp_size), dfiles = 1;
  if (blocks) dbytes -= static_cast<int64_t>(blocks->t.bytes);
  std::optional<BlobRecord> old_ref;
  if (dst.ok() && dst->is_file() && replace) {
    dbytes -= static_cast<int64_t>(dst->size);
    dfiles = 0;
    old_ref = RemoteRef(dest, c, b, dst->ino);
    if (old_ref && old_ref->etag == rec.etag) old_ref.reset();  // a recall
    if (old_ref) remote_ref_hook_(c, b, *old_ref, false);
  }
  Status r = dst.ok() && dst->is_dir()
                 ? Status(ErrorKind::kIsDirectory, "a directory exists at the blob's name")
             : dst.ok() && !replace ? Status(ErrorKind::kAlreadyExists, "a blob exists at " + b)
             : hold                 ? Fits(*q, hold->used, dbytes, dfiles)
                                    : Status::Ok();
  auto rename = [&] {
    // The new blob is whole and recorded beside its name: a crash here must
    // leave the old blob as it was and the staged file to be reaped.
    STRATA_CRASH_POINT("store.commit.staged");
    Status m = replace ? fs_->Rename(temp, dest) : fs_->RenameNoReplace(temp, dest);
    // A crash here leaves the new blob in place with its record not yet sealed.
    if (m.ok()) STRATA_CRASH_POINT("store.commit.renamed");
    return m;
  };
  if (r.ok()) r = hold ? ChangeUsage(*hold, dbytes, dfiles, rename) : rename();
  hold.reset();
  if (!r.ok()) {
    (void)fs_->Unlink(SidecarPath(c, b, rec.fp_ino));  // the staged record's, if any
    return r;
  }
  if (old_ref) remote_ref_hook_(c, b, *old_ref, true);
  // The rename moved the file's ctime: seal the record in place (same
  // content, with a bound), so later POSIX changes are seen.
  (void)WriteRecord(dest, c, b, rec);
  if (sync_) (void)fs_->SyncDir(dest.substr(0, dest.rfind('/')));
  if (dst.ok() && dst->is_file() && dst->ino != rec.fp_ino)
    (void)fs_->Unlink(SidecarPath(c, b, dst->ino));
  if (blocks) {
    ForgetAssembly(c, b);
    (void)RemoveBlockDir(c, BlockDir(c, b), *blocks, /*give_back=*/false);
  } else if (drop_blocks) {
    (void)DropBlocks(c, b);
  }
  return Status::Ok();
}

Status Store::CheckParentsForCreate(const std::string& c, const std::string& b) {
  size_t pos = 0;
  std::string base = ContainerDir(c);
  while ((pos = b.find('/', pos)) != std::string::npos) {
    std::string dir = base + "/" + b.substr(0, pos);
    auto st = fs_->Stat(dir);
    if (st.ok()) {
      if (!st->is_dir())
        return Status(ErrorKind::kPathConflict,
                      "a blob exists where the name needs a directory: " + b.substr(0, pos));
    } else {
      Status m = fs_->Mkdir(dir);
      if (!m.ok()) return m;
    }
    ++pos;
  }
  return Status::Ok();
}

Status Store::UpdateRecord(const std::string& c, const std::string& b, BlobRecord rec) {
  std::string path = BlobPath(c, b);
  auto st = fs_->Stat(path);
  if (!st.ok() || !st->is_file() || !CheckParents(c, b).ok())
    return Status(ErrorKind::kNotFound, "no blob " + b);
  rec.fp_size = st->size;
  rec.fp_ino = st->ino;
  rec.fp_mtime = st->mtime_ns;
  return WriteRecord(path, c, b, rec);
}

std::optional<BlobRecord> Store::RemoteRef(const std::string& path, const std::string& c,
                                           const std::string& b, uint64_t ino) {
  if (!remote_ref_hook_) return std::nullopt;
  auto text = ReadPacked(path, kRecordXattr, c, b, ino);
  if (!text) return std::nullopt;
  auto rec = BlobRecord::Unpack(*text);
  if (!rec.ok() || rec->remote_name.empty() ||
      (rec->tier_state == BlobRecord::TierState::kHot && !Cached(c)))
    return std::nullopt;
  return std::move(*rec);
}

Result<Store::StoredRecord> Store::ReadStoredRecord(const std::string& c, const std::string& b) {
  std::string path = BlobPath(c, b);
  auto st = StatBlob(c, b);
  if (!st.ok()) return st.status();
  StoredRecord out;
  out.st = *st;
  if (auto text = ReadPacked(path, kRecordXattr, c, b, st->ino)) {
    auto rec = BlobRecord::Unpack(*text);
    if (rec.ok()) out.rec = std::move(*rec);
  }
  return out;
}

Status Store::ReleaseData(const std::string& c, const std::string& b, BlobRecord rec,
                          int64_t mtime_ns) {
  auto st = fs_->Stat(BlobPath(c, b));
  if (!st.ok() || !st->is_file()) return Status(ErrorKind::kNotFound, "no blob " + b);
  // A new sparse file renamed over the data, never the data truncated in
  // place: a reader streaming the old file must not be served holes.
  std::string tmp = NewTempPath();
  Status s;
  {
    auto f = fs_->OpenWrite(tmp, true, true);
    if (!f.ok()) return f.status();
    s = (*f)->Truncate(st->size);
  }
  if (s.ok()) s = fs_->SetMtime(tmp, mtime_ns);
  if (s.ok()) s = ReplaceKeepingAttrs(c, b, tmp, std::move(rec));
  if (!s.ok()) (void)fs_->Unlink(tmp);
  return s;
}

Status Store::ReplaceKeepingAttrs(const std::string& c, const std::string& b,
                                  const std::string& temp, BlobRecord rec) {
  std::string path = BlobPath(c, b);
  auto st = fs_->Stat(path);
  if (st.ok() && st->is_file()) {
    STRATA_RETURN_IF_ERROR(fs_->Chmod(temp, st->mode & 07777));
    auto acl = fs_->GetXattr(path, "user.strata.acl");
    if (acl.ok()) STRATA_RETURN_IF_ERROR(fs_->SetXattr(temp, "user.strata.acl", *acl));
  }
  return Commit(c, b, temp, std::move(rec), false);
}

Status Store::AppendFrom(const std::string& c, const std::string& b, File& src, uint64_t n,
                         BlobRecord rec) {
  std::string path = BlobPath(c, b);
  if (!CheckParents(c, b).ok()) return Status(ErrorKind::kNotFound, "no blob " + b);
  auto f = fs_->OpenWrite(path, false, false);
  if (!f.ok()) return f.status();
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  if (!st->is_file()) return Status(ErrorKind::kNotFound, "no blob " + b);
  // On failure the blob goes back to its old bytes and mtime, and its old
  // record is sealed again (the rollback itself moved the ctime).
  BlobInfo before = InfoFromFile(path, c, b, *st, f->get(), false);
  // The bytes are reserved first and given back if the append fails.
  ContainerState* q = Limited(c);
  // (A gateway killed while it copies leaves them counted: over, never under.)
  if (q) {
    auto h = HoldQuota(q);
    if (!h.ok()) return h.status();
    STRATA_RETURN_IF_ERROR(Fits(*q, h->used, static_cast<int64_t>(n), 0));
    STRATA_RETURN_IF_ERROR(ChangeUsage(*h, static_cast<int64_t>(n), 0, nullptr));
  }
  auto undo = [&](Status s) {
    if (q) {
      auto h = HoldQuota(q);
      if (h.ok()) (void)ChangeUsage(*h, -static_cast<int64_t>(n), 0, nullptr);
    }
    (void)(*f)->Truncate(st->size);
    (void)fs_->SetMtime(path, st->mtime_ns);
    if (before.has_record) (void)WriteRecord(path, c, b, before.rec);
    return s;
  };
  Status s = (*f)->CopyFrom(src, 0, st->size, n);
  if (s.ok() && sync_) s = (*f)->Sync();
  if (!s.ok()) return undo(s);
  auto st2 = (*f)->Stat();
  if (!st2.ok()) return undo(st2.status());
  rec.fp_size = st2->size;
  rec.fp_ino = st2->ino;
  rec.fp_mtime = st2->mtime_ns;
  s = WriteRecord(path, c, b, rec);
  if (!s.ok()) return undo(s);
  return Status::Ok();
}

Status Store::RemoveEmptyParents(const std::string& c, const std::string& b) {
  std::string rel = b;
  while (true) {
    size_t slash = rel.rfind('/');
    if (slash == std::string::npos) return Status::Ok();
    rel.resize(slash);
    if (IsExplicitDir(BlobPath(c, rel))) return Status::Ok();  // made through dfs: kept
    Status s = fs_->Rmdir(BlobPath(c, rel));
    if (!s.ok()) return Status::Ok();  // not empty, or gone: stop
  }
}

Status Store::DeleteBlob(const std::string& c, const std::string& b) {
  std::string path = BlobPath(c, b);
  auto st = StatBlob(c, b);
  if (!st.ok()) return st.status();
  std::optional<BlobRecord> old_ref = RemoteRef(path, c, b, st->ino);
  if (old_ref) remote_ref_hook_(c, b, *old_ref, false);
  if (ContainerState* q = Limited(c)) {
    // The size unlinked is the size subtracted, even against a commit racing it.
    auto h = HoldQuota(q);
    if (!h.ok()) return h.status();
    auto now = fs_->Stat(path);
    if (!now.ok() || !now->is_file()) return Status(ErrorKind::kNotFound, "no blob " + b);
    STRATA_RETURN_IF_ERROR(
        ChangeUsage(*h, -static_cast<int64_t>(now->size), -1, [&] { return fs_->Unlink(path); }));
    st = now;
  } else {
    STRATA_RETURN_IF_ERROR(fs_->Unlink(path));
  }
  if (old_ref) remote_ref_hook_(c, b, *old_ref, true);
  (void)fs_->Unlink(SidecarPath(c, b, st->ino));
  (void)DropBlocks(c, b);
  return RemoveEmptyParents(c, b);
}

// ---------------------------------------------------------------- blocks

namespace {

constexpr char kTallyFile[] = ".tally";

// A tally as stored: fixed width, so a rewrite in place replaces it whole.
std::string FormatTally(const BlockTally& t) {
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%020llu %020llu %03u\n",
                        static_cast<unsigned long long>(t.count),
                        static_cast<unsigned long long>(t.bytes), t.id_len);
  return std::string(buf, n);
}

std::optional<BlockTally> ParseTally(std::string_view v) {
  if (v.size() != 46 || v[20] != ' ' || v[41] != ' ' || v[45] != '\n') return std::nullopt;
  auto count = ParseUint(v.substr(0, 20));
  auto bytes = ParseUint(v.substr(21, 20));
  auto len = ParseUint(v.substr(42, 3));
  if (!count || !bytes || !len) return std::nullopt;
  return BlockTally{*count, *bytes, static_cast<uint32_t>(*len)};
}

}  // namespace

Status Store::EnsureBlockDir(const std::string& c, const std::string& b) {
  std::string dir = BlockDir(c, b);
  if (fs_->Stat(dir).ok()) return Status::Ok();
  // The directory's name file says whose blocks these are (for listings);
  // its tally starts at zero.
  std::string tmpdir = NewTempPath(c);
  STRATA_RETURN_IF_ERROR(fs_->Mkdir(tmpdir));
  Status w;
  {
    auto f = fs_->OpenWrite(tmpdir + "/.name", true, true);
    std::string name = c + "/" + b;
    w = f.ok() ? (*f)->PWrite(name.data(), name.size(), 0) : f.status();
  }
  if (w.ok()) {
    auto f = fs_->OpenWrite(tmpdir + "/" + kTallyFile, true, true);
    w = f.ok() ? WriteTally(**f, BlockTally{}) : f.status();
  }
  if (w.ok()) w = fs_->RenameNoReplace(tmpdir, dir);
  if (!w.ok()) (void)fs_->RemoveAll(tmpdir);  // a concurrent StoreBlock may have won
  if (!w.ok() && w.kind() != ErrorKind::kAlreadyExists && w.kind() != ErrorKind::kNotEmpty)
    return w;
  return Status::Ok();
}

Status Store::WriteTally(File& f, const BlockTally& t) {
  std::string v = FormatTally(t);
  return f.PWrite(v.data(), v.size(), 0);
}

Result<Store::HeldTally> Store::LockTally(const std::string& dir) {
  // Created when missing (O_CREAT in a directory that is gone: kNotFound).
  auto f = fs_->OpenWrite(dir + "/" + kTallyFile, true, false);
  if (!f.ok()) return f.status();
  STRATA_RETURN_IF_ERROR((*f)->Lock());
  // Whoever removes the directory holds this lock while it does: a tally
  // unlinked while we waited belongs to blocks that are gone.
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  if (st->nlink == 0) return Status(ErrorKind::kNotFound, "block directory removed");
  HeldTally held;
  char buf[64];
  auto n = (*f)->PRead(buf, sizeof(buf), 0);
  std::optional<BlockTally> t;
  if (n.ok()) t = ParseTally(std::string_view(buf, *n));
  if (!t) {
    // Count the entries once (UncommittedBlocks' rules) and keep the count.
    auto blocks = ListBlockDir(dir);
    if (!blocks.ok()) return blocks.status();
    t = BlockTally{};
    for (const auto& blk : *blocks) {
      ++t->count;
      t->bytes += blk.size;
      t->id_len = static_cast<uint32_t>(blk.id.size());
    }
    STRATA_RETURN_IF_ERROR(WriteTally(**f, *t));
  }
  held.file = std::move(*f);
  held.t = *t;
  return held;
}

Result<BlockTally> Store::UncommittedTally(const std::string& c, const std::string& b) {
  const std::string dir = BlockDir(c, b);
  char buf[64];
  auto f = fs_->OpenRead(dir + "/" + kTallyFile);
  if (f.ok()) {
    auto n = (*f)->PRead(buf, sizeof(buf), 0);
    if (n.ok())
      if (auto t = ParseTally(std::string_view(buf, *n))) return *t;
  } else if (f.status().kind() == ErrorKind::kNotFound && !fs_->Stat(dir).ok()) {
    return BlockTally{};
  }
  // Missing, or being rebuilt by another request: wait for its lock.
  auto held = LockTally(dir);
  if (!held.ok()) {
    if (held.status().kind() == ErrorKind::kNotFound) return BlockTally{};
    return held.status();
  }
  return held->t;
}

Status Store::CheckBlockRoom(const std::string& c, const std::string& b, const std::string& id,
                             uint64_t size) {
  auto t = UncommittedTally(c, b);
  if (!t.ok()) return t.status();
  int64_t dbytes = static_cast<int64_t>(size);
  auto old = fs_->Stat(BlockPath(c, b, id));
  bool fresh = !old.ok() || !old->is_file();
  if (!fresh) dbytes -= static_cast<int64_t>(old->size);
  if (fresh && t->count >= max_uncommitted_)
    return Status(ErrorKind::kLimitReached, "the blob has the most uncommitted blocks allowed");
  return CheckQuota(c, dbytes, 0);
}

Status Store::StoreBlock(const std::string& c, const std::string& b, const std::string& id,
                         const std::string& temp) {
  auto st = fs_->Stat(temp);
  if (!st.ok()) return st.status();
  // A directory removed while we waited for its tally (a commit or delete in
  // another gateway, an expiry) is made again.
  for (int attempt = 0; attempt < 4; ++attempt) {
    STRATA_RETURN_IF_ERROR(EnsureBlockDir(c, b));
    auto held = LockTally(BlockDir(c, b));
    if (held.ok()) return PublishBlock(c, b, id, temp, st->size, *held);
    if (held.status().kind() != ErrorKind::kNotFound) return held.status();
  }
  return Status(ErrorKind::kBusy, "the blob's block directory kept being removed");
}

Status Store::PublishBlock(const std::string& c, const std::string& b, const std::string& id,
                           const std::string& temp, uint64_t size, HeldTally& held) {
  const std::string path = BlockPath(c, b, id);
  // One lookup by name, whatever the number of blocks.
  auto old = fs_->Stat(path);
  const bool fresh = !old.ok() || !old->is_file();
  const BlockTally before = held.t;
  if (fresh && before.count >= max_uncommitted_)
    return Status(ErrorKind::kLimitReached, "the blob has the most uncommitted blocks allowed");
  int64_t dbytes = static_cast<int64_t>(size) - (fresh ? 0 : static_cast<int64_t>(old->size));
  // The place in an assembly file of the entry being replaced.
  std::optional<std::string> old_ref;
  if (!fresh) {
    auto v = fs_->GetXattr(path, kBlockRefXattr);
    if (v.ok()) old_ref = *v;
  }
  ContainerState* q = Limited(c);
  std::optional<QuotaHold> hold;
  if (q) {
    auto h = HoldQuota(q);
    if (!h.ok()) return h.status();
    hold = std::move(*h);
    STRATA_RETURN_IF_ERROR(Fits(*q, hold->used, dbytes, 0));
  }
  BlockTally after = before;
  if (fresh) ++after.count;
  after.bytes =
      dbytes < 0 && static_cast<uint64_t>(-dbytes) > after.bytes ? 0 : after.bytes + dbytes;
  if (!after.id_len) after.id_len = static_cast<uint32_t>(id.size());
  auto publish = [&]() -> Status {
    // The tally first: a crash before the rename leaves it over, never under.
    STRATA_RETURN_IF_ERROR(WriteTally(*held.file, after));
    // Upload order is kept in the blocks' mtimes (rename keeps them), strictly
    // increasing within the process: ctime is too coarse to order quick uploads.
    Status s = fs_->SetMtime(temp, BlockSequenceTime());
    if (s.ok()) s = fs_->Rename(temp, path);
    if (!s.ok()) (void)WriteTally(*held.file, before);
    return s;
  };
  STRATA_RETURN_IF_ERROR(hold ? ChangeUsage(*hold, dbytes, 0, publish) : publish());
  held.t = after;
  hold.reset();
  if (old_ref) PunchReplaced(BlockDir(c, b), *old_ref, old->size);
  return Status::Ok();
}

Result<std::vector<BlockInfo>> Store::UncommittedBlocks(const std::string& c,
                                                        const std::string& b) {
  return ListBlockDir(BlockDir(c, b));
}

Result<std::vector<BlockInfo>> Store::ListBlockDir(const std::string& dir) {
  auto entries = fs_->ListDir(dir);
  std::vector<BlockInfo> out;
  if (!entries.ok()) {
    if (entries.status().kind() == ErrorKind::kNotFound) return out;
    return entries.status();
  }
  struct Item {
    int64_t mtime;
    BlockInfo info;
  };
  std::vector<Item> items;
  for (const auto& e : *entries) {
    if (!e.is_file) continue;
    auto id = HexDecode(e.name);
    if (!id || id->empty()) continue;  // .name, .tally, or a stranger's file
    auto st = fs_->Stat(dir + "/" + e.name);
    if (!st.ok()) continue;
    items.push_back({st->mtime_ns, {std::move(*id), st->size}});
  }
  std::sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
    return x.mtime != y.mtime ? x.mtime < y.mtime : x.info.id < y.info.id;
  });
  for (auto& it : items) out.push_back(std::move(it.info));
  return out;
}

std::optional<std::string> Store::BlockDirOwner(const std::string& dir) {
  auto f = fs_->OpenRead(dir + "/.name");
  if (!f.ok()) return std::nullopt;
  auto st = (*f)->Stat();
  if (!st.ok() || st->size > 64 * 1024) return std::nullopt;
  std::string name(st->size, '\0');
  auto n = (*f)->PRead(name.data(), name.size(), 0);
  if (!n.ok() || *n != name.size()) return std::nullopt;
  return name;
}

std::vector<std::string> Store::UncommittedBlobNames(const std::string& c) {
  std::vector<std::string> out;
  const std::string blocks = BlocksRoot(c);
  auto dirs = fs_->ListDir(blocks);
  if (!dirs.ok()) return out;
  for (const auto& d : *dirs) {
    auto name = BlockDirOwner(blocks + "/" + d.name);
    if (name && StartsWith(*name, c + "/")) out.push_back(name->substr(c.size() + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t Store::UncommittedBytes(const std::string& c, bool lock_tallies) {
  uint64_t bytes = 0;
  const std::string blocks = BlocksRoot(c);
  auto dirs = fs_->ListDir(blocks);
  if (!dirs.ok()) return 0;
  for (const auto& d : *dirs) {
    std::string dir = blocks + "/" + d.name;
    auto name = BlockDirOwner(dir);
    if (!name || !StartsWith(*name, c + "/")) continue;
    if (!lock_tallies) {
      // Tallies change only under the quota lock, which the caller holds.
      auto f = fs_->OpenRead(dir + "/" + kTallyFile);
      char buf[64];
      auto n = f.ok() ? (*f)->PRead(buf, sizeof(buf), 0) : Result<size_t>(f.status());
      std::optional<BlockTally> t;
      if (n.ok()) t = ParseTally(std::string_view(buf, *n));
      if (t) bytes += t->bytes;
      continue;
    }
    auto held = LockTally(dir);
    if (held.ok()) bytes += held->t.bytes;
  }
  return bytes;
}

void Store::ForgetAssembly(const std::string& c, const std::string& b) {
  // The assembly file goes with the directory: uploads into it in flight
  // find it gone when they publish, and copy their bytes out.
  std::lock_guard<std::mutex> l(asm_mu_);
  auto it = assemblies_.find(AssemblyKey(c, b));
  if (it != assemblies_.end()) {
    it->second->dead = true;
    assemblies_.erase(it);
  }
}

Status Store::DropBlocks(const std::string& c, const std::string& b) {
  return DropBlocks(c, b, /*give_back=*/true);
}

Status Store::DropBlocks(const std::string& c, const std::string& b, bool give_back) {
  ForgetAssembly(c, b);
  const std::string dir = BlockDir(c, b);
  auto held = LockTally(dir);
  if (!held.ok()) {
    if (held.status().kind() == ErrorKind::kNotFound) return Status::Ok();  // no blocks
    return fs_->RemoveAll(dir);
  }
  return RemoveBlockDir(c, dir, *held, give_back);
}

Status Store::RemoveBlockDir(const std::string& c, const std::string& dir, const HeldTally& held,
                             bool give_back) {
  // Under the tally's lock: a Put Block waiting for it finds the tally
  // unlinked and makes the directory again.
  Status s = fs_->RemoveAll(dir);
  // (What a failed removal leaves stays counted until the next start.)
  if (!s.ok() || !give_back || held.t.bytes == 0) return s;
  if (ContainerState* q = Limited(c)) {
    // Given back after the removal: over, never under, if it is cut short.
    auto h = HoldQuota(q);
    if (h.ok()) (void)ChangeUsage(*h, -static_cast<int64_t>(held.t.bytes), 0, nullptr);
  }
  return s;
}

// ---------------------------------------------------------------- locks

Store::Lock Store::LockBlob(const std::string& c, const std::string& b) {
  return coord_->Lock(Coordination::Space::kBlob, BlobLockKey(c, b));
}

Store::Lock Store::LockContainer(const std::string& c) {
  return coord_->Lock(Coordination::Space::kContainer, c);
}

std::pair<Store::Lock, Store::Lock> Store::LockBlobs(const std::string& c1, const std::string& b1,
                                                     const std::string& c2,
                                                     const std::string& b2) {
  return coord_->LockPair(Coordination::Space::kBlob, BlobLockKey(c1, b1),
                          Coordination::Space::kBlob, BlobLockKey(c2, b2));
}

}  // namespace strata::ns
