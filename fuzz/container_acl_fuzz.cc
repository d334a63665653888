// Fuzzes Set Container ACL's body parser (api/xml_bodies.h): any bytes
// give at most 5 identifiers of 1..64 characters with ISO 8601 times, or
// InvalidXmlDocument, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "api/xml_bodies.h"
#include "common/clock.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<ns::SignedIdentifier> ids;
  auto err =
      api::ParseSignedIdentifiers(std::string_view(reinterpret_cast<const char*>(data), size), &ids);
  if (err) {
    if (err->error != api::AzError::kInvalidXmlDocument) abort();
    return 0;
  }
  if (ids.size() > 5) abort();
  for (const auto& s : ids) {
    if (s.id.empty() || s.id.size() > 64) abort();
    if (!s.start.empty() && !ParseIso8601(s.start)) abort();
    if (!s.expiry.empty() && !ParseIso8601(s.expiry)) abort();
  }
  return 0;
}
