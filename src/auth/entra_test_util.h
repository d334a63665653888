// Test support: an RSA key pair that mints RS256 tokens and publishes its
// JWKS, as an Entra tenant does. Tests only.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/jwt.h"

namespace strata::auth::testing {

class TestIssuer {
 public:
  explicit TestIssuer(std::string kid, int bits = 2048) : kid_(std::move(kid)) {
    key_.reset(EVP_RSA_gen(bits), EVP_PKEY_free);
  }
  // {"keys":[{"kty":"RSA","kid":..,"use":"sig","n":..,"e":..}]}
  std::string Jwks() const {
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E, &e);
    auto bytes = [](BIGNUM* b) {
      std::string s(BN_num_bytes(b), '\0');
      BN_bn2bin(b, reinterpret_cast<unsigned char*>(s.data()));
      return s;
    };
    nlohmann::json k = {{"kty", "RSA"},
                        {"kid", kid_},
                        {"use", "sig"},
                        {"n", Base64UrlEncode(bytes(n))},
                        {"e", Base64UrlEncode(bytes(e))}};
    BN_free(n);
    BN_free(e);
    return nlohmann::json{{"keys", {k}}}.dump();
  }
  std::string Mint(const nlohmann::json& claims, const std::string& alg = "RS256") const {
    std::string input =
        Base64UrlEncode(nlohmann::json{{"alg", alg}, {"typ", "JWT"}, {"kid", kid_}}.dump()) + "." +
        Base64UrlEncode(claims.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get());
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return input + "." + Base64UrlEncode(sig);
  }

 private:
  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace strata::auth::testing
