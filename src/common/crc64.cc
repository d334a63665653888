#include "common/crc64.h"

#include <array>
#include <cstring>

namespace strata {

namespace {

constexpr uint64_t kPoly = 0x9A6C9329AC4BC9B5ULL;

// Slicing-by-8 tables: t[0] is the byte-at-a-time table, t[k] advances a
// byte's contribution by k more bytes, so eight bytes fold in one step.
using Tables = std::array<std::array<uint64_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t crc = i;
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (crc >> 1) ^ kPoly : crc >> 1;
    t[0][i] = crc;
  }
  for (int k = 1; k < 8; ++k)
    for (int i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}

constexpr Tables kTables = MakeTables();

}  // namespace

void Crc64::Update(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t crc = reg_;
  const auto& t = kTables;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian hosts (x86-64, arm64)
    crc ^= w;
    crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
          t[4][(crc >> 24) & 0xff] ^ t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^
          t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  reg_ = crc;
}

uint64_t Crc64Of(std::string_view data) {
  Crc64 c;
  c.Update(data.data(), data.size());
  return c.Value();
}

std::string Crc64Bytes(uint64_t crc) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  return out;
}

}  // namespace strata
