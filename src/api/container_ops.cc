// Container operations: create, properties, metadata, delete, ACL, list.
#include <pugixml.hpp>

#include "api/conditions.h"
#include "api/context.h"
#include "common/strings.h"

namespace strata::api {

namespace {

std::optional<http::Response> CheckContainerLease(const Ctx& ctx, const ns::ContainerRecord& rec,
                                                  bool required_if_held) {
  auto id = ctx.H("x-ms-lease-id");
  bool held = rec.lease.Held(ctx.now);
  if (id) {
    if (!held) return ErrorResponse(AzError::kLeaseNotPresentWithContainerOperation);
    if (*id != rec.lease.id) return ErrorResponse(AzError::kLeaseIdMismatchWithContainerOperation);
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
      return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-blob-public-access");
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
      return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-blob-public-access");
    access = *a;
  }
  std::vector<ns::SignedIdentifier> ids;
  if (!Trim(ctx.req->body).empty()) {
    pugi::xml_document doc;
    if (!doc.load_buffer(ctx.req->body.data(), ctx.req->body.size()))
      return ErrorResponse(AzError::kInvalidXmlDocument);
    pugi::xml_node root = doc.child("SignedIdentifiers");
    if (!root) return ErrorResponse(AzError::kInvalidXmlDocument);
    for (pugi::xml_node si : root.children("SignedIdentifier")) {
      ns::SignedIdentifier s;
      s.id = si.child_value("Id");
      if (s.id.empty() || s.id.size() > 64)
        return ErrorResponse(AzError::kInvalidXmlDocument, "Signed identifier Id must be 1 to 64 characters.");
      pugi::xml_node ap = si.child("AccessPolicy");
      s.start = ap.child_value("Start");
      s.expiry = ap.child_value("Expiry");
      s.permission = ap.child_value("Permission");
      for (const std::string* t : {&s.start, &s.expiry})
        if (!t->empty() && !ParseIso8601(*t)) return ErrorResponse(AzError::kInvalidXmlDocument);
      ids.push_back(std::move(s));
    }
    if (ids.size() > 5)
      return ErrorResponse(AzError::kInvalidXmlDocument, "At most 5 signed identifiers are allowed.");
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
