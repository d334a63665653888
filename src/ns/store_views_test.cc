// Store views (containers over other directories) and per-container limits:
// where a view's names and staging live, what stays hidden, and usage that
// stays exact under concurrent commits, overwrites, appends and deletes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fs/testing/temp_dir.h"
#include "ns/store.h"

namespace strata::ns {
namespace {

void PosixWrite(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class StoreViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    view_ = dir_.path() + "/dataset";
    ASSERT_EQ(::mkdir(view_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((view_ + "/d").c_str(), 0755), 0);
    PosixWrite(view_ + "/d/f.txt", "in the view");
    ASSERT_EQ(::symlink("/etc", (view_ + "/out").c_str()), 0);
  }

  void OpenStore(std::vector<std::pair<std::string, ContainerConfig>> configs) {
    store_ = std::make_unique<Store>(PosixFs(), dir_.path() + "/root", false);
    for (auto& [name, cfg] : configs) store_->ConfigureContainer(name, cfg);
    ASSERT_TRUE(store_->Open().ok());
  }

  // Stages `data` where uploads to container c are staged.
  std::string Stage(const std::string& c, const std::string& data) {
    std::string p = store_->NewTempPath(c);
    auto f = PosixFs()->OpenWrite(p, true, true);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE((*f)->PWrite(data.data(), data.size(), 0).ok());
    return p;
  }

  Status Put(const std::string& c, const std::string& b, const std::string& data) {
    std::string tmp = Stage(c, data);
    BlobRecord rec;
    rec.etag = NewEtag();
    Status s = store_->Commit(c, b, tmp, rec, false);
    if (!s.ok()) (void)PosixFs()->Unlink(tmp);
    return s;
  }

  TempDir dir_;
  std::string view_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreViewsTest, ReadOnlyViewServesTheTreeInPlace) {
  OpenStore({{"dataset", {view_, true, 0, 0}}});
  EXPECT_TRUE(store_->IsView("dataset"));
  EXPECT_TRUE(store_->IsReadOnly("dataset"));
  EXPECT_FALSE(Exists(view_ + "/.strata"));  // a read-only view gets nothing written
  auto names = store_->ContainerNames();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"dataset"});
  auto h = store_->Head("dataset", "d/f.txt");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->st.size, 11u);
  auto o = store_->Open("dataset", "d/f.txt");
  ASSERT_TRUE(o.ok());
  // Nothing through the link out of the view.
  EXPECT_EQ(store_->Head("dataset", "out/hostname").status().kind(), ErrorKind::kNotFound);
  EXPECT_FALSE(store_->Open("dataset", "out/hostname").ok());
  auto page = store_->List("dataset", "", "", "", 100);
  ASSERT_TRUE(page.ok());
  std::vector<std::string> listed;
  for (const auto& it : page->items) listed.push_back(it.name);
  EXPECT_EQ(listed, (std::vector<std::string>{"d", "d/f.txt"}));
  EXPECT_EQ(store_->DeleteContainer("dataset").kind(), ErrorKind::kPermission);
  EXPECT_TRUE(Exists(view_ + "/d/f.txt"));
}

TEST_F(StoreViewsTest, WritableViewStagesOnItsOwnFileSystemAndHidesIt) {
  OpenStore({{"dataset", {view_, false, 0, 0}}});
  EXPECT_EQ(store_->TmpDir("dataset"), view_ + "/.strata/tmp/" + store_->coord().id());
  EXPECT_EQ(store_->TmpDir("other"), store_->TmpDir());
  EXPECT_EQ(store_->NewTempPath("dataset").rfind(view_ + "/.strata/tmp/", 0), 0u);
  ASSERT_TRUE(Put("dataset", "new/blob", "fresh").ok());
  EXPECT_TRUE(Exists(view_ + "/new/blob"));
  EXPECT_TRUE(store_->IsReservedName("dataset", ".strata"));
  EXPECT_TRUE(store_->IsReservedName("dataset", ".strata/tmp/x"));
  EXPECT_FALSE(store_->IsReservedName("dataset", ".strata2"));
  EXPECT_FALSE(store_->IsReservedName("plain", ".strata"));
  auto page = store_->List("dataset", "", "", "", 100);
  ASSERT_TRUE(page.ok());
  for (const auto& it : page->items) EXPECT_NE(it.name.rfind(".strata", 0), 0u) << it.name;
  auto paths = store_->ListPaths("dataset", "", true, "", 100);
  ASSERT_TRUE(paths.ok());
  for (const auto& p : paths->items) EXPECT_NE(p.name.rfind(".strata", 0), 0u) << p.name;
  // Blocks of a view's blobs live in the view too.
  std::string tmp = Stage("dataset", "block");
  ASSERT_TRUE(store_->StoreBlock("dataset", "b", "id1", tmp).ok());
  EXPECT_EQ(store_->BlockPath("dataset", "b", "id1").rfind(view_ + "/.strata/blocks/", 0), 0u);
  EXPECT_EQ(store_->UncommittedBlobNames("dataset"), std::vector<std::string>{"b"});
}

TEST_F(StoreViewsTest, MissingViewDirectoryFailsOpen) {
  store_ = std::make_unique<Store>(PosixFs(), dir_.path() + "/root", false);
  store_->ConfigureContainer("gone", {dir_.path() + "/nope", false, 0, 0});
  EXPECT_FALSE(store_->Open().ok());
}

TEST_F(StoreViewsTest, UsageCountsCommitsOverwritesAppendsAndDeletes) {
  OpenStore({{"dataset", {view_, false, 100, 3}}, {"plain", {"", false, 50, 0}}});
  ASSERT_EQ(store_->GetUsage("dataset")->bytes, 11u);  // the walk at open
  ASSERT_EQ(store_->GetUsage("dataset")->files, 1u);
  // A writable view keeps its usage ledger beside its staging area.
  EXPECT_TRUE(Exists(view_ + "/.strata/usage"));
  EXPECT_FALSE(Exists(dir_.path() + "/root/.strata/usage/dataset"));
  ASSERT_TRUE(store_->CreateContainer("plain", ContainerRecord()).ok());
  EXPECT_FALSE(store_->GetUsage("other"));
  ASSERT_TRUE(Put("plain", "a", std::string(30, 'a')).ok());
  EXPECT_EQ(Put("plain", "b", std::string(21, 'b')).kind(), ErrorKind::kQuotaExceeded);
  EXPECT_FALSE(Exists(dir_.path() + "/root/plain/b"));
  ASSERT_TRUE(Put("plain", "a", std::string(50, 'A')).ok());  // replaces: 50 in all
  EXPECT_EQ(store_->GetUsage("plain")->bytes, 50u);
  EXPECT_EQ(store_->GetUsage("plain")->files, 1u);
  ASSERT_TRUE(store_->DeleteBlob("plain", "a").ok());
  EXPECT_EQ(store_->GetUsage("plain")->bytes, 0u);
  EXPECT_EQ(store_->GetUsage("plain")->files, 0u);
  // Appends reserve their bytes; a refused one changes nothing.
  ASSERT_TRUE(Put("plain", "log", std::string(40, 'l')).ok());
  std::string more = Stage("plain", std::string(11, 'm'));
  auto src = PosixFs()->OpenRead(more);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(store_->AppendFrom("plain", "log", **src, 11, BlobRecord()).kind(),
            ErrorKind::kQuotaExceeded);
  EXPECT_EQ(store_->Head("plain", "log")->st.size, 40u);
  EXPECT_EQ(store_->GetUsage("plain")->bytes, 40u);
  EXPECT_TRUE(store_->AppendFrom("plain", "log", **src, 10, BlobRecord()).ok());
  EXPECT_EQ(store_->GetUsage("plain")->bytes, 50u);
  // The file limit of the view: 1 there, 2 more fit, the 4th does not.
  ASSERT_TRUE(Put("dataset", "x", "1").ok());
  ASSERT_TRUE(Put("dataset", "y", "2").ok());
  EXPECT_EQ(Put("dataset", "z", "3").kind(), ErrorKind::kQuotaExceeded);
  EXPECT_EQ(store_->CheckQuota("dataset", 0, 1).kind(), ErrorKind::kQuotaExceeded);
  EXPECT_TRUE(store_->CheckQuota("dataset", 10, 0).ok());
  // A recursive delete gives the whole tree back.
  ASSERT_TRUE(store_->DeletePath("dataset", "d", true).ok());
  EXPECT_EQ(store_->GetUsage("dataset")->files, 2u);
  EXPECT_EQ(store_->GetUsage("dataset")->bytes, 2u);
  // A rename within the container that replaces a file drops the replaced one.
  ASSERT_TRUE(store_->RenamePath("dataset", "x", "dataset", "y").ok());
  EXPECT_EQ(store_->GetUsage("dataset")->files, 1u);
  EXPECT_EQ(store_->GetUsage("dataset")->bytes, 1u);
  ASSERT_TRUE(Put("dataset", "x", "1").ok());
  // Nothing of the view's own staging area is a name.
  EXPECT_EQ(store_->Head("dataset", ".strata/tmp").status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->HeadPath("dataset", ".strata").status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->ListPaths("dataset", ".strata", true, "", 10).status().kind(),
            ErrorKind::kNotFound);
  {
    auto f = PosixFs()->OpenWrite(view_ + "/.strata/tmp/in-flight", true, true);
    ASSERT_TRUE(f.ok());
  }
  for (const char* prefix : {".strata/", ".strata/tmp/", ".strata/blocks/"}) {
    auto page = store_->List("dataset", prefix, "", "", 10);
    ASSERT_TRUE(page.ok());
    EXPECT_TRUE(page->items.empty()) << prefix;
  }
  // Deleting the container resets its usage.
  ASSERT_TRUE(store_->DeleteContainer("plain").ok());
  ASSERT_TRUE(store_->CreateContainer("plain", ContainerRecord()).ok());
  EXPECT_EQ(store_->GetUsage("plain")->bytes, 0u);
}

TEST_F(StoreViewsTest, ConcurrentCommitsNeverPassTheLimit) {
  OpenStore({{"plain", {"", false, 5000, 0}}});
  ASSERT_TRUE(store_->CreateContainer("plain", ContainerRecord()).ok());
  constexpr int kThreads = 8, kEach = 12;  // 96 blobs of 100 bytes; 50 fit
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Half the names collide across threads: overwrites count no new bytes.
        std::string name = "b" + std::to_string(i % 2 ? t * kEach + i : i);
        if (Put("plain", name, std::string(100, 'x')).ok()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  // What is on disk is what was counted, and within the limit.
  auto entries = PosixFs()->ListDir(dir_.path() + "/root/plain");
  ASSERT_TRUE(entries.ok());
  uint64_t files = 0;
  for (const auto& e : *entries) files += e.is_file;
  EXPECT_EQ(store_->GetUsage("plain")->files, files);
  EXPECT_EQ(store_->GetUsage("plain")->bytes, files * 100);
  EXPECT_EQ(files, 50u);
  EXPECT_GT(ok.load(), 50);
  EXPECT_EQ(PosixFs()->ListDir(store_->TmpDir())->size(), 0u);
}

}  // namespace
}  // namespace strata::ns
