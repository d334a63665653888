#include "tier/scheduler.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>

#include "common/log.h"

namespace strata::tier {

using TierState = ns::BlobRecord::TierState;

namespace {
int Rank(const std::string& tier) {
  if (tier == "Cool") return 1;
  if (tier == "Cold") return 2;
  if (tier == "Archive") return 3;
  return 0;
}

struct Candidate {
  std::string c, b, etag;
  uint64_t size;
  TimeNs last_used;
};
}  // namespace

TierScheduler::TierScheduler(CapacityTier* tier, SchedulerOptions options)
    : tier_(tier), opt_(std::move(options)) {}

TierScheduler::~TierScheduler() { Stop(); }

void TierScheduler::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    bool first = true;
    while (!stop_) {
      if (first) {  // count at once, so /metrics has figures
        first = false;
        l.unlock();
        Pass p = RunOnce(/*move=*/false);
        l.lock();
        last_ = p;
        continue;
      }
      cv_.wait_for(l, std::chrono::seconds(std::max(1, opt_.interval_s)),
                   [this] { return stop_ || triggered_; });
      if (stop_) break;
      bool asked = triggered_;
      triggered_ = false;
      l.unlock();
      if (asked && !tier_->leader()) {
        auto who = tier_->Leader();
        LOG_INFO(
            "tier: a pass was asked for, but this gateway is not the tier "
            "leader (%s%s): only counting\n",
            who.id.empty() ? "none yet" : who.id.c_str(),
            who.id.empty() || who.alive ? "" : ", gone; a gateway takes over");
      }
      Pass p = RunOnce();
      l.lock();
      last_ = p;
    }
  });
}

void TierScheduler::Trigger() {
  {
    std::lock_guard<std::mutex> l(mu_);
    triggered_ = true;
  }
  cv_.notify_all();
}

void TierScheduler::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

TierScheduler::Pass TierScheduler::last_pass() {
  std::lock_guard<std::mutex> l(mu_);
  return last_;
}

// Checked only for blobs a pass would move: on a network file system each
// look is a request to its lock server.
bool TierScheduler::MovingElsewhere(const std::string& c, const std::string& b) {
  return tier_->store()->coord().HeldElsewhere(ns::Coordination::Space::kMove, c + '\0' + b);
}

TierScheduler::Pass TierScheduler::RunOnce(bool move) {
  // One gateway of a root moves data by policy and watermarks: the leader.
  move = move && tier_->leader();
  Pass pass;
  pass.moved = move;
  pass.when = NowNs();
  ns::Store* store = tier_->store();
  TimeNs now = NowNs() + opt_.clock_offset_ns;
  uint64_t local_bytes = 0;
  std::vector<Candidate> lru;
  auto containers = store->ContainerNames();
  if (!containers.ok()) return pass;
  for (const auto& c : *containers) {
    // A cached container evicts clean data only (its dirty data is on its
    // way up); the lifecycle policy is the capacity tier's, and a container
    // of an account without one has nowhere to move.
    bool cached = tier_->Cached(c);
    if (!cached && !tier_->remote()) continue;
    std::string marker;
    for (int page = 0; page < 1'000'000; ++page) {
      auto list = store->List(c, "", "", marker, 5000);
      if (!list.ok()) break;
      for (const auto& item : list->items) {
        if (item.is_prefix) continue;
        const ns::BlobRecord& rec = item.info.rec;
        const std::string& b = item.name;
        ++pass.blobs;
        pass.state_blobs[static_cast<int>(rec.tier_state)]++;
        pass.state_bytes[static_cast<int>(rec.tier_state)] += item.info.st.size;
        if (!move) continue;
        bool local = rec.tier_state == TierState::kHot || rec.tier_state == TierState::kPremigrated;
        if (local) local_bytes += item.info.st.size;
        if (tier_->Pinned(c, b)) continue;
        if (cached) {
          if (rec.tier_state == TierState::kPremigrated && item.info.st.size > 0)
            lru.push_back({c, b, rec.etag, item.info.st.size,
                           std::max(rec.last_access, rec.last_modified)});
          continue;
        }
        bool moved = false;
        if (opt_.policy) {
          auto action = opt_.policy->Evaluate(c, b, rec, now);
          if (action != LifecyclePolicy::Action::kNone && MovingElsewhere(c, b)) continue;
          if (action == LifecyclePolicy::Action::kDelete) {
            auto lock = store->LockBlob(c, b);
            auto again = store->Head(c, b);
            if (again.ok() && again->rec.etag == rec.etag && !again->rec.lease.Held(NowNs()) &&
                store->DeleteBlob(c, b).ok()) {
              ++pass.deletes;
              if (local) local_bytes -= item.info.st.size;
            }
            continue;
          }
          // A blob set to Archive (its offload may still be queued) moves no
          // further: a cooler move would replace the queued archive job.
          if (action != LifecyclePolicy::Action::kNone && rec.tier != "Archive") {
            std::string target = ActionTier(action);
            std::string current = rec.tier_state == TierState::kHot ? "Hot" : rec.tier;
            if (Rank(target) > Rank(current) && rec.tier_state != TierState::kArchived) {
              tier_->Schedule(CapacityTier::JobKind::kOffload, c, b, target, rec.etag, true);
              ++pass.policy_moves;
              moved = true;
            }
          }
        }
        if (!moved && rec.tier_state == TierState::kHot && rec.tier != "Archive" &&
            rec.blob_type == "BlockBlob" &&
            item.info.st.size > 0)
          lru.push_back(
              {c, b, rec.etag, item.info.st.size, std::max(rec.last_access, rec.last_modified)});
      }
      if (list->next_marker.empty()) break;
      marker = list->next_marker;
    }
  }
  if (move)
    LOG_INFO("tier: leader pass over %zu blobs: %zu moves, %zu deletes\n", pass.blobs,
             pass.policy_moves, pass.deletes);
  if (!move || opt_.high_watermark <= 0) return pass;
  // Watermarks.
  double total = 0, used = 0;
  if (opt_.capacity_bytes > 0) {
    total = static_cast<double>(opt_.capacity_bytes);
    used = static_cast<double>(local_bytes);
  } else {
    struct statvfs vfs;
    if (::statvfs(store->root().c_str(), &vfs) != 0 || vfs.f_blocks == 0) return pass;
    total = static_cast<double>(vfs.f_blocks) * vfs.f_frsize;
    used = total - static_cast<double>(vfs.f_bfree) * vfs.f_frsize;
  }
  pass.used_percent = used * 100 / total;
  if (pass.used_percent <= opt_.high_watermark) return pass;
  std::sort(lru.begin(), lru.end(),
            [](const Candidate& a, const Candidate& b) { return a.last_used < b.last_used; });
  double target = opt_.low_watermark * total / 100;
  for (const auto& cand : lru) {
    if (used <= target) break;
    // A hot blob another gateway is moving is on its way out (an explicit
    // offload): counted as gone, not asked for twice.
    if (MovingElsewhere(cand.c, cand.b)) {
      used -= static_cast<double>(cand.size);
      continue;
    }
    tier_->Schedule(CapacityTier::JobKind::kOffload, cand.c, cand.b, "Cool", cand.etag, true);
    used -= static_cast<double>(cand.size);
    ++pass.watermark_moves;
  }
  LOG_INFO("tier: leader watermark pass: %.1f%% used, %zu offloads queued\n", pass.used_percent,
           pass.watermark_moves);
  return pass;
}

}  // namespace strata::tier
