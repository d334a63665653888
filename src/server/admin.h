// AdminHandler: strata's operator endpoints on their own listener
// (--admin-port, loopback by default; no authentication, like a Prometheus
// exporter, so never expose it beyond the host):
//
//   GET  /metrics                    Prometheus text: the data path's requests,
//                                    connections and errors, and the
//                                    capacity tier's counters
//   GET  /healthz                    200 while the process runs
//   GET  /readyz                     200 while serving; 503 while starting
//                                    (journal replay) or draining
//   GET  / or /status                the status page (HTML, self-contained)
//   GET  /status/history.json        samples of throughput, latency, errors
//   GET  /status/tier.json           the capacity tier per account
//   GET  /tier/status?path=C/P       one JSON object per blob under C/P
//   POST /tier/offload?path=C/P[&tier=Cool|Cold|Archive]   queue offloads
//   POST /tier/recall?path=C/P       queue recalls
//   POST /tier/verify?path=C/P       check remote copies (length + MD5)
//   GET  /tier/leader                {"leader": ID, "alive", "self", "gateway": this ID}
//   POST /tier/pass                  run a policy and watermark pass now: 202
//                                    on the tier leader; 409 naming the
//                                    leader on any other gateway
//   GET  /cache/status               the account's cached containers: remote
//                                    URL (never its query string), write
//                                    mode, blobs and bytes per state, the
//                                    cache counters, recent events, errors
//   POST /cache/import?path=C[/P]    start a cache job (cache_admin.h):
//   POST /cache/prefetch?path=C[/P][&concurrency=1..64][&bandwidth=BYTES/s]
//   POST /cache/evict?path=C[/P]     202 {"job": ID}; 409 when C is not
//   POST /cache/flush[?path=C[/P]]   cached or an import of C runs; 503 when
//                                    4 jobs run
//   GET  /cache/job?id=ID            a job's progress (JSON)
//
// `path` is CONTAINER/BLOB or CONTAINER/PREFIX (every blob under it);
// `account=NAME` picks an account other than the default. Bodies are JSON
// lines. Verify runs on the admin listener's thread, so a long verify holds
// only the admin port, never the Blob API.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http/server.h"
#include "server/access_log.h"
#include "server/cache_admin.h"
#include "server/health.h"
#include "server/metrics.h"
#include "ns/store.h"
#include "tier/capacity_tier.h"
#include "tier/scheduler.h"

namespace strata::server {

struct AdminAccount {
  std::string name;
  ns::Store* store = nullptr;
  tier::CapacityTier* tier = nullptr;  // null without a capacity tier
  tier::TierScheduler* scheduler = nullptr;
  // Cached containers -> their remote URL (shown without its query string).
  std::map<std::string, std::string> cache_remotes;
};

// What the operator endpoints report beyond the accounts (each may be null).
struct AdminSources {
  const Health* health = nullptr;
  const RequestMetrics* metrics = nullptr;
  const MetricsHistory* history = nullptr;
  std::function<http::ServerStats()> server_stats;  // the data path's server
  const AccessLog* access_log = nullptr;
};

class AdminHandler : public http::Handler {
 public:
  explicit AdminHandler(std::vector<AdminAccount> accounts, AdminSources sources = {})
      : accounts_(std::move(accounts)), sources_(std::move(sources)) {}
  // The accounts, once their stores and tiers are up (the admin listener
  // may serve /healthz and /readyz before). Until then /tier/* answers 503.
  void SetAccounts(std::vector<AdminAccount> accounts);
  // The cache jobs (null: none, /cache/* jobs answer 503). Waits for a
  // /cache/ request being answered, so the jobs may go once this returns.
  void SetCacheJobs(CacheJobs* jobs);
  // The data path's server stats, once it exists.
  void SetServerStats(std::function<http::ServerStats()> fn);
  std::optional<http::Response> Prepare(http::Request& req, http::BodyPlan* plan) override;
  http::Response Handle(http::Request& req) override;
  http::Response Fail(http::Failure kind, const http::Request* req, const Status& detail) override;

  std::string Metrics();

 private:
  http::Response Tier(http::Request& req, const std::string& verb);
  std::string TierJson();
  http::Response Cache(http::Request& req, const std::string& verb);
  // An account's CacheStatusJson, reused for up to 5 s (the page polls).
  nlohmann::json CacheJsonCached(const AdminAccount& a);
  std::vector<AdminAccount> Accounts();
  std::mutex mu_;  // accounts_ and sources_.server_stats (set while serving)
  bool accounts_set_ = true;
  std::vector<AdminAccount> accounts_;
  AdminSources sources_;
  std::mutex cache_mu_;  // held while a /cache/ request uses cache_jobs_
  CacheJobs* cache_jobs_ = nullptr;
  std::mutex cache_json_mu_;
  std::map<std::string, std::pair<int64_t, nlohmann::json>> cache_json_;  // account -> (ms, json)
};

}  // namespace strata::server
