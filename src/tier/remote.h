// RemoteClient: the capacity tier's client for one remote Azure Blob
// container (real Azure over HTTPS, or Azurite), on libcurl.
//
// This header is the contract between the remote client (remote.cc) and the
// rest of tier/ (offload, recall, policy). Names passed in are blob names
// inside the remote container, already prefixed (PREFIX/CONTAINER/BLOB);
// the client percent-encodes them.
//
// Behaviour every call shares:
//  - connections are reused (one CURL handle per worker, a shared
//    connection cache);
//  - 408, 429, 500, 502, 503, 504, connection errors, timeouts and stalls
//    are retried with exponential backoff and full jitter, honouring
//    Retry-After (seconds or an HTTP date, at most 60 s), up to
//    RemoteOptions::max_attempts; other answers are returned at once;
//  - at most RemoteOptions::max_concurrency requests are in flight across
//    all threads using the client (strata makes one per process), and
//    RemoteOptions::bandwidth_bytes_per_sec (0: no cap) caps the bytes moved
//    in both directions together.
// Errors come back as Status, whose message names the operation, the HTTP
// status and Azure's error code (e.g. "Get Blob p/c/b: HTTP 409
// BlobArchived"):
//  - kNotFound: 404 (kContainerNotFound when the remote container itself is
//    missing);
//  - kAlreadyExists: 409, e.g. reading an archived blob (BlobArchived);
//  - kPathConflict: 412; for a conditional upload (if_match,
//    if_none_match_any) also 409 BlobAlreadyExists and 404: "remote blob
//    changed";
//  - kPermission: 401/403, or an HTTPS certificate not trusted; never retried;
//  - kBusy: the remote could not be reached, or still failed after the
//    retries (callers answer 503 ServerBusy);
//  - kIo: a body shorter than announced or with other bytes than asked for,
//    a file that does not match its declared MD5, a remote copy whose size
//    or MD5 differs after an upload, a sink that said stop;
//  - kInvalidArgument: other 4xx.
// Read does not hash what it streams: callers that need the content
// verified hash the bytes against their own record.
// A SAS must grant r, c, w and d (Upload reads the properties back), and l
// for List.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::tier {

struct RemoteOptions {
  // Container URL, e.g. https://acct.blob.core.windows.net/cont or
  // http://127.0.0.1:PORT/devstoreaccount1/cont, optionally with a SAS
  // query string (?sv=...&sig=...).
  std::string container_url;
  // For SharedKey instead of a SAS: base64 account key. The account name is
  // taken from the URL (host-style first label, or the first path segment
  // for path-style URLs such as Azurite's).
  std::string account_key;
  int max_concurrency = 8;
  uint64_t bandwidth_bytes_per_sec = 0;
  int max_attempts = 6;
  int base_backoff_ms = 100;       // first retry waits up to this (jittered)
  int max_backoff_ms = 10'000;
  int connect_timeout_ms = 5'000;
  int request_timeout_ms = 300'000;  // per attempt
  // An attempt that moves no byte for this long is abandoned (and retried;
  // a read resumes where it stopped). Whole seconds, at least one.
  int stall_timeout_ms = 30'000;
  uint64_t block_size = 8ull << 20;  // Put Block size for large uploads
  uint64_t single_put_limit = 32ull << 20;  // above this: blocks + block list
  // HTTPS: a PEM file of CA certificates to trust instead of the system's
  // (e.g. an Azurite with a self-signed certificate). Empty: the system's.
  // A certificate that is not trusted fails with kPermission, unretried.
  std::string ca_file;
};

// What Get Blob Properties / Get Blob / List Blobs / a successful upload
// report. Fields the remote did not report stay empty (0).
struct RemoteProps {
  uint64_t size = 0;
  std::string etag;         // remote ETag, without quotes
  std::string content_md5;  // raw 16 bytes, or empty when the remote has none
  std::string access_tier;  // Hot | Cool | Cold | Archive (empty if not reported)
  std::string archive_status;  // x-ms-archive-status, e.g. rehydrate-pending-to-hot
  std::vector<std::pair<std::string, std::string>> metadata;  // x-ms-meta-*
  int64_t last_modified_ns = 0;  // Last-Modified (RFC 1123), ns since the epoch
  std::string content_type, content_encoding, content_language, content_disposition,
      cache_control;
  std::string blob_type;  // BlockBlob | AppendBlob | PageBlob
};

// One page of List Blobs.
struct RemoteListing {
  std::vector<std::pair<std::string, RemoteProps>> blobs;  // name -> props (incl. metadata)
  std::vector<std::string> prefixes;  // BlobPrefix names, with delimiter
  std::string next_marker;            // "" when this was the last page
};

// Headers stored with an uploaded blob so the remote copy is usable alone.
struct RemoteBlobHeaders {
  std::string content_type, content_encoding, content_language, content_disposition,
      cache_control;
  std::string content_md5;  // raw 16 bytes: sent as x-ms-blob-content-md5
  std::vector<std::pair<std::string, std::string>> metadata;
  // Conditions on the upload (Put Blob, or Put Block List for block
  // uploads; the blocks themselves are unconditional). if_match: an ETag
  // without quotes the remote blob must still have; if_none_match_any: no
  // blob of that name may exist. Not met: kPathConflict "remote blob
  // changed", unretried, and the remote blob is left as it was.
  std::string if_match;
  bool if_none_match_any = false;
};

// Receives body bytes in order; returning false aborts the transfer (kIo
// "aborted by sink").
using RemoteSink = std::function<bool(const char* data, size_t n)>;

class RemoteClient {
 public:
  virtual ~RemoteClient() = default;

  // Uploads `size` bytes of the open file `fd` from offset 0 as blob `name`:
  // one Put Blob up to single_put_limit, else parallel Put Blocks (at most
  // max_concurrency in flight) and Put Block List. Reads the file with
  // pread, never whole into memory. The file's MD5 is computed first and
  // sent as x-ms-blob-content-md5 (each request body also carries its own
  // Content-MD5, which the remote checks); a declared headers.content_md5
  // that differs fails with kIo before anything is sent. After the upload
  // the remote's properties are read back and must show the same size and
  // MD5 (else kIo). On success fills *props (size, etag, content_md5,
  // access_tier, metadata as the remote reports them).
  virtual Status Upload(const std::string& name, int fd, uint64_t size,
                        const RemoteBlobHeaders& headers, RemoteProps* props) = 0;
  // Streams bytes [offset, offset+length) of blob `name` to `sink`
  // (length 0 with offset 0: the whole blob). A retry after some bytes were
  // delivered resumes at the next byte, with If-Match on the ETag first seen,
  // so the sink never sees a byte twice or bytes of two versions (a blob
  // replaced meanwhile fails with kPathConflict; a remote that answers a
  // resume with other bytes than asked for fails with kIo). An attempt that
  // delivered bytes before failing does not use up one of max_attempts.
  // On success *props carries the size, ETag, MD5 and metadata the remote
  // reported with the first bytes. A non-empty `if_match` (an ETag without
  // quotes) makes every attempt conditional on it from the first: a blob
  // that no longer has that ETag fails with kPathConflict before any byte
  // reaches the sink.
  virtual Status Read(const std::string& name, uint64_t offset, uint64_t length,
                      const RemoteSink& sink, RemoteProps* props = nullptr,
                      const std::string& if_match = "") = 0;
  virtual Result<RemoteProps> Head(const std::string& name) = 0;
  // Deleting a blob that is already gone is ok (idempotent).
  virtual Status Delete(const std::string& name) = 0;
  // Set Blob Tier on the remote blob: Hot | Cool | Cold | Archive.
  virtual Status SetTier(const std::string& name, std::string_view tier) = 0;

  // List Blobs (restype=container&comp=list&include=metadata) of the remote
  // container: `prefix`, `delimiter` ("" = flat), `marker` (continuation),
  // at most `max_results` (1..5000, else kInvalidArgument) per page. Names
  // are returned decoded (<Name Encoded="true"> is percent-decoded as Azure
  // encodes it). kContainerNotFound when the container is missing;
  // kPermission on 401/403; kBusy unreachable; kIo on a page that is not
  // List Blobs XML or is larger than 64 MiB (remote_list.h).
  virtual Result<RemoteListing> List(const std::string& prefix, const std::string& delimiter,
                                     const std::string& marker, int max_results) = 0;

  // Copies blob `from` to blob `to` in the remote container (Copy Blob with
  // the source's URL in the same account; SAS or SharedKey as configured),
  // waits (bounded by request_timeout_ms, polling Get Blob Properties) until
  // x-ms-copy-status is success (failed/aborted: kIo; still pending: kBusy;
  // another copy took over `to`: kPathConflict). `if_match` (ETag without
  // quotes, optional) makes the copy conditional on the source's ETag
  // (x-ms-source-if-match) -> kPathConflict when it changed; kNotFound when
  // the source is gone. The copy takes the source's properties and
  // metadata. Fills *props (may be null) of `to`.
  virtual Status Copy(const std::string& from, const std::string& to,
                      const std::string& if_match, RemoteProps* props) = 0;

  // Counters since start, for /metrics.
  struct Stats {
    uint64_t requests = 0, retries = 0, errors = 0;
    uint64_t bytes_up = 0, bytes_down = 0;
    uint64_t in_flight = 0;
    // Times the bandwidth cap made a transfer wait, and TCP connections
    // opened (fewer than requests when connections are reused).
    uint64_t throttle_waits = 0, connections_opened = 0;
  };
  virtual Stats GetStats() const = 0;
};

// A client on libcurl. Fails (kInvalidArgument) on a malformed URL or key.
Result<std::unique_ptr<RemoteClient>> MakeRemoteClient(const RemoteOptions& options);

}  // namespace strata::tier
