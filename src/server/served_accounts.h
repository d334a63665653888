// ServedAccounts: the accounts of the config made live (api::Account: keys,
// an open ns::Store, the tier and copy runner), first at start and again on
// each reload (SIGHUP).
//
// A reload may add accounts, remove them and change their keys (key1, key2:
// rotation). An account's root and containers (views, quotas) are fixed
// while the process runs: a reload that changes them reports "needs a
// restart" and the account keeps the ones it has. Stores are never closed
// before the process ends: a removed account's store stays open (requests
// in flight may still use it; adding the account back reuses it).
//
// Thread-safety: not thread-safe; used by main() at start, then by the
// thread that handles signals.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/api.h"
#include "server/config.h"

namespace strata::server {

class ServedAccounts {
 public:
  struct Options {
    uint64_t max_uncommitted_blocks = ns::Store::kMaxUncommittedBlocks;
    TimeNs rehydrate_delay = 10LL * 1000000000LL;
    const tier::UrlFetcher* fetcher = nullptr;
    api::CopyJobs* copies = nullptr;  // set before Plan() adds accounts
  };
  explicit ServedAccounts(Options opt) : opt_(std::move(opt)) {}

  void set_copies(api::CopyJobs* copies) { opt_.copies = copies; }

  // Opens the store of every account of `cfg` (AddDefaultAccount done, the
  // environment validated). On failure, the message names the root.
  Result<api::Api::AccountList> Open(const Config& cfg);

  // What a reload to `cfg` does, against the accounts now served.
  struct Plan {
    api::Api::AccountList accounts;          // the new list
    std::vector<std::string> changes;        // "account x added", ...
    std::vector<std::string> needs_restart;  // what changed but cannot apply
    struct NewStore {
      AccountConfig cfg;
      std::shared_ptr<ns::Store> store;
    };
    std::vector<NewStore> opened;  // stores of accounts new to this process
  };
  // Opens the stores of accounts new to this process (a failure leaves
  // nothing changed). REQUIRES: cfg validated (ValidateConfig,
  // ValidateEnvironment), AddDefaultAccount done.
  Result<Plan> Prepare(const Config& running, const Config& cfg, const api::Api::AccountList& now);
  // Keeps the stores a plan opened (call once the plan is served).
  void Commit(const Plan& plan);

  // Every store opened, removed accounts' too (maintenance work).
  std::vector<ns::Store*> AllStores() const;

 private:
  struct Opened {
    std::shared_ptr<ns::Store> store;
    AccountConfig cfg;  // as opened: root and containers stay
    // The account's latest version (what a reload that adds it back builds on).
    std::shared_ptr<api::Account> last;
  };
  Result<std::shared_ptr<ns::Store>> OpenStore(const Config& cfg, const AccountConfig& ac);

  Options opt_;
  std::map<std::string, Opened> stores_;  // by account name
};

}  // namespace strata::server
