#include "server/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "server/reload.h"
#include "server/served_accounts.h"

namespace strata::server {
namespace {

const char kKey[] = "a2V5LWtleS1rZXk=";  // "key-key-key"

std::vector<std::string> Parse(const std::string& text, Config* cfg = nullptr) {
  Config local;
  std::vector<std::string> errors;
  ParseConfigJson(text, cfg ? cfg : &local, &errors);
  return errors;
}

bool Has(const std::vector<std::string>& errors, const std::string& line) {
  return std::find(errors.begin(), errors.end(), line) != errors.end();
}

TEST(ConfigTest, AGoodFileSetsEverything) {
  Config cfg;
  auto errors = Parse(R"({"host": "::1", "port": 8080, "dfs_port": 8081, "root": "/srv/r",
    "create_root": true, "drain_seconds": 5, "durability": "none", "single_gateway": true,
    "threads": 4, "containers": {"data": {"path": "/d", "read_only": true, "max_bytes": 10,
    "max_files": 2}},
    "accounts": [{"name": "acct1", "key": "a2V5LWtleS1rZXk=", "key2": "a2V5LWtleS1rZXk=",
                  "root": "/srv/a"}],
    "tier": {"remote": "https://h/c", "key": "a2V5LWtleS1rZXk=", "prefix": "p", "pinned": ["data/x"],
             "policy": {"rules": []}, "interval": 60, "high_watermark": 90, "low_watermark": 80,
             "capacity": 100, "workers": 3, "max_concurrency": 4, "bandwidth": 5},
    "copy_sources": {"hosts": ["*.example.com"], "allow_private": true, "connect_timeout_s": 2,
                     "timeout_s": 3, "min_speed_bytes": 4, "min_speed_window_s": 5,
                     "max_bytes": 6, "max_concurrent": 7}})",
                      &cfg);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(cfg.host, "::1");
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_TRUE(cfg.create_root);
  EXPECT_EQ(cfg.drain_seconds, 5);
  EXPECT_FALSE(cfg.fsync);
  ASSERT_EQ(cfg.accounts.size(), 1u);
  EXPECT_EQ(cfg.accounts[0].key2_base64, kKey);
  EXPECT_EQ(cfg.dev_containers["data"].max_files, 2u);
  EXPECT_EQ(cfg.tier.workers, 3);
  EXPECT_EQ(cfg.tier.pinned, std::vector<std::string>{"data/x"});
  EXPECT_EQ(cfg.copy_sources.max_concurrent, 7);
  std::vector<std::string> more;
  ValidateConfig(cfg, &more);
  EXPECT_TRUE(more.empty()) << more.front();
}

TEST(ConfigTest, UnknownKeysAreNamedAtEveryLevel) {
  auto errors = Parse(R"({"bogus": 1, "containers": {"data": {"size": 1}},
    "accounts": [{"name": "acct1", "key": "a2V5", "root": "/r", "extra": 1,
                  "containers": {"data": {"paht": "/x"}}}],
    "tier": {"remote": "https://h/c", "colour": 1}, "copy_sources": {"retries": 2}})");
  EXPECT_TRUE(Has(errors, "bogus: unknown key"));
  EXPECT_TRUE(Has(errors, "containers.data.size: unknown key"));
  EXPECT_TRUE(Has(errors, "accounts[0].extra: unknown key"));
  EXPECT_TRUE(Has(errors, "accounts[0].containers.data.paht: unknown key"));
  EXPECT_TRUE(Has(errors, "tier.colour: unknown key"));
  EXPECT_TRUE(Has(errors, "copy_sources.retries: unknown key"));
  EXPECT_EQ(errors.size(), 6u);
}

TEST(ConfigTest, BadValuesNameTheKeyAndTheReason) {
  auto errors = Parse(R"({"port": 70000, "threads": -3, "drain_seconds": 1.5, "host": "localhost",
    "root": "rel", "durability": "maybe",
    "accounts": [{"name": "acct1", "key": "!!", "root": "/r1",
                  "containers": {"data": {"max_bytes": -1}, "Bad": {}}},
                 {"name": "acct1", "key": "a2V5", "key2": "", "root": "r2"},
                 {"name": "UPPER", "key": "a2V5", "root": "/r3"},
                 {"key": "a2V5"}],
    "tier": {"remote": "https://h/c", "high_watermark": 101, "interval": "hourly", "key": "??"}})");
  EXPECT_TRUE(Has(errors, "port: must be an integer from 0 to 65535"));
  EXPECT_TRUE(Has(errors, "threads: must be an integer from 0 to 1024"));
  EXPECT_TRUE(Has(errors, "drain_seconds: must be an integer from 0 to 86400"));
  EXPECT_TRUE(Has(errors, "host: must be an IPv4 or IPv6 address (got \"localhost\")"));
  EXPECT_TRUE(Has(errors, "root: must be an absolute path (got \"rel\")"));
  EXPECT_TRUE(Has(errors, "durability: must be \"fsync\" or \"none\""));
  EXPECT_TRUE(Has(errors, "accounts[0].key: must be a base64 key (it is not base64)"));
  EXPECT_TRUE(Has(errors, "accounts[0].containers.data.max_bytes: must be a positive integer"));
  EXPECT_TRUE(std::any_of(errors.begin(), errors.end(), [](const std::string& e) {
    return e.rfind("accounts[0].containers.Bad: invalid container name", 0) == 0;
  }));
  EXPECT_TRUE(Has(errors, "accounts[1].name: \"acct1\" is already the name of accounts[0]"));
  EXPECT_TRUE(Has(errors, "accounts[1].key2: must be a base64 key (it is not base64)"));
  EXPECT_TRUE(Has(errors, "accounts[1].root: must be an absolute path (got \"r2\")"));
  EXPECT_TRUE(std::any_of(errors.begin(), errors.end(), [](const std::string& e) {
    return e.rfind("accounts[2].name: must be 3 to 24 lowercase letters and digits", 0) == 0;
  }));
  EXPECT_TRUE(Has(errors, "accounts[3].name: is required"));
  EXPECT_TRUE(Has(errors, "accounts[3].root: is required"));
  EXPECT_TRUE(Has(errors, "tier.high_watermark: must be a number from 0 to 100"));
  EXPECT_TRUE(Has(errors, "tier.interval: must be an integer from 1 to 31536000"));
  EXPECT_TRUE(Has(errors, "tier.key: must be a base64 key (it is not base64)"));
}

TEST(ConfigTest, NotJsonOrNotAnObject) {
  auto errors = Parse("{");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("not JSON", 0), 0u);
  EXPECT_TRUE(Has(Parse("[]"), "the document: must be a JSON object"));
  EXPECT_TRUE(Has(Parse(R"({"accounts": [1]})"), "accounts[0]: must be a JSON object"));
}

TEST(ConfigTest, ValidateConfigChecksTheMergedWhole) {
  Config cfg;
  cfg.dfs_port = cfg.port;
  cfg.tier.high_watermark = 50;
  cfg.tier.low_watermark = 60;
  cfg.tier.policy_json = R"({"rules": 3})";
  cfg.accounts.push_back({"acct1", kKey, "", "/r", {}, std::nullopt});
  cfg.accounts.push_back({"acct2", kKey, "", "/r/", {}, std::nullopt});
  std::vector<std::string> errors;
  ValidateConfig(cfg, &errors);
  EXPECT_TRUE(Has(errors, "dfs_port (--dfs-port): must be a free port other than --port"));
  EXPECT_TRUE(std::any_of(errors.begin(), errors.end(), [](const std::string& e) {
    return e.find("low watermark must lie between 0 and the high one") != std::string::npos;
  }));
  EXPECT_TRUE(Has(errors, "account acct2.root: /r/ is already the root of account acct1"));
  EXPECT_TRUE(std::any_of(errors.begin(), errors.end(), [](const std::string& e) {
    return e.rfind("tier.policy (--tier-policy): ", 0) == 0;
  }));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/strata-config-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigTest, ValidateEnvironmentRefusesMissingRootsUnlessTheyMayBeCreated) {
  TempDir dir;
  Config cfg;
  cfg.root = dir.path() + "/missing";
  AddDefaultAccount(&cfg);
  std::vector<std::string> errors;
  ValidateEnvironment(cfg, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("--root: " + cfg.root + " does not exist"), std::string::npos);
  EXPECT_NE(errors[0].find("--create-root"), std::string::npos);
  errors.clear();
  cfg.create_root = true;
  ValidateEnvironment(cfg, &errors);
  EXPECT_TRUE(errors.empty());
  struct stat st;
  EXPECT_NE(::stat(cfg.root.c_str(), &st), 0);  // nothing was created
  EXPECT_TRUE(MayCreateRoot(Config{}, "./data"));
  EXPECT_FALSE(MayCreateRoot(Config{}, "/data"));
  // Views must resolve; required files must be readable.
  Config v;
  v.root = dir.path();
  v.dev_containers["shards"].path = dir.path() + "/nope";
  v.required_files.push_back({"--tls-cert", dir.path() + "/cert.pem"});
  AddDefaultAccount(&v);
  errors.clear();
  ValidateEnvironment(v, &errors);
  EXPECT_EQ(errors.size(), 2u);
  EXPECT_TRUE(Has(errors, "--tls-cert: cannot read " + dir.path() + "/cert.pem"));
}

TEST(ConfigTest, RestartOnlyChangesAreNamedAndKept) {
  Config a, b;
  b.port = 1;
  b.tier.remote_key = "c2VjcmV0";
  b.drain_seconds = 3;
  b.accounts.push_back({"acct1", kKey, "", "/r", {}, std::nullopt});
  auto changed = RestartOnlyChanges(a, b);
  EXPECT_EQ(changed, (std::vector<std::string>{"port", "tier.key"}));
  KeepRestartOnly(a, &b);
  EXPECT_EQ(b.port, a.port);
  EXPECT_EQ(b.tier.remote_key, "");
  EXPECT_EQ(b.drain_seconds, 3);  // reloadable: kept from the new one
  EXPECT_EQ(b.accounts.size(), 1u);
  EXPECT_TRUE(RestartOnlyChanges(a, b).empty());
}

TEST(ReloadHooksTest, OneRefusalStopsEveryApply) {
  ReloadHooks hooks;
  int applied = 0;
  hooks.Add("first", nullptr, [&](const Config&) { ++applied; });
  hooks.Add(
      "rbac",
      [](const Config& c) {
        return c.port == 1 ? Status(ErrorKind::kInvalidArgument, "bad roles") : Status::Ok();
      },
      [&](const Config&) { ++applied; });
  Config bad;
  bad.port = 1;
  Status s = hooks.Check(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "rbac: bad roles");
  EXPECT_TRUE(hooks.Check(Config{}).ok());
  hooks.Apply(Config{});
  EXPECT_EQ(applied, 2);
}

TEST(ServedAccountsTest, ReloadAddsRemovesAndRotatesWithoutTouchingServedObjects) {
  TempDir dir;
  Config cfg;
  cfg.root = dir.path() + "/dev";
  cfg.create_root = true;
  cfg.accounts.push_back({"acct1", kKey, "", dir.path() + "/a1", {}, std::nullopt});
  AddDefaultAccount(&cfg);
  ServedAccounts served({});
  auto list = served.Open(cfg);
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  auto old_dev = (*list)[0];
  auto old_acct1 = (*list)[1];
  std::string old_key = old_acct1->key;

  Config next = cfg;
  next.accounts[1].key_base64 = "bmV3LWtleQ==";  // "new-key"
  next.accounts[1].key2_base64 = kKey;
  next.accounts.push_back({"acct2", kKey, "", dir.path() + "/a2", {}, std::nullopt});
  auto plan = served.Prepare(cfg, next, *list);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->accounts.size(), 3u);
  EXPECT_EQ(plan->accounts[0], old_dev);  // unchanged: the same object
  EXPECT_NE(plan->accounts[1], old_acct1);
  EXPECT_EQ(plan->accounts[1]->store, old_acct1->store);  // the same store
  EXPECT_EQ(plan->accounts[1]->key, "new-key");
  EXPECT_EQ(plan->accounts[1]->key2, "key-key-key");
  EXPECT_EQ(old_acct1->key, old_key);  // what requests in flight hold is untouched
  EXPECT_EQ(plan->changes,
            (std::vector<std::string>{"account acct1: keys changed", "account acct2 added"}));
  EXPECT_TRUE(plan->needs_restart.empty());
  served.Commit(*plan);
  EXPECT_EQ(served.AllStores().size(), 3u);

  // Removing an account and moving another's root: the root needs a restart.
  Config third = next;
  third.accounts.erase(third.accounts.begin() + 2);
  third.accounts[1].root = dir.path() + "/elsewhere";
  auto plan2 = served.Prepare(next, third, plan->accounts);
  ASSERT_TRUE(plan2.ok());
  EXPECT_EQ(plan2->accounts.size(), 2u);
  EXPECT_EQ(plan2->changes, (std::vector<std::string>{"account acct2 removed"}));
  ASSERT_EQ(plan2->needs_restart.size(), 1u);
  EXPECT_NE(plan2->needs_restart[0].find("account acct1: root"), std::string::npos);
  EXPECT_EQ(plan2->accounts[1]->store->root(), dir.path() + "/a1");

  // The default account cannot go without a restart.
  Config fourth = next;
  fourth.accounts.erase(fourth.accounts.begin());
  auto plan3 = served.Prepare(next, fourth, plan->accounts);
  ASSERT_TRUE(plan3.ok());
  EXPECT_EQ(plan3->accounts[0]->name, kDevAccount);
  EXPECT_FALSE(plan3->needs_restart.empty());

  // An account removed and added back gets its store and tier back.
  auto* fake_tier = reinterpret_cast<tier::CapacityTier*>(0x1000);
  plan->accounts[1]->tier = fake_tier;
  Config without = next;
  without.accounts.erase(without.accounts.begin() + 1);
  auto removed = served.Prepare(next, without, plan->accounts);
  ASSERT_TRUE(removed.ok());
  served.Commit(*removed);
  auto back = served.Prepare(without, next, removed->accounts);
  ASSERT_TRUE(back.ok());
  auto again = std::find_if(back->accounts.begin(), back->accounts.end(),
                            [](const auto& a) { return a->name == "acct1"; });
  ASSERT_NE(again, back->accounts.end());
  EXPECT_EQ((*again)->tier, fake_tier);
  EXPECT_EQ((*again)->store, old_acct1->store);
  EXPECT_TRUE(back->opened.empty());
  EXPECT_EQ(back->changes, (std::vector<std::string>{"account acct1 added"}));
  plan->accounts[1]->tier = nullptr;

  // A new account whose root is missing (no create_root) fails the plan.
  Config fifth = next;
  fifth.create_root = false;
  fifth.accounts.push_back({"acct3", kKey, "", dir.path() + "/missing", {}, std::nullopt});
  auto plan4 = served.Prepare(next, fifth, plan->accounts);
  EXPECT_FALSE(plan4.ok());
  struct stat st;
  EXPECT_NE(::stat((dir.path() + "/missing").c_str(), &st), 0);
}

}  // namespace
}  // namespace strata::server
