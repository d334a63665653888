// Fuzzes the server's request parser (http/request_parser.h) the way
// http/server.cc drives it: the header with the 64 KiB limit, fed in pieces
// as reads deliver it, then a chunked body into small regions; and then
// the query and header lookups every handler makes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http/request_parser.h"

namespace bhttp = boost::beast::http;
using strata::http::Request;
using strata::http::RequestParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks how the bytes arrive (1 to 256 bytes a read) and
  // the size of each body region.
  size_t piece = static_cast<size_t>(data[0]) + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Request req;
  RequestParser parser(&req);
  parser.header_limit(64 * 1024);
  parser.body_limit(UINT64_MAX);
  std::string buffer;  // bytes read, not yet taken by the parser
  size_t at = 0;
  boost::beast::error_code ec;
  // Header, as Session reads it.
  while (true) {
    size_t used = parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
    buffer.erase(0, used);
    if (ec != bhttp::error::need_more) break;
    ec = {};
    if (at == in.size()) return 0;  // cut short
    size_t n = std::min(piece, in.size() - at);
    buffer.append(in.substr(at, n));
    at += n;
  }
  if (ec) return 0;
  // Every lookup a request meets (each decodes on first use).
  for (const char* q : {"comp", "restype", "sig", "prefix", "marker", "blockid", "directory",
                        "resource", "action", "recursive", ""})
    (void)req.FindQuery(q);
  for (const char* h : {"authorization", "content-length", "x-ms-date", "range", "expect"})
    (void)req.FindHeader(h);
  Request copy = req;  // a copy parses its own query again
  (void)copy.FindQuery("sig");
  // A chunked body into regions of `piece` bytes, as the server's loop.
  if (!parser.is_done() && parser.chunked()) {
    std::vector<char> region(piece);
    size_t total = 0;
    for (int rounds = 0; rounds < 100000 && !parser.is_done(); ++rounds) {
      parser.SetBodyRegion(region.data(), region.size());
      while (!parser.is_done() && parser.BodyRegionLeft() > 0) {
        if (!buffer.empty()) {
          size_t used = parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
          buffer.erase(0, used);
          if (ec == bhttp::error::need_buffer) {
            ec = {};
            break;
          }
          if (ec == bhttp::error::need_more) ec = {};
          else if (ec) return 0;
          else if (used > 0) continue;
        }
        if (at == in.size()) return 0;  // cut short
        size_t n = std::min(piece, in.size() - at);
        buffer.append(in.substr(at, n));
        at += n;
      }
      total += region.size() - parser.BodyRegionLeft();
      if (total > (1u << 20)) return 0;
    }
  }
  return 0;
}
