// Fuzzes Put Block List's body parser (api/xml_bodies.h): any bytes give a
// list of 1..64-byte ids or one of the two Azure errors, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "api/xml_bodies.h"

using namespace strata::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<BlockListEntry> list;
  auto err = ParseBlockList(std::string_view(reinterpret_cast<const char*>(data), size), &list);
  if (err) {
    if (err->error != AzError::kInvalidXmlDocument && err->error != AzError::kInvalidBlockList)
      abort();
    return 0;
  }
  for (const BlockListEntry& e : list)
    if (e.id.empty() || e.id.size() > 64) abort();
  return 0;
}
