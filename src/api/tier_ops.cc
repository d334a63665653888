// Capacity-tier operations of the Blob API: Set Blob Tier, the tier headers,
// and the bodies of blobs whose data is remote.
#include <unistd.h>

#include "api/context.h"
#include "common/strings.h"

namespace strata::api {

using TierState = ns::BlobRecord::TierState;

namespace {
constexpr TimeNs kDayNs = 24LL * 3600 * 1000000000LL;

bool ValidTier(const std::string& t) {
  return t == "Hot" || t == "Cool" || t == "Cold" || t == "Archive";
}

http::Response ArchivedError(const ns::BlobRecord& rec) {
  http::Response e = ErrorResponse(AzError::kBlobArchived);
  if (!rec.rehydrate_to.empty())
    e.Set("x-ms-archive-status", "rehydrate-pending-to-" + ToLower(rec.rehydrate_to));
  return e;
}
}  // namespace

void TierHeaders(http::Response& r, const ns::BlobRecord& rec) {
  r.Set("x-ms-access-tier", rec.tier.empty() ? "Hot" : rec.tier);
  if (rec.tier.empty()) r.Set("x-ms-access-tier-inferred", "true");
  if (!rec.rehydrate_to.empty())
    r.Set("x-ms-archive-status", "rehydrate-pending-to-" + ToLower(rec.rehydrate_to));
  // strata's own: where the data is (hot | premigrated | offloaded | archived).
  r.Set("x-strata-tier-state", tier::StateName(rec.tier_state));
  // The remote copy failed verification: reads of the remote data fail.
  if (rec.remote_damaged && rec.tier_state != TierState::kHot)
    r.Set("x-strata-tier-damaged", "true");
}

http::Response RemoteBody(Ctx& ctx, const ns::BlobInfo& info, http::Response r, uint64_t offset,
                          uint64_t length) {
  if (info.rec.tier_state == TierState::kArchived) return ArchivedError(info.rec);
  if (length == 0) return r;
  if (!ctx.account->tier) return ErrorResponse(AzError::kServerBusy);
  auto fd = ctx.account->tier->StartRead(ctx.container, ctx.blob, info.rec, offset, length);
  if (!fd.ok()) return ErrorResponse(AzError::kServerBusy);
  http::PipeBody pb;
  pb.fd = std::shared_ptr<int>(new int(*fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  pb.length = length;
  pb.on_fail = [](char code, const http::Response& original, http::Response* out) {
    // Busy, or no first byte within the I/O timeout (code 0): retryable.
    // kStreamError, which includes a remote copy that failed verification
    // (changed, gone, other bytes): 500 InternalError, what Azure answers
    // when it cannot produce a blob's data. Not 503 ServerBusy: that tells
    // clients the same request will succeed later, and it will not.
    *out =
        ErrorResponse(code == tier::kStreamError ? AzError::kInternalError : AzError::kServerBusy);
    // What every response carries (stamped on the original after the handler).
    for (const auto& [name, value] : original.HeaderList()) {
      std::string n = ToLower(name);
      if (n == "x-ms-request-id" || n == "x-ms-version" || n == "date" ||
          n == "x-ms-client-request-id" || n == "server" || n.rfind("access-control-", 0) == 0)
        out->Set(name, value);
    }
  };
  r.pipe = std::move(pb);
  ctx.account->tier->NoteRemoteRead(ctx.container, ctx.blob, info.rec);
  return r;
}

std::optional<AzError> NeedLocalData(Ctx& ctx, const std::string& c, const std::string& b,
                                     const ns::BlobRecord& rec) {
  if (rec.tier_state == TierState::kArchived) return AzError::kBlobArchived;
  if (rec.tier_state != TierState::kOffloaded) return std::nullopt;
  if (ctx.account->tier)
    ctx.account->tier->Schedule(tier::CapacityTier::JobKind::kPrefetch, c, b, "", rec.etag);
  return AzError::kServerBusy;
}

void NoteAccess(Ctx& ctx, const ns::BlobInfo& info) {
  if (!info.has_record || ctx.now - info.rec.last_access < kDayNs) return;
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto now = ctx.store().Head(ctx.container, ctx.blob);
  if (!now.ok() || !now->has_record || now->rec.etag != info.rec.etag) return;
  ns::BlobRecord rec = now->rec;
  rec.last_access = ctx.now;
  (void)ctx.store().UpdateRecord(ctx.container, ctx.blob, rec);
}

// Set Blob Tier. Hot -> Cool/Cold/Archive queues an offload; back to Hot
// queues a recall (reads stream from the remote meanwhile); from Archive to
// an online tier starts a rehydration (202, x-ms-archive-status). The
// record's tier changes at once, as on Azure; x-strata-tier-state says
// where the data is. ETag and Last-Modified do not change.
http::Response SetBlobTier(Ctx& ctx) {
  auto tier = ctx.H("x-ms-access-tier");
  if (!tier) return ErrorResponse(AzError::kMissingRequiredHeader, "x-ms-access-tier");
  if (!ValidTier(*tier)) return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-access-tier");
  if (auto p = ctx.H("x-ms-rehydrate-priority"); p && *p != "Standard" && *p != "High")
    return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-rehydrate-priority");
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (info->rec.blob_type != "BlockBlob") return ErrorResponse(AzError::kInvalidBlobType);
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  tier::CapacityTier* ct = ctx.account->tier;
  ns::BlobRecord rec = info->rec;
  http::Response r;
  r.status = 200;
  if (!ct) {
    // Without a capacity tier, only Hot is meaningful; cooler tiers need one.
    if (*tier != "Hot")
      return ErrorResponse(AzError::kInvalidHeaderValue,
                           "No capacity tier is configured; only the Hot tier is available.");
    rec.tier = *tier;
  } else if (rec.tier_state == TierState::kArchived) {
    if (*tier == "Archive") {
      if (!rec.rehydrate_to.empty()) return ErrorResponse(AzError::kBlobBeingRehydrated);
      return r;
    }
    if (!rec.rehydrate_to.empty() && rec.rehydrate_to != *tier)
      return ErrorResponse(AzError::kBlobBeingRehydrated);
    rec.rehydrate_to = *tier;
    r.status = 202;
  } else {
    rec.tier = *tier;
  }
  Status s = ctx.store().UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  if (ct) {
    bool cool = *tier != "Hot";
    if (rec.tier_state == TierState::kArchived) {
      ct->Schedule(tier::CapacityTier::JobKind::kRecall, ctx.container, ctx.blob, *tier, rec.etag);
    } else if (cool && !ct->Pinned(ctx.container, ctx.blob)) {
      ct->Schedule(tier::CapacityTier::JobKind::kOffload, ctx.container, ctx.blob, *tier, rec.etag);
    } else if (!cool && rec.tier_state != TierState::kHot) {
      ct->Schedule(tier::CapacityTier::JobKind::kRecall, ctx.container, ctx.blob, *tier, rec.etag);
    }
  }
  return r;
}

}  // namespace strata::api
