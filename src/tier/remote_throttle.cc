#include "tier/remote_throttle.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace strata::tier {

TokenBucket::TokenBucket(uint64_t bytes_per_sec, uint64_t burst)
    : rate_(bytes_per_sec), burst_(static_cast<double>(std::max<uint64_t>(burst, 1))),
      tokens_(burst_) {}

int64_t TokenBucket::Take(uint64_t n, int64_t now_ns) {
  if (rate_ == 0) return 0;
  std::lock_guard lock(mu_);
  if (last_ns_ >= 0 && now_ns > last_ns_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * 1e-9 *
                                             static_cast<double>(rate_));
  }
  if (now_ns > last_ns_) last_ns_ = now_ns;
  tokens_ -= static_cast<double>(n);
  if (tokens_ >= 0) return 0;
  return static_cast<int64_t>(-tokens_ / static_cast<double>(rate_) * 1e9);
}

int64_t TokenBucket::Acquire(uint64_t n) {
  if (rate_ == 0) return 0;
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  int64_t wait = Take(n, std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
  return wait;
}

ConcurrencyLimit::ConcurrencyLimit(int limit) : limit_(std::max(limit, 1)) {}

void ConcurrencyLimit::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return used_ < limit_; });
  ++used_;
}

void ConcurrencyLimit::Release() {
  {
    std::lock_guard lock(mu_);
    --used_;
  }
  cv_.notify_one();
}

int ConcurrencyLimit::in_use() const {
  std::lock_guard lock(mu_);
  return used_;
}

}  // namespace strata::tier
