// Two gateways on one root: two Stores in one process open their own file
// descriptions, so to the kernel (and to Coordination) they are two
// processes. What one writes the other must see at once, also on a file
// system with coarse timestamps, and one's start or death must not touch
// the other's uploads.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fs/testing/fault_fs.h"
#include "fs/testing/temp_dir.h"
#include "ns/store.h"

namespace strata::ns {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class StoreGatewaysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Open(&fs_a_);
    b_ = Open(&fs_b_);
    ASSERT_TRUE(a_->CreateContainer("ctr", ContainerRecord()).ok());
  }

  std::unique_ptr<Store> Open(Fs* fs) {
    auto s = std::make_unique<Store>(fs, dir_.path(), false);
    EXPECT_TRUE(s->Open().ok());
    return s;
  }

  static std::string Stage(Store& s, const std::string& data) {
    std::string p = s.NewTempPath();
    auto f = PosixFs()->OpenWrite(p, true, true);
    EXPECT_TRUE(f.ok() && (*f)->PWrite(data.data(), data.size(), 0).ok());
    return p;
  }

  static Status Put(Store& s, const std::string& b, const std::string& data) {
    auto lock = s.LockBlob("ctr", b);
    BlobRecord rec;
    rec.etag = NewEtag();
    return s.Commit("ctr", b, Stage(s, data), rec, false);
  }

  static Status SetMeta(Store& s, const std::string& b, const std::string& v) {
    auto lock = s.LockBlob("ctr", b);
    auto h = s.Head("ctr", b);
    if (!h.ok()) return h.status();
    BlobRecord rec = h->rec;
    rec.metadata = {{"k", v}};
    rec.etag = NewEtag();  // as the handlers do
    return s.UpdateRecord("ctr", b, rec);
  }

  TempDir dir_;
  FaultFs fs_a_, fs_b_;
  std::unique_ptr<Store> a_, b_;
};

TEST_F(StoreGatewaysTest, EachSeesTheOthersChangesAtOnceWithWholeSecondTimestamps) {
  fs_a_.SetTimeGranularity(1000000000);
  fs_b_.SetTimeGranularity(1000000000);
  ASSERT_TRUE(Put(*a_, "blob", "one").ok());
  auto first = a_->Head("ctr", "blob");
  ASSERT_TRUE(first.ok());
  // Changes within one tick of each other, alternating gateways: every
  // read through either sees the latest ETag and metadata.
  std::string last = first->rec.etag;
  for (int i = 0; i < 6; ++i) {
    Store& writer = i % 2 ? *a_ : *b_;
    Store& reader = i % 2 ? *b_ : *a_;
    ASSERT_TRUE(SetMeta(writer, "blob", "v" + std::to_string(i)).ok());
    auto seen = reader.Head("ctr", "blob");
    ASSERT_TRUE(seen.ok());
    EXPECT_NE(seen->rec.etag, last) << i;
    ASSERT_EQ(seen->rec.metadata.size(), 1u);
    EXPECT_EQ(seen->rec.metadata[0].second, "v" + std::to_string(i));
    auto again = writer.Head("ctr", "blob");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->rec.etag, seen->rec.etag);
    last = seen->rec.etag;
  }
}

TEST_F(StoreGatewaysTest, ARecordAnotherGatewayIsSealingIsNotTakenForAPosixChange) {
  ASSERT_TRUE(Put(*a_, "blob", "data").ok());
  std::string path = dir_.path() + "/ctr/blob";
  // While b seals a metadata update, its file's ctime moves past the bound
  // the record holds (as when the sealing thread is preempted), and a reads
  // the blob in that instant.
  std::atomic<bool> once{false};
  std::string seen_etag;
  Metadata seen_meta;
  fs_b_.SetAfter([&](const std::string& op, const std::string& p) {
    if (op != "setxattr" || p.find("/ctr/blob") == std::string::npos || once.exchange(true))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // past the seal's slack
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);                    // moves the ctime
    auto h = a_->Head("ctr", "blob");
    ASSERT_TRUE(h.ok());
    seen_etag = h->rec.etag;
    seen_meta = h->rec.metadata;
  });
  ASSERT_TRUE(SetMeta(*b_, "blob", "sealed").ok());
  fs_b_.SetAfter(nullptr);
  ASSERT_TRUE(once.load());
  // a took the record being written (its metadata), not a derived one.
  ASSERT_EQ(seen_meta.size(), 1u);
  EXPECT_EQ(seen_meta[0].second, "sealed");
  auto after = a_->Head("ctr", "blob");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->rec.etag, seen_etag);
}

TEST_F(StoreGatewaysTest, AGatewayStartingDoesNotClearAnothersUploads) {
  std::string staged = Stage(*a_, "in flight");
  auto c = Open(PosixFs());  // a third gateway starts
  EXPECT_NE(c->TmpDir(), a_->TmpDir());
  EXPECT_TRUE(Exists(staged));
  EXPECT_EQ(c->ReapDeadGateways(), 0u);
  EXPECT_TRUE(Exists(staged));
}

TEST_F(StoreGatewaysTest, WhatADeadGatewayStagedIsReapedByASurvivor) {
  // A gateway in a child process stages an upload and dies without a clean
  // stop (as SIGKILL leaves it).
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    Store s(PosixFs(), dir_.path(), false);
    std::string staged = s.Open().ok() ? Stage(s, "left behind") : "";
    if (::write(fds[1], staged.data(), staged.size()) < 0) ::_exit(1);
    ::_exit(0);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  std::string staged(buf, n > 0 ? static_cast<size_t>(n) : 0);
  ASSERT_FALSE(staged.empty());
  std::string dead_tmp = staged.substr(0, staged.rfind('/'));
  EXPECT_TRUE(Exists(staged));
  EXPECT_EQ(a_->ReapDeadGateways(), 1u);
  EXPECT_FALSE(Exists(staged));
  EXPECT_FALSE(Exists(dead_tmp));
  EXPECT_EQ(a_->ReapDeadGateways(), 0u);
}

TEST_F(StoreGatewaysTest, AGatewayThatStopsLeavesNeitherStagingNorRegistration) {
  std::string tmp = b_->TmpDir();
  std::string reg = dir_.path() + "/.strata/gateways/" + b_->coord().id();
  EXPECT_TRUE(Exists(tmp));
  EXPECT_TRUE(Exists(reg));
  b_.reset();
  EXPECT_FALSE(Exists(tmp));
  EXPECT_FALSE(Exists(reg));
  EXPECT_EQ(a_->ReapDeadGateways(), 0u);
}

TEST_F(StoreGatewaysTest, ConditionalCreatesOnTwoGatewaysLeaveOneWinner) {
  // If-None-Match: * as handlers do it: look under the lock, then commit.
  for (int trial = 0; trial < 50; ++trial) {
    std::string name = "race" + std::to_string(trial);
    std::atomic<int> created{0};
    auto create = [&](Store* s, const std::string& data) {
      auto lock = s->LockBlob("ctr", name);
      if (s->Head("ctr", name).ok()) return;
      if (s->Commit("ctr", name, Stage(*s, data), BlobRecord(), false).ok()) ++created;
    };
    std::thread t1(create, a_.get(), "from a");
    std::thread t2(create, b_.get(), "from b");
    t1.join();
    t2.join();
    EXPECT_EQ(created.load(), 1) << name;
  }
}

}  // namespace
}  // namespace strata::ns
