#include "tier/journal.h"

#include <gtest/gtest.h>

#include "fs/testing/temp_dir.h"

namespace strata::tier {
namespace {

TEST(OffloadJournal, EntriesRoundTripAndAreReplacedPerBlob) {
  TempDir dir;
  OffloadJournal j(PosixFs(), dir.path() + "/journal", true);
  ASSERT_TRUE(j.Open().ok());
  JournalEntry e;
  e.op = JournalEntry::Op::kOffload;
  e.step = "upload";
  e.container = "c";
  e.blob = std::string("dir/\xff\x01name", 11);  // any octets
  e.remote_name = "strata/c/" + e.blob;
  e.etag = "0x8DC0000000000001";
  e.target_tier = "Archive";
  e.fp_size = 123, e.fp_ino = 456, e.fp_mtime = -7;
  ASSERT_TRUE(j.Put(e).ok());
  e.step = "release";  // the same blob: one entry, rewritten
  ASSERT_TRUE(j.Put(e).ok());
  JournalEntry d;
  d.op = JournalEntry::Op::kRemoteDelete;
  d.step = "delete";
  d.container = "c";
  d.blob = "x";
  d.remote_name = "strata/c/x";
  ASSERT_TRUE(j.Put(d).ok());
  auto all = j.List();
  ASSERT_EQ(all.size(), 2u);
  const JournalEntry* got = all[0].op == JournalEntry::Op::kOffload ? &all[0] : &all[1];
  EXPECT_EQ(got->step, "release");
  EXPECT_EQ(got->blob, e.blob);
  EXPECT_EQ(got->remote_name, e.remote_name);
  EXPECT_EQ(got->etag, e.etag);
  EXPECT_EQ(got->target_tier, "Archive");
  EXPECT_EQ(got->fp_size, 123u);
  EXPECT_EQ(got->fp_ino, 456u);
  EXPECT_EQ(got->fp_mtime, -7);
  ASSERT_TRUE(j.Remove(e).ok());
  ASSERT_TRUE(j.Remove(e).ok());  // idempotent
  EXPECT_EQ(j.List().size(), 1u);
}

TEST(OffloadJournal, RefusesGarbage) {
  EXPECT_FALSE(OffloadJournal::Decode("{").ok());
  EXPECT_FALSE(OffloadJournal::Decode(R"({"op": "explode", "step": "x"})").ok());
  EXPECT_FALSE(
      OffloadJournal::Decode(R"({"op": "offload", "step": "x", "c": "!!", "b": "", "remote": ""})")
          .ok());
}

}  // namespace
}  // namespace strata::tier
