// Authentication and authorization of Blob/DFS requests: SharedKey, account
// SAS, service SAS, Microsoft Entra ID bearer tokens (with Azure RBAC) and
// user delegation SAS. Pure logic, no I/O, but for the signing keys of
// bearer tokens, which the account's auth::KeySource loads (entra.h):
// callers pass everything else in, and container access levels (anonymous
// reads) are decided by api/, not here.
//
// Thread-safety: all functions are pure and may be called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/entra.h"
#include "common/clock.h"

namespace strata::auth {

struct Account {
  std::string name;
  std::string key;   // raw key bytes (already base64-decoded): key1
  std::string key2 = {};  // the second key (rotation), raw bytes; "" when none.
                     // A signature made with either key is accepted.
  // Microsoft Entra ID (bearer tokens, RBAC, user delegation SAS); null:
  // the account accepts none of them.
  const EntraAccess* entra = nullptr;
};

// What authentication sees of one request.
struct RequestView {
  std::string method;      // "GET", "PUT", ...
  std::string raw_path;    // request-target path exactly as received, percent-encoded
  std::string raw_query;   // request-target query without '?', percent-encoded; may be ""
  // Header lookup by lowercase name; nullopt when absent.
  std::function<std::optional<std::string>(std::string_view)> header;
  // All header (lowercase name, value) pairs, in received order.
  std::vector<std::pair<std::string, std::string>> headers;
  // The account the request was routed to, and whether the account name was
  // the first path segment (path-style URL) rather than in the Host.
  std::string account;
  bool path_style = true;
  // Decoded container and blob name ("" when the request is for the service
  // or the container).
  std::string container;
  std::string blob;
  std::string client_ip;   // textual IPv4/IPv6 of the peer
  bool https = false;
};

// What an operation requires, from the route table.
enum class ResourceType { kService, kContainer, kObject };
struct Demand {
  ResourceType resource_type = ResourceType::kObject;
  // The SAS permission letters (r a c w d x y l t m e o p i) it needs:
  // alternatives separated by '|', each a set of letters all required. "r":
  // read; "c|w": create or write; "po": both permissions and ownership; ""
  // or nullptr: no SAS may do it.
  const char* permission = "r";
  // The operation is allowed with a service SAS (most are; some account-level
  // ones, such as List Containers or service properties, are not).
  bool service_sas_allowed = true;
  // The letters a SAS needs, besides `permission`, for the operation to
  // replace something that exists: "w" where `c` alone may only create (Put
  // Blob, Put Block List and copies onto an existing blob need w). nullptr:
  // replacing needs nothing more. Authorize reports the answer in
  // Outcome::may_replace; the handler, which alone knows whether the target
  // exists, enforces it.
  const char* replace = nullptr;
  // Only a bearer token may do it (Get User Delegation Key): SharedKey and
  // every SAS are refused with 403 AuthenticationFailed.
  bool bearer_only = false;
};

// A stored access policy (container ACL SignedIdentifier).
struct StoredPolicy {
  std::string id;
  std::string start;       // ISO 8601 or ""
  std::string expiry;      // ISO 8601 or ""
  std::string permission;  // letters or ""
};
using PolicyLookup =
    std::function<std::optional<StoredPolicy>(const std::string& container, const std::string& id)>;

enum class Scheme {
  kAnonymous,
  kSharedKey,
  kSharedKeyLite,
  kAccountSas,
  kServiceSas,
  kBearer,             // a Microsoft Entra ID access token, authorized by RBAC
  kUserDelegationSas,  // a service SAS signed with a user delegation key
};

struct Outcome {
  bool ok = false;
  Scheme scheme = Scheme::kAnonymous;
  int status = 403;
  std::string code;     // Azure error code when !ok, e.g. "AuthenticationFailed"
  std::string message;  // human detail for <AuthenticationErrorDetail>/<Message>
  // When ok: whether the credential may replace an existing target
  // (Demand::replace). Always true for SharedKey; for a SAS, whether it
  // holds the replace letters.
  bool may_replace = true;
  // kBearer: the token's principal (for the other end of a copy or rename,
  // and Get User Delegation Key).
  std::shared_ptr<const Principal> principal;
  // When !ok with status 401: the WWW-Authenticate value to send.
  std::string challenge;
};

// Decides whether the request is authentic and allowed.
//   - No Authorization header and no `sig` query parameter: ok, kAnonymous
//     (the caller then applies the container's public access level).
//   Signatures (SharedKey and SAS) may be made with either of the account's
//   keys (key1 or key2), each compared in constant time.
//   - "SharedKey account:sig": the signature must match one of the accepted
//     canonical forms (see SharedKeyStringToSign) and x-ms-date/Date must be
//     within 15 minutes of `now`; otherwise 403 AuthenticationFailed.
//   - A SAS (query has `sig`): account SAS when `ss`/`srt` present, else
//     service SAS; checks signature, sv, st/se window, sip, spr, srt/sr scope
//     and permissions against `demand`, returning AuthenticationFailed,
//     AuthorizationFailure (an operation no service SAS may do),
//     AuthorizationPermissionMismatch, AuthorizationResourceTypeMismatch,
//     AuthorizationSourceIPMismatch, AuthorizationProtocolMismatch or
//     AuthorizationServiceMismatch, each 403.
//   - A user delegation SAS (query has `skoid`): as a service SAS, signed
//     with the key DeriveDelegationKey gives for its sk* fields, and only
//     what the key's principal (skoid) holds through RBAC at use time.
//   - "Bearer TOKEN" (account.entra set): over HTTPS only (403
//     AuthenticationFailed otherwise, unless allow_http); an invalid token is
//     401 InvalidAuthenticationInfo with Outcome::challenge; a valid one is
//     authorized by the principal's role (403 AuthorizationPermissionMismatch).
//   - demand.bearer_only: anything but a bearer token (and anonymous) is
//     403 AuthenticationFailed "Only authentication scheme Bearer is supported".
Outcome Authorize(const RequestView& req, const Account& account, const Demand& demand,
                  const PolicyLookup& policies, TimeNs now);

// The SharedKey string-to-sign for `req` with the given canonicalized
// resource path prefix (e.g. "/account/container/blob"), per Microsoft's
// "Authorize with Shared Key" rules for version 2009-09-19 and later.
std::string SharedKeyStringToSign(const RequestView& req, std::string_view canonical_path);

// Signs `string_to_sign` with `key` (raw bytes): base64(HMAC-SHA256).
std::string Sign(std::string_view key, std::string_view string_to_sign);

// Whether the SAS permission letters `sp` satisfy `wanted` (Demand::permission
// syntax: alternatives separated by '|', each a set of letters all required).
// False for an empty or null `wanted`.
bool SasPermits(std::string_view sp, const char* wanted);

// Parsed SAS query parameters (decoded values).
struct SasParams {
  std::string sv, ss, srt, sp, st, se, sip, spr, sr, si, sig, ses, sdd, snapshot_time,
      rscc, rscd, rsce, rscl, rsct;
  // User delegation SAS: the key's fields, and the optional principals,
  // correlation id, delegated user and signed request headers/parameters.
  std::string skoid, sktid, skt, ske, sks, skv, saoid, suoid, scid, skdutid, sduoid, srh, srq;
  bool is_user_delegation_sas() const { return !skoid.empty(); }
  bool is_account_sas() const { return !ss.empty() || !srt.empty(); }
};
// nullopt when the query has no `sig`.
std::optional<SasParams> ParseSas(std::string_view raw_query);

// String-to-sign for an account SAS, by signed version.
std::string AccountSasStringToSign(const std::string& account, const SasParams& p);
// String-to-sign for a blob service SAS, by signed version; `canonical_resource`
// is "/blob/account/container[/blob]".
std::string ServiceSasStringToSign(const std::string& canonical_resource, const SasParams& p);
// String-to-sign for a blob user delegation SAS, by signed version
// (2018-11-09, 2020-02-10 with saoid/suoid/scid, 2020-12-06 with ses,
// 2025-07-05 with skdutid/sduoid, 2026-04-06 with srh/srq).
std::string UserDelegationSasStringToSign(const std::string& canonical_resource,
                                          const SasParams& p);

// What `principal` may do to `container` ("" for the service) by its roles
// in `entra`: ok, or 403 AuthorizationPermissionMismatch. A demand no SAS
// may meet (empty permission) needs Owner.
Outcome AuthorizeBearerPrincipal(const EntraAccess& entra, const Principal& principal,
                                 const std::string& container, const Demand& demand);

}  // namespace strata::auth
