// Fuzzes the JWT parser and validator (auth/jwt.h). The input is used three
// ways: as a whole compact token; as "HEADER\nPAYLOAD" JSON texts assembled
// into a token signed for real with a fixed RSA key (so the fuzzer gets past
// the signature to the claim checks); and as a JWKS document. Checks: a
// parsed token is RS256; a token this target signed verifies with its key;
// base64url round-trips.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/jwt.h"

using namespace strata;

namespace {

EVP_PKEY* FuzzKey() {
  static EVP_PKEY* key = EVP_RSA_gen(2048);
  return key;
}

std::string SignRs256(const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, FuzzKey());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const TimeNs now = 1796000000LL * 1000000000LL;
  auth::TokenRules rules{{"https://sts.windows.net/t/"}, {"https://storage.azure.com"}, 300};

  auth::TokenError error;
  if (auto t = auth::ParseJwt(in, &error)) {
    if (t->alg != "RS256") abort();
    (void)auth::ValidateJwt(*t, FuzzKey(), rules, now);
  }

  if (auto back = auth::Base64UrlDecode(auth::Base64UrlEncode(in)); !back || *back != in) abort();

  size_t nl = in.find('\n');
  if (nl != std::string_view::npos) {
    std::string input =
        auth::Base64UrlEncode(in.substr(0, nl)) + "." + auth::Base64UrlEncode(in.substr(nl + 1));
    std::string token = input + "." + auth::Base64UrlEncode(SignRs256(input));
    if (auto t = auth::ParseJwt(token, &error)) {
      if (t->alg != "RS256" || t->signing_input != input) abort();
      auto e = auth::ValidateJwt(*t, FuzzKey(), rules, now);
      if (e == auth::TokenError::kBadSignature || e == auth::TokenError::kUnknownKey) abort();
      (void)t->principal.Ids();
    }
  }

  if (auto set = auth::JwkSet::Parse(in)) (void)set->Find("k");
  return 0;
}
