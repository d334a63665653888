#include "tier/remote_retry.h"

#include <algorithm>

#include "common/strings.h"

namespace strata::tier {

bool IsRetryableStatus(long status) {
  switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

int64_t BackoffCeilingMs(int retry, int base_ms, int max_ms) {
  if (retry < 1 || base_ms <= 0) return 0;
  int64_t ceiling = base_ms;
  for (int i = 1; i < retry && ceiling < max_ms; ++i) ceiling *= 2;
  return std::min<int64_t>(ceiling, std::max(max_ms, 0));
}

int64_t JitteredBackoffMs(int retry, int base_ms, int max_ms, double unit) {
  unit = std::clamp(unit, 0.0, 1.0);
  int64_t ceiling = BackoffCeilingMs(retry, base_ms, max_ms);
  return std::min<int64_t>(ceiling, static_cast<int64_t>(unit * static_cast<double>(ceiling + 1)));
}

std::optional<int64_t> ParseRetryAfterMs(std::string_view value, TimeNs now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (auto seconds = ParseUint(value)) {
    if (*seconds > 1'000'000'000ull) return int64_t{1'000'000'000} * 1000;
    return static_cast<int64_t>(*seconds) * 1000;
  }
  auto when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  if (*when <= now) return 0;
  // As unsigned: a far date (up to kMaxTimeNs) is more than an int64_t away.
  uint64_t ms = (static_cast<uint64_t>(*when) - static_cast<uint64_t>(now)) / 1'000'000;
  return static_cast<int64_t>(std::min<uint64_t>(ms, uint64_t{1'000'000'000} * 1000));
}

}  // namespace strata::tier
