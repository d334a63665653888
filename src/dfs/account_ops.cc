// Filesystem - List (GET /?resource=account) and Path - Update
// action=setAccessControlRecursive: the dfs operations that span many
// resources, each answered in pages with x-ms-continuation.
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"
#include "dfs/permissions.h"

namespace strata::dfs {

namespace {
constexpr size_t kMaxFilesystems = 5000;
constexpr size_t kMaxAclRecords = 2000;  // per call, as the SDK's default batch

std::string Json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool SameEntry(const AclEntry& a, const AclEntry& b) {
  return a.is_default == b.is_default && a.type == b.type && a.id == b.id;
}

// The ACL a path gets from `given` under `mode`: set replaces, modify adds
// or updates entries, remove drops the entries named. Default entries only
// belong to directories.
std::vector<AclEntry> NewAcl(const std::string& mode, const std::vector<AclEntry>& given,
                             std::vector<AclEntry> old, bool is_dir) {
  std::vector<AclEntry> out;
  if (mode == "set") {
    out = given;
  } else if (mode == "modify") {
    out = std::move(old);
    for (const auto& g : given) {
      bool found = false;
      for (auto& o : out)
        if (SameEntry(o, g)) {
          o.perms = g.perms;
          found = true;
        }
      if (!found) out.push_back(g);
    }
  } else {  // remove
    for (auto& o : old) {
      bool drop = false;
      for (const auto& g : given) drop = drop || SameEntry(o, g);
      if (!drop) out.push_back(std::move(o));
    }
  }
  if (!is_dir) std::erase_if(out, [](const AclEntry& e) { return e.is_default; });
  return out;
}

// Parses the entries of a remove request ("[default:]type:id", no perms).
std::optional<std::vector<AclEntry>> ParseRemoveList(const std::string& text) {
  std::vector<AclEntry> out;
  for (const auto& part : Split(text, ',')) {
    std::string item(Trim(part));
    if (item.empty()) return std::nullopt;
    // Reuse the full parser by giving every entry empty permissions.
    auto parsed = ParseAcl(item + ":---");
    if (!parsed || parsed->size() != 1) {
      parsed = ParseAcl(item);  // a full entry is accepted too
      if (!parsed || parsed->size() != 1) return std::nullopt;
    }
    out.push_back((*parsed)[0]);
  }
  return out;
}
}  // namespace

http::Response ListFilesystems(api::Ctx& ctx) {
  size_t max = kMaxFilesystems;
  if (auto m = ctx.Q("maxResults")) {
    auto v = ParseUint(*m);
    if (!v || *v == 0) return JsonError(api::AzError::kInvalidQueryParameterValue, "maxResults");
    if (*v < max) max = *v;
  }
  std::string prefix = ctx.Q("prefix").value_or("");
  std::string start;
  if (auto c = ctx.Q("continuation"); c && !c->empty()) {
    auto raw = Base64Decode(*c);
    if (!raw) return JsonError(api::AzError::kInvalidQueryParameterValue, "continuation");
    start = *raw;
  }
  auto names = ctx.store().ContainerNames();
  if (!names.ok()) return JsonError(api::AzError::kInternalError, names.status().message());
  nlohmann::json list = nlohmann::json::array();
  std::string next;
  for (const auto& name : *names) {
    if (!StartsWith(name, prefix) || name < start) continue;
    auto rec = ctx.store().GetContainer(name);
    if (!rec.ok()) continue;  // deleted meanwhile
    if (list.size() == max) {
      next = name;
      break;
    }
    list.push_back({{"name", name},
                    {"lastModified", FormatHttpDate(rec->last_modified)},
                    {"eTag", "\"" + rec->etag + "\""}});
  }
  http::Response r;
  r.Set("Content-Type", "application/json;charset=utf-8");
  if (!next.empty()) r.Set("x-ms-continuation", Base64Encode(next));
  r.body = Json(nlohmann::json{{"filesystems", std::move(list)}});
  return r;
}

http::Response SetAccessControlRecursive(api::Ctx& ctx) {
  auto mode = ctx.Q("mode");
  if (!mode) return JsonError(api::AzError::kMissingRequiredQueryParameter, "mode");
  if (*mode != "set" && *mode != "modify" && *mode != "remove")
    return JsonError(api::AzError::kInvalidQueryParameterValue, "mode");
  auto acl_h = ctx.H("x-ms-acl");
  if (!acl_h) return JsonError(api::AzError::kMissingRequiredHeader, "x-ms-acl");
  auto given = *mode == "remove" ? ParseRemoveList(*acl_h) : ParseAcl(*acl_h);
  if (!given) return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-acl");
  size_t max = kMaxAclRecords;
  if (auto m = ctx.Q("maxRecords")) {
    auto v = ParseUint(*m);
    if (!v || *v == 0) return JsonError(api::AzError::kInvalidQueryParameterValue, "maxRecords");
    if (*v < max) max = *v;
  }
  if (auto f = ctx.Q("forceFlag"); f && *f != "true" && *f != "false")
    return JsonError(api::AzError::kInvalidQueryParameterValue, "forceFlag");
  std::string marker;
  bool resumed = false;
  if (auto c = ctx.Q("continuation"); c && !c->empty()) {
    auto raw = Base64Decode(*c);
    if (!raw || !StartsWith(*raw, ctx.blob + "/"))
      return JsonError(api::AzError::kInvalidQueryParameterValue, "continuation");
    marker = *raw;
    resumed = true;
  }
  auto& store = ctx.store();
  auto top = store.HeadPath(ctx.container, ctx.blob);
  if (!top.ok())
    return PathNotFound(top.status());
  if (auto e = api::CheckBlobLeaseForWrite(ctx, top->rec.lease)) return JsonError(*e);
  // The paths of this batch: the path itself first (unless resumed), then
  // its tree in depth-first order from the marker.
  std::vector<std::string> batch;
  std::string next;
  if (!resumed) batch.push_back(ctx.blob);
  if (top->is_dir && batch.size() < max) {
    auto page = store.ListPaths(ctx.container, ctx.blob, true, marker, max - batch.size());
    if (!page.ok()) return JsonError(api::FromStatus(page.status(), true), api::PublicDetail(page.status()));
    for (auto& p : page->items) batch.push_back(std::move(p.name));
    next = page->next_marker;
  } else if (top->is_dir) {
    next = ctx.blob + "/";  // the tree is still to do: resume before its first entry
  }
  int64_t dirs = 0, files = 0;
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& p : batch) {
    auto lock = store.LockBlob(ctx.container, p);
    auto info = store.HeadPath(ctx.container, p);
    if (!info.ok()) continue;  // removed meanwhile: nothing to change
    std::vector<AclEntry> old;
    if (auto parsed = ParseAcl(info->acl.acl)) old = std::move(*parsed);
    old = AclWithMode(std::move(old), info->st.mode & 07777);
    std::vector<AclEntry> acl = NewAcl(*mode, *given, std::move(old), info->is_dir);
    uint32_t new_mode = ModeFromAcl(acl, info->st.mode & 07777);
    ns::PathAcl stored = info->acl;
    stored.acl = FormatAcl(acl);
    ns::BlobRecord rec = info->rec;
    rec.etag = ns::NewEtag();
    rec.last_modified = ctx.now;
    std::optional<uint32_t> chmod;
    if (new_mode != (info->st.mode & 07777)) chmod = new_mode;
    Status s = store.SetPathAcl(ctx.container, p, stored, chmod, rec);
    if (s.ok()) {
      ++(info->is_dir ? dirs : files);
    } else {
      failed.push_back({{"errorMessage", s.message()},
                        {"name", p},
                        {"type", info->is_dir ? "DIRECTORY" : "FILE"}});
    }
  }
  http::Response r;
  r.Set("Content-Type", "application/json;charset=utf-8");
  if (!next.empty()) r.Set("x-ms-continuation", Base64Encode(next));
  r.body = Json({{"directoriesSuccessful", dirs},
                 {"filesSuccessful", files},
                 {"failureCount", static_cast<int64_t>(failed.size())},
                 {"failedEntries", std::move(failed)}});
  return r;
}

}  // namespace strata::dfs
