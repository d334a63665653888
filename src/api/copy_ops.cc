// Copy Blob, Copy Blob From URL and Put Blob From URL for sources in this
// account (parsed and authorized before the handler: api/sources.h). Every copy completes before the response (x-ms-copy-status:
// success); data is copied in the kernel (copy_file_range).
#include "api/conditions.h"
#include "api/context.h"
#include "common/strings.h"
#include "ns/names.h"

namespace strata::api {


namespace {

enum class CopyKind { kAsync, kSync, kPutFromUrl };

std::string NewCopyId() {
  std::string etag = ns::NewEtag();
  // A GUID-shaped id derived from a unique value.
  std::string hex = etag.substr(2) + etag.substr(2);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

http::Response DoCopy(Ctx& ctx, CopyKind kind) {
  // The front door parsed, confined and authorized the source (api/sources.h).
  const SourceRef* src = &ctx.source;
  const std::string& url = src->url;
  auto source = ctx.store().Open(src->container, src->blob);
  if (!source.ok()) {
    if (kind == CopyKind::kAsync)
      return ErrorResponse(AzError::kBlobNotFound, "The copy source does not exist.");
    // Azure passes the status of its read of the source through: 404.
    http::Response r = ErrorResponse(AzError::kCannotVerifyCopySource,
                                     "The specified blob does not exist.");
    r.status = 404;
    return r;
  }
  Conditions sc = ParseConditions(*ctx.req, "x-ms-source-");
  if (Evaluate(sc, true, source->info->rec.etag, source->info->rec.last_modified, false) !=
      CondOutcome::kOk)
    return ErrorResponse(AzError::kSourceConditionNotMet);
  if (auto e = NeedLocalData(ctx, src->container, src->blob, source->info->rec))
    return ErrorResponse(*e);
  ns::BlobRecord rec = source->info->rec;
  rec.lease = ns::Lease{};
  rec.copy_id.clear();
  ns::Metadata meta;
  AzError err;
  if (!ParseMetadata(*ctx.req, &meta, &err)) return ErrorResponse(err);
  if (!meta.empty() || kind == CopyKind::kPutFromUrl) rec.metadata = std::move(meta);
  if (kind == CopyKind::kPutFromUrl) {
    auto copy_props = ctx.H("x-ms-copy-source-blob-properties");
    if (copy_props && *copy_props == "false") ApplyContentHeaders(ctx, &rec, true);
    else ApplyContentHeaders(ctx, &rec, false);
    rec.blob_type = "BlockBlob";
  }
  if (kind != CopyKind::kPutFromUrl) {
    rec.copy_id = NewCopyId();
    rec.copy_source = url.substr(0, url.find('?'));
    rec.copy_status = "success";
    rec.copy_completion = ctx.now;
    rec.copy_length = source->info->st.size;
  }
  if (auto tier = ctx.H("x-ms-access-tier"); tier && *tier != "Hot")
    return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-access-tier");

  std::string tmp = ctx.store().NewTempPath(ctx.container);
  auto out = ctx.store().fs()->OpenWrite(tmp, true, true);
  if (!out.ok()) return ErrorResponse(AzError::kInternalError, out.status().message());
  ctx.req->body_file = tmp;  // removed by the server unless committed
  Status s = (*out)->CopyFrom(*source->file, 0, 0, source->info->st.size);
  out->reset();
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));

  bool same = src->container == ctx.container && src->blob == ctx.blob;
  std::unique_lock<std::mutex> lock;
  if (!same) lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto old = ctx.store().Head(ctx.container, ctx.blob);
  if (!old.ok() && old.status().kind() == ErrorKind::kContainerNotFound)
    return ErrorResponse(AzError::kContainerNotFound);
  bool exists = old.ok();
  if (exists) {
    if (auto e = CheckBlobLeaseForWrite(ctx, old->rec.lease)) return ErrorResponse(*e);
    rec.lease = old->rec.lease;
  } else if (ctx.H("x-ms-lease-id")) {
    return ErrorResponse(AzError::kLeaseNotPresentWithBlobOperation);
  }
  if (auto e = CheckWriteConditions(ctx, exists, exists ? old->rec : ns::BlobRecord{}, true)) {
    if (e->status == 412) return ErrorResponse(AzError::kTargetConditionNotMet);
    return *e;
  }
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  rec.created = exists ? old->rec.created : ctx.now;
  s = ctx.store().Commit(ctx.container, ctx.blob, tmp, rec, true);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  ctx.req->body_file.clear();
  http::Response r;
  r.status = kind == CopyKind::kPutFromUrl ? 201 : 202;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  if (kind != CopyKind::kPutFromUrl) {
    r.Set("x-ms-copy-id", rec.copy_id);
    r.Set("x-ms-copy-status", "success");
  }
  if (!rec.content_md5.empty()) r.Set("Content-MD5", Base64Encode(rec.content_md5));
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

}  // namespace

http::Response CopyBlob(Ctx& ctx) { return DoCopy(ctx, CopyKind::kAsync); }
http::Response CopyBlobFromUrl(Ctx& ctx) { return DoCopy(ctx, CopyKind::kSync); }
http::Response PutBlobFromUrl(Ctx& ctx) { return DoCopy(ctx, CopyKind::kPutFromUrl); }

http::Response AbortCopyBlob(Ctx& ctx) {
  if (!ctx.Q("copyid")) return ErrorResponse(AzError::kMissingRequiredQueryParameter, "copyid");
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return ErrorResponse(AzError::kBlobNotFound);
  // Every copy completes synchronously, so none is ever pending.
  return ErrorResponse(AzError::kNoPendingCopyOperation);
}

}  // namespace strata::api
