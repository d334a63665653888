#include "http/limits.h"

#include <algorithm>

namespace strata::http {

void MinRate::Start(Clock::time_point now, uint64_t min_bytes, Clock::duration window) {
  on_ = true;
  paused_ = false;
  min_bytes_ = min_bytes;
  window_ = window;
  window_base_ = received_;
  window_end_ = now + window;
}

void MinRate::Resume(Clock::time_point now) {
  if (!paused_) return;
  paused_ = false;
  window_base_ = received_;
  window_end_ = now + window_;
}

bool MinRate::Expired(Clock::time_point now) {
  if (!on_ || paused_ || now < window_end_) return false;
  if (received_ - window_base_ < min_bytes_) return true;
  window_base_ = received_;
  window_end_ = now + window_;
  return false;
}

bool MemoryBudget::TryTake(uint64_t n) {
  uint64_t cur = used_.load(std::memory_order_relaxed);
  do {
    if (cur != 0 && (cur + n > limit_ || cur + n < cur)) return false;
  } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  return true;
}

BodyBuffers::~BodyBuffers() { budget_->Give(size_[0] + size_[1]); }

bool BodyBuffers::Init(size_t want) {
  want = std::clamp(want, kMinSize, cap_);
  return Resize(0, want) || Resize(0, kMinSize);
}

int BodyBuffers::Next(int cur, bool filled) {
  int other = cur ^ 1;
  size_t want = filled ? std::min(cap_, 2 * size_[cur]) : size_[cur];
  if (size_[other] < want && !Resize(other, want) && size_[other] == 0) {
    Resize(other, kMinSize);
  }
  // Without another buffer, cur is reused as it is: it may still be
  // being hashed, so it cannot be replaced here.
  return size_[other] > 0 ? other : cur;
}

bool BodyBuffers::Resize(int i, size_t n) {
  if (n == size_[i]) return true;
  if (n > size_[i]) {
    if (!budget_->TryTake(n - size_[i])) return false;
  } else {
    budget_->Give(size_[i] - n);
  }
  buf_[i].reset();  // the old bytes go back before the new ones are taken
  // Not value-initialised: a page is touched only when bytes land on it.
  buf_[i].reset(new char[n]);
  size_[i] = n;
  return true;
}

bool BurstEnd::Sample(uint64_t value) {
  peak_ = std::max(peak_, value);
  if (peak_ < floor_ || value > peak_ / 4) return false;
  peak_ = value;
  return true;
}

}  // namespace strata::http
