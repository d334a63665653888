// Rate and concurrency limits of the capacity tier's remote client.
//
// TokenBucket caps bytes per second: Take() charges n bytes and says how long
// the caller must wait before moving them (the bucket may go into debt, so a
// request larger than the burst is paced, never refused). Its arithmetic is
// pure in the clock passed in; Acquire() uses the steady clock and sleeps.
// ConcurrencyLimit is a counting semaphore. Both are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace strata::tier {

class TokenBucket {
 public:
  // rate 0: unlimited (Take always returns 0). burst: the most bytes that
  // may go at once after an idle period.
  TokenBucket(uint64_t bytes_per_sec, uint64_t burst);
  // Charges `n` bytes at `now_ns`; returns the nanoseconds to wait first.
  int64_t Take(uint64_t n, int64_t now_ns);
  // Take at the steady clock, then sleep; returns the nanoseconds slept.
  int64_t Acquire(uint64_t n);
  uint64_t rate() const { return rate_; }

 private:
  std::mutex mu_;
  const uint64_t rate_;
  const double burst_;
  double tokens_;
  int64_t last_ns_ = -1;
};

class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(int limit);
  void Acquire();
  void Release();
  int in_use() const;

  class Slot {
   public:
    explicit Slot(ConcurrencyLimit& l) : l_(l) { l_.Acquire(); }
    ~Slot() { l_.Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    ConcurrencyLimit& l_;
  };

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const int limit_;
  int used_ = 0;
};

}  // namespace strata::tier
