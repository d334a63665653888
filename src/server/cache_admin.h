// The operator side of cache mode (tier/capacity_tier.h, "Cache mode"):
// jobs that import, prefetch, evict and flush a cached container, run on
// their own threads and polled through the admin endpoints (admin.h,
// /cache/...), and the JSON that /cache/status and the status page show.
//
// Jobs (CacheJobs::Start):
//   import   PATH   lists the remote under PATH and merges it into the
//                   local namespace (stubs), page by page. The listing's
//                   marker is kept after each page in
//                   ROOT/.strata/cache/import-CONTAINER.marker (with the
//                   prefix it belongs to; written to a temporary file, then
//                   renamed): an import of the same prefix that finds it
//                   resumes there; it is removed when an import completes.
//   prefetch PATH   an import of PATH, then a hydration of every stub under
//                   it on `concurrency` threads, all of them under one
//                   bandwidth cap (TokenBucket; see there how precise).
//   evict    PATH   releases every hydrated clean blob under PATH back to a
//                   stub (dirty blobs are left alone).
//   flush    [C]    uploads every dirty blob of C (or of every cached
//                   container of the account) now.
// At most max_running jobs run at once (more: kBusy, 503), and one import
// or prefetch per container (another: kAlreadyExists, 409). Each job checks
// its stop flag between blobs (and between pages of a listing); the
// destructor stops and joins them all, so CacheJobs is destroyed before the
// tiers it uses stop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "ns/store.h"
#include "tier/capacity_tier.h"

namespace strata::server {

// ---- parameters ----

// A job's PATH: "CONTAINER" or "CONTAINER/PREFIX" (the prefix is used as
// given, "" for the whole container). kInvalidArgument: an empty path, an
// invalid container name, or a prefix longer than a blob name may be.
struct CachePath {
  std::string container, prefix;
};
Status ParseCachePath(std::string_view path, CachePath* out);

// A plain decimal integer (digits only, no sign, no spaces) in [lo, hi].
Status ParseBounded(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out);

// `url` without what may carry a secret: the query string (a SAS), the
// fragment and any user:password@. "" stays "".
std::string RedactUrl(std::string_view url);

// ---- bandwidth ----

// A token bucket over bytes, shared by the threads of one job. Reserve
// takes a blob's bytes at once (the bucket may go into debt) and says how
// long the caller waits before starting it, so reservations queue in the
// order they were made. Precision: the bytes *started* in any window of T
// seconds are at most rate*T + burst; since a blob is counted whole when it
// starts and then moves at whatever speed the remote gives, the transfer
// rate over windows shorter than (largest blob / rate) can exceed the cap,
// while the average over the whole job stays within it (plus one burst).
class TokenBucket {
 public:
  // rate 0: no cap (Reserve always answers 0). burst >= 1 (bytes).
  TokenBucket(uint64_t rate_bytes_per_sec, uint64_t burst_bytes);
  // Nanoseconds the caller waits (from now_ns) before its `bytes` start.
  int64_t Reserve(uint64_t bytes, int64_t now_ns);

 private:
  std::mutex mu_;
  uint64_t rate_;
  double burst_;
  double tokens_;
  int64_t last_ns_ = -1;
};

// ---- what a cached container holds locally ----

struct CacheStateCounts {
  uint64_t stub_blobs = 0, stub_bytes = 0;    // remote only (offloaded)
  uint64_t clean_blobs = 0, clean_bytes = 0;  // hydrated, equal to the remote (premigrated)
  uint64_t dirty_blobs = 0, dirty_bytes = 0;  // not yet uploaded (hot, renamed, POSIX)
  bool truncated = false;                     // the walk stopped at its bound
  // The last move errors of blobs that are not clean (at most kMaxErrors).
  static constexpr size_t kMaxErrors = 20;
  std::vector<std::pair<std::string, std::string>> errors;  // CONTAINER/BLOB, error
};
// Walks container c's local listing (at most max_entries entries).
CacheStateCounts WalkCacheStates(ns::Store* store, tier::CapacityTier* tier, const std::string& c,
                                 uint64_t max_entries = 5'000'000);

// Whether a listed blob of a cached container is dirty (to upload), a stub,
// or hydrated and clean.
bool CacheDirty(const ns::BlobInfo& info, const std::string& name);
bool CacheStub(const ns::BlobInfo& info);
bool CacheClean(const ns::BlobInfo& info, const std::string& name);

// One account's cache as /cache/status and the status page show it:
//   {"account", "counters": {...GetCacheCounters}, "containers": [{"name",
//    "remote" (no query string), "write_mode", "revalidate_s", "states":
//    {"stub"|"clean"|"dirty": {"blobs","bytes"}}, "remote_stats": {...},
//    "errors": [{path, error}]}], "recent": [{t, kind, path, bytes}]}
// `remotes`: container -> its remote URL (redacted here again).
nlohmann::json CacheStatusJson(const std::string& account, tier::CapacityTier* tier,
                               ns::Store* store, const std::map<std::string, std::string>& remotes);

// ---- jobs ----

enum class CacheJobKind { kImport, kPrefetch, kEvict, kFlush };
const char* CacheJobKindName(CacheJobKind k);

struct CacheJobSpec {
  CacheJobKind kind = CacheJobKind::kImport;
  std::string account;
  tier::CapacityTier* tier = nullptr;  // outlives the job (CacheJobs is destroyed first)
  ns::Store* store = nullptr;
  std::vector<std::string> containers;  // one, or (flush) several
  std::string prefix;
  int concurrency = 4;     // prefetch: 1..64
  uint64_t bandwidth = 0;  // prefetch: bytes/s, 0: no cap
};

class CacheJobs {
 public:
  static constexpr int kMaxRunning = 4;
  static constexpr size_t kMaxFailures = 100;  // failures listed per job (all are counted)
  static constexpr size_t kKeepFinished = 64;  // finished jobs whose progress stays

  explicit CacheJobs(int max_running = kMaxRunning);
  ~CacheJobs();  // Stop()
  CacheJobs(const CacheJobs&) = delete;
  CacheJobs& operator=(const CacheJobs&) = delete;

  // Starts a job: its id. kBusy: max_running jobs run; kAlreadyExists: an
  // import or prefetch of the same container runs; kBusy after Stop().
  Result<uint64_t> Start(CacheJobSpec spec);
  // A job's progress: {"id","kind","account","path","state" (running | done
  // | failed),"phase","import":{...},"blobs_total","blobs_done",
  // "blobs_failed","bytes_total","bytes_done","elapsed_s","failures":
  // [{path,error}],"failure_count","error"}. nullopt: no such job (or one
  // forgotten).
  std::optional<nlohmann::json> Progress(uint64_t id);
  // Asks every job to stop and joins them.
  void Stop();

 private:
  struct Job;
  void Run(Job* j);
  void RunImport(Job* j, const std::string& c, bool last_phase);
  // The blobs (container, name, size) a job works on.
  using Todo = std::vector<std::tuple<std::string, std::string, uint64_t>>;
  using Pick = std::function<bool(const ns::BlobInfo&, const std::string&)>;
  // A job's scan: the blobs of c under its prefix that `pick` wants, added
  // to `todo` and to its totals. False when it stopped or the walk failed
  // (then reported as the job's failure).
  bool Scan(Job* j, const std::string& c, const Pick& pick, Todo* todo);
  void RunPrefetch(Job* j);
  void RunEvict(Job* j);
  void RunFlush(Job* j);
  void Reap();  // joins finished jobs' threads, forgets the oldest ones

  int max_running_;
  std::mutex mu_;
  bool stopped_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;
};

}  // namespace strata::server
