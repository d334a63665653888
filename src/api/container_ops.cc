// Container operations: create, properties, metadata, delete, ACL, list.
#include "api/conditions.h"
#include "api/context.h"
#include "api/xml_bodies.h"
#include "common/strings.h"

namespace strata::api {

namespace {

std::optional<http::Response> CheckContainerLease(const Ctx& ctx, const ns::ContainerRecord& rec,
                                                  bool required_if_held) {
  auto id = ctx.H("x-ms-lease-id");
  bool held = rec.lease.Held(ctx.now);
  if (id) {
    if (!held) return ErrorResponse(AzError::kLeaseNotPresentWithContainerOperation);
    if (!rec.lease.Is(*id)) return ErrorResponse(AzError::kLeaseIdMismatchWithContainerOperation);
  } else if (held && required_if_held) {
    return ErrorResponse(AzError::kLeaseIdMissing);
  }
  return std::nullopt;
}

std::optional<http::Response> CheckContainerConditions(const Ctx& ctx,
                                                       const ns::ContainerRecord& rec) {
  Conditions c = ParseConditions(*ctx.req);
  if (c.if_match || c.if_none_match)
    return ErrorResponse(AzError::kInvalidHeaderValue,
                         "If-Match and If-None-Match are not supported for containers.");
  if (Evaluate(c, true, rec.etag, rec.last_modified, false) != CondOutcome::kOk)
    return ErrorResponse(AzError::kConditionNotMet);
  return std::nullopt;
}

}  // namespace

http::Response CreateContainer(Ctx& ctx) {
  ns::ContainerRecord rec;
  AzError err;
  if (!ParseMetadata(*ctx.req, &rec.metadata, &err)) return ErrorResponse(err);
  if (auto access = ctx.H("x-ms-blob-public-access")) {
    if (*access != "container" && *access != "blob")
      return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-blob-public-access");
    rec.public_access = *access;
  }
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  Status s = ctx.store().CreateContainer(ctx.container, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, false), s.kind() == ErrorKind::kAlreadyExists ? "" : PublicDetail(s));
  http::Response r;
  r.status = 201;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  return r;
}

http::Response GetContainerProperties(Ctx& ctx) {
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return ErrorResponse(AzError::kContainerNotFound);
  if (auto e = CheckContainerLease(ctx, *rec, false)) return *e;
  http::Response r;
  SetEtagHeaders(r, rec->etag, rec->last_modified);
  SetMetadataHeaders(r, rec->metadata);
  LeaseHeaders(r, rec->lease, ctx.now);
  if (!rec->public_access.empty()) r.Set("x-ms-blob-public-access", rec->public_access);
  r.Set("x-ms-has-immutability-policy", "false");
  r.Set("x-ms-has-legal-hold", "false");
  r.Set("x-ms-default-encryption-scope", "$account-encryption-key");
  r.Set("x-ms-deny-encryption-scope-override", "false");
  return r;
}

http::Response SetContainerMetadata(Ctx& ctx) {
  auto lock = ctx.store().LockContainer(ctx.container);
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return ErrorResponse(AzError::kContainerNotFound);
  if (auto e = CheckContainerLease(ctx, *rec, false)) return *e;
  Conditions c = ParseConditions(*ctx.req);
  if (c.if_match || c.if_none_match || c.if_unmodified_since)
    return ErrorResponse(AzError::kInvalidHeaderValue);
  if (auto e = CheckContainerConditions(ctx, *rec)) return *e;
  ns::Metadata meta;
  AzError err;
  if (!ParseMetadata(*ctx.req, &meta, &err)) return ErrorResponse(err);
  rec->metadata = std::move(meta);
  rec->etag = ns::NewEtag();
  rec->last_modified = ctx.now;
  Status s = ctx.store().PutContainer(ctx.container, *rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, false), PublicDetail(s));
  http::Response r;
  SetEtagHeaders(r, rec->etag, rec->last_modified);
  return r;
}

http::Response DeleteContainer(Ctx& ctx) {
  auto lock = ctx.store().LockContainer(ctx.container);
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return ErrorResponse(AzError::kContainerNotFound);
  if (auto e = CheckContainerLease(ctx, *rec, true)) return *e;
  if (auto e = CheckContainerConditions(ctx, *rec)) return *e;
  Status s = ctx.store().DeleteContainer(ctx.container);
  if (!s.ok()) return ErrorResponse(FromStatus(s, false), PublicDetail(s));
  http::Response r;
  r.status = 202;
  return r;
}

http::Response GetContainerAcl(Ctx& ctx) {
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return ErrorResponse(AzError::kContainerNotFound);
  if (auto e = CheckContainerLease(ctx, *rec, false)) return *e;
  http::Response r;
  SetEtagHeaders(r, rec->etag, rec->last_modified);
  if (!rec->public_access.empty()) r.Set("x-ms-blob-public-access", rec->public_access);
  r.Set("Content-Type", "application/xml");
  std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?><SignedIdentifiers>";
  for (const auto& s : rec->identifiers) {
    x += "<SignedIdentifier><Id>" + XmlEscape(s.id) + "</Id><AccessPolicy>";
    if (!s.start.empty()) x += "<Start>" + XmlEscape(s.start) + "</Start>";
    if (!s.expiry.empty()) x += "<Expiry>" + XmlEscape(s.expiry) + "</Expiry>";
    if (!s.permission.empty()) x += "<Permission>" + XmlEscape(s.permission) + "</Permission>";
    x += "</AccessPolicy></SignedIdentifier>";
  }
  x += "</SignedIdentifiers>";
  r.body = std::move(x);
  return r;
}

http::Response SetContainerAcl(Ctx& ctx) {
  auto lock = ctx.store().LockContainer(ctx.container);
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return ErrorResponse(AzError::kContainerNotFound);
  if (auto e = CheckContainerLease(ctx, *rec, false)) return *e;
  if (auto e = CheckContainerConditions(ctx, *rec)) return *e;
  std::string access;
  if (auto a = ctx.H("x-ms-blob-public-access")) {
    if (*a != "container" && *a != "blob")
      return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-blob-public-access");
    access = *a;
  }
  std::vector<ns::SignedIdentifier> ids;
  if (!Trim(ctx.req->body).empty()) {
    if (auto e = ParseSignedIdentifiers(ctx.req->body, &ids)) return ErrorResponse(e->error, e->detail);
  }
  rec->public_access = access;
  rec->identifiers = std::move(ids);
  rec->etag = ns::NewEtag();
  rec->last_modified = ctx.now;
  Status s = ctx.store().PutContainer(ctx.container, *rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, false), PublicDetail(s));
  http::Response r;
  SetEtagHeaders(r, rec->etag, rec->last_modified);
  return r;
}

}  // namespace strata::api
