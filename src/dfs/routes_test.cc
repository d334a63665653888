#include <gtest/gtest.h>

#include <string>

#include "dfs/dfs.h"

namespace strata::dfs {
namespace {

using api::Level;

http::Request Req(const char* method, const char* query = "") {
  http::Request r;
  r.method = method;
  r.query = query;
  return r;
}

std::string Name(const api::Route* r) { return r ? r->name : "(none)"; }

TEST(DfsRoutesTest, EndpointReadsQueryLessPathRequestsAsDfs) {
  EXPECT_EQ(Name(FindEndpointRoute(Level::kBlob, Req("HEAD"))), "DfsGetPathProperties");
  EXPECT_EQ(Name(FindEndpointRoute(Level::kBlob, Req("GET"))), "DfsReadPath");
  EXPECT_EQ(Name(FindEndpointRoute(Level::kBlob, Req("DELETE"))), "DfsDeletePath");
  EXPECT_EQ(Name(FindEndpointRoute(Level::kBlob, Req("GET", "timeout=30"))), "DfsReadPath");
}

TEST(DfsRoutesTest, EndpointLeavesBlobOperationsAndUnknownsToTheCaller) {
  EXPECT_EQ(FindEndpointRoute(Level::kBlob, Req("GET", "comp=blocklist")), nullptr);
  EXPECT_EQ(FindEndpointRoute(Level::kBlob, Req("HEAD", "comp=metadata")), nullptr);
  EXPECT_EQ(FindEndpointRoute(Level::kBlob, Req("PUT")), nullptr);
  EXPECT_EQ(FindEndpointRoute(Level::kContainer, Req("GET")), nullptr);
  EXPECT_EQ(FindEndpointRoute(Level::kService, Req("GET", "comp=list")), nullptr);
}

TEST(DfsRoutesTest, EndpointKeepsTheQueryRoutes) {
  EXPECT_EQ(Name(FindEndpointRoute(Level::kBlob, Req("HEAD", "action=getStatus"))), "DfsGetStatus");
  EXPECT_EQ(Name(FindEndpointRoute(Level::kContainer, Req("GET", "resource=filesystem"))),
            "DfsListPaths");
  EXPECT_EQ(Name(FindEndpointRoute(Level::kService, Req("GET", "resource=account"))),
            "DfsListFilesystems");
}

TEST(DfsRoutesTest, SharedListenerRoutingUnchanged) {
  // Without a dfs query these are Blob requests there (Get Blob, Get Blob
  // Properties, Delete Blob).
  EXPECT_EQ(dfs::FindRoute(Level::kBlob, Req("GET")), nullptr);
  EXPECT_EQ(dfs::FindRoute(Level::kBlob, Req("HEAD")), nullptr);
  EXPECT_EQ(dfs::FindRoute(Level::kBlob, Req("DELETE")), nullptr);
  EXPECT_EQ(Name(dfs::FindRoute(Level::kBlob, Req("DELETE", "recursive=true"))), "DfsDeletePath");
}

TEST(DfsRoutesTest, OnlyReadPathIsEndpointOnly) {
  int only = 0;
  for (const api::Route* r : AllRoutes())
    if (OnlyOnDfsEndpoint(*r)) {
      ++only;
      EXPECT_EQ(std::string(r->name), "DfsReadPath");
    }
  EXPECT_EQ(only, 1);
}

}  // namespace
}  // namespace strata::dfs
