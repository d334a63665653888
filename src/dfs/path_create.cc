// Path - Create: PUT ?resource=file|directory, and the rename form of it
// (x-ms-rename-source, mode=legacy|posix): one rename(2) whatever the size
// of the tree.
#include "api/conditions.h"
#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"
#include "dfs/permissions.h"
#include "ns/names.h"

namespace strata::dfs {

void ApplyPathHeaders(const api::Ctx& ctx, ns::BlobRecord* rec);

namespace {
constexpr uint32_t kDefaultUmask = 0027;

std::string ParentOf(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

// Lease and conditions of an existing destination. `exists` false: none.
std::optional<http::Response> CheckDestination(const api::Ctx& ctx, bool exists,
                                               const ns::BlobRecord& rec) {
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (exists && c.if_none_match && Trim(*c.if_none_match) == "*")
    return JsonError(DfsError::kPathAlreadyExists);
  if (c.any() && api::Evaluate(c, exists, rec.etag, rec.last_modified, false) != api::CondOutcome::kOk)
    return JsonError(api::AzError::kConditionNotMet);
  if (exists) {
    if (auto e = api::CheckBlobLeaseForWrite(ctx, rec.lease)) return JsonError(*e);
  } else if (ctx.H("x-ms-lease-id")) {
    return JsonError(api::AzError::kLeaseNotPresentWithBlobOperation);
  }
  return std::nullopt;
}

http::Response Rename(api::Ctx& ctx) {
  // Parsed, confined and authorized by the front door (ResolveRenameSource).
  const std::string& src_c = ctx.source.container;
  const std::string& src = ctx.source.blob;
  std::string mode = ctx.Q("mode").value_or("legacy");
  if (mode != "legacy" && mode != "posix")
    return JsonError(api::AzError::kInvalidQueryParameterValue, "mode");
  auto& store = ctx.store();
  // A view's tree stays inside it: nothing moves out of a view or into one
  // from elsewhere (and a read-only view gives nothing up at all).
  if (store.IsReadOnly(src_c) ||
      (src_c != ctx.container && (store.IsView(src_c) || store.IsView(ctx.container))))
    return JsonError(api::AzError::kAuthorizationPermissionMismatch,
                     "A rename may not cross the boundary of a view.");
  if (!store.GetContainer(ctx.container).ok()) return JsonError(DfsError::kFilesystemNotFound);
  // Both names' locks, in one order, so two crossing renames cannot deadlock.
  auto locks = store.LockBlobs(src_c, src, ctx.container, ctx.blob);
  auto sinfo = store.HeadPath(src_c, src);
  if (!sinfo.ok()) return JsonError(DfsError::kSourcePathNotFound);
  api::Conditions sc = api::ParseConditions(*ctx.req, "x-ms-source-");
  if (sc.any() && api::Evaluate(sc, true, sinfo->rec.etag, sinfo->rec.last_modified, false) !=
                      api::CondOutcome::kOk)
    return JsonError(api::AzError::kSourceConditionNotMet);
  auto source_lease = ctx.H("x-ms-source-lease-id");
  if (source_lease && source_lease->empty()) source_lease.reset();  // the SDK sends it empty
  if (sinfo->rec.lease.Held(ctx.now)) {
    auto& id = source_lease;
    if (!id) return JsonError(api::AzError::kLeaseIdMissing);
    if (!sinfo->rec.lease.Is(*id)) return JsonError(api::AzError::kLeaseIdMismatchWithBlobOperation);
  } else if (source_lease) {
    return JsonError(api::AzError::kLeaseNotPresentWithBlobOperation);
  }
  auto dinfo = store.HeadPath(ctx.container, ctx.blob);
  if (auto e = CheckDestination(ctx, dinfo.ok(), dinfo.ok() ? dinfo->rec : ns::BlobRecord{})) return *e;
  if (src_c == ctx.container && (src == ctx.blob || StartsWith(ctx.blob, src + "/")))
    return JsonError(DfsError::kInvalidRenameSourcePath);
  std::string parent = ParentOf(ctx.blob);
  if (!parent.empty()) {
    auto pinfo = store.HeadPath(ctx.container, parent);
    if (!pinfo.ok() || !pinfo->is_dir) return JsonError(DfsError::kRenameDestinationParentPathNotFound);
  }
  Status s = store.RenamePath(src_c, src, ctx.container, ctx.blob);
  if (!s.ok()) {
    switch (s.kind()) {
      case ErrorKind::kNotFound: return JsonError(DfsError::kSourcePathNotFound);
      case ErrorKind::kNotEmpty: return JsonError(DfsError::kDirectoryNotEmpty);
      case ErrorKind::kPathConflict:
      case ErrorKind::kIsDirectory: return JsonError(DfsError::kResourceTypeMismatch);
      case ErrorKind::kInvalidArgument: return JsonError(DfsError::kInvalidRenameSourcePath);
      default: return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
    }
  }
  http::Response r;
  r.status = 201;
  auto after = store.HeadPath(ctx.container, ctx.blob);
  if (after.ok()) api::SetEtagHeaders(r, after->rec.etag, after->rec.last_modified);
  if (after.ok() && !after->is_dir) r.Set("x-ms-content-length", std::to_string(after->st.size));
  return r;
}
}  // namespace

http::Response CreatePath(api::Ctx& ctx) {
  if (ctx.H("x-ms-rename-source")) return Rename(ctx);
  bool is_dir = *ctx.Q("resource") == "directory";
  ns::BlobRecord rec;
  if (auto p = ctx.H("x-ms-properties"))
    if (!ParseProperties(*p, &rec.metadata)) return JsonError(DfsError::kInvalidPropertyName);
  ApplyPathHeaders(ctx, &rec);
  if (!is_dir && rec.content_type.empty()) rec.content_type = "application/octet-stream";
  uint32_t mode = is_dir ? 0777 : 0666;
  if (auto p = ctx.H("x-ms-permissions")) {
    auto v = ParsePermissions(*p);
    if (!v) return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-permissions");
    mode = *v;
  }
  uint32_t umask = kDefaultUmask;
  if (auto u = ctx.H("x-ms-umask")) {
    auto v = ParseUmask(*u);
    if (!v) return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-umask");
    umask = *v;
  }
  mode &= ~umask;
  ns::PathAcl acl;
  if (auto o = ctx.H("x-ms-owner")) acl.owner = *o;
  // As on Azure: a path created with a bearer token is owned by its
  // principal (oid); with the account key, by $superuser.
  if (acl.owner.empty() && ctx.scheme == auth::Scheme::kBearer && ctx.principal)
    acl.owner = ctx.principal->oid;
  if (auto g = ctx.H("x-ms-group")) acl.group = *g;
  if (auto a = ctx.H("x-ms-acl")) {
    auto parsed = ParseAcl(*a);
    if (!parsed) return JsonError(api::AzError::kInvalidHeaderValue, "x-ms-acl");
    mode = ModeFromAcl(*parsed, mode);
    acl.acl = *a;
  }
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  if (!store.GetContainer(ctx.container).ok()) return JsonError(DfsError::kFilesystemNotFound);
  auto old = store.HeadPath(ctx.container, ctx.blob);
  if (auto e = CheckDestination(ctx, old.ok(), old.ok() ? old->rec : ns::BlobRecord{})) return *e;
  if (old.ok() && old->is_dir != is_dir) return JsonError(DfsError::kResourceTypeMismatch);
  if (old.ok()) {
    rec.lease = old->rec.lease;
    rec.created = old->rec.created;
  }
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  if (!rec.created) rec.created = ctx.now;
  // Parents are real directories on an HNS account.
  std::string parent = ParentOf(ctx.blob);
  if (!parent.empty()) {
    auto pinfo = store.HeadPath(ctx.container, parent);
    if (pinfo.ok() && !pinfo->is_dir) return JsonError(DfsError::kPathConflict);
    if (!pinfo.ok()) {
      ns::BlobRecord prec;
      prec.etag = ns::NewEtag();
      prec.last_modified = prec.created = ctx.now;
      Status s = store.MakeDirectory(ctx.container, parent, prec, 0777 & ~umask);
      if (s.kind() == ErrorKind::kPathConflict) return JsonError(DfsError::kPathConflict);
      if (!s.ok()) return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
    }
  }
  Status s;
  if (is_dir) {
    s = store.MakeDirectory(ctx.container, ctx.blob, rec, mode);
    if (s.ok() && (!acl.owner.empty() || !acl.group.empty() || !acl.acl.empty()))
      s = store.SetPathAcl(ctx.container, ctx.blob, acl, std::nullopt, rec);
  } else {
    // An empty file, committed like any blob (its staged appends dropped).
    std::string tmp = store.NewTempPath(ctx.container);
    auto f = store.fs()->OpenWrite(tmp, true, true);
    if (!f.ok()) return JsonError(api::FromStatus(f.status(), true), api::PublicDetail(f.status()));
    f->reset();
    ctx.req->body_file = tmp;  // removed by the server unless committed
    s = store.fs()->Chmod(tmp, mode);
    rec.content_md5.clear();
    if (s.ok()) s = store.Commit(ctx.container, ctx.blob, tmp, rec, true);
    if (s.ok()) ctx.req->body_file.clear();
    if (s.ok() && (!acl.owner.empty() || !acl.group.empty() || !acl.acl.empty()))
      s = store.SetPathAcl(ctx.container, ctx.blob, acl, std::nullopt, rec);
  }
  if (!s.ok()) {
    if (s.kind() == ErrorKind::kPathConflict) return JsonError(DfsError::kPathConflict);
    if (s.kind() == ErrorKind::kIsDirectory) return JsonError(DfsError::kResourceTypeMismatch);
    return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  }
  http::Response r;
  r.status = 201;
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  r.Set("x-ms-request-server-encrypted", "true");
  if (!is_dir) r.Set("x-ms-content-length", "0");
  return r;
}

}  // namespace strata::dfs
