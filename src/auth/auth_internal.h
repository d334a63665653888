// Internals shared by auth.cc, shared_key.cc and sas.cc. Not part of the
// auth/ interface: only files under src/auth/ (and their tests) include this.
//
// Thread-safety: all functions are pure and may be called concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/auth.h"

namespace strata::auth::internal {

inline constexpr char kAuthenticationFailed[] = "AuthenticationFailed";

// A 403 refusal with the given Azure error code and human detail.
Outcome Deny(std::string code, std::string message);
// Success under `scheme`.
Outcome Allow(Scheme scheme);

// One query parameter with its name and value percent-decoded. '+' is kept
// literally unless `plus_as_space`; an undecodable escape leaves the text
// as received (a signature over it then simply fails to match).
struct QueryParam {
  std::string name;
  std::string value;
};
std::vector<QueryParam> ParseQuery(std::string_view raw_query, bool plus_as_space = false);
// The value of the first parameter named exactly `name`, or nullopt.
std::optional<std::string> FindParam(const std::vector<QueryParam>& params, std::string_view name);

// The request header named `lower_name`, via req.header when set, else by
// scanning req.headers. nullopt when absent.
std::optional<std::string> FindHeader(const RequestView& req, std::string_view lower_name);

// Constant-time comparison of two signatures (the lengths are not secret).
bool SignatureEquals(std::string_view a, std::string_view b);

// Whether `signature` is Sign(key, string_to_sign) for key1 or key2 of
// `account`. Both HMACs are always computed and compared in constant time,
// so the time taken says nothing of which key (if any) matched.
bool SignedByAccount(const Account& account, std::string_view string_to_sign,
                     std::string_view signature);

// The SharedKey / SharedKeyLite branch of Authorize. `credentials` is the
// Authorization value after the scheme word, "account:signature".
Outcome AuthorizeSharedKey(const RequestView& req, const Account& account, Scheme scheme,
                           std::string_view credentials, TimeNs now);

// The Bearer branch of Authorize: `token` is the Authorization value after
// "Bearer ".
Outcome AuthorizeBearer(const RequestView& req, const Account& account, const Demand& demand,
                        std::string_view token, TimeNs now);

// The SAS branch of Authorize. REQUIRES: the query has a `sig` parameter.
Outcome AuthorizeSas(const RequestView& req, const Account& account, const Demand& demand,
                     const PolicyLookup& policies, TimeNs now);

}  // namespace strata::auth::internal
