// The HTTP messages handlers see. Knows nothing of Azure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/fs.h"

namespace strata::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A place in an open file reserved for one request body (see
// BodyPlan::kFile): the server writes a body of exactly the declared
// Content-Length there, at offset(), instead of spooling it. The handler
// owns what the reservation means; destroying the target releases it.
class BodyTarget {
 public:
  virtual ~BodyTarget() = default;
  virtual int fd() const = 0;
  virtual uint64_t offset() const = 0;
  virtual uint64_t size() const = 0;
};

struct Request {
  std::string method;     // "GET", ...
  std::string target;     // raw request-target
  std::string path;       // raw (percent-encoded) path part of target
  std::string query;      // raw query without '?'
  Headers headers;        // names lowercased, in received order
  std::vector<std::string> header_names;  // the same names as received (case kept)
  std::string remote_ip;
  bool https = false;     // it came over TLS (ServerOptions::tls_listeners)
  int listener = 0;       // which listener took the connection (ServerOptions::extra_ports)

  // The body, after the handler's OnHeaders chose where it goes:
  std::string body;       // in memory (BodyPlan::kMemory)
  std::string body_file;  // spooled file (BodyPlan::kFile); the server removes it
                          // after the response unless the handler cleared this field
  // Set by Prepare for a sized body (BodyPlan::kFile): the body went there
  // instead of to body_file (which then stays empty). Released by the
  // server once Handle or Fail returned, or when the body failed.
  std::shared_ptr<BodyTarget> body_target;
  uint64_t body_size = 0;
  std::string body_md5;   // raw MD5 of the body when BodyPlan::md5 was set
  std::optional<uint64_t> body_crc64;  // its CRC-64 when BodyPlan::crc64 was set
  // The handler's own state from Prepare to Handle (opaque to the server).
  std::shared_ptr<void> state;

  // First value of a header by lowercase name.
  std::optional<std::string> Header(std::string_view lower_name) const;
  // Decoded value of a query parameter (first occurrence, case-sensitive name).
  std::optional<std::string> Query(std::string_view name) const;
  // The same without a copy, for the per-request hot path: null when
  // absent; the pointer lives as long as the request.
  const std::string* FindHeader(std::string_view lower_name) const;
  const std::string_view* FindQuery(std::string_view name) const;

 private:
  // The query split once, each value decoded when first asked for: views
  // into `query`, or into `decoded` for the parts that had escapes (reserved
  // once: decoding never lengthens). A copied or moved request parses its
  // own query again (the views name the source's).
  struct QueryCache {
    struct Param {
      std::string_view name;   // decoded
      std::string_view value;  // decoded once `decoded` is set, else raw
      bool value_decoded = false;
    };
    bool parsed = false;
    std::vector<Param> params;
    std::string decoded;
    QueryCache() = default;
    QueryCache(const QueryCache&) {}
    QueryCache& operator=(const QueryCache&) {
      parsed = false;
      params.clear();
      decoded.clear();
      return *this;
    }
  };
  mutable QueryCache qc_;
};

// Whether the server can frame the request's body: no Transfer-Encoding,
// or exactly one coding, "chunked". Any other (unknown, or layered under
// chunked) would leave the body to be read as the next request.
bool TransferEncodingSupported(const Request& req);
// How many header lines of this (lowercase) name the request has.
size_t CountHeader(const Request& req, std::string_view lower_name);

// A body read from part of a file with sendfile(2).
struct FileBody {
  std::shared_ptr<File> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response;

// A body another thread produces into a pipe (the capacity tier's remote
// reads), so no I/O thread waits on the producer. `fd` is the pipe's
// non-blocking read end, closed with the last copy (the producer then sees
// EPIPE). The producer writes one status byte first: 'K' and then exactly
// `length` bytes; any other byte, or EOF, means it failed before the body
// began, and on_fail(byte, original, &r) fills the response sent instead
// (from the original it may copy what every response carries). A producer that fails mid-body closes the
// pipe early and the connection is closed.
struct PipeBody {
  std::shared_ptr<int> fd;
  uint64_t length = 0;
  std::function<void(char code, const Response& original, Response* out)> on_fail;
};

// What the handler says about a response for logs and metrics; the server
// only carries it to Handler::Completed. Names are static strings from a
// fixed set (so metrics can use them as labels), or null when unknown.
struct ResponseNote {
  const char* operation = nullptr;       // e.g. "GetBlob"
  const char* auth = nullptr;            // e.g. "sharedkey"
  const std::string* account = nullptr;  // lives as long as the handler
  std::string error_code;                // empty on success
  char request_id[40] = {};              // NUL-terminated; empty when none
  // Fills what this note lacks from `other` (a replacement response keeps
  // what the original knew).
  void FillFrom(const ResponseNote& other) {
    if (!operation) operation = other.operation;
    if (!auth) auth = other.auth;
    if (!account) account = other.account;
    if (error_code.empty()) error_code = other.error_code;
    if (!request_id[0])
      std::copy(std::begin(other.request_id), std::end(other.request_id), request_id);
  }
};

struct Response {
  // A blob GET sets about 16 headers: room for them without regrowth.
  Response() { fields.reserve(640); }

  int status = 200;
  // The header lines as they go on the wire, "Name: value\r\n" each: a
  // response's headers cost one buffer instead of two strings apiece.
  std::string fields;
  std::string body;               // used when file is unset
  std::optional<FileBody> file;   // zero-copy body
  std::optional<PipeBody> pipe;   // body produced by another thread
  // For HEAD: the Content-Length to advertise without a body.
  std::optional<uint64_t> head_length;
  bool close = false;             // close the connection after this response
  ResponseNote note;              // for Handler::Completed (never sent)

  void Set(std::string_view name, std::string_view value) {
    fields.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }
  // For the few readers (error rewrites, tests): the lines split again.
  Headers HeaderList() const;
  // The first value of a header (name compared without case), or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  // Replaces every line of a header (name compared without case) by one.
  void Replace(std::string_view name, std::string_view value);
};

// Where the server puts a request body.
struct BodyPlan {
  enum Kind { kMemory, kFile, kDiscard } kind = kMemory;
  uint64_t max_size = 4 << 20;  // larger bodies get too_large_response
  std::string spool_dir;        // for kFile: a directory on the target file system
  bool md5 = false;             // compute the body's MD5 while reading
  bool crc64 = false;           // and/or its CRC-64 (see common/crc64.h)
  // Handle() may take long (a large copy, a recursive change): the server
  // runs it on its worker pool, and the connection's I/O thread serves
  // other connections meanwhile.
  bool on_pool = false;
};

}  // namespace strata::http
