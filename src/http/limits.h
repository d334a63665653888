// The limits that keep one client from holding the server: a minimum data
// rate for request bodies, and a cap, with back-pressure, on the memory all
// request bodies hold together. Pure logic (no sockets, no clock of its
// own), so tests drive it directly; the server applies it (http/server.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace strata::http {

// A minimum average rate over consecutive windows: from Start, every window
// must bring at least `min_bytes` (counted by Add). Bytes never move a
// deadline, so a client that trickles a byte now and then fails at the end
// of its first window, however often it sends. Time spent paused (the
// server itself not reading: memory back-pressure) is not the client's:
// Resume opens a fresh window. Not thread-safe: one connection's loop owns
// it.
class MinRate {
 public:
  using Clock = std::chrono::steady_clock;

  // Off (never expires) until Start, and again after Stop.
  void Start(Clock::time_point now, uint64_t min_bytes, Clock::duration window);
  void Stop() { on_ = false; }
  bool on() const { return on_; }
  void Add(uint64_t n) { received_ += n; }
  void Pause() { paused_ = true; }
  void Resume(Clock::time_point now);

  // True when a window ended with fewer than min_bytes. Otherwise, once a
  // window has ended, opens the next one (so call it at least once a
  // window; the server does once a second).
  bool Expired(Clock::time_point now);

 private:
  bool on_ = false;
  bool paused_ = false;
  uint64_t min_bytes_ = 0;
  uint64_t received_ = 0;
  uint64_t window_base_ = 0;  // received_ when the window opened
  Clock::duration window_{};
  Clock::time_point window_end_{};
};

// The memory request bodies hold across all connections: their read
// buffers and the bodies kept in memory. A connection takes bytes here
// before it allocates them and gives them back when it frees them. A take
// that would pass the limit fails, and the caller then makes do with less
// or waits without reading its socket (back-pressure), so the total stays
// under the limit however many clients send. Thread-safe.
class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes n bytes if the total stays within the limit, or if nothing at all
  // is held (one request larger than the limit must still be able to run).
  bool TryTake(uint64_t n);
  void Give(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

// The two buffers a body is read into: one fills while the other is being
// hashed. Each starts small and doubles, up to `cap`, whenever the one
// before it was filled, so a body holds memory in proportion to the bytes
// that have arrived, not to the length its header declared. Every byte is
// taken from the budget first; growth the budget refuses does not happen
// (the body goes on in the buffers it has), and without a second buffer the
// first is reused. Gives everything back when destroyed. Not thread-safe.
class BodyBuffers {
 public:
  static constexpr size_t kMinSize = 16 << 10;

  // REQUIRES: cap >= kMinSize.
  BodyBuffers(MemoryBudget* budget, size_t cap) : budget_(budget), cap_(cap) {}
  ~BodyBuffers();
  BodyBuffers(const BodyBuffers&) = delete;
  BodyBuffers& operator=(const BodyBuffers&) = delete;

  // Allocates buffer 0: `want` bytes (clamped to [kMinSize, cap]) if the
  // budget allows, else kMinSize. False when not even that fits: wait for
  // others to give memory back, then call again.
  bool Init(size_t want);
  char* data(int i) { return buf_[i].get(); }
  size_t size(int i) const { return size_[i]; }

  // Buffer `cur` was handed on (`filled`: it was full). Returns the buffer
  // to fill next: the other one, allocated or grown to twice cur's size
  // when cur was full and the budget allows; or cur itself, unchanged,
  // when there is no other (the caller must then be done with cur's bytes
  // before refilling it).
  int Next(int cur, bool filled);

 private:
  // Replaces buffer i by one of n bytes (contents dropped) if the budget
  // allows; false (and nothing changed) if not.
  bool Resize(int i, size_t n);

  MemoryBudget* budget_;
  size_t cap_;
  std::unique_ptr<char[]> buf_[2];
  size_t size_[2] = {0, 0};
};

// Says when memory freed after a burst should go back to the system
// (malloc_trim): once a watched quantity (bytes held, connections open),
// sampled now and then, has fallen to a quarter of a peak of at least
// `floor` since the last time it said so. Not thread-safe.
class BurstEnd {
 public:
  explicit BurstEnd(uint64_t floor) : floor_(floor) {}
  // True once per burst, on the first sample after it ended.
  bool Sample(uint64_t value);

 private:
  uint64_t floor_;
  uint64_t peak_ = 0;
};

}  // namespace strata::http
