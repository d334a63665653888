#include "server/access_log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace strata::server {
namespace {

struct Fixture {
  http::Request req;
  http::Exchange ex;
  std::string ip = "10.1.2.3";
  std::string account = "devstoreaccount1";
  Fixture() {
    req.method = "GET";
    req.target = "/devstoreaccount1/c/b?sv=2021-08-06&se=2030-01-01&sp=r&sig=c2VjcmV0c2ln%3D&x=1";
    req.headers = {{"user-agent", "azsdk-python \"quoted\"\x01"},
                   {"authorization", "SharedKey devstoreaccount1:SECRETSIGNATURE="}};
    ex.request = &req;
    ex.status = 200;
    ex.complete = true;
    ex.note.operation = "GetBlob";
    ex.note.auth = "sas";
    ex.note.account = &account;
    std::snprintf(ex.note.request_id, sizeof ex.note.request_id, "%s",
                  "0f8fad5b-d9cb-469f-a165-70867728950e");
    ex.bytes_in = 312;
    ex.bytes_out = 1048900;
    ex.wall_start = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796481259318));
    ex.start = std::chrono::steady_clock::time_point(std::chrono::milliseconds(1000));
    ex.end = ex.start + std::chrono::microseconds(12345);
    ex.remote_ip = &ip;
  }
};

TEST(RedactUriTest, CredentialParametersLoseTheirValues) {
  EXPECT_EQ(RedactUri("/a/b?sv=1&sig=abc%2Bdef&sp=r"), "/a/b?sv=1&sig=REDACTED&sp=r");
  EXPECT_EQ(RedactUri("/a?SIG=x"), "/a?SIG=REDACTED");
  EXPECT_EQ(RedactUri("/a?%73ig=x&%53IG=y"), "/a?%73ig=REDACTED&%53IG=REDACTED");
  EXPECT_EQ(RedactUri("/a?access_token=t&token=u&code=v&client_secret=w"),
            "/a?access_token=REDACTED&token=REDACTED&code=REDACTED&client_secret=REDACTED");
  EXPECT_EQ(RedactUri("/a?signedsig=keep&sigx=keep"), "/a?signedsig=keep&sigx=keep");
  EXPECT_EQ(RedactUri("/a"), "/a");
  EXPECT_EQ(RedactUri("/a?"), "/a?");
  EXPECT_EQ(RedactUri("/a?sig"), "/a?sig");
  EXPECT_EQ(RedactUri("/a?sig=1&sig=2"), "/a?sig=REDACTED&sig=REDACTED");
}

TEST(AccessLineTest, PlainHasEveryFieldAndNoSecret) {
  Fixture f;
  std::string line;
  FormatAccessLine(AccessLogFormat::kPlain, f.ex, &line);
  EXPECT_EQ(line,
            "2026-12-05T14:34:19.318Z 0f8fad5b-d9cb-469f-a165-70867728950e 10.1.2.3 "
            "devstoreaccount1 GetBlob 200 - 312 1048900 12.345 sas "
            "\"GET /devstoreaccount1/c/b?sv=2021-08-06&se=2030-01-01&sp=r&sig=REDACTED&x=1\" "
            "\"azsdk-python \\\"quoted\\\"\\x01\"\n");
  EXPECT_EQ(line.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(line.find("SECRETSIGNATURE"), std::string::npos);
}

TEST(AccessLineTest, PlainWithoutARequest) {
  Fixture f;
  f.ex.request = nullptr;
  f.ex.note = http::ResponseNote();
  f.ex.status = 400;
  f.ex.note.error_code = "InvalidInput";
  std::string line;
  FormatAccessLine(AccessLogFormat::kPlain, f.ex, &line);
  EXPECT_EQ(line,
            "2026-12-05T14:34:19.318Z - 10.1.2.3 - Unknown 400 InvalidInput 312 1048900 12.345 - - -\n");
}

TEST(AccessLineTest, JsonParsesAndEscapes) {
  Fixture f;
  f.req.headers[0].second = "ua \"q\" \\ \n\xff";
  f.ex.note.error_code = "";
  std::string line;
  FormatAccessLine(AccessLogFormat::kJson, f.ex, &line);
  ASSERT_EQ(line.back(), '\n');
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-12-05T14:34:19.318Z");
  EXPECT_EQ(j["request_id"], "0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_EQ(j["client"], "10.1.2.3");
  EXPECT_EQ(j["account"], "devstoreaccount1");
  EXPECT_EQ(j["operation"], "GetBlob");
  EXPECT_EQ(j["status"], 200);
  EXPECT_TRUE(j["error_code"].is_null());
  EXPECT_EQ(j["bytes_in"], 312);
  EXPECT_EQ(j["bytes_out"], 1048900);
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 12.345);
  EXPECT_EQ(j["auth"], "sas");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["uri"], "/devstoreaccount1/c/b?sv=2021-08-06&se=2030-01-01&sp=r&sig=REDACTED&x=1");
  EXPECT_EQ(j["user_agent"], "ua \"q\" \\ \n\u00ff");
  EXPECT_EQ(line.find("c2VjcmV0"), std::string::npos);
}

TEST(AccessLogTest, WritesReopensAndDropsWhenFull) {
  char dir[] = "/tmp/access_log_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/access.log";
  Fixture f;
  {
    auto log = AccessLog::Open(path, AccessLogFormat::kPlain);
    ASSERT_TRUE(log.ok());
    (*log)->Record(f.ex);
    (*log)->Flush();
    ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
    (*log)->Reopen();
    (*log)->Record(f.ex);
    (*log)->Record(f.ex);
    (*log)->Flush();
    EXPECT_EQ((*log)->dropped(), 0u);
  }
  auto lines = [](const std::string& p) {
    std::ifstream in(p);
    std::string l;
    int n = 0;
    while (std::getline(in, l)) ++n;
    return n;
  };
  EXPECT_EQ(lines(path + ".1"), 1);
  EXPECT_EQ(lines(path), 2);
  {
    // A buffer of 1 KiB holds a few lines; a burst past it is dropped and
    // counted, never waited for.
    auto log = AccessLog::Open(path, AccessLogFormat::kPlain, 1024);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 10000; ++i) (*log)->Record(f.ex);
    (*log)->Flush();
    EXPECT_GT((*log)->dropped(), 0u);
    EXPECT_EQ(lines(path) - 2 + static_cast<int>((*log)->dropped()), 10000);
  }
  ::unlink((path + ".1").c_str());
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace strata::server
