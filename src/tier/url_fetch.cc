#include "tier/url_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "common/strings.h"

namespace strata::tier {

namespace {

std::once_flag g_fetch_curl_init;

// An IPv4 address (host order) is allowed.
bool V4Allowed(uint32_t a, bool allow_private) {
  auto in = [a](uint32_t net, int bits) {
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (a & mask) == (net & mask);
  };
  // Never: link-local (metadata services), the known metadata addresses,
  // multicast, reserved, broadcast.
  if (in(0xA9FE0000, 16)) return false;               // 169.254.0.0/16
  if (a == 0x646464C8) return false;                  // 100.100.100.200 (Alibaba metadata)
  if (in(0xE0000000, 4) || in(0xF0000000, 4)) return false;  // multicast, reserved, broadcast
  // Local to this host or network: only with the allowance.
  bool local = in(0x00000000, 8) ||   // "this network", unspecified
               in(0x7F000000, 8) ||   // loopback
               in(0x0A000000, 8) ||   // private
               in(0xAC100000, 12) ||  // private
               in(0xC0A80000, 16) ||  // private
               in(0x64400000, 10) ||  // CGNAT shared address space
               in(0xC0000000, 24) ||  // IETF protocol assignments
               in(0xC6120000, 15);    // benchmarking
  return !local || allow_private;
}

bool V6Allowed(const uint8_t b[16], bool allow_private) {
  auto zeros = [b](int from, int to) {
    for (int i = from; i < to; ++i)
      if (b[i] != 0) return false;
    return true;
  };
  auto v4 = [b](int at) {
    return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
           uint32_t{b[at + 3]};
  };
  // IPv4 carried in IPv6: judged as that IPv4 address.
  if (zeros(0, 10) && b[10] == 0xff && b[11] == 0xff) return V4Allowed(v4(12), allow_private);
  if (zeros(0, 12) && !(zeros(12, 15) && b[15] <= 1))  // IPv4-compatible (deprecated)
    return V4Allowed(v4(12), allow_private);
  static const uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64, 12) == 0) return V4Allowed(v4(12), allow_private);
  if (b[0] == 0x20 && b[1] == 0x02) return V4Allowed(v4(2), allow_private);  // 6to4
  // fd00:ec2::254 (AWS metadata over IPv6): never.
  static const uint8_t kAwsMeta[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
                                       0,    0,    0,    0,    0, 0, 0x02, 0x54};
  if (std::memcmp(b, kAwsMeta, 16) == 0) return false;
  if (b[0] == 0xff) return false;                              // multicast
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;     // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;     // fec0::/10 site-local (old)
  bool local = (zeros(0, 15) && b[15] <= 1) ||  // :: and ::1
               (b[0] & 0xfe) == 0xfc ||         // fc00::/7 unique local
               (b[0] == 0x01 && zeros(1, 8)) || // 100::/64 discard
               (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);  // documentation
  return !local || allow_private;
}

// Per-fetch state the curl callbacks see.
struct FetchContext {
  const FetchRequest* req;
  FetchResult* res;
  bool allow_private;
  bool address_refused = false;
  bool too_large = false;
  bool sink_failed = false;
  bool stopped = false;
  bool cancelled = false;
  uint64_t error_body = 0;

  bool Success() const { return res->status >= 200 && res->status < 300; }

  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* addr) {
    auto* ctx = static_cast<FetchContext*>(user);
    bool ok = false;
    if (purpose == CURLSOCKTYPE_IPCXN && addr->family == AF_INET &&
        addr->addrlen >= sizeof(sockaddr_in)) {
      ok = AddressAllowed(&addr->addr, ctx->allow_private);
    } else if (purpose == CURLSOCKTYPE_IPCXN && addr->family == AF_INET6 &&
               addr->addrlen >= sizeof(sockaddr_in6)) {
      ok = AddressAllowed(&addr->addr, ctx->allow_private);
    }
    if (!ok) {
      ctx->address_refused = true;
      return CURL_SOCKET_BAD;
    }
    return ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* ctx = static_cast<FetchContext*>(user);
    std::string_view line(data, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (StartsWith(line, "HTTP/")) {
      ctx->res->headers.clear();
      ctx->res->metadata.clear();
      ctx->res->status = 0;
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos)
        if (auto code = ParseUint(line.substr(sp + 1, 3))) ctx->res->status = *code;
      return size * n;
    }
    if (line.empty()) {  // the end of an answer's headers
      if (ctx->Success() && ctx->req->on_response && !ctx->req->on_response(*ctx->res)) {
        ctx->stopped = true;
        return 0;
      }
      return size * n;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    if (ctx->res->headers.size() >= 200) return 0;  // a source may not flood us
    std::string_view raw_name = Trim(line.substr(0, colon));
    std::string name = ToLower(raw_name);
    std::string value(Trim(line.substr(colon + 1)));
    if (name.size() > 10 && StartsWith(name, "x-ms-meta-"))
      ctx->res->metadata.emplace_back(std::string(raw_name.substr(10)), value);
    if (name == "content-length" && ctx->Success()) {
      auto len = ParseUint(value);
      if (len && *len > ctx->req->max_bytes) {
        ctx->too_large = true;
        return 0;
      }
    }
    ctx->res->headers.emplace_back(std::move(name), std::move(value));
    return size * n;
  }

  static size_t OnWrite(char* data, size_t size, size_t n, void* user) {
    auto* ctx = static_cast<FetchContext*>(user);
    size_t len = size * n;
    if (!ctx->Success()) {  // an error body: read a little, keep nothing
      ctx->error_body += len;
      return ctx->error_body > 64 * 1024 ? 0 : len;
    }
    if (ctx->res->bytes + len > ctx->req->max_bytes) {
      ctx->too_large = true;
      return 0;
    }
    if (!ctx->req->sink || !ctx->req->sink(data, len)) {
      ctx->sink_failed = true;
      return 0;
    }
    ctx->res->bytes += len;
    return len;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* ctx = static_cast<FetchContext*>(user);
    if (ctx->req->cancelled && ctx->req->cancelled()) {
      ctx->cancelled = true;
      return 1;
    }
    return 0;
  }
};

FetchResult Refuse(std::string detail) {
  FetchResult r;
  r.kind = FetchResult::Kind::kRefused;
  r.detail = std::move(detail);
  return r;
}

struct CurluDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::optional<std::string> UrlPart(CURLU* u, CURLUPart part) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, 0) != CURLUE_OK || !out) return std::nullopt;
  std::string s(out);
  curl_free(out);
  return s;
}

}  // namespace

bool HostMatches(const std::vector<std::string>& patterns, std::string_view host) {
  std::string h = ToLower(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return false;
  for (const std::string& raw : patterns) {
    std::string p = ToLower(raw);
    if (p == "*") return true;
    if (StartsWith(p, "*.")) {
      std::string_view suffix = std::string_view(p).substr(1);  // ".suffix"
      if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    } else if (h == p) {
      return true;
    }
  }
  return false;
}

bool AddressAllowed(const sockaddr* addr, bool allow_private) {
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return V4Allowed(ntohl(in->sin_addr.s_addr), allow_private);
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    return V6Allowed(in6->sin6_addr.s6_addr, allow_private);
  }
  return false;
}

std::optional<std::string> FetchResult::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return std::nullopt;
}

FetchSlot::~FetchSlot() { running_->fetch_sub(1); }

UrlFetcher::UrlFetcher(FetchPolicy policy) : policy_(std::move(policy)) {}

std::unique_ptr<FetchSlot> UrlFetcher::Reserve() const {
  if (running_.fetch_add(1) >= policy_.max_concurrent) {
    running_.fetch_sub(1);
    return nullptr;
  }
  return std::unique_ptr<FetchSlot>(new FetchSlot(&running_));
}

FetchResult UrlFetcher::Fetch(const FetchRequest& request) const {
  std::call_once(g_fetch_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  // One parse, by curl, of what curl will fetch.
  std::unique_ptr<CURLU, CurluDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, request.url.c_str(), 0) != CURLUE_OK)
    return Refuse("The copy source is not a valid URL.");
  auto scheme = UrlPart(url.get(), CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https"))
    return Refuse("The copy source must be an http or https URL.");
  if (UrlPart(url.get(), CURLUPART_USER) || UrlPart(url.get(), CURLUPART_PASSWORD))
    return Refuse("The copy source URL may not carry user information.");
  auto host = UrlPart(url.get(), CURLUPART_HOST);
  if (!host || !HostAllowed(*host))
    return Refuse("The copy source's host is not one this server may copy from.");
  // A fragment is never sent; drop it so nothing depends on how it parses.
  curl_url_set(url.get(), CURLUPART_FRAGMENT, nullptr, 0);
  std::unique_ptr<FetchSlot> own;
  if (!request.slot) {
    own = Reserve();
    if (!own) {
      FetchResult busy;
      busy.kind = FetchResult::Kind::kBusy;
      busy.detail = "Too many copies from other hosts are running; retry later.";
      return busy;
    }
  }

  std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
  if (!h) return Refuse("Cannot start a fetch.");
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers)
    list = curl_slist_append(list, (name + ": " + value).c_str());
  // curl's defaults would add these; the source needs none of them.
  list = curl_slist_append(list, "Accept:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(list);

  FetchResult res;
  FetchContext ctx{&request, &res, policy_.allow_private};
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* e = h.get();
  curl_easy_setopt(e, CURLOPT_CURLU, url.get());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, static_cast<long>(policy_.connect_timeout_s));
  if (request.whole_timeout)
    curl_easy_setopt(e, CURLOPT_TIMEOUT, static_cast<long>(policy_.timeout_s));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(policy_.min_speed_bytes));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(policy_.min_speed_window_s));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_bytes));
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &FetchContext::OnOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &ctx);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &FetchContext::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &FetchContext::OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "strata-copy");
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (request.cancelled) {
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &FetchContext::OnProgress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &ctx);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  }
  CURLcode code = curl_easy_perform(e);

  if (ctx.address_refused && res.status == 0)
    return Refuse("The copy source's address is not one this server may connect to.");
  if (ctx.cancelled) {
    res.kind = FetchResult::Kind::kCancelled;
    res.detail = "The fetch was cancelled.";
    return res;
  }
  if (ctx.stopped) {
    res.kind = FetchResult::Kind::kStopped;
    return res;
  }
  if (ctx.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    res.kind = FetchResult::Kind::kTooLarge;
    res.detail = "The copy source is larger than this operation allows.";
    return res;
  }
  if (ctx.sink_failed) {
    res.kind = FetchResult::Kind::kSinkFailed;
    res.detail = "The copied data could not be stored.";
    return res;
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    res.kind = FetchResult::Kind::kTimeout;
    res.detail = "The copy source did not answer in time.";
    return res;
  }
  if (res.status != 0 && !ctx.Success() && (code == CURLE_OK || code == CURLE_WRITE_ERROR)) {
    res.kind = FetchResult::Kind::kHttpError;
    res.error_code = res.Header("x-ms-error-code").value_or("");
    res.detail = "The copy source answered " + std::to_string(res.status) + ".";
    return res;
  }
  if (code != CURLE_OK) {
    res.kind = FetchResult::Kind::kFailed;
    res.detail = std::string("The copy source could not be read: ") +
                 (errbuf[0] ? errbuf : curl_easy_strerror(code));
    return res;
  }
  res.kind = FetchResult::Kind::kOk;
  return res;
}

}  // namespace strata::tier
