#include "common/crc64.h"

#include <gtest/gtest.h>

#include <random>

#include "common/strings.h"

namespace strata {
namespace {

// Bit at a time, straight from the definition: the oracle for the tables.
uint64_t Reference(std::string_view data) {
  uint64_t crc = ~0ULL;
  for (unsigned char ch : data) {
    crc ^= ch;
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (crc >> 1) ^ 0x9A6C9329AC4BC9B5ULL : crc >> 1;
  }
  return ~crc;
}

TEST(Crc64, CatalogueCheckValue) {
  EXPECT_EQ(Crc64Of("123456789"), 0xAE8B14860A799888ULL);  // CRC-64/NVME "check"
  EXPECT_EQ(Crc64Of(""), 0u);
}

// Values real Azure returned in x-ms-content-crc64 (Put Blob of "Hello
// World", Put Block From URL of "HelloWorld", service version 2021-08-06).
TEST(Crc64, MatchesAzure) {
  EXPECT_EQ(Base64Encode(Crc64Bytes(Crc64Of("Hello World"))), "YeJLfssylmU=");
  EXPECT_EQ(Base64Encode(Crc64Bytes(Crc64Of("HelloWorld"))), "8R2aIe9T07E=");
}

TEST(Crc64, TablesAgreeWithTheDefinitionAtAnySplit) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    std::string data(rng() % 3000, '\0');
    for (char& ch : data) ch = static_cast<char>(rng());
    uint64_t want = Reference(data);
    EXPECT_EQ(Crc64Of(data), want);
    Crc64 c;  // fed in uneven pieces, as a body arrives
    size_t at = 0;
    while (at < data.size()) {
      size_t n = std::min<size_t>(data.size() - at, rng() % 37);
      c.Update(data.data() + at, n);
      at += n;
    }
    EXPECT_EQ(c.Value(), want) << data.size();
  }
}

// Every length around the 16-byte folding (x86-64 with PCLMULQDQ) and the
// 8-byte table steps, and a large buffer.
TEST(Crc64, EveryLengthAroundTheFoldingBoundaries) {
  std::mt19937 rng(5);
  std::string data(1 << 20, '\0');
  for (char& ch : data) ch = static_cast<char>(rng());
  for (size_t n = 0; n <= 300; ++n) EXPECT_EQ(Crc64Of(std::string_view(data).substr(0, n)),
                                              Reference(std::string_view(data).substr(0, n)))
                                        << n;
  EXPECT_EQ(Crc64Of(data), Reference(data));
  Crc64 c;  // unaligned pieces that each take the folding path
  for (size_t at = 0; at < data.size(); at += 100003)
    c.Update(data.data() + at, std::min<size_t>(100003, data.size() - at));
  EXPECT_EQ(c.Value(), Reference(data));
}

}  // namespace
}  // namespace strata
