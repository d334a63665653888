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
//
// `path` is CONTAINER/BLOB or CONTAINER/PREFIX (every blob under it);
// `account=NAME` picks an account other than the default. Bodies are JSON
// lines. Verify runs on the admin listener's thread, so a long verify holds
// only the admin port, never the Blob API.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "http/server.h"
#include "server/access_log.h"
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
  // The data path's server stats, once it exists.
  void SetServerStats(std::function<http::ServerStats()> fn);
  std::optional<http::Response> Prepare(http::Request& req, http::BodyPlan* plan) override;
  http::Response Handle(http::Request& req) override;
  http::Response Fail(http::Failure kind, const http::Request* req, const Status& detail) override;

  std::string Metrics();

 private:
  http::Response Tier(http::Request& req, const std::string& verb);
  std::string TierJson();
  std::vector<AdminAccount> Accounts();
  std::mutex mu_;  // accounts_ and sources_.server_stats (set while serving)
  bool accounts_set_ = true;
  std::vector<AdminAccount> accounts_;
  AdminSources sources_;
};

}  // namespace strata::server
