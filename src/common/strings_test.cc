#include "common/strings.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

namespace strata {
namespace {

using namespace std::string_literals;

TEST(Base64, KnownVectors) {  // RFC 4648 section 10
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(Base64Encode(plain), enc);
    EXPECT_EQ(Base64Decode(enc), std::optional<std::string>(plain)) << enc;
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 70; ++len) {
    std::string s;
    for (size_t i = 0; i < len; ++i) s += static_cast<char>(rng());
    std::string enc = Base64Encode(s);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(Base64Decode(enc), std::optional<std::string>(s)) << len;
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(Base64Decode(Base64Encode(all)), std::optional<std::string>(all));
  EXPECT_EQ(Base64Encode("\xfb\xff"s), "+/8=");
}

TEST(Base64, InvalidInput) {
  for (const char* bad :
       {"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "====", "Z===", "=Zg=", "Zg=a",
        "Zg==Zg==", "Zm9v Zg==", "Zm9v\n", "Zm-v", "Zm_v", "Zm9v!", "Zm9\x80", "Zg==="}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(Base64Decode("Zm9v\0Zm9v"s).has_value());
}

TEST(Hex, Encode) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode("\x00\x01\xab\xff"s), "0001abff");
}

TEST(UrlDecode, Escapes) {
  EXPECT_EQ(UrlDecode("a%20b"), "a b");
  EXPECT_EQ(UrlDecode("%2F%2f"), "//");
  EXPECT_EQ(UrlDecode("%E2%82%AC"), "\xe2\x82\xac");
  EXPECT_EQ(UrlDecode("%00"), "\0"s);
  EXPECT_EQ(UrlDecode("a+b"), "a+b");
  EXPECT_EQ(UrlDecode("a+b", true), "a b");
  EXPECT_EQ(UrlDecode("%2B", true), "+");
  EXPECT_EQ(UrlDecode(""), "");
  EXPECT_EQ(UrlDecode("%41"), "A");
}

TEST(UrlDecode, MalformedEscapes) {
  for (const char* bad :
       {"%", "%2", "a%", "a%2", "%zz", "%2z", "%z2", "%%", "%%41", "% 2", "abc%g0", "%-1"}) {
    EXPECT_FALSE(UrlDecode(bad).has_value()) << bad;
  }
}

TEST(UrlEncode, RoundTrip) {
  EXPECT_EQ(UrlEncode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(UrlEncode("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(UrlEncode("AZaz09-_.~"), "AZaz09-_.~");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(UrlDecode(UrlEncode(all)), all);
}

TEST(ParseUint, Valid) {
  EXPECT_EQ(ParseUint("0"), 0u);
  EXPECT_EQ(ParseUint("007"), 7u);
  EXPECT_EQ(ParseUint("1234567890"), 1234567890u);
  EXPECT_EQ(ParseUint("18446744073709551615"), std::numeric_limits<uint64_t>::max());
}

TEST(ParseUint, Invalid) {
  for (const char* bad :
       {"", " ", "-1", "+1", " 1", "1 ", "1a", "a1", "0x10", "1.5", "1e3", "18446744073709551616",
        "99999999999999999999", "123456789012345678901"}) {
    EXPECT_FALSE(ParseUint(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseUint("1\0"s).has_value());
}

TEST(Strings, CaseTrimSplit) {
  EXPECT_EQ(ToLower("AbC-1\xc3\x89"), "abc-1\xc3\x89");
  EXPECT_TRUE(IEquals("Content-MD5", "content-md5"));
  EXPECT_FALSE(IEquals("abc", "abcd"));
  EXPECT_TRUE(StartsWith("abc", ""));
  EXPECT_TRUE(StartsWith("abc", "ab"));
  EXPECT_FALSE(StartsWith("ab", "abc"));
  EXPECT_EQ(Trim(" \t a b \t"), "a b");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(Split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(Split("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(Split(",", ','), (std::vector<std::string>{"", ""}));
}

TEST(Strings, XmlEscape) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("plain \xc3\xa9"), "plain \xc3\xa9");
}

}  // namespace
TEST(CanonicalGuid, EveryNetFormAndNothingElse) {
  const std::string d = "ca761232-ed42-11ce-bacd-00aa0057b223";
  for (const char* form : {"ca761232ed4211cebacd00aa0057b223", "CA761232-ED42-11CE-BACD-00AA0057B223",
                           "{ca761232-ed42-11ce-bacd-00aa0057b223}",
                           "(CA761232-ed42-11ce-bacd-00aa0057b223)"}) {
    auto g = CanonicalGuid(form);
    ASSERT_TRUE(g.has_value()) << form;
    EXPECT_EQ(*g, d) << form;
  }
  for (const char* bad : {"", "ca761232ed4211cebacd00aa0057b22", "ca761232-ed4211ce-bacd-00aa0057b2233",
                          "ca761232-ed42-11ce-bacd_00aa0057b223", "{ca761232ed4211cebacd00aa0057b223}",
                          "zz761232ed4211cebacd00aa0057b223", "{ca761232-ed42-11ce-bacd-00aa0057b223)"}) {
    EXPECT_FALSE(CanonicalGuid(bad).has_value()) << bad;
  }
}

}  // namespace strata
