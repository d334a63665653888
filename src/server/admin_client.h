// A client of the admin endpoints (admin.h) for the command line tools
// (`strata tier`, `strata cache`): one request to the admin URL with
// libcurl.
#pragma once

#include <cstdint>
#include <string>

namespace strata::server {

struct AdminReply {
  long status = 0;
  std::string body;
  std::string error;  // the server could not be reached (or the exchange broke)
};

// `method` GET or POST (an empty body); the whole exchange within
// `timeout_s`, the connection within 5 s; a body past `max_body` bytes
// (0: no bound) breaks the exchange.
AdminReply AdminCall(const std::string& method, const std::string& url, long timeout_s,
                     uint64_t max_body = 0);

// `s` percent-encoded for a query value.
std::string UrlEscape(const std::string& s);

}  // namespace strata::server
