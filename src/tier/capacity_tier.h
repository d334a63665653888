// CapacityTier: moves the data of blobs between the local namespace and a
// remote Azure Blob container, one per account (see DESIGN.md, "Capacity
// tier").
//
// States (BlobRecord::tier_state): hot (local only) -> premigrated (local +
// verified remote copy) -> offloaded (a sparse stub keeps size, mtime,
// properties and ETag; the data is remote) -> archived (the remote copy is
// in the Archive tier). Recall goes back to hot.
//
// Offload: upload, verify (length + MD5 of the remote copy as read back),
// record premigrated, release the local data, record offloaded. Recall:
// download into ROOT/.strata/tmp, verify, rename over the stub keeping the
// record (same ETag), delete the remote copy. Each step is journaled in
// ROOT/.strata/journal/GATEWAY-ID (OffloadJournal) and idempotent. Local
// data is released only after the remote copy is verified, and a remote
// copy is deleted only once no record points to it (invariant 3).
//
// Several gateways on one root: a move of a blob (offload, recall,
// prefetch, the clean-up of its stale copy) holds the blob's move lock
// (Coordination kMove, "C\0B") from start to end, so no two gateways move
// one blob at once. One gateway, the holder of the kRole lock
// "tier-leader" (taken for the process' life; the others try every
// leader_poll_ms), is the tier leader: only it runs the policy and
// watermark passes (TierScheduler asks leader()), and it replays the
// journal of every gateway that died (its registration is free) and the
// entries an older strata left directly in ROOT/.strata/journal, each entry
// under its blob's move lock, resuming or rolling back what a crash
// interrupted, then removes that gateway's journal. A gateway that starts
// alone becomes leader at once and replays before it serves.
// ROOT/.strata/tier/leader names the leader that took over last.
//
// Every read of a remote copy (streaming reads, recall, verify) is
// conditional on the remote ETag recorded at offload (If-Match), and a full
// read is checked against the recorded length and MD5 as it streams. A
// remote copy that changed, vanished or holds other bytes is damage: its
// bytes are never served or recalled, the record is marked remote_damaged
// (logged once per blob, counted), and reads answer 500 InternalError.
//
// Threading: all public methods are thread-safe. Offloads and recalls run
// on a small pool of transfer workers (Schedule) or on the caller's thread
// (Offload/Recall); moves of one blob are serialized across the gateways. Reads of
// offloaded data run on a separate pool of read workers and reach the
// caller through a pipe, so no I/O thread ever waits on the remote.
//
// Cache mode (AddCache; README, "Cache mode"): a container that fronts an
// existing remote container, blob for blob under the same names (no
// prefix). The remote is the source of truth and its copies are never
// deleted by strata except to propagate a local delete. The same states
// mean:
//   offloaded    a stub imported from the remote listing: the remote's size,
//                ETag, Last-Modified, content headers and metadata; no data
//   premigrated  hydrated: local data equal to the remote copy (clean);
//                eviction releases it back to a stub
//   hot          dirty: written locally, not yet uploaded. Its record keeps
//                the remote ETag its write replaced (remote_etag, the
//                condition of the upload), so a remote changed meanwhile is
//                a conflict: the remote version is copied to
//                NAME.conflict-REMOTEETAG on the remote (and so appears in
//                the namespace), then the local version takes the name.
// Reads of a stub hydrate it: the first reader downloads into staging
// while it streams (the tail held until length and MD5 verify), readers
// that come meanwhile follow the staged file, and the verified file
// replaces the stub. Writes are uploaded before the answer (write_through)
// or by the workers (write_back; a hot record in a cached container is the
// crash-safe intent: the leader finds them again at start and every
// revalidation). Imports list the remote (paginated) and merge: new names
// become stubs, changed clean ones new stubs, clean ones the remote lost
// are removed; dirty ones are left to their upload.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "ns/store.h"
#include "tier/journal.h"
#include "tier/remote.h"

namespace strata::tier {

struct TierOptions {
  std::string prefix;  // remote names are PREFIX/CONTAINER/BLOB ("": CONTAINER/BLOB)
  int transfer_workers = 2;
  int read_workers = 8;
  size_t max_pending_reads = 64;  // more streaming reads waiting: 503 ServerBusy
  bool sync = true;               // fsync journal entries and recalled files
  // Verify an upload by reading the remote copy back and hashing it (true),
  // or by the length and MD5 the remote reports (false).
  bool verify_readback = true;
  // "container/prefix" entries whose blobs never move.
  std::vector<std::string> pinned;
  int retry_delay_ms = 2000;  // a job that met an unreachable remote waits this
  // Non-leaders try to become the tier leader this often; the leader looks
  // for the journals of dead gateways this often.
  int leader_poll_ms = 1000;
  // Raised by one while Start() replays journals (readiness: server::Health).
  std::atomic<int>* replaying = nullptr;
};

// What a streaming read's producer writes first into the pipe.
inline constexpr char kStreamOk = 'K';     // the body follows
inline constexpr char kStreamBusy = 'B';   // remote unreachable: 503 ServerBusy
inline constexpr char kStreamError = 'E';  // any other failure: 500

class CapacityTier {
 public:
  // `store` and `remote` outlive the tier.
  CapacityTier(ns::Store* store, RemoteClient* remote, TierOptions options);
  ~CapacityTier();  // Stop()s

  // Makes this gateway's journal, registers the store's remote-reference
  // hook, tries to become the leader (which then replays the journals that
  // dead gateways left before this returns) and starts the workers and the
  // leader's thread.
  Status Start();
  // Stops the workers after their current job and gives up leadership;
  // queued jobs stay journaled only if they had begun (the rest are simply
  // dropped).
  void Stop();

  // ---- the leader ----
  // Whether this gateway is the tier leader (it stays so until it stops).
  bool leader() const { return leader_.load(); }
  // This gateway's id (its journal is ROOT/.strata/journal/ID).
  const std::string& id() const { return id_; }
  struct LeaderInfo {
    std::string id;      // "" when no gateway has led yet
    bool alive = false;  // that gateway runs (a dead one's successor takes over soon)
    bool self = false;   // it is this gateway
  };
  // The leader, as ROOT/.strata/tier/leader names it.
  LeaderInfo Leader();

  // ---- synchronous moves (transfer workers, the CLI, tests) ----
  // Moves blob b's data to the remote and releases it locally; `tier` is
  // the access tier recorded (Cool | Cold | Archive; Archive also sets the
  // remote blob's tier). Ok when already there. kBusy: remote unreachable
  // (nothing lost, retry later); kPermission: pinned; kInvalidArgument: not
  // a block blob; kAlreadyExists: the blob changed meanwhile (left hot).
  // With `if_etag`, only while the blob still has that ETag.
  Status Offload(const std::string& c, const std::string& b, const std::string& tier,
                 const std::string& if_etag = "");
  // Brings blob b's data back: state hot (remote copy deleted), or
  // premigrated with `keep_remote`. From archived, first rehydrates the
  // remote copy (kBusy "rehydrating" until the remote finished). kIo: the
  // remote copy failed verification (the stub is kept, nothing changes).
  Status Recall(const std::string& c, const std::string& b, bool keep_remote = false,
                const std::string& if_etag = "");
  // Reads the remote copy of b (If-Match its recorded ETag) and checks its
  // length and MD5 against the record. Ok for hot blobs (nothing to
  // verify). kIo "failed verification": the copy changed, is gone or holds
  // other bytes; the record is then marked remote_damaged. A pass clears
  // the mark.
  Status Verify(const std::string& c, const std::string& b);

  // ---- asynchronous moves ----
  // kPrefetch: a recall that keeps the remote copy (premigrated).
  // kCollect (internal): delete a stale remote copy; `tier` holds its name.
  // kWriteBack (cache mode): upload a dirty blob.
  enum class JobKind { kOffload, kRecall, kPrefetch, kCollect, kWriteBack };
  // Queues a move of blob b (a later request for the same blob replaces a
  // queued one). Jobs that meet an unreachable remote are retried after
  // retry_delay_ms until they succeed or fail otherwise.
  // `etag`: the move applies only while the blob has this ETag.
  // `from_pass`: asked by a policy or watermark pass, so dropped when
  // another gateway is moving the blob (the next pass looks again); an
  // explicit request waits for that move to end, then runs.
  void Schedule(JobKind kind, const std::string& c, const std::string& b,
                const std::string& tier = "", const std::string& etag = "", bool from_pass = false);
  // Waits until no job is queued or running (bounded by `timeout_ms`).
  bool WaitIdle(int timeout_ms);

  // ---- reads ----
  // Starts streaming bytes [offset, offset+length) of the remote copy that
  // `rec` (the record of blob b of container c) names into a pipe and
  // returns its read end (non-blocking, owned by the caller). The producer
  // writes kStreamOk then exactly `length` bytes, or one error byte
  // (kStreamBusy / kStreamError) if it failed before the first byte; a
  // failure later closes the pipe early. kBusy when too many reads are
  // waiting. REQUIRES: length > 0.
  //
  // The remote read is conditional on rec.remote_etag. A read of the whole
  // blob is hashed as it streams and its last kVerifyHoldBack bytes are held
  // until length and MD5 match the record: a blob up to that size is
  // verified before the first byte (a mismatch is kStreamError), a larger
  // one closes the pipe before its last bytes (the client sees a body
  // shorter than its Content-Length, never a complete wrong one).
  Result<int> StartRead(const std::string& c, const std::string& b, const ns::BlobRecord& rec,
                        uint64_t offset, uint64_t length);
  static constexpr size_t kVerifyHoldBack = 1 << 20;

  // A Get Blob read blob b's data from the remote: queues a recall when
  // the recall-on-read rule (the policy's enableAutoTierToHotFromCool) says
  // so. Set the rule once, before serving.
  using RecallOnRead =
      std::function<bool(const std::string& c, const std::string& b, const ns::BlobRecord& rec)>;
  void SetRecallOnRead(RecallOnRead fn) { recall_on_read_ = std::move(fn); }
  void NoteRemoteRead(const std::string& c, const std::string& b, const ns::BlobRecord& rec);

  bool Pinned(const std::string& c, const std::string& b) const;
  std::string RemoteName(const std::string& c, const std::string& b) const;
  // The remote client of container c: its cache's, else the tier's (null
  // when the account has cached containers but no capacity tier).
  RemoteClient* RemoteOf(const std::string& c) const {
    auto it = caches_.find(c);
    return it == caches_.end() ? remote_ : it->second.remote;
  }

  // ---- cache mode ----
  struct CacheOptions {
    RemoteClient* remote = nullptr;  // the remote container, outlives the tier
    bool write_back = false;         // else write_through
    int revalidate_s = 60;
    bool hydrate_on_range = true;
  };
  // Makes container c a cache of `o.remote`. Before Start().
  void AddCache(const std::string& c, CacheOptions o);
  bool Cached(const std::string& c) const { return caches_.count(c) > 0; }
  const CacheOptions* CacheOf(const std::string& c) const {
    auto it = caches_.find(c);
    return it == caches_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> CachedContainers() const;
  struct ImportStats {
    uint64_t pages = 0, listed = 0, created = 0, updated = 0, removed = 0, skipped = 0;
    uint64_t dirs = 0;
  };
  // Imports the remote's blobs under `prefix` (all of them, or with
  // `one_level` those directly under it and its subdirectories as
  // directories), page by page from `*marker` (updated after each page, ""
  // when done: an interrupted import resumes from it). `progress` is called
  // after each page; false stops. kBusy: the remote is out of reach.
  Status Import(const std::string& c, const std::string& prefix, bool one_level,
                ImportStats* stats, std::string* marker = nullptr,
                const std::function<bool(const ImportStats&)>& progress = {});
  // Before a listing of (prefix, one_level): imports it unless an import
  // that covers it ran within revalidate_s. A remote out of reach leaves
  // the local view (logged, counted).
  void EnsureListed(const std::string& c, const std::string& prefix, bool one_level);
  // Before a request naming blob b: without a local entry, looks b up on
  // the remote and imports it (a remote out of reach: kBusy). With
  // `revalidate_stub` (a read), a stub is first checked against the remote
  // blob and follows it (a new stub, or none) if it changed since its
  // import; a remote out of reach then changes nothing.
  Status EnsureImported(const std::string& c, const std::string& b, bool revalidate_stub = false);
  // A write route changed blob b: write_through uploads it now (kBusy:
  // the remote out of reach; the blob stays dirty and is retried), write_back
  // queues the upload.
  Status AfterWrite(const std::string& c, const std::string& b);
  // Uploads blob b if dirty (handles conflicts). Takes the move lock.
  Status WriteBack(const std::string& c, const std::string& b);
  // Hydrates blob b (a stub) now: Ok when already local.
  Status Hydrate(const std::string& c, const std::string& b) { return Recall(c, b, true); }
  struct CacheCounters {
    uint64_t hit_requests = 0, hit_bytes = 0, miss_requests = 0, miss_bytes = 0;
    uint64_t hydrations = 0, hydration_bytes = 0, shared_reads = 0;
    uint64_t uploads = 0, upload_bytes = 0, conflicts = 0, remote_errors = 0;
    uint64_t imported = 0, evictions = 0, dirty = 0;
  };
  CacheCounters GetCacheCounters();
  // A read of cached blob b served from local data (`bytes` long).
  void NoteCacheHit(uint64_t bytes) {
    c_.hit_requests++;
    c_.hit_bytes += bytes;
  }

  // ---- observability ----
  struct Counters {
    uint64_t offloads = 0, recalls = 0, offload_bytes = 0, recall_bytes = 0;
    uint64_t stream_reads = 0, stream_bytes = 0, remote_deletes = 0;
    uint64_t failures = 0, verify_failures = 0;
    uint64_t damaged = 0;  // times a blob's remote copy was newly found damaged
    uint64_t queue_depth = 0, pending_reads = 0, journal_entries = 0;
  };
  Counters GetCounters();
  // The last failure of a move of blob b ("" when none since it last moved).
  std::string LastError(const std::string& c, const std::string& b);
  // The latest finished moves and damage found (newest last, at most
  // kRecentEvents), for the status page.
  struct Event {
    TimeNs at = 0;
    const char* kind = "";  // "offload" | "recall" | "damaged"
    std::string path;       // CONTAINER/BLOB
    uint64_t bytes = 0;
  };
  static constexpr size_t kRecentEvents = 50;
  std::vector<Event> RecentEvents();
  RemoteClient* remote() { return remote_; }
  ns::Store* store() { return store_; }

 private:
  struct Job {
    JobKind kind;
    std::string c, b, tier, etag;
    int64_t not_before_ms = 0;
    bool from_pass = false;
  };
  // The cross-gateway lock of blob b's moves (see the top of this file).
  ns::Coordination::Guard MoveLock(const std::string& c, const std::string& b, bool wait);
  // Offload and Recall with the move lock held.
  Status OffloadLocked(const std::string& c, const std::string& b, const std::string& tier,
                       const std::string& if_etag);
  Status RecallLocked(const std::string& c, const std::string& b, bool keep_remote,
                      const std::string& if_etag);
  // Replays entry e of a dead gateway's journal `from`: does the local
  // steps now, queues the remote ones (journaled in this gateway's journal)
  // and removes e from `from` once nothing of it is left there to do.
  // REQUIRES: e's move lock held.
  void Replay(const JournalEntry& e, OffloadJournal& from);
  // The leader's recovery: replays the journals of dead gateways and the
  // entries of an older strata's flat journal, removing what is done.
  void RecoverDead();
  // Replays the entries of `j` whose move lock is free; true when none
  // is left (unreadable ones count as left).
  bool RecoverJournal(OffloadJournal& j);
  void TryLead();
  void LeaderLoop();
  // Deletes the remote copy `name` unless the record of (c, b) still points
  // to it; then drops the journal entry. REQUIRES: the move lock of (c, b).
  void CollectRemote(const JournalEntry& e);
  void OnRemoteRef(const std::string& c, const std::string& b, const ns::BlobRecord& old,
                   bool done);
  // Steps of an offload, from the record premigrated on (also replay, with
  // `from` the dead gateway's journal that holds e; else this one's).
  Status FinishOffload(JournalEntry e, OffloadJournal* from = nullptr);
  Status Upload(const std::string& c, const std::string& b, const ns::BlobInfo& info,
                const std::string& name, RemoteProps* props, std::string* md5);
  Status DownloadVerified(const std::string& c, const std::string& b, const ns::BlobRecord& rec,
                          const std::string& path);
  // Reads the whole remote copy that `rec` names, If-Match its recorded
  // ETag, into `sink`, then checks length and MD5 against the record. On a
  // failure, *damaged says whether it is damage (the copy changed, is gone,
  // or holds other bytes) rather than a remote that could not be reached.
  Status ReadVerified(const std::string& c, const ns::BlobRecord& rec, const RemoteSink& sink,
                      bool* damaged);
  // Records that the remote copy `rec` names is damaged: counts it, marks
  // the record (if it is still that blob's, and not marked yet) and logs
  // once per blob. Takes LockBlob(c, b).
  void MarkDamaged(const std::string& c, const std::string& b, const ns::BlobRecord& rec,
                   const Status& why);
  // Clears the mark after the copy verified again. Takes LockBlob(c, b).
  void ClearDamaged(const std::string& c, const std::string& b, const ns::BlobRecord& rec);
  void TransferLoop();
  void ReadLoop();
  // A pipe whose write end `produce` gets on a read worker (and closes);
  // its read end (non-blocking) for the caller. kBusy: too many waiting.
  Result<int> QueueRead(std::function<void(int)> produce);
  // Streams bytes [offset, offset+length) of the remote copy `rec` names to
  // `emit`, If-Match its ETag; the whole blob is verified as it streams,
  // its last kVerifyHoldBack bytes held until it passed. *damaged: the copy
  // is not what `rec` recorded (changed, gone, other bytes).
  Status ReadThrough(const std::string& c, const ns::BlobRecord& rec, uint64_t offset,
                     uint64_t length, const RemoteSink& emit, bool* damaged);

  // ---- cache mode (cache.cc) ----
  // A hydration in progress on this gateway: its staged file grows while
  // followers read it (see the top of this file).
  struct Hydration {
    std::mutex mu;
    std::condition_variable cv;
    std::string etag;      // the blob version being hydrated
    int fd = -1;           // the staged file, for reading (closed by the last owner)
    uint64_t size = 0;     // the remote size expected
    uint64_t written = 0;  // bytes staged so far
    bool done = false;
    bool verified = false;  // done with every byte verified (and committed)
    ~Hydration();
  };
  Status CacheUploadLocked(const std::string& c, const std::string& b);
  // Hydration of a stub under its move lock; `emit` (optional) receives the
  // bytes as they arrive, the last kVerifyHoldBack only once verified, and
  // may say stop (the hydration goes on).
  Status HydrateLocked(const std::string& c, const std::string& b, const ns::BlobRecord& rec,
                       const RemoteSink& emit, std::shared_ptr<Hydration> pre = nullptr);
  Result<int> CacheStartRead(const std::string& c, const std::string& b, const ns::BlobRecord& rec,
                             uint64_t offset, uint64_t length);
  // Creates or refreshes the stub of remote blob `name`; *what: created,
  // updated, unchanged, skipped. Takes LockBlob.
  Status ImportOne(const std::string& c, const std::string& name, const RemoteProps& props,
                   const char** what);
  // Removes local entry b if clean (its data equal to a remote copy that is
  // gone). Takes the move lock and LockBlob.
  bool RemoveClean(const std::string& c, const std::string& b);
  // After a read of stub b met another version than `rec` names: follows
  // the remote (a new stub, or none). True when the stub changed.
  bool Refresh(const std::string& c, const std::string& b, const ns::BlobRecord& rec);
  // The leader's cache duties: re-import every cached container once
  // revalidate_s passed, and queue the upload of every dirty blob.
  void CacheLeaderPass();
  void OnCacheRemoteRef(const std::string& c, const std::string& b, const ns::BlobRecord& old,
                        bool done);
  std::map<std::string, CacheOptions> caches_;  // set before Start
  std::map<std::string, std::shared_ptr<Hydration>> hydrating_;  // c/b, with mu_
  // When an import covering (c, prefix, one_level) last ended: only saves
  // remote listings (another gateway's import makes none of it wrong).
  std::map<std::string, int64_t> imported_at_;  // with mu_
  std::map<std::string, int64_t> revalidated_;  // c -> the leader's last full import (ms)
  struct CacheAtomics {
    std::atomic<uint64_t> hit_requests{0}, hit_bytes{0}, miss_requests{0}, miss_bytes{0};
    std::atomic<uint64_t> hydrations{0}, hydration_bytes{0}, shared_reads{0};
    std::atomic<uint64_t> uploads{0}, upload_bytes{0}, conflicts{0}, remote_errors{0};
    std::atomic<uint64_t> imported{0}, evictions{0};
  } c_;
  void NoteError(const std::string& c, const std::string& b, const Status& s);

  ns::Store* store_;
  RemoteClient* remote_;
  TierOptions opt_;
  std::string id_;
  std::string journal_root_;  // ROOT/.strata/journal
  OffloadJournal journal_;    // journal_root_/ID
  bool started_ = false;

  // The leader lock, held from the moment it is won until Stop().
  ns::Coordination::Guard leader_lock_;
  std::atomic<bool> leader_{false};
  std::thread leader_thread_;
  std::condition_variable leader_cv_;   // with mu_: wakes the leader thread to stop
  std::set<std::string> reported_bad_;  // unreadable entries logged (leader thread)

  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Job> jobs_;
  std::map<std::string, size_t> queued_;  // c/b -> queued jobs for it
  int running_ = 0;
  bool stop_ = false;
  bool stopped_ = false;  // Stop() ran
  std::deque<std::function<void()>> reads_;
  std::condition_variable read_cv_;
  std::vector<std::thread> threads_;
  std::map<std::string, std::string> last_error_;
  void NoteEvent(const char* kind, const std::string& c, const std::string& b, uint64_t bytes);
  std::deque<Event> events_;  // with mu_
  RecallOnRead recall_on_read_;

  struct AtomicCounters {
    std::atomic<uint64_t> offloads{0}, recalls{0}, offload_bytes{0}, recall_bytes{0};
    std::atomic<uint64_t> stream_reads{0}, stream_bytes{0}, remote_deletes{0};
    std::atomic<uint64_t> failures{0}, verify_failures{0}, damaged{0};
  } n_;
};

// The access tier a blob reports (x-ms-access-tier), and whether it is
// inferred: the record's tier, or Hot.
std::string StateName(ns::BlobRecord::TierState s);

}  // namespace strata::tier
