#include "tier/capacity_tier.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/crash_point.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/strings.h"
#include "tier/tier_internal.h"

namespace strata::tier {

using TierState = ns::BlobRecord::TierState;

using namespace internal;

namespace {
void ClearRemote(ns::BlobRecord* rec) {
  rec->tier_state = TierState::kHot;
  rec->remote_damaged = false;
  rec->remote_name.clear();
  rec->remote_etag.clear();
  rec->remote_md5.clear();
  rec->remote_size = 0;
  rec->rehydrate_to.clear();
  rec->rehydrate_priority.clear();
  rec->rehydrate_done = 0;
}
}  // namespace

std::string StateName(TierState s) {
  switch (s) {
    case TierState::kHot:
      return "hot";
    case TierState::kPremigrated:
      return "premigrated";
    case TierState::kOffloaded:
      return "offloaded";
    case TierState::kArchived:
      return "archived";
  }
  return "hot";
}

namespace {
// A store that never joined other gateways (unit tests) has no id.
std::string GatewayId(ns::Store* store) {
  const std::string& id = store->coord().id();
  return id.empty() ? "local" : id;
}

constexpr char kLeaderKey[] = "tier-leader";
// A job whose blob another gateway is moving looks again this much later.
constexpr int64_t kMoveBusyRetryMs = 200;
}  // namespace

CapacityTier::CapacityTier(ns::Store* store, RemoteClient* remote, TierOptions options)
    : store_(store),
      remote_(remote),
      opt_(std::move(options)),
      id_(GatewayId(store)),
      journal_root_(store->root() + "/.strata/journal"),
      journal_(store->fs(), journal_root_ + "/" + id_, opt_.sync) {}

CapacityTier::~CapacityTier() { Stop(); }

Status CapacityTier::Start() {
  STRATA_RETURN_IF_ERROR(journal_.Open());
  STRATA_RETURN_IF_ERROR(store_->fs()->MkdirAll(store_->root() + "/.strata/tier"));
  store_->SetRemoteRefHook([this](const std::string& c, const std::string& b,
                                  const ns::BlobRecord& old,
                                  bool done) { OnRemoteRef(c, b, old, done); });
  started_ = true;
  for (int i = 0; i < std::max(1, opt_.transfer_workers); ++i)
    threads_.emplace_back([this] { TransferLoop(); });
  for (int i = 0; i < std::max(1, opt_.read_workers); ++i)
    threads_.emplace_back([this] { ReadLoop(); });
  // A gateway that starts alone leads at once and has replayed what earlier
  // runs left before it serves (the queued remote steps run on the workers).
  TryLead();
  if (leader()) {
    if (opt_.replaying) opt_.replaying->fetch_add(1);
    RecoverDead();
    if (opt_.replaying) opt_.replaying->fetch_sub(1);
  }
  leader_thread_ = std::thread([this] { LeaderLoop(); });
  return Status::Ok();
}

void CapacityTier::Stop() {
  {
    // Once: a second call (the destructor) may come after the store is gone.
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    stop_ = stopped_ = true;
  }
  cv_.notify_all();
  read_cv_.notify_all();
  leader_cv_.notify_all();
  if (leader_thread_.joinable()) leader_thread_.join();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // Nothing left to replay: the journal goes (else the leader replays it).
  std::vector<std::string> bad;
  if (started_ && journal_.List(&bad).empty() && bad.empty())
    (void)store_->fs()->RemoveAll(journal_.dir());
  if (leader_lock_) {
    // The file goes first: once the lock is free, a successor writes its own.
    (void)store_->fs()->Unlink(store_->root() + "/.strata/tier/leader");
    leader_ = false;
    leader_lock_.unlock();
  }
}

// ------------------------------------------------------------------ leader

void CapacityTier::TryLead() {
  if (leader_lock_) return;
  auto g = store_->coord().TryLockLong(ns::Coordination::Space::kRole, kLeaderKey);
  if (!g) return;
  leader_lock_ = std::move(g);
  // Who leads, for operators and the gateways that do not (temp + rename:
  // a reader sees the old name or the new one).
  std::string dir = store_->root() + "/.strata/tier";
  std::string tmp = dir + "/leader." + id_ + ".tmp";
  std::string text = id_ + "\n";
  Status s = store_->fs()->MkdirAll(dir);
  if (s.ok()) {
    auto f = store_->fs()->OpenWrite(tmp, true, false);
    s = f.ok() ? (*f)->PWrite(text.data(), text.size(), 0) : f.status();
    if (s.ok()) (void)(*f)->Truncate(text.size());
  }
  if (s.ok()) s = store_->fs()->Rename(tmp, dir + "/leader");
  if (!s.ok()) {
    (void)store_->fs()->Unlink(tmp);
    LOG_WARN("tier: recording the leader in %s/leader: %s\n", dir.c_str(), s.ToString().c_str());
  }
  leader_ = true;
  LOG_INFO("tier: gateway %s is the tier leader of %s\n", id_.c_str(), store_->root().c_str());
}

CapacityTier::LeaderInfo CapacityTier::Leader() {
  LeaderInfo info;
  auto f = store_->fs()->OpenRead(store_->root() + "/.strata/tier/leader");
  if (f.ok()) {
    char buf[512];
    auto n = (*f)->PRead(buf, sizeof buf, 0);
    if (n.ok()) {
      info.id.assign(buf, *n);
      while (!info.id.empty() && (info.id.back() == '\n' || info.id.back() == '\r'))
        info.id.pop_back();
    }
  }
  if (leader()) {
    // The file may lag for a moment after a takeover; the lock does not.
    info.id = id_;
    info.alive = info.self = true;
  } else if (!info.id.empty()) {
    info.self = info.id == id_;
    info.alive = !info.self && store_->coord().Alive(info.id);
  }
  return info;
}

void CapacityTier::LeaderLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    leader_cv_.wait_for(l, std::chrono::milliseconds(std::max(10, opt_.leader_poll_ms)));
    if (stop_) break;
    l.unlock();
    TryLead();
    if (leader()) RecoverDead();
    if (leader() && !caches_.empty()) CacheLeaderPass();
    l.lock();
  }
}

void CapacityTier::RecoverDead() {
  Fs* fs = store_->fs();
  auto list = fs->ListDir(journal_root_);
  if (!list.ok()) return;
  // An older strata's entries, directly in ROOT/.strata/journal: no
  // gateway of this version writes there, so they are a dead one's.
  bool flat = false;
  for (const auto& e : *list) {
    if (!e.is_file) continue;
    if (e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".tmp") == 0)
      (void)fs->Unlink(journal_root_ + "/" + e.name);
    else
      flat = true;
  }
  if (flat) {
    OffloadJournal old(fs, journal_root_, opt_.sync);
    RecoverJournal(old);
  }
  for (const auto& e : *list) {
    if (!e.is_dir || e.name == id_ || store_->coord().Alive(e.name)) continue;
    auto t0 = std::chrono::steady_clock::now();
    std::string dir = journal_root_ + "/" + e.name;
    OffloadJournal dead(fs, dir, opt_.sync);
    size_t n = dead.List().size();
    if (!RecoverJournal(dead)) continue;  // the rest at the next look
    Status s = fs->RemoveAll(dir);
    if (!s.ok()) {
      LOG_WARN("tier: removing %s: %s\n", dir.c_str(), s.ToString().c_str());
      continue;
    }
    if (opt_.sync) (void)fs->SyncDir(journal_root_);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    LOG_INFO("tier: replayed the journal of dead gateway %s (%zu entries, %lld ms)\n",
             e.name.c_str(), n, static_cast<long long>(ms));
  }
}

bool CapacityTier::RecoverJournal(OffloadJournal& j) {
  std::vector<std::string> bad;
  bool all = true;
  for (const auto& e : j.List(&bad)) {
    // A live gateway moving this blob finishes first; the entry waits for
    // the next look rather than holding up the others.
    auto lock = MoveLock(e.container, e.blob, false);
    if (!lock) {
      all = false;
      continue;
    }
    Replay(e, j);
  }
  for (const auto& name : bad) {
    all = false;
    if (reported_bad_.insert(name).second)
      LOG_WARN("tier: unreadable journal entry %s left in place\n", name.c_str());
  }
  // Whatever a step could not finish (the remote down, a local error) is
  // still there.
  return all && j.List().empty();
}

void CapacityTier::NoteRemoteRead(const std::string& c, const std::string& b,
                                  const ns::BlobRecord& rec) {
  // A damaged copy cannot be recalled: asking again on every read only
  // repeats the refusal.
  if (rec.tier_state == TierState::kOffloaded && !rec.remote_damaged && recall_on_read_ &&
      recall_on_read_(c, b, rec))
    Schedule(JobKind::kRecall, c, b, "Hot", rec.etag);
}

bool CapacityTier::Pinned(const std::string& c, const std::string& b) const {
  std::string full = c + "/" + b;
  for (const auto& p : opt_.pinned)
    if (!p.empty() && full.compare(0, p.size(), p) == 0) return true;
  return false;
}

std::string CapacityTier::RemoteName(const std::string& c, const std::string& b) const {
  if (Cached(c)) return b;
  return opt_.prefix.empty() ? c + "/" + b : opt_.prefix + "/" + c + "/" + b;
}

ns::Coordination::Guard CapacityTier::MoveLock(const std::string& c, const std::string& b,
                                               bool wait) {
  std::string key = c + '\0' + b;
  auto& co = store_->coord();
  return wait ? co.LockLong(ns::Coordination::Space::kMove, key)
              : co.TryLockLong(ns::Coordination::Space::kMove, key);
}

void CapacityTier::NoteError(const std::string& c, const std::string& b, const Status& s) {
  n_.failures++;
  LOG_WARN("tier: %s/%s: %s\n", c.c_str(), b.c_str(), s.ToString().c_str());
  std::lock_guard<std::mutex> l(mu_);
  last_error_[c + "/" + b] = s.ToString();
}

std::string CapacityTier::LastError(const std::string& c, const std::string& b) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = last_error_.find(c + "/" + b);
  return it == last_error_.end() ? std::string() : it->second;
}

// ------------------------------------------------------------------ offload

Status CapacityTier::Upload(const std::string& c, const std::string& b, const ns::BlobInfo& info,
                            const std::string& name, RemoteProps* props, std::string* md5) {
  auto f = store_->fs()->OpenRead(store_->BlobFilePath(c, b));
  if (!f.ok()) return f.status();
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  if (!SameFile(*st, info.st)) return Status(ErrorKind::kAlreadyExists, "the blob changed");
  // The local MD5, read from the data itself: what the remote copy must match.
  auto sum = FileMd5(**f, st->size);
  if (!sum.ok()) return sum.status();
  *md5 = *sum;
  const ns::BlobRecord& rec = info.rec;
  if (rec.content_md5.size() == 16 && rec.content_md5 != *md5)
    return Status(ErrorKind::kIo, "local data does not match the blob's Content-MD5");
  RemoteBlobHeaders hdr = HeadersOf(rec, *md5);
  STRATA_RETURN_IF_ERROR(RemoteOf(c)->Upload(name, (*f)->fd(), st->size, hdr, props));
  // Verify: the remote copy's length and MD5.
  if (opt_.verify_readback) {
    Md5Hasher rh;
    uint64_t got = 0;
    if (st->size > 0) {
      STRATA_RETURN_IF_ERROR(RemoteOf(c)->Read(
          name, 0, 0,
          [&](const char* d, size_t n) {
            rh.Update(d, n);
            got += n;
            return true;
          },
          nullptr, props->etag));
    }
    std::string rmd5 = rh.Final();
    if (got != st->size || rmd5 != *md5)
      return Status(ErrorKind::kIo, "the uploaded copy does not match (length or MD5)");
  } else {
    auto hp = RemoteOf(c)->Head(name);
    if (!hp.ok()) return hp.status();
    if (hp->size != st->size || (hp->content_md5.size() == 16 && hp->content_md5 != *md5))
      return Status(ErrorKind::kIo, "the uploaded copy does not match (length or MD5)");
    if (hp->content_md5.size() != 16) return Status(ErrorKind::kIo, "the remote reports no MD5");
  }
  return Status::Ok();
}

Status CapacityTier::Offload(const std::string& c, const std::string& b, const std::string& tier,
                             const std::string& if_etag) {
  auto move = MoveLock(c, b, true);
  return OffloadLocked(c, b, tier, if_etag);
}

Status CapacityTier::OffloadLocked(const std::string& c, const std::string& b,
                                   const std::string& tier, const std::string& if_etag) {
  if (Pinned(c, b)) return Status(ErrorKind::kPermission, "pinned: " + c + "/" + b);
  auto info = store_->Head(c, b);
  if (!info.ok()) return info.status();
  if (!if_etag.empty() && info->rec.etag != if_etag)
    return Status(ErrorKind::kAlreadyExists, "the blob changed since the move was asked");
  if (info->rec.blob_type != "BlockBlob")
    return Status(ErrorKind::kInvalidArgument, "only block blobs are tiered");
  // A cache evicts; it never archives the remote it fronts.
  const std::string target = Cached(c) ? "" : tier.empty() ? "Cool" : tier;
  TierState state = info->rec.tier_state;
  if (Cached(c) && state == TierState::kHot) {
    // Dirty: uploaded first (dirty data is never evicted before), then released.
    STRATA_RETURN_IF_ERROR(CacheUploadLocked(c, b));
    info = store_->Head(c, b);
    if (!info.ok()) return info.status();
    state = info->rec.tier_state;
    if (state == TierState::kHot)
      return Status(ErrorKind::kAlreadyExists, "the blob changed during its upload");
  }
  if (state == TierState::kArchived) return Status::Ok();
  if (state == TierState::kOffloaded) {
    if (target != "Archive") return Status::Ok();
    JournalEntry e{JournalEntry::Op::kOffload, "release",      c,     b,
                   info->rec.remote_name,      info->rec.etag, target};
    e.fp_size = info->st.size, e.fp_ino = info->st.ino, e.fp_mtime = info->st.mtime_ns;
    STRATA_RETURN_IF_ERROR(journal_.Put(e));
    return FinishOffload(e);
  }
  if (state == TierState::kPremigrated && info->rec.remote_damaged) {
    // The local data is the good copy: drop the damaged one (as a recall of
    // a premigrated blob does) and offload afresh.
    JournalEntry d = DeleteEntry(c, b, info->rec.remote_name);
    STRATA_RETURN_IF_ERROR(journal_.Put(d));
    {
      auto lock = store_->LockBlob(c, b);
      auto now = store_->Head(c, b);
      if (!now.ok()) return now.status();
      if (now->rec.etag != info->rec.etag || now->rec.tier_state != TierState::kPremigrated)
        return Status(ErrorKind::kAlreadyExists, "the blob changed during the offload");
      ns::BlobRecord nrec = now->rec;
      ClearRemote(&nrec);
      STRATA_RETURN_IF_ERROR(store_->UpdateRecord(c, b, nrec));
    }
    CollectRemote(d);
    info = store_->Head(c, b);
    if (!info.ok()) return info.status();
    if (info->rec.etag != if_etag && !if_etag.empty())
      return Status(ErrorKind::kAlreadyExists, "the blob changed since the move was asked");
    state = info->rec.tier_state;
  }
  if (state == TierState::kPremigrated) {
    JournalEntry e{JournalEntry::Op::kOffload, "release",      c,     b,
                   info->rec.remote_name,      info->rec.etag, target};
    e.fp_size = info->st.size, e.fp_ino = info->st.ino, e.fp_mtime = info->st.mtime_ns;
    STRATA_RETURN_IF_ERROR(journal_.Put(e));
    return FinishOffload(e);
  }
  // Hot: upload and verify first; nothing local changes until then.
  JournalEntry e{JournalEntry::Op::kOffload, "upload",       c,     b,
                 RemoteName(c, b),           info->rec.etag, target};
  STRATA_RETURN_IF_ERROR(journal_.Put(e));
  STRATA_CRASH_POINT("tier.offload.journaled");
  RemoteProps props;
  std::string md5;
  Status up = Upload(c, b, *info, e.remote_name, &props, &md5);
  if (!up.ok()) {
    // Roll back: no record points to the copy. Unreachable now: the journal
    // keeps the intent for the next attempt or restart.
    if (RemoteOf(c)->Delete(e.remote_name).ok()) (void)journal_.Remove(e);
    return up;
  }
  STRATA_CRASH_POINT("tier.offload.uploaded");
  {
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (!now.ok() || now->rec.etag != e.etag || !SameFile(now->st, info->st) ||
        now->rec.tier_state != TierState::kHot) {
      lock.unlock();
      if (RemoteOf(c)->Delete(e.remote_name).ok()) (void)journal_.Remove(e);
      return Status(ErrorKind::kAlreadyExists, "the blob changed during the offload");
    }
    ns::BlobRecord rec = now->rec;
    rec.tier_state = TierState::kPremigrated;
    rec.remote_name = e.remote_name;
    rec.remote_etag = props.etag;
    rec.remote_md5 = md5;
    rec.remote_size = now->st.size;
    if (rec.tier != target) rec.tier_change_time = NowNs();
    rec.tier = target;
    e.step = "release";
    e.fp_size = now->st.size, e.fp_ino = now->st.ino, e.fp_mtime = now->st.mtime_ns;
    STRATA_RETURN_IF_ERROR(journal_.Put(e));
    Status s = store_->UpdateRecord(c, b, rec);
    if (!s.ok()) {
      lock.unlock();
      if (RemoteOf(c)->Delete(e.remote_name).ok()) (void)journal_.Remove(e);
      return s;
    }
  }
  STRATA_CRASH_POINT("tier.offload.premigrated");
  n_.offload_bytes += info->st.size;
  return FinishOffload(e);
}

// From premigrated (journal step "release") to offloaded, and on to
// archived when asked. Also the replay of an interrupted release.
Status CapacityTier::FinishOffload(JournalEntry e, OffloadJournal* from) {
  if (!from) from = &journal_;
  const std::string& c = e.container;
  const std::string& b = e.blob;
  bool archive = false;
  {
    auto lock = store_->LockBlob(c, b);
    auto stored = store_->ReadStoredRecord(c, b);
    bool ours = stored.ok() && stored->rec && stored->rec->remote_name == e.remote_name &&
                stored->rec->etag == e.etag && stored->rec->tier_state != TierState::kHot;
    // While premigrated, the file must still be the one uploaded: same inode
    // and size (released, it is a new stub inode).
    bool same = ours && (stored->rec->tier_state != TierState::kPremigrated ||
                         (stored->st.ino == e.fp_ino && stored->st.size == e.fp_size));
    if (!ours || !same) {
      lock.unlock();
      // The blob was replaced or rewritten: the copy is stale. It is deleted
      // only when no record points to it.
      JournalEntry d = DeleteEntry(c, b, e.remote_name);
      (void)journal_.Put(d);
      (void)from->Remove(e);
      Schedule(JobKind::kCollect, c, b, e.remote_name);
      return Status(ErrorKind::kAlreadyExists, "the blob changed during the offload");
    }
    ns::BlobRecord rec = *stored->rec;
    if (rec.tier_state == TierState::kPremigrated && rec.remote_damaged) {
      // The copy failed verification since it was recorded: the local data
      // is the only good copy and stays. A recall to Hot drops the copy.
      lock.unlock();
      (void)from->Remove(e);
      return Status(ErrorKind::kIo, "the remote copy " + e.remote_name +
                                        " failed verification: local data kept; recall to Hot "
                                        "and offload again");
    }
    if (rec.tier_state == TierState::kPremigrated) {
      rec.tier_state = TierState::kOffloaded;
      STRATA_RETURN_IF_ERROR(store_->ReleaseData(c, b, rec, e.fp_mtime));
      STRATA_CRASH_POINT("tier.offload.released");
      n_.offloads++;
      NoteEvent("offload", c, b, rec.remote_size);
    }
    // Only while the blob is still meant to be archived: a rehydration or
    // another tier asked since leaves the data online.
    archive = e.target_tier == "Archive" && rec.tier_state != TierState::kArchived &&
              rec.tier == "Archive" && rec.rehydrate_to.empty();
  }
  if (archive) {
    STRATA_RETURN_IF_ERROR(RemoteOf(c)->SetTier(e.remote_name, "Archive"));
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (now.ok() && now->rec.etag == e.etag && now->rec.remote_name == e.remote_name &&
        now->rec.tier_state == TierState::kOffloaded) {
      // The remote copy is archived now, whatever was asked meanwhile (a
      // rehydration asked since is then the capacity tier's to finish).
      ns::BlobRecord rec = now->rec;
      rec.tier_state = TierState::kArchived;
      if (rec.tier != "Archive") rec.tier_change_time = NowNs();
      rec.tier = "Archive";
      STRATA_RETURN_IF_ERROR(store_->UpdateRecord(c, b, rec));
    }
  }
  return from->Remove(e);
}

// ------------------------------------------------------------------- recall

Status CapacityTier::ReadVerified(const std::string& c, const ns::BlobRecord& rec, const RemoteSink& sink,
                                  bool* damaged) {
  *damaged = false;
  Md5Hasher h;
  uint64_t got = 0;
  if (rec.remote_size > 0) {
    bool too_long = false;
    Status s = RemoteOf(c)->Read(
        rec.remote_name, 0, 0,
        [&](const char* d, size_t n) {
          if (got + n > rec.remote_size) {
            too_long = true;
            return false;
          }
          h.Update(d, n);
          got += n;
          return sink(d, n);
        },
        nullptr, rec.remote_etag);
    if (too_long) {
      *damaged = true;
      return VerificationFailed(rec, "longer than recorded");
    }
    if (!s.ok()) {
      *damaged = IsDamage(s);
      return *damaged ? VerificationFailed(rec, s.message()) : s;
    }
  }
  // A cached blob's remote copy may carry no MD5 (not every writer sends
  // one): its length, and its ETag through If-Match, are then what verify it.
  bool md5_known = !(Cached(c) && rec.remote_md5.empty());
  if (got != rec.remote_size || (md5_known && h.Final() != rec.remote_md5)) {
    *damaged = true;
    return VerificationFailed(rec, "length or MD5 differ from the record");
  }
  return Status::Ok();
}

void CapacityTier::MarkDamaged(const std::string& c, const std::string& b,
                               const ns::BlobRecord& rec, const Status& why) {
  n_.verify_failures++;
  if (Cached(c)) {
    // The remote is the cache's source: other bytes than it announced are
    // neither served nor kept, and the next read tries again.
    c_.remote_errors++;
    LOG_WARN("cache: %s/%s: %s\n", c.c_str(), b.c_str(), why.ToString().c_str());
    return;
  }
  bool first = false;
  {
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (now.ok() && now->rec.etag == rec.etag && now->rec.remote_name == rec.remote_name &&
        now->rec.remote_etag == rec.remote_etag && now->rec.tier_state != TierState::kHot &&
        !now->rec.remote_damaged) {
      first = true;
      ns::BlobRecord nrec = now->rec;
      nrec.remote_damaged = true;
      Status s = store_->UpdateRecord(c, b, nrec);
      if (!s.ok())
        LOG_ERROR("tier: %s/%s: recording the damage failed: %s\n", c.c_str(), b.c_str(),
                  s.ToString().c_str());
    }
  }
  if (!first) return;  // already marked (by us or another gateway), or the blob moved on
  n_.damaged++;
  LOG_ERROR(
      "tier: %s/%s: DAMAGED: %s; the remote copy is neither served nor "
      "recalled (a verify that passes or a rewrite of the blob clears this)\n",
      c.c_str(), b.c_str(), why.ToString().c_str());
  NoteEvent("damaged", c, b, 0);
  std::lock_guard<std::mutex> l(mu_);
  last_error_[c + "/" + b] = why.ToString();
}

void CapacityTier::ClearDamaged(const std::string& c, const std::string& b,
                                const ns::BlobRecord& rec) {
  auto lock = store_->LockBlob(c, b);
  auto now = store_->Head(c, b);
  if (!now.ok() || now->rec.etag != rec.etag || now->rec.remote_name != rec.remote_name ||
      now->rec.remote_etag != rec.remote_etag || !now->rec.remote_damaged)
    return;
  ns::BlobRecord nrec = now->rec;
  nrec.remote_damaged = false;
  (void)store_->UpdateRecord(c, b, nrec);
}

Status CapacityTier::DownloadVerified(const std::string& c, const std::string& b,
                                      const ns::BlobRecord& rec, const std::string& path) {
  auto f = store_->fs()->OpenWrite(path, true, true);
  if (!f.ok()) return f.status();
  uint64_t off = 0;
  Status io;
  bool damaged = false;
  Status s = ReadVerified(c, 
      rec,
      [&](const char* d, size_t n) {
        io = (*f)->PWrite(d, n, off);
        off += n;
        return io.ok();
      },
      &damaged);
  if (!io.ok()) return io;
  if (damaged) {
    MarkDamaged(c, b, rec, s);
    return Status(ErrorKind::kIo, s.message() + ": recall refused");
  }
  STRATA_RETURN_IF_ERROR(s);
  if (opt_.sync) STRATA_RETURN_IF_ERROR((*f)->Sync());
  return Status::Ok();
}

Status CapacityTier::Recall(const std::string& c, const std::string& b, bool keep_remote,
                            const std::string& if_etag) {
  auto move = MoveLock(c, b, true);
  return RecallLocked(c, b, keep_remote, if_etag);
}

Status CapacityTier::RecallLocked(const std::string& c, const std::string& b, bool keep_remote,
                                  const std::string& if_etag) {
  auto info = store_->Head(c, b);
  if (!info.ok()) return info.status();
  if (!if_etag.empty() && info->rec.etag != if_etag)
    return Status(ErrorKind::kAlreadyExists, "the blob changed since the move was asked");
  ns::BlobRecord rec = info->rec;
  if (rec.tier_state == TierState::kHot) return Status::Ok();
  if (Cached(c)) {
    // The remote is the cache's source: a recall hydrates, it never deletes.
    if (rec.tier_state != TierState::kOffloaded) return Status::Ok();
    return HydrateLocked(c, b, rec, nullptr);
  }
  if (rec.tier_state == TierState::kPremigrated) {
    if (keep_remote) return Status::Ok();
    JournalEntry d = DeleteEntry(c, b, rec.remote_name);
    STRATA_RETURN_IF_ERROR(journal_.Put(d));
    {
      auto lock = store_->LockBlob(c, b);
      auto now = store_->Head(c, b);
      if (!now.ok()) return now.status();
      if (now->rec.etag != rec.etag || now->rec.tier_state != TierState::kPremigrated)
        return Status(ErrorKind::kAlreadyExists, "the blob changed during the recall");
      ns::BlobRecord nrec = now->rec;
      ClearRemote(&nrec);
      STRATA_RETURN_IF_ERROR(store_->UpdateRecord(c, b, nrec));
    }
    CollectRemote(d);
    return Status::Ok();
  }
  if (rec.tier_state == TierState::kArchived) {
    std::string target = rec.rehydrate_to.empty() ? "Hot" : rec.rehydrate_to;
    Status st = RemoteOf(c)->SetTier(rec.remote_name, target);
    if (!st.ok() && st.kind() != ErrorKind::kAlreadyExists) return st;
    auto props = RemoteOf(c)->Head(rec.remote_name);
    if (!props.ok()) return props.status();
    if (props->access_tier == "Archive" || !props->archive_status.empty())
      return Status(ErrorKind::kBusy, "rehydrating " + rec.remote_name);
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (!now.ok()) return now.status();
    if (now->rec.etag != rec.etag || now->rec.tier_state != TierState::kArchived)
      return Status(ErrorKind::kAlreadyExists, "the blob changed during the rehydration");
    rec = now->rec;
    rec.tier_state = TierState::kOffloaded;
    rec.tier = target;
    rec.tier_change_time = NowNs();
    rec.rehydrate_to.clear();
    rec.rehydrate_priority.clear();
    rec.rehydrate_done = 0;
    STRATA_RETURN_IF_ERROR(store_->UpdateRecord(c, b, rec));
    if (target != "Hot") return Status::Ok();  // online again, data stays remote
  }
  // Offloaded: download, verify, put the data back under the same record.
  JournalEntry e{JournalEntry::Op::kRecall, "download", c,     b,
                 rec.remote_name,           rec.etag,   "Hot", keep_remote};
  STRATA_RETURN_IF_ERROR(journal_.Put(e));
  STRATA_CRASH_POINT("tier.recall.journaled");
  std::string temp = store_->NewTempPath();
  Status s = DownloadVerified(c, b, rec, temp);
  if (s.ok()) s = store_->fs()->SetMtime(temp, info->st.mtime_ns);
  if (!s.ok()) {
    (void)store_->fs()->Unlink(temp);
    (void)journal_.Remove(e);
    return s;
  }
  STRATA_CRASH_POINT("tier.recall.downloaded");
  {
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (!now.ok() || now->rec.etag != rec.etag || now->rec.tier_state != TierState::kOffloaded) {
      lock.unlock();
      (void)store_->fs()->Unlink(temp);
      (void)journal_.Remove(e);
      return now.ok() ? Status(ErrorKind::kAlreadyExists, "the blob changed during the recall")
                      : now.status();
    }
    ns::BlobRecord nrec = now->rec;
    if (keep_remote) {
      nrec.tier_state = TierState::kPremigrated;
    } else {
      ClearRemote(&nrec);
      if (nrec.tier != "Hot") nrec.tier_change_time = NowNs();
      nrec.tier = "Hot";
    }
    e.step = "commit";
    s = journal_.Put(e);
    if (s.ok()) s = store_->ReplaceKeepingAttrs(c, b, temp, nrec);
    if (!s.ok()) {
      lock.unlock();
      (void)store_->fs()->Unlink(temp);
      (void)journal_.Remove(e);
      return s;
    }
  }
  STRATA_CRASH_POINT("tier.recall.committed");
  n_.recalls++;
  n_.recall_bytes += rec.remote_size;
  NoteEvent("recall", c, b, rec.remote_size);
  if (!keep_remote) {
    Status d = RemoteOf(c)->Delete(e.remote_name);
    if (!d.ok()) return Status::Ok();  // the journal entry retries it at the next start
    n_.remote_deletes++;
    STRATA_CRASH_POINT("tier.recall.remote_deleted");
  }
  return journal_.Remove(e);
}

Status CapacityTier::Verify(const std::string& c, const std::string& b) {
  auto info = store_->Head(c, b);
  if (!info.ok()) return info.status();
  const ns::BlobRecord& rec = info->rec;
  if (rec.tier_state == TierState::kHot) return Status::Ok();
  if (rec.tier_state == TierState::kArchived)
    return Status(ErrorKind::kBusy, "archived: the remote copy cannot be read");
  bool damaged = false;
  Status s = ReadVerified(c, 
      rec, [](const char*, size_t) { return true; }, &damaged);
  if (damaged) MarkDamaged(c, b, rec, s);
  if (s.ok() && rec.remote_damaged) ClearDamaged(c, b, rec);
  return s;
}

// ------------------------------------------------------------ remote clean-up

void CapacityTier::OnRemoteRef(const std::string& c, const std::string& b,
                               const ns::BlobRecord& old, bool done) {
  if (Cached(c)) return OnCacheRemoteRef(c, b, old, done);
  JournalEntry d = DeleteEntry(c, b, old.remote_name);
  if (!done) {
    (void)journal_.Put(d);
    return;
  }
  Schedule(JobKind::kCollect, c, b, old.remote_name);
}

void CapacityTier::CollectRemote(const JournalEntry& e) {
  auto stored = store_->ReadStoredRecord(e.container, e.blob);
  if (Cached(e.container) &&
      (stored.ok() || stored.status().kind() != ErrorKind::kNotFound)) {
    // A cache propagates deletes only: any local entry at the name (dirty,
    // uploaded later; clean) keeps the remote blob, and so does an error.
    (void)journal_.Remove(e);
    return;
  }
  if (stored.ok() && stored->rec && stored->rec->remote_name == e.remote_name &&
      stored->rec->tier_state != TierState::kHot) {
    // Still pointed to (the replace or delete did not happen): keep it.
    (void)journal_.Remove(e);
    return;
  }
  Status s = RemoteOf(e.container)->Delete(e.remote_name);
  if (!s.ok()) {
    NoteError(e.container, e.blob, s);  // the journal entry retries at the next start
    return;
  }
  n_.remote_deletes++;
  (void)journal_.Remove(e);
}

// ------------------------------------------------------------------ replay

// Replay runs on the leader, under the entry's move lock (at start, before
// this gateway serves). It does the local steps at once and queues every
// remote step, so a remote that is down does not hold up the start or the
// takeover; the queued steps are journaled in this gateway's journal,
// which the workers clear as they go.
void CapacityTier::Replay(const JournalEntry& e, OffloadJournal& from) {
  const std::string& c = e.container;
  const std::string& b = e.blob;
  if (e.op == JournalEntry::Op::kRemoteDelete) {
    if (!journal_.Put(e).ok()) return;  // stays in `from` for the next look
    (void)from.Remove(e);
    return Schedule(JobKind::kCollect, c, b, e.remote_name);
  }
  auto stored = store_->ReadStoredRecord(c, b);
  std::optional<ns::BlobRecord> rec;
  if (stored.ok()) rec = stored->rec;
  bool points = rec && rec->remote_name == e.remote_name && rec->tier_state != TierState::kHot;
  auto collect = [&] {
    if (!journal_.Put(DeleteEntry(c, b, e.remote_name)).ok()) return;
    (void)from.Remove(e);
    Schedule(JobKind::kCollect, c, b, e.remote_name);
  };
  if (e.op == JournalEntry::Op::kOffload) {
    if (points && rec->etag == e.etag) {
      // Recorded premigrated (or further): finish the release now, the
      // archiving (a remote call) later.
      JournalEntry local = e;
      local.target_tier.clear();
      Status s = FinishOffload(local, &from);
      if (!s.ok()) NoteError(c, b, s);
      if (e.target_tier == "Archive" || (!s.ok() && s.kind() == ErrorKind::kBusy))
        Schedule(JobKind::kOffload, c, b, e.target_tier, e.etag);
      return;
    }
    // Not recorded: roll back the upload (no record points to the copy).
    if (points) return (void)from.Remove(e);
    return collect();
  }
  // Recall: committed when the record is back with the same ETag and no
  // longer offloaded; then only the remote copy may remain to delete.
  bool committed = rec && rec->etag == e.etag && rec->tier_state != TierState::kOffloaded &&
                   rec->tier_state != TierState::kArchived;
  if (committed && !e.keep_remote && !points) return collect();
  // Not committed: the stub and its remote copy stand; the download was in
  // the dead gateway's .strata/tmp/ID, which the store clears (Open,
  // ReapDeadGateways).
  (void)from.Remove(e);
}

// ------------------------------------------------------------------ workers

void CapacityTier::Schedule(JobKind kind, const std::string& c, const std::string& b,
                            const std::string& tier, const std::string& etag, bool from_pass) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (kind != JobKind::kCollect) {
      last_error_.erase(c + "/" + b);  // a new request: an older failure no longer says how it went
      for (auto& j : jobs_) {
        if (j.kind != JobKind::kCollect && j.c == c && j.b == b) {
          // A pending upload is not replaced: the blob is dirty, and moves
          // wait for it (a cached blob's offload uploads it too).
          if (j.kind == JobKind::kWriteBack && kind != JobKind::kOffload) return;
          j.kind = kind;
          j.tier = tier;
          j.etag = etag;
          j.not_before_ms = 0;
          j.from_pass = j.from_pass && from_pass;
          cv_.notify_one();
          return;
        }
      }
    }
    jobs_.push_back(Job{kind, c, b, tier, etag, 0, from_pass});
  }
  cv_.notify_one();
}

bool CapacityTier::WaitIdle(int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  return idle_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                           [this] { return jobs_.empty() && running_ == 0; });
}

void CapacityTier::TransferLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    int64_t now = NowMs();
    auto it = jobs_.begin();
    int64_t next = INT64_MAX;
    for (; it != jobs_.end(); ++it) {
      if (it->not_before_ms <= now) break;
      next = std::min(next, it->not_before_ms);
    }
    if (it == jobs_.end()) {
      if (next == INT64_MAX)
        cv_.wait(l);
      else
        cv_.wait_for(l, std::chrono::milliseconds(next - now));
      continue;
    }
    Job job = *it;
    jobs_.erase(it);
    ++running_;
    l.unlock();
    Status s;
    // Another thread or gateway moving the blob: a pass's move is dropped
    // (the next pass sees where the blob went), any other waits for it
    // here, queued, rather than on a worker.
    auto move = MoveLock(job.c, job.b, false);
    if (!move) {
      l.lock();
      --running_;
      if (!job.from_pass && !stop_) {
        // A later request for the blob replaced this one.
        bool newer = false;
        if (job.kind != JobKind::kCollect)
          for (const auto& j : jobs_)
            if (j.kind != JobKind::kCollect && j.c == job.c && j.b == job.b) newer = true;
        if (!newer) {
          job.not_before_ms = NowMs() + kMoveBusyRetryMs;
          jobs_.push_back(job);
        }
      }
      if (jobs_.empty() && running_ == 0) idle_cv_.notify_all();
      continue;
    }
    if (job.kind == JobKind::kOffload) {
      s = OffloadLocked(job.c, job.b, job.tier, job.etag);
    } else if (job.kind == JobKind::kRecall || job.kind == JobKind::kPrefetch) {
      s = RecallLocked(job.c, job.b, job.kind == JobKind::kPrefetch, job.etag);
    } else if (job.kind == JobKind::kWriteBack) {
      s = CacheUploadLocked(job.c, job.b);
    } else {
      // Under the blob's move lock: an offload of a newer version to the
      // same remote name, on any gateway, either finished recording (the
      // copy is kept) or has not begun uploading (it uploads after the
      // delete).
      CollectRemote(DeleteEntry(job.c, job.b, job.tier));
    }
    move.unlock();
    bool again = !s.ok() && s.kind() == ErrorKind::kBusy;
    if (!s.ok() && !again) NoteError(job.c, job.b, s);
    if (s.ok() && job.kind != JobKind::kCollect) {
      std::lock_guard<std::mutex> g(mu_);
      last_error_.erase(job.c + "/" + job.b);
    }
    l.lock();
    --running_;
    if (again && !stop_) {
      bool newer = false;
      for (const auto& j : jobs_)
        if (j.kind != JobKind::kCollect && j.c == job.c && j.b == job.b) newer = true;
      if (!newer) {
        job.not_before_ms = NowMs() + opt_.retry_delay_ms;
        jobs_.push_back(job);
      }
      if (s.message().rfind("rehydrating", 0) != 0) {
        l.unlock();
        NoteError(job.c, job.b, s);
        l.lock();
      }
    }
    if (jobs_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

void CapacityTier::ReadLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    read_cv_.wait(l, [this] { return stop_ || !reads_.empty(); });
    if (stop_) return;
    auto fn = std::move(reads_.front());
    reads_.pop_front();
    l.unlock();
    fn();
    l.lock();
  }
}

Status CapacityTier::ReadThrough(const std::string& c, const ns::BlobRecord& rec,
                                 uint64_t offset, uint64_t length, const RemoteSink& emit,
                                 bool* damaged) {
  *damaged = false;
  if (offset == 0 && length == rec.remote_size) {
    // The whole blob: hashed as it streams; the tail waits for the verdict.
    TailHolder tail(rec.remote_size, kVerifyHoldBack);
    Status s = ReadVerified(
        c, rec, [&](const char* d, size_t n) { return tail.Add(d, n, emit); }, damaged);
    if (s.ok() && !tail.Release(emit)) s = Status(ErrorKind::kIo, "the client went away");
    return s;
  }
  Status s = RemoteOf(c)->Read(rec.remote_name, offset, length, emit, nullptr, rec.remote_etag);
  *damaged = IsDamage(s);
  return *damaged ? VerificationFailed(rec, s.message()) : s;
}

Result<int> CapacityTier::QueueRead(std::function<void(int)> produce) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);  // best effort: fewer wakeups
  int wfd = fds[1];
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_ || stop_ || reads_.size() >= opt_.max_pending_reads) {
      ::close(fds[0]);
      ::close(fds[1]);
      return Status(ErrorKind::kBusy, "too many remote reads waiting");
    }
    reads_.push_back([produce = std::move(produce), wfd] { produce(wfd); });
  }
  n_.stream_reads++;
  read_cv_.notify_one();
  return fds[0];
}

Result<int> CapacityTier::StartRead(const std::string& c, const std::string& b,
                                    const ns::BlobRecord& rec, uint64_t offset, uint64_t length) {
  if (Cached(c)) return CacheStartRead(c, b, rec, offset, length);
  return QueueRead([this, c, b, rec, offset, length](int wfd) {
    bool started = false;
    uint64_t sent = 0;
    auto emit = [&](const char* d, size_t n) {
      if (!started) {
        if (!WriteAll(wfd, &kStreamOk, 1)) return false;
        started = true;
      }
      sent += n;
      return WriteAll(wfd, d, n);
    };
    bool damaged = false;
    Status s = ReadThrough(c, rec, offset, length,
                           [&](const char* d, size_t n) {
                             if (n > length - sent) n = length - sent;
                             return emit(d, n);
                           },
                           &damaged);
    // Recorded before the client hears of it.
    if (damaged) MarkDamaged(c, b, rec, s);
    if (!started) {
      char code = s.ok() ? kStreamOk : s.kind() == ErrorKind::kBusy ? kStreamBusy : kStreamError;
      (void)WriteAll(wfd, &code, 1);
    }
    if (!s.ok()) {
      n_.failures++;
      if (!damaged) LOG_WARN("tier: read %s: %s\n", rec.remote_name.c_str(), s.ToString().c_str());
    }
    n_.stream_bytes += sent;
    ::close(wfd);
  });
}

void CapacityTier::NoteEvent(const char* kind, const std::string& c, const std::string& b,
                             uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  events_.push_back(Event{NowNs(), kind, c + "/" + b, bytes});
  if (events_.size() > kRecentEvents) events_.pop_front();
}

std::vector<CapacityTier::Event> CapacityTier::RecentEvents() {
  std::lock_guard<std::mutex> l(mu_);
  return std::vector<Event>(events_.begin(), events_.end());
}

CapacityTier::Counters CapacityTier::GetCounters() {
  Counters c;
  c.offloads = n_.offloads;
  c.recalls = n_.recalls;
  c.offload_bytes = n_.offload_bytes;
  c.recall_bytes = n_.recall_bytes;
  c.stream_reads = n_.stream_reads;
  c.stream_bytes = n_.stream_bytes;
  c.remote_deletes = n_.remote_deletes;
  c.failures = n_.failures;
  c.verify_failures = n_.verify_failures;
  c.damaged = n_.damaged;
  {
    std::lock_guard<std::mutex> l(mu_);
    c.queue_depth = jobs_.size() + static_cast<uint64_t>(running_);
    c.pending_reads = reads_.size();
  }
  c.journal_entries = journal_.Size();
  return c;
}

}  // namespace strata::tier
