// Time: wall-clock now, and the two wire formats Azure uses.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

// Nanoseconds since the Unix epoch.
using TimeNs = int64_t;
// The ends of what a TimeNs holds (1677-09-21 and 2262-04-11). The parsers
// below give a valid date beyond them as the nearer end, so callers
// comparing times need no care, and callers subtracting them must not
// overflow (compute the distance in uint64_t).
inline constexpr TimeNs kMinTimeNs = INT64_MIN;
inline constexpr TimeNs kMaxTimeNs = INT64_MAX;

TimeNs NowNs();
// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string FormatHttpDate(TimeNs t);
// The same without an allocation: the view is into *buf.
struct HttpDateBuf {
  char text[32];
};
std::string_view HttpDate(TimeNs t, HttpDateBuf* buf);
// RFC 1123 / RFC 850 / asctime; nullopt when unparseable. Years 0..9999
// (saturated to kMinTimeNs..kMaxTimeNs).
std::optional<TimeNs> ParseHttpDate(std::string_view s);
// "2024-01-02T03:04:05.1234567Z" (7 fractional digits, as Azure writes).
std::string FormatIso8601(TimeNs t);
// ISO 8601 UTC as SAS uses: "2024-01-02", "2024-01-02T03:04Z",
// "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.1234567Z". Years 0..9999
// (saturated to kMinTimeNs..kMaxTimeNs).
std::optional<TimeNs> ParseIso8601(std::string_view s);

}  // namespace strata
