// RemoteHttp: one HTTP attempt on libcurl for the capacity tier's remote
// client. It owns a pool of easy handles (one per concurrent worker) joined
// by a share handle, so TCP/TLS connections, DNS and TLS sessions are reused
// across workers; it applies the concurrency limit and the bandwidth cap and
// keeps the traffic counters. Retries and Azure semantics live in remote.cc.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "tier/remote.h"
#include "tier/remote_throttle.h"

namespace strata::tier {

// What one attempt sends.
struct HttpRequest {
  std::string method;  // GET HEAD PUT DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // Body: `memory` when set, else `body_len` bytes of `fd` from `fd_offset`
  // (read with pread as curl asks). No body when body_len is 0 and memory
  // is null; a PUT always sends Content-Length.
  const std::string* memory = nullptr;
  int fd = -1;
  uint64_t fd_offset = 0;
  uint64_t body_len = 0;
  // Receives a 2xx response's body; other bodies (errors) are kept in
  // HttpResponse::body. Null: 2xx bodies are kept in body too.
  const RemoteSink* sink = nullptr;
  // When >= 0, the sink only takes a 206 whose Content-Range starts at this
  // byte (a resumed or ranged read); any other 2xx body is refused
  // (range_mismatch) so the sink never sees a byte twice. -1: the sink
  // takes a 200 or a 206 as it comes.
  int64_t sink_range_start = -1;
  // When set (without quotes), the sink only takes a 2xx whose ETag is this
  // one; any other is refused (etag_mismatch) before a byte reaches it, so a
  // remote that ignores If-Match still cannot hand over another version.
  std::string sink_etag;
};

// What one attempt got back.
struct HttpResponse {
  long status = 0;  // 0 when no status line arrived
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  // x-ms-meta-* as (name with its case kept, value).
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string body;             // error / small bodies (bounded)
  uint64_t sink_bytes = 0;      // bytes handed to the sink
  bool transport_error = false; // connection, timeout, truncated body
  bool sink_aborted = false;
  bool local_read_error = false;  // pread of the body failed
  bool range_mismatch = false;    // a 2xx that was not the range asked for
  bool etag_mismatch = false;     // a 2xx with another ETag than sink_etag
  bool tls_untrusted = false;     // the server's certificate was not trusted
  std::string error;            // curl's description when it failed

  std::optional<std::string> Header(std::string_view lower_name) const;
};

class RemoteHttp {
 public:
  RemoteHttp(const RemoteOptions& options);
  ~RemoteHttp();
  RemoteHttp(const RemoteHttp&) = delete;
  RemoteHttp& operator=(const RemoteHttp&) = delete;

  // Performs one attempt under the concurrency limit. Never throws.
  HttpResponse Perform(const HttpRequest& request);

  RemoteClient::Stats Counters() const;
  void CountRetry() { retries_++; }
  void CountError() { errors_++; }

 private:
  CURL* TakeHandle();
  void ReturnHandle(CURL* handle);
  friend struct TransferContext;

  const RemoteOptions options_;
  CURLSH* share_ = nullptr;
  std::mutex share_mu_[16];
  std::mutex pool_mu_;
  std::vector<CURL*> pool_;
  ConcurrencyLimit limit_;
  TokenBucket bucket_;
  std::atomic<uint64_t> requests_{0}, retries_{0}, errors_{0}, bytes_up_{0}, bytes_down_{0},
      in_flight_{0}, throttle_waits_{0}, connections_opened_{0};
};

}  // namespace strata::tier
