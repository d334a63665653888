// Store over a real directory tree (and over FaultFs for faults): containers,
// atomic commit with its record, name conflicts, sidecars, POSIX-written and
// POSIX-modified files, symlink confinement, uncommitted blocks, ENOSPC/EIO.
#include "ns/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "fs/testing/fault_fs.h"
#include "fs/testing/temp_dir.h"
#include "ns/names.h"

namespace strata::ns {
namespace {

constexpr char kRecordXattr[] = "user.strata.rec";

// Writes a file with POSIX calls, bypassing strata.
void PosixWrite(const std::string& path, const std::string& data, int flags = O_TRUNC) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | flags, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::string PosixRead(const std::string& path) {
  auto f = PosixFs()->OpenRead(path);
  if (!f.ok()) return "<" + f.status().ToString() + ">";
  auto st = (*f)->Stat();
  std::string out(st->size, '\0');
  auto n = (*f)->PRead(out.data(), out.size(), 0);
  out.resize(n.ok() ? *n : 0);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

size_t CountEntries(const std::string& dir) {
  auto e = PosixFs()->ListDir(dir);
  return e.ok() ? e->size() : 0;
}

BlobRecord MakeRecord(const std::string& data) {
  BlobRecord r;
  r.content_type = "text/plain";
  r.content_md5 = Md5(data);
  r.metadata = {{"owner", "test"}, {"b", "2"}};
  r.etag = NewEtag();
  r.last_modified = NowNs();
  r.created = r.last_modified;
  return r;
}

// A record too large for the xattr: 100 committed blocks with 64-byte ids.
BlobRecord BigRecord(const std::string& data) {
  BlobRecord r = MakeRecord(data);
  for (int i = 0; i < 100; ++i) {
    std::string id(64, static_cast<char>(i));
    id[0] = '\0';
    id[63] = '\xff';
    r.committed_blocks.push_back({id, data.size() / 100});
  }
  EXPECT_GT(r.Pack().size(), 3000u);
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(bool sync = false) {
    store_ = std::make_unique<Store>(&fs_, dir_.path() + "/root", sync);
    ASSERT_TRUE(store_->Open().ok());
    if (!Exists(root() + "/ctr")) {
      ASSERT_TRUE(store_->CreateContainer("ctr", ContainerRecord()).ok());
    }
  }

  const std::string& root() { return store_->root(); }
  std::string Path(const std::string& b) { return root() + "/ctr/" + b; }
  std::string Sidecars() { return root() + "/.strata/sidecar"; }

  // Stages `data` in the store's tmp dir, as a handler does.
  std::string Stage(const std::string& data, const std::string& name = "") {
    std::string p = name.empty() ? store_->NewTempPath() : store_->TmpDir() + "/" + name;
    auto f = PosixFs()->OpenWrite(p, true, true);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE((*f)->PWrite(data.data(), data.size(), 0).ok());
    return p;
  }

  Status Put(const std::string& b, const std::string& data, const BlobRecord& rec) {
    std::string tmp = Stage(data);
    Status s = store_->Commit("ctr", b, tmp, rec, false);
    if (!s.ok()) (void)PosixFs()->Unlink(tmp);
    return s;
  }

  BlobInfo MustHead(const std::string& b) {
    auto h = store_->Head("ctr", b);
    EXPECT_TRUE(h.ok()) << b << ": " << h.status().ToString();
    return h.ok() ? *h : BlobInfo();
  }

  TempDir dir_;
  FaultFs fs_;
  std::unique_ptr<Store> store_;
};

// ------------------------------------------------------------------ Open

TEST_F(StoreTest, OpenCreatesLayoutAndEmptiesTmp) {
  for (const char* d : {"/.strata/tmp", "/.strata/blocks", "/.strata/sidecar"})
    EXPECT_TRUE(Exists(root() + d)) << d;
  PosixWrite(store_->TmpDir() + "/leftover", "x");
  ASSERT_EQ(::mkdir((store_->TmpDir() + "/dir").c_str(), 0755), 0);
  PosixWrite(store_->TmpDir() + "/dir/f", "y");
  Reopen();
  EXPECT_TRUE(Exists(store_->TmpDir()));
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);
}

TEST_F(StoreTest, OpenTrimsRootSlashes) {
  Store s(&fs_, dir_.path() + "/root///", false);
  EXPECT_EQ(s.root(), dir_.path() + "/root");
}

// ------------------------------------------------------------------ containers

TEST_F(StoreTest, ContainerLifecycle) {
  ContainerRecord rec;
  rec.metadata = {{"k", "v"}};
  rec.public_access = "blob";
  rec.etag = NewEtag();
  ASSERT_TRUE(store_->CreateContainer("data", rec).ok());
  EXPECT_EQ(store_->CreateContainer("data", rec).kind(), ErrorKind::kAlreadyExists);
  auto got = store_->GetContainer("data");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metadata, rec.metadata);
  EXPECT_EQ(got->public_access, "blob");
  EXPECT_EQ(got->etag, rec.etag);

  rec.public_access = "container";
  ASSERT_TRUE(store_->PutContainer("data", rec).ok());
  EXPECT_EQ(store_->GetContainer("data")->public_access, "container");

  ASSERT_TRUE(Put("x/y", "1", MakeRecord("1")).ok());
  ASSERT_TRUE(store_->DeleteContainer("ctr").ok());
  EXPECT_EQ(store_->GetContainer("ctr").status().kind(), ErrorKind::kContainerNotFound);
  EXPECT_EQ(store_->DeleteContainer("ctr").kind(), ErrorKind::kContainerNotFound);
  EXPECT_EQ(store_->PutContainer("ctr", rec).kind(), ErrorKind::kContainerNotFound);
  EXPECT_EQ(store_->Head("ctr", "x/y").status().kind(), ErrorKind::kContainerNotFound);
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);  // no residue
}

TEST_F(StoreTest, ContainerNamesAreSortedAndOnlyContainers) {
  ASSERT_TRUE(store_->CreateContainer("zeta", ContainerRecord()).ok());
  ASSERT_TRUE(store_->CreateContainer("alpha", ContainerRecord()).ok());
  ASSERT_EQ(::mkdir((root() + "/lost+found").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root() + "/UPPER").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root() + "/plain-dir").c_str(), 0755), 0);
  PosixWrite(root() + "/afile", "x");
  ASSERT_EQ(::symlink(dir_.path().c_str(), (root() + "/linked").c_str()), 0);
  auto names = store_->ContainerNames();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"alpha", "ctr", "plain-dir", "zeta"}));
  // A directory made with mkdir is a container with derived properties.
  auto plain = store_->GetContainer("plain-dir");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->etag.empty());
  EXPECT_TRUE(plain->metadata.empty());
  EXPECT_EQ(store_->GetContainer("afile").status().kind(), ErrorKind::kContainerNotFound);
  EXPECT_EQ(store_->GetContainer("linked").status().kind(), ErrorKind::kContainerNotFound);
}

// ------------------------------------------------------------------ commit

TEST_F(StoreTest, CommitPublishesFileWithRecord) {
  std::string tmp = Stage("hello world");
  BlobRecord rec = MakeRecord("hello world");
  ASSERT_TRUE(store_->Commit("ctr", "dir/sub/blob.txt", tmp, rec, false).ok());
  EXPECT_FALSE(Exists(tmp));
  EXPECT_EQ(PosixRead(Path("dir/sub/blob.txt")), "hello world");

  BlobInfo h = MustHead("dir/sub/blob.txt");
  EXPECT_TRUE(h.has_record);
  EXPECT_EQ(h.name, "dir/sub/blob.txt");
  EXPECT_EQ(h.rec.etag, rec.etag);
  EXPECT_EQ(h.rec.content_type, "text/plain");
  EXPECT_EQ(h.rec.content_md5, Md5("hello world"));
  EXPECT_EQ(h.rec.metadata, rec.metadata);
  EXPECT_EQ(h.rec.last_modified, rec.last_modified);
  EXPECT_EQ(h.st.size, 11u);

  auto o = store_->Open("ctr", "dir/sub/blob.txt");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->info->rec.etag, rec.etag);
  EXPECT_EQ(o->info->rec.content_md5, rec.content_md5);
  char buf[32];
  auto n = o->file->PRead(buf, sizeof(buf), 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "hello world");
  EXPECT_EQ(CountEntries(Sidecars()), 0u);  // small records live in the xattr
}

// A blob is whole from the instant a commit's rename publishes it, and stays
// whole while its record is sealed with a ctime bound after that: a reader
// at any step sees the blob's own record, never one a POSIX change seems to
// have invalidated. Run once as is and once with every ctime reading 10 s in
// the future (as on a file system whose clock runs ahead of ours), where
// every bounded seal fails its check and is written again.
TEST_F(StoreTest, ReadersSeeTheRecordAtEveryStepOfACommit) {
  for (int64_t shift : {int64_t{0}, int64_t{-10LL * 1000000000}}) {
    fs_.SetTimeShift(shift);
    BlobRecord r = MakeRecord("sealed");
    int renames = 0, seals = 0;
    fs_.SetAfter([&](const std::string& op, const std::string& path) {
      if (path != Path("s")) return;
      ++(op == "rename" ? renames : seals);
      auto o = store_->Open("ctr", "s");
      ASSERT_TRUE(o.ok());
      EXPECT_TRUE(o->info->has_record) << op;
      EXPECT_EQ(o->info->rec.etag, r.etag) << op;
      EXPECT_EQ(o->info->rec.content_md5, Md5("sealed")) << op;
    });
    ASSERT_TRUE(Put("s", "sealed", r).ok());
    fs_.SetAfter(nullptr);
    EXPECT_EQ(renames, 1);
    EXPECT_EQ(seals, shift ? 8 : 1);
    BlobInfo h = MustHead("s");
    EXPECT_TRUE(h.has_record);
    EXPECT_EQ(h.rec.etag, r.etag);
    EXPECT_EQ(h.rec.content_md5, Md5("sealed"));
  }
}

// The same for a record rewritten in place (Set Blob Metadata and the like).
TEST_F(StoreTest, ReadersSeeTheOldOrNewRecordWhileItIsRewritten) {
  BlobRecord r = MakeRecord("meta");
  ASSERT_TRUE(Put("m", "meta", r).ok());
  fs_.SetTimeShift(-10LL * 1000000000);
  BlobRecord n = r;
  n.etag = NewEtag();
  n.metadata = {{"k", "v"}};
  int seals = 0;
  fs_.SetAfter([&](const std::string& op, const std::string& path) {
    if (op != "setxattr" || path != Path("m")) return;
    ++seals;
    auto o = store_->Open("ctr", "m");
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->info->has_record);
    EXPECT_EQ(o->info->rec.etag, n.etag);
  });
  ASSERT_TRUE(store_->UpdateRecord("ctr", "m", n).ok());
  fs_.SetAfter(nullptr);
  EXPECT_EQ(seals, 8);
}

TEST_F(StoreTest, CommitOverwrites) {
  BlobRecord r1 = MakeRecord("one");
  ASSERT_TRUE(Put("b", "one", r1).ok());
  BlobRecord r2 = MakeRecord("second");
  r2.content_type = "application/json";
  ASSERT_TRUE(Put("b", "second", r2).ok());
  BlobInfo h = MustHead("b");
  EXPECT_NE(h.rec.etag, r1.etag);
  EXPECT_EQ(h.rec.etag, r2.etag);
  EXPECT_EQ(h.rec.content_type, "application/json");
  EXPECT_EQ(h.st.size, 6u);
  EXPECT_EQ(PosixRead(Path("b")), "second");
}

// A create-only commit (replace=false) never replaces a blob, even one
// that appears after the caller looked (here: made through POSIX while the
// commit runs); the old bytes stay, the staged file is left for the caller.
TEST_F(StoreTest, CommitWithoutReplaceRefusesAnExistingBlob) {
  BlobRecord old = MakeRecord("old");
  ASSERT_TRUE(Put("b", "old", old).ok());
  std::string tmp = Stage("new");
  EXPECT_EQ(store_->Commit("ctr", "b", tmp, MakeRecord("new"), false, /*replace=*/false).kind(),
            ErrorKind::kAlreadyExists);
  EXPECT_EQ(PosixRead(Path("b")), "old");
  EXPECT_EQ(MustHead("b").rec.etag, old.etag);
  EXPECT_TRUE(Exists(tmp));

  // The racing writer: the blob appears once the commit has staged its record.
  fs_.SetAfter([&](const std::string& op, const std::string& path) {
    if (op == "setxattr" && path == tmp) {
      auto f = PosixFs()->OpenWrite(Path("late"), true, true);
      ASSERT_TRUE(f.ok());
      ASSERT_TRUE((*f)->PWrite("posix", 5, 0).ok());
    }
  });
  EXPECT_EQ(store_->Commit("ctr", "late", tmp, MakeRecord("new"), false, false).kind(),
            ErrorKind::kAlreadyExists);
  fs_.SetAfter(nullptr);
  EXPECT_EQ(PosixRead(Path("late")), "posix");
  EXPECT_TRUE(Exists(tmp));
  // A new name commits.
  ASSERT_TRUE(store_->Commit("ctr", "fresh", tmp, MakeRecord("new"), false, false).ok());
  EXPECT_EQ(PosixRead(Path("fresh")), "new");
}

TEST_F(StoreTest, CommitNeedsContainer) {
  std::string tmp = Stage("x");
  EXPECT_EQ(store_->Commit("nope", "b", tmp, MakeRecord("x"), false).kind(),
            ErrorKind::kContainerNotFound);
  EXPECT_TRUE(Exists(tmp));  // left for the caller
}

TEST_F(StoreTest, FileAndDirectoryNamesConflict) {
  ASSERT_TRUE(Put("a", "file", MakeRecord("file")).ok());
  EXPECT_EQ(Put("a/b", "x", MakeRecord("x")).kind(), ErrorKind::kPathConflict);
  EXPECT_EQ(Put("a/b/c", "x", MakeRecord("x")).kind(), ErrorKind::kPathConflict);
  ASSERT_TRUE(Put("d/e", "x", MakeRecord("x")).ok());
  EXPECT_EQ(Put("d", "x", MakeRecord("x")).kind(), ErrorKind::kIsDirectory);
  // Neither side was harmed.
  EXPECT_EQ(PosixRead(Path("a")), "file");
  EXPECT_EQ(PosixRead(Path("d/e")), "x");
  // A directory is not a blob; a path through a file is no blob.
  EXPECT_EQ(store_->Head("ctr", "d").status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->Open("ctr", "d").status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->Head("ctr", "a/b").status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->Open("ctr", "a/b").status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->DeleteBlob("ctr", "d").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->Head("nope", "a").status().kind(), ErrorKind::kContainerNotFound);
  EXPECT_EQ(store_->Open("nope", "a").status().kind(), ErrorKind::kContainerNotFound);
}

TEST_F(StoreTest, DeletePrunesEmptyParentsButNotContainer) {
  ASSERT_TRUE(Put("p/q/r", "1", MakeRecord("1")).ok());
  ASSERT_TRUE(Put("p/s", "2", MakeRecord("2")).ok());
  ASSERT_TRUE(store_->DeleteBlob("ctr", "p/q/r").ok());
  EXPECT_FALSE(Exists(Path("p/q")));
  EXPECT_TRUE(Exists(Path("p")));
  ASSERT_TRUE(store_->DeleteBlob("ctr", "p/s").ok());
  EXPECT_FALSE(Exists(Path("p")));
  EXPECT_TRUE(Exists(root() + "/ctr"));
  ASSERT_TRUE(Put("top", "3", MakeRecord("3")).ok());
  ASSERT_TRUE(store_->DeleteBlob("ctr", "top").ok());
  EXPECT_TRUE(Exists(root() + "/ctr"));
  EXPECT_EQ(store_->DeleteBlob("ctr", "top").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->DeleteBlob("nope", "top").kind(), ErrorKind::kContainerNotFound);
  EXPECT_TRUE(store_->GetContainer("ctr").ok());
}

TEST_F(StoreTest, UpdateRecordKeepsData) {
  BlobRecord r = MakeRecord("data");
  ASSERT_TRUE(Put("b", "data", r).ok());
  r.metadata = {{"new", "meta"}};
  r.etag = NewEtag();
  ASSERT_TRUE(store_->UpdateRecord("ctr", "b", r).ok());
  BlobInfo h = MustHead("b");
  EXPECT_TRUE(h.has_record);
  EXPECT_EQ(h.rec.etag, r.etag);
  EXPECT_EQ(h.rec.metadata, r.metadata);
  EXPECT_EQ(h.rec.content_md5, Md5("data"));
  EXPECT_EQ(store_->UpdateRecord("ctr", "missing", r).kind(), ErrorKind::kNotFound);
}

// Open keeps what it decoded per thread (see OpenCacheEntry): every change
// must still show at once, with no pause between the change and the read.
TEST_F(StoreTest, OpenSeesEveryRecordUpdateAtOnce) {
  // With whole-second times, the updates below leave the inode's times as
  // they were: only the record epoch tells that the cached record is old.
  // (Shifted into the past, the file counts as settled, so it is cached.)
  fs_.SetTimeGranularity(1000000000);
  fs_.SetTimeShift(10LL * 1000000000);
  BlobRecord r = MakeRecord("data");
  ASSERT_TRUE(Put("c", "data", r).ok());
  for (int i = 0; i < 50; ++i) {
    auto before = store_->Open("ctr", "c");
    ASSERT_TRUE(before.ok());
    EXPECT_EQ(before->info->rec.etag, r.etag) << i;
    r.metadata = {{"round", std::to_string(i)}};
    r.etag = NewEtag();
    ASSERT_TRUE(store_->UpdateRecord("ctr", "c", r).ok());
    auto after = store_->Open("ctr", "c");
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->info->rec.etag, r.etag) << i;
    EXPECT_EQ(after->info->rec.metadata, r.metadata) << i;
    EXPECT_EQ(after->info->name, "c");
  }
}

TEST_F(StoreTest, OpenSeesCommitsOverAReadBlob) {
  for (int i = 0; i < 20; ++i) {
    std::string data = "v" + std::to_string(i % 10);  // same size each time
    BlobRecord r = MakeRecord(data);
    ASSERT_TRUE(Put("o", data, r).ok());
    auto o = store_->Open("ctr", "o");
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->info->rec.etag, r.etag) << i;
    EXPECT_EQ(o->info->rec.content_md5, Md5(data)) << i;
  }
}

// A record written by someone else (another gateway on a shared file
// system) bumps no epoch here; on a file system with whole-second times its
// ctime can equal the cached one. A file changed that recently is not cached.
TEST_F(StoreTest, OpenSeesAnotherWritersRecordOnCoarseTimes) {
  fs_.SetTimeGranularity(1000000000);
  BlobRecord r = MakeRecord("data");
  ASSERT_TRUE(Put("g", "data", r).ok());
  for (int i = 0; i < 20; ++i) {
    auto before = store_->Open("ctr", "g");
    ASSERT_TRUE(before.ok());
    BlobRecord other = before->info->rec;
    other.metadata = {{"writer", "other" + std::to_string(i)}};
    other.etag = NewEtag();
    // The other gateway seals its record with its own bound, as WriteRecord
    // does (generous here, so a preempted test thread cannot expire it).
    // Copying ours would be a stale seal: once the loop crosses a second,
    // the record would rightly read as changed through POSIX.
    other.fp_ctime_bound = NowNs() + 10LL * 1000000000;
    ASSERT_EQ(::setxattr(Path("g").c_str(), "user.strata.rec", other.Pack().data(),
                         other.Pack().size(), 0),
              0);
    auto after = store_->Open("ctr", "g");
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->info->rec.etag, other.etag) << i;
    EXPECT_EQ(after->info->rec.metadata, other.metadata) << i;
  }
}

TEST_F(StoreTest, OpenSeesPosixChangesToAReadBlob) {
  constexpr int64_t kShift = 10LL * 1000000000;
  fs_.SetTimeShift(kShift);  // the file looks settled, so it is cached
  BlobRecord r = MakeRecord("aaaa");
  ASSERT_TRUE(Put("p", "aaaa", r).ok());
  ASSERT_TRUE(store_->Open("ctr", "p").ok());
  auto again = store_->Open("ctr", "p");  // served from the cache
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->info->rec.etag, r.etag);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a later mtime tick
  PosixWrite(Path("p"), "bbbb");
  auto rewritten = store_->Open("ctr", "p");
  ASSERT_TRUE(rewritten.ok());
  EXPECT_NE(rewritten->info->rec.etag, r.etag);
  EXPECT_TRUE(rewritten->info->rec.content_md5.empty());
  std::string etag = rewritten->info->rec.etag;
  struct timespec ts[2] = {{0, UTIME_OMIT}, {1234567890, 42}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("p").c_str(), ts, 0), 0);
  auto touched = store_->Open("ctr", "p");
  ASSERT_TRUE(touched.ok());
  EXPECT_NE(touched->info->rec.etag, etag);
  EXPECT_EQ(touched->info->rec.last_modified, 1234567890LL * 1000000000LL + 42 - kShift);
  EXPECT_EQ(MustHead("p").rec.etag, touched->info->rec.etag);  // HEAD agrees
  // A rewrite that restores the mtime moves only the ctime.
  etag = touched->info->rec.etag;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  PosixWrite(Path("p"), "cccc");
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("p").c_str(), ts, 0), 0);
  auto restored = store_->Open("ctr", "p");
  ASSERT_TRUE(restored.ok());
  EXPECT_NE(restored->info->rec.etag, etag);
  EXPECT_EQ(restored->info->rec.last_modified, 1234567890LL * 1000000000LL + 42 - kShift);
}

TEST_F(StoreTest, AppendFromAppendsAndRecords) {
  BlobRecord r = MakeRecord("");
  r.blob_type = "AppendBlob";
  ASSERT_TRUE(Put("log", "abc", r).ok());
  std::string src = Stage("defgh");
  auto f = PosixFs()->OpenRead(src);
  ASSERT_TRUE(f.ok());
  r.etag = NewEtag();
  r.append_block_count = 1;
  ASSERT_TRUE(store_->AppendFrom("ctr", "log", **f, 5, r).ok());
  EXPECT_EQ(PosixRead(Path("log")), "abcdefgh");
  BlobInfo h = MustHead("log");
  EXPECT_TRUE(h.has_record);
  EXPECT_EQ(h.rec.etag, r.etag);
  EXPECT_EQ(h.rec.append_block_count, 1u);
}

// Readers racing commits see the old blob or the new one, each with its own
// record: never one blob's bytes with the other's properties.
TEST_F(StoreTest, ConcurrentReadersSeeWholeBlobs) {
  const std::string a(1000, 'a'), b(2000, 'b');
  BlobRecord ra = MakeRecord(a), rb = MakeRecord(b);
  ASSERT_TRUE(Put("hot", a, ra).ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!done) {
      auto o = store_->Open("ctr", "hot");
      if (!o.ok()) {
        ++bad;
        continue;
      }
      char ch = 0;
      auto n = o->file->PRead(&ch, 1, 0);
      auto st = o->file->Stat();
      const BlobRecord& rec = ch == 'a' ? ra : rb;
      if (!n.ok() || *n != 1 || !o->info->has_record || o->info->rec.etag != rec.etag ||
          st->size != (ch == 'a' ? a.size() : b.size()))
        ++bad;
      ++reads;
    }
  });
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Put("hot", i % 2 ? a : b, i % 2 ? ra : rb).ok());
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(bad.load(), 0);
}

// ------------------------------------------------------------------ sidecars

TEST_F(StoreTest, LargeRecordGoesToSidecar) {
  BlobRecord big = BigRecord(std::string(1000, 'z'));
  ASSERT_TRUE(Put("big", std::string(1000, 'z'), big).ok());
  EXPECT_EQ(CountEntries(Sidecars()), 1u);
  EXPECT_EQ(*PosixFs()->GetXattr(Path("big"), kRecordXattr), "@sidecar");
  BlobInfo h = MustHead("big");
  EXPECT_TRUE(h.has_record);
  EXPECT_EQ(h.rec.etag, big.etag);
  ASSERT_EQ(h.rec.committed_blocks.size(), 100u);
  for (size_t i = 0; i < 100; ++i)
    EXPECT_EQ(h.rec.committed_blocks[i].id, big.committed_blocks[i].id);

  // Overwritten with a small record: back in the xattr, old sidecar gone.
  BlobRecord small = MakeRecord("s");
  ASSERT_TRUE(Put("big", "s", small).ok());
  EXPECT_EQ(MustHead("big").rec.etag, small.etag);
  EXPECT_EQ(CountEntries(Sidecars()), 0u);

  // Big again, then an in-place update to a small record, then delete.
  ASSERT_TRUE(Put("big", "t", BigRecord("t")).ok());
  EXPECT_EQ(CountEntries(Sidecars()), 1u);
  ASSERT_TRUE(store_->UpdateRecord("ctr", "big", small).ok());
  EXPECT_EQ(CountEntries(Sidecars()), 0u);
  ASSERT_TRUE(store_->UpdateRecord("ctr", "big", big).ok());
  EXPECT_EQ(MustHead("big").rec.committed_blocks.size(), 100u);
  ASSERT_TRUE(store_->DeleteBlob("ctr", "big").ok());
  EXPECT_EQ(CountEntries(Sidecars()), 0u);
}

TEST_F(StoreTest, DeleteContainerLeavesNoSidecarsOrBlocks) {
  ASSERT_TRUE(Put("d/big", "x", BigRecord("x")).ok());
  ASSERT_TRUE(store_->StoreBlock("ctr", "pending", "id1", Stage("blk")).ok());
  ASSERT_TRUE(store_->DeleteContainer("ctr").ok());
  EXPECT_EQ(CountEntries(Sidecars()), 0u);
  EXPECT_EQ(CountEntries(root() + "/.strata/blocks"), 0u);
  // A new container of the same name starts clean: a file written there
  // with POSIX tools inherits nothing from the deleted blob.
  ASSERT_TRUE(store_->CreateContainer("ctr", ContainerRecord()).ok());
  EXPECT_TRUE(store_->UncommittedBlobNames("ctr").empty());
}

TEST_F(StoreTest, NoXattrFileSystemUsesSidecars) {
  fs_.SetNoXattr(true);
  ContainerRecord crec;
  crec.metadata = {{"k", "v"}};
  crec.public_access = "container";
  ASSERT_TRUE(store_->CreateContainer("nox", crec).ok());
  auto got = store_->GetContainer("nox");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metadata, crec.metadata);
  EXPECT_EQ(got->public_access, "container");
  crec.public_access = "";
  ASSERT_TRUE(store_->PutContainer("nox", crec).ok());
  EXPECT_EQ(store_->GetContainer("nox")->public_access, "");

  BlobRecord r = MakeRecord("payload");
  ASSERT_TRUE(Put("f/blob", "payload", r).ok());
  EXPECT_EQ(PosixFs()->GetXattr(Path("f/blob"), kRecordXattr).status().kind(),
            ErrorKind::kNotFound);  // nothing was put in an xattr
  BlobInfo h = MustHead("f/blob");
  EXPECT_TRUE(h.has_record);
  EXPECT_EQ(h.rec.etag, r.etag);
  EXPECT_EQ(h.rec.content_md5, Md5("payload"));
  EXPECT_EQ(h.rec.metadata, r.metadata);

  BlobRecord r2 = MakeRecord("second");
  ASSERT_TRUE(Put("f/blob", "second", r2).ok());
  EXPECT_EQ(MustHead("f/blob").rec.etag, r2.etag);
  BlobRecord big = BigRecord("x");
  ASSERT_TRUE(Put("g", "x", big).ok());
  EXPECT_EQ(MustHead("g").rec.committed_blocks.size(), 100u);

  // POSIX changes are still noticed.
  PosixWrite(Path("f/blob"), "more", O_APPEND);
  BlobInfo changed = MustHead("f/blob");
  EXPECT_NE(changed.rec.etag, r2.etag);
  EXPECT_TRUE(changed.rec.content_md5.empty());

  ASSERT_TRUE(store_->DeleteBlob("ctr", "f/blob").ok());
  ASSERT_TRUE(store_->DeleteBlob("ctr", "g").ok());
  ASSERT_TRUE(store_->DeleteContainer("nox").ok());
  ASSERT_TRUE(store_->DeleteContainer("ctr").ok());
  EXPECT_EQ(CountEntries(Sidecars()), 0u);
  EXPECT_GT(fs_.injected(), 0);
}

TEST_F(StoreTest, FailedCommitsLeaveNoSidecar) {
  fs_.SetNoXattr(true);
  ASSERT_TRUE(Put("d/e", "x", MakeRecord("x")).ok());
  EXPECT_EQ(CountEntries(Sidecars()), 1u);
  EXPECT_EQ(Put("d", "x", MakeRecord("x")).kind(), ErrorKind::kIsDirectory);
  EXPECT_EQ(Put("d/e/f", "x", MakeRecord("x")).kind(), ErrorKind::kPathConflict);
  EXPECT_EQ(CountEntries(Sidecars()), 1u);
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);
}

// ------------------------------------------------------------------ POSIX face

TEST_F(StoreTest, PosixAppendChangesEtagAndDropsMd5) {
  BlobRecord r = MakeRecord("12345");
  ASSERT_TRUE(Put("m", "12345", r).ok());
  PosixWrite(Path("m"), "678", O_APPEND);
  BlobInfo h = MustHead("m");
  EXPECT_FALSE(h.has_record);
  EXPECT_NE(h.rec.etag, r.etag);
  EXPECT_TRUE(h.rec.content_md5.empty());
  EXPECT_TRUE(h.rec.committed_blocks.empty());
  EXPECT_EQ(h.st.size, 8u);
  EXPECT_EQ(h.rec.metadata, r.metadata);  // what the change did not touch stays
  EXPECT_EQ(h.rec.content_type, "text/plain");
  EXPECT_EQ(MustHead("m").rec.etag, h.rec.etag);  // stable until the next change
  auto o = store_->Open("ctr", "m");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->info->rec.etag, h.rec.etag);
  EXPECT_TRUE(o->info->rec.content_md5.empty());
}

TEST_F(StoreTest, PosixMtimeChangeChangesEtag) {
  BlobRecord r = MakeRecord("same");
  ASSERT_TRUE(Put("t", "same", r).ok());
  struct timespec ts[2] = {{0, UTIME_OMIT}, {1234567890, 42}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("t").c_str(), ts, 0), 0);
  BlobInfo h = MustHead("t");
  EXPECT_NE(h.rec.etag, r.etag);
  EXPECT_TRUE(h.rec.content_md5.empty());
  EXPECT_EQ(h.rec.last_modified, 1234567890LL * 1000000000LL + 42);
}

TEST_F(StoreTest, PosixRewriteSameSizeChangesEtag) {
  BlobRecord r = MakeRecord("aaaa");
  ASSERT_TRUE(Put("w", "aaaa", r).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a later mtime tick
  PosixWrite(Path("w"), "bbbb");
  BlobInfo h = MustHead("w");
  EXPECT_NE(h.rec.etag, r.etag);
  EXPECT_TRUE(h.rec.content_md5.empty());
}

TEST_F(StoreTest, PlainFileIsABlobWithDerivedProperties) {
  ASSERT_EQ(::mkdir(Path("dir").c_str(), 0755), 0);
  PosixWrite(Path("dir/plain.bin"), "0123456789");
  struct stat st;
  ASSERT_EQ(::stat(Path("dir/plain.bin").c_str(), &st), 0);
  BlobInfo h = MustHead("dir/plain.bin");
  EXPECT_FALSE(h.has_record);
  EXPECT_EQ(h.st.size, 10u);
  EXPECT_EQ(h.rec.blob_type, "BlockBlob");
  EXPECT_EQ(h.rec.content_type, "application/octet-stream");
  EXPECT_TRUE(h.rec.content_md5.empty());
  EXPECT_EQ(h.rec.etag, DerivedEtag(st.st_ino, 10, h.st.mtime_ns, h.st.ctime_ns));
  EXPECT_EQ(h.rec.last_modified, h.st.mtime_ns);
  EXPECT_NE(h.rec.created, 0);
  auto o = store_->Open("ctr", "dir/plain.bin");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->info->rec.etag, h.rec.etag);
  auto page = store_->List("ctr", "", "", "", 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);  // the directory "dir" is listed too (HNS)
  EXPECT_EQ(page->items[0].name, "dir");
  EXPECT_TRUE(page->items[0].is_dir);
  EXPECT_EQ(page->items[1].name, "dir/plain.bin");
  EXPECT_FALSE(page->items[1].is_dir);
  EXPECT_EQ(page->items[1].info.rec.etag, h.rec.etag);
}

TEST_F(StoreTest, FifoIsNotABlobAndDoesNotBlock) {
  ASSERT_EQ(::mkfifo(Path("pipe").c_str(), 0644), 0);
  auto fut = std::async(std::launch::async, [&] { return store_->Open("ctr", "pipe").status(); });
  if (fut.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    int fd = ::open(Path("pipe").c_str(), O_WRONLY | O_NONBLOCK);  // unblock the reader
    fut.wait();
    if (fd >= 0) ::close(fd);
    FAIL() << "Open blocked on a FIFO";
  }
  EXPECT_EQ(fut.get().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(store_->Head("ctr", "pipe").status().kind(), ErrorKind::kNotFound);
}

// ------------------------------------------------------------------ confinement

class StoreSymlinkTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    outside_ = dir_.path() + "/outside";
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    PosixWrite(outside_ + "/secret", "top secret");
    ASSERT_EQ(::symlink(outside_.c_str(), Path("dirlink").c_str()), 0);
    ASSERT_EQ(::symlink((outside_ + "/secret").c_str(), Path("filelink").c_str()), 0);
    ASSERT_EQ(::symlink(outside_.c_str(), (root() + "/evil").c_str()), 0);
  }
  std::string outside_;
};

TEST_F(StoreSymlinkTest, ReadsDoNotFollowLinksOut) {
  for (const char* b : {"dirlink/secret", "filelink", "dirlink"}) {
    EXPECT_EQ(store_->Head("ctr", b).status().kind(), ErrorKind::kNotFound) << b;
    EXPECT_EQ(store_->Open("ctr", b).status().kind(), ErrorKind::kNotFound) << b;
  }
  // A container that is a symlink is no container.
  EXPECT_FALSE(store_->Head("evil", "secret").ok());
  EXPECT_FALSE(store_->Open("evil", "secret").ok());
  EXPECT_FALSE(store_->List("evil", "", "", "", 10).ok());
  auto page = store_->List("ctr", "", "", "", 100);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  auto delim = store_->List("ctr", "", "/", "", 100);
  ASSERT_TRUE(delim.ok());
  EXPECT_TRUE(delim->items.empty());
}

TEST_F(StoreSymlinkTest, WritesDoNotFollowLinksOut) {
  std::string tmp = Stage("payload");
  EXPECT_FALSE(store_->Commit("ctr", "dirlink/new", tmp, MakeRecord("payload"), false).ok());
  EXPECT_FALSE(Exists(outside_ + "/new"));
  EXPECT_FALSE(store_->Commit("ctr", "dirlink/secret", tmp, MakeRecord("payload"), false).ok());
  EXPECT_FALSE(store_->Commit("evil", "secret", tmp, MakeRecord("payload"), false).ok());
  EXPECT_FALSE(store_->Commit("evil", "new", tmp, MakeRecord("payload"), false).ok());
  EXPECT_FALSE(Exists(outside_ + "/new"));

  EXPECT_FALSE(store_->DeleteBlob("ctr", "dirlink/secret").ok());
  EXPECT_FALSE(store_->DeleteBlob("evil", "secret").ok());
  EXPECT_FALSE(store_->UpdateRecord("ctr", "dirlink/secret", MakeRecord("x")).ok());
  EXPECT_FALSE(store_->UpdateRecord("evil", "secret", MakeRecord("x")).ok());
  auto src = PosixFs()->OpenRead(tmp);
  ASSERT_TRUE(src.ok());
  EXPECT_FALSE(store_->AppendFrom("ctr", "dirlink/secret", **src, 7, MakeRecord("x")).ok());
  EXPECT_FALSE(store_->AppendFrom("ctr", "filelink", **src, 7, MakeRecord("x")).ok());
  EXPECT_FALSE(store_->AppendFrom("evil", "secret", **src, 7, MakeRecord("x")).ok());
  EXPECT_EQ(PosixRead(outside_ + "/secret"), "top secret");
  EXPECT_EQ(PosixFs()->GetXattr(outside_ + "/secret", kRecordXattr).status().kind(),
            ErrorKind::kNotFound);
  EXPECT_EQ(CountEntries(outside_), 1u);

  // Replacing the file symlink itself is fine: the link goes, the target stays.
  ASSERT_TRUE(store_->Commit("ctr", "filelink", tmp, MakeRecord("payload"), false).ok());
  EXPECT_EQ(PosixRead(Path("filelink")), "payload");
  EXPECT_EQ(PosixRead(outside_ + "/secret"), "top secret");
}

// ------------------------------------------------------------------ blocks

TEST_F(StoreTest, UncommittedBlocksInUploadOrder) {
  const std::vector<std::string> ids = {"zz", std::string("\0\xff", 2), "aa", "mm"};
  for (size_t i = 0; i < ids.size(); ++i)
    ASSERT_TRUE(store_->StoreBlock("ctr", "dir/b", ids[i], Stage(std::string(i + 1, 'x'))).ok());
  EXPECT_TRUE(Exists(store_->BlockPath("ctr", "dir/b", "aa")));
  auto blocks = store_->UncommittedBlocks("ctr", "dir/b");
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*blocks)[i].id, ids[i]) << i;
    EXPECT_EQ((*blocks)[i].size, i + 1) << i;
  }
  // A stranger's file in the block directory is ignored, not a crash.
  std::string bdir = store_->BlockPath("ctr", "dir/b", "aa");
  bdir.resize(bdir.rfind('/'));
  PosixWrite(bdir + "/not-hex!", "?");
  PosixWrite(bdir + "/abc", "?");
  blocks = store_->UncommittedBlocks("ctr", "dir/b");
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->size(), ids.size());
  // No blocks: an empty list.
  auto none = store_->UncommittedBlocks("ctr", "other");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);
}

// ------------------------------------------------------- the assembly file

class AssemblyTest : public StoreTest {
 protected:
  // Reserves a slot for `data`, writes it there as the server does.
  std::unique_ptr<BlockSlot> Write(const std::string& b, const std::string& data) {
    auto slot = store_->ReserveBlock("ctr", b, data.size());
    EXPECT_TRUE(slot);
    if (!slot) return nullptr;
    EXPECT_EQ(::pwrite(slot->fd(), data.data(), data.size(), static_cast<off_t>(slot->offset())),
              static_cast<ssize_t>(data.size()));
    return slot;
  }
  Status Publish(const std::string& b, const std::string& id, BlockSlot& slot) {
    auto l = store_->LockBlob("ctr", b);
    return store_->StoreBlockSlot("ctr", b, id, slot);
  }
  // The uncommitted block's bytes, read as Put Block List's copy reads them.
  std::string BlockBytes(const std::string& b, const std::string& id) {
    auto blocks = store_->UncommittedBlocks("ctr", b);
    EXPECT_TRUE(blocks.ok());
    uint64_t size = 0;
    for (const auto& x : *blocks)
      if (x.id == id) size = x.size;
    auto f = store_->OpenBlock("ctr", b, id);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return "";
    std::string out(size, '\0');
    auto n = f->first->PRead(out.data(), size, f->second);
    EXPECT_TRUE(n.ok() && *n == size);
    return out;
  }
  std::optional<Status> CommitList(const std::string& b, const std::vector<std::string>& ids) {
    auto blocks = store_->UncommittedBlocks("ctr", b);
    EXPECT_TRUE(blocks.ok());
    std::vector<BlockInfo> list;
    for (const auto& id : ids)
      for (const auto& x : *blocks)
        if (x.id == id) list.push_back(x);
    BlobRecord r = MakeRecord("");
    r.committed_blocks = list;
    auto l = store_->LockBlob("ctr", b);
    return store_->CommitAssembled("ctr", b, list, r);
  }
  size_t BlockDirs() { return CountEntries(root() + "/.strata/blocks"); }
};

TEST_F(AssemblyTest, BlocksInUploadOrderBecomeTheBlobWithoutACopy) {
  auto a = Write("big", "aaaa"), b = Write("big", "bbbbbb"), c = Write("big", "cc");
  // Published in another order than reserved: the places count, not the order.
  ASSERT_TRUE(Publish("big", "2", *c).ok());
  ASSERT_TRUE(Publish("big", "0", *a).ok());
  ASSERT_TRUE(Publish("big", "1", *b).ok());
  EXPECT_EQ(BlockBytes("big", "1"), "bbbbbb");
  auto blocks = store_->UncommittedBlocks("ctr", "big");
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 3u);
  struct stat before;
  ASSERT_EQ(::fstat(a->fd(), &before), 0);
  auto s = CommitList("big", {"0", "1", "2"});
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(s->ok()) << s->ToString();
  EXPECT_EQ(PosixRead(Path("big")), "aaaabbbbbbcc");
  struct stat after;
  ASSERT_EQ(::stat(Path("big").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // the assembly file itself: nothing copied
  BlobInfo h = MustHead("big");
  EXPECT_TRUE(h.has_record);
  EXPECT_EQ(h.rec.committed_blocks.size(), 3u);
  EXPECT_EQ(BlockDirs(), 0u);
  // The next upload of the same blob starts a new file.
  auto d = Write("big", "dd");
  ASSERT_TRUE(Publish("big", "9", *d).ok());
  EXPECT_EQ(BlockBytes("big", "9"), "dd");
  EXPECT_EQ(PosixRead(Path("big")), "aaaabbbbbbcc");
}

TEST_F(AssemblyTest, AnyOtherListIsCopiedFromTheBlocksPlaces) {
  auto a = Write("o", "aaaa"), b = Write("o", "bb");
  ASSERT_TRUE(Publish("o", "0", *a).ok());
  ASSERT_TRUE(Publish("o", "1", *b).ok());
  EXPECT_FALSE(CommitList("o", {"1", "0"}).has_value());  // out of order
  EXPECT_FALSE(CommitList("o", {"0"}).has_value());       // not the whole file
  EXPECT_FALSE(CommitList("o", {"0", "1", "0"}).has_value());
  EXPECT_EQ(BlockBytes("o", "0"), "aaaa");
  EXPECT_EQ(BlockBytes("o", "1"), "bb");
  // A block id uploaded again: its first place is stale, so the file is
  // no longer exactly the list.
  auto a2 = Write("o", "AAAA");
  ASSERT_TRUE(Publish("o", "0", *a2).ok());
  EXPECT_EQ(BlockBytes("o", "0"), "AAAA");
  EXPECT_FALSE(CommitList("o", {"0", "1"}).has_value());
  EXPECT_FALSE(Exists(Path("o")));
}

TEST_F(AssemblyTest, AnUploadInFlightKeepsTheFileFromBecomingTheBlob) {
  auto a = Write("f", "aaaa");
  ASSERT_TRUE(Publish("f", "0", *a).ok());
  auto b = Write("f", "bb");  // reserved, body not yet checked
  EXPECT_FALSE(CommitList("f", {"0"}).has_value());
  ASSERT_TRUE(Publish("f", "1", *b).ok());
  auto s = CommitList("f", {"0", "1"});
  ASSERT_TRUE(s.has_value() && s->ok());
  EXPECT_EQ(PosixRead(Path("f")), "aaaabb");
}

TEST_F(AssemblyTest, AFailedUploadGivesItsPlaceBack) {
  auto a = Write("g", "aaaa");
  ASSERT_TRUE(Publish("g", "0", *a).ok());
  Write("g", "xxxxxxxx").reset();  // the last place: cut off
  auto b = Write("g", "bb");
  EXPECT_EQ(b->offset(), 4u);
  auto lost = Write("g", "yyy");
  auto c = Write("g", "cc");
  lost.reset();  // a place in the middle: its bytes are punched out
  ASSERT_TRUE(Publish("g", "1", *b).ok());
  ASSERT_TRUE(Publish("g", "2", *c).ok());
  EXPECT_FALSE(CommitList("g", {"0", "1", "2"}).has_value());  // the hole lies between
  EXPECT_EQ(BlockBytes("g", "2"), "cc");
  // Nothing at all published: neither the file nor the directory stays.
  Write("h", "zzzz").reset();
  auto blocks = store_->UncommittedBlocks("ctr", "h");
  ASSERT_TRUE(blocks.ok());
  EXPECT_TRUE(blocks->empty());
  EXPECT_EQ(BlockDirs(), 1u);  // g's only
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);
}

TEST_F(AssemblyTest, ABlockWhoseFileWasDroppedMeanwhileIsCopiedOut) {
  auto old = Write("d", "old!");
  ASSERT_TRUE(Publish("d", "0", *old).ok());
  auto a = Write("d", "late");
  // A commit or a delete drops the blob's blocks while this body arrives.
  ASSERT_TRUE(store_->DropBlocks("ctr", "d").ok());
  ASSERT_TRUE(Publish("d", "1", *a).ok());
  auto blocks = store_->UncommittedBlocks("ctr", "d");
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ(BlockBytes("d", "1"), "late");
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);
}

TEST_F(AssemblyTest, WithoutXattrsEachBlockKeepsItsOwnBytes) {
  fs_.SetNoXattr(true);
  auto a = Write("n", "aaaa"), b = Write("n", "bb");
  ASSERT_TRUE(Publish("n", "0", *a).ok());
  ASSERT_TRUE(Publish("n", "1", *b).ok());
  EXPECT_EQ(BlockBytes("n", "0"), "aaaa");
  EXPECT_EQ(BlockBytes("n", "1"), "bb");
  EXPECT_FALSE(CommitList("n", {"0", "1"}).has_value());
}

TEST_F(StoreTest, UncommittedBlobNamesAndDrop) {
  ASSERT_TRUE(store_->CreateContainer("c2", ContainerRecord()).ok());
  std::string long_name;  // 1000 three-byte characters: over 3,000 bytes
  for (int i = 0; i < 1000; ++i) {
    if (i && i % 80 == 0) long_name += '/';
    long_name += "\xe2\x82\xac";
  }
  ASSERT_TRUE(ValidateBlobName(long_name).ok());
  ASSERT_TRUE(store_->StoreBlock("ctr", "b2", "id", Stage("x")).ok());
  ASSERT_TRUE(store_->StoreBlock("ctr", "a/b1", "id", Stage("x")).ok());
  ASSERT_TRUE(store_->StoreBlock("ctr", long_name, "id", Stage("x")).ok());
  ASSERT_TRUE(store_->StoreBlock("c2", "b3", "id", Stage("x")).ok());
  EXPECT_EQ(store_->UncommittedBlobNames("ctr"),
            (std::vector<std::string>{"a/b1", "b2", long_name}));
  EXPECT_EQ(store_->UncommittedBlobNames("c2"), (std::vector<std::string>{"b3"}));
  ASSERT_TRUE(store_->DropBlocks("ctr", "b2").ok());
  EXPECT_EQ(store_->UncommittedBlobNames("ctr"), (std::vector<std::string>{"a/b1", long_name}));
  ASSERT_TRUE(store_->DropBlocks("ctr", "never").ok());
  // Commit with drop_blocks discards the blob's blocks.
  std::string tmp = Stage("data");
  ASSERT_TRUE(store_->Commit("ctr", "a/b1", tmp, MakeRecord("data"), true).ok());
  EXPECT_TRUE(store_->UncommittedBlocks("ctr", "a/b1")->empty());
  EXPECT_EQ(store_->UncommittedBlobNames("ctr"), (std::vector<std::string>{long_name}));
  // Deleting a blob drops its blocks too.
  ASSERT_TRUE(Put("b3", "x", MakeRecord("x")).ok());
  ASSERT_TRUE(store_->StoreBlock("ctr", "b3", "id", Stage("y")).ok());
  ASSERT_TRUE(store_->DeleteBlob("ctr", "b3").ok());
  EXPECT_TRUE(store_->UncommittedBlocks("ctr", "b3")->empty());
}

// ------------------------------------------------------------------ faults

class StoreFaultTest : public StoreTest {
 protected:
  void ExpectUnchanged(const std::string& b, const std::string& data, const BlobRecord& rec) {
    BlobInfo h = MustHead(b);
    EXPECT_TRUE(h.has_record) << b;
    EXPECT_EQ(h.rec.etag, rec.etag) << b;
    EXPECT_EQ(h.rec.content_md5, rec.content_md5) << b;
    EXPECT_EQ(h.rec.metadata, rec.metadata) << b;
    EXPECT_EQ(h.rec.committed_blocks.size(), rec.committed_blocks.size()) << b;
    EXPECT_EQ(PosixRead(Path(b)), data) << b;
  }
};

TEST_F(StoreFaultTest, NoSpaceDuringCommitKeepsOldBlob) {
  BlobRecord old = BigRecord("old data");
  ASSERT_TRUE(Put("b", "old data", old).ok());
  std::string tmp = Stage("new data");
  fs_.SetNoSpace();
  fs_.SetSetXattrErrno(ENOSPC);  // the xattr space is full as well
  Status s = store_->Commit("ctr", "b", tmp, MakeRecord("new data"), false);
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
  s = store_->Commit("ctr", "b", tmp, BigRecord("new data"), false);
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
  fs_.Heal();
  ExpectUnchanged("b", "old data", old);
  (void)PosixFs()->Unlink(tmp);
  EXPECT_EQ(CountEntries(store_->TmpDir()), 0u);
  EXPECT_EQ(CountEntries(Sidecars()), 1u);
}

TEST_F(StoreFaultTest, NoSpaceDuringAppendKeepsOldBlob) {
  BlobRecord old = MakeRecord("abc");
  old.blob_type = "AppendBlob";
  ASSERT_TRUE(Put("log", "abc", old).ok());
  std::string src_path = Stage("0123456789");
  auto src = PosixFs()->OpenRead(src_path);
  ASSERT_TRUE(src.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a partial write moves mtime
  fs_.SetSpaceLeft(4);
  BlobRecord next = old;
  next.etag = NewEtag();
  Status s = store_->AppendFrom("ctr", "log", **src, 10, next);
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
  fs_.Heal();
  ExpectUnchanged("log", "abc", old);
  // With space again the append works.
  ASSERT_TRUE(store_->AppendFrom("ctr", "log", **src, 10, next).ok());
  EXPECT_EQ(PosixRead(Path("log")), "abc0123456789");
  EXPECT_EQ(MustHead("log").rec.etag, next.etag);
}

TEST_F(StoreFaultTest, NoSpaceForAppendRecordKeepsOldBlob) {
  BlobRecord old = MakeRecord("abc");
  ASSERT_TRUE(Put("log", "abc", old).ok());
  std::string src_path = Stage("0123456789");
  auto src = PosixFs()->OpenRead(src_path);
  ASSERT_TRUE(src.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  fs_.SetPathFilter("/.strata/");  // the data fits; the record's sidecar does not
  fs_.SetNoSpace();
  Status s = store_->AppendFrom("ctr", "log", **src, 10, BigRecord("x"));
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
  fs_.Heal();
  ExpectUnchanged("log", "abc", old);
}

TEST_F(StoreFaultTest, FsyncErrorDuringCommitKeepsOldBlob) {
  Reopen(/*sync=*/true);
  BlobRecord old = BigRecord("old");
  ASSERT_TRUE(Put("b", "old", old).ok());
  std::string tmp = Stage("new", "staged-upload");
  fs_.SetPathFilter("staged-upload");
  fs_.SetSyncFails(true);
  Status s = store_->Commit("ctr", "b", tmp, BigRecord("new"), false);
  EXPECT_EQ(s.kind(), ErrorKind::kIo) << s.ToString();
  EXPECT_GT(fs_.injected(), 0);
  fs_.Heal();
  ExpectUnchanged("b", "old", old);
  (void)PosixFs()->Unlink(tmp);
  EXPECT_EQ(CountEntries(Sidecars()), 1u);  // the staged record's sidecar went too
}

TEST_F(StoreFaultTest, FailedRenameKeepsOldBlob) {
  BlobRecord old = BigRecord("old");
  ASSERT_TRUE(Put("b", "old", old).ok());
  fs_.SetPathFilter(root() + "/ctr/");
  fs_.SetRenameErrno(EIO);
  for (const BlobRecord& next : {MakeRecord("new"), BigRecord("new")}) {
    std::string tmp = Stage("new");
    Status s = store_->Commit("ctr", "b", tmp, next, false);
    EXPECT_EQ(s.kind(), ErrorKind::kIo) << s.ToString();
    (void)PosixFs()->Unlink(tmp);
  }
  fs_.Heal();
  ExpectUnchanged("b", "old", old);
  EXPECT_EQ(CountEntries(Sidecars()), 1u);
}

TEST_F(StoreFaultTest, NoSpaceWhileStoringBlockLeavesNothing) {
  fs_.SetPathFilter("/.name");
  fs_.SetNoSpace();
  Status s = store_->StoreBlock("ctr", "b", "id", Stage("blk"));
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
  fs_.Heal();
  EXPECT_EQ(CountEntries(root() + "/.strata/blocks"), 0u);
  EXPECT_EQ(CountEntries(store_->TmpDir()), 1u);  // only the staged block, the caller's
}

// Uncommitted blocks go 7 days after their blob's last Put Block, not before.
TEST_F(StoreTest, ExpireBlocksAfterSevenDays) {
  ASSERT_TRUE(store_->StoreBlock("ctr", "old", "id1", Stage("a")).ok());
  ASSERT_TRUE(store_->StoreBlock("ctr", "new", "id1", Stage("b")).ok());
  const TimeNs day = 24LL * 3600 * 1000000000LL;
  TimeNs now = NowNs();
  EXPECT_EQ(store_->ExpireBlocks(now + 6 * day), 0u);
  EXPECT_EQ(store_->UncommittedBlocks("ctr", "old")->size(), 1u);
  EXPECT_EQ(store_->ExpireBlocks(now + 8 * day), 2u);
  EXPECT_TRUE(store_->UncommittedBlocks("ctr", "old")->empty());
  EXPECT_TRUE(store_->UncommittedBlocks("ctr", "new")->empty());
}

// Capacity tier: a released blob is a sparse stub that is still the same blob
// (same record, same ETag); a POSIX rewrite of the stub makes it hot again;
// replacing or deleting a blob whose record names a remote copy calls the
// remote-reference hook before and after.
TEST_F(StoreTest, ReleaseDataKeepsTheBlobAndItsEtag) {
  std::string data(256 * 1024, 'x');
  BlobRecord rec = MakeRecord(data);
  ASSERT_TRUE(Put("t", data, rec).ok());
  auto before = store_->Head("ctr", "t");
  ASSERT_TRUE(before.ok() && before->has_record);
  BlobRecord off = before->rec;
  off.tier_state = BlobRecord::TierState::kOffloaded;
  off.remote_name = "p/ctr/t";
  off.remote_md5 = Md5(data);
  off.remote_size = data.size();
  ASSERT_TRUE(store_->ReleaseData("ctr", "t", off, before->st.mtime_ns).ok());
  ASSERT_TRUE(store_->ReleaseData("ctr", "t", off, before->st.mtime_ns).ok());  // idempotent
  auto after = store_->Head("ctr", "t");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->has_record);
  EXPECT_EQ(after->rec.etag, before->rec.etag);
  EXPECT_EQ(after->st.size, data.size());
  EXPECT_EQ(after->st.mtime_ns, before->st.mtime_ns);
  EXPECT_EQ(after->rec.tier_state, BlobRecord::TierState::kOffloaded);
  struct stat st;
  ASSERT_EQ(::stat(Path("t").c_str(), &st), 0);
  EXPECT_LE(st.st_blocks * 512, 4096);  // no data blocks (an xattr block at most)
  auto stored = store_->ReadStoredRecord("ctr", "t");
  ASSERT_TRUE(stored.ok() && stored->rec);
  EXPECT_EQ(stored->rec->remote_name, "p/ctr/t");

  // A POSIX rewrite: the data is local again, the stale reference is gone.
  PosixWrite(Path("t"), "new bytes");
  auto posix = store_->Head("ctr", "t");
  ASSERT_TRUE(posix.ok());
  EXPECT_FALSE(posix->has_record);
  EXPECT_EQ(posix->rec.tier_state, BlobRecord::TierState::kHot);
  EXPECT_TRUE(posix->rec.remote_name.empty());
}

TEST_F(StoreTest, RemoteRefHookSeesReplacesAndDeletes) {
  std::vector<std::string> calls;
  store_->SetRemoteRefHook([&](const std::string& c, const std::string& b, const BlobRecord& old,
                               bool done) {
    calls.push_back(b + ":" + old.remote_name + (done ? ":done" : ":before"));
  });
  BlobRecord rec = MakeRecord("abc");
  ASSERT_TRUE(Put("hot", "abc", rec).ok());
  ASSERT_TRUE(Put("hot", "abcd", MakeRecord("abcd")).ok());  // no remote copy: no call
  BlobRecord pre = MakeRecord("abc");
  pre.tier_state = BlobRecord::TierState::kPremigrated;
  pre.remote_name = "p/ctr/r";
  ASSERT_TRUE(Put("r", "abc", pre).ok());
  BlobRecord same = pre;  // a recall: same ETag, no call
  same.tier_state = BlobRecord::TierState::kHot;
  ASSERT_TRUE(Put("r", "abc", same).ok());
  ASSERT_TRUE(Put("r", "abc", pre).ok());
  ASSERT_TRUE(Put("r", "xyz", MakeRecord("xyz")).ok());  // replaced
  ASSERT_TRUE(Put("d", "abc", [&] { BlobRecord d = pre; d.remote_name = "p/ctr/d"; return d; }()).ok());
  ASSERT_TRUE(store_->DeleteBlob("ctr", "d").ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"r:p/ctr/r:before", "r:p/ctr/r:done",
                                             "d:p/ctr/d:before", "d:p/ctr/d:done"}));
}

}  // namespace
}  // namespace strata::ns

namespace strata::ns {
namespace {

// A root that does not exist (an unmounted shared file system) is refused
// unless the server says to create it; nothing is created on refusal.
TEST(StoreRootTest, MissingRootRefusedUnlessCreateRoot) {
  TempDir dir;
  std::string root = dir.path() + "/mnt/share";
  Store refused(PosixFs(), root, false);
  refused.SetCreateRoot(false);
  Status s = refused.Open();
  EXPECT_EQ(s.kind(), ErrorKind::kNotFound);
  EXPECT_NE(s.message().find("does not exist"), std::string::npos);
  struct stat st;
  EXPECT_NE(::stat((dir.path() + "/mnt").c_str(), &st), 0);
  Store created(PosixFs(), root, false);
  created.SetCreateRoot(true);
  EXPECT_TRUE(created.Open().ok());
  EXPECT_EQ(::stat((root + "/.strata").c_str(), &st), 0);
}

}  // namespace
}  // namespace strata::ns
