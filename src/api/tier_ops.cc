// Capacity-tier operations of the Blob API: Set Blob Tier, the tier headers,
// and the bodies of blobs whose data is remote.
#include <unistd.h>

#include "api/context.h"
#include "common/strings.h"

namespace strata::api {

using TierState = ns::BlobRecord::TierState;

namespace {
constexpr TimeNs kDayNs = 24LL * 3600 * 1000000000LL;
}  // namespace

std::optional<std::string> ParseAccessTier(std::string_view value) {
  for (const char* t : {"Hot", "Cool", "Cold", "Archive"})
    if (IEquals(value, t)) return std::string(t);
  return std::nullopt;
}

void KeepTier(const ns::BlobRecord& old, TimeNs now, ns::BlobRecord* rec) {
  if (old.blob_type != "BlockBlob" || old.AccessTierInferred(now)) return;
  rec->tier = std::string(old.AccessTier(now));
  rec->tier_change_time = now;
}

http::Response ArchivedResponse(const ns::BlobRecord& rec, TimeNs now) {
  http::Response e = ErrorResponse(AzError::kBlobArchived);
  std::string_view to = rec.RehydratingTo(now);
  if (!to.empty()) e.Set("x-ms-archive-status", "rehydrate-pending-to-" + ToLower(to));
  return e;
}

void TierHeaders(http::Response& r, const ns::BlobRecord& rec, TimeNs now,
                 bool with_priority) {
  r.Set("x-ms-access-tier", std::string(rec.AccessTier(now)));
  if (rec.AccessTierInferred(now)) r.Set("x-ms-access-tier-inferred", "true");
  if (TimeNs t = rec.AccessTierChangeTime(now)) r.Set("x-ms-access-tier-change-time", FormatHttpDate(t));
  std::string_view to = rec.RehydratingTo(now);
  if (!to.empty()) {
    r.Set("x-ms-archive-status", "rehydrate-pending-to-" + ToLower(to));
    if (with_priority)
      r.Set("x-ms-rehydrate-priority",
            rec.rehydrate_priority.empty() ? "Standard" : rec.rehydrate_priority);
  }
  // strata's own: where the data is (hot | premigrated | offloaded | archived).
  r.Set("x-strata-tier-state", tier::StateName(rec.tier_state));
  // The remote copy failed verification: reads of the remote data fail.
  if (rec.remote_damaged && rec.tier_state != TierState::kHot)
    r.Set("x-strata-tier-damaged", "true");
}

http::Response RemoteBody(Ctx& ctx, const ns::BlobInfo& info, http::Response r, uint64_t offset,
                          uint64_t length) {
  if (info.rec.Archived(ctx.now)) return ArchivedResponse(info.rec, ctx.now);
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
  if (rec.Archived(ctx.now)) return AzError::kBlobArchived;
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

// Set Blob Tier. The tier is recorded at once, as on Azure, on every
// account; the data stays where it is unless a capacity tier moves it:
// Hot -> Cool/Cold/Archive queues an offload, back to Hot a recall.
// Archive makes reads and writes answer 409 BlobArchived at once. From
// Archive to an online tier is a rehydration (202, x-ms-archive-status):
// one whose data is local completes after the account's rehydrate delay
// (a deadline in the record, shorter for High priority); one whose data is
// in the remote archive tier when the capacity tier has brought it back.
// ETag and Last-Modified do not change; x-strata-tier-state says where the
// data is.
http::Response SetBlobTier(Ctx& ctx) {
  auto tier_h = ctx.H("x-ms-access-tier");
  if (!tier_h) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-access-tier");
  auto tier = ParseAccessTier(*tier_h);
  if (!tier) return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-access-tier");
  std::string priority = "Standard";
  if (auto p = ctx.H("x-ms-rehydrate-priority")) {
    if (IEquals(*p, "High")) priority = "High";
    else if (!IEquals(*p, "Standard"))
      return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-rehydrate-priority");
  }
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (info->rec.blob_type != "BlockBlob") return ErrorResponse(AzError::kInvalidBlobType);
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  tier::CapacityTier* ct = ctx.account->tier;
  ns::BlobRecord rec = info->rec;
  rec.SettleRehydration(ctx.now);
  http::Response r;
  r.status = 200;
  bool remote_archive = rec.tier_state == TierState::kArchived;
  if (rec.Archived(ctx.now)) {
    if (*tier == "Archive") {
      if (!rec.rehydrate_to.empty()) return ErrorResponse(AzError::kBlobBeingRehydrated);
      return r;
    }
    if (!rec.rehydrate_to.empty() && rec.rehydrate_to != *tier)
      return ErrorResponse(AzError::kBlobBeingRehydrated);
    r.status = 202;
    // Standard may be raised to High while pending, never lowered.
    if (rec.rehydrate_to.empty() || priority == "High") rec.rehydrate_priority = priority;
    rec.rehydrate_to = *tier;
    if (!remote_archive) {
      TimeNs delay = ctx.account->rehydrate_delay;
      if (rec.rehydrate_priority == "High") delay /= 10;
      TimeNs done = ctx.now + (delay > 0 ? delay : 1);
      if (rec.rehydrate_done == 0 || done < rec.rehydrate_done) rec.rehydrate_done = done;
    }
  } else {
    if (rec.tier.empty() || rec.tier != *tier) rec.tier_change_time = ctx.now;
    rec.tier = *tier;
  }
  Status s = ctx.store().UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  if (ct) {
    // The move that follows (a later request for the blob replaces a queued
    // one, e.g. an archive offload still waiting when a rehydration starts).
    const std::string& target = rec.rehydrate_to.empty() ? rec.tier : rec.rehydrate_to;
    if (remote_archive) {
      ct->Schedule(tier::CapacityTier::JobKind::kRecall, ctx.container, ctx.blob, *tier, rec.etag);
    } else if (target != "Hot" && !ct->Pinned(ctx.container, ctx.blob)) {
      ct->Schedule(tier::CapacityTier::JobKind::kOffload, ctx.container, ctx.blob, target, rec.etag);
    } else if (target == "Hot" && (rec.tier_state != TierState::kHot || r.status == 202)) {
      ct->Schedule(tier::CapacityTier::JobKind::kRecall, ctx.container, ctx.blob, target, rec.etag);
    }
  }
  return r;
}

}  // namespace strata::api
