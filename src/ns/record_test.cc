#include "ns/record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strata::ns {
namespace {

using namespace std::string_literals;
constexpr TimeNs kSec = 1000000000LL;

// Every byte value, for fields that must round-trip as bytes.
std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

BlobRecord FullBlobRecord() {
  BlobRecord r;
  r.blob_type = "AppendBlob";
  r.content_type = "text/plain; charset=utf-8";
  r.content_encoding = "gzip";
  r.content_language = "en-US";
  r.content_disposition = "attachment; filename=\"a b.txt\"";
  r.cache_control = "no-cache";
  r.content_md5 = "\x00\xff\x10\"\\\n"s + std::string(10, '\x80');
  r.metadata = {{"zeta", "1"},
                {"alpha", "two words"},
                {"Mixed", "\xc3\xa9t\xc3\xa9"},
                {"empty", ""},
                {"alpha2", "{\"json\":[1]}"}};
  r.etag = "0x8DB0123456789AB";
  r.last_modified = 1700000000123456789;
  r.created = 1600000000000000001;
  r.fp_size = 1ULL << 40;
  r.fp_ino = 0xFFFFFFFFFFFFFFF0ULL;
  r.fp_mtime = -5;
  r.lease.id = "6c1f5a2e-0000-4000-8000-000000000001";
  r.lease.duration = 30;
  r.lease.expiry = 1700000030000000000;
  r.lease.break_time = 1700000010000000000;
  r.lease.active = true;
  r.lease.breaking = true;
  for (int i = 0; i < 5; ++i) {
    std::string id(64, static_cast<char>(i));
    id[1] = '\0';
    id[2] = '\xff';
    r.committed_blocks.push_back({id, static_cast<uint64_t>(i) * 4 << 20});
  }
  r.append_block_count = 7;
  r.sealed = true;
  r.copy_id = "copy-1";
  r.copy_source = "http://127.0.0.1:10000/devstoreaccount1/c/src%20blob";
  r.copy_status = "success";
  r.copy_completion = 1700000000000000000;
  r.copy_length = 12345;
  r.copy_progress = 4096;
  r.copy_status_description = "pending: 4096 of 12345 bytes";
  r.tier = "Cool";
  r.tier_state = BlobRecord::TierState::kOffloaded;
  r.remote_name = "strata/c/dir/blob";
  r.remote_etag = "0x8DC0000000000001";
  r.remote_md5 = std::string(16, '\x5a');
  r.remote_size = 1 << 20;
  r.rehydrate_to = "Hot";
  r.tier_change_time = 1700000000000000000 + 5;
  r.rehydrate_priority = "High";
  r.rehydrate_done = 1700000000000000000 + 10000000000;
  r.last_access = 1700000000000000000 + 86400;
  r.remote_damaged = true;
  return r;
}

void ExpectSameLease(const Lease& a, const Lease& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.duration, b.duration);
  EXPECT_EQ(a.expiry, b.expiry);
  EXPECT_EQ(a.break_time, b.break_time);
  EXPECT_EQ(a.active, b.active);
  EXPECT_EQ(a.breaking, b.breaking);
}

void ExpectSameBlob(const BlobRecord& a, const BlobRecord& b) {
  EXPECT_EQ(a.blob_type, b.blob_type);
  EXPECT_EQ(a.content_type, b.content_type);
  EXPECT_EQ(a.content_encoding, b.content_encoding);
  EXPECT_EQ(a.content_language, b.content_language);
  EXPECT_EQ(a.content_disposition, b.content_disposition);
  EXPECT_EQ(a.cache_control, b.cache_control);
  EXPECT_EQ(a.content_md5, b.content_md5);
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.etag, b.etag);
  EXPECT_EQ(a.last_modified, b.last_modified);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.fp_size, b.fp_size);
  EXPECT_EQ(a.fp_ino, b.fp_ino);
  EXPECT_EQ(a.fp_mtime, b.fp_mtime);
  ExpectSameLease(a.lease, b.lease);
  ASSERT_EQ(a.committed_blocks.size(), b.committed_blocks.size());
  for (size_t i = 0; i < a.committed_blocks.size(); ++i) {
    EXPECT_EQ(a.committed_blocks[i].id, b.committed_blocks[i].id) << i;
    EXPECT_EQ(a.committed_blocks[i].size, b.committed_blocks[i].size) << i;
  }
  EXPECT_EQ(a.append_block_count, b.append_block_count);
  EXPECT_EQ(a.sealed, b.sealed);
  EXPECT_EQ(a.copy_id, b.copy_id);
  EXPECT_EQ(a.copy_source, b.copy_source);
  EXPECT_EQ(a.copy_status, b.copy_status);
  EXPECT_EQ(a.copy_completion, b.copy_completion);
  EXPECT_EQ(a.copy_length, b.copy_length);
  EXPECT_EQ(a.copy_progress, b.copy_progress);
  EXPECT_EQ(a.copy_status_description, b.copy_status_description);
  EXPECT_EQ(a.tier, b.tier);
  EXPECT_EQ(a.tier_state, b.tier_state);
  EXPECT_EQ(a.remote_name, b.remote_name);
  EXPECT_EQ(a.remote_etag, b.remote_etag);
  EXPECT_EQ(a.remote_md5, b.remote_md5);
  EXPECT_EQ(a.remote_size, b.remote_size);
  EXPECT_EQ(a.last_access, b.last_access);
  EXPECT_EQ(a.rehydrate_to, b.rehydrate_to);
  EXPECT_EQ(a.remote_damaged, b.remote_damaged);
  EXPECT_EQ(a.tier_change_time, b.tier_change_time);
  EXPECT_EQ(a.rehydrate_priority, b.rehydrate_priority);
  EXPECT_EQ(a.rehydrate_done, b.rehydrate_done);
}

TEST(BlobRecord, RoundTripsEveryField) {
  BlobRecord r = FullBlobRecord();
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameBlob(r, *back);
}

// Times are packed as deltas; a record read back from the file system may
// hold any times, and their deltas overflowed int64_t (undefined; found by
// fuzz/record_fuzz under UBSan). They wrap, and still round-trip.
TEST(BlobRecord, RoundTripsExtremeTimes) {
  BlobRecord r = FullBlobRecord();
  r.last_modified = INT64_MIN;
  r.created = INT64_MAX;
  r.fp_mtime = INT64_MAX;
  r.fp_ctime_bound = INT64_MIN + 1;
  r.last_access = INT64_MAX - 1;
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameBlob(r, *back);
}

TEST(BlobRecord, RoundTripsDefaults) {
  BlobRecord r;
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameBlob(r, *back);
  EXPECT_EQ(back->blob_type, "BlockBlob");
  EXPECT_TRUE(back->content_md5.empty());
  EXPECT_TRUE(back->committed_blocks.empty());
}

// A record as Put Blob writes it (MD5, ETag, times, fingerprint, ctime
// bound, no user metadata) packs small enough for the inode's own xattr
// space on ext4 with 256-byte inodes, so a blob costs no extra block.
TEST(BlobRecord, TypicalRecordFitsInTheInode) {
  BlobRecord r;
  r.content_type = "application/octet-stream";
  r.content_md5 = std::string(16, '\x5a');
  r.etag = NewEtag();
  r.last_modified = NowNs();
  r.created = r.last_modified;
  r.fp_size = 16384;
  r.fp_ino = 123456789;
  r.fp_mtime = r.last_modified - 3000000;
  r.fp_ctime_bound = r.last_modified + 200000;
  std::string packed = r.Pack();
  EXPECT_LE(packed.size(), 60u);
  auto back = BlobRecord::Unpack(packed);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameBlob(r, *back);
}

TEST(BlobRecord, MetadataKeepsOrderAndDuplicates) {
  BlobRecord r;
  for (int i = 20; i > 0; --i) r.metadata.emplace_back("k" + std::to_string(i), std::to_string(i));
  r.metadata.emplace_back("k1", "again");
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->metadata, r.metadata);
}

// Header values may carry any octet (obs-text); a record must store them as
// given and never throw while packing.
TEST(BlobRecord, RoundTripsBytesThatAreNotUtf8) {
  BlobRecord r;
  r.content_type = "text/\xff\xfe";
  r.content_disposition = AllBytes();
  r.cache_control = "\xc3";             // truncated sequence
  r.content_language = "\xed\xa0\x80";  // UTF-16 surrogate in UTF-8
  r.content_encoding = "\xc0\xaf";      // overlong '/'
  r.metadata = {{"k", "\x80\x81"}, {"\xe9t\xe9", "latin-1"}};
  r.lease.id = "\xff";
  r.copy_id = "id";
  r.copy_source = "http://h/c/\xff";
  std::string packed;
  ASSERT_NO_THROW(packed = r.Pack());
  auto back = BlobRecord::Unpack(packed);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameBlob(r, *back);
}

TEST(BlobRecord, ValidUtf8StaysReadable) {
  BlobRecord r;
  r.content_type = "text/plain";
  r.metadata = {{"name", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"}};
  std::string packed = r.Pack();
  EXPECT_NE(packed.find("text/plain"), std::string::npos);
  EXPECT_NE(packed.find("\xc3\xa9t\xc3\xa9"), std::string::npos);
  auto back = BlobRecord::Unpack(packed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->metadata, r.metadata);
}

TEST(BlobRecord, CorruptInputIsAnError) {
  std::string good = FullBlobRecord().Pack();
  std::vector<std::string> bad = {
      "",
      "{",
      "null",
      "42",
      "\"str\"",
      "[1,2,3]",
      "@sidecar",
      "{\"meta\": 5}",
      "{\"meta\": [[1, 2]]}",
      "{\"meta\": [[\"k\"]]}",
      "{\"fp\": [1]}",
      "{\"fp\": \"x\"}",
      "{\"fp\": [\"a\", 2, 3]}",
      "{\"blocks\": 7}",
      "{\"blocks\": [[\"!!!\", 1]]}",
      "{\"blocks\": [[\"AAAA\"]]}",
      "{\"md5\": \"not base64\"}",
      "{\"md5\": 5}",
      "{\"lease\": 5}",
      "{\"lease\": {\"dur\": \"x\"}}",
      "{\"ct\": 5}",
      "{\"ct\": {\"b64\": \"@@\"}}",
      "{\"copy\": [1]}",
      "{\"lm\": \"yesterday\"}",
      good.substr(0, good.size() / 2),
      good + "garbage",
      "\xff\xfe{}",
  };
  for (const auto& text : bad) {
    Result<BlobRecord> r = BlobRecord::Unpack(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument) << text;
    }
  }
}

TEST(BlobRecord, EveryTruncationOrByteFlipIsHandled) {
  std::string good = FullBlobRecord().Pack();
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(BlobRecord::Unpack(good.substr(0, n)).ok()) << n;
  }
  for (size_t i = 0; i < good.size(); i += 3) {
    std::string s = good;
    s[i] = static_cast<char>(s[i] ^ 0x5a);
    (void)BlobRecord::Unpack(s);  // either result, never a crash
  }
}

TEST(ContainerRecord, RoundTrips) {
  ContainerRecord r;
  r.metadata = {{"b", "1"}, {"a", "\xff"}, {"c", ""}};
  r.etag = "0x8DB000000000001";
  r.last_modified = 1700000000000000007;
  r.public_access = "container";
  r.identifiers = {{"policy1", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "rwdl"},
                   {"p2", "", "", "r"}};
  r.lease.id = "lease";
  r.lease.duration = -1;
  r.lease.active = true;
  auto back = ContainerRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->metadata, r.metadata);
  EXPECT_EQ(back->etag, r.etag);
  EXPECT_EQ(back->last_modified, r.last_modified);
  EXPECT_EQ(back->public_access, r.public_access);
  ASSERT_EQ(back->identifiers.size(), 2u);
  EXPECT_EQ(back->identifiers[0].id, "policy1");
  EXPECT_EQ(back->identifiers[0].start, "2024-01-01T00:00:00Z");
  EXPECT_EQ(back->identifiers[0].expiry, "2025-01-01T00:00:00Z");
  EXPECT_EQ(back->identifiers[0].permission, "rwdl");
  EXPECT_EQ(back->identifiers[1].permission, "r");
  ExpectSameLease(back->lease, r.lease);

  auto empty = ContainerRecord::Unpack(ContainerRecord().Pack());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->metadata.empty());
  EXPECT_EQ(empty->public_access, "");
}

TEST(ContainerRecord, CorruptInputIsAnError) {
  for (const char* text : {"", "{", "[]", "7", "{\"meta\": {}}", "{\"ids\": 3}", "{\"ids\": [5]}",
                           "{\"lease\": []}", "{\"access\": 1}"}) {
    EXPECT_FALSE(ContainerRecord::Unpack(text).ok()) << text;
  }
}

// Numbers a JSON record read back from the file system may hold but a
// TimeNs or a lease duration cannot: converting them was undefined (found
// by fuzz/record_fuzz under UBSan). They are corrupt input.
TEST(ContainerRecord, NumbersOutOfRangeAreAnError) {
  for (const char* text :
       {"{\"lm\": 1.5}", "{\"lm\": 1e300}", "{\"lm\": 18446744073709551615}", "{\"lm\": \"1\"}",
        "{\"lease\": {\"dur\": 5.5e32}}", "{\"lease\": {\"dur\": 3601}}",
        "{\"lease\": {\"dur\": -2}}", "{\"lease\": {\"exp\": -1e300}}",
        "{\"lease\": {\"brk\": 9223372036854775808}}"}) {
    EXPECT_FALSE(ContainerRecord::Unpack(text).ok()) << text;
  }
  auto ok = ContainerRecord::Unpack(
      "{\"lm\": -9223372036854775808, \"lease\": {\"dur\": -1, \"exp\": 9223372036854775807}}");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->last_modified, INT64_MIN);
  EXPECT_EQ(ok->lease.duration, -1);
  EXPECT_EQ(ok->lease.expiry, INT64_MAX);
}

// ------------------------------------------------------------------ leases

Lease Acquired(TimeNs now, int duration) {
  Lease l;
  l.id = "id";
  l.active = true;
  l.duration = duration;
  l.expiry = duration > 0 ? now + duration * kSec : 0;
  return l;
}

TEST(Lease, AvailableWithoutLease) {
  Lease l;
  EXPECT_EQ(l.State(0), "available");
  EXPECT_EQ(l.State(1700000000 * kSec), "available");
  EXPECT_FALSE(l.Held(0));
}

TEST(Lease, FiniteLeaseExpires) {
  TimeNs t0 = 1700000000 * kSec;
  Lease l = Acquired(t0, 15);
  EXPECT_EQ(l.State(t0), "leased");
  EXPECT_TRUE(l.Held(t0));
  EXPECT_EQ(l.State(t0 + 15 * kSec - 1), "leased");
  EXPECT_EQ(l.State(t0 + 15 * kSec), "expired");
  EXPECT_FALSE(l.Held(t0 + 15 * kSec));
  EXPECT_EQ(l.State(t0 + 3600 * kSec), "expired");
}

TEST(Lease, InfiniteLeaseNeverExpires) {
  TimeNs t0 = 1700000000 * kSec;
  Lease l = Acquired(t0, -1);
  EXPECT_EQ(l.State(t0 + 365LL * 24 * 3600 * kSec), "leased");
  EXPECT_TRUE(l.Held(t0 + 365LL * 24 * 3600 * kSec));
}

TEST(Lease, BreakingThenBroken) {
  TimeNs t0 = 1700000000 * kSec;
  Lease l = Acquired(t0, 60);
  l.breaking = true;
  l.break_time = t0 + 10 * kSec;
  EXPECT_EQ(l.State(t0), "breaking");
  EXPECT_TRUE(l.Held(t0));  // a breaking lease still guards writes
  EXPECT_EQ(l.State(t0 + 10 * kSec - 1), "breaking");
  EXPECT_EQ(l.State(t0 + 10 * kSec), "broken");
  EXPECT_FALSE(l.Held(t0 + 10 * kSec));
  // Broken stays broken, also past the original expiry.
  EXPECT_EQ(l.State(t0 + 120 * kSec), "broken");
}

TEST(Lease, ImmediateBreakIsBroken) {
  TimeNs t0 = 1700000000 * kSec;
  Lease l = Acquired(t0, -1);
  l.breaking = true;
  l.break_time = t0;
  EXPECT_EQ(l.State(t0), "broken");
  EXPECT_FALSE(l.Held(t0));
}

TEST(Lease, ReleasedIsAvailable) {
  TimeNs t0 = 1700000000 * kSec;
  Lease l = Acquired(t0, 30);
  l.active = false;  // released, id kept
  EXPECT_EQ(l.State(t0), "available");
  EXPECT_FALSE(l.Held(t0));
}

TEST(Lease, StateSurvivesPacking) {
  TimeNs t0 = 1700000000 * kSec;
  BlobRecord r;
  r.lease = Acquired(t0, 20);
  r.lease.breaking = true;
  r.lease.break_time = t0 + 5 * kSec;
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok());
  for (TimeNs t : {t0, t0 + 5 * kSec, t0 + 25 * kSec})
    EXPECT_EQ(back->lease.State(t), r.lease.State(t));
}

// ------------------------------------------------------------------ etags

TEST(Etag, FormatAndOrder) {
  std::string a = NewEtag(), b = NewEtag();
  EXPECT_EQ(a.size(), 18u);
  EXPECT_EQ(a.substr(0, 2), "0x");
  EXPECT_EQ(a.find_first_not_of("0123456789ABCDEF", 2), std::string::npos) << a;
  EXPECT_LT(a, b);  // fixed-width hex: string order is numeric order
}

TEST(Etag, UniqueAndMonotonicAcrossThreads) {
  constexpr int kThreads = 8, kPerThread = 5000;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&seen, t] {
      seen[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) seen[t].push_back(NewEtag());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : seen) {
    // Each thread sees strictly increasing values.
    for (size_t i = 1; i < v.size(); ++i) ASSERT_LT(v[i - 1], v[i]) << i;
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_LT(*all.rbegin(), NewEtag());
}

TEST(Etag, DerivedIsStableAndSensitive) {
  std::string e = DerivedEtag(10, 20, 30);
  EXPECT_EQ(e, DerivedEtag(10, 20, 30));
  EXPECT_NE(e, DerivedEtag(11, 20, 30));
  EXPECT_NE(e, DerivedEtag(10, 21, 30));
  EXPECT_NE(e, DerivedEtag(10, 20, 31));
  EXPECT_EQ(e.substr(0, 2), "0x");
  EXPECT_EQ(e.size(), 18u);
}

// A record packed before the tier fields existed still unpacks, as hot.
TEST(BlobRecord, TierFieldsAreOptional) {
  BlobRecord r;
  r.etag = "0x8DC0000000000001";
  r.last_modified = 1700000000000000000;
  std::string packed = r.Pack();
  auto back = BlobRecord::Unpack(packed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->tier_state, BlobRecord::TierState::kHot);
  EXPECT_TRUE(back->remote_name.empty());
  // An offloaded record costs only its remote reference.
  r.tier_state = BlobRecord::TierState::kOffloaded;
  r.remote_name = "p/c/b";
  r.remote_md5 = std::string(16, 'x');
  EXPECT_LE(r.Pack().size(), packed.size() + 4 + 5 + 17 + 3);
  auto bad = r.Pack();
  bad[bad.size() - 27] = 9;  // state byte out of range
  EXPECT_FALSE(BlobRecord::Unpack(bad).ok());
}

// The damage mark is one mask bit: records without it (all those written
// before it existed) pack to the same bytes and read back undamaged.
TEST(BlobRecord, RemoteDamagedIsOneBit) {
  BlobRecord r;
  r.etag = "0x8DC0000000000001";
  r.tier_state = BlobRecord::TierState::kOffloaded;
  r.remote_name = "p/c/b";
  r.remote_etag = "0x8DC0000000000002";
  r.remote_md5 = std::string(16, 'x');
  std::string clean = r.Pack();
  auto back = BlobRecord::Unpack(clean);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->remote_damaged);
  r.remote_damaged = true;
  std::string damaged = r.Pack();
  EXPECT_EQ(damaged.size(), clean.size());
  back = BlobRecord::Unpack(damaged);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->remote_damaged);
  EXPECT_EQ(back->remote_etag, r.remote_etag);
}

// Set Blob Properties stores an x-ms-blob-content-md5 of any length, as
// Azure does; such a digest survives a round trip, as does none.
TEST(BlobRecord, ContentMd5OfAnyLength) {
  for (std::string md5 : {std::string("abc"), std::string(24, '\x7f'), std::string(16, '\x01'),
                          std::string()}) {
    BlobRecord r;
    r.etag = NewEtag();
    r.content_md5 = md5;
    auto back = BlobRecord::Unpack(r.Pack());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->content_md5, md5);
  }
}

// Sealing is one mask bit, as the damage mark, with no payload: an
// unsealed record is unchanged, a sealed one costs at most a byte more (the
// mask's varint may grow).
TEST(BlobRecord, SealedIsOneBit) {
  BlobRecord r;
  r.blob_type = "AppendBlob";
  r.etag = "0x8DC0000000000001";
  r.append_block_count = 3;
  std::string open = r.Pack();
  auto back = BlobRecord::Unpack(open);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->sealed);
  r.sealed = true;
  std::string sealed = r.Pack();
  EXPECT_LE(sealed.size(), open.size() + 1);
  back = BlobRecord::Unpack(sealed);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->sealed);
  EXPECT_EQ(back->append_block_count, 3u);
}

// A copy of an archived source stays pending while its destination
// rehydrates, and concludes (success, at the deadline) when that is due,
// evaluated at read time and when the record is settled.
TEST(BlobRecord, RehydratingCopyConcludesWithTheRehydration) {
  BlobRecord r;
  r.etag = "0x8DC0000000000001";
  r.last_modified = 1700000000000000000;
  r.copy_id = "id";
  r.copy_status = "pending";
  r.copy_completion = 0;
  r.tier = "Archive";
  r.rehydrate_to = "Hot";
  r.rehydrate_priority = "Standard";
  r.rehydrate_done = r.last_modified + 1000;
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  TimeNs before = r.last_modified + 999, after = r.last_modified + 1000;
  EXPECT_TRUE(back->RehydratingCopy());
  EXPECT_EQ(back->CopyStatus(before), "pending");
  EXPECT_EQ(back->CopyStatus(after), "success");
  EXPECT_EQ(back->CopyCompletion(after), after);
  back->SettleRehydration(after);
  EXPECT_EQ(back->copy_status, "success");
  EXPECT_EQ(back->copy_completion, after);
  EXPECT_EQ(back->CopyStatus(after), "success");
  // A background copy (no rehydration deadline) is not concluded by time.
  BlobRecord job = r;
  job.tier.clear();
  job.rehydrate_to.clear();
  job.rehydrate_done = 0;
  EXPECT_FALSE(job.RehydratingCopy());
  EXPECT_EQ(job.CopyStatus(after + 1000000), "pending");
}

// The access tier as clients see it: a local rehydration completes at its
// deadline, evaluated at read time (no timer), and survives a pack/unpack
// (a restart, or another gateway reading the record).
TEST(BlobRecord, AccessTierAndLocalRehydration) {
  BlobRecord r;
  r.etag = "0x8DC0000000000001";
  r.last_modified = 1700000000000000000;
  EXPECT_EQ(r.AccessTier(0), "Hot");
  EXPECT_TRUE(r.AccessTierInferred(0));
  EXPECT_FALSE(r.Archived(0));
  std::string plain = r.Pack();
  r.tier = "Archive";
  r.tier_change_time = r.last_modified + 7;
  EXPECT_TRUE(r.Archived(r.last_modified));
  EXPECT_FALSE(r.AccessTierInferred(0));
  r.rehydrate_to = "Cool";
  r.rehydrate_priority = "Standard";
  r.rehydrate_done = r.last_modified + 1000;
  auto back = BlobRecord::Unpack(r.Pack());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  TimeNs before = r.last_modified + 999, after = r.last_modified + 1000;
  EXPECT_TRUE(back->Archived(before));
  EXPECT_EQ(back->AccessTier(before), "Archive");
  EXPECT_EQ(back->RehydratingTo(before), "Cool");
  EXPECT_EQ(back->AccessTierChangeTime(before), r.last_modified + 7);
  EXPECT_FALSE(back->Archived(after));
  EXPECT_EQ(back->AccessTier(after), "Cool");
  EXPECT_EQ(back->RehydratingTo(after), "");
  EXPECT_EQ(back->AccessTierChangeTime(after), after);
  back->SettleRehydration(before);
  EXPECT_EQ(back->tier, "Archive");
  back->SettleRehydration(after);
  EXPECT_EQ(back->tier, "Cool");
  EXPECT_EQ(back->tier_change_time, after);
  EXPECT_TRUE(back->rehydrate_to.empty());
  EXPECT_TRUE(back->rehydrate_priority.empty());
  EXPECT_EQ(back->rehydrate_done, 0);
  // A deadline without a target (a POSIX rewrite dropped the target) is
  // no rehydration.
  BlobRecord stray = r;
  stray.rehydrate_to.clear();
  EXPECT_FALSE(stray.RehydrationDue(after));
  EXPECT_EQ(stray.AccessTier(after), "Archive");
  // A record that never had a tier set packs as before.
  BlobRecord fresh;
  fresh.etag = r.etag;
  fresh.last_modified = r.last_modified;
  EXPECT_EQ(fresh.Pack(), plain);
}

}  // namespace
}  // namespace strata::ns
