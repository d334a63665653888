// AccessLog: one line per request (http::Exchange), as text or JSON, to
// stderr or a file, written by a thread of its own.
//
//   plain: TIME REQUEST-ID CLIENT ACCOUNT OPERATION STATUS ERROR-CODE BYTES-IN
//          BYTES-OUT LATENCY-MS AUTH "METHOD URI" "USER-AGENT"
//   json:  {"time":..,"request_id":..,"client":..,"account":..,"operation":..,
//           "status":..,"error_code":..,"bytes_in":..,"bytes_out":..,
//           "latency_ms":..,"auth":..,"method":..,"uri":..,"user_agent":..}
//
// TIME is RFC 3339 UTC with milliseconds (the request's first header byte);
// a missing field is "-" (plain) or null (json); status 0: no response was
// sent (the client went away or was cut off). Credentials never appear:
// the URI's credential parameters (sig and the like, RedactUri) are
// replaced by REDACTED, and no header but User-Agent is logged. Quoted
// fields escape '"', '\' and bytes outside printable ASCII (\xHH).
//
// Lines are written in batches, at least every 100 ms (sooner when 64 KiB
// are pending). Thread-safety: Record runs on I/O threads and never blocks
// on the writer:
// lines go to a bounded buffer (a short lock to append); when the writer
// falls behind by more than max_pending bytes, lines are dropped and
// counted (dropped()). Reopen (SIGHUP, for logrotate) may come from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "http/server.h"

namespace strata::server {

enum class AccessLogFormat { kPlain, kJson };

// The request target with the values of credential query parameters
// (sig, signature, token, access_token, ... compared without case, after
// percent-decoding the name) replaced by REDACTED.
std::string RedactUri(std::string_view target);

// One line (newline included) for `ex`, appended to *out.
void FormatAccessLine(AccessLogFormat format, const http::Exchange& ex, std::string* out);

class AccessLog {
 public:
  // `dest`: "stderr" or a file path (appended to; created 0640).
  static Result<std::unique_ptr<AccessLog>> Open(const std::string& dest, AccessLogFormat format,
                                                 size_t max_pending = 8 << 20);
  ~AccessLog();  // writes what is pending, then stops the writer

  void Record(const http::Exchange& ex);
  // Reopens the file (by its path) before the next write; stderr: nothing.
  void Reopen();
  // Writes what is pending now and waits for it (tests, shutdown).
  void Flush();

  uint64_t dropped() const { return dropped_.load(); }
  uint64_t written() const { return written_.load(); }

 private:
  AccessLog(std::string path, int fd, AccessLogFormat format, size_t max_pending);
  void WriterLoop();
  void WriteOut(const std::string& data);

  std::string path_;  // "" for stderr
  int fd_;
  AccessLogFormat format_;
  size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::string pending_;
  uint64_t appended_ = 0, flushed_ = 0;  // bytes appended / bytes handed to write (with mu_)
  bool stop_ = false;
  bool flush_asked_ = false;
  std::atomic<bool> reopen_{false};
  std::atomic<uint64_t> dropped_{0}, written_{0};
  std::thread writer_;
};

}  // namespace strata::server
