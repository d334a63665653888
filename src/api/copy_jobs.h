// CopyJobs: the background half of an asynchronous Copy Blob.
//
// Copy Blob of a source at or above `threshold` bytes answers 202 with
// x-ms-copy-status: pending at once (copy_ops.cc): the destination becomes a
// zero-length blob carrying its new properties and metadata and the copy's
// id, status (pending) and progress, as Azure shows a blob being copied to.
// A job then copies the source on this runner's threads into a staged file
// and commits it atomically (new ETag, status success), or marks the
// destination failed with a description.
//
// State lives in the file system, so every gateway of a shared root sees it:
//   - the destination's record: copy id, status, progress (bytes/total);
//   - ROOT/.strata/copies/ID: a marker naming the destination and the staged
//     file, held with an OFD write lock by the process running the copy.
// A lock dies with its process, so a marker whose lock can be taken belongs
// to a copy that no one runs any more: Sweep() (at Start, then every
// `sweep_interval_s`, on every gateway) marks that destination failed and
// removes the staged file and the marker (invariant 4). A copy interrupted
// by a crash thus ends failed once any gateway of the root runs; it is not
// resumed (the client copies again, as after a failed copy on Azure).
//
// Copy Blob from another host (SubmitRemote) runs the same way, on a thread
// of its own for the length of its fetch (tier::UrlFetcher, under the same
// guard as every fetch, in a concurrency slot the request reserved before
// its 202): bytes go to the staged file as they arrive, the progress is
// written at least every `step` bytes and every second, and an abort ends
// the fetch within about a second, also while the source sends nothing.
//
// A job stops at its next step (at most `step` bytes) when the destination
// no longer carries its copy id as pending: aborted (Abort Copy Blob, on any
// gateway), overwritten or deleted. Its staged file and marker go with it.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "fs/fs.h"
#include "ns/record.h"
#include "ns/store.h"
#include "tier/url_fetch.h"

namespace strata::api {

struct CopyJobOptions {
  int threads = 2;                      // copies running at once; more wait
  uint64_t threshold = 256ull << 20;    // sources this large copy in the background
  uint64_t step = 64ull << 20;          // bytes copied between checks and progress updates
  int step_delay_ms = 0;                // tests only: a pause after each step
  int sweep_interval_s = 10;            // how often abandoned copies are looked for
};

// A copy about to start: what CopyJobs::Begin() reserved for it.
struct CopyTicket {
  ns::Store* store = nullptr;
  std::string c, b, id;
  std::string tmp;               // the staged file
  std::string marker_path;       // ROOT/.strata/copies/ID
  std::unique_ptr<File> marker;  // open and locked while the copy is ours
};

class CopyJobs {
 public:
  explicit CopyJobs(CopyJobOptions opt);
  ~CopyJobs();  // stops and joins; copies in flight end as after a crash
  CopyJobs(const CopyJobs&) = delete;
  CopyJobs& operator=(const CopyJobs&) = delete;

  const CopyJobOptions& options() const { return opt_; }

  // Sweeps the stores once, then starts the threads. `stores` outlive this.
  void Start(std::vector<ns::Store*> stores);
  // Adds a store opened later (an account added by a reload): swept once
  // now, then with the others. `store` outlives this.
  void AddStore(ns::Store* store);

  // Reserves a copy to destination (c, b) with id `id`: creates and locks
  // its marker and picks the staged file's path. Call before the
  // destination's placeholder is committed; null with `*err` on failure.
  std::unique_ptr<CopyTicket> Begin(ns::Store* store, const std::string& c, const std::string& b,
                                    const std::string& id, Status* err);
  // Queues the copy of `source` (`size` bytes) as the ticket's destination,
  // to be committed with `final_rec` (its ETag, times, lease and copy
  // status are set at the commit).
  void Submit(std::unique_ptr<CopyTicket> ticket, std::unique_ptr<File> source, uint64_t size,
              ns::BlobRecord final_rec);
  // What a copy from another host fetches. The headers carry no credential
  // of this server (the URL's own SAS, the version, source conditions).
  struct RemoteSource {
    const tier::UrlFetcher* fetcher = nullptr;
    std::unique_ptr<tier::FetchSlot> slot;  // reserved from `fetcher`
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    uint64_t max_bytes = 0;
    std::optional<uint64_t> size;  // as the source announced it, if it did
  };
  // Queues the fetch of `source` as the ticket's destination, committed
  // with `final_rec` (as Submit; its Content-MD5 is the source's, else the
  // digest of what arrived). A source that answers an error, sends less
  // than it announced or breaks off ends the copy failed, with the cause.
  void SubmitRemote(std::unique_ptr<CopyTicket> ticket, RemoteSource source,
                    ns::BlobRecord final_rec);
  // Drops a ticket whose copy did not start (removes its marker).
  void Cancel(std::unique_ptr<CopyTicket> ticket);
  // Hints that copy `id` was aborted (its record says so already), so a
  // job of this process stops without waiting for its next check.
  void Aborted(const std::string& id);

  // Ends the copies of `store` that no process runs any more (see above).
  // Returns how many it ended.
  size_t Sweep(ns::Store* store);

 private:
  struct Job;
  void Work();
  void Run(Job& job);
  void RunRemote(Job& job);
  // Commits the staged file as the destination if it still waits for this
  // copy, else leaves it (the caller removes it); marks it failed when the
  // commit fails.
  void Finish(Job& job, ns::BlobRecord rec);
  bool StillOurs(Job& job, ns::BlobInfo* info);
  void MarkFailed(ns::Store* store, const std::string& c, const std::string& b,
                  const std::string& id, const std::string& why);
  bool IsAborted(const std::string& id);
  bool Stopping();

  CopyJobOptions opt_;
  std::vector<ns::Store*> stores_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<std::unique_ptr<Job>> queue_;  // guarded by mu_
  // Ids aborted through this process: only a hint that stops a job before
  // its next check. The record is the truth, so an abort on another gateway
  // stops the job too, at that check.
  std::set<std::string> aborted_;  // guarded by mu_
  std::vector<std::thread> threads_;
  // Threads of copies from other hosts, one per copy; `done` is set as the
  // last thing each does, so a finished one is joined at the next submit.
  struct RemoteThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<RemoteThread> remote_;  // guarded by mu_
  std::thread sweeper_;
};

}  // namespace strata::api
