// POSIX permissions and ACLs as the dfs API writes them, mapped to a file's
// mode. Pure functions, thread-safe.
//
//   permissions  "rwxr-x---" (9 symbols; 't'/'T' in the last place for the
//                sticky bit) or octal "0750" / "750"
//   umask        octal "0027"
//   ACL          "[default:]user|group|mask|other:[id]:rwx,..."
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::dfs {

// Mode bits (07777 subset: rwx for u/g/o and sticky), or nullopt when
// malformed.
std::optional<uint32_t> ParsePermissions(std::string_view s);
// "rwxr-x---" (sticky as 't' or 'T' in the last place).
std::string FormatPermissions(uint32_t mode);
// A 4-digit octal umask ("0027"); nullopt when malformed.
std::optional<uint32_t> ParseUmask(std::string_view s);

struct AclEntry {
  bool is_default = false;
  std::string type;  // user | group | mask | other
  std::string id;    // "" for the owning user/group, mask and other
  uint32_t perms = 0;  // rwx as 3 bits
};

// Parses a comma-separated ACL; nullopt when an entry is malformed.
std::optional<std::vector<AclEntry>> ParseAcl(std::string_view s);
std::string FormatAcl(const std::vector<AclEntry>& acl);
// The mode an ACL's access entries give: user:: for the owner bits, mask::
// (or group:: without a mask) for the group bits, other:: for the rest;
// bits an entry does not name come from `old_mode`.
uint32_t ModeFromAcl(const std::vector<AclEntry>& acl, uint32_t old_mode);
// `acl` with its base access entries set from `mode` (the group bits go to
// the mask when there is one); base entries are added when missing.
std::vector<AclEntry> AclWithMode(std::vector<AclEntry> acl, uint32_t mode);
// True when the ACL holds more than the base access entries (named users or
// groups, a mask, or default entries): the permissions then show a '+'.
bool HasExtendedEntries(const std::vector<AclEntry>& acl);

}  // namespace strata::dfs
