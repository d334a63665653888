// Fuzzes the metadata records (ns/record.h) as read back from an xattr or a
// sidecar, which anyone with write access to the file system can change:
// any bytes unpack to a record or an error, and a record packs and unpacks
// to itself again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ns/record.h"

using namespace strata::ns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto b = BlobRecord::Unpack(s); b.ok()) {
    std::string packed = b->Pack();
    auto again = BlobRecord::Unpack(packed);
    if (!again.ok() || again->Pack() != packed) abort();
  }
  if (auto c = ContainerRecord::Unpack(s); c.ok()) {
    std::string packed = c->Pack();
    auto again = ContainerRecord::Unpack(packed);
    if (!again.ok() || again->Pack() != packed) abort();
  }
  return 0;
}
