#include "auth/entra.h"

#include <cstdio>
#include <ctime>

#include "common/crypto.h"

namespace strata::auth {

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "Storage Blob Data Reader") return Role::kReader;
  if (name == "Storage Blob Data Contributor") return Role::kContributor;
  if (name == "Storage Blob Data Owner") return Role::kOwner;
  return std::nullopt;
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kNone:
      return "none";
    case Role::kReader:
      return "Storage Blob Data Reader";
    case Role::kContributor:
      return "Storage Blob Data Contributor";
    case Role::kOwner:
      return "Storage Blob Data Owner";
  }
  return "none";
}

const char* RoleLetters(Role r) {
  switch (r) {
    case Role::kNone:
      return "";
    case Role::kReader:
      return "rle";
    case Role::kContributor:
      return "racwdxltfme";
    case Role::kOwner:
      return "racwdxyltfmeopi";
  }
  return "";
}

KeySource::KeySource(Loader load, TimeNs min_reload, TimeNs max_age)
    : load_(std::move(load)), min_reload_(min_reload), max_age_(max_age) {}

void KeySource::Reload(TimeNs now) {
  std::optional<std::string> text = load_();
  loads_.fetch_add(1);
  std::optional<JwkSet> set = text ? JwkSet::Parse(*text) : std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  loaded_at_ = now;  // a failed load also waits min_reload before the next try
  ever_loaded_ = true;
  if (set) {
    keys_ = std::make_shared<const JwkSet>(std::move(*set));
  } else {
    std::fprintf(stderr,
                 "strata: entra: cannot load the signing keys (JWKS); keeping the last ones\n");
  }
}

std::shared_ptr<EVP_PKEY> KeySource::Find(const std::string& kid, TimeNs now) {
  std::shared_ptr<const JwkSet> keys;
  bool stale, may_reload;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys = keys_;
    stale = !ever_loaded_ || now - loaded_at_ >= max_age_;
    may_reload = !ever_loaded_ || now - loaded_at_ >= min_reload_;
  }
  std::shared_ptr<EVP_PKEY> key = keys ? keys->Find(kid) : nullptr;
  if ((key && !stale) || !may_reload) return key;
  {
    // Only one thread reloads; the others answer from what is loaded.
    std::unique_lock<std::mutex> reload(reload_mu_, std::try_to_lock);
    if (!reload.owns_lock()) return key;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool again = !ever_loaded_ || now - loaded_at_ >= min_reload_;
      if (!again) {
        keys = keys_;
        return keys ? keys->Find(kid) : nullptr;
      }
    }
    Reload(now);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return keys_ ? keys_->Find(kid) : nullptr;
}

Role EntraAccess::RoleFor(const std::vector<std::string>& ids, const std::string& container) const {
  Role best = Role::kNone;
  for (const std::string& id : ids) {
    for (const std::string& s : superusers)
      if (s == id) return Role::kOwner;
    for (const RoleAssignment& a : rbac) {
      if (a.principal != id) continue;
      if (!a.container.empty() && a.container != container) continue;
      if (a.role > best) best = a.role;
    }
  }
  return best;
}

std::string EntraAccess::Challenge() const {
  return "Bearer authorization_uri=https://login.microsoftonline.com/" + tenant +
         "/oauth2/authorize resource_id=https://storage.azure.com";
}

std::vector<std::string> DefaultIssuers(const std::string& tenant) {
  return {"https://sts.windows.net/" + tenant + "/",
          "https://login.microsoftonline.com/" + tenant + "/v2.0"};
}

std::vector<std::string> DefaultAudiences(const std::vector<std::string>& account_urls) {
  std::vector<std::string> out = {"https://storage.azure.com", "https://storage.azure.com/"};
  for (const std::string& u : account_urls) {
    out.push_back(u);
    if (!u.empty() && u.back() == '/') {
      out.push_back(u.substr(0, u.size() - 1));
    } else {
      out.push_back(u + "/");
    }
  }
  return out;
}

std::string FormatKeyTime(TimeNs t) {
  time_t secs = static_cast<time_t>(t / 1000000000LL);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int the fields could hold (-Wformat-truncation)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::string> DeriveDelegationKey(std::string_view account_key,
                                               const DelegationKeyFields& f) {
  auto start = ParseIso8601(f.start);
  auto expiry = ParseIso8601(f.expiry);
  if (!start || !expiry) return std::nullopt;
  std::string input = "strata-user-delegation-key-v1\n" + f.oid + "\n" + f.tid + "\n" +
                      FormatKeyTime(*start) + "\n" + FormatKeyTime(*expiry) + "\n" + f.service +
                      "\n" + f.version;
  return HmacSha256(account_key, input);
}

}  // namespace strata::auth
