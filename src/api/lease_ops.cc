// Lease Blob and Lease Container: acquire, renew, change, release, break.
// One state machine for both; only the error codes for "no lease" and
// "id mismatch" on write operations differ, and those live elsewhere.
#include <cstdio>
#include <random>

#include "api/conditions.h"
#include "api/context.h"
#include "common/strings.h"

namespace strata::api {

namespace {

std::string NewLeaseId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", uint32_t(a >> 32),
                uint32_t(a >> 16) & 0xffff, uint32_t(a) & 0xfff,
                (uint32_t(b >> 48) & 0x3fff) | 0x8000,
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

constexpr TimeNs kSec = 1000000000LL;

}  // namespace

std::optional<http::Response> ApplyLeaseAction(const Ctx& ctx, ns::Lease& lease,
                                               http::Response* ok) {
  auto action = ctx.H("x-ms-lease-action");
  if (!action) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-lease-action");
  std::string a = ToLower(*action);
  auto id = ctx.H("x-ms-lease-id");
  auto proposed = ctx.H("x-ms-proposed-lease-id");
  if (proposed && !CanonicalGuid(*proposed))
    return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-proposed-lease-id");
  std::string state = lease.State(ctx.now);
  TimeNs now = ctx.now;
  if (a == "acquire") {
    auto d = ctx.H("x-ms-lease-duration");
    if (!d) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-lease-duration");
    int dur;
    if (*d == "-1") {
      dur = -1;
    } else {
      auto v = ParseUint(*d);
      if (!v || *v < 15 || *v > 60)
        return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-lease-duration");
      dur = static_cast<int>(*v);
    }
    // Breaking: acquiring with the current id is "breaking", with any other
    // id the lease is simply still present.
    if (state == "breaking")
      return ErrorResponse(proposed && lease.Is(*proposed)
                               ? AzError::kLeaseIsBreakingAndCannotBeAcquired
                               : AzError::kLeaseAlreadyPresent);
    if (state == "leased" && (!proposed || !lease.Is(*proposed)))
      return ErrorResponse(AzError::kLeaseAlreadyPresent);
    lease = ns::Lease{};
    lease.id = proposed ? *CanonicalGuid(*proposed) : NewLeaseId();
    lease.active = true;
    lease.duration = dur;
    lease.expiry = dur > 0 ? now + dur * kSec : 0;
    ok->status = 201;
    ok->Set("x-ms-lease-id", lease.id);
    return std::nullopt;
  }
  if (a == "break") {
    std::optional<uint64_t> period;
    if (auto p = ctx.H("x-ms-lease-break-period")) {
      period = ParseUint(*p);
      if (!period || *period > 60)
        return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-lease-break-period");
    }
    if (state == "available") return ErrorResponse(AzError::kLeaseNotPresentWithLeaseOperation);
    TimeNs when = now;
    if (state == "leased") {
      if (period)
        when = now + static_cast<TimeNs>(*period) * kSec;
      else if (lease.duration > 0)
        when = lease.expiry;
      if (lease.duration > 0 && when > lease.expiry) when = lease.expiry;
      lease.breaking = true;
      lease.break_time = when;
    } else if (state == "breaking") {
      if (period && now + static_cast<TimeNs>(*period) * kSec < lease.break_time)
        lease.break_time = now + static_cast<TimeNs>(*period) * kSec;
      when = lease.break_time;
    } else {  // expired or broken: broken now
      lease.breaking = true;
      lease.break_time = now;
    }
    ok->status = 202;
    TimeNs left = lease.break_time > now ? (lease.break_time - now + kSec - 1) / kSec : 0;
    ok->Set("x-ms-lease-time", std::to_string(left));
    return std::nullopt;
  }
  if (!id) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-lease-id");
  if (a == "renew") {
    if (state == "available" || lease.id.empty())
      return ErrorResponse(AzError::kLeaseNotPresentWithLeaseOperation);
    if (!lease.Is(*id)) return ErrorResponse(AzError::kLeaseIdMismatchWithLeaseOperation);
    if (state == "broken" || state == "breaking")
      return ErrorResponse(AzError::kLeaseIsBrokenAndCannotBeRenewed);
    lease.active = true;
    lease.expiry = lease.duration > 0 ? now + lease.duration * kSec : 0;
    ok->status = 200;
    ok->Set("x-ms-lease-id", lease.id);
    return std::nullopt;
  }
  if (a == "change") {
    if (!proposed) return HeaderError(AzError::kMissingRequiredHeader, *ctx.req, "x-ms-proposed-lease-id");
    if (state == "available" || state == "expired" || state == "broken")
      return ErrorResponse(AzError::kLeaseNotPresentWithLeaseOperation);
    // A wrong id is a mismatch in any state; "breaking" is for the right one.
    if (!lease.Is(*id) && !lease.Is(*proposed))
      return ErrorResponse(AzError::kLeaseIdMismatchWithLeaseOperation);
    if (state == "breaking") return ErrorResponse(AzError::kLeaseIsBreakingAndCannotBeChanged);
    lease.id = *CanonicalGuid(*proposed);
    ok->status = 200;
    ok->Set("x-ms-lease-id", lease.id);
    return std::nullopt;
  }
  if (a == "release") {
    if (state == "available" || lease.id.empty())
      return ErrorResponse(AzError::kLeaseNotPresentWithLeaseOperation);
    if (!lease.Is(*id)) return ErrorResponse(AzError::kLeaseIdMismatchWithLeaseOperation);
    lease = ns::Lease{};
    ok->status = 200;
    return std::nullopt;
  }
  return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-lease-action");
}

http::Response LeaseBlob(Ctx& ctx) {
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok())
    return ErrorResponse(info.status().kind() == ErrorKind::kContainerNotFound
                             ? AzError::kContainerNotFound
                             : AzError::kBlobNotFound);
  if (auto e = CheckWriteConditions(ctx, true, info->rec)) return *e;
  ns::BlobRecord rec = info->rec;
  http::Response r;
  if (auto e = ApplyLeaseAction(ctx, rec.lease, &r)) return *e;
  Status s = ctx.store().UpdateRecord(ctx.container, ctx.blob, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  return r;
}

http::Response LeaseContainer(Ctx& ctx) {
  auto lock = ctx.store().LockContainer(ctx.container);
  auto rec = ctx.store().GetContainer(ctx.container);
  if (!rec.ok()) return ErrorResponse(AzError::kContainerNotFound);
  Conditions c = ParseConditions(*ctx.req);
  if (c.if_match || c.if_none_match) return ErrorResponse(AzError::kInvalidHeaderValue);
  if (Evaluate(c, true, rec->etag, rec->last_modified, false) != CondOutcome::kOk)
    return ErrorResponse(AzError::kConditionNotMet);
  http::Response r;
  if (auto e = ApplyLeaseAction(ctx, rec->lease, &r)) return *e;
  Status s = ctx.store().PutContainer(ctx.container, *rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, false), PublicDetail(s));
  SetEtagHeaders(r, rec->etag, rec->last_modified);
  return r;
}

}  // namespace strata::api
