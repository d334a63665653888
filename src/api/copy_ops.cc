// Copy Blob, Copy Blob From URL and Put Blob From URL for sources in an
// account of this server (parsed, confined and authorized before the
// handler: api/sources.h), or on another host (RemoteCopy: fetched through
// tier::UrlFetcher, which guards what may be fetched). Data is copied in the
// kernel (copy_file_range), on the server's worker pool (routes.cc). Copy
// Blob of a source (local, or on another host) at or above the background
// threshold answers at once with x-ms-copy-status: pending and copies in
// the background (copy_jobs.h), as Azure does; every other copy completes
// before the response (x-ms-copy-status: success).
#include "api/conditions.h"
#include "api/context.h"
#include "api/copy_jobs.h"
#include "common/crypto.h"
#include "common/strings.h"
#include "ns/names.h"
#include "tier/url_fetch.h"

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
    if (refuse_pending && old->rec.CopyStatus(ctx.now) == "pending")
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

// Copy Blob in the background: under the destination's lock, checks the
// destination as a synchronous copy does, reserves the background copy
// (*ticket) and publishes the destination as a zero-length blob with the
// new properties, metadata and copy state (pending), which fills *ph.
// `rec` is the record the finished copy commits (its created time is set).
std::optional<http::Response> PublishPendingCopy(Ctx& ctx, ns::BlobRecord* rec,
                                                 std::unique_ptr<CopyTicket>* ticket,
                                                 ns::BlobRecord* ph) {
  CopyJobs& jobs = *ctx.account->copies;
  ns::Store& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto old = store.Head(ctx.container, ctx.blob);
  if (auto e = CheckCopyDestination(ctx, old, true, rec)) return *e;
  bool exists = old.ok();
  Status s;
  *ticket = jobs.Begin(&store, ctx.container, ctx.blob, rec->copy_id, &s);
  if (!*ticket) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  *ph = *rec;
  ph->content_md5.clear();
  ph->committed_blocks.clear();
  ph->append_block_count = 0;
  ph->copy_status = "pending";
  ph->copy_completion = 0;
  ph->copy_progress = 0;
  ph->etag = ns::NewEtag();
  ph->last_modified = ctx.now;
  ph->created = exists ? old->rec.created : ctx.now;
  std::string tmp = store.NewTempPath(ctx.container);
  auto f = store.fs()->OpenWrite(tmp, true, true);
  s = f.status();
  if (s.ok()) {
    f->reset();
    s = store.Commit(ctx.container, ctx.blob, tmp, *ph, true, ctx.may_replace);
    if (!s.ok()) (void)store.fs()->Unlink(tmp);
  }
  if (!s.ok()) {
    jobs.Cancel(std::move(*ticket));
    if (!ctx.may_replace && s.kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
    return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  }
  rec->created = ph->created;
  return std::nullopt;
}

// The 202 of a copy that goes on in the background.
http::Response PendingAnswer(const ns::BlobRecord& ph) {
  http::Response r;
  r.status = 202;
  SetEtagHeaders(r, ph.etag, ph.last_modified);
  r.Set("x-ms-copy-id", ph.copy_id);
  r.Set("x-ms-copy-status", "pending");
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

// Copy Blob of a large local source, copied in the background.
http::Response StartPendingCopy(Ctx& ctx, ns::Store::OpenBlob source, ns::BlobRecord rec) {
  uint64_t size = source.info->st.size;
  std::unique_ptr<CopyTicket> ticket;
  ns::BlobRecord ph;
  if (auto e = PublishPendingCopy(ctx, &rec, &ticket, &ph)) return *e;
  ctx.account->copies->Submit(std::move(ticket), std::move(source.file), size, std::move(rec));
  return PendingAnswer(ph);
}

// The most a copy reads from another host in one request: Azure's limits
// for Copy Blob From URL (256 MiB) and Put Blob From URL (5000 MiB), and
// for Copy Blob its largest block blob (50,000 blocks of 4000 MiB). Copy
// Blob of a source under the background threshold (and 256 MiB) is served
// before the response, as a local one is.
constexpr uint64_t kMaxSyncCopy = 256ull << 20;
constexpr uint64_t kMaxPutFromUrl = 5000ull << 20;
constexpr uint64_t kMaxBlob = 50000ull * (4000ull << 20);

// A refusal about the source of a From-URL copy, with the source's own
// status and error code when it answered (x-ms-copy-source-status-code,
// x-ms-copy-source-error-code, as Azure reports them).
// The x-ms-source-* conditions against what a remote source answered.
std::optional<http::Response> CheckRemoteSourceConditions(const Ctx& ctx,
                                                          const tier::FetchResult& f) {
  Conditions sc = ParseConditions(*ctx.req, "x-ms-source-");
  if (!sc.any()) return std::nullopt;
  std::string etag = f.Header("etag").value_or("");
  if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
  TimeNs lm = 0;
  if (auto h = f.Header("last-modified")) lm = ParseHttpDate(*h).value_or(0);
  if (Evaluate(sc, true, etag, lm, false) != CondOutcome::kOk)
    return ErrorResponse(AzError::kSourceConditionNotMet);
  return std::nullopt;
}

// Opens the authorized source on this server (in ctx's account or another
// one of this server, whose context `src_ctx` becomes) and checks the
// x-ms-source-* conditions. A missing source is 404 BlobNotFound for the
// asynchronous Copy Blob, else Azure's pass-through of its read: 404
// CannotVerifyCopySource.
std::optional<http::Response> OpenLocalSource(const Ctx& ctx, bool async, Ctx* src_ctx,
                                              std::optional<ns::Store::OpenBlob>* out) {
  const SourceRef& src = ctx.source;
  if (src.account) src_ctx->account = src.account;
  auto opened = src_ctx->store().Open(src.container, src.blob);
  if (!opened.ok()) {
    if (async) return ErrorResponse(AzError::kBlobNotFound, "The copy source does not exist.");
    http::Response r = ErrorResponse(AzError::kCannotVerifyCopySource,
                                     "The specified blob does not exist.");
    r.status = 404;
    return r;
  }
  *out = std::move(*opened);
  const ns::BlobRecord& rec = (*out)->info->rec;
  Conditions sc = ParseConditions(*ctx.req, "x-ms-source-");
  if (Evaluate(sc, true, rec.etag, rec.last_modified, false) != CondOutcome::kOk)
    return ErrorResponse(AzError::kSourceConditionNotMet);
  return std::nullopt;
}

// Commits the copied bytes at `tmp` as the destination with `rec` (the
// caller holds the destination's lock) and answers: 201 for Put Blob From
// URL, else 202 with the copy id and status. A caller that proved only `c`
// never replaces a blob, even one that appeared meanwhile (RENAME_NOREPLACE).
http::Response CommitCopy(Ctx& ctx, CopyKind kind, const std::string& tmp, ns::BlobRecord rec) {
  auto old = ctx.store().Head(ctx.container, ctx.blob);
  if (auto e = CheckCopyDestination(ctx, old, kind != CopyKind::kPutFromUrl, &rec)) return *e;
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  rec.created = old.ok() ? old->rec.created : ctx.now;
  Status s = ctx.store().Commit(ctx.container, ctx.blob, tmp, rec, true, ctx.may_replace);
  if (!ctx.may_replace && s.kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  ctx.req->body_file.clear();
  http::Response r;
  r.status = kind == CopyKind::kPutFromUrl ? 201 : 202;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  if (kind != CopyKind::kPutFromUrl) {
    r.Set("x-ms-copy-id", rec.copy_id);
    r.Set("x-ms-copy-status", rec.copy_status);
  }
  if (!rec.content_md5.empty()) r.Set("Content-MD5", Base64Encode(rec.content_md5));
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

http::Response SourceFailure(const tier::FetchResult& f) {
  using Kind = tier::FetchResult::Kind;
  if (f.kind == Kind::kHttpError && (f.status == 304 || f.status == 412))
    return ErrorResponse(AzError::kSourceConditionNotMet);
  if (f.kind == Kind::kBusy) return ErrorResponse(AzError::kServerBusy, f.detail);
  http::Response r = ErrorResponse(AzError::kCannotVerifyCopySource, f.detail);
  switch (f.kind) {
    case Kind::kRefused: break;  // 403: not a source this server may read
    case Kind::kHttpError:
      // The source's 4xx passes through (404, 403, ...); anything else
      // (a redirect, a 5xx) is a source that cannot be verified: 409.
      r.status = f.status >= 400 && f.status < 500 ? static_cast<int>(f.status) : 409;
      break;
    default: r.status = 409; break;
  }
  if (f.status != 0) {
    r.Set("x-ms-copy-source-status-code", std::to_string(f.status));
    if (!f.error_code.empty()) r.Set("x-ms-copy-source-error-code", f.error_code);
  }
  return r;
}

// A copy from another host: fetched on this worker thread into a staged
// file (never whole in memory), within the fetcher's guard and the
// operation's size limit, then committed as a local copy is. The request's
// credentials are never sent: only the URL (with its own SAS), the service
// version and the source conditions.
//
// Copy Blob (kAsync) reserves a fetch slot first and reads the source's
// answer here, so that a refused address, a missing source or a failed
// condition is answered before any 202, as Azure checks its source. A
// source that announces fewer bytes than the background threshold (and
// 256 MiB) is copied before the response, as a local one is; any other is
// fetched again in the background (CopyJobs::SubmitRemote, pinned to the
// ETag it answered with) and answered 202 pending at once.
http::Response RemoteCopy(Ctx& ctx, CopyKind kind) {
  const SourceRef* src = &ctx.source;
  const tier::UrlFetcher* fetcher = ctx.account->fetcher;
  if (!fetcher) {
    tier::FetchResult no;
    no.kind = tier::FetchResult::Kind::kRefused;
    no.detail = "This server copies only from its own accounts.";
    return SourceFailure(no);
  }
  ns::Metadata meta;
  AzError err;
  if (!ParseMetadata(*ctx.req, &meta, &err)) return ErrorResponse(err);
  if (auto tier = ctx.H("x-ms-access-tier"); tier && *tier != "Hot")
    return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-access-tier");
  // Nothing is fetched for a destination that cannot take it.
  if (!ctx.store().GetContainer(ctx.container).ok()) return ErrorResponse(AzError::kContainerNotFound);
  std::string want_md5;
  if (auto m = ctx.H("x-ms-source-content-md5")) {
    auto raw = Base64Decode(*m);
    if (!raw || raw->size() != 16) return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-source-content-md5");
    want_md5 = std::move(*raw);
  }

  tier::FetchRequest fr;
  fr.url = src->url;
  fr.max_bytes = kind == CopyKind::kPutFromUrl ? kMaxPutFromUrl : kMaxSyncCopy;
  std::unique_ptr<tier::FetchSlot> slot;
  bool background = false;
  uint64_t sync_limit = kMaxSyncCopy;
  if (kind == CopyKind::kAsync && ctx.account->copies) {
    slot = fetcher->Reserve();
    if (!slot) {
      tier::FetchResult busy;
      busy.kind = tier::FetchResult::Kind::kBusy;
      busy.detail = "Too many copies from other hosts are running; retry later.";
      return SourceFailure(busy);
    }
    fr.slot = slot.get();
    fr.max_bytes = kMaxBlob;
    sync_limit = std::min(sync_limit, ctx.account->copies->options().threshold);
    fr.on_response = [&background, sync_limit](const tier::FetchResult& answer) {
      auto len = answer.Header("content-length");
      auto n = len ? ParseUint(*len) : std::nullopt;
      background = !n || *n >= sync_limit;
      return !background;
    };
  }
  if (fetcher->policy().max_bytes) fr.max_bytes = std::min(fr.max_bytes, fetcher->policy().max_bytes);
  fr.headers.emplace_back("x-ms-version", "2021-08-06");
  // The source conditions go to the source, and are checked again below on
  // what it answered (a source may ignore them).
  for (const char* name : {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"})
    if (auto v = ctx.H(std::string("x-ms-source-") + name)) fr.headers.emplace_back(name, *v);
  std::string tmp = ctx.store().NewTempPath(ctx.container);
  auto out = ctx.store().fs()->OpenWrite(tmp, true, true);
  if (!out.ok()) return ErrorResponse(AzError::kInternalError, out.status().message());
  ctx.req->body_file = tmp;  // removed by the server unless committed
  Md5Hasher md5;
  File* file = out->get();
  fr.sink = [file, &md5](const char* data, size_t n) {
    md5.Update(data, n);
    return file->Append(data, n).ok();
  };
  tier::FetchResult f = fetcher->Fetch(fr);
  out->reset();
  if (background && f.kind == tier::FetchResult::Kind::kStopped)
    f.kind = tier::FetchResult::Kind::kOk;  // its answer is in; the body comes later
  if (f.kind != tier::FetchResult::Kind::kOk) return SourceFailure(f);
  std::string digest = md5.Final();
  if (!background && !want_md5.empty() && want_md5 != digest)
    return ErrorResponse(AzError::kMd5Mismatch);

  if (auto e = CheckRemoteSourceConditions(ctx, f)) return *e;

  ns::BlobRecord rec;
  rec.blob_type = "BlockBlob";
  rec.content_type = f.Header("content-type").value_or("application/octet-stream");
  rec.content_encoding = f.Header("content-encoding").value_or("");
  rec.content_language = f.Header("content-language").value_or("");
  rec.content_disposition = f.Header("content-disposition").value_or("");
  rec.cache_control = f.Header("cache-control").value_or("");
  // The source's own Content-MD5 when it sent one for these bytes; else the
  // digest of what arrived.
  auto source_md5 = f.Header("content-md5");
  auto source_md5_raw = source_md5 ? Base64Decode(*source_md5) : std::nullopt;
  rec.content_md5 = source_md5_raw && source_md5_raw->size() == 16 ? *source_md5_raw : digest;
  if (kind == CopyKind::kPutFromUrl) {
    rec.metadata = std::move(meta);
    auto copy_props = ctx.H("x-ms-copy-source-blob-properties");
    ApplyContentHeaders(ctx, &rec, copy_props && *copy_props == "false");
  } else {
    if (meta.empty()) {
      for (const auto& [name, value] : f.metadata) meta.emplace_back(name, value);
    }
    rec.metadata = std::move(meta);
    rec.copy_id = NewCopyId();
    rec.copy_source = src->url.substr(0, src->url.find('?'));
    rec.copy_status = "success";
    rec.copy_completion = ctx.now;
    rec.copy_length = f.bytes;
  }
  if (background) {
    auto len = f.Header("content-length");
    CopyJobs::RemoteSource rs;
    rs.fetcher = fetcher;
    rs.url = src->url;
    rs.max_bytes = fr.max_bytes;
    rs.size = len ? ParseUint(*len) : std::nullopt;
    rs.headers.emplace_back("x-ms-version", "2021-08-06");
    // The same version of the source as was checked, when it has an ETag;
    // else the request's own conditions again.
    if (auto etag = f.Header("etag")) {
      rs.headers.emplace_back("if-match", *etag);
    } else {
      for (const auto& [name, value] : fr.headers)
        if (name != "x-ms-version") rs.headers.emplace_back(name, value);
    }
    rec.content_md5.clear();
    rec.copy_length = rs.size.value_or(0);
    std::unique_ptr<CopyTicket> ticket;
    ns::BlobRecord ph;
    if (auto e = PublishPendingCopy(ctx, &rec, &ticket, &ph)) return *e;
    rs.slot = std::move(slot);
    ctx.account->copies->SubmitRemote(std::move(ticket), std::move(rs), std::move(rec));
    return PendingAnswer(ph);
  }
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  return CommitCopy(ctx, kind, tmp, std::move(rec));
}

http::Response DoCopy(Ctx& ctx, CopyKind kind) {
  // The front door parsed, confined and authorized the source (api/sources.h).
  const SourceRef* src = &ctx.source;
  if (src->remote) return RemoteCopy(ctx, kind);
  const std::string& url = src->url;
  Ctx src_ctx = ctx;
  std::optional<ns::Store::OpenBlob> source;
  if (auto e = OpenLocalSource(ctx, kind == CopyKind::kAsync, &src_ctx, &source)) return *e;
  // Copy Blob of an archived source whose data is here rehydrates by copy
  // ("Rehydrate an archived blob to an online tier"; REST "Copy Blob"): to
  // another blob, in the online tier x-ms-access-tier names. The destination
  // is an archived blob rehydrating to that tier (x-ms-archive-status), its
  // copy pending until the rehydration completes after the account's
  // rehydrate delay, as Set Blob Tier's does. Without an online tier, over
  // the source itself, or synchronously (Copy Blob From URL, Put Blob From
  // URL): 409 BlobArchived, as for any read of it.
  const ns::BlobRecord& src_rec = source->info->rec;
  std::optional<std::string> rehydrate_to;
  std::string priority = "Standard";
  if (kind == CopyKind::kAsync && src_rec.Archived(ctx.now) &&
      src_rec.tier_state != ns::BlobRecord::TierState::kArchived) {
    auto tier = ctx.H("x-ms-access-tier");
    auto t = tier ? ParseAccessTier(*tier) : std::nullopt;
    bool same_blob = src_ctx.account == ctx.account && src->container == ctx.container &&
                     src->blob == ctx.blob;
    if (t && *t != "Archive" && !same_blob) rehydrate_to = *t;
    if (auto p = ctx.H("x-ms-rehydrate-priority")) {
      if (IEquals(*p, "High")) priority = "High";
      else if (!IEquals(*p, "Standard"))
        return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-rehydrate-priority");
    }
  }
  if (!rehydrate_to) {
    if (src_rec.Archived(ctx.now) && kind == CopyKind::kAsync)
      return ArchivedResponse(src_rec, ctx.now);
    if (auto e = NeedLocalData(src_ctx, src->container, src->blob, src_rec))
      return ErrorResponse(*e);
  }
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
    if (!t) return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-access-tier");
    if (rec.blob_type == "BlockBlob") {
      rec.tier = *t;
      rec.tier_change_time = ctx.now;
    }
  }
  if (rehydrate_to && rec.blob_type == "BlockBlob") {
    rec.tier = "Archive";
    rec.rehydrate_to = *rehydrate_to;
    rec.rehydrate_priority = priority;
    TimeNs delay = ctx.account->rehydrate_delay;
    if (priority == "High") delay /= 10;
    rec.rehydrate_done = ctx.now + (delay > 0 ? delay : 1);
    rec.copy_status = "pending";
    rec.copy_completion = 0;
    rec.copy_progress = 0;
  }
  // A rehydrating copy copies its bytes now, on this worker: its wait is
  // the rehydration's.
  if (kind == CopyKind::kAsync && ctx.account->copies && !rehydrate_to &&
      source->info->st.size >= ctx.account->copies->options().threshold)
    return StartPendingCopy(ctx, std::move(*source), std::move(rec));

  std::string tmp = ctx.store().NewTempPath(ctx.container);
  auto out = ctx.store().fs()->OpenWrite(tmp, true, true);
  if (!out.ok()) return ErrorResponse(AzError::kInternalError, out.status().message());
  ctx.req->body_file = tmp;  // removed by the server unless committed
  Status s = (*out)->CopyFrom(*source->file, 0, 0, source->info->st.size);
  out->reset();
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));

  bool same = src_ctx.account == ctx.account && src->container == ctx.container &&
              src->blob == ctx.blob;
  ns::Store::Lock lock;
  if (!same) lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  return CommitCopy(ctx, kind, tmp, std::move(rec));
}

}  // namespace

http::Response CopyBlob(Ctx& ctx) { return DoCopy(ctx, CopyKind::kAsync); }
http::Response CopyBlobFromUrl(Ctx& ctx) { return DoCopy(ctx, CopyKind::kSync); }
http::Response PutBlobFromUrl(Ctx& ctx) { return DoCopy(ctx, CopyKind::kPutFromUrl); }

// Put Block From URL: block `blockid` of the destination staged from the
// source's bytes (x-ms-source-range "bytes=START-END", else all of them),
// read from an account of this server or fetched from another host
// (tier::UrlFetcher), streamed into a staged file, up to 4000 MiB as on
// Azure. Answered 201 with the block's Content-MD5.
http::Response PutBlockFromUrl(Ctx& ctx) {
  constexpr uint64_t kMaxBlock = 4000ull << 20;
  auto id_b64 = ctx.Q("blockid");
  if (!id_b64) return QueryError(AzError::kMissingRequiredQueryParameter, *ctx.req, "blockid");
  auto id = Base64Decode(*id_b64);
  if (!id || id->empty() || id->size() > 64)
    return ErrorResponse(AzError::kInvalidQueryParameterValue,
                         "blockid must be Base64 of at most 64 bytes.");
  // x-ms-source-range: "bytes=START-END", both inclusive and given.
  std::optional<std::pair<uint64_t, uint64_t>> range;
  if (auto h = ctx.H("x-ms-source-range")) {
    std::string_view v = *h;
    size_t dash = v.find('-');
    auto a = StartsWith(v, "bytes=") && dash != std::string_view::npos
                 ? ParseUint(v.substr(6, dash - 6)) : std::nullopt;
    auto b = a ? ParseUint(v.substr(dash + 1)) : std::nullopt;
    if (!a || !b || *b < *a) return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-source-range");
    range = std::make_pair(*a, *b - *a + 1);
    if (range->second > kMaxBlock) return ErrorResponse(AzError::kRequestBodyTooLarge);
  }
  std::string want_md5;
  if (auto m = ctx.H("x-ms-source-content-md5")) {
    auto raw = Base64Decode(*m);
    if (!raw || raw->size() != 16)
      return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-source-content-md5");
    want_md5 = std::move(*raw);
  }
  if (!ctx.store().GetContainer(ctx.container).ok()) return ErrorResponse(AzError::kContainerNotFound);
  const SourceRef* src = &ctx.source;
  std::string tmp = ctx.store().NewTempPath(ctx.container);
  auto out = ctx.store().fs()->OpenWrite(tmp, true, true);
  if (!out.ok()) return ErrorResponse(AzError::kInternalError, out.status().message());
  ctx.req->body_file = tmp;  // removed by the server unless stored
  Md5Hasher md5;
  if (src->remote) {
    const tier::UrlFetcher* fetcher = ctx.account->fetcher;
    tier::FetchResult f;
    if (!fetcher) {
      f.kind = tier::FetchResult::Kind::kRefused;
      f.detail = "This server copies only from its own accounts.";
      return SourceFailure(f);
    }
    tier::FetchRequest fr;
    fr.url = src->url;
    fr.max_bytes = range ? range->second : kMaxBlock;
    if (fetcher->policy().max_bytes) fr.max_bytes = std::min(fr.max_bytes, fetcher->policy().max_bytes);
    fr.headers.emplace_back("x-ms-version", "2021-08-06");
    if (range)
      fr.headers.emplace_back("x-ms-range", "bytes=" + std::to_string(range->first) + "-" +
                                                std::to_string(range->first + range->second - 1));
    for (const char* name : {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"})
      if (auto v = ctx.H(std::string("x-ms-source-") + name)) fr.headers.emplace_back(name, *v);
    File* file = out->get();
    fr.sink = [file, &md5](const char* data, size_t n) {
      md5.Update(data, n);
      return file->Append(data, n).ok();
    };
    f = fetcher->Fetch(fr);
    if (f.kind != tier::FetchResult::Kind::kOk) return SourceFailure(f);
    // A source that ignored the range (a 200 of another length) is no block.
    if (range && f.bytes != range->second) {
      f.kind = tier::FetchResult::Kind::kFailed;
      f.detail = "The copy source did not send the range asked for.";
      return SourceFailure(f);
    }
    if (auto e = CheckRemoteSourceConditions(ctx, f)) return *e;
  } else {
    Ctx src_ctx = ctx;
    std::optional<ns::Store::OpenBlob> source;
    if (auto e = OpenLocalSource(ctx, false, &src_ctx, &source)) return *e;
    if (auto e = NeedLocalData(src_ctx, src->container, src->blob, source->info->rec))
      return ErrorResponse(*e);
    uint64_t size = source->info->st.size;
    uint64_t off = range ? range->first : 0;
    if (range && off >= size) return ErrorResponse(AzError::kInvalidRange);
    uint64_t len = range ? std::min(range->second, size - off) : size;
    if (len > kMaxBlock) return ErrorResponse(AzError::kRequestBodyTooLarge);
    std::string buf(1 << 20, '\0');
    for (uint64_t done = 0; done < len;) {
      auto n = (*source->file).PRead(buf.data(), std::min<uint64_t>(buf.size(), len - done), off + done);
      if (!n.ok() || *n == 0)
        return ErrorResponse(AzError::kInternalError, "The copy source could not be read.");
      md5.Update(buf.data(), *n);
      Status s = (*out)->Append(buf.data(), *n);
      if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
      done += *n;
    }
  }
  out->reset();
  std::string digest = md5.Final();
  if (!want_md5.empty() && want_md5 != digest) return ErrorResponse(AzError::kMd5Mismatch);
  if (auto e = StoreStagedBlock(ctx, *id, nullptr, tmp)) return *e;
  ctx.req->body_file.clear();
  http::Response r;
  r.status = 201;
  r.Set("Content-MD5", Base64Encode(digest));
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

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
  if (info->rec.CopyStatus(ctx.now) != "pending")
    return ErrorResponse(AzError::kNoPendingCopyOperation);
  if (info->rec.copy_id != *id) return ErrorResponse(AzError::kCopyIdMismatch);
  // The destination stays as the copy began it: zero length, with the new
  // properties and metadata. The job (on whatever gateway) sees the status
  // at its next step and removes what it staged.
  ns::BlobRecord rec = info->rec;
  rec.copy_status = "aborted";
  rec.copy_completion = ctx.now;
  // An aborted rehydrating copy leaves its destination archived.
  rec.rehydrate_to.clear();
  rec.rehydrate_priority.clear();
  rec.rehydrate_done = 0;
  Status s = store.UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  if (ctx.account->copies) ctx.account->copies->Aborted(*id);
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace strata::api
