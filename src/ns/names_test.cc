#include "ns/names.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace strata::ns {
namespace {

using namespace std::string_literals;

// The kInvalidName message of `name`, or "" when the name is accepted.
std::string BlobNameError(std::string_view name) {
  Status s = ValidateBlobName(name);
  if (s.ok()) return "";
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidName) << name;
  EXPECT_FALSE(s.message().empty());
  return s.message();
}

TEST(ContainerName, AcceptsAzureNames) {
  for (const char* n : {"abc", "a-b", "a1-b2-c3", "123", "0-0", "$root", "$logs", "$web",
                        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"}) {
    EXPECT_TRUE(ValidateContainerName(n).ok()) << n;
  }
}

TEST(ContainerName, RefusesBrokenRules) {
  const std::string too_long(64, 'a');
  for (const std::string& n :
       {""s, "a"s, "ab"s, too_long, "Abc"s, "a_b"s, "a.b"s, "a b"s, "-ab"s, "ab-"s, "a--b"s,
        ".strata"s, "$other"s, "a/b"s, "abc\0"s, "ab\xc3\xa9"s}) {
    Status s = ValidateContainerName(n);
    EXPECT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.kind(), ErrorKind::kInvalidName) << n;
  }
}

TEST(ContainerName, MessageNamesTheRule) {
  EXPECT_NE(ValidateContainerName("ab").message().find("3 to 63"), std::string::npos);
  EXPECT_NE(ValidateContainerName("aBc").message().find("lowercase"), std::string::npos);
  EXPECT_NE(ValidateContainerName("a--b").message().find("consecutive hyphens"), std::string::npos);
  EXPECT_NE(ValidateContainerName("-ab").message().find("start and end"), std::string::npos);
}

TEST(BlobName, AcceptsOrdinaryNames) {
  for (const char* n : {"a", "a/b", "a/b/c.txt", ".hidden", "a/.b", "..a", "a..", "...", "a b",
                        "a%2Fb", "dir/file-0001.tar", "\xc3\xa9t\xc3\xa9"}) {
    EXPECT_EQ(BlobNameError(n), "") << n;
  }
}

TEST(BlobName, EmptySegments) {
  for (const char* n : {"/a", "a/", "a//b", "/", "//", "a/b/"}) {
    std::string msg = BlobNameError(n);
    EXPECT_NE(msg.find("empty path segment"), std::string::npos) << n << ": " << msg;
  }
}

TEST(BlobName, DotSegments) {
  for (const char* n : {".", "..", "./a", "../a", "a/.", "a/..", "a/./b", "a/../b", "a/../../x"}) {
    std::string msg = BlobNameError(n);
    EXPECT_NE(msg.find("'.' or '..'"), std::string::npos) << n << ": " << msg;
  }
}

TEST(BlobName, SegmentLimitIs255Bytes) {
  EXPECT_EQ(BlobNameError(std::string(255, 'x')), "");
  EXPECT_EQ(BlobNameError("d/" + std::string(255, 'x') + "/f"), "");
  for (const std::string& n :
       {std::string(256, 'x'), "d/" + std::string(256, 'x'), std::string(256, 'x') + "/f"}) {
    std::string msg = BlobNameError(n);
    EXPECT_NE(msg.find("longer than 255 bytes"), std::string::npos) << msg;
  }
  // Bytes, not characters: 128 two-byte characters are 256 bytes.
  std::string e_acute;
  for (int i = 0; i < 128; ++i) e_acute += "\xc3\xa9";
  EXPECT_NE(BlobNameError(e_acute).find("255 bytes"), std::string::npos);
}

TEST(BlobName, WholeNameLimitIs1024Characters) {
  // Four 200-byte segments and four slashes are 804 characters.
  std::string seg(200, 'x');
  std::string head = seg + "/" + seg + "/" + seg + "/" + seg + "/";
  ASSERT_EQ(head.size(), 804u);
  EXPECT_EQ(BlobNameError(head + std::string(219, 'y')), "");     // 1023
  EXPECT_EQ(BlobNameError(head + std::string(220, 'y')), "");     // 1024
  std::string msg = BlobNameError(head + std::string(221, 'y'));  // 1025
  EXPECT_NE(msg.find("1 to 1024 characters"), std::string::npos) << msg;
  EXPECT_NE(BlobNameError("").find("1 to 1024 characters"), std::string::npos);
}

TEST(BlobName, LimitCountsCharactersNotBytes) {
  // Azure limits a blob name to 1024 characters: 1000 two-byte characters
  // (2000 bytes) in short segments are a valid name.
  std::string name;
  for (int i = 0; i < 1000; ++i) {
    if (i && i % 100 == 0) name += '/';
    name += "\xc3\xa9";
  }
  EXPECT_EQ(BlobNameError(name), "");
  // 1020 two-byte characters and 10 slashes are 1030 characters: too many.
  std::string too_long;
  for (int i = 0; i < 1020; ++i) {
    if (i && i % 100 == 0) too_long += '/';
    too_long += "\xc3\xa9";
  }
  EXPECT_NE(BlobNameError(too_long).find("1 to 1024 characters"), std::string::npos);
}

TEST(BlobName, RefusesNul) {
  std::string msg = BlobNameError("a\0b"s);
  EXPECT_NE(msg.find("NUL"), std::string::npos) << msg;
  EXPECT_NE(BlobNameError("\0"s).find("NUL"), std::string::npos);
}

TEST(BlobName, RefusesInvalidUtf8) {
  for (std::string bad : {"\xff"s, "a\x80"s, "\xc3"s, "\xc0\xaf"s /* overlong '/' */,
                          "\xe0\x80\xaf"s, "\xed\xa0\x80"s /* surrogate */,
                          "\xf4\x90\x80\x80"s /* past U+10FFFF */, "ok/\xfe/x"s}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
    EXPECT_NE(BlobNameError(bad).find("UTF-8"), std::string::npos) << bad;
  }
  for (std::string good : {"plain"s, "\xc3\xa9"s, "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s,
                           "\xef\xbf\xbd"s, "\xf4\x8f\xbf\xbf"s}) {
    EXPECT_TRUE(IsValidUtf8(good)) << good;
    EXPECT_EQ(BlobNameError(good), "") << good;
  }
}

TEST(BlobNames, BackslashReadsAsSlash) {
  for (auto [in, want] : std::vector<std::pair<std::string, std::string>>{
           {"a\\b", "a/b"}, {"\\x\\y\\", "/x/y/"}, {"plain", "plain"}, {"", ""}}) {
    std::string name = in;
    NormalizeBlobName(&name);
    EXPECT_EQ(name, want) << in;
  }
  std::string dots = "a\\..\\b";
  NormalizeBlobName(&dots);
  EXPECT_NE(BlobNameError(dots), "");  // a '..' segment, as with '/'
}

TEST(BlobNames, LengthOutOfRange) {
  EXPECT_TRUE(ContainerNameLengthOutOfRange("ab"));
  EXPECT_TRUE(ContainerNameLengthOutOfRange(std::string(64, 'a')));
  EXPECT_FALSE(ContainerNameLengthOutOfRange("abc"));
  EXPECT_FALSE(ContainerNameLengthOutOfRange(std::string(63, 'a')));
  EXPECT_FALSE(ContainerNameLengthOutOfRange("$root"));
  EXPECT_FALSE(ContainerNameLengthOutOfRange("A_b"));  // a bad name, but of a good length
  EXPECT_FALSE(BlobNameTooLong(std::string(1024, 'a')));
  EXPECT_TRUE(BlobNameTooLong(std::string(1025, 'a')));
  std::string euro;
  for (int i = 0; i < 1024; ++i) euro += "\xe2\x82\xac";
  EXPECT_FALSE(BlobNameTooLong(euro));  // characters, not bytes
}

}  // namespace
}  // namespace strata::ns
