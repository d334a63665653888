// Helpers shared by the dfs handlers, and the XML-to-JSON error rewrite.
#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"
#include "dfs/permissions.h"

namespace strata::dfs {

void ToJson(const http::Request& req, http::Response& r) {
  std::string code = r.Get("x-ms-error-code").value_or("");
  if (code.empty()) return;
  std::string message;
  size_t a = r.body.find("<Message>"), b = r.body.find("</Message>");
  if (a != std::string::npos && b != std::string::npos && b > a) message = r.body.substr(a + 9, b - a - 9);
  auto type = r.Get("Content-Type");
  bool is_json = type && StartsWith(*type, "application/json");
  if (type) r.Replace("Content-Type", "application/json;charset=utf-8");
  if (!is_json) r.body = JsonErrorBody(code, message);
  if (req.method == "HEAD") r.body.clear();
}

bool ParseProperties(const std::string& header, ns::Metadata* out) {
  if (Trim(header).empty()) return true;
  for (const auto& part : Split(header, ',')) {
    std::string_view item = Trim(part);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    std::string name(Trim(item.substr(0, eq)));
    auto value = Base64Decode(Trim(item.substr(eq + 1)));
    if (!value) return false;
    for (char c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    out->emplace_back(name, *value);
  }
  return true;
}

std::string FormatProperties(const ns::Metadata& m) {
  std::string s;
  for (const auto& [k, v] : m) {
    if (!s.empty()) s += ',';
    s += k + "=" + Base64Encode(v);
  }
  return s;
}

std::string OwnerOf(const ns::PathAcl& acl) { return acl.owner.empty() ? "$superuser" : acl.owner; }
std::string GroupOf(const ns::PathAcl& acl) { return acl.group.empty() ? "$superuser" : acl.group; }

std::string PermissionsOf(const ns::PathInfo& info) {
  std::string p = FormatPermissions(info.st.mode);
  if (!info.acl.acl.empty()) {
    auto acl = ParseAcl(info.acl.acl);
    if (acl && HasExtendedEntries(*acl)) p += '+';
  }
  return p;
}

std::string AclOf(const ns::PathInfo& info) {
  std::vector<AclEntry> acl;
  if (!info.acl.acl.empty()) {
    if (auto parsed = ParseAcl(info.acl.acl)) acl = std::move(*parsed);
  }
  return FormatAcl(AclWithMode(std::move(acl), info.st.mode));
}

void LeaseHeaders(http::Response& r, const ns::Lease& lease, TimeNs now) {
  std::string state = lease.State(now);
  r.Set("x-ms-lease-state", state);
  r.Set("x-ms-lease-status", state == "leased" || state == "breaking" ? "locked" : "unlocked");
  if (state == "leased") r.Set("x-ms-lease-duration", lease.duration < 0 ? "infinite" : "fixed");
}

}  // namespace strata::dfs
