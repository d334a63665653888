// CopyJobs over a real directory tree: a background copy commits the source's
// bytes; a copy whose destination no longer waits for it stops and leaves
// nothing; a marker whose lock no process holds (its gateway died) is swept:
// the destination is marked failed and the staged file removed.
#include "api/copy_jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "fs/testing/temp_dir.h"

namespace strata::api {
namespace {

class CopyJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<ns::Store>(PosixFs(), dir_.path(), false);
    ASSERT_TRUE(store_->Open().ok());
    ASSERT_TRUE(store_->CreateContainer("c", ns::ContainerRecord{}).ok());
  }

  // Commits `data` as blob b with record rec.
  void Put(const std::string& b, const std::string& data, ns::BlobRecord rec = {}) {
    std::string tmp = store_->NewTempPath("c");
    auto f = PosixFs()->OpenWrite(tmp, true, true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->PWrite(data.data(), data.size(), 0).ok());
    f->reset();
    if (rec.etag.empty()) rec.etag = ns::NewEtag();
    ASSERT_TRUE(store_->Commit("c", b, tmp, rec, true).ok());
  }

  ns::BlobRecord Pending(const std::string& id) {
    ns::BlobRecord rec;
    rec.copy_id = id;
    rec.copy_status = "pending";
    return rec;
  }

  std::string Read(const std::string& b) {
    auto o = store_->Open("c", b);
    if (!o.ok()) return "<none>";
    std::string out(o->info->st.size, '\0');
    auto n = o->file->PRead(out.data(), out.size(), 0);
    out.resize(n.ok() ? *n : 0);
    return out;
  }

  std::string CopyStatus(const std::string& b) {
    auto h = store_->Head("c", b);
    return h.ok() ? h->rec.copy_status : "<none>";
  }

  // Entries of .strata/SUB; "tmp" is this gateway's staging directory.
  size_t Entries(const std::string& sub) {
    std::string d = sub == "tmp" ? store_->TmpDir() : dir_.path() + "/.strata/" + sub;
    auto e = PosixFs()->ListDir(d);
    return e.ok() ? e->size() : 0;
  }

  // Waits (bounded) until blob b's copy status is no longer pending.
  void WaitConcluded(const std::string& b) {
    for (int i = 0; i < 500 && CopyStatus(b) == "pending"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  TempDir dir_;
  std::unique_ptr<ns::Store> store_;
};

TEST_F(CopyJobsTest, CopiesAndCommits) {
  CopyJobOptions opt;
  opt.step = 4096;
  CopyJobs jobs(opt);
  jobs.Start({store_.get()});
  std::string data(3 * 4096 + 17, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  Put("src", data);
  Put("dst", "", Pending("id1"));
  strata::Status err;
  auto t = jobs.Begin(store_.get(), "c", "dst", "id1", &err);
  ASSERT_TRUE(t) << err.ToString();
  auto src = store_->Open("c", "src");
  ASSERT_TRUE(src.ok());
  ns::BlobRecord fin = Pending("id1");
  fin.copy_length = data.size();
  jobs.Submit(std::move(t), std::move(src->file), data.size(), fin);
  WaitConcluded("dst");
  EXPECT_EQ(CopyStatus("dst"), "success");
  EXPECT_EQ(Read("dst"), data);
  // The job drops its marker just after the commit that clients see.
  for (int i = 0; i < 500 && Entries("copies"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(Entries("copies"), 0u);
  EXPECT_EQ(Entries("tmp"), 0u);
}

TEST_F(CopyJobsTest, StopsWhenTheDestinationNoLongerWaits) {
  CopyJobOptions opt;
  opt.step = 1;
  opt.step_delay_ms = 20;
  CopyJobs jobs(opt);
  jobs.Start({store_.get()});
  Put("src", "0123456789");
  Put("dst", "", Pending("id2"));
  strata::Status err;
  auto t = jobs.Begin(store_.get(), "c", "dst", "id2", &err);
  ASSERT_TRUE(t);
  auto src = store_->Open("c", "src");
  jobs.Submit(std::move(t), std::move(src->file), 10, Pending("id2"));
  Put("dst", "newer");  // a Put Blob over the pending destination
  for (int i = 0; i < 500 && (Entries("copies") || Entries("tmp")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(Entries("copies"), 0u);
  EXPECT_EQ(Entries("tmp"), 0u);
  EXPECT_EQ(Read("dst"), "newer");
}

TEST_F(CopyJobsTest, SweepLeavesLiveCopiesAndEndsDeadOnes) {
  CopyJobs jobs(CopyJobOptions{});
  jobs.Start({store_.get()});
  Put("dst", "", Pending("live"));
  strata::Status err;
  auto live = jobs.Begin(store_.get(), "c", "dst", "live", &err);
  ASSERT_TRUE(live);
  EXPECT_EQ(jobs.Sweep(store_.get()), 0u);  // its lock is held
  EXPECT_EQ(CopyStatus("dst"), "pending");

  // A marker whose process died: same text, but no lock held.
  Put("dead", "", Pending("gone"));
  std::string staged = store_->NewTempPath("c");
  {
    auto f = PosixFs()->OpenWrite(staged, true, true);
    ASSERT_TRUE(f.ok());
    std::string text = std::string("c") + '\0' + "dead" + '\0' + staged;
    auto m = PosixFs()->OpenWrite(dir_.path() + "/.strata/copies/gone", true, true);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->PWrite(text.data(), text.size(), 0).ok());
  }
  EXPECT_EQ(jobs.Sweep(store_.get()), 1u);
  EXPECT_EQ(CopyStatus("dead"), "failed");
  EXPECT_FALSE(store_->Head("c", "dead")->rec.copy_status_description.empty());
  EXPECT_FALSE(PosixFs()->Stat(staged).ok());
  EXPECT_EQ(CopyStatus("dst"), "pending");
  jobs.Cancel(std::move(live));
  EXPECT_EQ(Entries("copies"), 0u);
}

}  // namespace
}  // namespace strata::api
