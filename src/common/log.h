// The server's own messages (not the access log): one line each on stderr,
//   2026-12-05T14:20:00.123Z W strata: MESSAGE
// with a level letter (E, W, I, D). Lines below the level set are skipped
// before they are formatted.
//
// Thread-safety: any thread; each line goes out in one write(2), so lines
// of different threads never interleave.
#pragma once

#include <string_view>

namespace strata {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// "error" | "warn" | "info" | "debug". False for anything else.
bool ParseLogLevel(std::string_view name, LogLevel* out);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Writes one line (printf format; a trailing newline is added when missing).
void LogLine(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace strata

#define STRATA_LOG(level, ...)                                       \
  do {                                                               \
    if (::strata::LogEnabled(level)) ::strata::LogLine(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) STRATA_LOG(::strata::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN(...) STRATA_LOG(::strata::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO(...) STRATA_LOG(::strata::LogLevel::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) STRATA_LOG(::strata::LogLevel::kDebug, __VA_ARGS__)
