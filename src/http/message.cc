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

bool TransferEncodingSupported(const Request& req) {
  int codings = 0;
  for (const auto& [k, v] : req.headers) {
    if (k != "transfer-encoding") continue;
    std::string_view rest(v);
    while (true) {
      size_t comma = rest.find(',');
      std::string_view coding = Trim(rest.substr(0, comma));
      if (!IEquals(coding, "chunked") || ++codings > 1) return false;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return true;
}

size_t CountHeader(const Request& req, std::string_view lower_name) {
  size_t n = 0;
  for (const auto& [k, v] : req.headers) n += k == lower_name;
  return n;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  const std::string_view* v = FindQuery(name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

namespace {
bool HasEscapes(std::string_view raw) {
  for (char ch : raw)
    if (ch == '%' || ch == '+') return true;
  return false;
}

// Decodes raw into the end of *buf (within its reserved capacity, so
// earlier views stay valid) and points *out at it; false on a bad escape.
bool DecodeInto(std::string_view raw, std::string* buf, std::string_view* out) {
  size_t at = buf->size();
  if (!UrlDecodeTo(raw, true, buf)) {
    buf->resize(at);
    return false;
  }
  *out = std::string_view(*buf).substr(at);
  return true;
}
}  // namespace

const std::string_view* Request::FindQuery(std::string_view name) const {
  if (!qc_.parsed) {
    // Split once per request; handlers ask for several parameters.
    qc_.parsed = true;
    qc_.params.reserve(static_cast<size_t>(std::count(query.begin(), query.end(), '&')) + 1);
    qc_.decoded.reserve(query.size());
    size_t start = 0;
    while (start <= query.size()) {
      size_t amp = query.find('&', start);
      if (amp == std::string::npos) amp = query.size();
      std::string_view kv = std::string_view(query).substr(start, amp - start);
      start = amp + 1;
      size_t eq = kv.find('=');
      QueryCache::Param p;
      p.name = kv.substr(0, eq);
      p.value = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
      // An undecodable name names nothing.
      if (HasEscapes(p.name) && !DecodeInto(p.name, &qc_.decoded, &p.name)) continue;
      qc_.params.push_back(p);
    }
  }
  for (auto& p : qc_.params) {
    if (p.name != name) continue;
    if (!p.value_decoded) {
      p.value_decoded = true;
      // An undecodable value is kept raw.
      if (HasEscapes(p.value)) DecodeInto(p.value, &qc_.decoded, &p.value);
    }
    return &p.value;
  }
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

}  // namespace strata::http
