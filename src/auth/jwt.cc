#include "auth/jwt.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace strata::auth {

namespace {

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Whether JSON text nests objects/arrays at most `limit` deep (strings are
// skipped, escapes included), so a hostile token cannot make the parser or
// the destructor recurse deeply.
bool NestingAtMost(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::optional<nlohmann::json> ParseObject(std::string_view part) {
  auto text = Base64UrlDecode(part);
  if (!text || !NestingAtMost(*text, 16)) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A string claim into *out; false when present with another type.
bool StringClaim(const nlohmann::json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

// A NumericDate claim (integer or fractional seconds); false when present
// with another type or out of range.
bool TimeClaim(const nlohmann::json& j, const char* name, std::optional<int64_t>* out) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_number()) return false;
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0 || v > 253402300799.0) return false;  // year 9999
  *out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Unused trailing bits must be zero (one encoding per byte string).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::vector<std::string> Principal::Ids() const {
  std::vector<std::string> ids;
  for (const std::string* s : {&oid, &appid, &azp})
    if (!s->empty()) ids.push_back(*s);
  for (const std::string& g : groups)
    if (!g.empty()) ids.push_back(g);
  return ids;
}

const char* TokenErrorDetail(TokenError e) {
  switch (e) {
    case TokenError::kMalformed:
      return "The access token is malformed.";
    case TokenError::kUnsupportedAlg:
      return "Signature validation failed. The token's signing algorithm is not supported.";
    case TokenError::kUnknownKey:
      return "Signature validation failed. Unable to match key identifier.";
    case TokenError::kBadSignature:
      return "Signature validation failed. Signature is invalid.";
    case TokenError::kExpired:
      return "Lifetime validation failed. The token is expired.";
    case TokenError::kNotYetValid:
      return "Lifetime validation failed. The token is not yet valid.";
    case TokenError::kBadIssuer:
      return "Issuer validation failed. Issuer did not match.";
    case TokenError::kBadAudience:
      return "Audience validation failed. Audience did not match.";
  }
  return "The access token is invalid.";
}

std::optional<ParsedJwt> ParseJwt(std::string_view token, TokenError* error) {
  *error = TokenError::kMalformed;
  if (token.empty() || token.size() > kMaxTokenBytes) return std::nullopt;
  size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return std::nullopt;
  auto header = ParseObject(token.substr(0, dot1));
  if (!header) return std::nullopt;
  ParsedJwt out;
  if (!StringClaim(*header, "alg", &out.alg) || !StringClaim(*header, "kid", &out.kid))
    return std::nullopt;
  if (out.alg != "RS256") {
    *error = TokenError::kUnsupportedAlg;
    return std::nullopt;
  }
  // "crit" names extensions the recipient must understand: none are.
  if (header->contains("crit")) return std::nullopt;
  auto claims = ParseObject(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return std::nullopt;
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature || signature->empty()) return std::nullopt;
  out.signature = std::move(*signature);
  out.signing_input = std::string(token.substr(0, dot2));
  Principal& p = out.principal;
  if (!StringClaim(*claims, "oid", &p.oid) || !StringClaim(*claims, "tid", &p.tid) ||
      !StringClaim(*claims, "appid", &p.appid) || !StringClaim(*claims, "azp", &p.azp) ||
      !StringClaim(*claims, "sub", &p.sub) || !StringClaim(*claims, "iss", &p.iss))
    return std::nullopt;
  if (!TimeClaim(*claims, "exp", &out.exp) || !TimeClaim(*claims, "nbf", &out.nbf))
    return std::nullopt;
  if (auto aud = claims->find("aud"); aud != claims->end()) {
    if (aud->is_string()) {
      out.audiences.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (const auto& a : *aud) {
        if (!a.is_string()) return std::nullopt;
        out.audiences.push_back(a.get<std::string>());
      }
    } else {
      return std::nullopt;
    }
  }
  if (auto groups = claims->find("groups"); groups != claims->end()) {
    if (!groups->is_array()) return std::nullopt;
    for (const auto& g : *groups) {
      if (!g.is_string()) return std::nullopt;
      p.groups.push_back(g.get<std::string>());
    }
  }
  // exp may name any second up to year 9999; TimeNs ends in 2262.
  constexpr int64_t kLastSecond = std::numeric_limits<TimeNs>::max() / 1000000000LL;
  p.expiry = out.exp ? std::min(*out.exp, kLastSecond) * 1000000000LL : 0;
  return out;
}

std::optional<JwkSet> JwkSet::Parse(std::string_view json) {
  if (!NestingAtMost(json, 16)) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto keys = j.find("keys");
  if (keys == j.end() || !keys->is_array()) return std::nullopt;
  JwkSet set;
  for (const auto& k : *keys) {
    if (!k.is_object()) continue;
    auto str = [&k](const char* name) {
      auto it = k.find(name);
      return it != k.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (str("kty") != "RSA" || str("kid").empty()) continue;
    if (k.contains("use") && str("use") != "sig") continue;
    if (k.contains("alg") && str("alg") != "RS256") continue;
    auto n = Base64UrlDecode(str("n"));
    auto e = Base64UrlDecode(str("e"));
    if (!n || !e || e->empty() || e->size() > 8) continue;
    size_t lead = n->find_first_not_of('\0');
    if (lead == std::string::npos) continue;
    size_t bits = (n->size() - lead) * 8;
    if (bits < 2048 || bits > 8192) continue;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                             static_cast<int>(n->size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                             static_cast<int>(e->size()), nullptr);
    OSSL_PARAM* params = nullptr;
    EVP_PKEY* pkey = nullptr;
    EVP_PKEY_CTX* ctx = nullptr;
    if (bld && bn_n && bn_e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
        (ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)) != nullptr &&
        EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0) {
      set.keys_[str("kid")] = std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    BN_free(bn_n);
    BN_free(bn_e);
    OSSL_PARAM_BLD_free(bld);
  }
  return set;
}

std::shared_ptr<EVP_PKEY> JwkSet::Find(const std::string& kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second;
}

bool VerifyRs256(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) > 0 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::optional<TokenError> ValidateJwt(const ParsedJwt& token, EVP_PKEY* key,
                                      const TokenRules& rules, TimeNs now) {
  if (token.alg != "RS256") return TokenError::kUnsupportedAlg;
  if (!key) return TokenError::kUnknownKey;
  if (!VerifyRs256(key, token.signing_input, token.signature)) return TokenError::kBadSignature;
  return ValidateClaims(token, rules, now);
}

std::optional<TokenError> ValidateClaims(const ParsedJwt& token, const TokenRules& rules,
                                         TimeNs now) {
  int64_t now_s = now / 1000000000LL;
  // A token without exp never expires: not one Entra issues.
  if (!token.exp || *token.exp + rules.skew_seconds <= now_s) return TokenError::kExpired;
  if (token.nbf && *token.nbf - rules.skew_seconds > now_s) return TokenError::kNotYetValid;
  bool issuer = false;
  for (const std::string& i : rules.issuers) issuer = issuer || i == token.principal.iss;
  if (!issuer) return TokenError::kBadIssuer;
  for (const std::string& a : token.audiences)
    for (const std::string& want : rules.audiences)
      if (a == want) return std::nullopt;
  return TokenError::kBadAudience;
}

}  // namespace strata::auth
