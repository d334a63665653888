#include "api/range.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::api {
namespace {

struct Parsed {
  RangeParse kind;
  ByteRange r;
};

Parsed Parse(const std::string& h, uint64_t size) {
  Parsed p{};
  p.r = {12345, 67890};  // sentinel: must be overwritten on kOk
  p.kind = ParseRange(h, size, &p.r);
  return p;
}

void ExpectRange(const std::string& h, uint64_t size, uint64_t off, uint64_t len) {
  Parsed p = Parse(h, size);
  ASSERT_EQ(p.kind, RangeParse::kOk) << h << " size " << size;
  EXPECT_EQ(p.r.offset, off) << h;
  EXPECT_EQ(p.r.length, len) << h;
}

TEST(Range, StartAndEnd) {
  ExpectRange("bytes=0-0", 1000, 0, 1);
  ExpectRange("bytes=0-99", 1000, 0, 100);
  ExpectRange("bytes=100-199", 1000, 100, 100);
  ExpectRange("bytes=999-999", 1000, 999, 1);
  ExpectRange(" bytes=10-19 ", 1000, 10, 10);
}

TEST(Range, OpenEnded) {
  ExpectRange("bytes=0-", 1000, 0, 1000);
  ExpectRange("bytes=100-", 1000, 100, 900);
  ExpectRange("bytes=999-", 1000, 999, 1);
}

TEST(Range, Suffix) {
  ExpectRange("bytes=-1", 1000, 999, 1);
  ExpectRange("bytes=-100", 1000, 900, 100);
  ExpectRange("bytes=-1000", 1000, 0, 1000);
  ExpectRange("bytes=-5000", 1000, 0, 1000);  // longer than the blob: all of it
}

TEST(Range, EndPastSizeClamps) {
  ExpectRange("bytes=500-2000", 1000, 500, 500);
  ExpectRange("bytes=0-18446744073709551615", 10, 0, 10);
  ExpectRange("bytes=0-1000", 1000, 0, 1000);
}

TEST(Range, StartAtOrPastEndIsUnsatisfiable) {
  for (const char* h : {"bytes=1000-", "bytes=1000-1000", "bytes=1000-2000", "bytes=5000-6000",
                        "bytes=18446744073709551615-", "bytes=-0"}) {
    EXPECT_EQ(Parse(h, 1000).kind, RangeParse::kUnsatisfiable) << h;
  }
}

TEST(Range, EmptyBlob) {
  for (const char* h : {"bytes=0-", "bytes=0-0", "bytes=0-100", "bytes=-1", "bytes=-100"}) {
    EXPECT_EQ(Parse(h, 0).kind, RangeParse::kUnsatisfiable) << h;
  }
}

TEST(Range, MalformedIsIgnored) {
  for (const char* h :
       {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-a", "bytes=a-", "bytes=5-3",
        "items=0-1", "0-1", "bytes=0-1,3-4", "bytes=1-2-3", "bytes=+1-2", "bytes=1--2", "bytes=--1",
        "bytes=0x10-", "bytes=99999999999999999999-", "bytes=0 1-2"}) {
    Parsed p = Parse(h, 1000);
    EXPECT_TRUE(p.kind == RangeParse::kMalformed || p.kind == RangeParse::kNone) << h;
  }
}

}  // namespace
}  // namespace strata::api
