// The Entra configuration ("entra" in the config file) and the loading of
// signing keys (server/entra_keys.h).
#include "server/entra_keys.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "auth/entra_test_util.h"

namespace strata::server {
namespace {

class EntraConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-entra-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  Status Load(const std::string& json, Config* cfg) {
    return LoadConfigFile(Write("config.json", json), cfg);
  }
  std::string dir_;
};

TEST_F(EntraConfigTest, ParsesTopLevelAndPerAccount) {
  Config cfg;
  Status s = Load(R"({"entra": {"tenant": "t1", "jwks": "/k.json",
      "rbac": [{"principal": "p", "role": "Storage Blob Data Reader"},
               {"principal": "q", "role": "Storage Blob Data Owner", "scope": "container/data"}],
      "superusers": ["root"], "clock_skew_s": 60},
    "accounts": [{"name": "acct1", "key": "a2V5", "root": "/r",
                  "entra": {"tenant": "t2", "openid_config": "http://127.0.0.1:9/oidc"}}]})",
                  &cfg);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(cfg.entra);
  EXPECT_EQ(cfg.entra->tenant, "t1");
  ASSERT_EQ(cfg.entra->rbac.size(), 2u);
  EXPECT_EQ(cfg.entra->rbac[0].container, "");
  EXPECT_EQ(cfg.entra->rbac[1].container, "data");
  EXPECT_EQ(cfg.entra->clock_skew_s, 60);
  ASSERT_TRUE(cfg.accounts[0].entra);
  EXPECT_EQ(cfg.accounts[0].entra->openid_config, "http://127.0.0.1:9/oidc");
}

TEST_F(EntraConfigTest, RefusesWhatItCannotUse) {
  for (
      const char* bad : {
          R"({"entra": {"jwks": "/k"}})",   // no tenant
          R"({"entra": {"tenant": "t"}})",  // no keys
          R"({"entra": {"tenant": "t", "jwks": "/k", "openid_config": "/o"}})",
          R"({"entra": {"tenant": "t/x", "jwks": "/k"}})",
          R"({"entra": {"tenant": "t", "jwks": "/k", "rbac": [{"principal": "p", "role": "Owner"}]}})",
          R"({"entra": {"tenant": "t", "jwks": "/k", "rbac": [{"principal": "p",
               "role": "Storage Blob Data Reader", "scope": "container/A"}]}})",
          R"({"entra": {"tenant": "t", "jwks": "/k", "rbac": [{"principal": "",
               "role": "Storage Blob Data Reader"}]}})",
          R"({"entra": {"tenant": "t", "jwks": "/k", "rbac": [{"principal": "p",
               "role": "Storage Blob Data Reader", "scopes": "account"}]}})",
          R"({"entra": {"tenant": "t", "jwks": "/k", "clock_skew_s": -1}})",
          R"({"entra": {"tenant": "t", "jwks": "/k", "unknown": 1}})",
      }) {
    Config cfg;
    EXPECT_FALSE(Load(bad, &cfg).ok()) << bad;
  }
}

TEST_F(EntraConfigTest, KeysFromAJwksFileOrAnOpenIdConfiguration) {
  auth::testing::TestIssuer issuer("kid-9");
  std::string jwks = Write("jwks.json", issuer.Jwks());
  EntraConfig c;
  c.tenant = "t";
  c.jwks = jwks;
  c.rbac = {{"p", "Storage Blob Data Contributor", "data"}};
  auto access = BuildEntraAccess(c, "acct1");
  EXPECT_TRUE(access->keys->Find("kid-9", 1));
  EXPECT_EQ(access->RoleFor({"p"}, "data"), auth::Role::kContributor);
  EXPECT_EQ(access->rules.issuers, auth::DefaultIssuers("t"));
  EXPECT_NE(std::find(access->rules.audiences.begin(), access->rules.audiences.end(),
                      "https://acct1.blob.core.windows.net"),
            access->rules.audiences.end());
  c.jwks.clear();
  c.openid_config = Write("openid.json", R"({"issuer": "x", "jwks_uri": "file://)" + jwks + "\"}");
  EXPECT_TRUE(BuildEntraAccess(c, "acct1")->keys->Find("kid-9", 1));
  c.openid_config = Write("openid2.json", R"({"jwks_uri": 5})");
  EXPECT_FALSE(BuildEntraAccess(c, "acct1")->keys->Find("kid-9", 1));
}

TEST(ReadKeyDocumentTest, FetchesOnlyFromLoopback) {
  for (const char* where :
       {"http://10.0.0.1/keys", "https://login.microsoftonline.com/common/discovery/keys",
        "http://127.0.0.1@10.0.0.1/keys", "http://localhost:1/keys", "ftp://127.0.0.1/keys",
        "gopher://127.0.0.1/", "relative/path", "http://127.0.0.2/keys"}) {
    EXPECT_FALSE(ReadKeyDocument(where)) << where;
  }
  EXPECT_FALSE(ReadKeyDocument("/nonexistent/keys.json"));
}

}  // namespace
}  // namespace strata::server
