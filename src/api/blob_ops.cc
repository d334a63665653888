// Blob operations: Put Blob, Get Blob, properties, metadata, delete, tier.
#include <fcntl.h>
#include <unistd.h>

#include "api/conditions.h"
#include "api/context.h"
#include "api/range.h"
#include "common/crypto.h"
#include "common/strings.h"

namespace strata::api {

namespace {

constexpr uint64_t kMaxRangeMd5 = 4 << 20;

// hns: the request's version shows an HNS account's path kind (2020-10-02
// on, as List Blobs' ResourceType).
void BlobHeaders(http::Response& r, const ns::BlobInfo& info, TimeNs now, bool hns) {
  const ns::BlobRecord& rec = info.rec;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  r.Set("Content-Type", rec.content_type.empty() ? "application/octet-stream" : rec.content_type);
  if (!rec.content_encoding.empty()) r.Set("Content-Encoding", rec.content_encoding);
  if (!rec.content_language.empty()) r.Set("Content-Language", rec.content_language);
  if (!rec.cache_control.empty()) r.Set("Cache-Control", rec.cache_control);
  if (!rec.content_disposition.empty()) r.Set("Content-Disposition", rec.content_disposition);
  r.Set("x-ms-blob-type", rec.blob_type);
  HttpDateBuf created;
  r.Set("x-ms-creation-time", HttpDate(rec.created ? rec.created : rec.last_modified, &created));
  SetMetadataHeaders(r, rec.metadata);
  LeaseHeaders(r, rec.lease, now);
  r.Set("Accept-Ranges", "bytes");
  r.Set("x-ms-server-encrypted", "true");
  // Every strata account has a hierarchical namespace, and Azure names the
  // path's kind on an HNS account's blob reads (recorded HEAD of the blob
  // endpoint at 2021-06-08; absent at 2019-02-02). A blob here is a file;
  // directories are answered by dfs::DirectoryAsBlob.
  if (hns) r.Set("x-ms-resource-type", "file");
  if (rec.blob_type == "AppendBlob")
    r.Set("x-ms-blob-committed-block-count", std::to_string(rec.append_block_count));
  // Only a sealed blob carries it (Azure's recorded responses: absent, not
  // "false", on an unsealed append blob).
  if (rec.sealed) r.Set("x-ms-blob-sealed", "true");
  if (!rec.copy_id.empty()) {
    r.Set("x-ms-copy-id", rec.copy_id);
    std::string_view status = rec.CopyStatus(now);
    r.Set("x-ms-copy-status", status);
    r.Set("x-ms-copy-source", rec.copy_source);
    // A concluded copy shows its progress whole; a pending, failed or
    // aborted one what it had copied (copy_jobs.h).
    uint64_t done = status == "success" ? rec.copy_length : rec.copy_progress;
    r.Set("x-ms-copy-progress", std::to_string(done) + "/" + std::to_string(rec.copy_length));
    if (status != "pending")
      r.Set("x-ms-copy-completion-time", FormatHttpDate(rec.CopyCompletion(now)));
    if (!rec.copy_status_description.empty())
      r.Set("x-ms-copy-status-description", rec.copy_status_description);
  }
}

// A service SAS's response-header overrides (rscc, rscd, rsce, rscl, rsct:
// signed with it, see auth/sas.cc) replace the blob's own headers in Get
// Blob and Get Blob Properties responses, as on Azure ("Create a service
// SAS": specify query parameters to override response headers). An account
// SAS signs none of them, so none apply; requests without a service SAS pay
// one comparison.
void ApplySasOverrides(const Ctx& ctx, http::Response& r) {
  if (ctx.scheme != auth::Scheme::kServiceSas && ctx.scheme != auth::Scheme::kUserDelegationSas)
    return;
  static constexpr std::pair<const char*, const char*> kOverrides[] = {
      {"rscc", "Cache-Control"},    {"rscd", "Content-Disposition"}, {"rsce", "Content-Encoding"},
      {"rscl", "Content-Language"}, {"rsct", "Content-Type"}};
  for (const auto& [param, header] : kOverrides) {
    if (const std::string_view* v = ctx.req->FindQuery(param); v && !v->empty())
      r.Replace(header, *v);
  }
}

// Read conditions and the lease id check for reads.
std::optional<http::Response> CheckRead(const Ctx& ctx, const ns::BlobInfo& info) {
  if (auto id = ctx.H("x-ms-lease-id")) {
    if (!info.rec.lease.Held(ctx.now)) return ErrorResponse(AzError::kLeaseNotPresentWithBlobOperation);
    if (!info.rec.lease.Is(*id)) return ErrorResponse(AzError::kLeaseIdMismatchWithBlobOperation);
  }
  Conditions c = ParseConditions(*ctx.req);
  // Azure refuses "If-None-Match: *" on a read outright: no blob that can
  // be read matches it, so the read could never succeed.
  if (c.if_none_match && Trim(*c.if_none_match) == "*")
    return ErrorResponse(AzError::kUnsatisfiableCondition);
  CondOutcome o = Evaluate(c, true, info.rec.etag, info.rec.last_modified, true);
  if (o == CondOutcome::kNotModified) {
    http::Response r;
    r.status = 304;
    SetEtagHeaders(r, info.rec.etag, info.rec.last_modified);
    r.Set("x-ms-error-code", "ConditionNotMet");
    return r;
  }
  if (o == CondOutcome::kFailed) return ErrorResponse(AzError::kConditionNotMet);
  return std::nullopt;
}

}  // namespace

// Fills the content headers of a record from x-ms-blob-content-* headers.
void ApplyContentHeaders(const Ctx& ctx, ns::BlobRecord* rec, bool reset) {
  auto set = [&](const char* h, std::string* field) {
    auto v = ctx.H(h);
    if (v) *field = *v;
    else if (reset) field->clear();
  };
  set("x-ms-blob-content-type", &rec->content_type);
  set("x-ms-blob-content-encoding", &rec->content_encoding);
  set("x-ms-blob-content-language", &rec->content_language);
  set("x-ms-blob-content-disposition", &rec->content_disposition);
  set("x-ms-blob-cache-control", &rec->cache_control);
}

// Creates an empty staged file when a request carried no body.
Result<std::string> StagedBody(Ctx& ctx) {
  if (!ctx.req->body_file.empty()) return ctx.req->body_file;
  std::string tmp = ctx.store().NewTempPath(ctx.container);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create staged file");
  ::close(fd);
  ctx.req->body_file = tmp;  // the server removes it if it is not committed
  return tmp;
}

http::Response PutBlob(Ctx& ctx) {
  auto type = ctx.H("x-ms-blob-type");
  if (!type) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-blob-type");
  if (*type != "BlockBlob" && *type != "AppendBlob") {
    if (*type == "PageBlob")
      return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-blob-type",
                         "Page blobs are not supported by strata.");
    return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-blob-type");
  }
  if (*type == "AppendBlob" && ctx.req->body_size != 0)
    return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "Content-Length",
                       "Content-Length must be 0 for an append blob.");
  if (auto e = CheckContentMd5(ctx)) return ErrorResponse(*e);
  if (auto e = CheckContentCrc64(ctx)) return ErrorResponse(*e);
  ns::BlobRecord rec;
  rec.blob_type = *type;
  ApplyContentHeaders(ctx, &rec, true);
  // Put Blob also stores the standard headers Azure documents for it,
  // where the x-ms-blob-* form is absent (Content-Disposition has none).
  auto standard = [&ctx](const char* h, std::string* field) {
    if (!field->empty()) return;
    if (const std::string* v = ctx.req->FindHeader(h)) *field = *v;
  };
  if (!ctx.req->FindHeader("x-ms-blob-content-type")) standard("content-type", &rec.content_type);
  if (!ctx.req->FindHeader("x-ms-blob-content-encoding"))
    standard("content-encoding", &rec.content_encoding);
  if (!ctx.req->FindHeader("x-ms-blob-content-language"))
    standard("content-language", &rec.content_language);
  if (!ctx.req->FindHeader("x-ms-blob-cache-control")) standard("cache-control", &rec.cache_control);
  if (rec.content_type.empty()) rec.content_type = "application/octet-stream";
  AzError err;
  if (!ParseMetadata(*ctx.req, &rec.metadata, &err)) return ErrorResponse(err);
  if (auto md5 = ctx.H("x-ms-blob-content-md5")) {
    // For Put Blob the blob's MD5 is checked against the body, as
    // Content-MD5 is, and it is the one stored when both are sent.
    auto raw = Base64Decode(*md5);
    if (!raw || raw->size() != 16) return ErrorResponse(AzError::kInvalidMd5);
    std::string body_md5 = ctx.req->body_md5.empty() ? Md5("") : ctx.req->body_md5;
    if (*type == "BlockBlob" && *raw != body_md5) return ErrorResponse(AzError::kMd5Mismatch);
    rec.content_md5 = *raw;
  } else if (*type == "BlockBlob") {
    rec.content_md5 = ctx.req->body_md5.empty() ? Md5("") : ctx.req->body_md5;
  }
  if (auto tier = ctx.H("x-ms-access-tier")) {
    auto t = ParseAccessTier(*tier);
    if (!t) return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-access-tier");
    if (*type == "BlockBlob") {  // only block blobs have an access tier
      rec.tier = *t;
      rec.tier_change_time = ctx.now;
    }
  }
  auto staged = StagedBody(ctx);
  if (!staged.ok()) return ErrorResponse(FromStatus(staged.status(), true), PublicDetail(staged.status()));

  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto old = ctx.store().Head(ctx.container, ctx.blob);
  if (!old.ok() && old.status().kind() == ErrorKind::kContainerNotFound)
    return ErrorResponse(AzError::kContainerNotFound);
  bool exists = old.ok();
  if (exists && !ctx.may_replace) return ReplaceRefused();
  if (exists) {
    if (auto e = CheckBlobLeaseForWrite(ctx, old->rec.lease)) return ErrorResponse(*e);
    rec.lease = old->rec.lease;
    rec.created = old->rec.created;
    if (*type == "BlockBlob" && !ctx.H("x-ms-access-tier")) KeepTier(old->rec, ctx.now, &rec);
  } else if (ctx.H("x-ms-lease-id")) {
    return ErrorResponse(AzError::kLeaseNotPresentWithBlobOperation);
  }
  if (auto e = CheckWriteConditions(ctx, exists, exists ? old->rec : ns::BlobRecord{}, true))
    return *e;
  // An archived blob cannot be overwritten until it is rehydrated.
  if (exists && old->rec.Archived(ctx.now)) return ArchivedResponse(old->rec, ctx.now);
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  if (!rec.created) rec.created = ctx.now;
  // A create-only caller's commit refuses to replace a blob that appeared
  // since the look above (another gateway, a POSIX writer).
  Status s = ctx.store().Commit(ctx.container, ctx.blob, *staged, rec, true, ctx.may_replace);
  if (!ctx.may_replace && s.kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  ctx.req->body_file.clear();
  if (ctx.account->tier && !rec.tier.empty() && rec.tier != "Hot")  // uploaded straight to a cool tier
    ctx.account->tier->Schedule(tier::CapacityTier::JobKind::kOffload, ctx.container, ctx.blob,
                                rec.tier, rec.etag);
  http::Response r;
  r.status = 201;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  if (!rec.content_md5.empty()) r.Set("Content-MD5", Base64Encode(rec.content_md5));
  if (*type == "BlockBlob" && ServiceVersionHasCrc64(*ctx.req))
    r.Set("x-ms-content-crc64", Base64Encode(BodyCrc64(ctx)));
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

http::Response GetBlob(Ctx& ctx) {
  auto ob = ctx.store().Open(ctx.container, ctx.blob);
  if (!ob.ok()) return NotFound(ob.status());
  const ns::BlobInfo& info = *ob->info;
  if (auto e = CheckRead(ctx, info)) return *e;
  if (info.rec.Archived(ctx.now)) return ArchivedResponse(info.rec, ctx.now);
  uint64_t size = info.st.size;
  http::Response r;
  BlobHeaders(r, info, ctx.now, ServiceVersionAtLeast(*ctx.req, "2020-10-02"));
  ApplySasOverrides(ctx, r);
  std::optional<std::string> range_h = ctx.H("x-ms-range");
  if (!range_h) range_h = ctx.H("range");
  ByteRange range{0, size};
  bool ranged = false;
  if (range_h) {
    RangeParse p = ParseRange(*range_h, size, &range);
    if (p == RangeParse::kUnsatisfiable) {
      http::Response e = ErrorResponse(AzError::kInvalidRange);
      e.Set("Content-Range", "bytes */" + std::to_string(size));
      return e;
    }
    ranged = p == RangeParse::kOk;
    if (!ranged) range = {0, size};
  }
  auto want_md5 = ctx.H("x-ms-range-get-content-md5");
  bool remote = info.rec.tier_state != ns::BlobRecord::TierState::kHot &&
                info.rec.tier_state != ns::BlobRecord::TierState::kPremigrated;
  if (want_md5 && *want_md5 == "true" && remote) {
    // The range's data is remote and an I/O thread may not wait for it.
    if (info.rec.tier_state == ns::BlobRecord::TierState::kArchived)
      return RemoteBody(ctx, info, http::Response{}, 0, 0);  // 409 BlobArchived
    return ErrorResponse(AzError::kServerBusy);
  }
  if (want_md5 && *want_md5 == "true") {
    if (!ranged)
      return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-range-get-content-md5",
                         "It needs a range.");
    // Azure names the header (<HeaderName>), as for x-ms-range-get-content-crc64.
    if (range.length > kMaxRangeMd5)
      return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-range-get-content-md5",
                         "It needs a range of at most 4 MiB.");
    std::string buf(range.length, '\0');
    auto n = ob->file->PRead(buf.data(), buf.size(), range.offset);
    if (!n.ok() || *n != buf.size()) return ErrorResponse(AzError::kInternalError);
    r.Set("Content-MD5", Base64Encode(Md5(buf)));
  } else if (!info.rec.content_md5.empty()) {
    if (!ranged) r.Set("Content-MD5", Base64Encode(info.rec.content_md5));
    else r.Set("x-ms-blob-content-md5", Base64Encode(info.rec.content_md5));
  }
  if (ranged) {
    r.status = 206;
    r.Set("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                               std::to_string(range.offset + range.length - 1) + "/" +
                               std::to_string(size));
  }
  if (ctx.account->tier) NoteAccess(ctx, info);
  if (info.rec.tier_state == ns::BlobRecord::TierState::kOffloaded ||
      info.rec.tier_state == ns::BlobRecord::TierState::kArchived)
    return RemoteBody(ctx, info, std::move(r), range.offset, range.length);
  r.file = http::FileBody{std::shared_ptr<File>(std::move(ob->file)), range.offset, range.length};
  return r;
}

http::Response GetBlobProperties(Ctx& ctx) {
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) {
    http::Response e = NotFound(info.status());
    e.body.clear();  // HEAD: no body, the code is in x-ms-error-code
    return e;
  }
  if (auto e = CheckRead(ctx, *info)) {
    e->head_length = 0;
    return *e;
  }
  http::Response r;
  BlobHeaders(r, *info, ctx.now, ServiceVersionAtLeast(*ctx.req, "2020-10-02"));
  ApplySasOverrides(ctx, r);
  if (!info->rec.content_md5.empty()) r.Set("Content-MD5", Base64Encode(info->rec.content_md5));
  if (info->rec.blob_type == "BlockBlob")
    TierHeaders(r, info->rec, ctx.now, ServiceVersionAtLeast(*ctx.req, "2019-12-12"));
  r.head_length = info->st.size;
  return r;
}

http::Response GetBlobMetadata(Ctx& ctx) {
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (auto e = CheckRead(ctx, *info)) return *e;
  http::Response r;
  SetEtagHeaders(r, info->rec.etag, info->rec.last_modified);
  SetMetadataHeaders(r, info->rec.metadata);
  return r;
}

namespace {
// Shared by Set Blob Properties and Set Blob Metadata: lock, check, mutate,
// new ETag, rewrite the record.
template <typename Mutate>
http::Response UpdateBlob(Ctx& ctx, Mutate mutate) {
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  if (auto e = CheckWriteConditions(ctx, true, info->rec)) return *e;
  // An archived blob's metadata and properties are read-only.
  if (info->rec.Archived(ctx.now)) return ArchivedResponse(info->rec, ctx.now);
  ns::BlobRecord rec = info->rec;
  rec.SettleRehydration(ctx.now);
  if (auto e = mutate(rec)) return *e;
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  Status s = ctx.store().UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  http::Response r;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  r.Set("x-ms-request-server-encrypted", "true");
  if (rec.blob_type == "AppendBlob") r.Set("x-ms-blob-committed-block-count", std::to_string(rec.append_block_count));
  return r;
}
}  // namespace

http::Response SetBlobProperties(Ctx& ctx) {
  return UpdateBlob(ctx, [&ctx](ns::BlobRecord& rec) -> std::optional<http::Response> {
    if (ctx.H("x-ms-blob-content-length") || ctx.H("x-ms-sequence-number-action"))
      return ErrorResponse(AzError::kInvalidBlobType, "Only page blobs can be resized.");
    ApplyContentHeaders(ctx, &rec, true);
    if (auto md5 = ctx.H("x-ms-blob-content-md5")) {
      // Stored as sent: Azure checks only that it is Base64 here, not that
      // it is 16 bytes (the SDKs' users set digests of other lengths).
      auto raw = Base64Decode(*md5);
      if (!raw) return ErrorResponse(AzError::kInvalidMd5);
      rec.content_md5 = *raw;
    } else {
      rec.content_md5.clear();
    }
    return std::nullopt;
  });
}

http::Response SetBlobMetadata(Ctx& ctx) {
  return UpdateBlob(ctx, [&ctx](ns::BlobRecord& rec) -> std::optional<http::Response> {
    ns::Metadata meta;
    AzError err;
    if (!ParseMetadata(*ctx.req, &meta, &err)) return ErrorResponse(err);
    rec.metadata = std::move(meta);
    return std::nullopt;
  });
}

http::Response DeleteBlob(Ctx& ctx) {
  if (ctx.H("x-ms-delete-snapshots") && ctx.Q("snapshot"))
    return ErrorResponse(AzError::kInvalidQueryParameterValue);
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  if (auto e = CheckWriteConditions(ctx, true, info->rec)) return *e;
  Status s = ctx.store().DeleteBlob(ctx.container, ctx.blob);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  http::Response r;
  r.status = 202;
  r.Set("x-ms-delete-type-permanent", "true");
  return r;
}

}  // namespace strata::api
