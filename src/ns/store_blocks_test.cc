// Uncommitted blocks, counted: the per-blob tally that makes Put Block cost
// the same whatever the number of blocks, the limit of uncommitted blocks per
// blob, uncommitted bytes counted against a container's byte limit (and given
// back by commits, drops and expiry), and one count for several stores
// (gateways) sharing a root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "common/strings.h"
#include "fs/testing/temp_dir.h"
#include "ns/store.h"

namespace strata::ns {
namespace {

// Counts the calls that grow with a directory's size.
class CountingFs : public FsWrapper {
 public:
  CountingFs() : FsWrapper(PosixFs()) {}
  Result<std::vector<DirEntry>> ListDir(const std::string& p) override {
    ++list_dirs;
    return FsWrapper::ListDir(p);
  }
  Result<FileStat> Stat(const std::string& p) override {
    ++stats;
    return FsWrapper::Stat(p);
  }
  std::atomic<int> list_dirs{0}, stats{0};
};

class StoreBlocksTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Opens (again) a store on the root; container "q" has a byte limit of
  // 1000 and "ctr" none.
  void Reopen(uint64_t max_blocks = Store::kMaxUncommittedBlocks) {
    store_ = MakeStore(max_blocks);
    ASSERT_TRUE(store_->Open().ok());
    for (const char* c : {"ctr", "q"}) {
      if (!store_->GetContainer(c).ok()) {
        ASSERT_TRUE(store_->CreateContainer(c, ContainerRecord()).ok());
      }
    }
  }

  std::unique_ptr<Store> MakeStore(uint64_t max_blocks = Store::kMaxUncommittedBlocks) {
    auto s = std::make_unique<Store>(&fs_, dir_.path() + "/root", false);
    ContainerConfig q;
    q.max_bytes = 1000;
    s->ConfigureContainer("q", q);
    s->SetMaxUncommittedBlocks(max_blocks);
    return s;
  }

  std::string Stage(const std::string& data, Store* s = nullptr) {
    s = s ? s : store_.get();
    std::string p = s->NewTempPath();
    auto f = PosixFs()->OpenWrite(p, true, true);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE((*f)->PWrite(data.data(), data.size(), 0).ok());
    return p;
  }

  // Put Block as the handler does it.
  Status PutBlock(const std::string& c, const std::string& b, const std::string& id,
                  const std::string& data, Store* s = nullptr) {
    s = s ? s : store_.get();
    std::string tmp = Stage(data, s);
    auto l = s->LockBlob(c, b);
    Status st = s->StoreBlock(c, b, id, tmp);
    if (!st.ok()) (void)PosixFs()->Unlink(tmp);
    return st;
  }

  BlockTally Tally(const std::string& c, const std::string& b) {
    auto t = store_->UncommittedTally(c, b);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : BlockTally{};
  }

  uint64_t UsedBytes(const std::string& c) { return store_->GetUsage(c)->bytes; }

  size_t TmpEntries() {
    auto e = PosixFs()->ListDir(store_->TmpDir());
    return e.ok() ? e->size() : 0;
  }

  TempDir dir_;
  CountingFs fs_;
  std::unique_ptr<Store> store_;
};

std::string Id(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "blk-%06d", i);
  return buf;
}

TEST_F(StoreBlocksTest, TallyCountsBlocksBytesAndReplacements) {
  EXPECT_EQ(Tally("ctr", "b").count, 0u);
  ASSERT_TRUE(PutBlock("ctr", "b", Id(0), "aaaa").ok());
  ASSERT_TRUE(PutBlock("ctr", "b", Id(1), "bb").ok());
  ASSERT_TRUE(PutBlock("ctr", "b", Id(0), "cccccc").ok());  // replaces block 0
  BlockTally t = Tally("ctr", "b");
  EXPECT_EQ(t.count, 2u);
  EXPECT_EQ(t.bytes, 8u);
  EXPECT_EQ(t.id_len, Id(0).size());
  EXPECT_EQ(store_->UncommittedBlocks("ctr", "b")->size(), 2u);
  ASSERT_TRUE(store_->DropBlocks("ctr", "b").ok());
  EXPECT_EQ(Tally("ctr", "b").count, 0u);
}

// Put Block reads the tally and looks its id up by name: no listing of the
// blob's blocks, and as many lookups with 1,000 blocks as with one.
TEST_F(StoreBlocksTest, PutBlockCostsTheSameWhateverTheNumberOfBlocks) {
  ASSERT_TRUE(PutBlock("ctr", "few", Id(0), "x").ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(PutBlock("ctr", "many", Id(i), "x").ok());
  auto cost = [&](const std::string& b, int i) {
    fs_.list_dirs = 0;
    fs_.stats = 0;
    EXPECT_EQ(Tally("ctr", b).id_len, Id(0).size());
    EXPECT_TRUE(PutBlock("ctr", b, Id(i), "y").ok());
    return std::make_pair(fs_.list_dirs.load(), fs_.stats.load());
  };
  auto few = cost("few", 1);
  auto many = cost("many", 1000);
  EXPECT_EQ(many.first, 0);  // no ListDir
  EXPECT_EQ(few.first, 0);
  EXPECT_EQ(many.second, few.second);
  EXPECT_LE(many.second, 6);
  EXPECT_EQ(Tally("ctr", "many").count, 1001u);
}

TEST_F(StoreBlocksTest, NoMoreThanTheLimitOfUncommittedBlocks) {
  Reopen(/*max_blocks=*/3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PutBlock("ctr", "b", Id(i), "x").ok());
  EXPECT_EQ(store_->CheckBlockRoom("ctr", "b", Id(3), 1).kind(), ErrorKind::kLimitReached);
  std::string tmp = Stage("over");
  Status s = store_->StoreBlock("ctr", "b", Id(3), tmp);
  EXPECT_EQ(s.kind(), ErrorKind::kLimitReached) << s.ToString();
  EXPECT_TRUE(PosixFs()->Stat(tmp).ok());  // left for the caller
  (void)PosixFs()->Unlink(tmp);
  EXPECT_EQ(store_->UncommittedBlocks("ctr", "b")->size(), 3u);
  // A block of an id already there replaces it: no new block.
  EXPECT_TRUE(store_->CheckBlockRoom("ctr", "b", Id(1), 5).ok());
  ASSERT_TRUE(PutBlock("ctr", "b", Id(1), "again").ok());
  EXPECT_EQ(Tally("ctr", "b").count, 3u);
  // Other blobs have their own count.
  ASSERT_TRUE(PutBlock("ctr", "other", Id(3), "x").ok());
  // Committing (or dropping) the blocks makes room again.
  ASSERT_TRUE(store_->DropBlocks("ctr", "b").ok());
  ASSERT_TRUE(PutBlock("ctr", "b", Id(3), "x").ok());
  EXPECT_EQ(TmpEntries(), 0u);
}

// A block directory written by an older strata has no tally: it is counted
// once, then kept.
TEST_F(StoreBlocksTest, AMissingTallyIsRebuiltFromTheBlocks) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(PutBlock("ctr", "b", Id(i), std::string(i + 1, 'x')).ok());
  std::string dir = store_->BlockPath("ctr", "b", Id(0));
  dir.resize(dir.rfind('/'));
  ASSERT_EQ(::unlink((dir + "/.tally").c_str()), 0);
  BlockTally t = Tally("ctr", "b");
  EXPECT_EQ(t.count, 5u);
  EXPECT_EQ(t.bytes, 15u);
  EXPECT_TRUE(PosixFs()->Stat(dir + "/.tally").ok());
  ASSERT_TRUE(PutBlock("ctr", "b", Id(5), "y").ok());
  EXPECT_EQ(Tally("ctr", "b").count, 6u);
}

// Uncommitted bytes count against the container's byte limit from Put Block
// on; a commit's bytes replace them (never both at once); drops, deletes and
// expiry give them back; a restart counts them again.
TEST_F(StoreBlocksTest, UncommittedBytesCountAgainstTheByteLimit) {
  ASSERT_TRUE(PutBlock("q", "b", Id(0), std::string(600, 'a')).ok());
  EXPECT_EQ(UsedBytes("q"), 600u);
  EXPECT_EQ(store_->CheckBlockRoom("q", "b", Id(1), 401).kind(), ErrorKind::kQuotaExceeded);
  Status s = PutBlock("q", "b", Id(1), std::string(401, 'b'));
  EXPECT_EQ(s.kind(), ErrorKind::kQuotaExceeded) << s.ToString();
  EXPECT_EQ(Tally("q", "b").count, 1u);  // nothing changed
  EXPECT_EQ(store_->UncommittedBlocks("q", "b")->size(), 1u);
  EXPECT_EQ(UsedBytes("q"), 600u);
  EXPECT_EQ(TmpEntries(), 0u);
  // A replacement counts the difference.
  ASSERT_TRUE(PutBlock("q", "b", Id(0), std::string(700, 'a')).ok());
  ASSERT_TRUE(PutBlock("q", "b", Id(1), std::string(300, 'b')).ok());
  EXPECT_EQ(UsedBytes("q"), 1000u);
  // The commit of the 1000 bytes fits: they replace the uncommitted ones.
  BlobRecord rec;
  rec.etag = NewEtag();
  ASSERT_TRUE(store_->Commit("q", "b", Stage(std::string(1000, 'c')), rec, true).ok());
  EXPECT_EQ(UsedBytes("q"), 1000u);
  EXPECT_EQ(Tally("q", "b").count, 0u);
  ASSERT_TRUE(store_->DeleteBlob("q", "b").ok());
  EXPECT_EQ(UsedBytes("q"), 0u);
  // Drops and deletes give uncommitted bytes back.
  ASSERT_TRUE(PutBlock("q", "x", Id(0), std::string(400, 'x')).ok());
  ASSERT_TRUE(store_->DropBlocks("q", "x").ok());
  EXPECT_EQ(UsedBytes("q"), 0u);
  ASSERT_TRUE(PutBlock("q", "y", Id(0), std::string(300, 'y')).ok());
  ASSERT_TRUE(PutBlock("q", "z", Id(0), std::string(200, 'z')).ok());
  EXPECT_EQ(UsedBytes("q"), 500u);
  // A restart counts them with the files.
  Reopen();
  EXPECT_EQ(UsedBytes("q"), 500u);
  // Expiry gives them back.
  const TimeNs day = 24LL * 3600 * 1000000000LL;
  EXPECT_EQ(store_->ExpireBlocks(NowNs() + 8 * day), 2u);
  EXPECT_EQ(UsedBytes("q"), 0u);
  // Blocks of unlimited containers are never counted.
  ASSERT_TRUE(PutBlock("ctr", "big", Id(0), std::string(2000, 'u')).ok());
  EXPECT_EQ(UsedBytes("q"), 0u);
}

// A block replaced while its bytes lay in the assembly file gives that range
// back, so uploading one id again and again cannot fill the disk.
TEST_F(StoreBlocksTest, AReplacedInPlaceBlockGivesItsRangeBack) {
  auto write = [&](const std::string& id, const std::string& data) {
    auto slot = store_->ReserveBlock("ctr", "p", data.size());
    ASSERT_TRUE(slot);
    ASSERT_EQ(::pwrite(slot->fd(), data.data(), data.size(), static_cast<off_t>(slot->offset())),
              static_cast<ssize_t>(data.size()));
    auto l = store_->LockBlob("ctr", "p");
    ASSERT_TRUE(store_->StoreBlockSlot("ctr", "p", id, *slot).ok());
  };
  const std::string first(64 << 10, 'a'), second(64 << 10, 'b');
  write(Id(0), first);
  write(Id(0), second);
  auto blk = store_->OpenBlock("ctr", "p", Id(0));
  ASSERT_TRUE(blk.ok());
  EXPECT_EQ(blk->second, first.size());  // the second range
  std::string head(first.size(), '?');
  ASSERT_EQ(blk->first->PRead(head.data(), head.size(), 0).value(), head.size());
  EXPECT_EQ(head.find_first_not_of('\0'), std::string::npos);  // the first range, punched
  std::string now(second.size(), '?');
  ASSERT_EQ(blk->first->PRead(now.data(), now.size(), blk->second).value(), now.size());
  EXPECT_TRUE(now == second);
  EXPECT_EQ(Tally("ctr", "p").bytes, second.size());
}

// Two stores on one root (two gateways) storing blocks of one blob at once:
// the tally stays exact, since every update holds the tally file's lock.
TEST_F(StoreBlocksTest, GatewaysSharingARootKeepOneExactCount) {
  auto other = MakeStore();
  ASSERT_TRUE(other->Open().ok());
  constexpr int kThreads = 4, kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store* s = t % 2 ? other.get() : store_.get();
      for (int i = 0; i < kPerThread; ++i) {
        std::string tmp = Stage("z", s);
        // Only this process's lock of its own store: the stores do not
        // share in-process locks, as gateways do not.
        auto l = s->LockBlob("q", "shared");
        if (!s->StoreBlock("q", "shared", Id(t * kPerThread + i), tmp).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  BlockTally t = Tally("q", "shared");
  EXPECT_EQ(t.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(t.bytes, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(store_->UncommittedBlocks("q", "shared")->size(),
            static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace strata::ns
