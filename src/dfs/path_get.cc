// Path - Get Properties (HEAD; action=getAccessControl|getStatus), and the
// HNS blob view of a directory for Blob API reads and metadata updates.
#include "api/conditions.h"
#include "common/crypto.h"
#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"

namespace strata::dfs {

namespace {
// A Blob API error that only HNS accounts answer (not in api's table).
http::Response XmlError(int status, const char* code, const char* message) {
  http::Response r;
  r.status = status;
  r.Set("x-ms-error-code", code);
  r.Set("Content-Type", "application/xml");
  r.body = std::string("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>") + code +
           "</Code><Message>" + message + "</Message></Error>";
  return r;
}

void AccessHeaders(http::Response& r, const ns::PathInfo& info, bool with_acl) {
  r.Set("x-ms-owner", OwnerOf(info.acl));
  r.Set("x-ms-group", GroupOf(info.acl));
  r.Set("x-ms-permissions", PermissionsOf(info));
  if (with_acl) r.Set("x-ms-acl", AclOf(info));
}
}  // namespace

http::Response GetPathProperties(api::Ctx& ctx) {
  auto info = ctx.store().HeadPath(ctx.container, ctx.blob);
  if (!info.ok())
    return PathNotFound(info.status());
  if (auto id = ctx.H("x-ms-lease-id")) {
    if (!info->rec.lease.Held(ctx.now)) return JsonError(api::AzError::kLeaseNotPresentWithBlobOperation);
    if (!info->rec.lease.Is(*id)) return JsonError(api::AzError::kLeaseIdMismatchWithBlobOperation);
  }
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (c.any()) {
    auto o = api::Evaluate(c, true, info->rec.etag, info->rec.last_modified, true);
    if (o == api::CondOutcome::kFailed) return JsonError(api::AzError::kConditionNotMet);
    if (o == api::CondOutcome::kNotModified) {
      http::Response r;
      r.status = 304;
      api::SetEtagHeaders(r, info->rec.etag, info->rec.last_modified);
      return r;
    }
  }
  std::string action = ctx.Q("action").value_or("");
  http::Response r;
  api::SetEtagHeaders(r, info->rec.etag, info->rec.last_modified);
  if (action == "getAccessControl") {
    AccessHeaders(r, *info, true);
    return r;
  }
  r.Set("x-ms-resource-type", info->is_dir ? "directory" : "file");
  AccessHeaders(r, *info, false);
  r.head_length = info->is_dir ? 0 : info->st.size;
  if (action == "getStatus") return r;
  const ns::BlobRecord& rec = info->rec;
  r.Set("x-ms-properties", FormatProperties(rec.metadata));
  // A HEAD without a query reaches this only on the dfs endpoint, where Blob
  // clients sent to the same URL (the Data Lake SDKs' Get Blob Properties)
  // read the metadata as x-ms-meta-* headers (a directory's with
  // hdi_isfolder=true, as Get Blob Properties shows it): they carry it too.
  if (action.empty() && !ctx.req->FindQuery("upn")) {
    ns::Metadata meta = rec.metadata;
    if (info->is_dir) meta.emplace_back("hdi_isfolder", "true");
    api::SetMetadataHeaders(r, meta);
  }
  r.Set("x-ms-creation-time", FormatHttpDate(rec.created ? rec.created : rec.last_modified));
  if (!info->is_dir) {
    r.Set("Content-Type", rec.content_type.empty() ? "application/octet-stream" : rec.content_type);
    if (!rec.content_encoding.empty()) r.Set("Content-Encoding", rec.content_encoding);
    if (!rec.content_language.empty()) r.Set("Content-Language", rec.content_language);
    if (!rec.content_disposition.empty()) r.Set("Content-Disposition", rec.content_disposition);
    if (!rec.cache_control.empty()) r.Set("Cache-Control", rec.cache_control);
    if (!rec.content_md5.empty()) r.Set("Content-MD5", Base64Encode(rec.content_md5));
    r.Set("Accept-Ranges", "bytes");
  }
  LeaseHeaders(r, rec.lease, ctx.now);
  r.Set("x-ms-server-encrypted", "true");
  return r;
}

std::optional<http::Response> DirectoryAsBlob(api::Ctx& ctx, const std::string& route) {
  bool read = route == "GetBlob" || route == "GetBlobProperties" || route == "GetBlobMetadata";
  bool set_meta = route == "SetBlobMetadata";
  bool remove = route == "DeleteBlob";
  bool lease = route == "LeaseBlob";
  if (!read && !set_meta && !remove && !lease) return std::nullopt;
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().HeadPath(ctx.container, ctx.blob);
  // Every directory, however it was made (dfs, a blob commit, plain tools),
  // as on an HNS account.
  if (!info.ok() || !info->is_dir) return std::nullopt;
  ns::BlobRecord rec = info->rec;
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (c.any()) {
    auto o = api::Evaluate(c, true, rec.etag, rec.last_modified, read);
    if (o == api::CondOutcome::kFailed) return api::ErrorResponse(api::AzError::kConditionNotMet);
    if (o == api::CondOutcome::kNotModified) {
      http::Response r;
      r.status = 304;
      api::SetEtagHeaders(r, rec.etag, rec.last_modified);
      return r;
    }
  }
  if (lease) {  // the Lease Blob state machine, on the directory's record
    http::Response r;
    if (auto e = api::ApplyLeaseAction(ctx, rec.lease, &r)) return *e;
    Status s = ctx.store().PutDirRecord(ctx.container, ctx.blob, rec);
    if (!s.ok()) return api::ErrorResponse(api::FromStatus(s, true), api::PublicDetail(s));
    api::SetEtagHeaders(r, rec.etag, rec.last_modified);
    return r;
  }
  if (remove) {
    // As an HNS account answers Delete Blob on a directory: snapshots are no
    // option for one, and only an empty one goes.
    if (ctx.H("x-ms-delete-snapshots"))
      return XmlError(400, "OperationNotSupportedOnDirectory",
                      "The requested operation is not supported on a directory.");
    if (auto e = api::CheckBlobLeaseForWrite(ctx, rec.lease)) return api::ErrorResponse(*e);
    Status s = ctx.store().DeletePath(ctx.container, ctx.blob, false);
    if (s.kind() == ErrorKind::kNotEmpty)
      return XmlError(409, "DirectoryIsNotEmpty", "This operation is not permitted on a non-empty directory.");
    if (!s.ok()) return api::ErrorResponse(api::FromStatus(s, true), api::PublicDetail(s));
    http::Response r;
    r.status = 202;
    r.Set("x-ms-delete-type-permanent", "true");
    return r;
  }
  if (set_meta) {
    if (auto e = api::CheckBlobLeaseForWrite(ctx, rec.lease)) return api::ErrorResponse(*e);
    ns::Metadata meta;
    api::AzError err;
    if (!api::ParseMetadata(*ctx.req, &meta, &err)) return api::ErrorResponse(err);
    std::erase_if(meta, [](const auto& kv) { return kv.first == "hdi_isfolder"; });
    rec.metadata = std::move(meta);
    rec.etag = ns::NewEtag();
    rec.last_modified = ctx.now;
    Status s = ctx.store().PutDirRecord(ctx.container, ctx.blob, rec);
    if (!s.ok()) return api::ErrorResponse(api::FromStatus(s, true), api::PublicDetail(s));
    http::Response r;
    api::SetEtagHeaders(r, rec.etag, rec.last_modified);
    r.Set("x-ms-request-server-encrypted", "true");
    return r;
  }
  if (route == "GetBlob" && (ctx.H("x-ms-range") || ctx.H("range"))) {
    // No byte of a zero-length blob can be asked for, as for an empty file.
    http::Response e = api::ErrorResponse(api::AzError::kInvalidRange);
    e.Set("Content-Range", "bytes */0");
    return e;
  }
  http::Response r;
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  ns::Metadata meta = rec.metadata;
  meta.emplace_back("hdi_isfolder", "true");
  api::SetMetadataHeaders(r, meta);
  if (route == "GetBlobMetadata") return r;
  r.Set("Content-Type", "application/octet-stream");
  r.Set("x-ms-blob-type", "BlockBlob");
  r.Set("x-ms-creation-time", FormatHttpDate(rec.created ? rec.created : rec.last_modified));
  LeaseHeaders(r, rec.lease, ctx.now);
  r.Set("x-ms-server-encrypted", "true");
  r.Set("x-ms-access-tier", "Hot");
  r.Set("x-ms-access-tier-inferred", "true");
  r.Set("x-ms-resource-type", "directory");
  if (route == "GetBlobProperties") r.head_length = 0;
  return r;
}

}  // namespace strata::dfs
