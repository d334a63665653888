// Byte ranges of Get Blob (Range and x-ms-range). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace strata::api {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

enum class RangeParse { kNone, kOk, kUnsatisfiable, kMalformed };

// Parses "bytes=a-b", "bytes=a-" or "bytes=-n" against a blob of `size`
// bytes. kNone: no usable range (absent); kMalformed: Azure ignores a
// Range it cannot parse and returns the whole blob, so callers treat it as
// kNone; kUnsatisfiable: starts at or past the end (416 InvalidRange).
RangeParse ParseRange(const std::string& header, uint64_t size, ByteRange* out);

}  // namespace strata::api
