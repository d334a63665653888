// Path - Lease: POST with x-ms-lease-action acquire|renew|change|release|
// break, on a file or a directory. The state machine is Lease Blob's.
#include "api/conditions.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"

namespace strata::dfs {

http::Response LeasePath(api::Ctx& ctx) {
  if (!ctx.H("x-ms-lease-action"))
    return JsonError(api::AzError::kMissingRequiredHeader, "x-ms-lease-action");
  auto& store = ctx.store();
  auto lock = store.LockBlob(ctx.container, ctx.blob);
  auto info = store.HeadPath(ctx.container, ctx.blob);
  if (!info.ok())
    return PathNotFound(info.status());
  api::Conditions c = api::ParseConditions(*ctx.req);
  if (c.any() && api::Evaluate(c, true, info->rec.etag, info->rec.last_modified, false) !=
                     api::CondOutcome::kOk)
    return JsonError(api::AzError::kConditionNotMet);
  ns::BlobRecord rec = info->rec;
  http::Response r;
  if (auto e = api::ApplyLeaseAction(ctx, rec.lease, &r)) return *e;
  Status s = info->is_dir ? store.PutDirRecord(ctx.container, ctx.blob, rec)
                          : store.UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return JsonError(api::FromStatus(s, true), api::PublicDetail(s));
  api::SetEtagHeaders(r, rec.etag, rec.last_modified);
  return r;
}

}  // namespace strata::dfs
