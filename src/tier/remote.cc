// The libcurl RemoteClient: Azure Blob operations, retries and uploads on
// top of RemoteHttp (one attempt each).

#include "tier/remote.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/strings.h"
#include "tier/remote_http.h"
#include "tier/remote_list.h"
#include "tier/remote_retry.h"
#include "tier/remote_signer.h"
#include "tier/remote_url.h"

namespace strata::tier {

namespace {

// A version every current Azure endpoint and Azurite 3.35 accept, with the
// Cold tier (2021-12-02+).
constexpr char kApiVersion[] = "2023-11-03";
constexpr uint64_t kMaxBlocks = 50'000;
constexpr uint64_t kMaxBlockSize = 4000ull << 20;
constexpr uint64_t kMaxPutBlob = 5000ull << 20;
constexpr size_t kHashChunk = 1 << 20;
constexpr int kMaxProgressRetries = 1000;

double JitterUnit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string ErrorCode(const HttpResponse& r) {
  if (auto code = r.Header("x-ms-error-code")) return *code;
  size_t b = r.body.find("<Code>");
  size_t e = r.body.find("</Code>");
  if (b != std::string::npos && e != std::string::npos && e > b) {
    return r.body.substr(b + 6, e - b - 6);
  }
  return "";
}

std::string Describe(const HttpResponse& r) {
  if (r.status == 0) return r.error;
  std::string out = "HTTP " + std::to_string(r.status);
  std::string code = ErrorCode(r);
  if (!code.empty()) out += " " + code;
  if (!r.error.empty()) out += " (" + r.error + ")";
  return out;
}

// A final, non-retryable answer as a Status.
Status MapHttpError(const HttpResponse& r, const std::string& what) {
  std::string msg = what + ": " + Describe(r);
  std::string code = ErrorCode(r);
  switch (r.status) {
    case 404:
      return Status(code == "ContainerNotFound" ? ErrorKind::kContainerNotFound
                                                : ErrorKind::kNotFound,
                    msg);
    case 401:
    case 403: return Status(ErrorKind::kPermission, msg);
    case 409: return Status(ErrorKind::kAlreadyExists, msg);
    case 412: return Status(ErrorKind::kPathConflict, msg);
    case 413: return Status(ErrorKind::kTooLarge, msg);
    case 400:
      if (code == "Md5Mismatch" || code == "InvalidMd5" || code == "Crc64Mismatch") {
        return Status(ErrorKind::kIo, msg);
      }
      return Status(ErrorKind::kInvalidArgument, msg);
    default:
      if (r.status >= 400 && r.status < 500) return Status(ErrorKind::kInvalidArgument, msg);
      return Status(ErrorKind::kIo, msg);
  }
}

void FillProps(const HttpResponse& r, RemoteProps* p) {
  if (auto range = r.Header("content-range")) {  // "bytes a-b/total"
    size_t slash = range->rfind('/');
    if (slash != std::string::npos) {
      if (auto total = ParseUint(range->substr(slash + 1))) p->size = *total;
    }
  } else if (auto len = r.Header("content-length")) {
    if (auto v = ParseUint(*len)) p->size = *v;
  }
  if (auto etag = r.Header("etag")) {
    std::string e = *etag;
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    p->etag = e;
  }
  auto md5 = r.Header("x-ms-blob-content-md5");
  if (!md5 && !r.Header("content-range")) md5 = r.Header("content-md5");
  if (md5) {
    if (auto raw = Base64Decode(*md5)) p->content_md5 = *raw;
  }
  if (auto tier = r.Header("x-ms-access-tier")) p->access_tier = *tier;
  if (auto status = r.Header("x-ms-archive-status")) p->archive_status = *status;
  p->metadata = r.metadata;
  if (auto modified = r.Header("last-modified")) {
    if (auto t = ParseHttpDate(*modified)) p->last_modified_ns = *t;
  }
  auto take = [&](const char* header, std::string* field) {
    if (auto v = r.Header(header)) *field = *v;
  };
  take("content-type", &p->content_type);
  take("content-encoding", &p->content_encoding);
  take("content-language", &p->content_language);
  take("content-disposition", &p->content_disposition);
  take("cache-control", &p->cache_control);
  take("x-ms-blob-type", &p->blob_type);
}

// The upload conditions of RemoteBlobHeaders as request headers.
void AddUploadConditions(const RemoteBlobHeaders& h,
                         std::vector<std::pair<std::string, std::string>>* out) {
  if (!h.if_match.empty()) out->emplace_back("If-Match", "\"" + h.if_match + "\"");
  if (h.if_none_match_any) out->emplace_back("If-None-Match", "*");
}

bool Conditional(const RemoteBlobHeaders& h) {
  return !h.if_match.empty() || h.if_none_match_any;
}

class CurlRemoteClient final : public RemoteClient {
 public:
  CurlRemoteClient(const RemoteOptions& options, ContainerUrl url, std::string raw_key)
      : options_(options), url_(std::move(url)), raw_key_(std::move(raw_key)), http_(options) {}

  Status Upload(const std::string& name, int fd, uint64_t size, const RemoteBlobHeaders& headers,
                RemoteProps* props) override;
  Status Read(const std::string& name, uint64_t offset, uint64_t length, const RemoteSink& sink,
              RemoteProps* props, const std::string& if_match) override;
  Result<RemoteProps> Head(const std::string& name) override;
  Status Delete(const std::string& name) override;
  Status SetTier(const std::string& name, std::string_view tier) override;
  Result<RemoteListing> List(const std::string& prefix, const std::string& delimiter,
                             const std::string& marker, int max_results) override;
  Status Copy(const std::string& from, const std::string& to, const std::string& if_match,
              RemoteProps* props) override;
  Stats GetStats() const override { return http_.Counters(); }

 private:
  // One logical call: method on `path`?`query` with `headers` and the body
  // described by `body` (url and auth filled in here), retried as the
  // contract says. `prepare` may adjust the request before each attempt
  // (attempt number from 1); `observe` sees every attempt's response.
  struct CallSpec {
    std::string method, path, query, what;
    std::vector<std::pair<std::string, std::string>> headers;
    HttpRequest body;  // memory/fd/len/sink only
    std::function<void(HttpRequest&, int)> prepare;
    std::function<void(const HttpResponse&)> observe;
    bool not_found_ok = false;  // a 404 is success (Delete)
    // Bytes delivered so far (Read): an attempt that moved it forward before
    // failing does not count against max_attempts, so a long read through
    // a flaky network or a tight bandwidth cap still completes. Bounded by
    // kMaxProgressRetries.
    const uint64_t* progress = nullptr;
  };
  Status Call(CallSpec& spec, HttpResponse* final_response);
  void Authorize(HttpRequest& req, const std::string& path, const std::string& query);
  std::vector<std::pair<std::string, std::string>> BlobHeaders(const RemoteBlobHeaders& h,
                                                               const std::string& md5) const;
  // *attempts: how many attempts the committing request (Put Blob / Put
  // Block List) took.
  Status PutBlob(const std::string& name, int fd, uint64_t size, const RemoteBlobHeaders& h,
                 const std::string& md5, int* attempts);
  Status PutBlocks(const std::string& name, int fd, uint64_t size, const RemoteBlobHeaders& h,
                   const std::string& md5, int* attempts);

  const RemoteOptions options_;
  const ContainerUrl url_;
  const std::string raw_key_;
  RemoteHttp http_;
};

void CurlRemoteClient::Authorize(HttpRequest& req, const std::string& path,
                                 const std::string& query) {
  req.headers.emplace_back("x-ms-date", FormatHttpDate(NowNs()));
  req.headers.emplace_back("x-ms-version", kApiVersion);
  if (req.method == "PUT") {
    req.headers.emplace_back("Content-Length", std::to_string(req.body_len));
  }
  req.url = url_.Url(path, query);  // the SAS, if any, goes first
  if (!raw_key_.empty()) {
    OutgoingRequest out{req.method, path, query, req.headers};
    req.headers.emplace_back("Authorization",
                             SharedKeyAuthorization(out, url_.account, raw_key_));
  }
}

Status CurlRemoteClient::Call(CallSpec& spec, HttpResponse* final_response) {
  const int attempts = std::max(1, options_.max_attempts);
  std::string last;
  int progress_retries = 0;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    const uint64_t progress_before = spec.progress ? *spec.progress : 0;
    HttpRequest req = spec.body;
    req.method = spec.method;
    req.headers = spec.headers;
    if (spec.prepare) spec.prepare(req, attempt);
    Authorize(req, spec.path, spec.query);
    HttpResponse r = http_.Perform(req);
    if (spec.observe) spec.observe(r);
    if (r.sink_aborted) {
      http_.CountError();
      return Status(ErrorKind::kIo, spec.what + ": aborted by sink");
    }
    if (r.range_mismatch) {
      http_.CountError();
      return Status(ErrorKind::kIo, spec.what + ": the remote answered " + Describe(r) +
                                        " with another range than the one asked for");
    }
    if (r.etag_mismatch) {
      http_.CountError();
      return Status(ErrorKind::kPathConflict, spec.what + ": the remote answered " + Describe(r) +
                                                  " with another ETag than the one asked for");
    }
    if (r.tls_untrusted) {
      http_.CountError();
      return Status(ErrorKind::kPermission, spec.what + ": " + r.error);
    }
    if (r.local_read_error) {
      http_.CountError();
      return Status(ErrorKind::kIo, spec.what + ": reading the local file failed: " + r.error);
    }
    bool retryable = r.transport_error || IsRetryableStatus(r.status);
    if (!retryable) {
      if (final_response) *final_response = r;
      if (r.status >= 200 && r.status < 300) return Status::Ok();
      if (r.status == 404 && spec.not_found_ok) return Status::Ok();
      http_.CountError();
      return MapHttpError(r, spec.what);
    }
    last = Describe(r);
    if (spec.progress && *spec.progress > progress_before &&
        progress_retries < kMaxProgressRetries) {
      ++progress_retries;
      --attempt;  // it moved forward: resume without using up an attempt
    } else if (attempt == attempts) {
      break;
    }
    http_.CountRetry();
    int64_t wait_ms = JitteredBackoffMs(attempt, options_.base_backoff_ms,
                                        options_.max_backoff_ms, JitterUnit());
    if (auto ra = r.Header("retry-after")) {
      if (auto ms = ParseRetryAfterMs(*ra, NowNs())) wait_ms = std::min(*ms, kMaxRetryAfterMs);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
  http_.CountError();
  return Status(ErrorKind::kBusy, spec.what + ": remote unavailable after " +
                                      std::to_string(attempts) + " attempts: " + last);
}

std::vector<std::pair<std::string, std::string>> CurlRemoteClient::BlobHeaders(
    const RemoteBlobHeaders& h, const std::string& md5) const {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const char* name, const std::string& v) {
    if (!v.empty()) out.emplace_back(name, v);
  };
  add("x-ms-blob-content-type", h.content_type);
  add("x-ms-blob-content-encoding", h.content_encoding);
  add("x-ms-blob-content-language", h.content_language);
  add("x-ms-blob-content-disposition", h.content_disposition);
  add("x-ms-blob-cache-control", h.cache_control);
  add("x-ms-blob-content-md5", md5.empty() ? "" : Base64Encode(md5));
  for (const auto& [k, v] : h.metadata) out.emplace_back("x-ms-meta-" + k, v);
  return out;
}

// MD5 of bytes [offset, offset+len) of fd, read in 1 MiB pieces.
Result<std::string> HashRange(int fd, uint64_t offset, uint64_t len) {
  Md5Hasher hasher;
  std::string buf(static_cast<size_t>(std::min<uint64_t>(kHashChunk, std::max<uint64_t>(len, 1))),
                  '\0');
  uint64_t done = 0;
  while (done < len) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), len - done));
    ssize_t got = pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoStatus(errno, "reading the file to upload");
    if (got == 0) return Status(ErrorKind::kIo, "the file to upload is shorter than its size");
    hasher.Update(buf.data(), static_cast<size_t>(got));
    done += static_cast<uint64_t>(got);
  }
  return hasher.Final();
}

Status CurlRemoteClient::PutBlob(const std::string& name, int fd, uint64_t size,
                                 const RemoteBlobHeaders& h, const std::string& md5,
                                 int* attempts) {
  CallSpec spec;
  spec.method = "PUT";
  spec.path = url_.BlobPath(name);
  spec.what = "Put Blob " + name;
  spec.headers = BlobHeaders(h, md5);
  spec.headers.emplace_back("x-ms-blob-type", "BlockBlob");
  spec.headers.emplace_back("Content-MD5", Base64Encode(md5));  // checked by the remote
  AddUploadConditions(h, &spec.headers);
  spec.body.fd = fd;
  spec.body.body_len = size;
  spec.prepare = [attempts](HttpRequest&, int attempt) { *attempts = attempt; };
  return Call(spec, nullptr);
}

Status CurlRemoteClient::PutBlocks(const std::string& name, int fd, uint64_t size,
                                   const RemoteBlobHeaders& h, const std::string& md5,
                                   int* attempts) {
  uint64_t block = std::clamp<uint64_t>(options_.block_size, 1, kMaxBlockSize);
  if ((size + block - 1) / block > kMaxBlocks) block = (size + kMaxBlocks - 1) / kMaxBlocks;
  const uint64_t count = (size + block - 1) / block;
  // Fixed-length ids, unique per upload so stale uncommitted blocks of an
  // earlier attempt never mix in.
  char nonce[17];
  std::snprintf(nonce, sizeof nonce, "%016llx",
                static_cast<unsigned long long>(std::mt19937_64{std::random_device{}()}()));
  auto block_id = [&](uint64_t i) {
    char id[48];
    std::snprintf(id, sizeof id, "strata-%s-%08llu", nonce, static_cast<unsigned long long>(i));
    return Base64Encode(id);
  };

  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    while (!failed) {
      uint64_t i = next++;
      if (i >= count) return;
      uint64_t off = i * block;
      uint64_t len = std::min(block, size - off);
      Status st;
      auto digest = HashRange(fd, off, len);
      if (!digest.ok()) {
        st = digest.status();
      } else {
        CallSpec spec;
        spec.method = "PUT";
        spec.path = url_.BlobPath(name);
        spec.query = "comp=block&blockid=" + UrlEncode(block_id(i));
        spec.what = "Put Block " + std::to_string(i) + " of " + name;
        spec.headers.emplace_back("Content-MD5", Base64Encode(*digest));
        spec.body.fd = fd;
        spec.body.fd_offset = off;
        spec.body.body_len = len;
        st = Call(spec, nullptr);
      }
      if (!st.ok()) {
        std::lock_guard lock(mu);
        if (!failed.exchange(true)) first_error = st;
        return;
      }
    }
  };
  int threads = static_cast<int>(std::min<uint64_t>(count, std::max(1, options_.max_concurrency)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failed) return first_error;

  std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (uint64_t i = 0; i < count; ++i) xml += "<Latest>" + block_id(i) + "</Latest>";
  xml += "</BlockList>";
  CallSpec spec;
  spec.method = "PUT";
  spec.path = url_.BlobPath(name);
  spec.query = "comp=blocklist";
  spec.what = "Put Block List " + name;
  spec.headers = BlobHeaders(h, md5);
  spec.headers.emplace_back("Content-Type", "application/xml");
  spec.headers.emplace_back("Content-MD5", Base64Encode(Md5(xml)));
  AddUploadConditions(h, &spec.headers);
  spec.body.memory = &xml;
  spec.body.body_len = xml.size();
  spec.prepare = [attempts](HttpRequest&, int attempt) { *attempts = attempt; };
  return Call(spec, nullptr);
}

Status CurlRemoteClient::Upload(const std::string& name, int fd, uint64_t size,
                                const RemoteBlobHeaders& headers, RemoteProps* props) {
  // The file's own MD5 goes with the blob (so the remote copy carries one
  // even when the caller had none) and is checked against a declared one:
  // Put Block List stores x-ms-blob-content-md5 without checking it.
  auto digest = HashRange(fd, 0, size);
  if (!digest.ok()) return digest.status();
  const std::string md5 = *digest;
  if (!headers.content_md5.empty() && headers.content_md5 != md5) {
    http_.CountError();
    return Status(ErrorKind::kIo, "upload of " + name + ": the local file's MD5 " +
                                      Base64Encode(md5) + " is not its declared Content-MD5 " +
                                      Base64Encode(headers.content_md5));
  }
  const bool blocks = size > std::min(options_.single_put_limit, kMaxPutBlob);
  if (blocks && Conditional(headers)) {
    // Only Put Block List carries the condition: a blob that already fails
    // it is not worth sending the blocks for.
    auto head = Head(name);
    if (!head.ok() && head.status().kind() != ErrorKind::kNotFound) return head.status();
    const bool exists = head.ok();
    if ((headers.if_none_match_any && exists) ||
        (!headers.if_match.empty() && (!exists || head->etag != headers.if_match))) {
      return Status(ErrorKind::kPathConflict,
                    "upload of " + name + ": remote blob changed (" +
                        (exists ? "it has ETag " + head->etag : std::string("it is gone")) + ")");
    }
  }
  int attempts = 0;
  Status put = blocks ? PutBlocks(name, fd, size, headers, md5, &attempts)
                      : PutBlob(name, fd, size, headers, md5, &attempts);
  if (!put.ok() && Conditional(headers)) {
    const bool unmet =
        put.kind() == ErrorKind::kPathConflict ||
        (put.kind() == ErrorKind::kAlreadyExists && headers.if_none_match_any) ||
        (put.kind() == ErrorKind::kNotFound && !headers.if_match.empty());
    if (unmet) {
      // A retry of a request whose first attempt did land sees its own
      // write as the condition failing: the remote holding exactly these
      // bytes then counts as done.
      bool landed = false;
      if (attempts > 1) {
        auto head = Head(name);
        landed = head.ok() && head->size == size && head->content_md5 == md5;
      }
      if (!landed) {
        return Status(ErrorKind::kPathConflict,
                      "upload of " + name + ": remote blob changed (" + put.message() + ")");
      }
      put = Status::Ok();
    }
  }
  STRATA_RETURN_IF_ERROR(put);
  auto head = Head(name);
  if (!head.ok()) return head.status();
  if (head->size != size) {
    return Status(ErrorKind::kIo, "remote copy of " + name + " has " + std::to_string(head->size) +
                                      " bytes, expected " + std::to_string(size));
  }
  if (head->content_md5 != md5) {
    return Status(ErrorKind::kIo, "remote copy of " + name + " has Content-MD5 '" +
                                      Base64Encode(head->content_md5) + "', expected '" +
                                      Base64Encode(md5) + "'");
  }
  if (props) *props = std::move(*head);
  return Status::Ok();
}

Status CurlRemoteClient::Read(const std::string& name, uint64_t offset, uint64_t length,
                              const RemoteSink& sink, RemoteProps* props,
                              const std::string& if_match) {
  uint64_t delivered = 0;
  std::string etag = if_match;
  RemoteProps first;
  bool have_first = false;
  RemoteSink counting = [&](const char* data, size_t n) {
    delivered += n;
    return sink(data, n);
  };
  CallSpec spec;
  spec.method = "GET";
  spec.path = url_.BlobPath(name);
  spec.what = "Get Blob " + name;
  spec.body.sink = &counting;
  spec.progress = &delivered;
  spec.prepare = [&](HttpRequest& req, int) {
    uint64_t start = offset + delivered;
    if (length > 0) {
      req.headers.emplace_back("x-ms-range", "bytes=" + std::to_string(start) + "-" +
                                                 std::to_string(offset + length - 1));
      req.sink_range_start = static_cast<int64_t>(start);
    } else if (start > 0) {
      req.headers.emplace_back("x-ms-range", "bytes=" + std::to_string(start) + "-");
      req.sink_range_start = static_cast<int64_t>(start);
    }
    if (!etag.empty()) {
      req.headers.emplace_back("If-Match", "\"" + etag + "\"");
      req.sink_etag = etag;
    }
  };
  spec.observe = [&](const HttpResponse& r) {
    if (!have_first && r.status >= 200 && r.status < 300) {
      FillProps(r, &first);
      etag = first.etag;
      have_first = true;
    }
  };
  HttpResponse final_response;
  Status st = Call(spec, &final_response);
  if (!st.ok()) {
    if (st.kind() == ErrorKind::kPathConflict && !if_match.empty() && delivered == 0) {
      return Status(ErrorKind::kPathConflict, "Get Blob " + name + ": the remote blob no " +
                                                  "longer has ETag " + if_match + " (" +
                                                  st.message() + ")");
    }
    if (st.kind() == ErrorKind::kPathConflict && !etag.empty()) {
      return Status(ErrorKind::kPathConflict, "Get Blob " + name + ": the remote blob changed " +
                                                  "during the read (" + st.message() + ")");
    }
    return st;
  }
  uint64_t expected = length;
  if (length == 0) expected = first.size > offset ? first.size - offset : 0;
  if (length > 0 && first.size < offset + length) {
    expected = first.size > offset ? first.size - offset : 0;
  }
  if (delivered != expected) {
    return Status(ErrorKind::kIo, "Get Blob " + name + ": got " + std::to_string(delivered) +
                                      " bytes, expected " + std::to_string(expected));
  }
  if (props) *props = std::move(first);
  return Status::Ok();
}

Result<RemoteProps> CurlRemoteClient::Head(const std::string& name) {
  CallSpec spec;
  spec.method = "HEAD";
  spec.path = url_.BlobPath(name);
  spec.what = "Get Blob Properties " + name;
  HttpResponse r;
  STRATA_RETURN_IF_ERROR(Call(spec, &r));
  RemoteProps props;
  FillProps(r, &props);
  return props;
}

Status CurlRemoteClient::Delete(const std::string& name) {
  CallSpec spec;
  spec.method = "DELETE";
  spec.path = url_.BlobPath(name);
  spec.what = "Delete Blob " + name;
  spec.headers.emplace_back("x-ms-delete-snapshots", "include");
  spec.not_found_ok = true;
  return Call(spec, nullptr);
}

Status CurlRemoteClient::SetTier(const std::string& name, std::string_view tier) {
  if (tier != "Hot" && tier != "Cool" && tier != "Cold" && tier != "Archive") {
    return Status(ErrorKind::kInvalidArgument, "unknown access tier '" + std::string(tier) + "'");
  }
  CallSpec spec;
  spec.method = "PUT";
  spec.path = url_.BlobPath(name);
  spec.query = "comp=tier";
  spec.what = "Set Blob Tier " + name;
  spec.headers.emplace_back("x-ms-access-tier", std::string(tier));
  return Call(spec, nullptr);
}

Result<RemoteListing> CurlRemoteClient::List(const std::string& prefix,
                                             const std::string& delimiter,
                                             const std::string& marker, int max_results) {
  if (max_results < 1 || max_results > 5000) {
    return Status(ErrorKind::kInvalidArgument,
                  "List Blobs: max_results " + std::to_string(max_results) + " not in 1..5000");
  }
  std::string body;
  bool too_large = false;
  RemoteSink keep = [&](const char* data, size_t n) {
    if (n > kMaxListBody - body.size()) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  };
  CallSpec spec;
  spec.method = "GET";
  spec.path = url_.container_path;
  spec.query = "restype=container&comp=list&include=metadata";
  if (!prefix.empty()) spec.query += "&prefix=" + UrlEncode(prefix);
  if (!delimiter.empty()) spec.query += "&delimiter=" + UrlEncode(delimiter);
  if (!marker.empty()) spec.query += "&marker=" + UrlEncode(marker);
  spec.query += "&maxresults=" + std::to_string(max_results);
  spec.what = "List Blobs '" + prefix + "'";
  spec.body.sink = &keep;
  spec.prepare = [&](HttpRequest&, int) { body.clear(); };  // a retry starts the page over
  Status st = Call(spec, nullptr);
  if (too_large) {
    return Status(ErrorKind::kIo, spec.what + ": the page is larger than " +
                                      std::to_string(kMaxListBody >> 20) + " MiB");
  }
  if (!st.ok()) return st;
  return ParseListBlobs(body);
}

Status CurlRemoteClient::Copy(const std::string& from, const std::string& to,
                              const std::string& if_match, RemoteProps* props) {
  const std::string what = "Copy Blob " + from + " to " + to;
  CallSpec spec;
  spec.method = "PUT";
  spec.path = url_.BlobPath(to);
  spec.what = what;
  // The source in the same account: with a SAS it carries the SAS (never
  // in a message: only `what` and Azure's code are); with SharedKey the
  // request's own signature covers it.
  spec.headers.emplace_back("x-ms-copy-source", url_.Url(url_.BlobPath(from), ""));
  if (!if_match.empty()) spec.headers.emplace_back("x-ms-source-if-match", "\"" + if_match + "\"");
  HttpResponse r;
  Status st = Call(spec, &r);
  if (!st.ok()) {
    if (st.kind() == ErrorKind::kPathConflict && !if_match.empty()) {
      return Status(ErrorKind::kPathConflict, what + ": the source no longer has ETag " +
                                                  if_match + " (" + st.message() + ")");
    }
    return st;
  }
  const std::string copy_id = r.Header("x-ms-copy-id").value_or("");
  std::string copy_status = r.Header("x-ms-copy-status").value_or("success");
  const int64_t deadline =
      NowNs() + static_cast<int64_t>(std::max(options_.request_timeout_ms, 1000)) * 1'000'000;
  int64_t wait_ms = 50;
  RemoteProps last;
  bool have_last = false;
  while (copy_status == "pending") {
    if (NowNs() > deadline) {
      return Status(ErrorKind::kBusy, what + ": still pending after " +
                                          std::to_string(options_.request_timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = std::min<int64_t>(wait_ms * 2, 2000);
    CallSpec poll;
    poll.method = "HEAD";
    poll.path = url_.BlobPath(to);
    poll.what = "Get Blob Properties " + to + " (copy status)";
    HttpResponse pr;
    STRATA_RETURN_IF_ERROR(Call(poll, &pr));
    std::string id = pr.Header("x-ms-copy-id").value_or("");
    if (!copy_id.empty() && id != copy_id) {
      return Status(ErrorKind::kPathConflict, what + ": another copy or write replaced " + to);
    }
    copy_status = pr.Header("x-ms-copy-status").value_or("");
    FillProps(pr, &last);
    have_last = true;
  }
  if (copy_status != "success") {
    return Status(ErrorKind::kIo, what + ": copy status '" + copy_status + "'");
  }
  if (!props) return Status::Ok();
  if (have_last) {
    *props = std::move(last);
    return Status::Ok();
  }
  auto head = Head(to);
  if (!head.ok()) return head.status();
  *props = std::move(*head);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RemoteClient>> MakeRemoteClient(const RemoteOptions& options) {
  auto url = ParseContainerUrl(options.container_url);
  if (!url.ok()) return url.status();
  std::string raw_key;
  if (!options.account_key.empty()) {
    auto key = Base64Decode(options.account_key);
    if (!key || key->empty()) {
      return Status(ErrorKind::kInvalidArgument, "remote account key is not valid base64");
    }
    raw_key = *key;
    url->sas.clear();  // SharedKey signs every request; a SAS would be redundant
  }
  if (options.max_concurrency < 1 || options.max_attempts < 1 || options.block_size == 0 ||
      options.base_backoff_ms < 0 || options.max_backoff_ms < 0) {
    return Status(ErrorKind::kInvalidArgument, "remote options out of range");
  }
  return std::unique_ptr<RemoteClient>(
      std::make_unique<CurlRemoteClient>(options, std::move(*url), std::move(raw_key)));
}

}  // namespace strata::tier
