#include "api/xml_bodies.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::api {
namespace {

TEST(ParseBlockList, KindsInDocumentOrder) {
  std::vector<BlockListEntry> list;
  auto err = ParseBlockList(
      "<?xml version=\"1.0\"?><BlockList><Latest>QUFB</Latest><!-- x -->"
      "<Committed> QkJC </Committed><Uncommitted>Q0ND</Uncommitted></BlockList>",
      &list);
  ASSERT_FALSE(err);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].kind, BlockListEntry::kLatest);
  EXPECT_EQ(list[0].id, "AAA");
  EXPECT_EQ(list[1].kind, BlockListEntry::kCommitted);
  EXPECT_EQ(list[1].id, "BBB");
  EXPECT_EQ(list[2].kind, BlockListEntry::kUncommitted);
  EXPECT_EQ(list[2].id, "CCC");
}

TEST(ParseBlockList, Refusals) {
  std::vector<BlockListEntry> list;
  auto not_xml = ParseBlockList("<BlockList><Latest>", &list);
  ASSERT_TRUE(not_xml);
  EXPECT_EQ(not_xml->error, AzError::kInvalidXmlDocument);
  auto root = ParseBlockList("<Blocks/>", &list);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->error, AzError::kInvalidXmlDocument);
  auto element = ParseBlockList("<BlockList><Block>QUFB</Block></BlockList>", &list);
  ASSERT_TRUE(element);
  EXPECT_EQ(element->error, AzError::kInvalidXmlDocument);
  EXPECT_EQ(element->detail, "Unexpected element Block.");
  auto bad_id = ParseBlockList("<BlockList><Latest>!!</Latest></BlockList>", &list);
  ASSERT_TRUE(bad_id);
  EXPECT_EQ(bad_id->error, AzError::kInvalidBlockList);
  auto too_long = ParseBlockList(
      "<BlockList><Latest>" + std::string(88, 'Q') + "</Latest></BlockList>", &list);
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->error, AzError::kInvalidBlockList);
}

TEST(ParseSignedIdentifiers, PoliciesAndRefusals) {
  std::vector<ns::SignedIdentifier> ids;
  auto err = ParseSignedIdentifiers(
      "<SignedIdentifiers><SignedIdentifier><Id>p1</Id><AccessPolicy>"
      "<Start>2026-01-01T00:00:00Z</Start><Expiry>2027-01-01T00:00:00.0000000Z</Expiry>"
      "<Permission>rl</Permission></AccessPolicy></SignedIdentifier>"
      "<SignedIdentifier><Id>p2</Id></SignedIdentifier></SignedIdentifiers>",
      &ids);
  ASSERT_FALSE(err);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].id, "p1");
  EXPECT_EQ(ids[0].start, "2026-01-01T00:00:00Z");
  EXPECT_EQ(ids[0].expiry, "2027-01-01T00:00:00.0000000Z");
  EXPECT_EQ(ids[0].permission, "rl");
  EXPECT_EQ(ids[1].id, "p2");
  EXPECT_EQ(ids[1].permission, "");

  for (std::string bad :
       {std::string("<SignedIdentifiers>"), std::string("<Other/>"),
        std::string("<SignedIdentifiers><SignedIdentifier><Id></Id></SignedIdentifier>"
                    "</SignedIdentifiers>"),
        "<SignedIdentifiers><SignedIdentifier><Id>" + std::string(65, 'x') +
            "</Id></SignedIdentifier></SignedIdentifiers>",
        std::string("<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Expiry>soon"
                    "</Expiry></AccessPolicy></SignedIdentifier></SignedIdentifiers>")}) {
    auto e = ParseSignedIdentifiers(bad, &ids);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->error, AzError::kInvalidXmlDocument) << bad;
  }
  std::string six = "<SignedIdentifiers>";
  for (int i = 0; i < 6; ++i)
    six += "<SignedIdentifier><Id>p" + std::to_string(i) + "</Id></SignedIdentifier>";
  six += "</SignedIdentifiers>";
  auto e = ParseSignedIdentifiers(six, &ids);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->detail, "At most 5 signed identifiers are allowed.");
}

}  // namespace
}  // namespace strata::api
