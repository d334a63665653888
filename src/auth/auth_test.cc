// Tests for Authorize's dispatch: anonymous, unknown schemes, and the
// Authorization header taking precedence over a SAS. Fixtures and the
// derivation of signed constants: auth_test_util.h.

#include "auth/auth.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "auth/auth_test_util.h"

namespace strata::auth {
namespace {

using namespace ::strata::auth::testing;  // NOLINT

TEST(AuthTest, AnonymousWithoutCredentials) {
  Outcome out = Check(MakeRequest("GET", "/devstoreaccount1/c/b?comp=list", {}, "c", "b"));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.scheme, Scheme::kAnonymous);
}

TEST(AuthTest, UnknownSchemeIsRejected) {
  Outcome out = Check(MakeRequest("GET", "/devstoreaccount1/c/b",
                                  {{"Authorization", "Bearer eyJ0eXAi"}}, "c", "b"));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(out.code, "AuthenticationFailed");
  EXPECT_NE(out.message.find("Bearer"), std::string::npos);
}

TEST(AuthTest, AuthorizationHeaderWinsOverSas) {
  RequestView req = SdkPutBlob();
  req.raw_query += "&sv=2021-12-02&sr=b&sp=r&se=2030-01-01&sig=bogus";
  // The SDK signed the query without the SAS, so SharedKey fails: proof the
  // header (not the SAS) was evaluated.
  Outcome out = Check(req);
  EXPECT_EQ(out.code, "AuthenticationFailed");
  EXPECT_NE(out.message.find("MAC signature"), std::string::npos) << out.message;
}

TEST(AuthTest, ValidSharedKeyWinsOverBogusSas) {
  RequestView req = SdkPutBlob();
  req.raw_query += "&sv=2021-12-02&sr=b&sp=r&se=2030-01-01&sig=bogus";
  std::string sts = SharedKeyStringToSign(
      req, "/devstoreaccount1/devstoreaccount1/mycontainer/dir/my%20blob.txt");
  SetHeader(req, "authorization", "SharedKey devstoreaccount1:" + Sign(DevAccount().key, sts));
  Outcome out = Check(req, Need(ResourceType::kObject, "w"));
  EXPECT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.scheme, Scheme::kSharedKey);
}

// An undecodable or empty `sig` is still a SAS attempt, never anonymous.
TEST(AuthTest, MalformedSigIsNotAnonymous) {
  for (const char* query : {"sig=%ZZ&sv=2021-12-02&sr=c&sp=r&se=2030-01-01", "sig="}) {
    Outcome out =
        Check(MakeRequest("GET", std::string("/devstoreaccount1/c/b?") + query, {}, "c", "b"));
    EXPECT_FALSE(out.ok) << query;
    EXPECT_EQ(out.code, "AuthenticationFailed") << query;
  }
}

// Two keys per account (Azure's key1/key2, for rotation): a signature made
// with either verifies, for SharedKey and for a SAS; one made with neither
// does not. The SDK signed these requests with kDevKey.
TEST(AuthTest, EitherAccountKeyVerifies) {
  const std::string dev = *Base64Decode(kDevKey);
  const std::string other(64, 'k');
  const std::string third(64, 'z');
  // SDK SAS: generate_account_sas, as sas_test.cc's kAccountSas.
  const std::string sas =
      "st=2020-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=rwl&sv=2021-12-02&ss=b&srt=co&"
      "sig=01z/KspIdCkY%2BbkzDgW6IsWDWAxIcqX9ik/5CvrAJ44%3D";
  RequestView sas_req =
      MakeRequest("GET", "/devstoreaccount1/mycontainer/x?" + sas, {}, "mycontainer", "x");
  const Demand write = Need(ResourceType::kObject, "w");
  struct Case {
    Account account;
    bool ok;
  };
  const Case cases[] = {
      {{kAccountName, dev, ""}, true},      // key1 only
      {{kAccountName, dev, other}, true},   // signed with key1
      {{kAccountName, other, dev}, true},   // signed with key2
      {{kAccountName, other, ""}, false},   // neither
      {{kAccountName, other, third}, false},
  };
  for (const Case& c : cases) {
    Outcome shared = Authorize(SdkPutBlob(), c.account, write, nullptr, kNow);
    EXPECT_EQ(shared.ok, c.ok) << shared.message;
    if (!c.ok) {
      EXPECT_EQ(shared.code, "AuthenticationFailed");
    }
    Outcome by_sas = Authorize(sas_req, c.account, kReadBlob, nullptr, kNow);
    EXPECT_EQ(by_sas.ok, c.ok) << by_sas.message;
    if (!c.ok) {
      EXPECT_EQ(by_sas.code, "AuthenticationFailed");
    }
  }
  // A key2 signature does not make key1 (or another key) verify later: the
  // remembered grants are keyed by both keys.
  EXPECT_FALSE(Authorize(sas_req, {kAccountName, other, ""}, kReadBlob, nullptr, kNow).ok);
}

}  // namespace
}  // namespace strata::auth
