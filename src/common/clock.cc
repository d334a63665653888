#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace strata {

namespace {
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int MonthIndex(std::string_view m) {
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i;
  return -1;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int mon) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return mon == 1 && leap ? 29 : kDays[mon];
}

// Splits t into whole seconds (rounded down, also before 1970) and the
// nanoseconds past them.
void SplitNs(TimeNs t, time_t* secs, int64_t* ns) {
  int64_t s = t / 1000000000LL, r = t % 1000000000LL;
  if (r < 0) {
    --s;
    r += 1000000000LL;
  }
  *secs = static_cast<time_t>(s);
  *ns = r;
}

// A calendar date and time of day that exists (a leap second, :60, is let
// through as HTTP allows it); nullopt for anything else. mon is 0-based.
std::optional<TimeNs> FromFields(int year, int mon, int day, int h, int m, int sec, int64_t ns) {
  if (year < 0 || year > 9999 || mon < 0 || mon > 11 || day < 1 ||
      day > DaysInMonth(year, mon) || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
    return {};
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  // Years 0..9999 reach past what TimeNs holds (1677..2262): saturate
  // rather than overflow, so "9999-12-31" stays the far future it means.
  TimeNs out;
  if (__builtin_mul_overflow(static_cast<int64_t>(t), int64_t{1000000000}, &out) ||
      __builtin_add_overflow(out, ns, &out))
    return t < 0 ? kMinTimeNs : kMaxTimeNs;
  return out;
}
}  // namespace

TimeNs NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view HttpDate(TimeNs t, HttpDateBuf* buf) {
  time_t secs;
  int64_t ns;
  SplitNs(t, &secs, &ns);
  // The civil date by arithmetic (H. Hinnant's days-to-civil) and the digits
  // by hand: this runs two or three times for every blob response, and
  // gmtime_r takes the time-zone lock.
  int64_t days = static_cast<int64_t>(secs) / 86400;
  int64_t rem = static_cast<int64_t>(secs) % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  struct tm tm {};
  tm.tm_hour = static_cast<int>(rem / 3600);
  tm.tm_min = static_cast<int>(rem % 3600 / 60);
  tm.tm_sec = static_cast<int>(rem % 60);
  tm.tm_wday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t mon = mp < 10 ? mp + 3 : mp - 9;
    tm.tm_mday = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    tm.tm_mon = static_cast<int>(mon - 1);
    tm.tm_year = static_cast<int>(yoe + era * 400 + (mon <= 2 ? 1 : 0) - 1900);
  }
  char* p = buf->text;
  auto two = [&p](int v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  std::memcpy(p, kDays[tm.tm_wday], 3);
  p += 3;
  *p++ = ',';
  *p++ = ' ';
  two(tm.tm_mday);
  *p++ = ' ';
  std::memcpy(p, kMonths[tm.tm_mon], 3);
  p += 3;
  *p++ = ' ';
  int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) year = 9999;
  two(year / 100);
  two(year % 100);
  *p++ = ' ';
  two(tm.tm_hour);
  *p++ = ':';
  two(tm.tm_min);
  *p++ = ':';
  two(tm.tm_sec);
  std::memcpy(p, " GMT", 4);
  p += 4;
  return std::string_view(buf->text, static_cast<size_t>(p - buf->text));
}

std::string FormatHttpDate(TimeNs t) {
  HttpDateBuf buf;
  return std::string(HttpDate(t, &buf));
}

std::optional<TimeNs> ParseHttpDate(std::string_view s) {
  // RFC 1123: "Sun, 06 Nov 1994 08:49:37 GMT"
  char wd[8], mon[8], tz[8];
  int day, year, h, m, sec;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%3s, %d %3s %d %d:%d:%d %3s", wd, &day, mon, &year, &h, &m,
                  &sec, tz) == 8) {
    if (std::strcmp(tz, "GMT") != 0 && std::strcmp(tz, "UTC") != 0) return {};
    return FromFields(year, MonthIndex(mon), day, h, m, sec, 0);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  char wdl[16];
  if (std::sscanf(str.c_str(), "%15[A-Za-z], %d-%3s-%d %d:%d:%d %3s", wdl, &day, mon, &year, &h,
                  &m, &sec, tz) == 8) {
    if (year < 100) year += (year < 70 ? 2000 : 1900);
    return FromFields(year, MonthIndex(mon), day, h, m, sec, 0);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (std::sscanf(str.c_str(), "%3s %3s %d %d:%d:%d %d", wd, mon, &day, &h, &m, &sec, &year) ==
      7) {
    return FromFields(year, MonthIndex(mon), day, h, m, sec, 0);
  }
  return {};
}

std::string FormatIso8601(TimeNs t) {
  time_t secs;
  int64_t ns;
  SplitNs(t, &secs, &ns);
  int64_t frac = ns / 100;  // 100 ns units, 7 digits
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%07lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::optional<TimeNs> ParseIso8601(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  int64_t ns = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d))
    return {};
  size_t p = 10;
  if (p == s.size()) return FromFields(y, mo - 1, d, 0, 0, 0, 0);
  if (s[p] != 'T') return {};
  ++p;
  if (!Digits(s, p, 2, &h) || p + 2 >= s.size() || s[p + 2] != ':' || !Digits(s, p + 3, 2, &mi))
    return {};
  p += 5;
  if (p < s.size() && s[p] == ':') {
    if (!Digits(s, p + 1, 2, &sec)) return {};
    p += 3;
    if (p < s.size() && s[p] == '.') {
      ++p;
      int64_t scale = 100000000;
      size_t start = p;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        if (scale > 0) ns += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start) return {};
    }
  }
  if (p != s.size() - 1 || s[p] != 'Z') return {};
  return FromFields(y, mo - 1, d, h, mi, sec, ns);
}

}  // namespace strata
