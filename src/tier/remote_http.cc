#include "tier/remote_http.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace strata::tier {

namespace {

constexpr size_t kMaxKeptBody = 64 * 1024;
constexpr long kBufferSize = 256 * 1024;

std::once_flag g_curl_init;

void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  static_cast<std::mutex*>(user)[static_cast<int>(data) % 16].lock();
}
void UnlockShare(CURL*, curl_lock_data data, void* user) {
  static_cast<std::mutex*>(user)[static_cast<int>(data) % 16].unlock();
}

bool TransportCode(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

// Per-attempt state the curl callbacks see.
struct TransferContext {
  RemoteHttp* http;
  const HttpRequest* req;
  HttpResponse* resp;
  uint64_t read_pos = 0;
  bool range_checked = false;

  // The response is the byte range the request asked for (see
  // HttpRequest::sink_range_start).
  bool RangeAsAsked() const {
    if (req->sink_range_start < 0) return true;
    if (resp->status != 206) return false;
    auto range = resp->Header("content-range");  // "bytes START-END/TOTAL"
    if (!range || !StartsWith(*range, "bytes ")) return false;
    size_t dash = range->find('-');
    if (dash == std::string::npos) return false;
    auto start = ParseUint(std::string_view(*range).substr(6, dash - 6));
    return start && *start == static_cast<uint64_t>(req->sink_range_start);
  }

  // The response is the version the request asked for (HttpRequest::sink_etag).
  bool EtagAsAsked() const {
    if (req->sink_etag.empty()) return true;
    auto etag = resp->Header("etag");
    if (!etag) return false;
    std::string_view e = *etag;
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    return e == req->sink_etag;
  }

  bool SinkActive() const {
    return req->sink != nullptr && resp->status >= 200 && resp->status < 300;
  }
  void Throttle(size_t n) {
    if (http->bucket_.Acquire(n) > 0) http->throttle_waits_++;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* ctx = static_cast<TransferContext*>(user);
    std::string_view line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (StartsWith(line, "HTTP/")) {  // a new response (after 100 Continue, too)
      ctx->resp->headers.clear();
      ctx->resp->metadata.clear();
      size_t sp = line.find(' ');
      ctx->resp->status = 0;
      if (sp != std::string_view::npos) {
        if (auto code = ParseUint(line.substr(sp + 1, 3))) ctx->resp->status = *code;
      }
      return size * n;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = Trim(line.substr(0, colon));
      std::string value(Trim(line.substr(colon + 1)));
      if (name.size() > 10 && IEquals(name.substr(0, 10), "x-ms-meta-")) {
        ctx->resp->metadata.emplace_back(std::string(name.substr(10)), value);
      }
      ctx->resp->headers.emplace_back(ToLower(name), std::move(value));
    }
    return size * n;
  }

  static size_t OnWrite(char* data, size_t size, size_t n, void* user) {
    auto* ctx = static_cast<TransferContext*>(user);
    size_t len = size * n;
    ctx->Throttle(len);
    ctx->http->bytes_down_ += len;
    if (ctx->SinkActive()) {
      if (!ctx->range_checked) {
        ctx->range_checked = true;
        if (!ctx->RangeAsAsked()) {
          ctx->resp->range_mismatch = true;
          return 0;
        }
        if (!ctx->EtagAsAsked()) {
          ctx->resp->etag_mismatch = true;
          return 0;
        }
      }
      if (!(*ctx->req->sink)(data, len)) {
        ctx->resp->sink_aborted = true;
        return 0;
      }
      ctx->resp->sink_bytes += len;
      return len;
    }
    size_t room = kMaxKeptBody - std::min(kMaxKeptBody, ctx->resp->body.size());
    ctx->resp->body.append(data, std::min(room, len));
    return len;
  }

  static size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
    auto* ctx = static_cast<TransferContext*>(user);
    const HttpRequest& req = *ctx->req;
    uint64_t left = req.body_len - std::min(req.body_len, ctx->read_pos);
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * n));
    if (want == 0) return 0;
    if (req.memory) {
      std::memcpy(buffer, req.memory->data() + ctx->read_pos, want);
    } else {
      ssize_t got;
      do {
        got = pread(req.fd, buffer, want, static_cast<off_t>(req.fd_offset + ctx->read_pos));
      } while (got < 0 && errno == EINTR);
      if (got <= 0) {  // an error, or the file shrank under us
        ctx->resp->local_read_error = true;
        return CURL_READFUNC_ABORT;
      }
      want = static_cast<size_t>(got);
    }
    ctx->Throttle(want);
    ctx->read_pos += want;
    ctx->http->bytes_up_ += want;
    return want;
  }

  static int OnSeek(void* user, curl_off_t offset, int origin) {
    auto* ctx = static_cast<TransferContext*>(user);
    if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > ctx->req->body_len) {
      return CURL_SEEKFUNC_CANTSEEK;
    }
    ctx->read_pos = static_cast<uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  }
};

RemoteHttp::RemoteHttp(const RemoteOptions& options)
    : options_(options),
      limit_(options.max_concurrency),
      bucket_(options.bandwidth_bytes_per_sec,
              std::max<uint64_t>(options.bandwidth_bytes_per_sec / 10, kBufferSize)) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  share_ = curl_share_init();
  curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, LockShare);
  curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, UnlockShare);
  curl_share_setopt(share_, CURLSHOPT_USERDATA, share_mu_);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

RemoteHttp::~RemoteHttp() {
  for (CURL* h : pool_) curl_easy_cleanup(h);
  curl_share_cleanup(share_);
}

CURL* RemoteHttp::TakeHandle() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      CURL* h = pool_.back();
      pool_.pop_back();
      curl_easy_reset(h);
      return h;
    }
  }
  return curl_easy_init();
}

void RemoteHttp::ReturnHandle(CURL* handle) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(handle);
}

HttpResponse RemoteHttp::Perform(const HttpRequest& req) {
  HttpResponse resp;
  ConcurrencyLimit::Slot slot(limit_);
  in_flight_++;
  requests_++;
  CURL* h = TakeHandle();
  if (h == nullptr) {
    in_flight_--;
    resp.transport_error = true;
    resp.error = "curl_easy_init failed";
    return resp;
  }
  TransferContext ctx{this, &req, &resp};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& [name, value] : req.headers) {
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  list = curl_slist_append(list, "Accept:");

  curl_easy_setopt(h, CURLOPT_SHARE, share_);
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max(1, (options_.stall_timeout_ms + 999) / 1000)));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  // Under a bandwidth cap, smaller pieces keep each pause short (well under
  // the stall timeout) and the pacing smooth.
  long buffer = kBufferSize;
  if (options_.bandwidth_bytes_per_sec > 0) {
    buffer = static_cast<long>(std::clamp<uint64_t>(options_.bandwidth_bytes_per_sec / 10,
                                                    16 * 1024, kBufferSize));
  }
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, buffer);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, buffer);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &TransferContext::OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &TransferContext::OnWrite);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_len));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &TransferContext::OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &TransferContext::OnSeek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &ctx);
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  CURLcode code = curl_easy_perform(h);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  connections_opened_ += static_cast<uint64_t>(std::max(0L, connects));
  if (code != CURLE_OK) {
    resp.error = std::string(curl_easy_strerror(code)) + (errbuf[0] ? std::string(": ") + errbuf : "");
    if (code == CURLE_WRITE_ERROR && (resp.sink_aborted || resp.range_mismatch)) {
      // the sink said stop
    } else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
               code == CURLE_SSL_CERTPROBLEM) {
      resp.tls_untrusted = true;
    } else if (code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_READ_ERROR) {
      resp.local_read_error = resp.local_read_error || code == CURLE_READ_ERROR;
    } else {
      resp.transport_error = TransportCode(code) || resp.status == 0;
    }
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  ReturnHandle(h);
  in_flight_--;
  return resp;
}

RemoteClient::Stats RemoteHttp::Counters() const {
  RemoteClient::Stats s;
  s.requests = requests_;
  s.retries = retries_;
  s.errors = errors_;
  s.bytes_up = bytes_up_;
  s.bytes_down = bytes_down_;
  s.in_flight = in_flight_;
  s.throttle_waits = throttle_waits_;
  s.connections_opened = connections_opened_;
  return s;
}

}  // namespace strata::tier
