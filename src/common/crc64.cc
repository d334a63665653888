#include "common/crc64.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace strata {

namespace {

constexpr uint64_t kPoly = 0x9A6C9329AC4BC9B5ULL;  // reflected
constexpr uint64_t kPolyNormal = 0xAD93D23594C93659ULL;

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

uint64_t TableUpdate(uint64_t crc, const unsigned char* p, size_t n) {
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
  return crc;
}

#if defined(__x86_64__)
// x^n mod P, P in normal form (bit i is the coefficient of x^i).
constexpr uint64_t XPowMod(int n) {
  uint64_t r = 1;
  for (int i = 0; i < n; ++i) r = (r & (1ULL << 63)) ? (r << 1) ^ kPolyNormal : r << 1;
  return r;
}

constexpr uint64_t Reflect(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i)
    if (v & (1ULL << i)) r |= 1ULL << (63 - i);
  return r;
}

// Folding 16 bytes at a time with carry-less multiplication. The 128-bit
// state S = A x^64 + B (A in the low word: reflected, the low word holds the
// higher powers) followed by 16 more bytes D becomes S x^128 + D, and
//   S x^128 = A x^192 + B x^128 == A (x^192 mod P) + B (x^128 mod P),
// each product below 128 bits. A reflected carry-less product carries one
// extra factor x, hence the constants x^191 and x^127.
constexpr uint64_t kFoldA = Reflect(XPowMod(191));
constexpr uint64_t kFoldB = Reflect(XPowMod(127));

// Four lanes 64 bytes apart hide the multiplier's latency: each lane folds
// over 512 bits (constants x^575 and x^511), and the lanes are then folded
// into one over 128 bits each.
constexpr uint64_t kFold4A = Reflect(XPowMod(575));
constexpr uint64_t kFold4B = Reflect(XPowMod(511));

__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i s, __m128i k, __m128i next) {
  __m128i a = _mm_clmulepi64_si128(s, k, 0x00);  // A * k.lo
  __m128i b = _mm_clmulepi64_si128(s, k, 0x11);  // B * k.hi
  return _mm_xor_si128(_mm_xor_si128(a, b), next);
}

// Folds all whole 16-byte blocks of p[0, n) (n >= 64) into the register;
// returns the register and sets *used to the bytes taken.
__attribute__((target("pclmul,sse4.1"))) uint64_t FoldPclmul(uint64_t crc, const unsigned char* p,
                                                             size_t n, size_t* used) {
  auto load = [p](size_t at) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at)); };
  const __m128i k1 =
      _mm_set_epi64x(static_cast<long long>(kFoldB), static_cast<long long>(kFoldA));
  const __m128i k4 =
      _mm_set_epi64x(static_cast<long long>(kFold4B), static_cast<long long>(kFold4A));
  __m128i s = _mm_xor_si128(load(0), _mm_cvtsi64_si128(static_cast<long long>(crc)));
  size_t i = 16;
  if (n >= 128) {
    __m128i l0 = s, l1 = load(16), l2 = load(32), l3 = load(48);
    for (i = 64; n - i >= 64; i += 64) {
      l0 = Fold(l0, k4, load(i));
      l1 = Fold(l1, k4, load(i + 16));
      l2 = Fold(l2, k4, load(i + 32));
      l3 = Fold(l3, k4, load(i + 48));
    }
    s = Fold(Fold(Fold(l0, k1, l1), k1, l2), k1, l3);
  }
  for (; n - i >= 16; i += 16) s = Fold(s, k1, load(i));
  alignas(16) unsigned char rest[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(rest), s);
  *used = i;
  // The state's 16 bytes, run through the tables from a zero register, leave
  // the register the whole prefix would have.
  return TableUpdate(0, rest, 16);
}

const bool kHasPclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif

}  // namespace

void Crc64::Update(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (n >= 64 && kHasPclmul) {
    size_t used = 0;
    reg_ = FoldPclmul(reg_, p, n, &used);
    p += used;
    n -= used;
  }
#endif
  reg_ = TableUpdate(reg_, p, n);
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
