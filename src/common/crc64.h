// CRC-64 as Azure Storage computes it for x-ms-content-crc64: the CRC-64/NVME
// parameters (reflected polynomial 0x9A6C9329AC4BC9B5, initial value and final
// xor all ones), sent as the 8 little-endian bytes of the value in Base64.
// Pure; a Crc64 object is not thread-safe, the functions are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace strata {

class Crc64 {
 public:
  void Update(const void* data, size_t n);
  uint64_t Value() const { return ~reg_; }

 private:
  uint64_t reg_ = ~0ULL;
};

uint64_t Crc64Of(std::string_view data);
// The 8 bytes Azure puts (Base64-encoded) in x-ms-content-crc64.
std::string Crc64Bytes(uint64_t crc);

}  // namespace strata
