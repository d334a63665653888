// Tests for the guard of UrlFetcher: host patterns, the address classes
// (loopback, private, link-local, metadata, IPv4 inside IPv6), and the
// refusals Fetch makes before any byte is sent.
#include "tier/url_fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace strata::tier {
namespace {

bool Allowed(const std::string& ip, bool allow_private) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), &in->sin_addr), 1) << ip;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr), 1) << ip;
  }
  return AddressAllowed(reinterpret_cast<sockaddr*>(&ss), allow_private);
}

TEST(UrlFetchTest, HostPatterns) {
  std::vector<std::string> p = {"*.blob.core.windows.net", "Example.COM"};
  EXPECT_TRUE(HostMatches(p, "acct.blob.core.windows.net"));
  EXPECT_TRUE(HostMatches(p, "ACCT.Blob.Core.Windows.Net."));
  EXPECT_TRUE(HostMatches(p, "example.com"));
  EXPECT_FALSE(HostMatches(p, "blob.core.windows.net"));  // "*." needs a label
  EXPECT_FALSE(HostMatches(p, "evilblob.core.windows.net"));
  EXPECT_FALSE(HostMatches(p, "acct.blob.core.windows.net.evil.com"));
  EXPECT_FALSE(HostMatches(p, "sub.example.com"));
  EXPECT_FALSE(HostMatches(p, ""));
  EXPECT_FALSE(HostMatches({}, "example.com"));
  EXPECT_TRUE(HostMatches({"*"}, "anything.example"));
}

TEST(UrlFetchTest, PublicAddressesAllowed) {
  for (const char* ip : {"20.60.1.2", "8.8.8.8", "2603:1030::1", "2001:4860::8888"}) {
    EXPECT_TRUE(Allowed(ip, false)) << ip;
    EXPECT_TRUE(Allowed(ip, true)) << ip;
  }
}

TEST(UrlFetchTest, LocalAddressesOnlyWithAllowance) {
  for (const char* ip : {"127.0.0.1", "127.1.2.3", "0.0.0.0", "10.1.2.3", "172.16.0.1",
                         "172.31.255.255", "192.168.1.1", "100.64.0.1", "::1", "::",
                         "fd12::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                         "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"}) {
    EXPECT_FALSE(Allowed(ip, false)) << ip;
    EXPECT_TRUE(Allowed(ip, true)) << ip;
  }
  EXPECT_TRUE(Allowed("172.32.0.1", false));
  EXPECT_TRUE(Allowed("100.128.0.1", false));
}

TEST(UrlFetchTest, LinkLocalMetadataMulticastNever) {
  for (const char* ip : {"169.254.169.254", "169.254.0.1", "100.100.100.200", "224.0.0.1",
                         "239.1.1.1", "255.255.255.255", "240.0.0.1", "fe80::1",
                         "fd00:ec2::254", "ff02::1", "::ffff:169.254.169.254",
                         "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "fec0::1"}) {
    EXPECT_FALSE(Allowed(ip, false)) << ip;
    EXPECT_FALSE(Allowed(ip, true)) << ip;
  }
}

FetchResult FetchWith(FetchPolicy policy, const std::string& url) {
  UrlFetcher f(std::move(policy));
  FetchRequest req;
  req.url = url;
  req.max_bytes = 1024;
  req.sink = [](const char*, size_t) { return true; };
  return f.Fetch(req);
}

TEST(UrlFetchTest, RefusesBeforeSending) {
  FetchPolicy open;
  open.hosts = {"*"};
  open.allow_private = true;
  for (const char* url : {"file:///etc/passwd", "gopher://127.0.0.1:1/x", "ftp://127.0.0.1:1/",
                          "dict://127.0.0.1:1/", "http://user:pw@127.0.0.1:1/", "not a url",
                          "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:1/"}) {
    FetchResult r = FetchWith(open, url);
    EXPECT_EQ(r.kind, FetchResult::Kind::kRefused) << url << ": " << r.detail;
  }
  FetchPolicy names;
  names.hosts = {"*.blob.core.windows.net", "127.0.0.1", "localhost"};
  EXPECT_EQ(FetchWith(names, "http://example.com/x").kind, FetchResult::Kind::kRefused);
  // Allowed by name, refused by address.
  EXPECT_EQ(FetchWith(names, "http://127.0.0.1:1/x").kind, FetchResult::Kind::kRefused);
  EXPECT_EQ(FetchWith(names, "http://localhost:1/x").kind, FetchResult::Kind::kRefused);
  // A fragment or user part cannot smuggle another host past the pattern.
  EXPECT_EQ(FetchWith(names, "http://127.0.0.2#@a.blob.core.windows.net/").kind,
            FetchResult::Kind::kRefused);
  FetchPolicy none;
  EXPECT_EQ(FetchWith(none, "https://a.blob.core.windows.net/c/b").kind,
            FetchResult::Kind::kRefused);
}

// Reserve() takes the slots Fetch would take: with every slot promised to a
// fetch to come, another is refused (kBusy) before anything is sent; a
// fetch in a reserved slot runs, and a slot given back is free again.
TEST(UrlFetchTest, ReservedSlotsCountAgainstConcurrency) {
  FetchPolicy p;
  p.hosts = {"127.0.0.1"};
  p.allow_private = true;
  p.max_concurrent = 2;
  p.connect_timeout_s = 2;
  UrlFetcher f(p);
  auto a = f.Reserve();
  auto b = f.Reserve();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(f.Reserve(), nullptr);
  FetchRequest req;
  req.url = "http://127.0.0.1:1/x";  // nothing listens: the fetch fails to connect
  req.max_bytes = 1024;
  EXPECT_EQ(f.Fetch(req).kind, FetchResult::Kind::kBusy);
  req.slot = a.get();
  EXPECT_EQ(f.Fetch(req).kind, FetchResult::Kind::kFailed);
  req.slot = nullptr;
  b.reset();
  EXPECT_EQ(f.Fetch(req).kind, FetchResult::Kind::kFailed);
  EXPECT_NE(f.Reserve(), nullptr);
}

}  // namespace
}  // namespace strata::tier
