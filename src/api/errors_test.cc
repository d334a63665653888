#include "api/errors.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <set>
#include <string>

namespace strata::api {
namespace {

constexpr int kFirst = static_cast<int>(AzError::kAuthenticationFailed);
// The last enumerator: a new AzError goes before it or moves this line.
constexpr int kLast = static_cast<int>(AzError::kEnd) - 1;

std::string Header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.HeaderList())
    if (k == name) return v;
  return "";
}

TEST(ErrorTable, EveryErrorHasARow) {
  const AzErrorInfo* fallback = &Info(AzError::kAuthenticationFailed);
  for (int i = kFirst; i <= kLast; ++i) {
    AzError e = static_cast<AzError>(i);
    const AzErrorInfo& info = Info(e);
    if (i != kFirst) {
      EXPECT_NE(&info, fallback) << "AzError " << i << " has no row in the error table";
    }
    EXPECT_GE(info.status, 400) << i;
    EXPECT_LE(info.status, 599) << i;
    ASSERT_NE(info.code, nullptr) << i;
    EXPECT_NE(std::string(info.code), "") << i;
    EXPECT_EQ(std::string(info.code).find_first_of(" <>&\"'"), std::string::npos) << info.code;
    ASSERT_NE(info.message, nullptr) << i;
    EXPECT_NE(std::string(info.message), "") << i;
  }
}

TEST(ErrorTable, WellKnownRows) {
  EXPECT_EQ(Info(AzError::kBlobNotFound).status, 404);
  EXPECT_STREQ(Info(AzError::kBlobNotFound).code, "BlobNotFound");
  EXPECT_EQ(Info(AzError::kContainerNotFound).status, 404);
  EXPECT_EQ(Info(AzError::kContainerAlreadyExists).status, 409);
  EXPECT_EQ(Info(AzError::kInvalidRange).status, 416);
  EXPECT_STREQ(Info(AzError::kInvalidRange).code, "InvalidRange");
  EXPECT_EQ(Info(AzError::kMd5Mismatch).status, 400);
  EXPECT_STREQ(Info(AzError::kMd5Mismatch).code, "Md5Mismatch");
  EXPECT_EQ(Info(AzError::kConditionNotMet).status, 412);
  EXPECT_EQ(Info(AzError::kAuthenticationFailed).status, 403);
  EXPECT_EQ(Info(AzError::kAuthorizationPermissionMismatch).status, 403);
  EXPECT_EQ(Info(AzError::kPathConflict).status, 409);
  EXPECT_EQ(Info(AzError::kInternalError).status, 500);
  EXPECT_EQ(Info(AzError::kServerBusy).status, 503);
}

TEST(ErrorResponse, BodyParsesAndMatchesHeader) {
  for (int i = kFirst; i <= kLast; ++i) {
    AzError e = static_cast<AzError>(i);
    for (const std::string detail : {"", "RequestId:1 <b>&\"'</b> \xc3\xa9"}) {
      http::Response r = ErrorResponse(e, detail);
      EXPECT_EQ(r.status, Info(e).status);
      pugi::xml_document doc;
      pugi::xml_parse_result ok = doc.load_string(r.body.c_str());
      ASSERT_TRUE(ok) << ok.description() << ": " << r.body;
      pugi::xml_node err = doc.child("Error");
      ASSERT_TRUE(err) << r.body;
      std::string code = err.child_value("Code");
      std::string message = err.child_value("Message");
      EXPECT_EQ(code, Info(e).code);
      EXPECT_EQ(Header(r, "x-ms-error-code"), code);
      EXPECT_EQ(message.rfind(Info(e).message, 0), 0u) << message;
      if (!detail.empty() && Info(e).status < 500) {
        EXPECT_NE(message.find(detail), std::string::npos) << message;
      }
      if (Info(e).status >= 500) {
        // Server errors carry Azure's fixed message only: their detail
        // (errno texts, host paths) stays in the server's log.
        EXPECT_EQ(message, Info(e).message);
      }
      EXPECT_EQ(Header(r, "Content-Type"), "application/xml");
      EXPECT_FALSE(r.file.has_value());
    }
  }
}

TEST(ErrorResponse, PublicDetailKeepsFileSystemErrorsInside) {
  Status io(ErrorKind::kIo, "open /srv/strata/c/b: Input/output error");
  Status missing(ErrorKind::kNotFound, "stat /srv/strata/c/b: No such file or directory");
  EXPECT_EQ(PublicDetail(io), "");
  EXPECT_EQ(PublicDetail(missing), "");
  EXPECT_EQ(PublicDetail(Status(ErrorKind::kInvalidName, "blob name is not valid UTF-8")),
            "blob name is not valid UTF-8");
  EXPECT_EQ(PublicDetail(Status(ErrorKind::kQuotaExceeded, "over max_bytes")), "over max_bytes");
  http::Response r = ErrorResponse(FromStatus(missing, true), PublicDetail(missing));
  EXPECT_EQ(r.body.find("/srv/strata"), std::string::npos) << r.body;
}

TEST(ErrorResponse, AuthenticationDetail) {
  http::Response r = ErrorResponse(AzError::kAuthenticationFailed, "Signature did not match");
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str()));
  EXPECT_EQ(std::string(doc.child("Error").child_value("AuthenticationErrorDetail")),
            "Signature did not match");
}

TEST(ErrorResponse, HeaderAndQueryDetails) {
  http::Request req;
  req.headers.emplace_back("x-ms-version", "yyyy-mm-dd");
  http::Response r = HeaderError(AzError::kInvalidHeaderValue, req, "x-ms-version");
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  pugi::xml_node err = doc.child("Error");
  EXPECT_STREQ(err.child_value("HeaderName"), "x-ms-version");
  EXPECT_STREQ(err.child_value("HeaderValue"), "yyyy-mm-dd");
  EXPECT_STREQ(err.first_child().next_sibling().next_sibling().name(), "HeaderName");
  // A missing header is named, with no value.
  r = HeaderError(AzError::kMissingRequiredHeader, req, "x-ms-blob-type");
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_STREQ(doc.child("Error").child_value("HeaderName"), "x-ms-blob-type");
  EXPECT_FALSE(doc.child("Error").child("HeaderValue"));
  r = QueryError(AzError::kInvalidQueryParameterValue, req, "maxresults", "not <a> number");
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_STREQ(doc.child("Error").child_value("QueryParameterName"), "maxresults");
  EXPECT_FALSE(doc.child("Error").child("QueryParameterValue"));
  EXPECT_STREQ(doc.child("Error").child_value("Reason"), "not <a> number");
}

TEST(ErrorResponse, UnknownOperationNamesTheParameterWithEmptyElements) {
  http::Request req;
  http::Response r = UnknownOperationError(req, "comp");
  EXPECT_EQ(r.status, 400);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  pugi::xml_node err = doc.child("Error");
  EXPECT_STREQ(err.child_value("QueryParameterName"), "comp");
  ASSERT_TRUE(err.child("QueryParameterValue"));
  EXPECT_STREQ(err.child_value("QueryParameterValue"), "");
  ASSERT_TRUE(err.child("Reason"));
  EXPECT_STREQ(err.last_child().name(), "Reason");
}

TEST(ErrorResponse, RequestLinesEndTheMessage) {
  TimeNs t = *ParseIso8601("2020-05-18T05:26:55.0795499Z");
  http::Response r = ErrorResponse(AzError::kBlobNotFound);
  AddRequestLines(r, "2823e4d8-b01f-0070-48d4-2c365a000000", t);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(r.body.c_str())) << r.body;
  EXPECT_EQ(std::string(doc.child("Error").child_value("Message")),
            "The specified blob does not exist.\nRequestId:2823e4d8-b01f-0070-48d4-2c365a000000"
            "\nTime:2020-05-18T05:26:55.0795499Z");
  // The dfs JSON body alike, the newlines escaped.
  http::Response j;
  j.status = 404;
  j.body = R"({"error":{"code":"PathNotFound","message":"The specified path does not exist."}})";
  AddRequestLines(j, "id", t);
  EXPECT_EQ(j.body,
            R"({"error":{"code":"PathNotFound","message":"The specified path does not exist.)"
            R"(\nRequestId:id\nTime:2020-05-18T05:26:55.0795499Z"}})");
  // Not an error, or no body: untouched.
  http::Response ok;
  ok.body = "<x/>";
  AddRequestLines(ok, "id", t);
  EXPECT_EQ(ok.body, "<x/>");
}

TEST(FromStatus, MapsEveryKindToAnError) {
  for (int k = static_cast<int>(ErrorKind::kNotFound);
       k <= static_cast<int>(ErrorKind::kUnsupported); ++k) {
    Status s(static_cast<ErrorKind>(k), "x");
    for (bool blob : {true, false}) {
      const AzErrorInfo& info = Info(FromStatus(s, blob));
      EXPECT_GE(info.status, 400) << k;
    }
  }
  EXPECT_EQ(FromStatus(Status(ErrorKind::kNotFound, ""), true), AzError::kBlobNotFound);
  EXPECT_EQ(FromStatus(Status(ErrorKind::kNotFound, ""), false), AzError::kContainerNotFound);
  EXPECT_EQ(FromStatus(Status(ErrorKind::kContainerNotFound, ""), true),
            AzError::kContainerNotFound);
  EXPECT_EQ(FromStatus(Status(ErrorKind::kPathConflict, ""), true), AzError::kPathConflict);
  EXPECT_EQ(FromStatus(Status(ErrorKind::kIsDirectory, ""), true), AzError::kPathConflict);
  EXPECT_EQ(Info(FromStatus(Status(ErrorKind::kInvalidName, ""), true)).status, 400);
  EXPECT_GE(Info(FromStatus(Status(ErrorKind::kNoSpace, ""), true)).status, 500);
  EXPECT_GE(Info(FromStatus(Status(ErrorKind::kIo, ""), true)).status, 500);
  EXPECT_EQ(Info(FromStatus(Status(ErrorKind::kBusy, ""), true)).status, 503);
}

}  // namespace
}  // namespace strata::api
