// ObservedHandler: an http::Handler that forwards to another and reports
// each finished request (Completed) to the metrics and the access log.
#pragma once

#include "http/server.h"
#include "server/access_log.h"
#include "server/metrics.h"

namespace strata::server {

class ObservedHandler : public http::Handler {
 public:
  // `inner` and `metrics` outlive this; `log` may be null (no access log)
  // and may be set before serving only.
  ObservedHandler(http::Handler* inner, RequestMetrics* metrics, AccessLog* log)
      : inner_(inner), metrics_(metrics), log_(log) {}
  std::optional<http::Response> Prepare(http::Request& req, http::BodyPlan* plan) override {
    return inner_->Prepare(req, plan);
  }
  http::Response Handle(http::Request& req) override { return inner_->Handle(req); }
  http::Response Fail(http::Failure kind, const http::Request* req, const Status& detail) override {
    return inner_->Fail(kind, req, detail);
  }
  void Completed(const http::Exchange& ex) override {
    metrics_->Record(ex);
    if (log_) log_->Record(ex);
    inner_->Completed(ex);
  }

 private:
  http::Handler* inner_;
  RequestMetrics* metrics_;
  AccessLog* log_;
};

}  // namespace strata::server
