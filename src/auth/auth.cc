// Authorize's dispatch between SharedKey, SAS and anonymous, plus the small
// helpers the schemes share. The schemes live in shared_key.cc and sas.cc.

#include "auth/auth.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "auth/auth_internal.h"
#include "common/crypto.h"
#include "common/strings.h"

namespace strata::auth {

namespace internal {

Outcome Deny(std::string code, std::string message) {
  Outcome out;
  out.ok = false;
  out.status = 403;
  out.code = std::move(code);
  out.message = std::move(message);
  return out;
}

Outcome Allow(Scheme scheme) {
  Outcome out;
  out.ok = true;
  out.scheme = scheme;
  out.status = 200;
  return out;
}

std::vector<QueryParam> ParseQuery(std::string_view raw_query, bool plus_as_space) {
  std::vector<QueryParam> params;
  if (raw_query.empty()) return params;
  for (const std::string& part : Split(raw_query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view raw_name = std::string_view(part).substr(0, eq);
    std::string_view raw_value =
        eq == std::string::npos ? std::string_view() : std::string_view(part).substr(eq + 1);
    auto name = UrlDecode(raw_name, plus_as_space);
    auto value = UrlDecode(raw_value, plus_as_space);
    params.push_back(
        {name ? *name : std::string(raw_name), value ? *value : std::string(raw_value)});
  }
  return params;
}

std::optional<std::string> FindParam(const std::vector<QueryParam>& params, std::string_view name) {
  for (const QueryParam& p : params) {
    if (p.name == name) return p.value;
  }
  return std::nullopt;
}

std::optional<std::string> FindHeader(const RequestView& req, std::string_view lower_name) {
  if (req.header) return req.header(lower_name);
  for (const auto& [name, value] : req.headers) {
    if (IEquals(name, lower_name)) return value;
  }
  return std::nullopt;
}

bool SignatureEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool SignedByAccount(const Account& account, std::string_view string_to_sign,
                     std::string_view signature) {
  bool one = SignatureEquals(Sign(account.key, string_to_sign), signature);
  if (account.key2.empty()) return one;
  bool two = SignatureEquals(Sign(account.key2, string_to_sign), signature);
  return one | two;
}

}  // namespace internal

bool SasPermits(std::string_view sp, const char* wanted) {
  if (!wanted || !*wanted) return false;
  std::string_view rest(wanted);
  while (true) {
    size_t bar = rest.find('|');
    std::string_view alt = rest.substr(0, bar);
    bool all = !alt.empty();
    for (char letter : alt) all = all && sp.find(letter) != std::string_view::npos;
    if (all) return true;
    if (bar == std::string_view::npos) return false;
    rest.remove_prefix(bar + 1);
  }
}

std::string Sign(std::string_view key, std::string_view string_to_sign) {
  return Base64Encode(HmacSha256(key, string_to_sign));
}

namespace {

// SAS decisions already granted. A job reads millions of blobs with one SAS;
// everything a grant depends on except the time is in the key (the account
// and its key, the whole query, the demand, the peer, the protocol, and for
// a service SAS the blob), so a hit needs only the validity window checked.
// Grants that name a stored access policy are not kept: the policy may
// change. Bounded: cleared when full.
class SasGrants {
 public:
  struct Window {
    TimeNs start = 0, expiry = 0;
    Scheme scheme = Scheme::kAccountSas;
    bool may_replace = true;
  };
  std::optional<Window> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void Add(std::string key, Window w) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= 4096) map_.clear();
    map_.emplace(std::move(key), w);
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, Window> map_;
};

std::string GrantKey(const RequestView& req, const Account& account, const Demand& demand,
                     bool per_blob) {
  std::string key;
  key.reserve(account.name.size() + account.key.size() + account.key2.size() +
              req.raw_query.size() +
              req.client_ip.size() + 16 + (per_blob ? req.container.size() + req.blob.size() : 0));
  key.append(account.name).append(1, '\0').append(account.key).append(1, '\0');
  key.append(account.key2).append(1, '\0');
  key.append(req.raw_query).append(1, '\0').append(req.client_ip).append(1, '\0');
  key.push_back(static_cast<char>('0' + static_cast<int>(demand.resource_type)));
  if (demand.permission) key.append(demand.permission);
  key.push_back('\0');
  if (demand.replace) key.append(demand.replace);
  key.push_back('\0');
  key.push_back(demand.service_sas_allowed ? 'y' : 'n');
  key.push_back(req.https ? 's' : 'p');
  if (per_blob) key.append(1, '\0').append(req.container).append(1, '\0').append(req.blob);
  return key;
}

Outcome AuthorizeSasCached(const RequestView& req, const Account& account, const Demand& demand,
                           const PolicyLookup& policies, TimeNs now) {
  static SasGrants* grants = new SasGrants();
  for (bool per_blob : {false, true}) {
    if (auto w = grants->Find(GrantKey(req, account, demand, per_blob))) {
      if (w->start <= now && now < w->expiry) {
        Outcome ok = internal::Allow(w->scheme);
        ok.may_replace = w->may_replace;
        return ok;
      }
      break;  // outside its window now: let the full check say why
    }
  }
  Outcome o = internal::AuthorizeSas(req, account, demand, policies, now);
  if (!o.ok) return o;
  auto p = ParseSas(req.raw_query);
  if (!p || !p->si.empty()) return o;
  auto expiry = ParseIso8601(p->se);
  auto start = p->st.empty() ? std::optional<TimeNs>(0) : ParseIso8601(p->st);
  if (!expiry || !start) return o;
  if (p->is_user_delegation_sas()) {
    // The grant ends with the key too (and the role, which the static
    // configuration fixes for the process's life).
    auto key_start = ParseIso8601(p->skt);
    auto key_expiry = ParseIso8601(p->ske);
    if (!key_start || !key_expiry) return o;
    start = std::max(*start, *key_start);
    expiry = std::min(*expiry, *key_expiry);
  }
  grants->Add(GrantKey(req, account, demand, !p->is_account_sas()),
              {*start, *expiry, o.scheme, o.may_replace});
  return o;
}

}  // namespace

Outcome Authorize(const RequestView& req, const Account& account, const Demand& demand,
                  const PolicyLookup& policies, TimeNs now) {
  // An Authorization header wins over a SAS in the query.
  if (auto authorization = internal::FindHeader(req, "authorization")) {
    std::string_view value = Trim(*authorization);
    size_t space = value.find(' ');
    std::string_view scheme = value.substr(0, space);
    std::string_view credentials =
        space == std::string_view::npos ? std::string_view() : Trim(value.substr(space + 1));
    if (scheme == "Bearer") {
      return internal::AuthorizeBearer(req, account, demand, credentials, now);
    }
    if (demand.bearer_only && (scheme == "SharedKey" || scheme == "SharedKeyLite")) {
      return internal::Deny(internal::kAuthenticationFailed,
                            "Only authentication scheme Bearer is supported");
    }
    if (scheme == "SharedKey") {
      return internal::AuthorizeSharedKey(req, account, Scheme::kSharedKey, credentials, now);
    }
    if (scheme == "SharedKeyLite") {
      return internal::AuthorizeSharedKey(req, account, Scheme::kSharedKeyLite, credentials, now);
    }
    return internal::Deny(internal::kAuthenticationFailed,
                          "Unsupported authorization scheme '" + std::string(scheme) +
                              "'; use SharedKey, SharedKeyLite, Bearer or a shared access signature.");
  }
  // A SAS is a query with a `sig` parameter; look for the name without
  // decoding the whole query (the grant cache may make that unnecessary).
  bool has_sig = false;
  for (size_t start = 0; start < req.raw_query.size();) {
    size_t amp = req.raw_query.find('&', start);
    if (amp == std::string::npos) amp = req.raw_query.size();
    std::string_view kv = std::string_view(req.raw_query).substr(start, amp - start);
    if (kv.substr(0, kv.find('=')) == "sig") has_sig = true;
    start = amp + 1;
  }
  if (has_sig) {
    if (demand.bearer_only)
      return internal::Deny(internal::kAuthenticationFailed,
                            "Only authentication scheme Bearer is supported");
    return AuthorizeSasCached(req, account, demand, policies, now);
  }
  return internal::Allow(Scheme::kAnonymous);
}

}  // namespace strata::auth
