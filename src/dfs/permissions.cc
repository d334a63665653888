#include "dfs/permissions.h"

namespace strata::dfs {

namespace {
std::optional<uint32_t> ParseRwx(std::string_view s) {
  if (s.size() != 3) return std::nullopt;
  uint32_t bits = 0;
  const char want[] = {'r', 'w', 'x'};
  for (int i = 0; i < 3; ++i) {
    if (s[i] == want[i]) bits |= 4u >> i;
    else if (s[i] != '-') return std::nullopt;
  }
  return bits;
}

std::string Rwx(uint32_t bits) {
  std::string s = "---";
  if (bits & 4) s[0] = 'r';
  if (bits & 2) s[1] = 'w';
  if (bits & 1) s[2] = 'x';
  return s;
}

std::optional<uint32_t> ParseOctal(std::string_view s, size_t min_len, size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  return v;
}
}  // namespace

std::optional<uint32_t> ParsePermissions(std::string_view s) {
  if (s.size() == 3 || s.size() == 4) {
    auto v = ParseOctal(s, 3, 4);
    if (!v) return std::nullopt;
    // Only the sticky bit of the special bits is meaningful here.
    if (*v & 06000) return std::nullopt;
    return *v;
  }
  if (s.size() != 9) return std::nullopt;
  auto u = ParseRwx(s.substr(0, 3));
  auto g = ParseRwx(s.substr(3, 3));
  uint32_t sticky = 0;
  std::string other(s.substr(6, 3));
  if (other[2] == 't') other[2] = 'x', sticky = 01000;
  else if (other[2] == 'T') other[2] = '-', sticky = 01000;
  auto o = ParseRwx(other);
  if (!u || !g || !o) return std::nullopt;
  return sticky | (*u << 6) | (*g << 3) | *o;
}

std::string FormatPermissions(uint32_t mode) {
  std::string s = Rwx((mode >> 6) & 7) + Rwx((mode >> 3) & 7) + Rwx(mode & 7);
  if (mode & 01000) s[8] = (mode & 1) ? 't' : 'T';
  return s;
}

std::optional<uint32_t> ParseUmask(std::string_view s) {
  auto v = ParseOctal(s, 4, 4);
  if (!v || *v > 0777) return std::nullopt;
  return v;
}

std::optional<std::vector<AclEntry>> ParseAcl(std::string_view s) {
  std::vector<AclEntry> out;
  if (s.empty()) return std::nullopt;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
    AclEntry e;
    if (item.substr(0, 8) == "default:") {
      e.is_default = true;
      item.remove_prefix(8);
    }
    size_t c1 = item.find(':');
    if (c1 == std::string_view::npos) return std::nullopt;
    size_t c2 = item.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return std::nullopt;
    e.type = std::string(item.substr(0, c1));
    e.id = std::string(item.substr(c1 + 1, c2 - c1 - 1));
    auto perms = ParseRwx(item.substr(c2 + 1));
    if (!perms) return std::nullopt;
    e.perms = *perms;
    if (e.type != "user" && e.type != "group" && e.type != "mask" && e.type != "other")
      return std::nullopt;
    if ((e.type == "mask" || e.type == "other") && !e.id.empty()) return std::nullopt;
    out.push_back(std::move(e));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string FormatAcl(const std::vector<AclEntry>& acl) {
  std::string s;
  for (const auto& e : acl) {
    if (!s.empty()) s += ',';
    if (e.is_default) s += "default:";
    s += e.type + ":" + e.id + ":" + Rwx(e.perms);
  }
  return s;
}

uint32_t ModeFromAcl(const std::vector<AclEntry>& acl, uint32_t old_mode) {
  uint32_t mode = old_mode & 07777;
  bool has_mask = false;
  for (const auto& e : acl)
    if (!e.is_default && e.type == "mask") has_mask = true;
  for (const auto& e : acl) {
    if (e.is_default || !e.id.empty()) continue;
    if (e.type == "user") mode = (mode & ~0700u) | (e.perms << 6);
    if (e.type == "mask" || (e.type == "group" && !has_mask)) mode = (mode & ~0070u) | (e.perms << 3);
    if (e.type == "other") mode = (mode & ~0007u) | e.perms;
  }
  return mode;
}

std::vector<AclEntry> AclWithMode(std::vector<AclEntry> acl, uint32_t mode) {
  bool has_mask = false;
  for (const auto& e : acl)
    if (!e.is_default && e.type == "mask") has_mask = true;
  bool seen_user = false, seen_group = false, seen_other = false;
  for (auto& e : acl) {
    if (e.is_default || !e.id.empty()) continue;
    if (e.type == "user") e.perms = (mode >> 6) & 7, seen_user = true;
    if (e.type == "group") {
      seen_group = true;
      if (!has_mask) e.perms = (mode >> 3) & 7;
    }
    if (e.type == "mask") e.perms = (mode >> 3) & 7;
    if (e.type == "other") e.perms = mode & 7, seen_other = true;
  }
  if (!seen_user) acl.insert(acl.begin(), AclEntry{false, "user", "", (mode >> 6) & 7});
  if (!seen_group) acl.push_back(AclEntry{false, "group", "", (mode >> 3) & 7});
  if (!seen_other) acl.push_back(AclEntry{false, "other", "", mode & 7});
  return acl;
}

bool HasExtendedEntries(const std::vector<AclEntry>& acl) {
  for (const auto& e : acl)
    if (e.is_default || !e.id.empty() || e.type == "mask") return true;
  return false;
}

}  // namespace strata::dfs
