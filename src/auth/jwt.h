// Microsoft Entra ID access tokens (JWT, RFC 7519) as Azure Storage accepts
// them: parsed, and validated offline against signing keys from a JWKS
// document (RFC 7517). Only RS256 is accepted; "none", HS256 and every other
// algorithm are refused before any key is looked at.
//
// Thread-safety: the free functions are pure; a JwkSet is immutable once
// parsed and may be shared between threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace strata::auth {

// The longest token accepted, in bytes (Entra tokens with many group claims
// stay well below; Entra switches to an overage claim past 200 groups).
inline constexpr size_t kMaxTokenBytes = 16 * 1024;
// How far exp and nbf may be off: Azure Storage allows five minutes.
inline constexpr int64_t kTokenClockSkewSeconds = 300;

// base64url without padding (RFC 7515 section 2). nullopt on any character
// outside the alphabet, on '=' padding, and on a length of 1 mod 4.
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

// The claims of a token that authorization uses.
struct Principal {
  std::string oid;    // object id of the user or service principal
  std::string tid;    // tenant id
  std::string appid;  // v1: the client application; v2 tokens say azp
  std::string azp;
  std::string sub;
  std::vector<std::string> groups;
  std::string iss;
  TimeNs expiry = 0;  // exp
  // Every id a role assignment may name: oid, appid, azp and the groups.
  std::vector<std::string> Ids() const;
};

// One parsed (not yet verified) token.
struct ParsedJwt {
  std::string alg, kid;
  std::string signing_input;  // "header.payload" exactly as received
  std::string signature;      // raw bytes
  std::vector<std::string> audiences;
  std::optional<int64_t> exp, nbf;  // seconds since the epoch
  Principal principal;
};

// Why a token was refused. Each has Azure's AuthenticationErrorDetail text
// (TokenErrorDetail); all are answered 401 InvalidAuthenticationInfo.
enum class TokenError {
  kMalformed,       // not three base64url parts of JSON objects, or too long
  kUnsupportedAlg,  // alg other than RS256 (none, HS256, ...)
  kUnknownKey,      // no key with the token's kid
  kBadSignature,
  kExpired,
  kNotYetValid,
  kBadIssuer,
  kBadAudience,
};
const char* TokenErrorDetail(TokenError e);

// Parses a compact JWS. Refuses tokens over kMaxTokenBytes, parts that are
// not strict base64url, headers or payloads that are not JSON objects (or
// nest deeper than 16), and claims of the wrong JSON type.
// Returns the error through *error when nullopt.
std::optional<ParsedJwt> ParseJwt(std::string_view token, TokenError* error);

// RSA public keys by kid, from a JWKS document. Keys that are not RSA, whose
// "use" is not "sig", whose "alg" (when given) is not RS256, or whose
// modulus is under 2048 or over 8192 bits are skipped.
class JwkSet {
 public:
  // nullopt when the text is not a JSON object with a "keys" array.
  static std::optional<JwkSet> Parse(std::string_view json);
  // The key with this kid, or null.
  std::shared_ptr<EVP_PKEY> Find(const std::string& kid) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, std::shared_ptr<EVP_PKEY>> keys_;
};

// Whether `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `input`.
bool VerifyRs256(EVP_PKEY* key, std::string_view input, std::string_view signature);

// What a valid token must say.
struct TokenRules {
  std::vector<std::string> issuers;    // exact match, one of
  std::vector<std::string> audiences;  // one of the token's aud, exact match
  int64_t skew_seconds = kTokenClockSkewSeconds;
};

// The claim checks alone (exp/nbf with the skew, then iss, then aud), for a
// token whose signature was verified already.
std::optional<TokenError> ValidateClaims(const ParsedJwt& token, const TokenRules& rules,
                                         TimeNs now);

// Validates a parsed token against the rules and the key found by its kid:
// the signature first, then exp/nbf (with the skew), then iss, then aud.
// REQUIRES: token.alg == "RS256" (ParseJwt refuses others).
std::optional<TokenError> ValidateJwt(const ParsedJwt& token, EVP_PKEY* key,
                                      const TokenRules& rules, TimeNs now);

}  // namespace strata::auth
