// Copy Blob, Copy Blob From URL and Put Blob From URL for sources in this
// account (parsed, confined and authorized before the handler:
// api/sources.h). Data is copied in the kernel (copy_file_range), on the server's
// worker pool (routes.cc). Copy Blob of a source at or above the background
// threshold answers at once with x-ms-copy-status: pending and copies in
// the background (copy_jobs.h), as Azure does; every other copy completes
// before the response (x-ms-copy-status: success).
#include "api/conditions.h"
#include "api/context.h"
#include "api/copy_jobs.h"
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

// The destination of a copy, under its lock: the container exists, the
// request holds the lease of an existing destination (kept in `rec`), no copy
// is pending on it (when `refuse_pending`), and the conditions hold. nullopt
// when the copy may replace it.
std::optional<http::Response> CheckCopyDestination(const Ctx& ctx,
                                                   const Result<ns::BlobInfo>& old,
                                                   bool refuse_pending, ns::BlobRecord* rec) {
  if (!old.ok() && old.status().kind() == ErrorKind::kContainerNotFound)
    return ErrorResponse(AzError::kContainerNotFound);
  bool exists = old.ok();
  if (exists && !ctx.may_replace) return ReplaceRefused();
  if (exists) {
    if (auto e = CheckBlobLeaseForWrite(ctx, old->rec.lease)) return ErrorResponse(*e);
    if (refuse_pending && old->rec.copy_status == "pending")
      return ErrorResponse(AzError::kPendingCopyOperation);
    rec->lease = old->rec.lease;
  } else if (ctx.H("x-ms-lease-id")) {
    return ErrorResponse(AzError::kLeaseNotPresentWithBlobOperation);
  }
  if (auto e = CheckWriteConditions(ctx, exists, exists ? old->rec : ns::BlobRecord{}, true)) {
    if (e->status == 412) return ErrorResponse(AzError::kTargetConditionNotMet);
    return *e;
  }
  return std::nullopt;
}

// Copy Blob of a large source: under the destination's lock, checks the
// destination as a synchronous copy does, reserves the background copy,
// publishes the destination as a zero-length blob with the new properties,
// metadata and copy state (pending), and queues the copy. `rec` is the
// record the finished copy commits.
http::Response StartPendingCopy(Ctx& ctx, ns::Store::OpenBlob source, ns::BlobRecord rec) {
  CopyJobs& jobs = *ctx.account->copies;
  ns::Store& store = ctx.store();
  uint64_t size = source.info->st.size;
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto old = store.Head(ctx.container, ctx.blob);
  if (auto e = CheckCopyDestination(ctx, old, true, &rec)) return *e;
  bool exists = old.ok();
  Status s;
  auto ticket = jobs.Begin(&store, ctx.container, ctx.blob, rec.copy_id, &s);
  if (!ticket) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  ns::BlobRecord ph = rec;
  ph.content_md5.clear();
  ph.committed_blocks.clear();
  ph.append_block_count = 0;
  ph.copy_status = "pending";
  ph.copy_completion = 0;
  ph.copy_progress = 0;
  ph.etag = ns::NewEtag();
  ph.last_modified = ctx.now;
  ph.created = exists ? old->rec.created : ctx.now;
  std::string tmp = store.NewTempPath(ctx.container);
  auto f = store.fs()->OpenWrite(tmp, true, true);
  s = f.status();
  if (s.ok()) {
    f->reset();
    s = store.Commit(ctx.container, ctx.blob, tmp, ph, true, ctx.may_replace);
    if (!s.ok()) (void)store.fs()->Unlink(tmp);
  }
  if (!s.ok()) {
    jobs.Cancel(std::move(ticket));
    if (!ctx.may_replace && s.kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
    return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  }
  rec.created = ph.created;
  jobs.Submit(std::move(ticket), std::move(source.file), size, std::move(rec));
  http::Response r;
  r.status = 202;
  SetEtagHeaders(r, ph.etag, ph.last_modified);
  r.Set("x-ms-copy-id", ph.copy_id);
  r.Set("x-ms-copy-status", "pending");
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
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
  // A copy of a sealed append blob is sealed, unless x-ms-seal-blob says
  // otherwise (version 2019-12-12; Azure SDKs' recorded copy tests).
  if (auto seal = ctx.H("x-ms-seal-blob"); seal && kind == CopyKind::kAsync) {
    if (*seal != "true" && *seal != "false")
      return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-seal-blob");
    rec.sealed = *seal == "true";
  }
  if (rec.blob_type != "AppendBlob") rec.sealed = false;
  if (kind != CopyKind::kPutFromUrl) {
    rec.copy_id = NewCopyId();
    rec.copy_source = url.substr(0, url.find('?'));
    rec.copy_status = "success";
    rec.copy_completion = ctx.now;
    rec.copy_length = source->info->st.size;
  }
  // The copy is a new local blob: none of the source's tier state (its
  // remote copy belongs to the source), and the tier the request names.
  rec.tier.clear();
  rec.tier_change_time = 0;
  rec.tier_state = ns::BlobRecord::TierState::kHot;
  rec.remote_name.clear();
  rec.remote_etag.clear();
  rec.remote_md5.clear();
  rec.remote_size = 0;
  rec.remote_damaged = false;
  rec.rehydrate_to.clear();
  rec.rehydrate_priority.clear();
  rec.rehydrate_done = 0;
  rec.last_access = 0;
  if (auto tier = ctx.H("x-ms-access-tier")) {
    auto t = ParseAccessTier(*tier);
    if (!t) return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-access-tier");
    if (rec.blob_type == "BlockBlob") {
      rec.tier = *t;
      rec.tier_change_time = ctx.now;
    }
  }
  if (kind == CopyKind::kAsync && ctx.account->copies &&
      source->info->st.size >= ctx.account->copies->options().threshold)
    return StartPendingCopy(ctx, std::move(*source), std::move(rec));

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
  if (auto e = CheckCopyDestination(ctx, old, kind != CopyKind::kPutFromUrl, &rec)) return *e;
  bool exists = old.ok();
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  rec.created = exists ? old->rec.created : ctx.now;
  s = ctx.store().Commit(ctx.container, ctx.blob, tmp, rec, true, ctx.may_replace);
  if (!ctx.may_replace && s.kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
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
  auto id = ctx.Q("copyid");
  if (!id) return QueryError(AzError::kMissingRequiredQueryParameter, *ctx.req, "copyid");
  auto action = ctx.H("x-ms-copy-action");
  if (!action) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-copy-action");
  if (*action != "abort") return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-copy-action");
  ns::Store& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  if (info->rec.copy_status != "pending") return ErrorResponse(AzError::kNoPendingCopyOperation);
  if (info->rec.copy_id != *id) return ErrorResponse(AzError::kCopyIdMismatch);
  // The destination stays as the copy began it: zero length, with the new
  // properties and metadata. The job (on whatever gateway) sees the status
  // at its next step and removes what it staged.
  ns::BlobRecord rec = info->rec;
  rec.copy_status = "aborted";
  rec.copy_completion = ctx.now;
  Status s = store.UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  if (ctx.account->copies) ctx.account->copies->Aborted(*id);
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace strata::api
