// Retry policy of the capacity tier's remote client: which answers are
// retried, exponential backoff with full jitter, and Retry-After. Pure and
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/clock.h"

namespace strata::tier {

// 408, 429, 500, 502, 503 and 504: transient answers worth another attempt.
bool IsRetryableStatus(long status);

// The upper bound of the wait before retry number `retry` (1 = the first
// retry): min(max_ms, base_ms * 2^(retry-1)).
int64_t BackoffCeilingMs(int retry, int base_ms, int max_ms);
// Full jitter: a wait uniformly in [0, BackoffCeilingMs], picked by `unit`
// in [0, 1).
int64_t JitteredBackoffMs(int retry, int base_ms, int max_ms, double unit);

// Retry-After as delta-seconds ("120") or an HTTP date, as milliseconds
// from `now` (0 for a date in the past). nullopt when empty or unparseable.
std::optional<int64_t> ParseRetryAfterMs(std::string_view value, TimeNs now);

// The longest Retry-After the client honours; longer asks are clamped so a
// call stays bounded in time.
inline constexpr int64_t kMaxRetryAfterMs = 60'000;

}  // namespace strata::tier
