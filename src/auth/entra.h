// Microsoft Entra ID for one account: which tokens it accepts (issuers,
// audiences, signing keys), the Azure RBAC role assignments that say what a
// token's principal may do, and the user delegation keys derived for it.
//
// Thread-safety: EntraAccess is immutable after construction except for its
// KeySource, which is safe to call from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/jwt.h"
#include "common/clock.h"

namespace strata::auth {

// The built-in data roles, weakest first.
enum class Role { kNone = 0, kReader = 1, kContributor = 2, kOwner = 3 };
// "Storage Blob Data Reader" / "Contributor" / "Owner"; nullopt otherwise.
std::optional<Role> ParseRole(std::string_view name);
const char* RoleName(Role r);
// The SAS permission letters a role grants (the route table's demands are
// written in them): Reader "rle" (read, list, get ACL), Contributor adds
// writes, deletes, tags and moves ("racwdxltfme"), Owner
// everything, ACLs and ownership (p, o) included.
const char* RoleLetters(Role r);

struct RoleAssignment {
  std::string principal;  // an oid, appid/azp or group id
  Role role = Role::kNone;
  std::string container;  // "" : the whole account; else that container only
};

// Signing keys by kid, loaded through `load` (a JWKS document's text).
// Process-local cache: a key the identity provider adds is picked up when a
// token names its kid (at most one reload per `min_reload`, so a client
// sending made-up kids cannot make every request reload); every lookup
// after `max_age` reloads too, so a key removed from the document stops
// being accepted within max_age on every gateway.
class KeySource {
 public:
  using Loader = std::function<std::optional<std::string>()>;
  KeySource(Loader load, TimeNs min_reload, TimeNs max_age);
  // The key named `kid`, reloading as described; null when unknown.
  std::shared_ptr<EVP_PKEY> Find(const std::string& kid, TimeNs now);
  // How many times the document was (re)loaded: tests.
  int loads() const { return loads_.load(); }

 private:
  void Reload(TimeNs now);  // REQUIRES: reload_mu_ held
  Loader load_;
  TimeNs min_reload_, max_age_;
  std::mutex reload_mu_;  // one reload at a time
  std::mutex mu_;         // guards keys_ and loaded_at_
  std::shared_ptr<const JwkSet> keys_;
  TimeNs loaded_at_ = 0;
  bool ever_loaded_ = false;
  std::atomic<int> loads_{0};
};

struct EntraAccess {
  std::string tenant;  // for the WWW-Authenticate challenge and sktid
  TokenRules rules;
  std::vector<RoleAssignment> rbac;
  // Principals (oid/appid/group) with Owner on the whole account.
  std::vector<std::string> superusers;
  // Bearer tokens over plain HTTP: Azure refuses them; a gateway behind a
  // TLS-terminating proxy (or a test rig) may allow them.
  bool allow_http = false;
  std::shared_ptr<KeySource> keys;

  // The strongest role `ids` hold on `container` ("": the account itself):
  // assignments at account scope count everywhere, container ones only there.
  Role RoleFor(const std::vector<std::string>& ids, const std::string& container) const;
  // "Bearer authorization_uri=https://login.microsoftonline.com/TENANT/oauth2/authorize
  // resource_id=https://storage.azure.com"
  std::string Challenge() const;
};

// The default issuers of a tenant: v1 "https://sts.windows.net/T/" and v2
// "https://login.microsoftonline.com/T/v2.0".
std::vector<std::string> DefaultIssuers(const std::string& tenant);
// The default audiences: https://storage.azure.com (with and without a
// trailing slash), plus the account URLs given.
std::vector<std::string> DefaultAudiences(const std::vector<std::string>& account_urls);

// ---- User delegation keys ----
//
// A key is not stored anywhere: its value is an HMAC, under the account key,
// of the fields the SAS carries (skoid, sktid, skt, ske, sks, skv), so every
// gateway with the same configuration derives the same key from the SAS
// alone. Times are canonicalized ("YYYY-MM-DDTHH:MM:SSZ") before hashing.
struct DelegationKeyFields {
  std::string oid, tid, start, expiry, service = "b", version;
};
// The raw 32-byte key; nullopt when start or expiry is not an ISO 8601 time.
std::optional<std::string> DeriveDelegationKey(std::string_view account_key,
                                               const DelegationKeyFields& f);
// "2024-01-02T03:04:05Z" (seconds, as the SDKs write key times).
std::string FormatKeyTime(TimeNs t);
// Longest validity of a user delegation key.
inline constexpr TimeNs kMaxDelegationKeyLifetime = 7LL * 24 * 3600 * 1000000000LL;

}  // namespace strata::auth
