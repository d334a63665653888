#include "server/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/log.h"

namespace strata::server {

namespace {

// Lines reach the file within kBatchMs, or sooner once kWakeBytes are pending.
constexpr int kBatchMs = 100;
constexpr size_t kWakeBytes = 64 << 10;

bool IsCredentialParam(std::string_view raw_name) {
  // The name percent-decoded and lowercased (a name spelled %73ig is sig).
  std::string name;
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < raw_name.size(); ++i) {
    char c = raw_name[i];
    if (c == '%' && i + 2 < raw_name.size()) {
      int a = hex(raw_name[i + 1]), b = hex(raw_name[i + 2]);
      if (a >= 0 && b >= 0) {
        c = static_cast<char>(a * 16 + b);
        i += 2;
      }
    } else if (c == '+') {
      c = ' ';
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    name.push_back(c);
  }
  static constexpr std::string_view kSecret[] = {
      "sig",        "signature",     "token",         "access_token", "refresh_token",
      "id_token",   "client_secret", "secret",        "password",     "passwd",
      "key",        "accountkey",    "sharedkey",     "x-ms-signature", "credential",
      "x-amz-signature", "x-goog-signature", "code",  "assertion",    "authorization"};
  for (std::string_view s : kSecret)
    if (name == s) return true;
  return false;
}

// Appends s quoted, escaping '"', '\' and bytes outside printable ASCII.
void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out->append(buf, 4);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

// A JSON string (bytes outside printable ASCII as \u00XX: always valid JSON).
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[7];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf, 6);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

// RFC 3339 UTC with milliseconds.
void AppendTime(std::string* out, std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  // The calendar part changes once a second: cached per thread.
  thread_local time_t cached_secs = -1;
  thread_local char cached[64];  // room for any field value (-Wformat-truncation)
  if (secs != cached_secs) {
    tm tmv;
    gmtime_r(&secs, &tmv);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tmv.tm_year + 1900,
                  tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec);
    cached_secs = secs;
  }
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%s.%03dZ", cached, static_cast<int>(ms % 1000));
  out->append(buf, n);
}

}  // namespace

namespace {
// RedactUri, appended to *out.
void AppendRedactedUri(std::string_view target, std::string* outp) {
  std::string& out = *outp;
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    out.append(target);
    return;
  }
  out.append(target.substr(0, q + 1));
  std::string_view query = target.substr(q + 1);
  bool first = true;
  while (true) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    size_t eq = part.find('=');
    std::string_view name = part.substr(0, eq);
    if (eq != std::string_view::npos && IsCredentialParam(name)) {
      out.append(name);
      out.append("=REDACTED");
    } else if (eq == std::string_view::npos && IsCredentialParam(name)) {
      out.append(name);
    } else {
      out.append(part);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}
}  // namespace

std::string RedactUri(std::string_view target) {
  std::string out;
  AppendRedactedUri(target, &out);
  return out;
}

void FormatAccessLine(AccessLogFormat format, const http::Exchange& ex, std::string* out) {
  const http::Request* req = ex.request;
  std::string_view request_id = ex.note.request_id;
  std::string_view client = ex.remote_ip ? std::string_view(*ex.remote_ip) : std::string_view();
  std::string_view account = ex.note.account ? std::string_view(*ex.note.account) : std::string_view();
  std::string_view op = ex.note.operation ? ex.note.operation : "Unknown";
  std::string_view auth = ex.note.auth ? ex.note.auth : "";
  std::string_view method = req ? std::string_view(req->method) : std::string_view();
  thread_local std::string uri;  // the request line, redacted (reused: no allocation per line)
  uri.clear();
  if (req) {
    uri.append(req->method);
    uri.push_back(' ');
    AppendRedactedUri(req->target, &uri);
  }
  const std::string* ua = req ? req->FindHeader("user-agent") : nullptr;
  double latency_ms =
      std::chrono::duration<double, std::milli>(ex.end - ex.start).count();
  char lat[32];
  int latn = std::snprintf(lat, sizeof lat, "%.3f", latency_ms < 0 ? 0 : latency_ms);
  if (format == AccessLogFormat::kPlain) {
    auto field = [out](std::string_view v) {
      // Unquoted fields come from fixed sets or the server itself; still,
      // never let a space or a control byte split one.
      if (v.empty()) {
        out->push_back('-');
      } else {
        for (unsigned char c : v) out->push_back(c <= 0x20 || c >= 0x7f ? '_' : static_cast<char>(c));
      }
      out->push_back(' ');
    };
    AppendTime(out, ex.wall_start);
    out->push_back(' ');
    field(request_id);
    field(client);
    field(account);
    field(op);
    AppendUint(out, static_cast<uint64_t>(ex.status));
    out->push_back(' ');
    field(ex.note.error_code);
    AppendUint(out, ex.bytes_in);
    out->push_back(' ');
    AppendUint(out, ex.bytes_out);
    out->push_back(' ');
    out->append(lat, latn);
    out->push_back(' ');
    field(auth);
    if (req) {
      AppendQuoted(out, uri);
    } else {
      out->push_back('-');
    }
    out->push_back(' ');
    if (ua) AppendQuoted(out, *ua);
    else out->push_back('-');
    out->push_back('\n');
    return;
  }
  auto str = [out](const char* key, std::string_view v, bool comma = true) {
    out->push_back('"');
    out->append(key);
    out->append("\":");
    if (v.empty()) out->append("null");
    else AppendJsonString(out, v);
    if (comma) out->push_back(',');
  };
  out->append("{\"time\":\"");
  AppendTime(out, ex.wall_start);
  out->append("\",");
  str("request_id", request_id);
  str("client", client);
  str("account", account);
  str("operation", op);
  out->append("\"status\":");
  AppendUint(out, static_cast<uint64_t>(ex.status));
  out->push_back(',');
  str("error_code", ex.note.error_code);
  out->append("\"bytes_in\":");
  AppendUint(out, ex.bytes_in);
  out->append(",\"bytes_out\":");
  AppendUint(out, ex.bytes_out);
  out->append(",\"latency_ms\":");
  out->append(lat, latn);
  out->push_back(',');
  str("auth", auth);
  str("method", method);
  str("uri", req ? std::string_view(uri).substr(method.size() + 1) : std::string_view());
  str("user_agent", ua ? std::string_view(*ua) : std::string_view(), false);
  out->append("}\n");
}

Result<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& dest, AccessLogFormat format,
                                                   size_t max_pending) {
  if (dest == "stderr")
    return std::unique_ptr<AccessLog>(new AccessLog("", STDERR_FILENO, format, max_pending));
  int fd = ::open(dest.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus(errno, "open access log " + dest);
  return std::unique_ptr<AccessLog>(new AccessLog(dest, fd, format, max_pending));
}

AccessLog::AccessLog(std::string path, int fd, AccessLogFormat format, size_t max_pending)
    : path_(std::move(path)), fd_(fd), format_(format), max_pending_(max_pending) {
  writer_ = std::thread([this] { WriterLoop(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
  if (!path_.empty() && fd_ >= 0) ::close(fd_);
}

void AccessLog::Record(const http::Exchange& ex) {
  thread_local std::string line;
  line.clear();
  FormatAccessLine(format_, ex, &line);
  bool wake;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (pending_.size() + line.size() > max_pending_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // The writer wakes by itself every kBatchMs; only a batch that grew
    // large wakes it sooner (a wake per line would cost a context switch
    // per request).
    wake = pending_.size() < kWakeBytes && pending_.size() + line.size() >= kWakeBytes;
    pending_ += line;
    appended_ += line.size();
  }
  if (wake) cv_.notify_one();
}

void AccessLog::Reopen() {
  reopen_.store(true);
  cv_.notify_one();
}

void AccessLog::Flush() {
  std::unique_lock<std::mutex> l(mu_);
  uint64_t target = appended_;
  flush_asked_ = true;
  cv_.notify_one();
  flushed_cv_.wait_for(l, std::chrono::seconds(10), [&] { return flushed_ >= target; });
}

void AccessLog::WriteOut(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd_, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      // A full disk or a closed pipe: these lines are lost, counted.
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    off += static_cast<size_t>(w);
  }
  written_.fetch_add(data.size(), std::memory_order_relaxed);
}

void AccessLog::WriterLoop() {
  std::string batch;
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait_for(l, std::chrono::milliseconds(kBatchMs), [&] {
      return stop_ || flush_asked_ || reopen_.load() || pending_.size() >= kWakeBytes;
    });
    flush_asked_ = false;
    if (reopen_.exchange(false) && !path_.empty()) {
      int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (fd >= 0) {
        ::close(fd_);
        fd_ = fd;
      } else {
        LOG_ERROR("access log: reopening %s: %s (still writing the old file)", path_.c_str(),
                  std::strerror(errno));
      }
    }
    if (pending_.empty()) {
      if (stop_) return;
      continue;
    }
    batch.clear();
    batch.swap(pending_);
    uint64_t upto = appended_;
    l.unlock();
    WriteOut(batch);
    if (batch.capacity() > (1u << 20)) batch = std::string();  // after a burst: give memory back
    l.lock();
    flushed_ = upto;
    flushed_cv_.notify_all();
  }
}

}  // namespace strata::server
