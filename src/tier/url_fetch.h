// UrlFetcher: reads copy sources on other hosts (Copy Blob From URL, Put
// Blob From URL, Put Block From URL, Copy Blob from a URL) with libcurl, and
// is the guard that keeps a server fetching URLs for its callers from
// becoming a way into its own network (server-side request forgery):
//   - only http and https URLs, without user info, parsed once by curl's own
//     URL parser and handed to curl parsed (no second parser to disagree);
//     no redirects followed (a 3xx is the source's answer); no proxy (the
//     environment's proxy variables are ignored);
//   - only hosts the configuration names (exact names, or "*.suffix" for
//     any name below suffix; "*" for every host), none by default;
//   - every address curl is about to connect to is checked when the socket
//     is opened (CURLOPT_OPENSOCKETFUNCTION), so the check is on the address
//     actually used, whatever DNS answered before or answers later (DNS
//     rebinding): loopback, private (10/8, 172.16/12, 192.168/16, CGNAT
//     100.64/10, fc00::/7), unspecified and other local-use ranges only
//     when `allow_private`; link-local (169.254/16, fe80::/10: where cloud
//     metadata services live), multicast, broadcast, reserved and the known
//     metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200)
//     never. IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4
//     (2002::/16) addresses are judged by the IPv4 address they carry;
//   - a size limit per fetch: a Content-Length over it is refused before a
//     byte reaches the sink, and the bytes received are counted too;
//   - time limits: connecting, the whole fetch, and a minimum speed over a
//     window, so a source that trickles bytes cannot hold a worker;
//   - only the headers the caller names are sent (x-ms-version, x-ms-range):
//     never an Authorization header or any other credential of this server;
//     the URL's own query (a SAS of the remote account) goes as given.
//
//   - at most `max_concurrent` fetches at once, counting those a caller has
//     promised to run later (Reserve: an asynchronous Copy Blob holds its
//     slot from its 202 until its background fetch ends).
//
// Thread-safety: Fetch may run concurrently (one easy handle per call); the
// policy is fixed at construction. Fetch blocks its thread for up to the
// time limit: call it from a worker pool or a background thread, never
// from an I/O thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::tier {

struct FetchPolicy {
  // Host patterns remote copy sources may come from: "name" (exact),
  // "*.suffix" (any name ending in ".suffix"), "*" (any). Empty: none.
  std::vector<std::string> hosts;
  // Also connect to loopback and private addresses (tests, or a cluster
  // whose sources are on its own network). Link-local and metadata
  // addresses stay refused.
  bool allow_private = false;
  // At most this many bytes per fetch, below each operation's own limit
  // (the caller applies the lower); 0: the operation's limit.
  uint64_t max_bytes = 0;
  // Fetches running at once, over all callers; more are refused (kBusy) so
  // that slow sources cannot take every worker of the pool.
  int max_concurrent = 4;
  int connect_timeout_s = 10;
  int timeout_s = 600;             // the whole fetch
  uint64_t min_speed_bytes = 1024;  // slower than this (bytes/s) ...
  int min_speed_window_s = 30;      // ... for this long ends the fetch
};

// Whether `host` (as in a URL, lowercase or not; an IPv6 literal in
// brackets) matches one of `patterns`.
bool HostMatches(const std::vector<std::string>& patterns, std::string_view host);

// Whether a connection to `addr` is allowed (see above).
bool AddressAllowed(const sockaddr* addr, bool allow_private);

class UrlFetcher;
struct FetchResult;

// One of the policy's `max_concurrent` fetches, held from Reserve() until
// destroyed; a fetch that names it takes no other.
class FetchSlot {
 public:
  ~FetchSlot();
  FetchSlot(const FetchSlot&) = delete;
  FetchSlot& operator=(const FetchSlot&) = delete;

 private:
  friend class UrlFetcher;
  explicit FetchSlot(std::atomic<int>* running) : running_(running) {}
  std::atomic<int>* running_;
};

struct FetchRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  uint64_t max_bytes = 0;  // the most the source may send (0: nothing)
  // Receives a 2xx response's body in order; false aborts the fetch
  // (FetchResult::kSinkFailed).
  std::function<bool(const char* data, size_t n)> sink;
  // If set: called once a 2xx answer's headers are all in (status,
  // headers and metadata filled), before any of its body; false stops the
  // fetch there (FetchResult::kStopped, nothing handed to the sink).
  std::function<bool(const FetchResult& answer)> on_response;
  // If set: polled while the fetch runs (at least once a second, also while
  // the source sends nothing); true ends it (FetchResult::kCancelled).
  std::function<bool()> cancelled;
  // A slot from Reserve() that this fetch runs in (null: it takes one, or
  // is refused with kBusy). Must outlive the fetch.
  const FetchSlot* slot = nullptr;
  // Whether the policy's timeout_s bounds the whole fetch. A background
  // fetch, which holds no worker, may run longer: the connect timeout and
  // the minimum speed still bound it (and `cancelled`).
  bool whole_timeout = true;
};

struct FetchResult {
  enum class Kind {
    kOk,          // a 2xx, its whole body handed to the sink
    kRefused,     // the URL, host or address is not allowed (nothing sent)
    kHttpError,   // the source answered a non-2xx status (status, error_code)
    kTooLarge,    // more than max_bytes (announced or received)
    kTimeout,     // a time limit ran out
    kFailed,      // transport error (detail says what)
    kSinkFailed,  // the sink refused data
    kBusy,        // max_concurrent fetches are running already (nothing sent)
    kStopped,     // on_response said stop (status, headers, metadata filled)
    kCancelled,   // `cancelled` said so
  };
  Kind kind = Kind::kFailed;
  long status = 0;
  std::string error_code;  // the source's x-ms-error-code, if any
  std::string detail;      // human text, safe to show the caller
  uint64_t bytes = 0;      // handed to the sink
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  // x-ms-meta-* of the answer as (name with its case kept, value).
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<std::string> Header(std::string_view lower_name) const;
};

class UrlFetcher {
 public:
  explicit UrlFetcher(FetchPolicy policy);

  const FetchPolicy& policy() const { return policy_; }
  // Whether remote sources from `host` may be tried at all (the address
  // check still follows at connect time).
  bool HostAllowed(std::string_view host) const { return HostMatches(policy_.hosts, host); }

  // Claims one of the `max_concurrent` fetches for a fetch to come; null
  // when all are taken. The slot outlives nothing of this fetcher.
  std::unique_ptr<FetchSlot> Reserve() const;

  // GETs request.url under the policy. Never throws.
  FetchResult Fetch(const FetchRequest& request) const;

 private:
  const FetchPolicy policy_;
  mutable std::atomic<int> running_{0};
};

}  // namespace strata::tier
