#include "server/cache_admin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <thread>

#include "common/crypto.h"
#include "fs/testing/temp_dir.h"
#include "server/admin.h"
#include "server/cache_cli.h"

namespace strata::server {
namespace {

TEST(CachePathTest, ContainerAndPrefix) {
  CachePath p;
  ASSERT_TRUE(ParseCachePath("data", &p).ok());
  EXPECT_EQ(p.container, "data");
  EXPECT_EQ(p.prefix, "");
  ASSERT_TRUE(ParseCachePath("data/set/a", &p).ok());
  EXPECT_EQ(p.container, "data");
  EXPECT_EQ(p.prefix, "set/a");
  ASSERT_TRUE(ParseCachePath("data/", &p).ok());
  EXPECT_EQ(p.prefix, "");
  EXPECT_FALSE(ParseCachePath("", &p).ok());
  EXPECT_FALSE(ParseCachePath("/x", &p).ok());
  EXPECT_FALSE(ParseCachePath("Bad_Name/x", &p).ok());
  EXPECT_FALSE(ParseCachePath("ab", &p).ok());
  EXPECT_FALSE(ParseCachePath("data/" + std::string(1025, 'a'), &p).ok());
}

TEST(ParseBoundedTest, DigitsInRangeOnly) {
  uint64_t v = 0;
  ASSERT_TRUE(ParseBounded("4", 1, 64, &v).ok());
  EXPECT_EQ(v, 4u);
  ASSERT_TRUE(ParseBounded("64", 1, 64, &v).ok());
  EXPECT_EQ(v, 64u);
  for (const char* bad : {"", "0", "65", "-1", "+4", " 4", "4 ", "4x", "0x10", "1e3",
                          "99999999999999999999999", "18446744073709551616"})
    EXPECT_FALSE(ParseBounded(bad, 1, 64, &v).ok()) << bad;
  ASSERT_TRUE(ParseBounded("18446744073709551615", 0, UINT64_MAX, &v).ok());
  EXPECT_EQ(v, UINT64_MAX);
  ASSERT_TRUE(ParseBounded("0", 0, 10, &v).ok());
  EXPECT_EQ(v, 0u);
}

TEST(RedactUrlTest, NoQueryFragmentOrUserinfo) {
  EXPECT_EQ(RedactUrl("https://acct.blob.core.windows.net/c?sv=2021&sig=SECRET"),
            "https://acct.blob.core.windows.net/c");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:1/devstoreaccount1/c#sig=x"),
            "http://127.0.0.1:1/devstoreaccount1/c");
  EXPECT_EQ(RedactUrl("https://user:pass@host/c?x"), "https://host/c");
  EXPECT_EQ(RedactUrl("https://host/c/a@b"), "https://host/c/a@b");
  EXPECT_EQ(RedactUrl("https://host?sig=1"), "https://host");
  EXPECT_EQ(RedactUrl(""), "");
}

TEST(CacheTokenBucketTest, NoCapNeverWaits) {
  TokenBucket b(0, 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.Reserve(1ull << 40, i), 0);
}

TEST(CacheTokenBucketTest, ReservationsQueueAtTheRate) {
  const int64_t s = 1'000'000'000;
  TokenBucket b(1000, 1000);  // 1000 B/s, bursts of 1000 B
  EXPECT_EQ(b.Reserve(1000, 0), 0);          // the burst
  EXPECT_EQ(b.Reserve(500, 0), s / 2);       // half a second of debt
  EXPECT_EQ(b.Reserve(500, 0), s);           // queued behind it
  // Two seconds later the debt is paid: 1000 B are free again, no more.
  EXPECT_EQ(b.Reserve(1000, 3 * s), 0);
  EXPECT_EQ(b.Reserve(2000, 3 * s), 2 * s);
  // Idle time refills to the burst only.
  EXPECT_EQ(b.Reserve(1000, 100 * s), 0);
  EXPECT_EQ(b.Reserve(1, 100 * s), s / 1000);
}

TEST(CacheTokenBucketTest, AverageRateHoldsOverManyBlobs) {
  // 40 blobs of 100 KB at 1 MB/s through the bucket: each starts no sooner
  // than it says, so the last starts after (4 MB - burst) / rate.
  const uint64_t rate = 1'000'000;
  TokenBucket b(rate, rate);
  int64_t now = 0, last_start = 0;
  for (int i = 0; i < 40; ++i) {
    int64_t w = b.Reserve(100'000, now);
    last_start = now + w;
  }
  EXPECT_NEAR(static_cast<double>(last_start) / 1e9, 3.0, 0.01);
}

TEST(CacheCliTest, ProgressLineAndSummary) {
  nlohmann::json job = {{"id", 3},
                        {"kind", "prefetch"},
                        {"path", "data/set"},
                        {"state", "running"},
                        {"phase", "hydrate"},
                        {"blobs_total", 10},
                        {"blobs_done", 4},
                        {"blobs_failed", 1},
                        {"bytes_total", 10 << 20},
                        {"bytes_done", 4 << 20},
                        {"elapsed_s", 2.0},
                        {"failures", {{{"path", "data/set/x"}, {"error", "gone"}}}},
                        {"failure_count", 3},
                        {"import", {{"listed", 10}, {"created", 10}}}};
  std::string line = CacheProgressLine(job);
  EXPECT_NE(line.find("[###############...............]"), std::string::npos) << line;
  EXPECT_NE(line.find("5/10 blobs"), std::string::npos) << line;
  EXPECT_NE(line.find("4.0/10.0 MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("2.0 MiB/s"), std::string::npos) << line;
  EXPECT_EQ(CacheJobExitCode(job), 1);  // still running
  job["state"] = "failed";
  std::string sum = CacheJobSummary(job);
  EXPECT_NE(sum.find("FAILED   data/set/x  gone"), std::string::npos) << sum;
  EXPECT_NE(sum.find("and 2 more failures"), std::string::npos) << sum;
  EXPECT_NE(sum.find("hydrated: 4 of 10 blobs"), std::string::npos) << sum;
  EXPECT_NE(sum.find("import: 10 listed, 10 new"), std::string::npos) << sum;
  EXPECT_EQ(CacheJobExitCode(job), 1);
  job["state"] = "done";
  job["failure_count"] = 0;
  EXPECT_EQ(CacheJobExitCode(job), 0);
  job["phase"] = "import";
  EXPECT_NE(CacheProgressLine(job).find("importing: 10 listed"), std::string::npos);
  // Garbage from the server is not a crash.
  EXPECT_EQ(CacheJobExitCode(nlohmann::json::object()), 1);
  (void)CacheProgressLine(nlohmann::json{{"blobs_total", "x"}, {"elapsed_s", "y"}});
}

// ---- jobs against a real store and tier, with an in-memory remote ----

using tier::RemoteBlobHeaders;
using tier::RemoteListing;
using tier::RemoteProps;
using tier::RemoteSink;

class FakeRemote : public tier::RemoteClient {
 public:
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;  // List waits while set
  bool fail_list = false;
  size_t page_size = 1u << 30;  // fewer than asked for, as Azure may answer
  std::string hold_marker;      // List from this marker waits for `release`
  bool release = false;
  int lists = 0;
  std::map<std::string, std::string> blobs;

  void Put(const std::string& name, const std::string& data) {
    std::lock_guard<std::mutex> l(mu);
    blobs[name] = data;
  }
  RemoteProps Props(const std::string& name, const std::string& data) {
    RemoteProps p;
    p.size = data.size();
    p.etag = "0x" + std::to_string(std::hash<std::string>()(name + data) & 0xffffff);
    p.content_md5 = Md5(data);
    p.blob_type = "BlockBlob";
    p.last_modified_ns = 1'700'000'000'000'000'000;
    return p;
  }
  Status Upload(const std::string& name, int fd, uint64_t size, const RemoteBlobHeaders&,
                RemoteProps* props) override {
    std::string data(size, '\0');
    if (size && ::pread(fd, data.data(), size, 0) != static_cast<ssize_t>(size))
      return Status(ErrorKind::kIo, "short read");
    std::lock_guard<std::mutex> l(mu);
    blobs[name] = data;
    *props = Props(name, data);
    return Status::Ok();
  }
  Status Read(const std::string& name, uint64_t offset, uint64_t length, const RemoteSink& sink,
              RemoteProps* props, const std::string& if_match) override {
    std::string data;
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = blobs.find(name);
      if (it == blobs.end()) return Status(ErrorKind::kNotFound, "no blob " + name);
      data = it->second;
    }
    RemoteProps p = Props(name, data);
    if (!if_match.empty() && if_match != p.etag)
      return Status(ErrorKind::kPathConflict, "etag");
    if (props) *props = p;
    if (length == 0 && offset == 0) length = data.size();
    if (offset + length > data.size()) return Status(ErrorKind::kIo, "range");
    if (length && !sink(data.data() + offset, length)) return Status(ErrorKind::kIo, "aborted");
    return Status::Ok();
  }
  Result<RemoteProps> Head(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu);
    auto it = blobs.find(name);
    if (it == blobs.end()) return Status(ErrorKind::kNotFound, "no blob " + name);
    return Props(name, it->second);
  }
  Status Delete(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu);
    blobs.erase(name);
    return Status::Ok();
  }
  Result<RemoteListing> List(const std::string& prefix, const std::string&,
                             const std::string& marker, int max) override {
    std::unique_lock<std::mutex> l(mu);
    lists++;
    cv.wait(l, [&] { return !hold; });
    if (!hold_marker.empty() && marker == hold_marker) cv.wait(l, [&] { return release; });
    if (fail_list) return Status(ErrorKind::kBusy, "list refused");
    RemoteListing out;
    for (auto it = blobs.upper_bound(marker); it != blobs.end(); ++it) {
      if (it->first.rfind(prefix, 0) != 0) continue;
      if (static_cast<int>(out.blobs.size()) >= max || out.blobs.size() >= page_size) {
        out.next_marker = out.blobs.back().first;
        break;
      }
      out.blobs.emplace_back(it->first, Props(it->first, it->second));
    }
    return out;
  }
  Status Copy(const std::string& from, const std::string& to, const std::string&,
              RemoteProps* props) override {
    std::lock_guard<std::mutex> l(mu);
    blobs[to] = blobs[from];
    if (props) *props = Props(to, blobs[to]);
    return Status::Ok();
  }
  Status SetTier(const std::string&, std::string_view) override { return Status::Ok(); }
  Stats GetStats() const override { return Stats{}; }
};

class CacheJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<ns::Store>(PosixFs(), dir_.path() + "/root", false);
    ns::ContainerConfig cc;
    cc.cached = true;
    store_->ConfigureContainer("cached", cc);
    ASSERT_TRUE(store_->Open().ok());
    ASSERT_TRUE(store_->CreateContainer("plain", ns::ContainerRecord()).ok());
    tier::TierOptions to;
    to.sync = false;
    to.retry_delay_ms = 50;
    tier_ = std::make_unique<tier::CapacityTier>(store_.get(), nullptr, to);
    tier::CapacityTier::CacheOptions co;
    co.remote = &remote_;
    co.revalidate_s = 3600;
    tier_->AddCache("cached", co);
    ASSERT_TRUE(tier_->Start().ok());
  }
  void TearDown() override {
    {
      std::lock_guard<std::mutex> l(remote_.mu);
      remote_.hold = false;
      remote_.release = true;
    }
    remote_.cv.notify_all();
    jobs_.reset();
    tier_->Stop();
  }
  CacheJobSpec Spec(CacheJobKind kind, const std::string& prefix = "") {
    CacheJobSpec s;
    s.kind = kind;
    s.account = "devstoreaccount1";
    s.tier = tier_.get();
    s.store = store_.get();
    s.containers = {"cached"};
    s.prefix = prefix;
    return s;
  }
  nlohmann::json Wait(uint64_t id) {
    for (int i = 0; i < 2000; ++i) {
      auto p = jobs_->Progress(id);
      if (p && (*p)["state"] != "running") return *p;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return {};
  }
  CacheStateCounts States() { return WalkCacheStates(store_.get(), tier_.get(), "cached"); }

  TempDir dir_;
  FakeRemote remote_;
  std::unique_ptr<ns::Store> store_;
  std::unique_ptr<tier::CapacityTier> tier_;
  std::unique_ptr<CacheJobs> jobs_ = std::make_unique<CacheJobs>(2);
};

TEST_F(CacheJobsTest, ImportPrefetchEvictFlow) {
  remote_.Put("set/a", std::string(3000, 'a'));
  remote_.Put("set/b", std::string(5000, 'b'));
  remote_.Put("other", std::string(7000, 'o'));
  auto id = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(id.ok());
  auto p = Wait(*id);
  EXPECT_EQ(p["state"], "done") << p.dump();
  EXPECT_EQ(p["import"]["created"], 3);
  auto s = States();
  EXPECT_EQ(s.stub_blobs, 3u);
  EXPECT_EQ(s.stub_bytes, 15000u);
  EXPECT_FALSE(::access((store_->root() + "/.strata/cache/import-cached.marker").c_str(), F_OK) == 0);

  auto spec = Spec(CacheJobKind::kPrefetch, "set/");
  spec.concurrency = 2;
  id = jobs_->Start(spec);
  ASSERT_TRUE(id.ok());
  p = Wait(*id);
  EXPECT_EQ(p["state"], "done") << p.dump();
  EXPECT_EQ(p["blobs_total"], 2);
  EXPECT_EQ(p["blobs_done"], 2);
  EXPECT_EQ(p["bytes_done"], 8000);
  s = States();
  EXPECT_EQ(s.stub_blobs, 1u);
  EXPECT_EQ(s.clean_blobs, 2u);
  EXPECT_EQ(s.clean_bytes, 8000u);
  EXPECT_EQ(tier_->GetCacheCounters().hydrations, 2u);

  id = jobs_->Start(Spec(CacheJobKind::kEvict, "set/"));
  ASSERT_TRUE(id.ok());
  p = Wait(*id);
  EXPECT_EQ(p["state"], "done") << p.dump();
  EXPECT_EQ(p["blobs_done"], 2);
  s = States();
  EXPECT_EQ(s.stub_blobs, 3u);
  EXPECT_EQ(s.clean_blobs, 0u);

  auto st = CacheStatusJson("devstoreaccount1", tier_.get(), store_.get(),
                            {{"cached", "http://h/a/cached?sig=SECRET"}});
  ASSERT_EQ(st["containers"].size(), 1u);
  EXPECT_EQ(st["containers"][0]["remote"], "http://h/a/cached");
  EXPECT_EQ(st["containers"][0]["states"]["stub"]["blobs"], 3);
  EXPECT_EQ(st["counters"]["hydrations"], 2);
  EXPECT_EQ(st.dump().find("SECRET"), std::string::npos);
}

TEST_F(CacheJobsTest, PrefetchListsEachFailureWithItsPathAndGoesOn) {
  remote_.Put("a", "aaaa");
  remote_.Put("b", "bbbb");
  remote_.Put("c", "cccc");
  auto id = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(id.ok());
  Wait(*id);
  // b changes on the remote behind the stub's back, and the listing fails
  // (so the prefetch's import cannot refresh b): the import's failure and
  // b's are listed, a and c are still hydrated.
  {
    std::lock_guard<std::mutex> l(remote_.mu);
    remote_.blobs["b"] = "changed!";
    remote_.fail_list = true;
  }
  id = jobs_->Start(Spec(CacheJobKind::kPrefetch));
  ASSERT_TRUE(id.ok());
  auto p = Wait(*id);
  EXPECT_EQ(p["state"], "failed") << p.dump();
  EXPECT_EQ(p["blobs_total"], 3);
  EXPECT_EQ(p["blobs_done"], 2);
  EXPECT_EQ(p["blobs_failed"], 1);
  EXPECT_EQ(p["failure_count"], 2);
  ASSERT_EQ(p["failures"].size(), 2u);
  EXPECT_EQ(p["failures"][0]["path"], "cached");
  EXPECT_NE(p["failures"][0]["error"].get<std::string>().find("import: "), std::string::npos);
  EXPECT_EQ(p["failures"][1]["path"], "cached/b");
  auto s = States();
  EXPECT_EQ(s.clean_blobs, 2u);
  EXPECT_EQ(s.stub_blobs, 1u);
}

TEST_F(CacheJobsTest, LimitsAndStop) {
  remote_.Put("a", "aaaa");
  {
    std::lock_guard<std::mutex> l(remote_.mu);
    remote_.hold = true;
  }
  auto first = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(first.ok());
  // One import per container at a time.
  auto again = jobs_->Start(Spec(CacheJobKind::kPrefetch));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().kind(), ErrorKind::kAlreadyExists);
  // Two running (the limit here): a third is refused (503).
  auto evict = jobs_->Start(Spec(CacheJobKind::kEvict));
  ASSERT_TRUE(evict.ok());
  Wait(*evict);
  // The evict ended (nothing to evict): still room for one more.
  auto flush = jobs_->Start(Spec(CacheJobKind::kFlush));
  ASSERT_TRUE(flush.ok());
  Wait(*flush);
  auto p = jobs_->Progress(*first);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["state"], "running");
  EXPECT_FALSE(jobs_->Progress(9999));
  // Stop with the import blocked in List: release the remote, then it
  // sees the stop flag after its page and ends "stopped".
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    {
      std::lock_guard<std::mutex> l(remote_.mu);
      remote_.hold = false;
    }
    remote_.cv.notify_all();
  });
  jobs_->Stop();
  release.join();
  p = jobs_->Progress(*first);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["state"], "failed");
  EXPECT_EQ((*p)["error"], "stopped");
  EXPECT_FALSE(jobs_->Start(Spec(CacheJobKind::kImport)).ok());
}

TEST_F(CacheJobsTest, BusyWhenMaxJobsRun) {
  remote_.Put("a", "aaaa");
  {
    std::lock_guard<std::mutex> l(remote_.mu);
    remote_.hold = true;
  }
  CacheJobs jobs(1);
  auto first = jobs.Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(first.ok());
  auto second = jobs.Start(Spec(CacheJobKind::kEvict));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().kind(), ErrorKind::kBusy);
  {
    std::lock_guard<std::mutex> l(remote_.mu);
    remote_.hold = false;
  }
  remote_.cv.notify_all();
}

TEST_F(CacheJobsTest, InterruptedImportResumesFromItsMarker) {
  // A marker of another prefix is ignored; one of this prefix is where the
  // listing starts (the fake's marker is the last name of the page).
  for (const char* n : {"a", "b", "c", "d"}) remote_.Put(n, n);
  ASSERT_TRUE(::system(("mkdir -p " + store_->root() + "/.strata/cache").c_str()) == 0);
  std::string marker = store_->root() + "/.strata/cache/import-cached.marker";
  {
    FILE* f = std::fopen(marker.c_str(), "w");
    std::fputs("{\"prefix\":\"\",\"marker\":\"b\"}\n", f);
    std::fclose(f);
  }
  auto id = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(id.ok());
  auto p = Wait(*id);
  EXPECT_EQ(p["state"], "done") << p.dump();
  EXPECT_EQ(p["import"]["listed"], 2);  // c and d only
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);  // removed once complete
  {
    FILE* f = std::fopen(marker.c_str(), "w");
    std::fputs("{\"prefix\":\"zz\",\"marker\":\"b\"}\n", f);
    std::fclose(f);
  }
  id = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(id.ok());
  p = Wait(*id);
  EXPECT_EQ(p["import"]["listed"], 4);
}

TEST_F(CacheJobsTest, AStoppedImportKeepsItsMarkerAndTheNextOneResumes) {
  for (const char* n : {"a", "b", "c", "d", "e"}) remote_.Put(n, n);
  remote_.page_size = 2;      // pages: a b | c d | e
  remote_.hold_marker = "b";  // the second page waits
  std::string marker = store_->root() + "/.strata/cache/import-cached.marker";
  auto id = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(id.ok());
  // The first page's marker is kept before the second is asked for.
  for (int i = 0; i < 2000 && ::access(marker.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(::access(marker.c_str(), F_OK), 0);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    {
      std::lock_guard<std::mutex> l(remote_.mu);
      remote_.release = true;
    }
    remote_.cv.notify_all();
  });
  jobs_->Stop();  // the import ends after the page it is in
  release.join();
  auto p = jobs_->Progress(*id);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["state"], "failed");
  EXPECT_EQ((*p)["error"], "stopped");
  EXPECT_EQ((*p)["import"]["listed"], 4);
  {
    FILE* f = std::fopen(marker.c_str(), "r");
    ASSERT_TRUE(f);
    char buf[256] = {};
    ASSERT_GT(std::fread(buf, 1, sizeof(buf) - 1, f), 0u);
    std::fclose(f);
    auto j = nlohmann::json::parse(buf);
    EXPECT_EQ(j["prefix"], "");
    EXPECT_EQ(j["marker"], "d");
  }
  // A server started again resumes there: only e is listed.
  jobs_ = std::make_unique<CacheJobs>(2);
  id = jobs_->Start(Spec(CacheJobKind::kImport));
  ASSERT_TRUE(id.ok());
  auto q = Wait(*id);
  EXPECT_EQ(q["state"], "done") << q.dump();
  EXPECT_EQ(q["import"]["listed"], 1);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
}

TEST_F(CacheJobsTest, AdminEndpointsValidateAndStart) {
  AdminHandler h({{"devstoreaccount1", store_.get(), tier_.get(), nullptr,
                   {{"cached", "http://h/devstoreaccount1/cached?sv=1&sig=SECRET"}}}});
  h.SetCacheJobs(jobs_.get());
  auto call = [&](const std::string& method, const std::string& target) {
    http::Request req;
    req.method = method;
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    if (target.find('?') != std::string::npos) req.query = target.substr(target.find('?') + 1);
    http::BodyPlan plan;
    auto r = h.Prepare(req, &plan);
    return r ? std::move(*r) : h.Handle(req);
  };
  EXPECT_EQ(call("POST", "/cache/import").status, 400);
  EXPECT_EQ(call("POST", "/cache/import?path=Bad!").status, 400);
  EXPECT_EQ(call("POST", "/cache/import?path=plain").status, 409);
  EXPECT_EQ(call("POST", "/cache/import?path=cached&account=nope").status, 404);
  EXPECT_EQ(call("POST", "/cache/prefetch?path=cached&concurrency=0").status, 400);
  EXPECT_EQ(call("POST", "/cache/prefetch?path=cached&concurrency=65").status, 400);
  EXPECT_EQ(call("POST", "/cache/prefetch?path=cached&bandwidth=-1").status, 400);
  EXPECT_EQ(call("POST", "/cache/evict?path=cached&concurrency=2").status, 400);
  EXPECT_EQ(call("GET", "/cache/import?path=cached").status, 405);
  EXPECT_EQ(call("POST", "/cache/status").status, 405);
  EXPECT_EQ(call("GET", "/cache/nope").status, 404);
  EXPECT_EQ(call("GET", "/cache/job?id=x").status, 400);
  EXPECT_EQ(call("GET", "/cache/job?id=77").status, 404);
  auto r = call("POST", "/cache/flush");
  ASSERT_EQ(r.status, 202) << r.body;
  auto j = nlohmann::json::parse(r.body);
  Wait(j["job"].get<uint64_t>());
  r = call("GET", "/cache/job?id=" + std::to_string(j["job"].get<uint64_t>()));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["state"], "done");
  r = call("GET", "/cache/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("SECRET"), std::string::npos);
  EXPECT_EQ(r.body.find("sv=1"), std::string::npos);
  EXPECT_NE(r.body.find("http://h/devstoreaccount1/cached"), std::string::npos);
  std::string m = h.Metrics();
  EXPECT_NE(m.find("strata_cache_hydrations_total{account=\"devstoreaccount1\"} 0"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("strata_cache_writeback_queue{account=\"devstoreaccount1\"} 0"),
            std::string::npos);
  EXPECT_EQ(m.find("SECRET"), std::string::npos);
  h.SetCacheJobs(nullptr);
  EXPECT_EQ(call("POST", "/cache/flush").status, 503);
}

}  // namespace
}  // namespace strata::server
