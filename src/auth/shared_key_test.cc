// Tests for SharedKey / SharedKeyLite: canonicalization against Microsoft's
// "Authorize with Shared Key" examples and verification of signatures made
// by the Azure Python SDK. Fixtures and the derivation of signed constants:
// auth_test_util.h.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "auth/auth.h"
#include "auth/auth_test_util.h"

namespace strata::auth {
namespace {

using namespace ::strata::auth::testing;  // NOLINT

// "Authorize with Shared Key", section "Encoding the signature": Get
// Container Metadata with only x-ms-date and x-ms-version.
TEST(SharedKeyTest, StringToSignMatchesDocumentedExample) {
  RequestView req =
      MakeRequest("GET", "/myaccount/mycontainer?restype=container&comp=metadata&timeout=20",
                  {{"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"}, {"x-ms-version", "2009-09-19"}});
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
      "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20";
  std::string sts = SharedKeyStringToSign(req, "/myaccount/myaccount/mycontainer");
  EXPECT_EQ(sts, expected);
  // sign_string(dev key, expected).
  EXPECT_EQ(Sign(*Base64Decode(kDevKey), sts), "USpzupczIVBDAqkueXOrJuPLGEUJutONeTlr3KNnyr4=");
}

// The documented CanonicalizedResource examples, including a parameter with
// several values (sorted, comma-joined).
TEST(SharedKeyTest, CanonicalizedResourceDocumentedExamples) {
  RequestView metadata = MakeRequest("GET", "/mycontainer?restype=container&comp=metadata");
  EXPECT_TRUE(SharedKeyStringToSign(metadata, "/myaccount/mycontainer")
                  .ends_with("\n/myaccount/mycontainer\ncomp:metadata\nrestype:container"));

  RequestView list = MakeRequest(
      "GET",
      "/mycontainer?restype=container&comp=list&include=snapshots&include=metadata&include="
      "uncommittedblobs");
  EXPECT_TRUE(SharedKeyStringToSign(list, "/myaccount/mycontainer")
                  .ends_with("\n/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,"
                             "uncommittedblobs\nrestype:container"));
}

TEST(SharedKeyTest, StandardHeadersInOrderAndZeroLengthIsEmpty) {
  RequestView req = MakeRequest("PUT", "/c/b?Prefix=A%2FB",
                                {{"Content-Encoding", "gzip"},
                                 {"Content-Language", "en"},
                                 {"Content-Length", "0"},
                                 {"Content-MD5", "md5"},
                                 {"Content-Type", "text/plain"},
                                 {"Date", "d"},
                                 {"If-Modified-Since", "ims"},
                                 {"If-Match", "im"},
                                 {"If-None-Match", "inm"},
                                 {"If-Unmodified-Since", "ius"},
                                 {"Range", "bytes=0-1"},
                                 {"X-MS-Version", " 2021-08-06 "}});
  EXPECT_EQ(SharedKeyStringToSign(req, "/a/c/b"),
            "PUT\ngzip\nen\n\nmd5\ntext/plain\nd\nims\nim\ninm\nius\nbytes=0-1\n"
            "x-ms-version:2021-08-06\n/a/c/b\nprefix:A/B");
}

// The SDKs sort x-ms-* names with '_' before digits; byte order is the reverse.
TEST(SharedKeyTest, HeaderSortFollowsSdkWeights) {
  RequestView req = MakeRequest("PUT", "/c/b", {{"x-ms-meta-a1", "one"}, {"x-ms-meta-a_b", "two"}});
  EXPECT_EQ(SharedKeyStringToSign(req, "/a/c/b"),
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-meta-a_b:two\nx-ms-meta-a1:one\n/a/c/b");
}

TEST(SharedKeyTest, AcceptsPythonSdkPathStyleSignature) {
  Outcome out = Check(SdkPutBlob(), Need(ResourceType::kObject, "w"));
  EXPECT_TRUE(out.ok) << out.code << ": " << out.message;
  EXPECT_EQ(out.scheme, Scheme::kSharedKey);
}

TEST(SharedKeyTest, AcceptsPythonSdkSignaturesForOtherShapes) {
  // List Blobs with an encoded query value; Content-Length 0 signed empty.
  RequestView list =
      MakeRequest("GET", "/devstoreaccount1/mycontainer?restype=container&comp=list&prefix=a%2Fb",
                  {{"x-ms-date", kSdkDate},
                   {"x-ms-version", "2021-08-06"},
                   {"Content-Length", "0"},
                   {"Authorization",
                    "SharedKey devstoreaccount1:reA2LmawGS84v2DsYgmEc5N9CTkndfpm8dTS4LHzads="}},
                  "mycontainer");
  EXPECT_TRUE(Check(list, kListContainer).ok);

  // Host-style http://devstoreaccount1.blob.localhost:10000/mycontainer/b.txt
  RequestView host =
      MakeRequest("GET", "/mycontainer/b.txt",
                  {{"x-ms-date", kSdkDate},
                   {"x-ms-version", "2021-08-06"},
                   {"x-ms-range", "bytes=0-99"},
                   {"Authorization",
                    "SharedKey devstoreaccount1:q1nlGu406rBYcgFFRBPr/tsEslAxw8ADfMVo06rVe+U="}},
                  "mycontainer", "b.txt");
  host.path_style = false;
  EXPECT_TRUE(Check(host).ok);

  // Service level: http://127.0.0.1:10000/devstoreaccount1/?comp=list
  RequestView service =
      MakeRequest("GET", "/devstoreaccount1/?comp=list",
                  {{"x-ms-date", kSdkDate},
                   {"x-ms-version", "2021-08-06"},
                   {"Authorization",
                    "SharedKey devstoreaccount1:YUBuzSH60HyRXKWWNZMUDuDY0tXyTrRQAL/goQB2fvE="}});
  EXPECT_TRUE(Check(service, Need(ResourceType::kService, "l")).ok);

  // x-ms-meta-a1 and x-ms-meta-a_b: only the SDK's header order matches.
  RequestView meta =
      MakeRequest("PUT", "/devstoreaccount1/mycontainer/m?comp=metadata",
                  {{"x-ms-date", kSdkDate},
                   {"x-ms-version", "2021-08-06"},
                   {"x-ms-meta-a1", "one"},
                   {"x-ms-meta-a_b", "two"},
                   {"Authorization",
                    "SharedKey devstoreaccount1:ac9GE7NytcvG4N+XHUXIKoDjpcrStidZ4sphPLE/rU0="}},
                  "mycontainer", "m");
  EXPECT_TRUE(Check(meta, Need(ResourceType::kObject, "w")).ok);
}

// Other clients sign the decoded path, or a path-style path without the
// account segment; all four forms verify, a different path does not.
TEST(SharedKeyTest, AcceptsDecodedAndAccountStrippedPaths) {
  const Account account = DevAccount();
  for (const char* path : {"/devstoreaccount1/devstoreaccount1/mycontainer/dir/my%20blob.txt",
                           "/devstoreaccount1/devstoreaccount1/mycontainer/dir/my blob.txt",
                           "/devstoreaccount1/mycontainer/dir/my%20blob.txt",
                           "/devstoreaccount1/mycontainer/dir/my blob.txt"}) {
    RequestView req = SdkPutBlob();
    SetHeader(req, "authorization",
              "SharedKey devstoreaccount1:" + Sign(account.key, SharedKeyStringToSign(req, path)));
    EXPECT_TRUE(Check(req, Need(ResourceType::kObject, "w")).ok) << path;
  }
  RequestView req = SdkPutBlob();
  SetHeader(req, "authorization",
            "SharedKey devstoreaccount1:" +
                Sign(account.key, SharedKeyStringToSign(req, "/devstoreaccount1/other/b")));
  EXPECT_EQ(Check(req).code, "AuthenticationFailed");
}

TEST(SharedKeyTest, RejectsTamperedRequest) {
  RequestView req = SdkPutBlob();
  SetHeader(req, "x-ms-meta-color", "red");
  Outcome out = Check(req);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(out.code, "AuthenticationFailed");
  EXPECT_NE(out.message.find("x-ms-meta-color:red"), std::string::npos) << out.message;

  RequestView other_key = SdkPutBlob();
  Account wrong = DevAccount();
  wrong.key[0] ^= 1;
  EXPECT_EQ(Authorize(other_key, wrong, kReadBlob, nullptr, kNow).code, "AuthenticationFailed");
}

TEST(SharedKeyTest, RejectsMismatchedAccountAndMalformedHeader) {
  RequestView req = SdkPutBlob();
  SetHeader(req, "authorization",
            "SharedKey otheraccount:MqSHE+BxbkEho1EIhrH1dn8uGYH14wyP/S7T8rzLz4Y=");
  Outcome out = Check(req);
  EXPECT_EQ(out.code, "AuthenticationFailed");
  EXPECT_NE(out.message.find("otheraccount"), std::string::npos);

  for (const char* bad : {"SharedKey", "SharedKey devstoreaccount1", "SharedKey :abc",
                          "SharedKey devstoreaccount1:"}) {
    RequestView r = MakeRequest("GET", "/devstoreaccount1/c/b",
                                {{"x-ms-date", kSdkDate}, {"Authorization", bad}}, "c", "b");
    EXPECT_EQ(Check(r).code, "AuthenticationFailed") << bad;
  }
}

// A signed date beyond what TimeNs holds (saturated by the parser) is far
// outside the window; the distance to it overflowed int64_t (found by
// fuzz/shared_key_fuzz under UBSan).
TEST(SharedKeyTest, FarDatesAreOutsideTheWindow) {
  for (const char* date : {"Sat, 05 Dec 1013 06:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"}) {
    RequestView req = SdkPutBlob();
    SetHeader(req, "x-ms-date", date);
    std::string sts =
        SharedKeyStringToSign(req, "/devstoreaccount1/devstoreaccount1/mycontainer/dir/my%20blob.txt");
    SetHeader(req, "authorization", "SharedKey devstoreaccount1:" + Sign(DevAccount().key, sts));
    Outcome out = Check(req, Need(ResourceType::kObject, "w"));
    EXPECT_EQ(out.code, "AuthenticationFailed") << date;
    EXPECT_NE(out.message.find("outside the allowed 15 minute window"), std::string::npos)
        << date << ": " << out.message;
  }
}

TEST(SharedKeyTest, ClockWindowIsFifteenMinutes) {
  const TimeNs minute = TimeNs{60} * 1'000'000'000;
  EXPECT_TRUE(
      Check(SdkPutBlob(), Need(ResourceType::kObject, "w"), nullptr, kNow + 14 * minute).ok);
  EXPECT_TRUE(
      Check(SdkPutBlob(), Need(ResourceType::kObject, "w"), nullptr, kNow - 14 * minute).ok);
  for (TimeNs now : {kNow + 16 * minute, kNow - 16 * minute}) {
    Outcome out = Check(SdkPutBlob(), Need(ResourceType::kObject, "w"), nullptr, now);
    EXPECT_EQ(out.code, "AuthenticationFailed");
    EXPECT_NE(out.message.find("outside the allowed 15 minute window"), std::string::npos)
        << out.message;
  }
}

TEST(SharedKeyTest, DateHeaderIsRequiredAndUsedWithoutXMsDate) {
  const Account account = DevAccount();
  // No date at all.
  RequestView none = MakeRequest("GET", "/devstoreaccount1/c/b", {}, "c", "b");
  SetHeader(
      none, "authorization",
      "SharedKey devstoreaccount1:" +
          Sign(account.key, SharedKeyStringToSign(none, "/devstoreaccount1/devstoreaccount1/c/b")));
  EXPECT_EQ(Check(none).code, "AuthenticationFailed");

  // Unparseable x-ms-date.
  RequestView garbage =
      MakeRequest("GET", "/devstoreaccount1/c/b", {{"x-ms-date", "yesterday"}}, "c", "b");
  SetHeader(garbage, "authorization",
            "SharedKey devstoreaccount1:" +
                Sign(account.key,
                     SharedKeyStringToSign(garbage, "/devstoreaccount1/devstoreaccount1/c/b")));
  EXPECT_EQ(Check(garbage).code, "AuthenticationFailed");

  // Only Date: it is signed on the Date line and drives the clock window.
  RequestView dated = MakeRequest("GET", "/devstoreaccount1/c/b", {{"Date", kSdkDate}}, "c", "b");
  std::string sts = SharedKeyStringToSign(dated, "/devstoreaccount1/devstoreaccount1/c/b");
  EXPECT_NE(sts.find(std::string("\n") + kSdkDate + "\n"), std::string::npos);
  SetHeader(dated, "authorization", "SharedKey devstoreaccount1:" + Sign(account.key, sts));
  EXPECT_TRUE(Check(dated).ok);
  EXPECT_EQ(Check(dated, kReadBlob, nullptr, kNow + TimeNs{3600} * 1'000'000'000).code,
            "AuthenticationFailed");
}

// SharedKeyLite per "Authorize with Shared Key": VERB, Content-MD5,
// Content-Type, Date, x-ms-* headers, resource with only ?comp=.
TEST(SharedKeyTest, SharedKeyLiteVerifies) {
  RequestView req = MakeRequest(
      "GET", "/devstoreaccount1/mycontainer?restype=container&comp=metadata&timeout=5",
      {{"x-ms-date", kSdkDate}, {"x-ms-version", "2021-08-06"}, {"Content-Type", "text/plain"}},
      "mycontainer");
  const std::string sts =
      "GET\n\ntext/plain\n\nx-ms-date:Mon, 03 Jun 2024 12:00:00 GMT\nx-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/mycontainer?comp=metadata";
  RequestView good = req;
  SetHeader(good, "authorization", "SharedKeyLite devstoreaccount1:" + Sign(DevAccount().key, sts));
  Outcome out = Check(good, Need(ResourceType::kContainer, "r"));
  EXPECT_TRUE(out.ok) << out.message;
  EXPECT_EQ(out.scheme, Scheme::kSharedKeyLite);

  // A SharedKey signature under the Lite scheme does not verify.
  RequestView wrong = req;
  SetHeader(wrong, "authorization",
            "SharedKeyLite devstoreaccount1:" +
                Sign(DevAccount().key,
                     SharedKeyStringToSign(req, "/devstoreaccount1/devstoreaccount1/mycontainer")));
  EXPECT_EQ(Check(wrong).code, "AuthenticationFailed");
}

}  // namespace
}  // namespace strata::auth
