// Fuzzes the dfs permission strings (dfs/permissions.h): x-ms-permissions,
// x-ms-umask and x-ms-acl. What parses formats back to a string that
// parses to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dfs/permissions.h"

using namespace strata::dfs;

namespace {
bool SameAcl(const std::vector<AclEntry>& a, const std::vector<AclEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].is_default != b[i].is_default || a[i].type != b[i].type || a[i].id != b[i].id ||
        a[i].perms != b[i].perms)
      return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto mode = ParsePermissions(s)) {
    if (*mode & ~07777u) abort();
    auto again = ParsePermissions(FormatPermissions(*mode));
    if (!again || *again != *mode) abort();
  }
  if (auto umask = ParseUmask(s)) {
    if (*umask > 0777) abort();
  }
  if (auto acl = ParseAcl(s)) {
    auto again = ParseAcl(FormatAcl(*acl));
    if (!again || !SameAcl(*acl, *again)) abort();
    uint32_t mode = ModeFromAcl(*acl, 0750);
    (void)HasExtendedEntries(*acl);
    auto with = AclWithMode(*acl, mode);
    if (ModeFromAcl(with, 0) != (mode & 0777)) abort();
  }
  return 0;
}
