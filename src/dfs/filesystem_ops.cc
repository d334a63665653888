// Filesystem - Create, Get Properties, Set Properties, Delete: a filesystem
// is a container; its x-ms-properties are the container's metadata.
#include "api/conditions.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"

namespace strata::dfs {

namespace {
std::optional<http::Response> CheckModified(const api::Ctx& ctx, const ns::ContainerRecord& rec) {
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (c.if_match || c.if_none_match)
    return JsonError(api::AzError::kUnsupportedHeader, "If-Match and If-None-Match do not apply to filesystems.");
  if (api::Evaluate(c, true, rec.etag, rec.last_modified, false) != api::CondOutcome::kOk)
    return JsonError(api::AzError::kConditionNotMet);
  return std::nullopt;
}
}  // namespace

http::Response CreateFilesystem(api::Ctx& ctx) {
  ns::ContainerRecord rec;
  if (auto p = ctx.H("x-ms-properties"))
    if (!ParseProperties(*p, &rec.metadata)) return JsonError(DfsError::kInvalidPropertyName);
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  Status s = ctx.store().CreateContainer(ctx.container, rec);
  if (s.kind() == ErrorKind::kAlreadyExists) return JsonError(DfsError::kFilesystemAlreadyExists);
  if (!s.ok()) return JsonError(api::FromStatus(s, false), api::PublicDetail(s));
  http::Response r;
  r.status = 201;
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  r.Set("x-ms-namespace-enabled", "true");
  return r;
}

http::Response GetFilesystemProperties(api::Ctx& ctx) {
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return JsonError(DfsError::kFilesystemNotFound);
  http::Response r;
  api::SetEtagHeaders(r, rec->etag, rec->last_modified);
  r.Set("x-ms-properties", FormatProperties(rec->metadata));
  r.Set("x-ms-namespace-enabled", "true");
  return r;
}

http::Response SetFilesystemProperties(api::Ctx& ctx) {
  auto lock = ctx.store().LockContainer(ctx.container);
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return JsonError(DfsError::kFilesystemNotFound);
  if (auto e = CheckModified(ctx, *rec)) return *e;
  ns::Metadata meta;
  if (!ParseProperties(ctx.H("x-ms-properties").value_or(""), &meta))
    return JsonError(DfsError::kInvalidPropertyName);
  rec->metadata = std::move(meta);
  rec->etag = ns::NewEtag();
  rec->last_modified = ctx.now;
  Status s = ctx.store().PutContainer(ctx.container, *rec);
  if (!s.ok()) return JsonError(api::FromStatus(s, false), api::PublicDetail(s));
  http::Response r;
  api::SetEtagHeaders(r, rec->etag, rec->last_modified);
  return r;
}

http::Response DeleteFilesystem(api::Ctx& ctx) {
  auto lock = ctx.store().LockContainer(ctx.container);
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return JsonError(DfsError::kFilesystemNotFound);
  if (auto e = CheckModified(ctx, *rec)) return *e;
  if (rec->lease.Held(ctx.now)) {
    auto id = ctx.H("x-ms-lease-id");
    if (!id) return JsonError(api::AzError::kLeaseIdMissing);
    if (!rec->lease.Is(*id)) return JsonError(api::AzError::kLeaseIdMismatchWithContainerOperation);
  }
  Status s = ctx.store().DeleteContainer(ctx.container);
  if (!s.ok()) return JsonError(api::FromStatus(s, false), api::PublicDetail(s));
  http::Response r;
  r.status = 202;
  return r;
}

}  // namespace strata::dfs
