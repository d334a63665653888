// Path - Update: PATCH ?action=append|flush|setProperties|setAccessControl.
// Appends are staged in the blob's block directory; a flush commits the
// staged file with Store::Commit, so readers see the old or the new data.
// Appends may arrive in any order (clients such as azcopy upload a file's
// chunks in parallel, as Azure allows): one that starts past the staged end
// is parked beside the stage under its position and joins it once the data
// before it has arrived; a flush needs the data contiguous up to its
// position.
#include "api/conditions.h"
#include "common/crypto.h"
#include "common/strings.h"
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

// Where an append that starts at `pos`, past the staged end, waits.
std::string ParkedPath(const Stage& stage, uint64_t pos) {
  return stage.path + ".at." + std::to_string(pos);
}

// Moves parked appends that now start at `end`, the stage's end, into it,
// in order; returns the new end. A parked file that cannot be joined stays
// parked (the append that got here has succeeded either way).
uint64_t JoinParked(Fs* fs, const Stage& stage, File& out, uint64_t end) {
  for (;;) {
    std::string parked = ParkedPath(stage, end);
    auto src = fs->OpenRead(parked);
    if (!src.ok()) return end;
    auto st = (*src)->Stat();
    if (!st.ok() || st->size == 0) return end;
    if (!out.CopyFrom(**src, 0, end, st->size).ok()) {
      (void)out.Truncate(end);
      return end;
    }
    (void)fs->Unlink(parked);
    end += st->size;
  }
}

// Removes the parked appends of a stage (a flush discards what it did not
// take).
void DropParked(Fs* fs, const Stage& stage) {
  size_t slash = stage.path.rfind('/');
  std::string dir = stage.path.substr(0, slash);
  std::string prefix = stage.path.substr(slash + 1) + ".at.";
  auto entries = fs->ListDir(dir);
  if (!entries.ok()) return;
  for (const auto& e : *entries)
    if (StartsWith(e.name, prefix)) (void)fs->Unlink(dir + "/" + e.name);
}

// An append past the staged end: its bytes wait in a file of their own.
http::Response Park(api::Ctx& ctx, const Stage& stage, uint64_t pos) {
  http::Response r;
  if (ctx.req->body_size > 0) {
    Fs* fs = ctx.store().fs();
    std::string parked = ParkedPath(stage, pos);
    (void)fs->Unlink(parked);  // a retried append replaces what it sent before
    auto out = fs->OpenWrite(parked, true, true);
    auto src = fs->OpenRead(ctx.req->body_file);
    Status s = !out.ok()  ? out.status()
               : src.ok() ? (*out)->CopyFrom(**src, 0, 0, ctx.req->body_size)
                          : src.status();
    if (!s.ok()) {
      if (out.ok()) (void)fs->Unlink(parked);
      return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
    }
  }
  r.status = 202;
  r.Set("x-ms-request-server-encrypted", "true");
  if (!ctx.req->body_md5.empty()) r.Set("Content-MD5", Base64Encode(ctx.req->body_md5));
  return r;
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
  // Data already staged or committed is not written again.
  if (*pos < staged) return JsonError(DfsError::kInvalidFlushPosition);
  // Refused now rather than at the flush: the staged bytes would not fit.
  Status quota = store.CheckQuota(
      ctx.container,
      static_cast<int64_t>(*pos + ctx.req->body_size) - static_cast<int64_t>(info->st.size), 0);
  if (!quota.ok()) return JsonError(api::FromStatus(quota, true), api::PublicDetail(quota));
  if (*pos > staged) return Park(ctx, *stage, *pos);
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
    s = src.ok() ? (*out)->CopyFrom(**src, 0, staged, ctx.req->body_size) : src.status();
  }
  if (s.ok()) (void)JoinParked(fs, *stage, **out, staged + ctx.req->body_size);
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
  // With retainUncommittedData=true a flush may stop short of the staged
  // end: the data up to its position becomes the file, the rest stays
  // staged (azcopy flushes a large file in steps so, as its own tests
  // against Azure do with --flush-threshold).
  bool partial = ctx.Q("retainUncommittedData").value_or("") == "true" && stage->exists &&
                 *pos < length && *pos >= info->st.size;
  if (*pos != length && !partial) return JsonError(DfsError::kInvalidFlushPosition);
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
    ctx.req->body_file = tmp;  // removed by the server unless committed
    if (partial) {
      auto out = fs->OpenWrite(tmp, true, true);
      auto src = fs->OpenRead(stage->path);
      s = !out.ok()  ? out.status()
          : src.ok() ? (*out)->CopyFrom(**src, 0, 0, *pos)
                     : src.status();
    } else {
      s = fs->Rename(stage->path, tmp);
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
    if (s.ok()) DropParked(fs, *stage);
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
