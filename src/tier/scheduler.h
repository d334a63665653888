// TierScheduler: what moves data without a request. Every interval it walks
// the account's blobs once and
//  - applies the lifecycle policy (tierToCool/Cold/Archive queue offloads on
//    the CapacityTier, delete removes the blob, whose remote copy the tier
//    then cleans up);
//  - above the high watermark, queues offloads of the least recently read
//    hot blobs until the usage would fall to the low watermark.
// Pinned prefixes never move, leased blobs are never deleted. Of the
// gateways sharing a root, only the tier leader moves or deletes; the others'
// passes only count; a blob another gateway is moving is skipped. Usage is the
// bytes of local blob data against `capacity_bytes` when set, else the file
// system's use (statvfs). Threading: one thread of its own; RunOnce() may
// also be called directly (tests, the CLI). With neither a policy nor
// watermarks a pass only counts blobs and bytes per state (for /metrics).
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "tier/capacity_tier.h"
#include "tier/policy.h"

namespace strata::tier {

struct SchedulerOptions {
  std::optional<LifecyclePolicy> policy;
  int interval_s = 3600;
  double high_watermark = 0;  // percent; 0: watermarks off
  double low_watermark = 0;
  uint64_t capacity_bytes = 0;  // 0: the file system's size
  TimeNs clock_offset_ns = 0;   // tests: the policy's clock runs ahead
};

class TierScheduler {
 public:
  TierScheduler(CapacityTier* tier, SchedulerOptions options);
  ~TierScheduler();  // Stop()s
  void Start();
  void Stop();

  struct Pass {
    size_t blobs = 0, policy_moves = 0, deletes = 0, watermark_moves = 0;
    double used_percent = 0;
    // Blobs and bytes per state (hot, premigrated, offloaded, archived).
    uint64_t state_blobs[4] = {0, 0, 0, 0};
    uint64_t state_bytes[4] = {0, 0, 0, 0};
    TimeNs when = 0;     // 0: no pass yet
    bool moved = false;  // applied the policy and watermarks (a leader's pass)
  };
  // `move`: apply the policy and watermarks (else only count). Only the
  // tier leader (CapacityTier::leader()) moves: on any other gateway a pass
  // only counts.
  Pass RunOnce(bool move = true);
  // Runs a pass now (on the scheduler's thread), as if the interval ended.
  // On a gateway that is not the leader it only counts, and logs so: the
  // leader holds its lock for life, so nothing here can run a moving pass
  // in its stead (ask the leader's admin endpoint, or signal it).
  void Trigger();
  Pass last_pass();

 private:
  // Another gateway holds blob b's move lock: a pass leaves it alone (the
  // next pass sees where it went).
  bool MovingElsewhere(const std::string& c, const std::string& b);

  CapacityTier* tier_;
  SchedulerOptions opt_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool triggered_ = false;
  Pass last_;
  std::thread thread_;
};

}  // namespace strata::tier
