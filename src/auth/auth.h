// Authentication and authorization of Blob/DFS requests: SharedKey, account
// SAS and service SAS. Pure logic, no I/O: callers pass everything in, and
// container access levels (anonymous reads) are decided by api/, not here.
//
// Thread-safety: all functions are pure and may be called concurrently.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace strata::auth {

struct Account {
  std::string name;
  std::string key;   // raw key bytes (already base64-decoded): key1
  std::string key2 = {};  // the second key (rotation), raw bytes; "" when none.
                     // A signature made with either key is accepted.
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

enum class Scheme { kAnonymous, kSharedKey, kSharedKeyLite, kAccountSas, kServiceSas };

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
  bool is_account_sas() const { return !ss.empty() || !srt.empty(); }
};
// nullopt when the query has no `sig`.
std::optional<SasParams> ParseSas(std::string_view raw_query);

// String-to-sign for an account SAS, by signed version.
std::string AccountSasStringToSign(const std::string& account, const SasParams& p);
// String-to-sign for a blob service SAS, by signed version; `canonical_resource`
// is "/blob/account/container[/blob]".
std::string ServiceSasStringToSign(const std::string& canonical_resource, const SasParams& p);

}  // namespace strata::auth
