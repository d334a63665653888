#include "server/served_accounts.h"

#include <algorithm>
#include <cstdlib>

#include "api/copy_jobs.h"
#include "common/strings.h"
#include "server/entra_keys.h"

namespace strata::server {

namespace {

bool SameContainers(const std::map<std::string, ContainerEntry>& a,
                    const std::map<std::string, ContainerEntry>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, e] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second.path != e.path || it->second.read_only != e.read_only ||
        it->second.max_bytes != e.max_bytes || it->second.max_files != e.max_files ||
        it->second.cache != e.cache)
      return false;
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<ns::Store>> ServedAccounts::OpenStore(const Config& cfg,
                                                             const AccountConfig& ac) {
  auto store = std::make_shared<ns::Store>(PosixFs(), ac.root, cfg.fsync);
  for (const auto& [name, entry] : ac.containers) {
    ns::ContainerConfig cc;
    if (!entry.path.empty()) {
      // The view's own path may pass through symlinks; what it names is fixed now.
      char* real = ::realpath(entry.path.c_str(), nullptr);
      if (!real)
        return Status(ErrorKind::kNotFound,
                      "account " + ac.name + ", view " + name + ": cannot resolve " + entry.path);
      cc.dir = real;
      std::free(real);
    }
    cc.read_only = entry.read_only;
    cc.max_bytes = entry.max_bytes;
    cc.max_files = entry.max_files;
    cc.cached = entry.cache.has_value();
    store->ConfigureContainer(name, cc);
  }
  store->SetMaxUncommittedBlocks(opt_.max_uncommitted_blocks);
  store->SetSingleGateway(cfg.single_gateway);
  store->SetCreateRoot(MayCreateRoot(cfg, ac.root));
  Status s = store->Open();
  if (!s.ok()) return Status(s.kind(), "cannot open root " + ac.root + ": " + s.message());
  return store;
}

// The account's Microsoft Entra ID settings: its own, else the top level's.
static const EntraConfig* EntraOf(const Config& cfg, const AccountConfig& ac) {
  return ac.entra ? &*ac.entra : cfg.entra ? &*cfg.entra : nullptr;
}

static std::shared_ptr<api::Account> NewAccount(const Config& cfg, const AccountConfig& ac,
                                                std::shared_ptr<ns::Store> store) {
  auto a = std::make_shared<api::Account>();
  if (const EntraConfig* e = EntraOf(cfg, ac)) a->entra = BuildEntraAccess(*e, ac.name);
  a->name = ac.name;
  a->key = *Base64Decode(ac.key_base64);
  if (!ac.key2_base64.empty()) a->key2 = *Base64Decode(ac.key2_base64);
  a->store = std::move(store);
  return a;
}

Result<api::Api::AccountList> ServedAccounts::Open(const Config& cfg) {
  api::Api::AccountList list;
  for (const auto& ac : cfg.accounts) {
    auto store = OpenStore(cfg, ac);
    if (!store.ok()) return store.status();
    auto a = NewAccount(cfg, ac, *store);
    a->fetcher = opt_.fetcher;
    a->rehydrate_delay = opt_.rehydrate_delay;
    a->copies = opt_.copies;
    stores_[ac.name] = Opened{*store, ac, a};
    list.push_back(std::move(a));
  }
  return list;
}

Result<ServedAccounts::Plan> ServedAccounts::Prepare(const Config& running, const Config& cfg,
                                                     const api::Api::AccountList& now) {
  Plan plan;
  std::map<std::string, std::shared_ptr<api::Account>> current;
  for (const auto& a : now) current[a->name] = a;
  for (const auto& ac : cfg.accounts) {
    auto cur = current.find(ac.name);
    auto known = stores_.find(ac.name);
    std::shared_ptr<ns::Store> store;
    if (known != stores_.end()) {
      // Open in this process (served now, or removed earlier): its root
      // and containers stay what they were.
      store = known->second.store;
      if (known->second.cfg.root != ac.root)
        plan.needs_restart.push_back("account " + ac.name + ": root " + ac.root + " (serving " +
                                     known->second.cfg.root + ")");
      if (!SameContainers(known->second.cfg.containers, ac.containers))
        plan.needs_restart.push_back("account " + ac.name + ": containers (views, quotas, caches)");
    } else {
      auto opened = OpenStore(cfg, ac);
      if (!opened.ok()) return opened.status();
      store = *opened;
      plan.opened.push_back({ac, store});
    }
    // The account's last version (served now, or before its removal)
    // lends the new one its tier, copy runner and settings.
    std::shared_ptr<api::Account> base = cur != current.end()     ? cur->second
                                         : known != stores_.end() ? known->second.last
                                                                  : nullptr;
    std::shared_ptr<api::Account> a = NewAccount(cfg, ac, store);
    if (base) {
      a->tier = base->tier;
      a->copies = base->copies;
      a->fetcher = base->fetcher;
      a->rehydrate_delay = base->rehydrate_delay;
    } else {
      a->fetcher = opt_.fetcher;
      a->rehydrate_delay = opt_.rehydrate_delay;
      a->copies = opt_.copies;
      // The capacity tier of an account comes with a restart.
      if (!running.tier.remote.empty())
        plan.needs_restart.push_back("account " + ac.name + ": its capacity tier");
    }
    if (cur == current.end()) {
      plan.changes.push_back("account " + ac.name + " added");
    } else {
      // Entra ID (issuers, keys, RBAC) is read anew on every reload: its
      // cached grants belong to the account object it was built for.
      bool entra = a->entra || base->entra;
      if (a->key == base->key && a->key2 == base->key2 && !entra)
        a = base;  // unchanged: the same object
      else if (a->key != base->key || a->key2 != base->key2)
        plan.changes.push_back("account " + ac.name + ": keys changed");
      if (entra) plan.changes.push_back("account " + ac.name + ": Entra ID and RBAC reloaded");
      current.erase(cur);
    }
    plan.accounts.push_back(std::move(a));
  }
  for (const auto& [name, a] : current) plan.changes.push_back("account " + name + " removed");
  // The default account (the first: requests that name none) stays.
  if (!now.empty() && (plan.accounts.empty() || plan.accounts.front()->name != now.front()->name)) {
    const auto& def = now.front();
    auto it = std::find_if(plan.accounts.begin(), plan.accounts.end(),
                           [&](const auto& a) { return a->name == def->name; });
    std::shared_ptr<api::Account> keep = it != plan.accounts.end() ? *it : def;
    if (it != plan.accounts.end())
      plan.accounts.erase(it);
    else
      std::erase(plan.changes, "account " + def->name + " removed");
    plan.accounts.insert(plan.accounts.begin(), keep);
    plan.needs_restart.push_back("the default account (the first): still " + def->name);
  }
  return plan;
}

void ServedAccounts::Commit(const Plan& plan) {
  for (const auto& n : plan.opened) {
    stores_[n.cfg.name] = Opened{n.store, n.cfg, nullptr};
    if (opt_.copies) opt_.copies->AddStore(n.store.get());
  }
  for (const auto& a : plan.accounts) stores_[a->name].last = a;
}

std::vector<ns::Store*> ServedAccounts::AllStores() const {
  std::vector<ns::Store*> out;
  for (const auto& [name, o] : stores_) out.push_back(o.store.get());
  return out;
}

}  // namespace strata::server
