// What several fuzz targets share: raw bytes parsed as an HTTP request by
// the server's own parser, and the request as authentication sees it
// (the way api/api.cc builds it, path-style: /ACCOUNT/CONTAINER/BLOB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/auth.h"
#include "common/strings.h"
#include "http/message.h"
#include "http/request_parser.h"

namespace strata::fuzz {

inline constexpr char kAccount[] = "devstoreaccount1";

// The request header in `data` (the server's 64 KiB limit), or nullopt
// when the parser refuses it or it is incomplete. A body is ignored.
inline std::optional<http::Request> ParseRequestHead(std::string_view data) {
  http::Request req;
  http::RequestParser parser(&req);
  parser.header_limit(64 * 1024);
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::const_buffer(data.data(), data.size()), ec);
  if (ec || !parser.is_header_done()) return std::nullopt;
  return req;
}

// The RequestView of `req` (which must outlive it), routed as api/ routes a
// path-style URL: the first segment names the account, then the container,
// then the blob (decoded).
inline auth::RequestView ViewOf(const http::Request& req) {
  auth::RequestView view;
  view.method = req.method;
  view.raw_path = req.path;
  view.raw_query = req.query;
  view.header = [&req](std::string_view n) { return req.Header(n); };
  view.headers = req.headers;
  view.account = kAccount;
  view.path_style = true;
  std::string path = UrlDecode(req.path).value_or(req.path);
  std::string_view rest(path);
  if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
  size_t slash = rest.find('/');
  rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  slash = rest.find('/');
  view.container = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) view.blob = std::string(rest.substr(slash + 1));
  view.client_ip = "127.0.0.1";
  return view;
}

// The account the targets authenticate against (Azurite's published key).
inline auth::Account FuzzAccount() {
  return {kAccount, Base64Decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                                 "K1SZFPTOtr/KBHBeksoGMGw==")
                        .value_or("")};
}

}  // namespace strata::fuzz
