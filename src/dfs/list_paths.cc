// Filesystem - List Paths: GET ?resource=filesystem&recursive=...
// JSON {"paths":[...]} in depth-first order, continued with x-ms-continuation.
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"

namespace strata::dfs {

namespace {
constexpr size_t kMaxResults = 5000;

// Windows file time (100 ns ticks since 1601), as Azure writes creationTime.
std::string FileTime(TimeNs t) {
  return std::to_string(t / 100 + 116444736000000000LL);
}
}  // namespace

http::Response ListPaths(api::Ctx& ctx) {
  auto recursive = ctx.Q("recursive");
  if (!recursive) return JsonError(api::AzError::kMissingRequiredQueryParameter, "recursive");
  if (*recursive != "true" && *recursive != "false")
    return JsonError(api::AzError::kInvalidQueryParameterValue, "recursive");
  size_t max = kMaxResults;
  if (auto m = ctx.Q("maxResults")) {
    auto v = ParseUint(*m);
    if (!v || *v == 0) return JsonError(api::AzError::kInvalidQueryParameterValue, "maxResults");
    if (*v < max) max = *v;
  }
  std::string dir = ctx.Q("directory").value_or("");
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  while (!dir.empty() && dir.front() == '/') dir.erase(0, 1);
  std::string marker;
  if (auto c = ctx.Q("continuation"); c && !c->empty()) {
    auto raw = Base64Decode(*c);
    if (!raw) return JsonError(api::AzError::kInvalidQueryParameterValue, "continuation");
    marker = *raw;
  }
  if (!ctx.store().GetContainer(ctx.container).ok()) return JsonError(DfsError::kFilesystemNotFound);
  auto page = ctx.store().ListPaths(ctx.container, dir, *recursive == "true", marker, max);
  if (!page.ok()) {
    if (page.status().kind() == ErrorKind::kContainerNotFound) return JsonError(DfsError::kFilesystemNotFound);
    if (page.status().kind() == ErrorKind::kNotFound) return JsonError(DfsError::kPathNotFound);
    return JsonError(api::FromStatus(page.status(), true), api::PublicDetail(page.status()));
  }
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& p : page->items) {
    nlohmann::json j;
    j["name"] = p.name;
    if (p.is_dir) j["isDirectory"] = "true";
    j["contentLength"] = std::to_string(p.is_dir ? 0 : p.st.size);
    j["lastModified"] = FormatHttpDate(p.rec.last_modified);
    j["etag"] = p.rec.etag;
    j["owner"] = OwnerOf(p.acl);
    j["group"] = GroupOf(p.acl);
    j["permissions"] = PermissionsOf(p);
    j["creationTime"] = FileTime(p.rec.created ? p.rec.created : p.rec.last_modified);
    paths.push_back(std::move(j));
  }
  http::Response r;
  r.Set("Content-Type", "application/json;charset=utf-8");
  if (!page->next_marker.empty()) r.Set("x-ms-continuation", Base64Encode(page->next_marker));
  r.body = nlohmann::json{{"paths", std::move(paths)}}.dump(-1, ' ', false,
                                                         nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace strata::dfs
