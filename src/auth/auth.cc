// Authorize's dispatch between SharedKey, SAS and anonymous, plus the small
// helpers the schemes share. The schemes live in shared_key.cc and sas.cc.

#include "auth/auth.h"

#include <openssl/crypto.h>

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

}  // namespace internal

std::string Sign(std::string_view key, std::string_view string_to_sign) {
  return Base64Encode(HmacSha256(key, string_to_sign));
}

Outcome Authorize(const RequestView& req, const Account& account, const Demand& demand,
                  const PolicyLookup& policies, TimeNs now) {
  // An Authorization header wins over a SAS in the query.
  if (auto authorization = internal::FindHeader(req, "authorization")) {
    std::string_view value = Trim(*authorization);
    size_t space = value.find(' ');
    std::string_view scheme = value.substr(0, space);
    std::string_view credentials =
        space == std::string_view::npos ? std::string_view() : Trim(value.substr(space + 1));
    if (scheme == "SharedKey") {
      return internal::AuthorizeSharedKey(req, account, Scheme::kSharedKey, credentials, now);
    }
    if (scheme == "SharedKeyLite") {
      return internal::AuthorizeSharedKey(req, account, Scheme::kSharedKeyLite, credentials, now);
    }
    return internal::Deny(internal::kAuthenticationFailed,
                          "Unsupported authorization scheme '" + std::string(scheme) +
                              "'; use SharedKey, SharedKeyLite or a shared access signature.");
  }
  auto params = internal::ParseQuery(req.raw_query);
  if (internal::FindParam(params, "sig")) {
    return internal::AuthorizeSas(req, account, demand, policies, now);
  }
  return internal::Allow(Scheme::kAnonymous);
}

}  // namespace strata::auth
