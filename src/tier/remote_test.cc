// Pure logic of the remote client: URL parsing, name encoding, retry policy,
// SharedKey signing, rate and concurrency limits. The client's network
// behaviour is tested against a real Azurite in tests/tier/.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/auth.h"
#include "common/clock.h"
#include "common/strings.h"
#include "tier/remote.h"
#include "tier/remote_retry.h"
#include "tier/remote_signer.h"
#include "tier/remote_throttle.h"
#include "tier/remote_url.h"

namespace strata::tier {
namespace {

constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

TEST(ContainerUrlTest, PathStyleTakesAccountFromFirstSegment) {
  auto u = ParseContainerUrl("http://127.0.0.1:10000/devstoreaccount1/cont");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->authority, "127.0.0.1:10000");
  EXPECT_EQ(u->account, "devstoreaccount1");
  EXPECT_EQ(u->container, "cont");
  EXPECT_TRUE(u->path_style);
  EXPECT_EQ(u->container_path, "/devstoreaccount1/cont");
  EXPECT_EQ(u->sas, "");
}

TEST(ContainerUrlTest, HostStyleTakesAccountFromFirstLabel) {
  auto u = ParseContainerUrl("https://myacct.blob.core.windows.net/backup/?sv=2021&sig=a%2Bb");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->account, "myacct");
  EXPECT_EQ(u->container, "backup");
  EXPECT_FALSE(u->path_style);
  EXPECT_EQ(u->container_path, "/backup");
  EXPECT_EQ(u->sas, "sv=2021&sig=a%2Bb");
  EXPECT_EQ(u->Url("/backup/x", "comp=tier"),
            "https://myacct.blob.core.windows.net/backup/x?sv=2021&sig=a%2Bb&comp=tier");
  EXPECT_EQ(u->Url("/backup/x", ""), "https://myacct.blob.core.windows.net/backup/x?sv=2021&sig=a%2Bb");
}

TEST(ContainerUrlTest, UrlWithoutSasHasNoStrayQuestionMark) {
  auto u = ParseContainerUrl("http://127.0.0.1:1/acct/c");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->Url("/acct/c/b", ""), "http://127.0.0.1:1/acct/c/b");
  EXPECT_EQ(u->Url("/acct/c/b", "comp=block"), "http://127.0.0.1:1/acct/c/b?comp=block");
}

TEST(ContainerUrlTest, RejectsMalformedUrls) {
  for (const char* bad : {"", "127.0.0.1/acct/c", "ftp://h.x/c", "http:///acct/c",
                          "http://127.0.0.1:1/acct", "http://localhost/c", "http://h.x/a/b/c",
                          "http://h.x/a//c", "http://u:p@h.x/c", "http://h.x/c#frag",
                          "http://h.x", "http://[::1]:1/c"}) {
    auto u = ParseContainerUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) EXPECT_EQ(u.status().kind(), ErrorKind::kInvalidArgument) << bad;
  }
}

TEST(ContainerUrlTest, IPv6PathStyle) {
  auto u = ParseContainerUrl("http://[::1]:10000/devstoreaccount1/c");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->account, "devstoreaccount1");
  EXPECT_EQ(u->authority, "[::1]:10000");
}

TEST(BlobNameTest, EncodesEverythingButUnreservedAndSlash) {
  EXPECT_EQ(EncodeBlobName("plain/dir-1/f_2.~bin"), "plain/dir-1/f_2.~bin");
  EXPECT_EQ(EncodeBlobName("a b+c?d#e%f&g=h"), "a%20b%2Bc%3Fd%23e%25f%26g%3Dh");
  EXPECT_EQ(EncodeBlobName("\xC3\xA9t\xC3\xA9"), "%C3%A9t%C3%A9");  // UTF-8 bytes
  auto u = ParseContainerUrl("http://127.0.0.1:1/acct/c");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->BlobPath("p/x y"), "/acct/c/p/x%20y");
}

TEST(RetryTest, RetryableStatusesAreExactlyTheTransientOnes) {
  for (long s : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(IsRetryableStatus(s)) << s;
  for (long s : {200, 201, 206, 304, 400, 401, 403, 404, 409, 412, 416, 501, 505}) {
    EXPECT_FALSE(IsRetryableStatus(s)) << s;
  }
}

TEST(RetryTest, BackoffCeilingDoublesUpToTheMax) {
  EXPECT_EQ(BackoffCeilingMs(1, 100, 10'000), 100);
  EXPECT_EQ(BackoffCeilingMs(2, 100, 10'000), 200);
  EXPECT_EQ(BackoffCeilingMs(3, 100, 10'000), 400);
  EXPECT_EQ(BackoffCeilingMs(7, 100, 10'000), 6'400);
  EXPECT_EQ(BackoffCeilingMs(8, 100, 10'000), 10'000);
  EXPECT_EQ(BackoffCeilingMs(1000, 100, 10'000), 10'000);  // no overflow
  EXPECT_EQ(BackoffCeilingMs(0, 100, 10'000), 0);
  EXPECT_EQ(BackoffCeilingMs(3, 0, 10'000), 0);
}

TEST(RetryTest, FullJitterSpansZeroToTheCeiling) {
  EXPECT_EQ(JitteredBackoffMs(3, 100, 10'000, 0.0), 0);
  EXPECT_EQ(JitteredBackoffMs(3, 100, 10'000, 0.5), 200);
  EXPECT_EQ(JitteredBackoffMs(3, 100, 10'000, 0.999999), 400);
  EXPECT_EQ(JitteredBackoffMs(3, 100, 10'000, 1.0), 400);
  EXPECT_EQ(JitteredBackoffMs(30, 100, 10'000, 0.25), 2'500);
}

TEST(RetryTest, RetryAfterSecondsAndHttpDate) {
  TimeNs now = *ParseHttpDate("Wed, 25 Nov 2026 03:00:00 GMT");
  EXPECT_EQ(ParseRetryAfterMs("2", now), 2'000);
  EXPECT_EQ(ParseRetryAfterMs(" 0 ", now), 0);
  EXPECT_EQ(ParseRetryAfterMs("Wed, 25 Nov 2026 03:00:07 GMT", now), 7'000);
  EXPECT_EQ(ParseRetryAfterMs("Wed, 25 Nov 2026 02:59:00 GMT", now), 0);  // past: now
  EXPECT_EQ(ParseRetryAfterMs("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfterMs("-1", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfterMs("1.5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfterMs("soon", now), std::nullopt);
  // Dates beyond what TimeNs holds (found by fuzz/): no overflow; the far
  // future is capped as a number of seconds is.
  EXPECT_EQ(ParseRetryAfterMs("Sat, 05 Dec 1013 06:00:00 GMT", now), 0);
  EXPECT_EQ(ParseRetryAfterMs("Fri, 31 Dec 9999 23:59:59 GMT", now), int64_t{1'000'000'000} * 1000);
}

// Signatures computed independently with the Python SDK's
// SharedKeyCredentialPolicy (azure-storage-blob 12.15) over the same requests.
TEST(SignerTest, MatchesTheAzureSdkForPathStyleBlockUpload) {
  OutgoingRequest req{"PUT",
                      "/devstoreaccount1/cont/dir/a%20b%2Bc.bin",
                      "comp=block&blockid=YWJj",
                      {{"x-ms-date", "Wed, 25 Nov 2026 03:00:00 GMT"},
                       {"x-ms-version", "2023-11-03"},
                       {"Content-Length", "1024"},
                       {"Content-MD5", "xyb/5i1UaoNZ8NV02oqcyw=="},
                       {"x-ms-meta-k", "v"},
                       {"x-ms-blob-content-type", "text/x"}}};
  EXPECT_EQ(SharedKeyAuthorization(req, "devstoreaccount1", *Base64Decode(kDevKey)),
            "SharedKey devstoreaccount1:SU9Xpozc2oM9Pum3y/n8g+vALbBsyD4hbepesQOP82Q=");
}

TEST(SignerTest, MatchesTheAzureSdkForHostStyleRangedRead) {
  OutgoingRequest req{"GET",
                      "/cont/x.bin",
                      "",
                      {{"x-ms-date", "Wed, 25 Nov 2026 03:00:00 GMT"},
                       {"x-ms-version", "2023-11-03"},
                       {"x-ms-range", "bytes=10-109"},
                       {"If-Match", "\"0x1\""}}};
  EXPECT_EQ(SharedKeyAuthorization(req, "devstoreaccount1", *Base64Decode(kDevKey)),
            "SharedKey devstoreaccount1:x1fJCJchvN7ZpZwD5HgKgyCFOnQJmo2C58aooctOSMo=");
}

TEST(SignerTest, ServerSideVerifierAcceptsAndRefuses) {
  std::string key = *Base64Decode(kDevKey);
  TimeNs now = NowNs();
  OutgoingRequest out{"PUT",
                      "/devstoreaccount1/cont/p/a%20b",
                      "comp=tier",
                      {{"x-ms-date", FormatHttpDate(now)},
                       {"x-ms-version", "2023-11-03"},
                       {"x-ms-access-tier", "Cool"},
                       {"Content-Length", "0"}}};
  auto verify = [&](const std::string& authorization, const std::string& signing_key) {
    auth::RequestView view;
    view.method = out.method;
    view.raw_path = out.raw_path;
    view.raw_query = out.raw_query;
    for (const auto& [n, v] : out.headers) view.headers.emplace_back(ToLower(n), v);
    view.headers.emplace_back("authorization", authorization);
    view.account = "devstoreaccount1";
    view.path_style = true;
    view.container = "cont";
    view.blob = "p/a b";
    auth::Account account{"devstoreaccount1", signing_key};
    return auth::Authorize(view, account, auth::Demand{}, nullptr, now);
  };
  auto ok = verify(SharedKeyAuthorization(out, "devstoreaccount1", key), key);
  EXPECT_TRUE(ok.ok) << ok.code << " " << ok.message;
  EXPECT_EQ(ok.scheme, auth::Scheme::kSharedKey);
  std::string other_key = key;
  other_key[0] ^= 1;
  auto bad = verify(SharedKeyAuthorization(out, "devstoreaccount1", other_key), key);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.status, 403);
}

TEST(TokenBucketTest, UnlimitedNeverWaits) {
  TokenBucket b(0, 0);
  EXPECT_EQ(b.Take(1ull << 40, 0), 0);
}

TEST(TokenBucketTest, BurstThenPacedAtTheRate) {
  const int64_t s = 1'000'000'000;
  TokenBucket b(1000, 500);  // 1000 B/s, 500 B burst
  EXPECT_EQ(b.Take(500, 0), 0);          // the burst
  EXPECT_EQ(b.Take(100, 0), s / 10);     // 100 B of debt: 0.1 s
  EXPECT_EQ(b.Take(100, 0), 2 * s / 10); // debt accumulates across callers
  // 0.2 s later the debt is paid; 0.5 s more refill the full 500 B burst.
  EXPECT_EQ(b.Take(300, 7 * s / 10), 0);
  EXPECT_EQ(b.Take(200, 7 * s / 10), 0);
  EXPECT_EQ(b.Take(1, 7 * s / 10), 1'000'000);  // 1 ms
}

TEST(TokenBucketTest, RefillIsCappedAtTheBurst) {
  const int64_t s = 1'000'000'000;
  TokenBucket b(1000, 500);
  EXPECT_EQ(b.Take(0, 0), 0);
  EXPECT_EQ(b.Take(500, 100 * s), 0);   // idle 100 s: still only 500 B
  EXPECT_EQ(b.Take(1000, 100 * s), s);  // the next 1000 B take 1 s
}

TEST(TokenBucketTest, LargerThanBurstIsPacedNotRefused) {
  TokenBucket b(1 << 20, 1 << 16);
  int64_t wait = b.Take(4 << 20, 0);  // 4 MiB at 1 MiB/s with a 64 KiB burst
  EXPECT_GT(wait, 3'900'000'000);
  EXPECT_LT(wait, 4'000'000'000);
}

TEST(ConcurrencyLimitTest, NeverMoreThanTheLimitInside) {
  ConcurrencyLimit limit(3);
  std::atomic<int> inside{0}, peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        ConcurrencyLimit::Slot slot(limit);
        int now = ++inside;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::yield();
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(limit.in_use(), 0);
}

TEST(MakeRemoteClientTest, RefusesMalformedUrlKeyAndOptions) {
  RemoteOptions o;
  o.container_url = "not a url";
  EXPECT_EQ(MakeRemoteClient(o).status().kind(), ErrorKind::kInvalidArgument);
  o.container_url = "http://127.0.0.1:1/devstoreaccount1/c";
  o.account_key = "not base64!";
  EXPECT_EQ(MakeRemoteClient(o).status().kind(), ErrorKind::kInvalidArgument);
  o.account_key = kDevKey;
  EXPECT_TRUE(MakeRemoteClient(o).ok());
  o.max_concurrency = 0;
  EXPECT_EQ(MakeRemoteClient(o).status().kind(), ErrorKind::kInvalidArgument);
}

TEST(MakeRemoteClientTest, UnreachableRemoteIsBusyAfterBoundedRetries) {
  // A loopback port bound but not listening: every attempt is refused.
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  RemoteOptions o;
  o.container_url =
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/devstoreaccount1/c";
  o.account_key = kDevKey;
  o.max_attempts = 3;
  o.base_backoff_ms = 1;
  o.max_backoff_ms = 2;
  auto client = MakeRemoteClient(o);
  ASSERT_TRUE(client.ok());
  auto head = (*client)->Head("x");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().kind(), ErrorKind::kBusy) << head.status().message();
  auto stats = (*client)->GetStats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(stats.errors, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
  close(sock);
}

}  // namespace
}  // namespace strata::tier
