// The Bearer branch of Authorize: a Microsoft Entra ID access token,
// validated offline (auth/jwt.h) and authorized by the account's Azure RBAC
// role assignments (auth/entra.h).

#include <mutex>
#include <unordered_map>

#include "auth/auth.h"
#include "auth/auth_internal.h"
#include "common/strings.h"

namespace strata::auth {

namespace {

Outcome Unauthenticated(const EntraAccess& entra, TokenError e) {
  Outcome out;
  out.ok = false;
  out.status = 401;
  out.code = "InvalidAuthenticationInfo";
  out.message = TokenErrorDetail(e);
  out.challenge = entra.Challenge();
  return out;
}

// Tokens already verified. An SDK sends one token on every request for an
// hour; the RSA verification is most of what checking it costs and depends
// only on the token and the key, so a verified token is kept with the key it
// was verified with. A hit still has its key looked up (a key removed from
// the JWKS drops the token too) and its times, issuer and audience checked.
// Bounded: cleared when full.
class VerifiedTokens {
 public:
  struct Entry {
    std::shared_ptr<const ParsedJwt> token;
    std::shared_ptr<EVP_PKEY> key;
  };
  std::optional<Entry> Find(const std::string& token) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(token);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void Add(const std::string& token, Entry e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= 1024) map_.clear();
    map_.emplace(token, std::move(e));
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace

Outcome AuthorizeBearerPrincipal(const EntraAccess& entra, const Principal& principal,
                                 const std::string& container, const Demand& demand) {
  Role role = entra.RoleFor(principal.Ids(),
                            demand.resource_type == ResourceType::kService ? "" : container);
  const char* letters = RoleLetters(role);
  bool allowed = demand.permission && *demand.permission ? SasPermits(letters, demand.permission)
                                                         : role == Role::kOwner;
  if (!allowed) {
    return internal::Deny(
        "AuthorizationPermissionMismatch",
        "This request is not authorized to perform this operation using this permission.");
  }
  Outcome ok = internal::Allow(Scheme::kBearer);
  ok.may_replace = !demand.replace || SasPermits(letters, demand.replace);
  return ok;
}

namespace internal {

Outcome AuthorizeBearer(const RequestView& req, const Account& account, const Demand& demand,
                        std::string_view token, TimeNs now) {
  if (!account.entra) {
    return Deny(kAuthenticationFailed,
                "Authentication scheme Bearer is not supported: no Microsoft Entra ID is "
                "configured for this account.");
  }
  const EntraAccess& entra = *account.entra;
  if (!req.https && !entra.allow_http)
    return Deny(kAuthenticationFailed, "Authentication scheme Bearer is not allowed with HTTP.");
  static VerifiedTokens* verified = new VerifiedTokens();
  std::string key_text(token);
  std::shared_ptr<const ParsedJwt> parsed;
  std::shared_ptr<EVP_PKEY> key;
  if (auto hit = verified->Find(key_text)) {
    key = entra.keys ? entra.keys->Find(hit->token->kid, now) : nullptr;
    if (key == hit->key) parsed = hit->token;
  }
  if (!parsed) {
    TokenError error;
    auto t = ParseJwt(token, &error);
    if (!t) return Unauthenticated(entra, error);
    key = entra.keys ? entra.keys->Find(t->kid, now) : nullptr;
    if (!key) return Unauthenticated(entra, TokenError::kUnknownKey);
    if (!VerifyRs256(key.get(), t->signing_input, t->signature))
      return Unauthenticated(entra, TokenError::kBadSignature);
    parsed = std::make_shared<const ParsedJwt>(std::move(*t));
    verified->Add(key_text, {parsed, key});
  }
  if (auto bad = ValidateClaims(*parsed, entra.rules, now))
    return Unauthenticated(entra, *bad);
  auto principal = std::make_shared<const Principal>(parsed->principal);
  Outcome o = AuthorizeBearerPrincipal(entra, *principal, req.container, demand);
  o.principal = std::move(principal);
  return o;
}

}  // namespace internal

}  // namespace strata::auth
