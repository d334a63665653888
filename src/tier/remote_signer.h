// SharedKey signing of the capacity tier's outgoing requests, on auth/'s
// canonicalization (the same string-to-sign the server side verifies).
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::tier {

struct OutgoingRequest {
  std::string method;     // "PUT", ...
  std::string raw_path;   // encoded path as sent, e.g. "/acct/cont/a%20b"
  std::string raw_query;  // encoded query without '?', may be ""
  // Every header that will be sent (names in any case), including
  // x-ms-date, x-ms-version and Content-Length when there is a body.
  std::vector<std::pair<std::string, std::string>> headers;
};

// The SharedKey string-to-sign of `req` for `account` (the canonicalized
// resource is "/" + account + raw_path).
std::string RemoteStringToSign(const OutgoingRequest& req, std::string_view account);
// "SharedKey account:base64(HMAC-SHA256(raw_key, string-to-sign))".
std::string SharedKeyAuthorization(const OutgoingRequest& req, std::string_view account,
                                   std::string_view raw_key);

}  // namespace strata::tier
