#include "server/metrics.h"

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

namespace strata::server {

namespace {

size_t Slot(std::string_view name, size_t n) { return std::hash<std::string_view>()(name) % n; }

void Head(std::string& m, const char* name, const char* help, const char* type) {
  m += "# HELP ";
  m += name;
  m += ' ';
  m += help;
  m += "\n# TYPE ";
  m += name;
  m += ' ';
  m += type;
  m += '\n';
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

double Quantile(const BucketCounts& counts, double q) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0 || static_cast<double>(seen + counts[i]) < rank) {
      seen += counts[i];
      continue;
    }
    // The +Inf bucket has no upper bound: its lower one is the answer.
    if (i + 1 == counts.size()) return kLatencyBuckets[kBucketCount - 2];
    double lo = i == 0 ? 0 : kLatencyBuckets[i - 1], hi = kLatencyBuckets[i];
    return lo + (hi - lo) * (rank - static_cast<double>(seen)) / static_cast<double>(counts[i]);
  }
  return kLatencyBuckets[kBucketCount - 2];
}

RequestMetrics::RequestMetrics()
    : ops_(std::make_unique<Op[]>(kOps)), codes_(std::make_unique<Code[]>(kCodes)) {
  for (int i = 0; i < kOps; ++i) {
    for (auto& s : ops_[i].status) s.store(0);
    for (auto& c : ops_[i].count) c.store(0);
    for (auto& b : ops_[i].buckets) b.store(0);
  }
  FindOp("Unknown");  // first, so it always has a slot: what does not fit counts there
}

RequestMetrics::~RequestMetrics() {
  for (int i = 0; i < kCodes; ++i) delete[] codes_[i].name.load();
}

// Open addressing by name; an empty slot is claimed with a CAS (names are
// static strings, compared by content: one name may have several copies).
RequestMetrics::Op* RequestMetrics::FindOp(const char* name) {
  size_t start = Slot(name, kOps);
  for (int k = 0; k < kOps; ++k) {
    Op& op = ops_[(start + k) % kOps];
    const char* have = op.name.load(std::memory_order_acquire);
    if (!have) {
      if (op.name.compare_exchange_strong(have, name, std::memory_order_acq_rel)) return &op;
    }
    if (have == name || std::strcmp(have, name) == 0) return &op;
  }
  return nullptr;
}

RequestMetrics::Code* RequestMetrics::FindCode(const std::string& code) {
  size_t start = Slot(code, kCodes);
  for (int k = 0; k < kCodes; ++k) {
    Code& c = codes_[(start + k) % kCodes];
    const char* have = c.name.load(std::memory_order_acquire);
    if (!have) {
      char* copy = new char[code.size() + 1];
      std::memcpy(copy, code.c_str(), code.size() + 1);
      if (c.name.compare_exchange_strong(have, copy, std::memory_order_acq_rel)) return &c;
      delete[] copy;
    }
    if (code == have) return &c;
  }
  return nullptr;
}

void RequestMetrics::Record(const http::Exchange& ex) {
  bytes_in_.fetch_add(ex.bytes_in, std::memory_order_relaxed);
  bytes_out_.fetch_add(ex.bytes_out, std::memory_order_relaxed);
  if (!ex.note.error_code.empty()) {
    if (Code* c = FindCode(ex.note.error_code)) c->count.fetch_add(1, std::memory_order_relaxed);
    else other_codes_.fetch_add(1, std::memory_order_relaxed);
  }
  Op* op = FindOp(ex.note.operation ? ex.note.operation : "Unknown");
  if (!op) op = FindOp("Unknown");  // the table is full: its name was claimed first
  if (!op) return;
  int key = ex.status == 0 ? -1 : ex.status;  // -1: no response was sent
  int slot = kStatuses;
  for (int i = 0; i < kStatuses; ++i) {
    int have = op->status[i].load(std::memory_order_acquire);
    if (have == 0 && op->status[i].compare_exchange_strong(have, key)) have = key;
    if (have == key) {
      slot = i;
      break;
    }
  }
  op->count[slot].fetch_add(1, std::memory_order_relaxed);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(ex.end - ex.start).count();
  if (ns < 0) ns = 0;
  double s = static_cast<double>(ns) / 1e9;
  size_t b = 0;
  while (b < kBucketCount - 1 && s > kLatencyBuckets[b]) ++b;
  op->buckets[b].fetch_add(1, std::memory_order_relaxed);
  op->sum_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

std::string RequestMetrics::Prometheus(const http::ServerStats* stats) const {
  std::string m;
  m.reserve(16384);
  Head(m, "strata_http_requests_total",
       "Requests answered, by operation (Azure analytics name) and HTTP status (0: no response "
       "was sent: the client went away or was cut off).",
       "counter");
  for (int i = 0; i < kOps; ++i) {
    const Op& op = ops_[i];
    const char* name = op.name.load(std::memory_order_acquire);
    if (!name) continue;
    for (int k = 0; k <= kStatuses; ++k) {
      uint64_t n = op.count[k].load(std::memory_order_relaxed);
      if (!n) continue;
      std::string status = k == kStatuses ? "other" : std::to_string(std::max(0, op.status[k].load()));
      m += "strata_http_requests_total{operation=\"";
      m += name;
      m += "\",status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
  }
  Head(m, "strata_http_request_duration_seconds",
       "Time from a request's first header byte to its response's last byte, by operation.",
       "histogram");
  for (int i = 0; i < kOps; ++i) {
    const Op& op = ops_[i];
    const char* name = op.name.load(std::memory_order_acquire);
    if (!name) continue;
    uint64_t cum = 0;
    std::string prefix = std::string("strata_http_request_duration_seconds_bucket{operation=\"") + name;
    for (size_t b = 0; b < kBucketCount; ++b) {
      cum += op.buckets[b].load(std::memory_order_relaxed);
      m += prefix + "\",le=\"" + (b + 1 == kBucketCount ? "+Inf" : FormatSeconds(kLatencyBuckets[b])) +
           "\"} " + std::to_string(cum) + "\n";
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(op.sum_ns.load()) / 1e9);
    m += std::string("strata_http_request_duration_seconds_sum{operation=\"") + name + "\"} " + sum + "\n";
    m += std::string("strata_http_request_duration_seconds_count{operation=\"") + name + "\"} " +
         std::to_string(cum) + "\n";
  }
  Head(m, "strata_http_received_bytes_total",
       "Request bytes read from clients (headers, bodies and chunk framing).", "counter");
  m += "strata_http_received_bytes_total " + std::to_string(bytes_in_.load()) + "\n";
  Head(m, "strata_http_sent_bytes_total", "Response bytes written to clients (bodies included).",
       "counter");
  m += "strata_http_sent_bytes_total " + std::to_string(bytes_out_.load()) + "\n";
  Head(m, "strata_http_errors_total", "Error responses, by Azure error code (x-ms-error-code).",
       "counter");
  for (int i = 0; i < kCodes; ++i) {
    const char* name = codes_[i].name.load(std::memory_order_acquire);
    if (!name) continue;
    m += std::string("strata_http_errors_total{code=\"") + name + "\"} " +
         std::to_string(codes_[i].count.load()) + "\n";
  }
  if (uint64_t o = other_codes_.load())
    m += "strata_http_errors_total{code=\"other\"} " + std::to_string(o) + "\n";
  if (stats) {
    Head(m, "strata_http_connections", "Client connections open now.", "gauge");
    m += "strata_http_connections " + std::to_string(stats->connections) + "\n";
    Head(m, "strata_http_connections_total", "Client connections accepted.", "counter");
    m += "strata_http_connections_total " + std::to_string(stats->connections_total) + "\n";
    Head(m, "strata_http_requests_in_flight",
         "Requests begun (a header byte read) and not yet answered.", "gauge");
    m += "strata_http_requests_in_flight " + std::to_string(stats->requests_in_flight) + "\n";
  }
  return m;
}

RequestMetrics::Totals RequestMetrics::Snapshot() const {
  Totals t;
  t.bytes_in = bytes_in_.load();
  t.bytes_out = bytes_out_.load();
  for (int i = 0; i < kOps; ++i) {
    const Op& op = ops_[i];
    if (!op.name.load(std::memory_order_acquire)) continue;
    for (int k = 0; k <= kStatuses; ++k) {
      uint64_t n = op.count[k].load(std::memory_order_relaxed);
      t.requests += n;
      int status = k < kStatuses ? op.status[k].load() : 0;
      if (status >= 400 || status == -1 || k == kStatuses) t.errors += n;
    }
    for (size_t b = 0; b < kBucketCount; ++b) t.latency[b] += op.buckets[b].load();
  }
  return t;
}

MetricsHistory::MetricsHistory(const RequestMetrics* metrics, std::chrono::milliseconds interval,
                               size_t capacity)
    : metrics_(metrics), interval_(interval), capacity_(capacity) {
  last_ = metrics_->Snapshot();
  last_at_ = std::chrono::steady_clock::now();
}

MetricsHistory::~MetricsHistory() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MetricsHistory::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, interval_, [this] { return stop_; })) {
      l.unlock();
      SampleNow();
      l.lock();
    }
  });
}

void MetricsHistory::SampleNow() {
  RequestMetrics::Totals now = metrics_->Snapshot();
  auto at = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(mu_);
  double secs = std::chrono::duration<double>(at - last_at_).count();
  if (secs <= 0) secs = 1e-3;
  Sample s;
  s.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  s.requests_per_s = static_cast<double>(now.requests - last_.requests) / secs;
  s.errors_per_s = static_cast<double>(now.errors - last_.errors) / secs;
  s.bytes_in_per_s = static_cast<double>(now.bytes_in - last_.bytes_in) / secs;
  s.bytes_out_per_s = static_cast<double>(now.bytes_out - last_.bytes_out) / secs;
  BucketCounts delta(kBucketCount);
  for (size_t b = 0; b < kBucketCount; ++b) delta[b] = now.latency[b] - last_.latency[b];
  s.p50_ms = Quantile(delta, 0.5) * 1e3;
  s.p99_ms = Quantile(delta, 0.99) * 1e3;
  samples_.push_back(s);
  if (samples_.size() > capacity_) samples_.pop_front();
  last_ = std::move(now);
  last_at_ = at;
}

std::string MetricsHistory::Json() const {
  nlohmann::json j;
  j["interval_s"] = static_cast<double>(interval_.count()) / 1e3;
  j["capacity"] = capacity_;
  nlohmann::json arr = nlohmann::json::array();
  std::lock_guard<std::mutex> l(mu_);
  for (const Sample& s : samples_)
    arr.push_back({{"t", s.unix_ms},
                   {"rps", s.requests_per_s},
                   {"eps", s.errors_per_s},
                   {"in_bps", s.bytes_in_per_s},
                   {"out_bps", s.bytes_out_per_s},
                   {"p50_ms", s.p50_ms},
                   {"p99_ms", s.p99_ms}});
  j["samples"] = std::move(arr);
  return j.dump();
}

}  // namespace strata::server
