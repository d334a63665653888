#include "server/metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

namespace strata::server {
namespace {

http::Exchange Ex(const char* op, int status, int micros, const char* code = "") {
  http::Exchange ex;
  ex.note.operation = op;
  ex.note.error_code = code;
  ex.status = status;
  ex.start = std::chrono::steady_clock::time_point(std::chrono::seconds(5));
  ex.end = ex.start + std::chrono::microseconds(micros);
  ex.bytes_in = 100;
  ex.bytes_out = 1000;
  return ex;
}

// The value of one sample line, or -1.
double Value(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(QuantileTest, InterpolatesWithinTheBucket) {
  BucketCounts c(kBucketCount, 0);
  EXPECT_EQ(Quantile(c, 0.5), 0);
  c[0] = 10;  // all in (0, 0.5 ms]
  EXPECT_DOUBLE_EQ(Quantile(c, 0.5), 0.00025);
  c[2] = 10;  // and 10 in (1 ms, 2.5 ms]
  EXPECT_DOUBLE_EQ(Quantile(c, 0.5), 0.0005);
  EXPECT_NEAR(Quantile(c, 0.99), 0.001 + 0.0015 * 9.8 / 10, 1e-12);
  BucketCounts inf(kBucketCount, 0);
  inf.back() = 3;  // beyond the last bound: the last bound
  EXPECT_DOUBLE_EQ(Quantile(inf, 0.5), kLatencyBuckets[kBucketCount - 2]);
}

TEST(RequestMetricsTest, CountsByOperationStatusAndCode) {
  RequestMetrics m;
  std::string get = "GetBlob";  // another copy of the same name: one series
  m.Record(Ex("GetBlob", 200, 300));
  m.Record(Ex(get.c_str(), 200, 700));
  m.Record(Ex("GetBlob", 404, 2000, "BlobNotFound"));
  m.Record(Ex("PutBlob", 201, 50000));
  m.Record(Ex(nullptr, 0, 10));
  http::ServerStats st{3, 7, 1};
  std::string t = "\n" + m.Prometheus(&st);
  EXPECT_EQ(Value(t, "strata_http_requests_total{operation=\"GetBlob\",status=\"200\"}"), 2);
  EXPECT_EQ(Value(t, "strata_http_requests_total{operation=\"GetBlob\",status=\"404\"}"), 1);
  EXPECT_EQ(Value(t, "strata_http_requests_total{operation=\"PutBlob\",status=\"201\"}"), 1);
  EXPECT_EQ(Value(t, "strata_http_requests_total{operation=\"Unknown\",status=\"0\"}"), 1);
  EXPECT_EQ(Value(t, "strata_http_errors_total{code=\"BlobNotFound\"}"), 1);
  EXPECT_EQ(Value(t, "strata_http_received_bytes_total"), 500);
  EXPECT_EQ(Value(t, "strata_http_sent_bytes_total"), 5000);
  EXPECT_EQ(Value(t, "strata_http_connections"), 3);
  EXPECT_EQ(Value(t, "strata_http_connections_total"), 7);
  EXPECT_EQ(Value(t, "strata_http_requests_in_flight"), 1);
  // The histogram: cumulative buckets, +Inf = count, sum in seconds.
  std::string b = "strata_http_request_duration_seconds_bucket{operation=\"GetBlob\",le=\"";
  EXPECT_EQ(Value(t, b + "0.0005\"}"), 1);
  EXPECT_EQ(Value(t, b + "0.001\"}"), 2);
  EXPECT_EQ(Value(t, b + "0.0025\"}"), 3);
  EXPECT_EQ(Value(t, b + "+Inf\"}"), 3);
  EXPECT_EQ(Value(t, "strata_http_request_duration_seconds_count{operation=\"GetBlob\"}"), 3);
  EXPECT_NEAR(Value(t, "strata_http_request_duration_seconds_sum{operation=\"GetBlob\"}"), 0.003, 1e-9);
  // Every metric has its HELP and TYPE.
  for (const char* name : {"strata_http_requests_total", "strata_http_request_duration_seconds",
                           "strata_http_received_bytes_total", "strata_http_sent_bytes_total",
                           "strata_http_errors_total", "strata_http_connections",
                           "strata_http_connections_total", "strata_http_requests_in_flight"}) {
    EXPECT_NE(t.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
    EXPECT_NE(t.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  auto totals = m.Snapshot();
  EXPECT_EQ(totals.requests, 5u);
  EXPECT_EQ(totals.errors, 2u);  // the 404 and the one without a response
}

TEST(RequestMetricsTest, LabelsStayBounded) {
  RequestMetrics m;
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) names.push_back("Op" + std::to_string(i));
  for (auto& n : names) m.Record(Ex(n.c_str(), 200 + (&n - &names[0]) % 100, 10, n.c_str()));
  std::string t = m.Prometheus(nullptr);
  size_t series = 0;
  for (size_t at = 0; (at = t.find("strata_http_requests_total{", at)) != std::string::npos; ++at) ++series;
  EXPECT_LE(series, 128u * 25u);
  EXPECT_NE(t.find("strata_http_errors_total{code=\"other\"}"), std::string::npos);
  // What does not fit is counted as Unknown (its slot is reserved).
  EXPECT_EQ(m.Snapshot().requests, 500u);
  EXPECT_NE(t.find("strata_http_requests_total{operation=\"Unknown\""), std::string::npos);
}

TEST(MetricsHistoryTest, SamplesRatesAndQuantiles) {
  RequestMetrics m;
  MetricsHistory h(&m, std::chrono::milliseconds(100000), 3);
  for (int i = 0; i < 100; ++i) m.Record(Ex("GetBlob", 200, 800));
  h.SampleNow();
  auto j = nlohmann::json::parse(h.Json());
  ASSERT_EQ(j["samples"].size(), 1u);
  EXPECT_GT(j["samples"][0]["rps"].get<double>(), 0);
  EXPECT_GT(j["samples"][0]["p50_ms"].get<double>(), 0.5);
  EXPECT_LE(j["samples"][0]["p99_ms"].get<double>(), 1.0);
  for (int i = 0; i < 5; ++i) h.SampleNow();
  j = nlohmann::json::parse(h.Json());
  EXPECT_EQ(j["samples"].size(), 3u);  // a ring
  EXPECT_EQ(j["samples"][2]["rps"].get<double>(), 0);
}

}  // namespace
}  // namespace strata::server
