#include "http/message.h"

#include "common/strings.h"

namespace strata::http {

std::optional<std::string> Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string_view kv = std::string_view(query).substr(start, amp - start);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    auto dk = UrlDecode(k, true);
    if (dk && *dk == name) {
      if (eq == std::string_view::npos) return std::string();
      auto v = UrlDecode(kv.substr(eq + 1), true);
      return v ? *v : std::string(kv.substr(eq + 1));
    }
    start = amp + 1;
  }
  return std::nullopt;
}

bool Request::HasBody() const {
  auto cl = Header("content-length");
  if (cl && *cl != "0") return true;
  auto te = Header("transfer-encoding");
  return te && ToLower(*te).find("chunked") != std::string::npos;
}

}  // namespace strata::http
