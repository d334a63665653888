// Fuzzes the name rules (ns/names.h) against the confinement they exist
// for: a valid blob name, joined to a container directory as
// ns::Store::BlobPath joins it, stays inside that directory and names a
// file under it; a valid container name is one directory under ROOT that
// is not .strata.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "ns/names.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (ns::ValidateContainerName(s).ok()) {
    if (s.find('/') != s.npos || s.empty() || s[0] == '.' || s.find('\0') != s.npos) abort();
  }
  if (ns::ValidateBlobName(s).ok()) {
    if (s.find('\0') != s.npos) abort();
    const std::filesystem::path dir = "/root/container";
    std::filesystem::path joined = (dir.string() + "/" + std::string(s));
    std::filesystem::path normal = joined.lexically_normal();
    auto rel = normal.lexically_relative(dir);
    // Inside the directory, and not the directory itself.
    if (rel.empty() || rel.native() == "." || *rel.begin() == "..") abort();
    if (normal != joined) abort();  // no segment the file system would fold away
  }
  return 0;
}
