// RequestMetrics: the data path's Prometheus metrics, fed by every finished
// request (http::Handler::Completed), and a ring of samples of them for the
// status page.
//
// Thread-safety: Record runs on I/O threads and never locks: relaxed atomic
// counters in fixed tables. Label values come from fixed sets (operation
// names, Azure error codes, HTTP statuses); a table that fills up counts
// what does not fit under "other". Everything else may run on any thread.
//
// Process-local: each gateway counts its own requests (a Prometheus server
// sums the gateways); nothing here is shared through the file system.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"

namespace strata::server {

// Upper bounds (seconds) of strata_http_request_duration_seconds.
inline constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                             5,      10,    30,     60,    120};
inline constexpr size_t kBucketCount = sizeof(kLatencyBuckets) / sizeof(double) + 1;  // + Inf

// A histogram's counts per bucket (not cumulative; the last is +Inf).
using BucketCounts = std::vector<uint64_t>;
// The q-quantile (0 < q < 1) of a histogram, in seconds, interpolated within
// its bucket as Prometheus' histogram_quantile does; 0 when empty.
double Quantile(const BucketCounts& counts, double q);

class RequestMetrics {
 public:
  RequestMetrics();
  ~RequestMetrics();
  void Record(const http::Exchange& ex);

  // Prometheus text (HELP/TYPE lines) of the request metrics, with the
  // server's connection counters (null: left out).
  std::string Prometheus(const http::ServerStats* stats) const;

  struct Totals {
    uint64_t requests = 0, errors = 0, bytes_in = 0, bytes_out = 0;
    BucketCounts latency = BucketCounts(kBucketCount, 0);
  };
  Totals Snapshot() const;

 private:
  static constexpr int kOps = 128, kStatuses = 24, kCodes = 128;
  struct Op {
    std::atomic<const char*> name{nullptr};
    std::atomic<int> status[kStatuses];
    std::atomic<uint64_t> count[kStatuses + 1];  // the last: statuses that did not fit
    std::atomic<uint64_t> buckets[kBucketCount];
    std::atomic<uint64_t> sum_ns{0};
  };
  struct Code {
    std::atomic<const char*> name{nullptr};  // owned copy (never freed before ~)
    std::atomic<uint64_t> count{0};
  };
  Op* FindOp(const char* name);
  Code* FindCode(const std::string& code);
  std::unique_ptr<Op[]> ops_;
  std::unique_ptr<Code[]> codes_;
  std::atomic<uint64_t> other_codes_{0};
  std::atomic<uint64_t> bytes_in_{0}, bytes_out_{0};
};

// Samples a RequestMetrics every `interval`, keeping the last `capacity`
// samples (rates over each interval, latency quantiles of its requests).
class MetricsHistory {
 public:
  struct Sample {
    int64_t unix_ms = 0;
    double requests_per_s = 0, errors_per_s = 0, bytes_in_per_s = 0, bytes_out_per_s = 0;
    double p50_ms = 0, p99_ms = 0;
  };
  MetricsHistory(const RequestMetrics* metrics, std::chrono::milliseconds interval,
                 size_t capacity = 360);
  ~MetricsHistory();  // stops the sampler
  void Start();
  // {"interval_s": S, "samples": [{"t": unix ms, "rps", "eps", "in_bps", "out_bps", "p50_ms", "p99_ms"}...]}
  std::string Json() const;
  // Takes a sample now (the sampler's step; tests).
  void SampleNow();

 private:
  const RequestMetrics* metrics_;
  std::chrono::milliseconds interval_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<Sample> samples_;
  RequestMetrics::Totals last_;
  std::chrono::steady_clock::time_point last_at_;
  std::thread thread_;
};

}  // namespace strata::server
