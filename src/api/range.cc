#include "api/range.h"

#include "common/strings.h"

namespace strata::api {

RangeParse ParseRange(const std::string& header, uint64_t size, ByteRange* out) {
  std::string_view h = Trim(header);
  if (!StartsWith(h, "bytes=")) return RangeParse::kMalformed;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return RangeParse::kMalformed;
  size_t dash = h.find('-');
  if (dash == std::string_view::npos) return RangeParse::kMalformed;
  std::string_view a = Trim(h.substr(0, dash)), b = Trim(h.substr(dash + 1));
  if (a.empty()) {
    auto n = ParseUint(b);
    if (!n) return RangeParse::kMalformed;
    if (*n == 0 || size == 0) return RangeParse::kUnsatisfiable;
    uint64_t len = *n > size ? size : *n;
    *out = {size - len, len};
    return RangeParse::kOk;
  }
  auto start = ParseUint(a);
  if (!start) return RangeParse::kMalformed;
  if (b.empty()) {
    if (*start >= size) return RangeParse::kUnsatisfiable;
    *out = {*start, size - *start};
    return RangeParse::kOk;
  }
  auto end = ParseUint(b);
  if (!end || *end < *start) return RangeParse::kMalformed;
  if (*start >= size) return RangeParse::kUnsatisfiable;
  uint64_t last = *end >= size ? size - 1 : *end;
  *out = {*start, last - *start + 1};
  return RangeParse::kOk;
}

}  // namespace strata::api
