#include "http/message.h"

#include <algorithm>

#include "common/strings.h"

namespace strata::http {

std::optional<std::string> Request::Header(std::string_view lower_name) const {
  const std::string* v = FindHeader(lower_name);
  if (!v) return std::nullopt;
  return *v;
}

const std::string* Request::FindHeader(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  const std::string* v = FindQuery(name);
  if (!v) return std::nullopt;
  return *v;
}

const std::string* Request::FindQuery(std::string_view name) const {
  if (!query_parsed_) {
    // Decoded once per request; handlers ask for several parameters.
    query_parsed_ = true;
    query_params_.reserve(static_cast<size_t>(std::count(query.begin(), query.end(), '&')) + 1);
    size_t start = 0;
    while (start <= query.size()) {
      size_t amp = query.find('&', start);
      if (amp == std::string::npos) amp = query.size();
      std::string_view kv = std::string_view(query).substr(start, amp - start);
      start = amp + 1;
      size_t eq = kv.find('=');
      std::string_view raw_k = kv.substr(0, eq);
      std::string_view raw_v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
      // Most names and values have nothing to decode: copied once, as they are.
      auto decode = [](std::string_view raw, std::string* out) {
        // (A plain loop: find_first_of calls memchr once per character.)
        if (std::none_of(raw.begin(), raw.end(), [](char ch) { return ch == '%' || ch == '+'; })) {
          out->assign(raw);
          return true;
        }
        auto d = UrlDecode(raw, true);
        if (!d) return false;
        *out = std::move(*d);
        return true;
      };
      auto& [k, v] = query_params_.emplace_back();
      if (!decode(raw_k, &k)) {
        query_params_.pop_back();  // an undecodable name names nothing
        continue;
      }
      if (!decode(raw_v, &v)) v.assign(raw_v);  // kept raw, as before
    }
  }
  for (const auto& [k, v] : query_params_)
    if (k == name) return &v;
  return nullptr;
}

bool Request::HasBody() const {
  auto cl = Header("content-length");
  if (cl && *cl != "0") return true;
  auto te = Header("transfer-encoding");
  return te && ToLower(*te).find("chunked") != std::string::npos;
}

}  // namespace strata::http
