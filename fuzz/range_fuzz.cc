// Fuzzes Range / x-ms-range parsing (api/range.h): an accepted range is
// non-empty and lies inside the blob. The first 8 bytes are the blob size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "api/range.h"

using namespace strata::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t blob_size;
  std::memcpy(&blob_size, data, 8);
  std::string header(reinterpret_cast<const char*>(data) + 8, size - 8);
  for (uint64_t n : {blob_size, blob_size >> 40, uint64_t{0}, UINT64_MAX}) {
    ByteRange r{12345, 67890};
    RangeParse kind = ParseRange(header, n, &r);
    if (kind == RangeParse::kOk) {
      if (r.length == 0 || r.offset >= n || r.length > n - r.offset) abort();
    }
  }
  return 0;
}
