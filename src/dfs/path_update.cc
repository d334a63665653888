// Path - Update: PATCH ?action=append|flush|setProperties|setAccessControl.
// Appends are staged in the blob's block directory; a flush commits the
// staged file with Store::Commit, so readers see the old or the new data.
#include <algorithm>

#include "api/conditions.h"
#include "common/crypto.h"
#include "common/strings.h"
#include "dfs/append_gaps.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"
#include "dfs/permissions.h"

namespace strata::dfs {

// x-ms-content-* and x-ms-cache-control of dfs requests into the record.
void ApplyPathHeaders(const api::Ctx& ctx, ns::BlobRecord* rec) {
  if (auto v = ctx.H("x-ms-content-type")) rec->content_type = *v;
  if (auto v = ctx.H("x-ms-content-encoding")) rec->content_encoding = *v;
  if (auto v = ctx.H("x-ms-content-language")) rec->content_language = *v;
  if (auto v = ctx.H("x-ms-content-disposition")) rec->content_disposition = *v;
  if (auto v = ctx.H("x-ms-cache-control")) rec->cache_control = *v;
}

namespace {
std::optional<http::Response> CheckWrite(const api::Ctx& ctx, const ns::PathInfo& info) {
  if (auto e = api::CheckBlobLeaseForWrite(ctx, info.rec.lease)) return JsonError(*e);
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (c.any() && api::Evaluate(c, true, info.rec.etag, info.rec.last_modified, false) !=
                     api::CondOutcome::kOk)
    return JsonError(api::AzError::kConditionNotMet);
  return std::nullopt;
}

// The append stage of a file, and where the next appended byte goes: the
// end of what is staged, or of the committed file while nothing is.
struct Stage {
  std::string path;
  bool exists = false;
  uint64_t end = 0;
};
Result<Stage> FindStage(api::Ctx& ctx, const ns::PathInfo& info) {
  auto path = ctx.store().AppendStagePath(ctx.container, ctx.blob);
  if (!path.ok()) return path.status();
  Stage stage{*path};
  auto st = ctx.store().fs()->Stat(stage.path);
  stage.exists = st.ok();
  stage.end = st.ok() ? st->size : info.st.size;
  return stage;
}

// The stage file's holes (append_gaps.h), present only while there are some.
// It lives with the stage, under the blob's lock, so every gateway sees it.
constexpr char kGapsXattr[] = "user.strata.append-gaps";

// Records that [pos, pos + n) was written to the stage at `path` (open as
// `file`) whose end was `end`, out of order; the list goes once empty.
Status RecordGaps(Fs& fs, const std::string& path, File& file, uint64_t end, uint64_t pos,
                  uint64_t n) {
  AppendGaps gaps;
  auto stored = file.GetXattr(kGapsXattr);
  if (stored.ok()) {
    auto parsed = ParseAppendGaps(*stored);
    if (!parsed) return Status(ErrorKind::kIo, "unreadable append gaps of " + path);
    gaps = std::move(*parsed);
  } else if (stored.status().kind() != ErrorKind::kNotFound) {
    return stored.status();
  }
  RecordAppend(&gaps, end, pos, n);
  if (gaps.empty()) return fs.RemoveXattr(path, kGapsXattr);
  return file.SetXattr(kGapsXattr, FormatAppendGaps(gaps));
}

// Where the stage at `path`, which ends at `end`, stops being contiguous:
// the start of its first hole, else its end.
Result<uint64_t> ContiguousEnd(Fs& fs, const std::string& path, uint64_t end) {
  auto stored = fs.GetXattr(path, kGapsXattr);
  if (!stored.ok()) {
    ErrorKind k = stored.status().kind();
    // Without xattrs no hole could be recorded: such appends failed.
    if (k == ErrorKind::kNotFound || k == ErrorKind::kUnsupported) return end;
    return stored.status();
  }
  auto gaps = ParseAppendGaps(*stored);
  if (!gaps) return Status(ErrorKind::kIo, "unreadable append gaps of " + path);
  return gaps->empty() ? end : gaps->front().first;
}

std::optional<uint64_t> Position(const api::Ctx& ctx) {
  auto p = ctx.Q("position");
  if (!p) return std::nullopt;
  return ParseUint(*p);
}

http::Response Append(api::Ctx& ctx) {
  auto pos = Position(ctx);
  if (!ctx.Q("position")) return JsonError(api::AzError::kMissingRequiredQueryParameter, "position");
  if (!pos) return JsonError(api::AzError::kInvalidQueryParameterValue, "position");
  if (auto e = api::CheckContentMd5(ctx)) return JsonError(*e);
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.HeadPath(ctx.container, ctx.blob);
  if (!info.ok()) return PathNotFound(info.status());
  if (info->is_dir) return JsonError(DfsError::kResourceTypeMismatch);
  if (auto e = api::CheckBlobLeaseForWrite(ctx, info->rec.lease)) return JsonError(*e);
  auto stage = FindStage(ctx, *info);
  if (!stage.ok()) return JsonError(api::FromStatus(stage.status(), true), api::PublicDetail(stage.status()));
  Fs* fs = store.fs();
  uint64_t staged = stage->end;
  // Appends may come out of order (parallel uploaders): into a hole or past
  // the end; a flush wants what they wrote to be contiguous. Data before
  // the first hole (committed or staged) is not written again.
  if (*pos < info->st.size) return JsonError(DfsError::kInvalidFlushPosition);
  if (*pos < staged) {
    auto contiguous = ContiguousEnd(*fs, stage->path, staged);
    if (!contiguous.ok())
      return JsonError(api::FromStatus(contiguous.status(), true),
                       api::PublicDetail(contiguous.status()));
    if (*pos < *contiguous) return JsonError(DfsError::kInvalidFlushPosition);
  }
  bool in_order = *pos == staged;
  uint64_t new_end = std::max<uint64_t>(staged, *pos + ctx.req->body_size);
  // Refused now rather than at the flush: the staged bytes would not fit.
  Status quota = store.CheckQuota(
      ctx.container, static_cast<int64_t>(new_end) - static_cast<int64_t>(info->st.size), 0);
  if (!quota.ok()) return JsonError(api::FromStatus(quota, true), api::PublicDetail(quota));
  auto out = fs->OpenWrite(stage->path, true, false);
  if (!out.ok()) return JsonError(api::FromStatus(out.status(), true), api::PublicDetail(out.status()));
  Status s;
  if (!stage->exists && info->st.size > 0) {
    // The first append after a flush starts from the file's committed bytes.
    auto cur = store.Open(ctx.container, ctx.blob);
    if (cur.ok()) {
      if (auto e = api::NeedLocalData(ctx, ctx.container, ctx.blob, cur->info->rec)) {
        out->reset();
        (void)fs->Unlink(stage->path);
        return JsonError(*e);
      }
    }
    s = cur.ok() ? (*out)->CopyFrom(*cur->file, 0, 0, info->st.size) : cur.status();
  }
  if (s.ok() && ctx.req->body_size > 0) {
    auto src = fs->OpenRead(ctx.req->body_file);
    s = src.ok() ? (*out)->CopyFrom(**src, 0, *pos, ctx.req->body_size) : src.status();
  }
  if (s.ok() && !in_order)
    s = RecordGaps(*fs, stage->path, **out, staged, *pos, ctx.req->body_size);
  if (!s.ok()) {
    (void)(*out)->Truncate(staged);
    return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  }
  http::Response r;
  r.status = 202;
  r.Set("x-ms-request-server-encrypted", "true");
  if (!ctx.req->body_md5.empty()) r.Set("Content-MD5", Base64Encode(ctx.req->body_md5));
  return r;
}

http::Response Flush(api::Ctx& ctx) {
  auto pos = Position(ctx);
  if (!ctx.Q("position")) return JsonError(api::AzError::kMissingRequiredQueryParameter, "position");
  if (!pos) return JsonError(api::AzError::kInvalidQueryParameterValue, "position");
  if (ctx.req->body_size != 0)
    return JsonError(api::AzError::kInvalidInput, "A flush has no request body.");
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.HeadPath(ctx.container, ctx.blob);
  if (!info.ok()) return PathNotFound(info.status());
  if (info->is_dir) return JsonError(DfsError::kResourceTypeMismatch);
  if (auto e = CheckWrite(ctx, *info)) return *e;
  auto stage = FindStage(ctx, *info);
  if (!stage.ok()) return JsonError(api::FromStatus(stage.status(), true), api::PublicDetail(stage.status()));
  Fs* fs = store.fs();
  uint64_t length = stage->end;
  // The flush takes the data up to its position, which must be where the
  // appended data stops being contiguous (out-of-order appends past a hole
  // are discarded with the stage). With retainUncommittedData=true it may
  // stop short of that: the rest stays staged (azcopy flushes a large file
  // in steps so, as its own tests against Azure do with --flush-threshold).
  uint64_t contiguous = length;
  if (stage->exists) {
    auto c = ContiguousEnd(*fs, stage->path, length);
    if (!c.ok()) return JsonError(api::FromStatus(c.status(), true), api::PublicDetail(c.status()));
    contiguous = *c;
  }
  bool partial = ctx.Q("retainUncommittedData").value_or("") == "true" && stage->exists &&
                 *pos < contiguous && *pos >= info->st.size;
  if (*pos != contiguous && !partial) return JsonError(DfsError::kInvalidFlushPosition);
  ns::BlobRecord rec = info->rec;
  ApplyPathHeaders(ctx, &rec);
  rec.content_md5.clear();
  // An empty digest header means none (azcopy sends one on every flush).
  if (auto md5 = ctx.H("x-ms-content-md5"); md5 && !Trim(*md5).empty()) {
    auto raw = Base64Decode(*md5);
    if (!raw || raw->size() != 16) return JsonError(api::AzError::kInvalidMd5);
    rec.content_md5 = *raw;
  }
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  Status s;
  if (stage->exists) {
    // The staged file (or, for a partial flush, a copy of its first bytes)
    // becomes the file, keeping its mode and ACL.
    std::string tmp = store.NewTempPath(ctx.container);
    if (partial) {
      ctx.req->body_file = tmp;  // removed by the server unless committed
      auto out = fs->OpenWrite(tmp, true, true);
      auto src = fs->OpenRead(stage->path);
      s = !out.ok()  ? out.status()
          : src.ok() ? (*out)->CopyFrom(**src, 0, 0, *pos)
                     : src.status();
    } else {
      s = fs->Rename(stage->path, tmp);
      if (s.ok()) ctx.req->body_file = tmp;
      if (s.ok() && *pos < length) {
        // Appends past a hole, discarded, and the bookkeeping of the hole.
        auto f = fs->OpenWrite(tmp, false, false);
        s = f.ok() ? (*f)->Truncate(*pos) : f.status();
        if (s.ok()) {
          s = fs->RemoveXattr(tmp, kGapsXattr);
          if (s.kind() == ErrorKind::kNotFound) s = Status();
        }
      }
    }
    if (s.ok()) {
      s = fs->Chmod(tmp, info->st.mode & 07777);
      if (s.ok() && (!info->acl.owner.empty() || !info->acl.group.empty() || !info->acl.acl.empty()))
        s = fs->SetXattr(tmp, "user.strata.acl",
                         info->acl.owner + "\n" + info->acl.group + "\n" + info->acl.acl);
      if (s.ok()) s = store.Commit(ctx.container, ctx.blob, tmp, rec, /*drop_blocks=*/!partial);
      if (s.ok()) ctx.req->body_file.clear();
    }
  } else {
    s = store.UpdateRecord(ctx.container, ctx.blob, rec);
  }
  if (!s.ok()) return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  http::Response r;
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

http::Response SetProperties(api::Ctx& ctx) {
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.HeadPath(ctx.container, ctx.blob);
  if (!info.ok()) return PathNotFound(info.status());
  if (auto e = CheckWrite(ctx, *info)) return *e;
  ns::BlobRecord rec = info->rec;
  if (auto p = ctx.H("x-ms-properties")) {
    ns::Metadata meta;
    if (!ParseProperties(*p, &meta)) return JsonError(DfsError::kInvalidPropertyName);
    rec.metadata = std::move(meta);
  }
  if (!info->is_dir) ApplyPathHeaders(ctx, &rec);
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  Status s = info->is_dir ? store.PutDirRecord(ctx.container, ctx.blob, rec)
                          : store.UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  http::Response r;
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  return r;
}

http::Response SetAccessControl(api::Ctx& ctx) {
  auto owner = ctx.H("x-ms-owner"), group = ctx.H("x-ms-group");
  auto perms = ctx.H("x-ms-permissions"), acl_h = ctx.H("x-ms-acl");
  if (perms && acl_h)
    return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-permissions and x-ms-acl are exclusive.");
  std::optional<uint32_t> mode_bits;
  if (perms) {
    mode_bits = ParsePermissions(*perms);
    if (!mode_bits) return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-permissions");
  }
  std::optional<std::vector<AclEntry>> acl;
  if (acl_h) {
    acl = ParseAcl(*acl_h);
    if (!acl) return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-acl");
  }
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.HeadPath(ctx.container, ctx.blob);
  if (!info.ok()) return PathNotFound(info.status());
  if (auto e = CheckWrite(ctx, *info)) return *e;
  ns::PathAcl stored = info->acl;
  if (owner) stored.owner = *owner;
  if (group) stored.group = *group;
  uint32_t mode = info->st.mode & 07777;
  if (acl) {
    mode = ModeFromAcl(*acl, mode);
    stored.acl = FormatAcl(*acl);
  } else if (mode_bits) {
    mode = *mode_bits;
    std::vector<AclEntry> old;
    if (auto parsed = ParseAcl(stored.acl)) old = std::move(*parsed);
    stored.acl = old.empty() ? "" : FormatAcl(AclWithMode(std::move(old), mode));
  }
  ns::BlobRecord rec = info->rec;
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  std::optional<uint32_t> chmod;
  if (mode != (info->st.mode & 07777)) chmod = mode;
  Status s = store.SetPathAcl(ctx.container, ctx.blob, stored, chmod, rec);
  if (!s.ok()) return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  http::Response r;
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  return r;
}
}  // namespace

http::Response UpdatePath(api::Ctx& ctx) {
  auto action = ctx.Q("action");
  if (!action) return JsonError(api::AzError::kMissingRequiredQueryParameter, "action");
  if (*action == "append") return Append(ctx);
  if (*action == "flush") return Flush(ctx);
  if (*action == "setProperties") return SetProperties(ctx);
  if (*action == "setAccessControl") return SetAccessControl(ctx);
  if (*action == "setAccessControlRecursive") return SetAccessControlRecursive(ctx);
  return JsonError(api::AzError::kInvalidQueryParameterValue, "action");
}

}  // namespace strata::dfs
