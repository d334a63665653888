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

}  // namespace
}  // namespace strata::auth
