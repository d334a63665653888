#include "http/message.h"

#include <algorithm>

#include "common/strings.h"

namespace strata::http {

std::optional<std::string> Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  if (!query_parsed_) {
    // Decoded once per request; handlers ask for several parameters.
    query_parsed_ = true;
    query_params_.reserve(static_cast<size_t>(std::count(query.begin(), query.end(), '&')) + 1);
    size_t start = 0;
    while (start <= query.size()) {
      size_t amp = query.find('&', start);
      if (amp == std::string::npos) amp = query.size();
      std::string_view kv = std::string_view(query).substr(start, amp - start);
      size_t eq = kv.find('=');
      auto dk = UrlDecode(kv.substr(0, eq), true);
      if (dk) {
        std::string v;
        if (eq != std::string_view::npos) {
          auto dv = UrlDecode(kv.substr(eq + 1), true);
          v = dv ? std::move(*dv) : std::string(kv.substr(eq + 1));
        }
        query_params_.emplace_back(std::move(*dk), std::move(v));
      }
      start = amp + 1;
    }
  }
  for (const auto& [k, v] : query_params_)
    if (k == name) return v;
  return std::nullopt;
}

bool Request::HasBody() const {
  auto cl = Header("content-length");
  if (cl && *cl != "0") return true;
  auto te = Header("transfer-encoding");
  return te && ToLower(*te).find("chunked") != std::string::npos;
}

}  // namespace strata::http
