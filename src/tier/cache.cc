// Cache mode of the capacity tier: a container that fronts an existing
// remote container (see the top of capacity_tier.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/crash_point.h"
#include "common/crypto.h"
#include "common/log.h"
#include "ns/names.h"
#include "tier/capacity_tier.h"
#include "tier/tier_internal.h"

namespace strata::tier {

using namespace internal;

namespace {

// Set while an import changes the namespace: what it replaces or removes
// follows the remote, so nothing of it goes back to the remote.
thread_local bool t_importing = false;

struct Importing {
  Importing() { t_importing = true; }
  ~Importing() { t_importing = false; }
};

constexpr int kListPage = 5000;
// A follower of a hydration that sees no byte arrive for this long gives up.
constexpr int kFollowStallMs = 60'000;
// Bounds of the process-local memory of what was imported lately.
constexpr size_t kMaxImportMarks = 100'000;

// The name a remote version that lost a conflict is kept under.
std::string ConflictName(const std::string& b, const std::string& remote_etag) {
  std::string tag;
  for (char ch : remote_etag)
    if (std::isalnum(static_cast<unsigned char>(ch))) tag += ch;
  return b + ".conflict-" + tag;
}

std::string ImportKey(const std::string& c, const std::string& prefix, bool one_level) {
  return c + '\0' + (one_level ? '1' : '0') + prefix;
}

ns::BlobRecord StubRecord(const std::string& name, const RemoteProps& p) {
  ns::BlobRecord rec;
  rec.blob_type = p.blob_type == "AppendBlob" ? "AppendBlob" : "BlockBlob";
  rec.content_type = p.content_type;
  rec.content_encoding = p.content_encoding;
  rec.content_language = p.content_language;
  rec.content_disposition = p.content_disposition;
  rec.cache_control = p.cache_control;
  rec.content_md5 = p.content_md5;
  for (const auto& [k, v] : p.metadata) rec.metadata.emplace_back(k, v);
  rec.etag = p.etag;
  rec.last_modified = p.last_modified_ns ? p.last_modified_ns : NowNs();
  rec.created = rec.last_modified;
  // Nothing to fetch for an empty blob: it is local (and clean) at once.
  rec.tier_state = p.size == 0 ? TierState::kPremigrated : TierState::kOffloaded;
  rec.remote_name = name;
  rec.remote_etag = p.etag;
  rec.remote_md5 = p.content_md5.size() == 16 ? p.content_md5 : "";
  rec.remote_size = p.size;
  return rec;
}

}  // namespace

CapacityTier::Hydration::~Hydration() {
  if (fd >= 0) ::close(fd);
}

void CapacityTier::AddCache(const std::string& c, CacheOptions o) { caches_[c] = o; }

std::vector<std::string> CapacityTier::CachedContainers() const {
  std::vector<std::string> v;
  for (const auto& [c, o] : caches_) v.push_back(c);
  return v;
}

CapacityTier::CacheCounters CapacityTier::GetCacheCounters() {
  CacheCounters k;
  k.hit_requests = c_.hit_requests;
  k.hit_bytes = c_.hit_bytes;
  k.miss_requests = c_.miss_requests;
  k.miss_bytes = c_.miss_bytes;
  k.hydrations = c_.hydrations;
  k.hydration_bytes = c_.hydration_bytes;
  k.shared_reads = c_.shared_reads;
  k.uploads = c_.uploads;
  k.upload_bytes = c_.upload_bytes;
  k.conflicts = c_.conflicts;
  k.remote_errors = c_.remote_errors;
  k.imported = c_.imported;
  k.evictions = n_.offloads;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& j : jobs_)
    if (j.kind == JobKind::kWriteBack) k.dirty++;
  return k;
}

// ------------------------------------------------------------------ import

Status CapacityTier::ImportOne(const std::string& c, const std::string& name,
                               const RemoteProps& props, const char** what) {
  *what = "skipped";
  if (!ns::ValidateBlobName(name).ok() || props.blob_type == "PageBlob") return Status::Ok();
  auto lock = store_->LockBlob(c, name);
  auto info = store_->Head(c, name);
  if (info.ok()) {
    const ns::BlobRecord& rec = info->rec;
    // Written here and not yet uploaded (or written through POSIX): the
    // local version stands until its upload settles the conflict.
    if (!info->has_record || rec.tier_state == TierState::kHot) {
      *what = "dirty";
      return Status::Ok();
    }
    if (rec.remote_name != name) return Status::Ok();  // renamed here: its upload is due
    if (rec.remote_etag == props.etag) {
      *what = "unchanged";
      return Status::Ok();
    }
  } else if (info.status().kind() != ErrorKind::kNotFound) {
    return Status::Ok();  // a directory, or a file where the name needs one
  }
  // A new stub: a sparse file of the remote's size, dated by it.
  std::string temp = store_->NewTempPath(c);
  auto f = store_->fs()->OpenWrite(temp, true, true);
  if (!f.ok()) return f.status();
  Status s = (*f)->Truncate(props.size);
  f->reset();
  ns::BlobRecord rec = StubRecord(name, props);
  if (s.ok()) s = store_->fs()->SetMtime(temp, rec.last_modified);
  if (s.ok()) {
    Importing importing;
    s = store_->Commit(c, name, temp, rec, /*drop_blocks=*/false, /*replace=*/true);
  }
  if (!s.ok()) {
    (void)store_->fs()->Unlink(temp);
    // Names the local tree cannot hold (a blob "a" beside "a/b"): left out.
    if (s.kind() == ErrorKind::kPathConflict || s.kind() == ErrorKind::kIsDirectory)
      return Status::Ok();
    return s;
  }
  *what = info.ok() ? "updated" : "created";
  c_.imported++;
  return Status::Ok();
}

bool CapacityTier::RemoveClean(const std::string& c, const std::string& b) {
  auto move = MoveLock(c, b, false);
  if (!move) return false;  // being hydrated or uploaded: the next import looks again
  auto lock = store_->LockBlob(c, b);
  auto info = store_->Head(c, b);
  if (!info.ok() || !info->has_record || info->rec.tier_state == TierState::kHot ||
      info->rec.remote_name != b)
    return false;
  Importing importing;
  return store_->DeleteBlob(c, b).ok();
}

Status CapacityTier::Import(const std::string& c, const std::string& prefix, bool one_level,
                            ImportStats* stats, std::string* marker,
                            const std::function<bool(const ImportStats&)>& progress) {
  RemoteClient* rc = RemoteOf(c);
  if (!Cached(c) || !rc) return Status(ErrorKind::kInvalidArgument, "not a cached container");
  std::string m = marker ? *marker : "";
  // Clean local entries the remote no longer has are removed by walking
  // the local listing beside the remote's (both in name order), page by
  // page: only from the start, so a resumed import removes nothing.
  bool removals = m.empty();
  const std::string delim = one_level ? "/" : "";
  std::vector<ns::ListItem> local;
  size_t li = 0;
  std::string local_marker;
  bool local_end = false;
  auto next_local = [&]() -> const ns::ListItem* {
    while (li >= local.size() && !local_end) {
      auto page = store_->List(c, prefix, delim, local_marker, 1000);
      if (!page.ok()) {
        local_end = true;
        break;
      }
      local = std::move(page->items);
      li = 0;
      local_marker = page->next_marker;
      if (local_marker.empty()) local_end = true;
    }
    return li < local.size() ? &local[li] : nullptr;
  };
  for (int pages = 0; pages < 10'000'000; ++pages) {
    auto page = rc->List(prefix, delim, m, kListPage);
    if (!page.ok()) {
      c_.remote_errors++;
      return page.status();
    }
    stats->pages++;
    std::set<std::string> names;
    for (const auto& [name, props] : page->blobs) {
      stats->listed++;
      names.insert(name);
      const char* what = "";
      STRATA_RETURN_IF_ERROR(ImportOne(c, name, props, &what));
      std::string_view w = what;
      if (w == "created") stats->created++;
      else if (w == "updated") stats->updated++;
      else if (w == "skipped") stats->skipped++;
    }
    for (std::string p : page->prefixes) {
      while (!p.empty() && p.back() == '/') p.pop_back();
      if (p.empty() || !ns::ValidateBlobName(p).ok()) continue;
      names.insert(p);
      if (store_->MakeParentDirs(c, p).ok()) stats->dirs++;  // confined like a blob's parents
    }
    if (removals) {
      // This page covers the names up to its last one (all of them on the
      // last page).
      std::string hi;
      if (!page->next_marker.empty() && !names.empty()) hi = *names.rbegin();
      while (const ns::ListItem* it = next_local()) {
        if (!hi.empty() && it->name > hi) break;
        ++li;
        if (it->is_prefix || it->is_dir || names.count(it->name)) continue;
        if (it->info.has_record && it->info.rec.tier_state != TierState::kHot &&
            it->info.rec.remote_name == it->name && RemoveClean(c, it->name))
          stats->removed++;
      }
    }
    m = page->next_marker;
    if (marker) *marker = m;
    STRATA_CRASH_POINT("cache.import.page");
    if (progress && !progress(*stats)) break;
    if (m.empty()) break;
  }
  return Status::Ok();
}

void CapacityTier::EnsureListed(const std::string& c, const std::string& prefix, bool one_level) {
  const CacheOptions* o = CacheOf(c);
  if (!o) return;
  int64_t now = NowMs();
  int64_t fresh = now - static_cast<int64_t>(o->revalidate_s) * 1000;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto recent = [&](const std::string& key) {
      auto it = imported_at_.find(key);
      return it != imported_at_.end() && it->second >= fresh;
    };
    if (one_level && recent(ImportKey(c, prefix, true))) return;
    // A flat import of any prefix of `prefix` covers it.
    for (size_t n = 0; n <= prefix.size(); ++n)
      if ((n == 0 || n == prefix.size() || prefix[n - 1] == '/') &&
          recent(ImportKey(c, prefix.substr(0, n), false)))
        return;
  }
  ImportStats st;
  Status s = Import(c, prefix, one_level, &st);
  if (!s.ok()) {
    LOG_WARN("cache: listing %s/%s from the remote: %s (the local view is served)\n", c.c_str(),
             prefix.c_str(), s.ToString().c_str());
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (imported_at_.size() > kMaxImportMarks) imported_at_.clear();
  imported_at_[ImportKey(c, prefix, one_level)] = now;
}

Status CapacityTier::EnsureImported(const std::string& c, const std::string& b,
                                    bool revalidate_stub) {
  const CacheOptions* o = CacheOf(c);
  if (!o || !ns::ValidateBlobName(b).ok()) return Status::Ok();
  auto info = store_->Head(c, b);
  if (info.ok()) {
    // A stub about to be read: the data comes from the remote anyway, so
    // first make sure the stub is the remote's current version.
    if (revalidate_stub && info->has_record &&
        info->rec.tier_state == TierState::kOffloaded && info->rec.remote_name == b)
      (void)Refresh(c, b, info->rec);
    return Status::Ok();
  }
  if (info.status().kind() != ErrorKind::kNotFound) return Status::Ok();
  int64_t now = NowMs();
  int64_t fresh = now - static_cast<int64_t>(o->revalidate_s) * 1000;
  std::string missing_key = c + '\0' + '-' + b;
  {
    // A fresh look that found no b: the remote has none either (within the
    // revalidation interval). A listing's import is not enough: a name
    // opened is looked up, so a blob added there since is found at once.
    std::lock_guard<std::mutex> l(mu_);
    auto it = imported_at_.find(missing_key);
    if (it != imported_at_.end() && it->second >= fresh) return Status::Ok();
  }
  auto props = RemoteOf(c)->Head(b);
  if (!props.ok()) {
    if (props.status().kind() == ErrorKind::kNotFound) {
      std::lock_guard<std::mutex> l(mu_);
      if (imported_at_.size() > kMaxImportMarks) imported_at_.clear();
      imported_at_[missing_key] = now;
      return Status::Ok();
    }
    c_.remote_errors++;
    return props.status().kind() == ErrorKind::kBusy ? props.status()
                                                     : Status(ErrorKind::kBusy, props.status().message());
  }
  const char* what = "";
  return ImportOne(c, b, *props, &what);
}

// ------------------------------------------------------------------ writes

void CapacityTier::OnCacheRemoteRef(const std::string& c, const std::string& b,
                                    const ns::BlobRecord& old, bool done) {
  if (t_importing) return;
  JournalEntry d = DeleteEntry(c, b, old.remote_name);
  if (!done) {
    (void)journal_.Put(d);  // a delete: propagated even after a crash
    return;
  }
  auto now = store_->Head(c, b);
  if (now.ok()) {
    // Replaced, not deleted: the remote blob stays and gets the new data.
    (void)journal_.Remove(d);
    const CacheOptions* o = CacheOf(c);
    if (o && o->write_back) Schedule(JobKind::kWriteBack, c, b);
    return;
  }
  Schedule(JobKind::kCollect, c, b, old.remote_name);
}

Status CapacityTier::AfterWrite(const std::string& c, const std::string& b) {
  const CacheOptions* o = CacheOf(c);
  if (!o) return Status::Ok();
  {
    auto lock = store_->LockBlob(c, b);
    auto info = store_->Head(c, b);
    if (!info.ok()) {
      if (info.status().kind() != ErrorKind::kNotFound || o->write_back) return Status::Ok();
      lock.unlock();
      // Deleted, write-through: the remote blob goes before the answer
      // (the journaled clean-up would do it too, later).
      auto move = MoveLock(c, b, true);
      if (store_->Head(c, b).ok()) return Status::Ok();
      Status s = RemoteOf(c)->Delete(b);
      if (!s.ok()) c_.remote_errors++;
      return s.ok() || s.kind() == ErrorKind::kNotFound ? Status::Ok() : s;
    }
    // New properties or metadata over clean local data make it dirty (the
    // record says so, so a crash cannot lose the upload).
    if (info->has_record && info->rec.tier_state == TierState::kPremigrated) {
      ns::BlobRecord rec = info->rec;
      rec.tier_state = TierState::kHot;
      (void)store_->UpdateRecord(c, b, rec);
    } else if (info->has_record && info->rec.tier_state == TierState::kOffloaded &&
               info->rec.remote_name == b) {
      // New properties or metadata over a stub: the upload needs the data,
      // which comes first.
      lock.unlock();
      auto move = MoveLock(c, b, true);
      auto now = store_->Head(c, b);
      if (now.ok() && now->rec.tier_state == TierState::kOffloaded) {
        Status h = HydrateLocked(c, b, now->rec, nullptr);
        if (!h.ok()) return h;
      }
      auto relock = store_->LockBlob(c, b);
      auto again = store_->Head(c, b);
      if (again.ok() && again->rec.tier_state == TierState::kPremigrated) {
        ns::BlobRecord rec = again->rec;
        rec.tier_state = TierState::kHot;
        (void)store_->UpdateRecord(c, b, rec);
      }
    }
  }
  if (o->write_back) {
    Schedule(JobKind::kWriteBack, c, b);
    return Status::Ok();
  }
  return WriteBack(c, b);
}

Status CapacityTier::WriteBack(const std::string& c, const std::string& b) {
  auto move = MoveLock(c, b, true);
  return CacheUploadLocked(c, b);
}

Status CapacityTier::CacheUploadLocked(const std::string& c, const std::string& b) {
  RemoteClient* rc = RemoteOf(c);
  auto info = store_->Head(c, b);
  if (!info.ok()) return info.status().kind() == ErrorKind::kNotFound ? Status::Ok() : info.status();
  if (info->rec.blob_type != "BlockBlob" && info->rec.blob_type != "AppendBlob")
    return Status(ErrorKind::kInvalidArgument, "only block and append blobs are cached");
  ns::BlobRecord rec = info->rec;
  // The remote name this version replaces: its own, or (renamed here) another.
  const std::string old_name = info->has_record ? rec.remote_name : "";
  if (info->has_record && rec.tier_state != TierState::kHot) {
    if (old_name == b) return Status::Ok();  // clean
    // Renamed here from another name: its data comes from there first.
    if (rec.tier_state == TierState::kOffloaded)
      STRATA_RETURN_IF_ERROR(HydrateLocked(c, b, rec, nullptr));
    info = store_->Head(c, b);
    if (!info.ok()) return info.status();
    rec = info->rec;
  }
  auto f = store_->fs()->OpenRead(store_->BlobFilePath(c, b));
  if (!f.ok()) return f.status();
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  if (!SameFile(*st, info->st)) return Status(ErrorKind::kAlreadyExists, "the blob changed");
  auto sum = FileMd5(**f, st->size);
  if (!sum.ok()) return sum.status();
  const std::string md5 = *sum;
  RemoteBlobHeaders hdr = HeadersOf(rec, md5);
  // Only over the remote version this one replaced (or onto no blob).
  if (old_name == b && !rec.remote_etag.empty()) hdr.if_match = rec.remote_etag;
  else hdr.if_none_match_any = true;
  STRATA_CRASH_POINT("cache.upload.begin");
  RemoteProps props;
  Status up = rc->Upload(b, (*f)->fd(), st->size, hdr, &props);
  for (int round = 0; up.kind() == ErrorKind::kPathConflict && round < 3; ++round) {
    auto cur = rc->Head(b);
    if (cur.ok() && cur->size == st->size && cur->content_md5 == md5) {
      // This very version, uploaded before a crash kept it from being recorded.
      props = *cur;
      up = Status::Ok();
      break;
    }
    if (cur.ok()) {
      // A conflict: the remote changed while this write was pending. The
      // remote version is kept under another name, the local one takes b.
      std::string keep = ConflictName(b, cur->etag);
      RemoteProps kept;
      Status cs = rc->Copy(b, keep, cur->etag, &kept);
      if (!cs.ok() && cs.kind() != ErrorKind::kPathConflict) return cs;
      if (cs.ok()) {
        c_.conflicts++;
        NoteEvent("conflict", c, b, cur->size);
        LOG_WARN(
            "cache: %s/%s: CONFLICT: the remote blob changed while a local write was pending; "
            "the remote version is kept as %s, the local one takes the name\n",
            c.c_str(), b.c_str(), keep.c_str());
        {
          std::lock_guard<std::mutex> l(mu_);
          last_error_[c + "/" + b] = "conflict: remote version kept as " + keep;
        }
      }
      hdr.if_match = cur->etag;
      hdr.if_none_match_any = false;
    } else if (cur.status().kind() == ErrorKind::kNotFound) {
      hdr.if_match.clear();  // deleted there meanwhile: the local write stands
      hdr.if_none_match_any = true;
    } else {
      return cur.status();
    }
    up = rc->Upload(b, (*f)->fd(), st->size, hdr, &props);
  }
  if (!up.ok()) {
    c_.remote_errors++;
    return up;
  }
  STRATA_CRASH_POINT("cache.upload.uploaded");
  c_.uploads++;
  c_.upload_bytes += st->size;
  {
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (now.ok()) {
      ns::BlobRecord nrec = now->rec;
      bool same = now->rec.etag == rec.etag && SameFile(now->st, info->st);
      if (same || nrec.tier_state == TierState::kHot) {
        nrec.remote_name = b;
        nrec.remote_etag = props.etag;  // the base of the next upload when changed meanwhile
        if (same) {
          nrec.tier_state = TierState::kPremigrated;
          nrec.remote_md5 = md5;
          nrec.remote_size = st->size;
        }
        STRATA_RETURN_IF_ERROR(store_->UpdateRecord(c, b, nrec));
      }
    }
  }
  if (!old_name.empty() && old_name != b && !store_->Head(c, old_name).ok()) {
    // A rename here: the old remote name goes once the new one holds the data.
    Status d = rc->Delete(old_name);
    if (!d.ok()) NoteError(c, old_name, d);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- hydration

bool CapacityTier::Refresh(const std::string& c, const std::string& b, const ns::BlobRecord& rec) {
  if (rec.remote_name != b) return false;
  auto props = RemoteOf(c)->Head(b);
  if (!props.ok()) {
    if (props.status().kind() != ErrorKind::kNotFound) return false;
    return RemoveClean(c, b);  // gone there: gone here (if clean)
  }
  if (props->etag == rec.remote_etag) return false;  // same version: other bytes in transit
  const char* what = "";
  return ImportOne(c, b, *props, &what).ok() && std::string_view(what) == "updated";
}

Status CapacityTier::HydrateLocked(const std::string& c, const std::string& b,
                                   const ns::BlobRecord& rec, const RemoteSink& emit,
                                   std::shared_ptr<Hydration> pre) {
  // Followers find it in hydrating_ (registered already when `pre`).
  auto h = pre ? pre : std::make_shared<Hydration>();
  const std::string key = c + "/" + b;
  auto finish = [&](bool verified) {
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = hydrating_.find(key);
      if (it != hydrating_.end() && it->second == h) hydrating_.erase(it);
    }
    std::lock_guard<std::mutex> g(h->mu);
    h->done = true;
    h->verified = verified;
    h->cv.notify_all();
  };
  if (rec.tier_state != TierState::kOffloaded) {
    finish(false);
    return Status::Ok();
  }
  std::string temp = store_->NewTempPath(c);
  auto f = store_->fs()->OpenWrite(temp, true, true);
  if (!f.ok()) {
    finish(false);
    return f.status();
  }
  {
    std::lock_guard<std::mutex> g(h->mu);
    h->etag = rec.etag;
    h->size = rec.remote_size;
    h->fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (!pre) {
    std::lock_guard<std::mutex> l(mu_);
    hydrating_[key] = h;
  }
  STRATA_CRASH_POINT("cache.hydrate.begin");
  bool emitting = static_cast<bool>(emit);
  TailHolder tail(rec.remote_size, kVerifyHoldBack);
  uint64_t off = 0;
  Status io;
  bool damaged = false;
  Status s = ReadVerified(
      c, rec,
      [&](const char* d, size_t n) {
        io = (*f)->PWrite(d, n, off);
        if (!io.ok()) return false;
        off += n;
        {
          std::lock_guard<std::mutex> g(h->mu);
          h->written = off;
        }
        h->cv.notify_all();
        // A client gone stops the emitting, not the hydration.
        if (emitting) emitting = tail.Add(d, n, emit);
        return true;
      },
      &damaged);
  if (s.ok() && !io.ok()) s = io;
  if (s.ok() && opt_.sync) s = (*f)->Sync();
  f->reset();
  if (s.ok()) s = store_->fs()->SetMtime(temp, rec.last_modified);
  STRATA_CRASH_POINT("cache.hydrate.downloaded");
  if (s.ok()) {
    auto lock = store_->LockBlob(c, b);
    auto now = store_->Head(c, b);
    if (!now.ok() || now->rec.etag != rec.etag || now->rec.tier_state != TierState::kOffloaded) {
      s = now.ok() ? Status(ErrorKind::kAlreadyExists, "the blob changed during its hydration")
                   : now.status();
    } else {
      ns::BlobRecord nrec = now->rec;
      nrec.tier_state = TierState::kPremigrated;
      s = store_->ReplaceKeepingAttrs(c, b, temp, nrec);
    }
  }
  if (!s.ok()) {
    (void)store_->fs()->Unlink(temp);
    finish(false);
    if (damaged) {
      MarkDamaged(c, b, rec, s);
      if (Refresh(c, b, rec))
        return Status(ErrorKind::kBusy, "the remote blob changed since its import");
    }
    return s;
  }
  STRATA_CRASH_POINT("cache.hydrate.committed");
  if (emitting) (void)tail.Release(emit);
  finish(true);
  c_.hydrations++;
  c_.hydration_bytes += rec.remote_size;
  n_.recalls++;
  n_.recall_bytes += rec.remote_size;
  NoteEvent("hydrate", c, b, rec.remote_size);
  return Status::Ok();
}

Result<int> CapacityTier::CacheStartRead(const std::string& c, const std::string& b,
                                         const ns::BlobRecord& rec, uint64_t offset,
                                         uint64_t length) {
  const CacheOptions* o = CacheOf(c);
  bool whole = offset == 0 && length == rec.remote_size;
  // A read from the first byte starts a hydration and is served from it
  // (SDKs read large blobs as ranges from 0 on); a range elsewhere (a
  // footer, a random sample) is a ranged remote read, with the hydration
  // behind it.
  bool lead = whole || (offset == 0 && o && o->hydrate_on_range);
  auto job = [this, c, b, rec, offset, length, whole, lead, o](int wfd) {
    bool started = false;
    uint64_t sent = 0;
    auto emit = [&](const char* d, size_t n) {
      if (!started) {
        if (!WriteAll(wfd, &kStreamOk, 1)) return false;
        started = true;
      }
      if (n > length - sent) n = static_cast<size_t>(length - sent);
      sent += n;
      return WriteAll(wfd, d, n);
    };
    Status s;
    std::shared_ptr<Hydration> h, mine;
    {
      // A whole read registers its hydration before it tries the move
      // lock, so readers that come meanwhile follow it rather than read
      // through.
      std::lock_guard<std::mutex> l(mu_);
      auto it = hydrating_.find(c + "/" + b);
      if (it != hydrating_.end() && it->second->etag == rec.etag) {
        h = it->second;
      } else if (lead && it == hydrating_.end()) {
        mine = std::make_shared<Hydration>();
        mine->etag = rec.etag;
        mine->size = rec.remote_size;
        hydrating_[c + "/" + b] = mine;
      }
    }
    auto give_up = [&] {  // `mine` will not hydrate: its followers read through
      if (!mine) return;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = hydrating_.find(c + "/" + b);
        if (it != hydrating_.end() && it->second == mine) hydrating_.erase(it);
      }
      std::lock_guard<std::mutex> g(mine->mu);
      mine->done = true;
      mine->cv.notify_all();
    };
    bool through = true;  // read from the remote directly
    if (h) {
      // Follow the hydration under way: its staged file, as it grows.
      c_.shared_reads++;
      std::string buf(256 << 10, '\0');
      while (sent < length) {
        uint64_t avail = 0;
        bool done = false, verified = false;
        {
          std::unique_lock<std::mutex> g(h->mu);
          auto ready = [&] {
            uint64_t limit = h->verified || !whole ? h->written
                             : h->written + kVerifyHoldBack > h->size
                                 ? (h->size > kVerifyHoldBack ? h->size - kVerifyHoldBack : 0)
                                 : h->written;
            return h->done || std::min(limit, offset + length) > offset + sent;
          };
          if (!h->cv.wait_for(g, std::chrono::milliseconds(kFollowStallMs), ready)) break;
          done = h->done;
          verified = h->verified;
          uint64_t limit = verified || !whole ? h->written
                           : h->written + kVerifyHoldBack > h->size
                               ? (h->size > kVerifyHoldBack ? h->size - kVerifyHoldBack : 0)
                               : h->written;
          if (done && !verified) limit = 0;  // failed: nothing more from its file
          uint64_t end = std::min(limit, offset + length);
          avail = end > offset + sent ? end - (offset + sent) : 0;
        }
        if (avail == 0) {
          if (done) break;
          continue;
        }
        while (avail > 0) {
          size_t want = static_cast<size_t>(std::min<uint64_t>(avail, buf.size()));
          ssize_t n = ::pread(h->fd, buf.data(), want, static_cast<off_t>(offset + sent));
          if (n <= 0) {
            avail = 0;
            done = true;
            break;
          }
          if (!emit(buf.data(), static_cast<size_t>(n))) {
            s = Status(ErrorKind::kIo, "the client went away");
            break;
          }
          avail -= static_cast<uint64_t>(n);
        }
        if (!s.ok()) break;
      }
      through = sent == 0 && sent < length && s.ok();  // it failed before any byte: go direct
      if (!through && sent < length && s.ok()) s = Status(ErrorKind::kIo, "the hydration failed");
    } else if (lead) {
      {
        // The first reader hydrates while it streams, unless the blob is
        // already moving (another gateway): then it reads through.
        auto move = mine ? MoveLock(c, b, false) : ns::Coordination::Guard();
        if (move) {
          through = false;
          auto now = store_->Head(c, b);
          if (now.ok() && now->rec.etag == rec.etag && now->rec.tier_state == TierState::kOffloaded) {
            s = HydrateLocked(c, b, now->rec, emit, mine);
          } else {
            give_up();
            through = true;  // it changed meanwhile: read what this reader asked for
          }
        } else {
          give_up();
        }
      }
    }
    if (through && s.ok()) {
      bool damaged = false;
      s = ReadThrough(c, rec, offset, length, emit, &damaged);
      if (damaged) {
        MarkDamaged(c, b, rec, s);
        if (Refresh(c, b, rec)) s = Status(ErrorKind::kBusy, "the remote blob changed since its import");
      }
      // By policy, a ranged read brings the whole blob in behind it.
      if (s.ok() && !whole && !h && o && o->hydrate_on_range)
        Schedule(JobKind::kPrefetch, c, b, "", rec.etag);
    }
    if (!started) {
      // A remote version that changed since the import is busy, not an
      // error: the stub was refreshed, so a retry reads the new one.
      bool busy = s.kind() == ErrorKind::kBusy || s.kind() == ErrorKind::kAlreadyExists;
      char code = s.ok() ? kStreamOk : busy ? kStreamBusy : kStreamError;
      (void)WriteAll(wfd, &code, 1);
    }
    if (!s.ok()) {
      n_.failures++;
      c_.remote_errors++;
      LOG_WARN("cache: read %s/%s: %s\n", c.c_str(), b.c_str(), s.ToString().c_str());
    }
    n_.stream_bytes += sent;
    ::close(wfd);
  };
  auto fd = QueueRead(std::move(job));
  if (fd.ok()) {
    c_.miss_requests++;
    c_.miss_bytes += length;
  }
  return fd;
}

// ------------------------------------------------------------------ leader

void CapacityTier::CacheLeaderPass() {
  int64_t now = NowMs();
  for (const auto& [c, o] : caches_) {
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = revalidated_.find(c);
      if (it != revalidated_.end() && now - it->second < static_cast<int64_t>(o.revalidate_s) * 1000)
        continue;
      revalidated_[c] = now;
    }
    ImportStats st;
    Status s = Import(c, "", false, &st);
    if (!s.ok()) {
      LOG_WARN("cache: revalidating %s: %s\n", c.c_str(), s.ToString().c_str());
    } else {
      std::lock_guard<std::mutex> l(mu_);
      imported_at_[ImportKey(c, "", false)] = now;
    }
    if (st.created + st.updated + st.removed > 0)
      LOG_INFO("cache: %s revalidated: %llu new, %llu changed, %llu removed\n", c.c_str(),
               static_cast<unsigned long long>(st.created),
               static_cast<unsigned long long>(st.updated),
               static_cast<unsigned long long>(st.removed));
    // Dirty blobs (a write-back interrupted by a crash or a remote out of
    // reach, a file written through POSIX, a rename) get their upload.
    std::string marker;
    for (int page = 0; page < 1'000'000; ++page) {
      auto list = store_->List(c, "", "", marker, 5000);
      if (!list.ok()) break;
      for (const auto& item : list->items) {
        if (item.is_prefix || item.is_dir) continue;
        const ns::BlobRecord& rec = item.info.rec;
        if (!item.info.has_record || rec.tier_state == TierState::kHot ||
            rec.remote_name != item.name)
          Schedule(JobKind::kWriteBack, c, item.name);
      }
      if (list->next_marker.empty()) break;
      marker = list->next_marker;
    }
    std::lock_guard<std::mutex> l(mu_);
    revalidated_[c] = NowMs();
  }
}

}  // namespace strata::tier
