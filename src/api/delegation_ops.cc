// Get User Delegation Key (POST ?restype=service&comp=userdelegationkey):
// only with a bearer token (the route demands it: routes.cc), for the
// token's principal. The key is derived, not stored (auth/entra.h), so any
// gateway with the same configuration verifies the SAS signed with it.
#include <pugixml.hpp>

#include "api/api.h"
#include "api/context.h"
#include "common/strings.h"

namespace strata::api {

http::Response GetUserDelegationKey(Ctx& ctx) {
  if (!ctx.principal || !ctx.account->entra)  // the route admits only bearer tokens
    return ErrorResponse(AzError::kAuthenticationFailed,
                         "Only authentication scheme Bearer is supported");
  pugi::xml_document in;
  if (ctx.req->body.empty() || !in.load_buffer(ctx.req->body.data(), ctx.req->body.size()))
    return ErrorResponse(AzError::kInvalidXmlDocument);
  pugi::xml_node info = in.child("KeyInfo");
  if (!info)
    return ErrorResponse(AzError::kInvalidXmlDocument, "The root element must be KeyInfo.");
  pugi::xml_node start_node = info.child("Start");
  pugi::xml_node expiry_node = info.child("Expiry");
  if (!expiry_node)
    return ErrorResponse(AzError::kInvalidXmlDocument, "The KeyInfo element must contain Expiry.");
  if (info.child("DelegatedUserTid"))
    return ErrorResponse(AzError::kInvalidXmlNodeValue,
                         "DelegatedUserTid: delegating to another tenant's user is not supported.");
  TimeNs start = ctx.now;
  if (start_node) {
    auto s = ParseIso8601(start_node.child_value());
    if (!s) return ErrorResponse(AzError::kInvalidXmlNodeValue, "Start: not an ISO 8601 time.");
    start = *s;
  }
  auto expiry = ParseIso8601(expiry_node.child_value());
  if (!expiry) return ErrorResponse(AzError::kInvalidXmlNodeValue, "Expiry: not an ISO 8601 time.");
  // Azure: the key is valid at most seven days from now, and not already over.
  if (*expiry <= ctx.now || *expiry <= start)
    return ErrorResponse(AzError::kInvalidXmlNodeValue,
                         "Expiry: must be in the future and after Start.");
  if (*expiry - ctx.now > auth::kMaxDelegationKeyLifetime)
    return ErrorResponse(AzError::kInvalidXmlNodeValue,
                         "Expiry: the key may be valid at most 7 days from the current time.");
  if (start - ctx.now > auth::kMaxDelegationKeyLifetime)
    return ErrorResponse(AzError::kInvalidXmlNodeValue,
                         "Start: must be within 7 days of the current time.");
  const auth::Principal& p = *ctx.principal;
  auth::DelegationKeyFields f;
  f.oid = p.oid;
  f.tid = p.tid.empty() ? ctx.account->entra->tenant : p.tid;
  f.start = auth::FormatKeyTime(start);
  f.expiry = auth::FormatKeyTime(*expiry);
  f.service = "b";
  std::optional<std::string> version = ctx.H("x-ms-version");
  f.version = version ? *version : kDefaultVersion;
  if (f.oid.empty())
    return ErrorResponse(AzError::kAuthorizationPermissionMismatch,
                         "The token carries no oid claim to delegate.");
  auto key = auth::DeriveDelegationKey(ctx.account->key, f);
  if (!key) return ErrorResponse(AzError::kInternalError);
  http::Response r;
  r.status = 200;
  r.Set("Content-Type", "application/xml");
  std::string& b = r.body;
  b = "<?xml version=\"1.0\" encoding=\"utf-8\"?><UserDelegationKey><SignedOid>";
  AppendXmlEscaped(b, f.oid);
  b += "</SignedOid><SignedTid>";
  AppendXmlEscaped(b, f.tid);
  b += "</SignedTid><SignedStart>" + f.start + "</SignedStart><SignedExpiry>" + f.expiry +
       "</SignedExpiry><SignedService>b</SignedService><SignedVersion>";
  AppendXmlEscaped(b, f.version);
  b += "</SignedVersion><Value>" + Base64Encode(*key) + "</Value></UserDelegationKey>";
  return r;
}

}  // namespace strata::api
