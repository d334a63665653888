#include "http/message.h"

#include <gtest/gtest.h>

#include "http/request_parser.h"

namespace strata::http {
namespace {

std::string Q(const Request& r, std::string_view name) {
  const std::string_view* v = r.FindQuery(name);
  return v ? std::string(*v) : "<absent>";
}

Request ParseHead(std::string_view head) {
  Request req;
  RequestParser parser(&req);
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::const_buffer(head.data(), head.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_header_done());
  return req;
}

// RFC 9112 3.2.2: a server accepts the absolute-form, and its authority
// replaces the Host field (what a client sends through HTTP_PROXY).
TEST(RequestParserTest, AbsoluteFormTakesPathQueryAndHost) {
  Request r = ParseHead(
      "PUT http://acct.blob.localhost:10000/c/a%20b?restype=container HTTP/1.1\r\n"
      "Host: 127.0.0.1:10000\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.path, "/c/a%20b");
  EXPECT_EQ(r.query, "restype=container");
  ASSERT_NE(r.FindHeader("host"), nullptr);
  EXPECT_EQ(*r.FindHeader("host"), "acct.blob.localhost:10000");

  r = ParseHead("GET HTTPS://acct.blob.localhost?comp=list HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.path, "/");
  EXPECT_EQ(r.query, "comp=list");
  ASSERT_NE(r.FindHeader("host"), nullptr);
  EXPECT_EQ(*r.FindHeader("host"), "acct.blob.localhost");

  // The origin-form is untouched; another scheme is not a URL we serve.
  r = ParseHead("GET /c/b?x=1 HTTP/1.1\r\nHost: h:1\r\n\r\n");
  EXPECT_EQ(r.path, "/c/b");
  EXPECT_EQ(*r.FindHeader("host"), "h:1");
  r = ParseHead("GET ftp://h/c HTTP/1.1\r\nHost: h:1\r\n\r\n");
  EXPECT_EQ(r.path, "ftp://h/c");
  EXPECT_EQ(*r.FindHeader("host"), "h:1");
}

TEST(RequestQuery, DecodesValuesAndNames) {
  Request r;
  r.query = "comp=list&prefix=a%2Fb+c&sig=x%2By%3D&%63omp2=v&empty=&flag";
  EXPECT_EQ(Q(r, "comp"), "list");
  EXPECT_EQ(Q(r, "prefix"), "a/b c");
  EXPECT_EQ(Q(r, "prefix"), "a/b c");  // decoded once, asked twice
  EXPECT_EQ(Q(r, "sig"), "x+y=");
  EXPECT_EQ(Q(r, "comp2"), "v");
  EXPECT_EQ(Q(r, "empty"), "");
  EXPECT_EQ(Q(r, "flag"), "");
  EXPECT_EQ(Q(r, "missing"), "<absent>");
  EXPECT_EQ(r.Query("prefix"), std::optional<std::string>("a/b c"));
}

TEST(RequestQuery, FirstOccurrenceWinsAndBadEscapes) {
  Request r;
  r.query = "a=1&a=2&bad=%zz&%zz=name&b=%4";
  EXPECT_EQ(Q(r, "a"), "1");
  EXPECT_EQ(Q(r, "bad"), "%zz");  // an undecodable value is kept raw
  EXPECT_EQ(Q(r, "%zz"), "<absent>");  // an undecodable name names nothing
  EXPECT_EQ(Q(r, "b"), "%4");
}

TEST(RequestQuery, ManyEscapedValuesStayValid) {
  // Every decoded value lives in one buffer: earlier views must survive later decodes.
  Request r;
  std::string q;
  for (int i = 0; i < 50; ++i) q += "k" + std::to_string(i) + "=v%2F" + std::to_string(i) + "&";
  r.query = q;
  std::vector<const std::string_view*> seen;
  for (int i = 0; i < 50; ++i) seen.push_back(r.FindQuery("k" + std::to_string(i)));
  for (int i = 0; i < 50; ++i) {
    ASSERT_NE(seen[i], nullptr);
    EXPECT_EQ(*seen[i], "v/" + std::to_string(i));
  }
}

TEST(RequestQuery, CopiesParseTheirOwnQuery) {
  Request a;
  a.query = "x=%41";  // short: kept inside the string object
  EXPECT_EQ(Q(a, "x"), "A");
  Request b = a;
  a.query = "x=changed";
  EXPECT_EQ(Q(b, "x"), "A");
  Request c = std::move(b);
  EXPECT_EQ(Q(c, "x"), "A");
  c = a;
  EXPECT_EQ(Q(c, "x"), "changed");
}

TEST(ResponseHeaders, WireLinesReadBack) {
  Response r;
  r.Set("ETag", "\"0x1\"");
  r.Set("Content-Type", "application/xml");
  r.Set("x-ms-error-code", "BlobNotFound");
  EXPECT_EQ(r.fields, "ETag: \"0x1\"\r\nContent-Type: application/xml\r\nx-ms-error-code: BlobNotFound\r\n");
  EXPECT_EQ(r.Get("content-type"), std::optional<std::string>("application/xml"));
  EXPECT_EQ(r.Get("nope"), std::nullopt);
  r.Replace("CONTENT-TYPE", "application/json");
  Headers want = {{"ETag", "\"0x1\""}, {"x-ms-error-code", "BlobNotFound"},
                  {"CONTENT-TYPE", "application/json"}};
  EXPECT_EQ(r.HeaderList(), want);
}

Request WithHeaders(std::initializer_list<std::pair<std::string, std::string>> h) {
  Request r;
  for (const auto& kv : h) r.headers.push_back(kv);
  return r;
}

TEST(TransferEncoding, OnlyChunkedAloneIsSupported) {
  EXPECT_TRUE(TransferEncodingSupported(WithHeaders({})));
  EXPECT_TRUE(TransferEncodingSupported(WithHeaders({{"transfer-encoding", "chunked"}})));
  EXPECT_TRUE(TransferEncodingSupported(WithHeaders({{"transfer-encoding", " Chunked "}})));
  for (const char* v : {"xchunked", "chunkedx", "gzip, chunked", "chunked, chunked", "identity",
                        "", ",", "chunked,"}) {
    EXPECT_FALSE(TransferEncodingSupported(WithHeaders({{"transfer-encoding", v}}))) << v;
  }
  // Split over two lines: the codings add up.
  EXPECT_FALSE(TransferEncodingSupported(
      WithHeaders({{"transfer-encoding", "gzip"}, {"transfer-encoding", "chunked"}})));
}

TEST(CountHeader, CountsEveryLine) {
  Request r = WithHeaders({{"host", "a"}, {"x", "1"}, {"host", "b"}});
  EXPECT_EQ(CountHeader(r, "host"), 2u);
  EXPECT_EQ(CountHeader(r, "x"), 1u);
  EXPECT_EQ(CountHeader(r, "y"), 0u);
}

}  // namespace
}  // namespace strata::http
