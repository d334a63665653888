// Container limits: the usage ledger of each limited container, shared by
// the gateways of the root (see store.h), and the quota lock around it.
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "ns/store.h"

namespace strata::ns {

Usage Store::Walk(const std::string& dir, bool skip_strata) {
  Usage u;
  std::function<void(const std::string&, int)> walk = [&](const std::string& d, int depth) {
    if (depth > 4096) return;
    auto entries = fs_->ListDir(d);
    if (!entries.ok()) return;
    for (const auto& e : *entries) {
      if (skip_strata && depth == 0 && e.name == ".strata") continue;
      if (e.is_dir) {
        walk(d + "/" + e.name, depth + 1);
      } else if (e.is_file) {
        auto st = fs_->Stat(d + "/" + e.name);
        if (!st.ok() || !st->is_file()) continue;
        u.bytes += st->size;
        ++u.files;
      }
    }
  };
  walk(dir, 0);
  return u;
}

Status Store::Fits(const ContainerState& q, const Usage& used, int64_t bytes, int64_t files) {
  auto after = [](uint64_t u, int64_t delta) {
    return delta < 0 && static_cast<uint64_t>(-delta) > u ? 0 : u + delta;
  };
  if (q.cfg.max_bytes && bytes > 0 && after(used.bytes, bytes) > q.cfg.max_bytes)
    return Status(ErrorKind::kQuotaExceeded, "the container's byte limit would be exceeded");
  if (q.cfg.max_files && files > 0 && after(used.files, files) > q.cfg.max_files)
    return Status(ErrorKind::kQuotaExceeded, "the container's file limit would be exceeded");
  return Status::Ok();
}

namespace {

// A ledger as stored: fixed width, so a rewrite in place replaces it whole.
constexpr size_t kLedgerSize = 42;

std::string FormatLedger(const Usage& u) {
  char buf[64];
  int n =
      std::snprintf(buf, sizeof(buf), "%020llu %020llu\n", static_cast<unsigned long long>(u.bytes),
                    static_cast<unsigned long long>(u.files));
  return std::string(buf, n);
}

std::optional<Usage> ParseLedger(std::string_view v) {
  if (v.size() != kLedgerSize || v[20] != ' ' || v[41] != '\n') return std::nullopt;
  auto bytes = ParseUint(v.substr(0, 20));
  auto files = ParseUint(v.substr(21, 20));
  if (!bytes || !files) return std::nullopt;
  return Usage{*bytes, *files};
}

uint64_t AddClamped(uint64_t u, int64_t delta) {
  return delta < 0 && static_cast<uint64_t>(-delta) > u ? 0 : u + delta;
}

}  // namespace

std::optional<Usage> Store::ReadLedger(ContainerState& q) {
  if (!q.ledger) return std::nullopt;
  char buf[64];
  auto n = q.ledger->PRead(buf, sizeof(buf), 0);
  if (!n.ok()) return std::nullopt;
  return ParseLedger(std::string_view(buf, *n));
}

Status Store::WriteLedger(ContainerState& q, const Usage& u) {
  if (!q.ledger) return Status(ErrorKind::kIo, "no usage ledger for " + q.name);
  std::string v = FormatLedger(u);
  return q.ledger->PWrite(v.data(), v.size(), 0);
}

Usage Store::Recount(const ContainerState& q, bool lock_tallies) {
  Usage u = Walk(ContainerDir(q.name), !q.cfg.dir.empty());
  u.bytes += UncommittedBytes(q.name, lock_tallies);
  return u;
}

Result<Store::QuotaHold> Store::HoldQuota(ContainerState* q) {
  QuotaHold h;
  h.q = q;
  h.guard = coord_->Lock(Coordination::Space::kQuota, q->name, &q->quota_mu);
  // Fresh from the file every time: another gateway may have changed it
  // since this one last held the lock.
  if (auto u = ReadLedger(*q)) {
    h.used = *u;
    return h;
  }
  // Missing (a ledger removed by hand, a container given a limit in this
  // gateway's config only) or damaged: count again, under the lock, so no
  // strata write of any gateway changes the usage meanwhile.
  h.used = Recount(*q, /*lock_tallies=*/false);
  STRATA_RETURN_IF_ERROR(WriteLedger(*q, h.used));
  return h;
}

Result<std::pair<Store::QuotaHold, Store::QuotaHold>> Store::HoldQuotas(ContainerState* a,
                                                                        ContainerState* b) {
  std::pair<QuotaHold, QuotaHold> out;
  out.first.q = a;
  out.second.q = b;
  std::tie(out.first.guard, out.second.guard) =
      coord_->LockPair(Coordination::Space::kQuota, a->name, &a->quota_mu,
                       Coordination::Space::kQuota, b->name, &b->quota_mu);
  for (QuotaHold* h : {&out.first, &out.second}) {
    if (auto u = ReadLedger(*h->q)) {
      h->used = *u;
    } else {
      h->used = Recount(*h->q, false);
      STRATA_RETURN_IF_ERROR(WriteLedger(*h->q, h->used));
    }
  }
  return out;
}

// Increases are written before the change and decreases after it, all
// under the quota lock (no other thread or gateway reads the ledger in
// between), so the ledger never holds less than what is stored. A gateway
// killed between its ledger write and its rename leaves the ledger over by
// that one change: writes that would have fit may be refused until the
// next first gateway recounts, but the container never passes its limit
// (the same rule as the block tallies). The lock itself dies with the
// gateway (OFD), so the others go on.
Status Store::ChangeUsage(QuotaHold& h, int64_t bytes, int64_t files,
                          const std::function<Status()>& change) {
  const Usage before = h.used;
  Usage up = before, after;
  if (bytes > 0) up.bytes += bytes;
  if (files > 0) up.files += files;
  after.bytes = AddClamped(before.bytes, bytes);
  after.files = AddClamped(before.files, files);
  const bool raised = up.bytes != before.bytes || up.files != before.files;
  if (raised) STRATA_RETURN_IF_ERROR(WriteLedger(*h.q, up));
  Status s = change ? change() : Status::Ok();
  if (!s.ok()) {
    if (raised) (void)WriteLedger(*h.q, before);
    return s;
  }
  h.used = up;
  if (after.bytes != up.bytes || after.files != up.files) {
    // The change happened: a failed write leaves the ledger over, as a crash would.
    if (!WriteLedger(*h.q, after).ok()) return Status::Ok();
  }
  h.used = after;
  return Status::Ok();
}

std::optional<Usage> Store::GetUsage(const std::string& c) {
  ContainerState* q = Limited(c);
  if (!q) return std::nullopt;
  auto h = HoldQuota(q);
  if (!h.ok()) return std::nullopt;
  return h->used;
}

Status Store::CheckQuota(const std::string& c, int64_t bytes, int64_t files) {
  ContainerState* q = Limited(c);
  if (!q) return Status::Ok();
  auto h = HoldQuota(q);
  if (!h.ok()) return h.status();
  return Fits(*q, h->used, bytes, files);
}

}  // namespace strata::ns
