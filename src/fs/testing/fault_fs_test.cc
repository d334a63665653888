#include "fs/testing/fault_fs.h"

#include <gtest/gtest.h>

#include <string>

#include "fs/testing/temp_dir.h"

namespace strata {
namespace {

std::string ReadAll(Fs* fs, const std::string& path) {
  auto f = fs->OpenRead(path);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (!f.ok()) return "";
  std::string out(1 << 16, '\0');
  auto n = (*f)->PRead(out.data(), out.size(), 0);
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? *n : 0);
  return out;
}

TEST(FaultFs, ForwardsWhenHealthy) {
  TempDir dir;
  FaultFs fs;
  std::string p = dir.path() + "/f";
  auto f = fs.OpenWrite(p, true, true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->PWrite("hello", 5, 0).ok());
  ASSERT_TRUE((*f)->Append(" world", 6).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(ReadAll(&fs, p), "hello world");
  ASSERT_TRUE(fs.Rename(p, p + "2").ok());
  EXPECT_EQ(fs.injected(), 0);
}

TEST(FaultFs, NoSpaceWritesWhatFitsThenFails) {
  TempDir dir;
  FaultFs fs;
  fs.SetSpaceLeft(4);
  std::string p = dir.path() + "/f";
  auto f = fs.OpenWrite(p, true, true);
  ASSERT_TRUE(f.ok());
  Status s = (*f)->PWrite("abcdef", 6, 0);
  EXPECT_EQ(s.kind(), ErrorKind::kNoSpace) << s.ToString();
  EXPECT_EQ(ReadAll(&fs, p), "abcd");
  EXPECT_EQ((*f)->Append("x", 1).kind(), ErrorKind::kNoSpace);
  fs.Heal();
  EXPECT_TRUE((*f)->Append("x", 1).ok());
  EXPECT_EQ(ReadAll(&fs, p), "abcdx");
  EXPECT_EQ(fs.injected(), 2);
}

TEST(FaultFs, NoSpaceOnCopyFrom) {
  TempDir dir;
  FaultFs fs;
  std::string src = dir.path() + "/src", dst = dir.path() + "/dst";
  {
    auto f = fs.OpenWrite(src, true, true);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->PWrite("0123456789", 10, 0).ok());
  }
  auto in = fs.OpenRead(src);
  auto out = fs.OpenWrite(dst, true, true);
  ASSERT_TRUE(in.ok() && out.ok());
  fs.SetSpaceLeft(3);
  EXPECT_EQ((*out)->CopyFrom(**in, 0, 0, 10).kind(), ErrorKind::kNoSpace);
  EXPECT_EQ(ReadAll(&fs, dst), "012");
}

TEST(FaultFs, SyncRenameAndXattrFaults) {
  TempDir dir;
  FaultFs fs;
  std::string p = dir.path() + "/f";
  auto f = fs.OpenWrite(p, true, true);
  ASSERT_TRUE(f.ok());
  fs.SetSyncFails(true);
  EXPECT_EQ((*f)->Sync().kind(), ErrorKind::kIo);
  EXPECT_EQ(fs.SyncDir(dir.path()).kind(), ErrorKind::kIo);
  fs.SetRenameErrno(EIO);
  EXPECT_EQ(fs.Rename(p, p + "2").kind(), ErrorKind::kIo);
  EXPECT_EQ(fs.RenameNoReplace(p, p + "2").kind(), ErrorKind::kIo);
  EXPECT_TRUE(fs.Stat(p).ok());
  fs.SetNoXattr(true);
  EXPECT_EQ(fs.SetXattr(p, "user.k", "v").kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(fs.GetXattr(p, "user.k").status().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ((*f)->SetXattr("user.k", "v").kind(), ErrorKind::kUnsupported);
  EXPECT_EQ((*f)->GetXattr("user.k").status().kind(), ErrorKind::kUnsupported);
  fs.Heal();
  fs.SetSetXattrErrno(ENOSPC);
  EXPECT_EQ(fs.SetXattr(p, "user.k", "v").kind(), ErrorKind::kNoSpace);
  EXPECT_EQ(fs.GetXattr(p, "user.k").status().kind(), ErrorKind::kNotFound);
  fs.Heal();
  EXPECT_TRUE((*f)->Sync().ok());
  EXPECT_TRUE(fs.SetXattr(p, "user.k", "v").ok());
  EXPECT_EQ(*fs.GetXattr(p, "user.k"), "v");
}

TEST(FaultFs, PathFilterLimitsFaults) {
  TempDir dir;
  FaultFs fs;
  fs.SetPathFilter("/victim");
  fs.SetNoSpace();
  auto a = fs.OpenWrite(dir.path() + "/other", true, true);
  auto b = fs.OpenWrite(dir.path() + "/victim", true, true);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE((*a)->PWrite("x", 1, 0).ok());
  EXPECT_EQ((*b)->PWrite("x", 1, 0).kind(), ErrorKind::kNoSpace);
}

}  // namespace
}  // namespace strata
