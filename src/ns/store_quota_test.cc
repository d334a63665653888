// Container limits shared by the gateways of one root: two Stores on one
// root are two gateways (their Coordination objects open their own file
// descriptions), each with its own threads, committing into one limited
// container. The usage ledger they share must keep the sum within the
// limit and exact.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs/testing/fault_fs.h"
#include "fs/testing/temp_dir.h"
#include "ns/store.h"

namespace strata::ns {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return "";
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? std::string(buf, n) : "";
}

// Files and bytes of the regular files under dir (what is really stored).
Usage OnDisk(const std::string& dir) {
  Usage u;
  auto entries = PosixFs()->ListDir(dir);
  if (!entries.ok()) return u;
  for (const auto& e : *entries) {
    if (e.is_dir) {
      Usage sub = OnDisk(dir + "/" + e.name);
      u.bytes += sub.bytes;
      u.files += sub.files;
    } else if (e.is_file) {
      auto st = PosixFs()->Stat(dir + "/" + e.name);
      if (st.ok()) {
        u.bytes += st->size;
        ++u.files;
      }
    }
  }
  return u;
}

class StoreQuotaTest : public ::testing::Test {
 protected:
  std::string Root() const { return dir_.path() + "/root"; }

  // A gateway on the root: "q" limited to 5000 bytes and 40 files, "r" to
  // 300 bytes, "ctr" unlimited.
  std::unique_ptr<Store> Gateway(Fs* fs = PosixFs()) {
    auto s = std::make_unique<Store>(fs, Root(), false);
    s->ConfigureContainer("q", {"", false, 5000, 40});
    s->ConfigureContainer("r", {"", false, 300, 0});
    Status st = s->Open();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }

  void OpenTwo() {
    a_ = Gateway();
    b_ = Gateway();
    ASSERT_TRUE(a_->coord().first());
    ASSERT_FALSE(b_->coord().first());
    for (const char* c : {"q", "r", "ctr"}) ASSERT_TRUE(a_->CreateContainer(c, {}).ok());
  }

  static std::string Stage(Store& s, const std::string& data) {
    std::string p = s.NewTempPath();
    auto f = PosixFs()->OpenWrite(p, true, true);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE((*f)->PWrite(data.data(), data.size(), 0).ok());
    return p;
  }

  // Put Blob as the handler does it (under the blob's lock).
  static Status Put(Store& s, const std::string& c, const std::string& b, const std::string& data) {
    std::string tmp = Stage(s, data);
    BlobRecord rec;
    rec.etag = NewEtag();
    auto l = s.LockBlob(c, b);
    Status st = s.Commit(c, b, tmp, rec, true);
    if (!st.ok()) (void)PosixFs()->Unlink(tmp);
    return st;
  }

  static Status PutBlock(Store& s, const std::string& c, const std::string& b,
                         const std::string& id, const std::string& data) {
    std::string tmp = Stage(s, data);
    auto l = s.LockBlob(c, b);
    Status st = s.StoreBlock(c, b, id, tmp);
    if (!st.ok()) (void)PosixFs()->Unlink(tmp);
    return st;
  }

  TempDir dir_;
  std::unique_ptr<Store> a_, b_;
};

TEST_F(StoreQuotaTest, TwoGatewaysCommittingAtOnceShareOneLimit) {
  OpenTwo();
  // 8 threads, half on each gateway, 100-byte blobs: 50 fit the byte limit
  // alone, 40 the file limit. Each gateway counting for itself would let 80
  // files in.
  constexpr int kThreads = 8, kEach = 20;
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& s = t % 2 ? *b_ : *a_;
      for (int i = 0; i < kEach; ++i) {
        // Some names collide across threads and gateways: overwrites.
        std::string name = "b" + std::to_string(i % 3 ? t * kEach + i : i);
        Status st = Put(s, "q", name, std::string(100, 'x'));
        if (st.ok()) {
          ++ok;
        } else if (st.kind() == ErrorKind::kQuotaExceeded) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  Usage disk = OnDisk(Root() + "/q");
  EXPECT_EQ(disk.files, 40u);
  EXPECT_EQ(disk.bytes, 4000u);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(other.load(), 0);
  // Both gateways read the same, exact usage.
  for (Store* s : {a_.get(), b_.get()}) {
    EXPECT_EQ(s->GetUsage("q")->files, disk.files);
    EXPECT_EQ(s->GetUsage("q")->bytes, disk.bytes);
  }
  // Refusals answer the same kind as with one gateway, from either.
  EXPECT_EQ(Put(*a_, "q", "more", "x").kind(), ErrorKind::kQuotaExceeded);
  EXPECT_EQ(Put(*b_, "q", "more", "x").kind(), ErrorKind::kQuotaExceeded);
  EXPECT_EQ(b_->CheckQuota("q", 0, 1).kind(), ErrorKind::kQuotaExceeded);
}

TEST_F(StoreQuotaTest, EveryChangeOfUsageInOneGatewayIsSeenByTheOther) {
  OpenTwo();
  // Uncommitted blocks through b count for a.
  ASSERT_TRUE(PutBlock(*b_, "r", "blk", "i1", std::string(200, 'b')).ok());
  EXPECT_EQ(a_->GetUsage("r")->bytes, 200u);
  EXPECT_EQ(Put(*a_, "r", "x", std::string(101, 'x')).kind(), ErrorKind::kQuotaExceeded);
  EXPECT_EQ(PutBlock(*a_, "r", "blk", "i2", std::string(101, 'b')).kind(),
            ErrorKind::kQuotaExceeded);
  // Dropping them in a frees their room for b.
  ASSERT_TRUE(a_->DropBlocks("r", "blk").ok());
  EXPECT_EQ(b_->GetUsage("r")->bytes, 0u);
  ASSERT_TRUE(Put(*b_, "r", "x", std::string(250, 'x')).ok());
  // A delete through a frees room for b.
  EXPECT_EQ(Put(*b_, "r", "y", std::string(100, 'y')).kind(), ErrorKind::kQuotaExceeded);
  ASSERT_TRUE(a_->DeleteBlob("r", "x").ok());
  ASSERT_TRUE(Put(*b_, "r", "y", std::string(100, 'y')).ok());
  // Appends through a reserve against b's commits.
  {
    std::string more = Stage(*a_, std::string(201, 'm'));
    auto src = PosixFs()->OpenRead(more);
    ASSERT_TRUE(src.ok());
    EXPECT_EQ(a_->AppendFrom("r", "y", **src, 201, BlobRecord()).kind(), ErrorKind::kQuotaExceeded);
    ASSERT_TRUE(a_->AppendFrom("r", "y", **src, 150, BlobRecord()).ok());
  }
  EXPECT_EQ(b_->GetUsage("r")->bytes, 250u);
  // A move between limited containers through b: out of r, into q, each
  // seen by a.
  ASSERT_TRUE(b_->RenamePath("r", "y", "q", "moved").ok());
  EXPECT_EQ(a_->GetUsage("r")->bytes, 0u);
  EXPECT_EQ(a_->GetUsage("q")->bytes, 250u);
  EXPECT_EQ(a_->GetUsage("q")->files, 1u);
  // ...and refused when it would not fit: 301 bytes into r.
  ASSERT_TRUE(Put(*a_, "q", "big", std::string(301, 'g')).ok());
  EXPECT_EQ(b_->RenamePath("q", "big", "r", "big").kind(), ErrorKind::kQuotaExceeded);
  EXPECT_TRUE(Exists(Root() + "/q/big"));
  // A recursive dfs delete through a.
  ASSERT_TRUE(Put(*b_, "q", "dir/one", std::string(10, '1')).ok());
  ASSERT_TRUE(Put(*b_, "q", "dir/sub/two", std::string(20, '2')).ok());
  EXPECT_EQ(a_->GetUsage("q")->bytes, 250u + 301 + 30);
  ASSERT_TRUE(a_->DeletePath("q", "dir", true).ok());
  EXPECT_EQ(b_->GetUsage("q")->bytes, 250u + 301);
  EXPECT_EQ(b_->GetUsage("q")->files, 2u);
  // A container deleted through a starts from zero in b.
  ASSERT_TRUE(a_->DeleteContainer("q").ok());
  ASSERT_TRUE(b_->CreateContainer("q", {}).ok());
  EXPECT_EQ(b_->GetUsage("q")->bytes, 0u);
  EXPECT_EQ(a_->GetUsage("q")->files, 0u);
  for (const char* c : {"q", "r"}) {
    Usage disk = OnDisk(Root() + "/" + c);
    EXPECT_EQ(a_->GetUsage(c)->bytes, disk.bytes) << c;
    EXPECT_EQ(a_->GetUsage(c)->files, disk.files) << c;
  }
}

TEST_F(StoreQuotaTest, UnlimitedContainersHaveNoLedger) {
  OpenTwo();
  ASSERT_TRUE(Put(*a_, "ctr", "x", std::string(100, 'x')).ok());
  ASSERT_TRUE(a_->DeleteBlob("ctr", "x").ok());
  EXPECT_TRUE(Exists(Root() + "/.strata/usage/q"));
  EXPECT_FALSE(Exists(Root() + "/.strata/usage/ctr"));
  EXPECT_FALSE(a_->GetUsage("ctr"));
}

TEST_F(StoreQuotaTest, OnlyAFirstGatewayRecounts) {
  OpenTwo();
  ASSERT_TRUE(Put(*a_, "q", "x", std::string(100, 'x')).ok());
  // Written with plain tools while gateways run: not counted by a gateway
  // that joins them...
  {
    auto f = PosixFs()->OpenWrite(Root() + "/q/plain", true, true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->PWrite(std::string(50, 'p').data(), 50, 0).ok());
  }
  auto c = Gateway();
  EXPECT_FALSE(c->coord().first());
  EXPECT_EQ(c->GetUsage("q")->bytes, 100u);
  // ...but by the first one after all have stopped.
  a_.reset();
  b_.reset();
  c.reset();
  auto d = Gateway();
  EXPECT_TRUE(d->coord().first());
  EXPECT_EQ(d->GetUsage("q")->bytes, 150u);
  EXPECT_EQ(d->GetUsage("q")->files, 2u);
}

TEST_F(StoreQuotaTest, ALimitDroppedAndSetAgainStartsFromACount) {
  OpenTwo();
  ASSERT_TRUE(Put(*a_, "r", "x", std::string(100, 'x')).ok());
  a_.reset();
  b_.reset();
  // Gateways configured without r's limit: its ledger goes, and their
  // writes are not counted anywhere...
  {
    Store s(PosixFs(), Root(), false);
    ASSERT_TRUE(s.Open().ok());
    EXPECT_FALSE(Exists(Root() + "/.strata/usage/r"));
    EXPECT_FALSE(Exists(Root() + "/.strata/usage/q"));
    ASSERT_TRUE(Put(s, "r", "y", std::string(150, 'y')).ok());
    // ...until a gateway with the limit joins them: it counts afresh.
    auto limited = Gateway();
    EXPECT_FALSE(limited->coord().first());
    EXPECT_EQ(limited->GetUsage("r")->bytes, 250u);
  }
}

TEST_F(StoreQuotaTest, ALedgerRemovedByHandIsCountedAgain) {
  OpenTwo();
  ASSERT_TRUE(Put(*a_, "q", "x", std::string(100, 'x')).ok());
  ASSERT_TRUE(PutBlock(*b_, "q", "blk", "i1", std::string(7, 'b')).ok());
  // (The open descriptors still write the unlinked file; a damaged one is
  // what a gateway can meet.)
  {
    auto f = PosixFs()->OpenWrite(Root() + "/.strata/usage/q", false, false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->PWrite("garbage", 7, 0).ok());
  }
  EXPECT_EQ(b_->GetUsage("q")->bytes, 107u);
  EXPECT_EQ(a_->GetUsage("q")->files, 1u);
}

TEST_F(StoreQuotaTest, TheLedgerCountsACommitBeforeItsRenameAndNotAfterAFailedOne) {
  FaultFs fs;
  a_ = Gateway(&fs);
  ASSERT_TRUE(a_->CreateContainer("q", {}).ok());
  const std::string ledger = Root() + "/.strata/usage/q";
  ASSERT_TRUE(Put(*a_, "q", "x", std::string(100, 'x')).ok());
  // The moment the rename lands, the ledger already holds the new blob: a
  // gateway killed right there leaves it over, never under.
  std::string seen;
  fs.SetAfter([&](const std::string& op, const std::string& path) {
    if (op == "rename" && path == Root() + "/q/y") seen = ReadFile(ledger);
  });
  ASSERT_TRUE(Put(*a_, "q", "y", std::string(50, 'y')).ok());
  fs.SetAfter(nullptr);
  EXPECT_EQ(seen.substr(0, 41), "00000000000000000150 00000000000000000002");
  // A rename that fails puts the ledger back.
  fs.SetPathFilter("/q/z");
  fs.SetRenameErrno(EIO);
  EXPECT_FALSE(Put(*a_, "q", "z", std::string(10, 'z')).ok());
  fs.Heal();
  EXPECT_EQ(a_->GetUsage("q")->bytes, 150u);
  EXPECT_EQ(a_->GetUsage("q")->files, 2u);
  a_.reset();  // stops on fs, which goes first
}

TEST_F(StoreQuotaTest, ACommitUnderABlobLockOnTheQuotaLocksStripeGoesThrough) {
  OpenTwo();
  // A blob whose lock falls on the stripe the container's quota key hashes
  // to: the quota lock must not wait on that stripe (held by this thread).
  using Space = Coordination::Space;
  const uint64_t quota = Coordination::Offset(Space::kQuota, "q") % 256;
  std::string name;
  for (int i = 0; i < 100000 && name.empty(); ++i) {
    std::string b = "s" + std::to_string(i);
    if (Coordination::Offset(Space::kBlob, Store::BlobLockKey("q", b)) % 256 == quota) name = b;
  }
  ASSERT_FALSE(name.empty());
  ASSERT_TRUE(Put(*a_, "q", name, "x").ok());
  EXPECT_EQ(b_->GetUsage("q")->files, 1u);
}

TEST_F(StoreQuotaTest, AGatewayKilledHoldingTheQuotaLockReleasesIt) {
  a_ = Gateway();
  ASSERT_TRUE(a_->CreateContainer("q", {}).ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Another gateway: joins the root, takes q's quota lock, and is killed
    // holding it.
    Store s(PosixFs(), Root(), false);
    s.ConfigureContainer("q", {"", false, 5000, 40});
    if (!s.Open().ok()) ::_exit(1);
    std::mutex mu;
    auto g = s.coord().Lock(Coordination::Space::kQuota, "q", &mu);
    (void)!::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_TRUE(a_->coord().HeldElsewhere(Coordination::Space::kQuota, "q"));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_FALSE(a_->coord().HeldElsewhere(Coordination::Space::kQuota, "q"));
  ASSERT_TRUE(Put(*a_, "q", "after", std::string(10, 'a')).ok());
  EXPECT_EQ(a_->GetUsage("q")->bytes, 10u);
}

}  // namespace
}  // namespace strata::ns
