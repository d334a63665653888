#include "server/admin.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace strata::server {
namespace {

http::Response Get(AdminHandler& h, const std::string& path) {
  http::Request req;
  req.method = "GET";
  req.target = req.path = path;
  http::BodyPlan plan;
  auto r = h.Prepare(req, &plan);
  return r ? std::move(*r) : h.Handle(req);
}

TEST(AdminHealthTest, HealthzAlwaysReadyzByState) {
  Health health;
  AdminSources src;
  src.health = &health;
  AdminHandler h({}, src);
  EXPECT_EQ(Get(h, "/healthz").status, 200);
  auto r = Get(h, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("starting"), std::string::npos);
  health.serving = true;
  EXPECT_EQ(Get(h, "/readyz").status, 200);
  health.replaying++;
  r = Get(h, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("replaying"), std::string::npos);
  health.replaying--;
  EXPECT_EQ(Get(h, "/readyz").status, 200);
  health.draining = true;
  r = Get(h, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("draining"), std::string::npos);
  EXPECT_EQ(Get(h, "/healthz").status, 200);
  EXPECT_NE(Get(h, "/metrics").body.find("strata_ready 0"), std::string::npos);
}

TEST(AdminStatusTest, PageIsSelfContainedAndJsonParses) {
  RequestMetrics m;
  MetricsHistory hist(&m, std::chrono::milliseconds(10000));
  AdminSources src;
  src.metrics = &m;
  src.history = &hist;
  AdminHandler h({}, src);
  for (const char* p : {"/", "/status"}) {
    auto r = Get(h, p);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Get("Content-Type"), "text/html; charset=utf-8");
    // Nothing from elsewhere: no external script, style, font or image.
    EXPECT_EQ(r.body.find("src=\"http"), std::string::npos);
    EXPECT_EQ(r.body.find("href=\"http"), std::string::npos);
    EXPECT_EQ(r.body.find("//cdn"), std::string::npos);
    EXPECT_NE(r.body.find("<svg id=\"chart-rps\""), std::string::npos);
  }
  hist.SampleNow();
  auto j = nlohmann::json::parse(Get(h, "/status/history.json").body);
  EXPECT_EQ(j["samples"].size(), 1u);
  auto t = nlohmann::json::parse(Get(h, "/status/tier.json").body);
  EXPECT_TRUE(t.is_array());
  EXPECT_EQ(Get(h, "/nope").status, 404);
}

}  // namespace
}  // namespace strata::server
