// `strata cache status|import|prefetch|evict|flush [PATH]`: cache mode's
// command line, a client of a running server's admin endpoints (/cache/...,
// see admin.h and cache_admin.h). PATH is CONTAINER or CONTAINER/PREFIX.
// A job is started, then polled until it ends (a progress bar on stdout when
// it is a terminal: blobs, MiB, MiB/s), and summed up with every failure
// (path and error). Exit codes: 0 when everything asked for succeeded, 1
// when something failed (or the wait timed out), 2 on usage errors, 3 when
// the server cannot be reached.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace strata::server {

struct CacheCliOptions {
  std::string verb;   // status | import | prefetch | evict | flush
  std::string path;   // CONTAINER[/PREFIX]; optional for status and flush
  std::string admin;  // http://127.0.0.1:PORT
  std::string account;                // "" = the default account
  std::optional<int> concurrency;     // prefetch: 1..64
  std::optional<uint64_t> bandwidth;  // prefetch: bytes/s (0: no cap)
  int timeout_s = 86400;
  bool wait = true;
};

int RunCacheCli(const CacheCliOptions& o);

// ---- pieces (unit-tested) ----

// One line of progress for a job's JSON (/cache/job), e.g.
// "prefetch  [#####.....] 3/10 blobs, 1.5/5.0 MiB, 2.0 MiB/s".
std::string CacheProgressLine(const nlohmann::json& job);
// The summary printed when a job ended (or the wait gave up): lines.
std::string CacheJobSummary(const nlohmann::json& job);
// 0 when the job is done without failures, else 1.
int CacheJobExitCode(const nlohmann::json& job);

}  // namespace strata::server
