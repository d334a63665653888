// Authorize with bearer tokens (RBAC) and user delegation SAS.
#include <gtest/gtest.h>

#include "auth/auth.h"
#include "auth/auth_test_util.h"
#include "auth/entra_test_util.h"

namespace strata::auth {
namespace {

using testing::At;
using testing::MakeRequest;
using testing::Need;
using testing::TestIssuer;

constexpr char kTenant[] = "tenant-1";

class BearerTest : public ::testing::Test {
 protected:
  BearerTest() {
    entra_.tenant = kTenant;
    entra_.rules.issuers = DefaultIssuers(kTenant);
    entra_.rules.audiences = DefaultAudiences({"https://devstoreaccount1.blob.core.windows.net"});
    entra_.rbac = {{"reader", Role::kReader, ""},
                   {"writer", Role::kContributor, "c1"},
                   {"owners", Role::kOwner, ""}};
    std::string jwks = issuer_.Jwks();
    entra_.keys =
        std::make_shared<KeySource>([jwks]() -> std::optional<std::string> { return jwks; },
                                    10 * 1000000000LL, 3600 * 1000000000LL);
    account_ = testing::DevAccount();
    account_.entra = &entra_;
  }
  std::string Token(const std::string& oid, std::vector<std::string> groups = {}) {
    int64_t now = now_ / 1000000000LL;
    return issuer_.Mint({{"aud", "https://storage.azure.com"},
                         {"iss", "https://sts.windows.net/tenant-1/"},
                         {"exp", now + 3600},
                         {"oid", oid},
                         {"tid", kTenant},
                         {"groups", groups}});
  }
  Outcome Run(const std::string& token, const std::string& method, const Demand& demand,
              std::string container = "c1", std::string blob = "b", bool https = true) {
    RequestView r = MakeRequest(method, "/devstoreaccount1/" + container + "/" + blob,
                                {{"Authorization", "Bearer " + token}}, container, blob);
    r.https = https;
    return Authorize(r, account_, demand, nullptr, now_);
  }

  TestIssuer issuer_{"kid-1"};
  EntraAccess entra_;
  Account account_;
  TimeNs now_ = At("2026-12-05T12:00:00Z");
};

const Demand kRead = Need(ResourceType::kObject, "r");
const Demand kWrite = Need(ResourceType::kObject, "c|w");
const Demand kList = Need(ResourceType::kService, "l", false);

TEST_F(BearerTest, ReaderReadsButDoesNotWrite) {
  Outcome o = Run(Token("reader"), "GET", kRead);
  EXPECT_TRUE(o.ok) << o.message;
  EXPECT_EQ(o.scheme, Scheme::kBearer);
  ASSERT_TRUE(o.principal);
  EXPECT_EQ(o.principal->oid, "reader");
  EXPECT_TRUE(Run(Token("reader"), "GET", kList, "", "").ok);
  o = Run(Token("reader"), "PUT", kWrite);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.status, 403);
  EXPECT_EQ(o.code, "AuthorizationPermissionMismatch");
}

TEST_F(BearerTest, ContainerScopeReachesOnlyItsContainer) {
  EXPECT_TRUE(Run(Token("writer"), "PUT", kWrite, "c1").ok);
  EXPECT_EQ(Run(Token("writer"), "PUT", kWrite, "c2").code, "AuthorizationPermissionMismatch");
  EXPECT_EQ(Run(Token("writer"), "GET", kList, "", "").code, "AuthorizationPermissionMismatch");
  EXPECT_EQ(Run(Token("nobody"), "GET", kRead).code, "AuthorizationPermissionMismatch");
  // Through a group.
  EXPECT_TRUE(Run(Token("nobody", {"owners"}), "PUT", kWrite, "c2").ok);
  // A demand no SAS may meet needs Owner.
  Demand none = Need(ResourceType::kContainer, "", false);
  EXPECT_FALSE(Run(Token("writer"), "PUT", none, "c1").ok);
  EXPECT_TRUE(Run(Token("nobody", {"owners"}), "PUT", none, "c1").ok);
}

TEST_F(BearerTest, InvalidTokensAre401WithAChallenge) {
  int64_t now = now_ / 1000000000LL;
  std::string expired = issuer_.Mint({{"aud", "https://storage.azure.com"},
                                      {"iss", "https://sts.windows.net/tenant-1/"},
                                      {"exp", now - 3600},
                                      {"oid", "reader"}});
  Outcome o = Run(expired, "GET", kRead);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.status, 401);
  EXPECT_EQ(o.code, "InvalidAuthenticationInfo");
  EXPECT_EQ(o.message, "Lifetime validation failed. The token is expired.");
  EXPECT_EQ(o.challenge,
            "Bearer authorization_uri=https://login.microsoftonline.com/tenant-1/oauth2/authorize "
            "resource_id=https://storage.azure.com");
  std::string wrong_aud = issuer_.Mint({{"aud", "https://vault.azure.net"},
                                        {"iss", "https://sts.windows.net/tenant-1/"},
                                        {"exp", now + 3600},
                                        {"oid", "reader"}});
  EXPECT_EQ(Run(wrong_aud, "GET", kRead).message,
            "Audience validation failed. Audience did not match.");
  EXPECT_EQ(Run("garbage", "GET", kRead).status, 401);
  // The account URL is an audience too.
  std::string acct_aud = issuer_.Mint({{"aud", "https://devstoreaccount1.blob.core.windows.net"},
                                       {"iss", "https://login.microsoftonline.com/tenant-1/v2.0"},
                                       {"exp", now + 3600},
                                       {"oid", "reader"}});
  EXPECT_TRUE(Run(acct_aud, "GET", kRead).ok);
  // The same token verified twice (the second from the cache) answers alike.
  std::string t = Token("reader");
  EXPECT_TRUE(Run(t, "GET", kRead).ok);
  EXPECT_TRUE(Run(t, "GET", kRead).ok);
  EXPECT_FALSE(Run(t, "PUT", kWrite).ok);
}

TEST_F(BearerTest, RefusedOverHttpAndWithoutEntra) {
  Outcome o = Run(Token("reader"), "GET", kRead, "c1", "b", /*https=*/false);
  EXPECT_EQ(o.status, 403);
  EXPECT_EQ(o.code, "AuthenticationFailed");
  EXPECT_EQ(o.message, "Authentication scheme Bearer is not allowed with HTTP.");
  entra_.allow_http = true;
  EXPECT_TRUE(Run(Token("reader"), "GET", kRead, "c1", "b", false).ok);
  account_.entra = nullptr;
  EXPECT_EQ(Run(Token("reader"), "GET", kRead).code, "AuthenticationFailed");
}

TEST_F(BearerTest, BearerOnlyRefusesSharedKeyAndSas) {
  Demand udk = Need(ResourceType::kService, "r", false);
  udk.bearer_only = true;
  RequestView r = MakeRequest("POST", "/devstoreaccount1/?restype=service&comp=userdelegationkey",
                              {{"Authorization", "SharedKey devstoreaccount1:abc"}});
  Outcome o = Authorize(r, account_, udk, nullptr, now_);
  EXPECT_EQ(o.code, "AuthenticationFailed");
  EXPECT_EQ(o.message, "Only authentication scheme Bearer is supported");
  r = MakeRequest(
      "POST",
      "/devstoreaccount1/"
      "?restype=service&comp=userdelegationkey&sv=2020-02-10&ss=b&srt=s&sp=r&se=2030-01-01&sig=x");
  EXPECT_EQ(Authorize(r, account_, udk, nullptr, now_).message,
            "Only authentication scheme Bearer is supported");
  EXPECT_TRUE(Run(Token("reader"), "POST", udk, "", "").ok);
  EXPECT_FALSE(Run(Token("writer"), "POST", udk, "", "").ok);  // container scope only
}

// ---- user delegation SAS ----

SasParams UdParams(const std::string& sv) {
  SasParams p;
  p.sv = sv;
  p.sp = "r";
  p.st = "2026-12-05T11:00:00Z";
  p.se = "2026-12-05T13:00:00Z";
  p.sr = "b";
  p.skoid = "reader";
  p.sktid = kTenant;
  p.skt = "2026-12-05T10:00:00Z";
  p.ske = "2026-12-06T10:00:00Z";
  p.sks = "b";
  p.skv = sv;
  return p;
}

TEST(UserDelegationStringToSignTest, ByVersion) {
  SasParams p = UdParams("2018-11-09");
  p.saoid = "A";
  p.ses = "E";
  p.rsct = "T";
  const std::string res = "/blob/acct/c/b";
  const std::string head =
      "r\n2026-12-05T11:00:00Z\n2026-12-05T13:00:00Z\n/blob/acct/c/b\nreader\ntenant-1\n"
      "2026-12-05T10:00:00Z\n2026-12-06T10:00:00Z\nb\n";
  EXPECT_EQ(UserDelegationSasStringToSign(res, p),
            head + "2018-11-09\n\n\n2018-11-09\nb\n\n\n\n\n\nT");
  p.sv = p.skv = "2020-02-10";
  EXPECT_EQ(UserDelegationSasStringToSign(res, p),
            head + "2020-02-10\nA\n\n\n\n\n2020-02-10\nb\n\n\n\n\n\nT");
  p.sv = p.skv = "2020-12-06";
  EXPECT_EQ(UserDelegationSasStringToSign(res, p),
            head + "2020-12-06\nA\n\n\n\n\n2020-12-06\nb\n\nE\n\n\n\n\nT");
  p.sv = p.skv = "2025-07-05";
  EXPECT_EQ(UserDelegationSasStringToSign(res, p),
            head + "2025-07-05\nA\n\n\n\n\n\n\n2025-07-05\nb\n\nE\n\n\n\n\nT");
  p.sv = p.skv = "2026-10-06";
  EXPECT_EQ(UserDelegationSasStringToSign(res, p),
            head + "2026-10-06\nA\n\n\n\n\n\n\n2026-10-06\nb\n\nE\n\n\n\n\n\n\nT");
}

class UserDelegationSasTest : public BearerTest {
 protected:
  // The query of a SAS for c1/b signed as the SDKs sign it.
  std::string Sas(SasParams p) {
    std::string resource = "/blob/devstoreaccount1/c1/b";
    auto key = DeriveDelegationKey(account_.key, {p.skoid, p.sktid, p.skt, p.ske, p.sks, p.skv});
    std::string sig = Sign(*key, UserDelegationSasStringToSign(resource, p));
    std::string q;
    auto add = [&q](const char* n, const std::string& v) {
      if (v.empty()) return;
      if (!q.empty()) q += '&';
      q += std::string(n) + "=" + UrlEncode(v);
    };
    add("sv", p.sv);
    add("sp", p.sp);
    add("st", p.st);
    add("se", p.se);
    add("sr", p.sr);
    add("skoid", p.skoid);
    add("sktid", p.sktid);
    add("skt", p.skt);
    add("ske", p.ske);
    add("sks", p.sks);
    add("skv", p.skv);
    add("saoid", p.saoid);
    add("sig", sig);
    return q;
  }
  Outcome Use(const std::string& query, const Demand& demand = kRead, TimeNs now = 0) {
    RequestView r = MakeRequest("GET", "/devstoreaccount1/c1/b?" + query, {}, "c1", "b");
    r.https = true;
    return Authorize(r, account_, demand, nullptr, now ? now : now_);
  }
};

TEST_F(UserDelegationSasTest, GrantsWhatBothTheSasAndTheRoleAllow) {
  for (const char* sv : {"2018-11-09", "2020-02-10", "2021-08-06", "2025-07-05", "2026-10-06"}) {
    Outcome o = Use(Sas(UdParams(sv)));
    EXPECT_TRUE(o.ok) << sv << " " << o.message;
    EXPECT_EQ(o.scheme, Scheme::kUserDelegationSas);
  }
  SasParams p = UdParams("2021-08-06");
  p.sp = "rw";
  EXPECT_EQ(Use(Sas(p), kWrite).code, "AuthorizationPermissionMismatch");  // a Reader's key
  p.skoid = "writer";
  EXPECT_TRUE(Use(Sas(p), kWrite).ok);
  p.sp = "r";
  EXPECT_EQ(Use(Sas(p), kWrite).code, "AuthorizationPermissionMismatch");  // the SAS's letters
}

TEST_F(UserDelegationSasTest, RefusedWhenThePrincipalLostItsRole) {
  std::string q = Sas(UdParams("2021-08-06"));
  EXPECT_TRUE(Use(q).ok);
  entra_.rbac.clear();
  // (a new demand, so no grant is cached for it)
  Outcome o = Use(q, Need(ResourceType::kObject, "r|w"));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.code, "AuthorizationPermissionMismatch");
}

TEST_F(UserDelegationSasTest, RefusesForgedExpiredAndForeignKeys) {
  SasParams p = UdParams("2021-08-06");
  std::string q = Sas(p);
  // The key's principal changed after signing.
  std::string forged = q;
  forged.replace(forged.find("skoid=reader"), 12, "skoid=owners");
  EXPECT_EQ(Use(forged).code, "AuthenticationFailed");
  // A key past its expiry (the SAS itself still valid).
  p.ske = "2026-12-05T11:30:00Z";
  Outcome o = Use(Sas(p));
  EXPECT_EQ(o.code, "AuthenticationFailed");
  // Another tenant's key.
  p = UdParams("2021-08-06");
  p.sktid = "tenant-2";
  EXPECT_EQ(Use(Sas(p)).code, "AuthenticationFailed");
  // A field missing, a stored policy, a key service other than b.
  p = UdParams("2021-08-06");
  std::string no_skt = Sas(p);
  no_skt.erase(no_skt.find("&skt="), 25);
  EXPECT_EQ(Use(no_skt).code, "AuthenticationFailed");
  p.sks = "q";
  EXPECT_EQ(Use(Sas(p)).code, "AuthenticationFailed");
  // Signed with another account key.
  p = UdParams("2021-08-06");
  std::string good = Sas(p);
  account_.key = "another key";
  EXPECT_EQ(Use(good, Need(ResourceType::kObject, "r|l")).code, "AuthenticationFailed");
  // Without Entra the account takes none.
  account_ = testing::DevAccount();
  EXPECT_EQ(Use(good, Need(ResourceType::kObject, "r|d")).code, "AuthenticationFailed");
}

}  // namespace
}  // namespace strata::auth
