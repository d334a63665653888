// Hashes and MACs over OpenSSL. Md5Hasher is incremental so bodies can be
// hashed while they stream. Not thread-safe per instance.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace strata {

// Raw (binary) HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
// Raw MD5 of `data`.
std::string Md5(std::string_view data);

class Md5Hasher {
 public:
  Md5Hasher();
  ~Md5Hasher();
  Md5Hasher(const Md5Hasher&) = delete;
  Md5Hasher& operator=(const Md5Hasher&) = delete;
  void Update(const void* data, size_t n);
  // Raw 16-byte digest. The hasher must not be used afterwards.
  std::string Final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata
