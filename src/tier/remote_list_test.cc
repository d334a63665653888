// ParseListBlobs: the remote's List Blobs pages as RemoteListing (the
// network side is tested against Azurite in tests/tier/).

#include "tier/remote_list.h"

#include <gtest/gtest.h>

#include <string>

#include "common/clock.h"
#include "common/strings.h"

namespace strata::tier {
namespace {

std::string Page(const std::string& blobs, const std::string& next = "<NextMarker />") {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults "
         "ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"c\">"
         "<MaxResults>3</MaxResults><Blobs>" +
         blobs + "</Blobs>" + next + "</EnumerationResults>";
}

TEST(ParseListBlobsTest, FullBlobEntry) {
  auto r = ParseListBlobs(Page(
      "<Blob><Name>dir/a file.txt</Name><Properties>"
      "<Creation-Time>Sat, 05 Dec 2026 10:00:00 GMT</Creation-Time>"
      "<Last-Modified>Sat, 05 Dec 2026 10:11:12 GMT</Last-Modified>"
      "<Etag>0x8DCAFE</Etag><Content-Length>1234</Content-Length>"
      "<Content-Type>text/plain; charset=utf-8</Content-Type>"
      "<Content-Encoding>gzip</Content-Encoding><Content-Language>de-CH</Content-Language>"
      "<Content-CRC64 /><Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5>"
      "<Cache-Control>no-cache</Cache-Control>"
      "<Content-Disposition>attachment; filename=\"x\"</Content-Disposition>"
      "<BlobType>BlockBlob</BlobType><AccessTier>Cool</AccessTier>"
      "<ArchiveStatus>rehydrate-pending-to-hot</ArchiveStatus>"
      "<LeaseStatus>unlocked</LeaseStatus></Properties>"
      "<Metadata><origin>strata</origin><Mixed_Case>v &amp; w</Mixed_Case></Metadata>"
      "</Blob>"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->blobs.size(), 1u);
  const auto& [name, p] = r->blobs[0];
  EXPECT_EQ(name, "dir/a file.txt");
  EXPECT_EQ(p.size, 1234u);
  EXPECT_EQ(p.etag, "0x8DCAFE");
  EXPECT_EQ(p.last_modified_ns, *ParseHttpDate("Sat, 05 Dec 2026 10:11:12 GMT"));
  EXPECT_EQ(HexEncode(p.content_md5), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(p.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(p.content_encoding, "gzip");
  EXPECT_EQ(p.content_language, "de-CH");
  EXPECT_EQ(p.content_disposition, "attachment; filename=\"x\"");
  EXPECT_EQ(p.cache_control, "no-cache");
  EXPECT_EQ(p.blob_type, "BlockBlob");
  EXPECT_EQ(p.access_tier, "Cool");
  EXPECT_EQ(p.archive_status, "rehydrate-pending-to-hot");
  ASSERT_EQ(p.metadata.size(), 2u);
  EXPECT_EQ(p.metadata[0], (std::pair<std::string, std::string>{"origin", "strata"}));
  EXPECT_EQ(p.metadata[1], (std::pair<std::string, std::string>{"Mixed_Case", "v & w"}));
  EXPECT_TRUE(r->prefixes.empty());
  EXPECT_EQ(r->next_marker, "");
}

TEST(ParseListBlobsTest, EmptyBlobWithoutMd5AndQuotedEtag) {
  auto r = ParseListBlobs(Page(
      "<Blob><Name>empty</Name><Properties><Etag>\"0x1\"</Etag>"
      "<Content-Length>0</Content-Length><Content-MD5 /></Properties><Metadata /></Blob>"
      "<Blob><Name>bad-md5</Name><Properties><Content-Length>1</Content-Length>"
      "<Content-MD5>AAAA</Content-MD5></Properties></Blob>"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->blobs.size(), 2u);
  EXPECT_EQ(r->blobs[0].first, "empty");
  EXPECT_EQ(r->blobs[0].second.size, 0u);
  EXPECT_EQ(r->blobs[0].second.etag, "0x1");
  EXPECT_EQ(r->blobs[0].second.content_md5, "");
  EXPECT_EQ(r->blobs[0].second.last_modified_ns, 0);
  EXPECT_TRUE(r->blobs[0].second.metadata.empty());
  EXPECT_EQ(r->blobs[1].second.content_md5, "");  // not 16 bytes: as if absent
}

TEST(ParseListBlobsTest, NonAsciiAndEncodedNames) {
  auto r = ParseListBlobs(Page(
      "<Blob><Name>caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac 100%</Name></Blob>"
      "<Blob><Name Encoded=\"true\">ctl%01%EF%BF%BEname%25</Name></Blob>"
      "<Blob><Name Encoded=\"false\">plain%41</Name></Blob>"
      "<BlobPrefix><Name Encoded=\"true\">pre%0Bfix/</Name></BlobPrefix>"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->blobs.size(), 3u);
  EXPECT_EQ(r->blobs[0].first, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac 100%");
  EXPECT_EQ(r->blobs[1].first, std::string("ctl\x01\xef\xbf\xbename%"));
  EXPECT_EQ(r->blobs[2].first, "plain%41");  // not encoded: taken as it is
  ASSERT_EQ(r->prefixes.size(), 1u);
  EXPECT_EQ(r->prefixes[0], "pre\x0b" "fix/");
}

TEST(ParseListBlobsTest, WhitespaceInNamesIsKeptByteForByte) {
  auto r = ParseListBlobs(Page(
      "<Blob><Name>  lead and trail  </Name></Blob><Blob><Name>cr\r\nlf</Name></Blob>"
      "<Blob><Name>ref&#xD;&#x9;</Name></Blob>\n  <BlobPrefix><Name> </Name></BlobPrefix>\n"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->blobs.size(), 3u);
  EXPECT_EQ(r->prefixes, (std::vector<std::string>{" "}));
  EXPECT_EQ(r->blobs[0].first, "  lead and trail  ");
  EXPECT_EQ(r->blobs[1].first, "cr\r\nlf");
  EXPECT_EQ(r->blobs[2].first, "ref\r\t");
}

TEST(ParseListBlobsTest, PrefixesAndNextMarker) {
  auto r = ParseListBlobs(Page(
      "<BlobPrefix><Name>a/</Name></BlobPrefix><Blob><Name>b</Name></Blob>"
      "<BlobPrefix><Name>c/</Name></BlobPrefix>",
      "<NextMarker>2!12!MDAwMDA0IWMvIQ--</NextMarker>"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->prefixes, (std::vector<std::string>{"a/", "c/"}));
  ASSERT_EQ(r->blobs.size(), 1u);
  EXPECT_EQ(r->blobs[0].first, "b");
  EXPECT_EQ(r->next_marker, "2!12!MDAwMDA0IWMvIQ--");
}

TEST(ParseListBlobsTest, EmptyPage) {
  auto r = ParseListBlobs(Page(""));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->blobs.empty());
  EXPECT_TRUE(r->prefixes.empty());
  auto r2 = ParseListBlobs("<EnumerationResults/>");
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->blobs.empty());
}

TEST(ParseListBlobsTest, InvalidMetadataNamesAreSkipped) {
  auto r = ParseListBlobs(Page(
      "<Blob><Name>m</Name><Metadata><x-ms-invalid-name>1-bad</x-ms-invalid-name>"
      "<good>1</good></Metadata></Blob>"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->blobs[0].second.metadata.size(), 1u);
  EXPECT_EQ(r->blobs[0].second.metadata[0].first, "good");
}

TEST(ParseListBlobsTest, MalformedInputIsAnErrorNotACrash) {
  const char* bad[] = {
      "",
      "not xml",
      "<EnumerationResults><Blobs><Blob><Name>x</Name></Blob>",  // truncated
      "<Error><Code>AuthenticationFailed</Code></Error>",
      "<EnumerationResults><Blobs><Blob><Properties/></Blob></Blobs></EnumerationResults>",
      "<EnumerationResults><Blobs><Blob><Name></Name></Blob></Blobs></EnumerationResults>",
      "<EnumerationResults><Blobs><Blob><Name Encoded=\"true\">a%G1</Name></Blob></Blobs>"
      "</EnumerationResults>",
      "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>-1"
      "</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
      "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>"
      "99999999999999999999999</Content-Length></Properties></Blob></Blobs>"
      "</EnumerationResults>",
      "<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Last-Modified>yesterday"
      "</Last-Modified></Properties></Blob></Blobs></EnumerationResults>",
      "<EnumerationResults><Blobs><BlobPrefix/></Blobs></EnumerationResults>",
  };
  for (const char* xml : bad) {
    auto r = ParseListBlobs(xml);
    EXPECT_FALSE(r.ok()) << xml;
    if (!r.ok()) {
      EXPECT_EQ(r.status().kind(), ErrorKind::kIo) << xml;
    }
  }
}

TEST(ParseListBlobsTest, DoctypeEntitiesAreNotExpanded) {
  auto r = ParseListBlobs(
      "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><EnumerationResults><Blobs><Blob><Name>&a;&amp;</Name>"
      "</Blob></Blobs></EnumerationResults>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->blobs[0].first, "&a;&");
}

TEST(ParseListBlobsTest, BodyOverTheCapIsRefused) {
  std::string big = Page(std::string(kMaxListBody, ' '));
  auto r = ParseListBlobs(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kIo);
}

TEST(RemoteClientTest, ListRejectsMaxResultsOutOfRange) {
  RemoteOptions o;
  o.container_url = "http://127.0.0.1:1/acct/c";
  auto c = MakeRemoteClient(o);
  ASSERT_TRUE(c.ok());
  for (int bad : {0, -1, 5001}) {
    auto r = (*c)->List("", "", "", bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ((*c)->GetStats().requests, 0u);
}

}  // namespace
}  // namespace strata::tier
