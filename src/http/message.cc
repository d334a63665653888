#include "http/message.h"

#include <algorithm>
#include <cstring>

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
  const std::string_view* v = FindQuery(name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

const std::string_view* Request::FindQuery(std::string_view name) const {
  auto& query_params_ = qc_.params;
  auto& query_decoded_ = qc_.decoded;
  if (!qc_.parsed) {
    // Decoded once per request; handlers ask for several parameters.
    qc_.parsed = true;
    query_params_.reserve(static_cast<size_t>(std::count(query.begin(), query.end(), '&')) + 1);
    query_decoded_.reserve(query.size());
    size_t start = 0;
    while (start <= query.size()) {
      size_t amp = query.find('&', start);
      if (amp == std::string::npos) amp = query.size();
      std::string_view kv = std::string_view(query).substr(start, amp - start);
      start = amp + 1;
      size_t eq = kv.find('=');
      std::string_view raw_k = kv.substr(0, eq);
      std::string_view raw_v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
      // Most names and values have nothing to decode: viewed as they are.
      auto decode = [&query_decoded_](std::string_view raw, std::string_view* out) {
        if (std::memchr(raw.data(), '%', raw.size()) == nullptr &&
            std::memchr(raw.data(), '+', raw.size()) == nullptr) {
          *out = raw;
          return true;
        }
        // Within the reserved capacity: earlier views stay valid.
        size_t at = query_decoded_.size();
        if (!UrlDecodeTo(raw, true, &query_decoded_)) {
          query_decoded_.resize(at);
          return false;
        }
        *out = std::string_view(query_decoded_).substr(at);
        return true;
      };
      auto& [k, v] = query_params_.emplace_back();
      if (!decode(raw_k, &k)) {
        query_params_.pop_back();  // an undecodable name names nothing
        continue;
      }
      if (!decode(raw_v, &v)) v = raw_v;  // kept raw, as before
    }
  }
  for (const auto& [k, v] : query_params_)
    if (k == name) return &v;
  return nullptr;
}

Headers Response::HeaderList() const {
  Headers out;
  std::string_view rest(fields);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  return out;
}

std::optional<std::string> Response::Get(std::string_view name) const {
  for (auto& [k, v] : HeaderList())
    if (IEquals(k, name)) return v;
  return std::nullopt;
}

void Response::Replace(std::string_view name, std::string_view value) {
  Headers all = HeaderList();
  fields.clear();
  for (const auto& [k, v] : all)
    if (!IEquals(k, name)) Set(k, v);
  Set(name, value);
}

bool Request::HasBody() const {
  const std::string* cl = FindHeader("content-length");
  if (cl && *cl != "0") return true;
  const std::string* te = FindHeader("transfer-encoding");
  return te && ToLower(*te).find("chunked") != std::string::npos;
}

}  // namespace strata::http
