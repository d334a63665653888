// Path - Delete: DELETE ?recursive=true|false. A non-empty directory needs
// recursive=true (409 DirectoryNotEmpty); the tree leaves the namespace in
// one rename before it is removed.
#include "api/conditions.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"

namespace strata::dfs {

http::Response DeletePath(api::Ctx& ctx) {
  std::string recursive = ctx.Q("recursive").value_or("false");
  if (recursive != "true" && recursive != "false")
    return JsonError(api::AzError::kInvalidQueryParameterValue, "recursive");
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.HeadPath(ctx.container, ctx.blob);
  if (!info.ok())
    return PathNotFound(info.status());
  if (auto e = api::CheckBlobLeaseForWrite(ctx, info->rec.lease)) return JsonError(*e);
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (c.any() && api::Evaluate(c, true, info->rec.etag, info->rec.last_modified, false) !=
                     api::CondOutcome::kOk)
    return JsonError(api::AzError::kConditionNotMet);
  Status s = store.DeletePath(ctx.container, ctx.blob, recursive == "true");
  if (s.kind() == ErrorKind::kNotEmpty) return JsonError(DfsError::kDirectoryNotEmpty);
  if (s.kind() == ErrorKind::kNotFound) return JsonError(DfsError::kPathNotFound);
  if (!s.ok()) return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  http::Response r;
  r.status = 200;
  return r;
}

}  // namespace strata::dfs
