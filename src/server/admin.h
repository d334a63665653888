// AdminHandler: strata's operator endpoints on their own listener
// (--admin-port, loopback by default; no authentication, like a Prometheus
// exporter, so never expose it beyond the host):
//
//   GET  /metrics                    Prometheus text: capacity-tier counters
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

#include <string>
#include <vector>

#include "http/server.h"
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

class AdminHandler : public http::Handler {
 public:
  explicit AdminHandler(std::vector<AdminAccount> accounts) : accounts_(std::move(accounts)) {}
  std::optional<http::Response> Prepare(http::Request& req, http::BodyPlan* plan) override;
  http::Response Handle(http::Request& req) override;
  http::Response Fail(http::Failure kind, const http::Request* req, const Status& detail) override;

  std::string Metrics();

 private:
  http::Response Tier(http::Request& req, const std::string& verb);
  std::vector<AdminAccount> accounts_;
};

}  // namespace strata::server
