#include "dfs/permissions.h"

#include <gtest/gtest.h>

namespace strata::dfs {
namespace {

TEST(PermissionsTest, ParsesSymbolicAndOctal) {
  EXPECT_EQ(ParsePermissions("rwxr-x---"), 0750u);
  EXPECT_EQ(ParsePermissions("rw-r--r--"), 0644u);
  EXPECT_EQ(ParsePermissions("rwxrwxrwt"), 01777u);
  EXPECT_EQ(ParsePermissions("rwxrwxrwT"), 01776u);
  EXPECT_EQ(ParsePermissions("0750"), 0750u);
  EXPECT_EQ(ParsePermissions("640"), 0640u);
  EXPECT_EQ(ParsePermissions("1777"), 01777u);
}

TEST(PermissionsTest, RefusesMalformed) {
  for (const char* bad : {"", "rwx", "rwxr-x--", "rwxr-x---+", "xwrr-x---", "0789", "4755", "07777",
                          "rwxr-x--z"})
    EXPECT_FALSE(ParsePermissions(bad).has_value()) << bad;
}

TEST(PermissionsTest, FormatsRoundTrip) {
  for (uint32_t m : {0u, 0750u, 0644u, 01777u, 01776u, 0777u})
    EXPECT_EQ(ParsePermissions(FormatPermissions(m)), m) << m;
  EXPECT_EQ(FormatPermissions(0640), "rw-r-----");
}

TEST(PermissionsTest, Umask) {
  EXPECT_EQ(ParseUmask("0027"), 0027u);
  EXPECT_FALSE(ParseUmask("027").has_value());
  EXPECT_FALSE(ParseUmask("1027").has_value());
  EXPECT_FALSE(ParseUmask("00a7").has_value());
}

TEST(AclTest, ParsesAndFormats) {
  auto acl = ParseAcl("user::rwx,user:bob:r-x,group::r--,mask::r-x,other::---,default:user::rwx");
  ASSERT_TRUE(acl.has_value());
  ASSERT_EQ(acl->size(), 6u);
  EXPECT_EQ((*acl)[1].id, "bob");
  EXPECT_TRUE((*acl)[5].is_default);
  EXPECT_EQ(FormatAcl(*acl), "user::rwx,user:bob:r-x,group::r--,mask::r-x,other::---,default:user::rwx");
  EXPECT_TRUE(HasExtendedEntries(*acl));
}

TEST(AclTest, RefusesMalformed) {
  for (const char* bad : {"", "user::rwz", "owner::rwx", "mask:x:rwx", "user:rwx", "user::rwx,"})
    EXPECT_FALSE(ParseAcl(bad).has_value()) << bad;
}

TEST(AclTest, ModeFromAclUsesMaskForGroup) {
  auto acl = ParseAcl("user::rwx,group::rwx,mask::r-x,other::--x");
  EXPECT_EQ(ModeFromAcl(*acl, 0), 0751u);
  auto plain = ParseAcl("user::rw-,group::r--,other::---");
  EXPECT_EQ(ModeFromAcl(*plain, 01000), 01640u);
  EXPECT_FALSE(HasExtendedEntries(*plain));
}

TEST(AclTest, AclWithModeKeepsNamedEntries) {
  auto acl = ParseAcl("user::rwx,user:bob:r-x,group::r-x,mask::r-x,other::---");
  EXPECT_EQ(FormatAcl(AclWithMode(*acl, 0700)),
            "user::rwx,user:bob:r-x,group::r-x,mask::---,other::---");
  EXPECT_EQ(FormatAcl(AclWithMode({}, 0640)), "user::rw-,group::r--,other::---");
}

}  // namespace
}  // namespace strata::dfs
