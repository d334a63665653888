#include "common/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace strata {

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

struct Md5Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Md5Hasher::Md5Hasher() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, EVP_md5(), nullptr);
}

Md5Hasher::~Md5Hasher() { EVP_MD_CTX_free(impl_->ctx); }

void Md5Hasher::Update(const void* data, size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }

std::string Md5Hasher::Final() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Md5(std::string_view data) {
  Md5Hasher h;
  h.Update(data.data(), data.size());
  return h.Final();
}

}  // namespace strata
