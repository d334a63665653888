// JWT parsing and validation (auth/jwt.h), the JWKS key source (auth/entra.h).
#include "auth/jwt.h"

#include <limits>
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "auth/entra.h"
#include "auth/entra_test_util.h"
#include "common/crypto.h"
#include "common/strings.h"

namespace strata::auth {
namespace {

using testing::TestIssuer;

TEST(Base64UrlTest, RoundTripsAndIsStrict) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v="));   // padding
  EXPECT_FALSE(Base64UrlDecode("+/8"));     // the other alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));   // length 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("Zm9vYh"));  // trailing bits not zero ("Zm9vYg" is valid)
  EXPECT_TRUE(Base64UrlDecode("Zm9vYg"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n"));
}

class JwtTest : public ::testing::Test {
 protected:
  TestIssuer issuer_{"kid-1"};
  TimeNs now_ = *ParseIso8601("2026-12-05T12:00:00Z");
  int64_t now_s_ = now_ / 1000000000LL;
  TokenRules rules_{{"https://sts.windows.net/tenant-1/"}, DefaultAudiences({}), 300};

  nlohmann::json Claims() {
    return {{"aud", "https://storage.azure.com"},
            {"iss", "https://sts.windows.net/tenant-1/"},
            {"exp", now_s_ + 3600},
            {"nbf", now_s_ - 60},
            {"oid", "oid-1"},
            {"tid", "tenant-1"},
            {"appid", "app-1"},
            {"groups", {"g-1", "g-2"}}};
  }
  std::optional<TokenError> Validate(const std::string& token, const TestIssuer& keys) {
    TokenError e;
    auto t = ParseJwt(token, &e);
    if (!t) return e;
    auto set = JwkSet::Parse(keys.Jwks());
    EXPECT_TRUE(set);
    auto key = set->Find(t->kid);
    return ValidateJwt(*t, key.get(), rules_, now_);
  }
  std::optional<TokenError> Validate(const std::string& token) { return Validate(token, issuer_); }
};

TEST_F(JwtTest, AcceptsAValidTokenAndReadsItsClaims) {
  std::string token = issuer_.Mint(Claims());
  EXPECT_EQ(Validate(token), std::nullopt);
  TokenError e;
  auto t = ParseJwt(token, &e);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kid, "kid-1");
  EXPECT_EQ(t->principal.oid, "oid-1");
  EXPECT_EQ(t->principal.tid, "tenant-1");
  EXPECT_EQ(t->principal.Ids(), (std::vector<std::string>{"oid-1", "app-1", "g-1", "g-2"}));
  // v2 issuer, audience as an array, trailing-slash audience.
  auto c = Claims();
  c["aud"] = {"other", "https://storage.azure.com/"};
  EXPECT_EQ(Validate(issuer_.Mint(c)), std::nullopt);
}

TEST_F(JwtTest, ExpiryAndNotBeforeAllowFiveMinutesOfSkew) {
  auto c = Claims();
  c["exp"] = now_s_ - 299;
  EXPECT_EQ(Validate(issuer_.Mint(c)), std::nullopt);
  c["exp"] = now_s_ - 301;
  EXPECT_EQ(Validate(issuer_.Mint(c)), TokenError::kExpired);
  c = Claims();
  c.erase("exp");
  EXPECT_EQ(Validate(issuer_.Mint(c)), TokenError::kExpired);
  c = Claims();
  c["nbf"] = now_s_ + 299;
  EXPECT_EQ(Validate(issuer_.Mint(c)), std::nullopt);
  c["nbf"] = now_s_ + 301;
  EXPECT_EQ(Validate(issuer_.Mint(c)), TokenError::kNotYetValid);
}

TEST_F(JwtTest, AnExpiryPastTheYear2262IsHeldAtTheLastNanosecondClock) {
  // Found by jwt_fuzz: exp in year 9999 overflowed the nanosecond expiry.
  auto c = Claims();
  c["exp"] = 253402300799LL;  // 9999-12-31T23:59:59Z, the latest NumericDate accepted
  std::string token = issuer_.Mint(c);
  EXPECT_EQ(Validate(token), std::nullopt);
  TokenError e;
  auto t = ParseJwt(token, &e);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->principal.expiry,
            std::numeric_limits<TimeNs>::max() / 1000000000LL * 1000000000LL);
  c["exp"] = 253402300800LL;  // a second later: out of range, malformed
  EXPECT_FALSE(ParseJwt(issuer_.Mint(c), &e));
}

TEST_F(JwtTest, RefusesWrongAudienceAndIssuer) {
  auto c = Claims();
  c["aud"] = "https://management.azure.com";
  EXPECT_EQ(Validate(issuer_.Mint(c)), TokenError::kBadAudience);
  c.erase("aud");
  EXPECT_EQ(Validate(issuer_.Mint(c)), TokenError::kBadAudience);
  c = Claims();
  c["iss"] = "https://sts.windows.net/other-tenant/";
  EXPECT_EQ(Validate(issuer_.Mint(c)), TokenError::kBadIssuer);
  EXPECT_STREQ(TokenErrorDetail(TokenError::kBadAudience),
               "Audience validation failed. Audience did not match.");
}

TEST_F(JwtTest, RefusesBadSignatures) {
  std::string token = issuer_.Mint(Claims());
  // A claim changed after signing.
  size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  auto c = Claims();
  c["oid"] = "someone-else";
  std::string forged = token.substr(0, dot1 + 1) + Base64UrlEncode(c.dump()) + token.substr(dot2);
  EXPECT_EQ(Validate(forged), TokenError::kBadSignature);
  // Signed by another key claiming the same kid.
  TestIssuer impostor("kid-1");
  EXPECT_EQ(Validate(impostor.Mint(Claims())), TokenError::kBadSignature);
  // A flipped signature byte.
  std::string sig = *Base64UrlDecode(token.substr(dot2 + 1));
  sig[10] ^= 1;
  EXPECT_EQ(Validate(token.substr(0, dot2 + 1) + Base64UrlEncode(sig)), TokenError::kBadSignature);
  // An unknown kid.
  TestIssuer other("kid-2");
  EXPECT_EQ(Validate(other.Mint(Claims())), TokenError::kUnknownKey);
}

TEST_F(JwtTest, RefusesEveryAlgorithmButRs256) {
  auto c = Claims();
  std::string payload = Base64UrlEncode(c.dump());
  // alg none, with and without a signature.
  std::string none = Base64UrlEncode(R"({"alg":"none","kid":"kid-1"})") + "." + payload;
  EXPECT_EQ(Validate(none + "."), TokenError::kUnsupportedAlg);
  EXPECT_EQ(Validate(none + ".c2ln"), TokenError::kUnsupportedAlg);
  // Algorithm confusion: HS256 keyed with the RSA public key's JWKS text.
  std::string hs = Base64UrlEncode(R"({"alg":"HS256","kid":"kid-1"})") + "." + payload;
  std::string mac = HmacSha256(issuer_.Jwks(), hs);
  EXPECT_EQ(Validate(hs + "." + Base64UrlEncode(mac)), TokenError::kUnsupportedAlg);
  for (const char* alg : {"RS384", "RS512", "PS256", "ES256", "rs256", ""}) {
    std::string h = Base64UrlEncode(nlohmann::json{{"alg", alg}, {"kid", "kid-1"}}.dump());
    EXPECT_EQ(Validate(h + "." + payload + ".c2ln"), TokenError::kUnsupportedAlg) << alg;
  }
}

TEST_F(JwtTest, RefusesMalformedTokens) {
  std::string good = issuer_.Mint(Claims());
  size_t dot1 = good.find('.'), dot2 = good.rfind('.');
  std::string header = good.substr(0, dot1), payload = good.substr(dot1 + 1, dot2 - dot1 - 1),
              sig = good.substr(dot2 + 1);
  std::vector<std::string> bad = {
      "",
      "abc",
      header + "." + payload,
      header + "." + payload + "." + sig + ".x",
      header + "." + payload + ".",
      header + "=." + payload + "." + sig,
      header + "." + payload + "." + sig + "=",
      header + ".!!!." + sig,
      Base64UrlEncode("[1,2]") + "." + payload + "." + sig,
      header + "." + Base64UrlEncode("\"str\"") + "." + sig,
      header + "." + Base64UrlEncode("{not json") + "." + sig,
      header + "." + Base64UrlEncode(std::string(100, '[') + std::string(100, ']')) + "." + sig,
      header + "." + Base64UrlEncode(R"({"oid":5})") + "." + sig,
      header + "." + Base64UrlEncode(R"({"aud":[1]})") + "." + sig,
      header + "." + Base64UrlEncode(R"({"groups":"g"})") + "." + sig,
      header + "." + Base64UrlEncode(R"({"exp":"soon"})") + "." + sig,
      header + "." + Base64UrlEncode(R"({"exp":1e300})") + "." + sig,
      header + "." + Base64UrlEncode(R"({"exp":-5})") + "." + sig,
      Base64UrlEncode(R"({"alg":"RS256","kid":"kid-1","crit":["x"]})") + "." + payload + "." + sig,
      Base64UrlEncode(R"({"alg":"RS256","kid":7})") + "." + payload + "." + sig,
  };
  for (const std::string& t : bad) {
    TokenError e = TokenError::kExpired;
    EXPECT_FALSE(ParseJwt(t, &e)) << t;
    EXPECT_EQ(e, TokenError::kMalformed) << t;
  }
}

TEST_F(JwtTest, RefusesHugeTokens) {
  auto c = Claims();
  c["groups"] = std::vector<std::string>(600, "00000000-0000-0000-0000-000000000000");
  std::string token = issuer_.Mint(c);
  ASSERT_GT(token.size(), kMaxTokenBytes);
  TokenError e;
  EXPECT_FALSE(ParseJwt(token, &e));
  EXPECT_EQ(e, TokenError::kMalformed);
  EXPECT_FALSE(ParseJwt(std::string(10 << 20, 'A'), &e));
}

TEST(JwkSetTest, SkipsKeysItCannotUse) {
  TestIssuer a("a"), small("small", 1024);
  auto good = nlohmann::json::parse(a.Jwks())["keys"][0];
  nlohmann::json keys = nlohmann::json::array();
  keys.push_back(good);
  auto enc = good;
  enc["kid"] = "enc";
  enc["use"] = "enc";
  keys.push_back(enc);
  auto ps = good;
  ps["kid"] = "ps";
  ps["alg"] = "PS256";
  keys.push_back(ps);
  keys.push_back(nlohmann::json::parse(small.Jwks())["keys"][0]);
  keys.push_back({{"kty", "EC"}, {"kid", "ec"}});
  keys.push_back("junk");
  auto set = JwkSet::Parse(nlohmann::json{{"keys", keys}}.dump());
  ASSERT_TRUE(set);
  EXPECT_EQ(set->size(), 1u);
  EXPECT_TRUE(set->Find("a"));
  EXPECT_FALSE(set->Find("small"));
  EXPECT_FALSE(JwkSet::Parse("[]"));
  EXPECT_FALSE(JwkSet::Parse("{\"keys\": 5}"));
  EXPECT_FALSE(JwkSet::Parse("nope"));
}

TEST(KeySourceTest, ReloadsForAnUnknownKidAtMostOncePerInterval) {
  TestIssuer one("kid-1"), two("kid-2");
  std::string document = one.Jwks();
  constexpr TimeNs kS = 1000000000LL;
  KeySource keys([&document]() -> std::optional<std::string> { return document; }, 10 * kS,
                 3600 * kS);
  TimeNs t = 1000 * kS;
  EXPECT_TRUE(keys.Find("kid-1", t));
  EXPECT_EQ(keys.loads(), 1);
  EXPECT_TRUE(keys.Find("kid-1", t + kS));
  EXPECT_EQ(keys.loads(), 1);
  // The issuer rotates to kid-2: picked up after the interval, not before,
  // however many requests name it.
  document = two.Jwks();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(keys.Find("kid-2", t + 2 * kS));
  EXPECT_EQ(keys.loads(), 1);
  EXPECT_TRUE(keys.Find("kid-2", t + 11 * kS));
  EXPECT_EQ(keys.loads(), 2);
  EXPECT_FALSE(keys.Find("kid-1", t + 12 * kS));  // gone from the document
  EXPECT_EQ(keys.loads(), 2);
  // A document that fails to load keeps the last keys.
  document = "garbage";
  EXPECT_FALSE(keys.Find("kid-3", t + 30 * kS));
  EXPECT_EQ(keys.loads(), 3);
  EXPECT_TRUE(keys.Find("kid-2", t + 31 * kS));
  // After max_age even a known kid reloads: a removed key stops working.
  document = one.Jwks();
  EXPECT_FALSE(keys.Find("kid-2", t + 3700 * kS));
  EXPECT_TRUE(keys.Find("kid-1", t + 3700 * kS));
}

TEST(RbacTest, RolesByPrincipalGroupAndScope) {
  EntraAccess e;
  e.rbac = {{"reader", Role::kReader, ""},
            {"writer", Role::kContributor, "c1"},
            {"group-1", Role::kOwner, "c2"}};
  e.superusers = {"root"};
  EXPECT_EQ(e.RoleFor({"reader"}, "c1"), Role::kReader);
  EXPECT_EQ(e.RoleFor({"reader"}, ""), Role::kReader);
  EXPECT_EQ(e.RoleFor({"writer"}, "c1"), Role::kContributor);
  EXPECT_EQ(e.RoleFor({"writer"}, "c2"), Role::kNone);
  EXPECT_EQ(e.RoleFor({"writer"}, ""), Role::kNone);
  EXPECT_EQ(e.RoleFor({"writer", "reader"}, "c1"), Role::kContributor);
  EXPECT_EQ(e.RoleFor({"someone", "group-1"}, "c2"), Role::kOwner);
  EXPECT_EQ(e.RoleFor({"root"}, "anything"), Role::kOwner);
  EXPECT_EQ(e.RoleFor({}, "c1"), Role::kNone);
  EXPECT_EQ(ParseRole("Storage Blob Data Contributor"), Role::kContributor);
  EXPECT_FALSE(ParseRole("Owner"));
}

TEST(DelegationKeyTest, DerivedFromTheFieldsWithCanonicalTimes) {
  DelegationKeyFields f{"oid", "tid",       "2026-12-05T12:00:00Z", "2026-12-06T12:00:00Z",
                        "b",   "2025-11-05"};
  auto k = DeriveDelegationKey("account-key", f);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->size(), 32u);
  DelegationKeyFields g = f;
  g.start = "2026-12-05T12:00:00.0000000Z";
  EXPECT_EQ(DeriveDelegationKey("account-key", g), k);
  for (std::string DelegationKeyFields::*field :
       {&DelegationKeyFields::oid, &DelegationKeyFields::tid, &DelegationKeyFields::expiry,
        &DelegationKeyFields::version}) {
    DelegationKeyFields h = f;
    h.*field = field == &DelegationKeyFields::expiry ? "2026-12-06T12:00:01Z" : "x";
    EXPECT_NE(DeriveDelegationKey("account-key", h), k);
  }
  EXPECT_NE(DeriveDelegationKey("other-key", f), k);
  g.start = "not a time";
  EXPECT_FALSE(DeriveDelegationKey("account-key", g));
  EXPECT_EQ(FormatKeyTime(*ParseIso8601("2026-12-05T12:00:00.5Z")), "2026-12-05T12:00:00Z");
}

}  // namespace
}  // namespace strata::auth
