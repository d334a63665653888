// Fuzzes the capacity tier's List Blobs page parser (tier/remote_list.h):
// any bytes give a listing of non-empty names or a kIo error, never a
// crash, and nothing larger than the input allows.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tier/remote_list.h"

using namespace strata;
using namespace strata::tier;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto r = ParseListBlobs(xml);
  if (!r.ok()) {
    if (r.status().kind() != ErrorKind::kIo) abort();
    return 0;
  }
  // Every entry needs at least "<Name>x</Name>" of input.
  if ((r->blobs.size() + r->prefixes.size()) * 14 > size) abort();
  for (const auto& [name, props] : r->blobs) {
    if (name.empty() || name.size() > size) abort();
    if (!props.content_md5.empty() && props.content_md5.size() != 16) abort();
  }
  for (const auto& p : r->prefixes)
    if (p.empty() || p.size() > size) abort();
  if (r->next_marker.size() > size) abort();
  return 0;
}
