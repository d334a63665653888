// The HTTP/1.1 request parser the server runs on each connection: Beast's
// parser, with the header going straight into a Request (no
// beast::http::fields in between: a node allocation and a tree insert per
// field) and a chunked body into a region the caller provides. Pure: it
// touches no socket, so tests and fuzz/http_request_fuzz.cc drive it with
// bytes. Knows nothing of Azure.
//
// Use: set header_limit() and body_limit(), then put() bytes until it
// stops asking for more (error::need_more). For a chunked body, give it
// room with SetBodyRegion(); put() stops with error::need_buffer when the
// region is full, as beast's buffer_body does.
//
// Thread-safety: one parser per message, used by one thread.
#pragma once

#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <string_view>

#include "common/strings.h"
#include "http/message.h"

namespace strata::http {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // Fills *req (method, target, path, query, headers, header_names) as the
  // header is parsed. REQUIRES: req outlives the parser.
  explicit RequestParser(Request* req) : req_(req) {}
  // Where the next chunked body bytes go: at most n bytes from p.
  void SetBodyRegion(char* p, size_t n) {
    body_ = p;
    left_ = n;
  }
  // Room left in the region of SetBodyRegion.
  size_t BodyRegionLeft() const { return left_; }
  // The request's HTTP version: 11 for HTTP/1.1, 10 for HTTP/1.0.
  int version() const { return version_; }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code&) override {
    version_ = version;
    req_->method.assign(method.data(), method.size());
    req_->target.assign(target.data(), target.size());
    std::string_view t(req_->target);
    if (!t.empty() && t[0] != '/') t = AbsoluteForm(t);
    size_t q = t.find('?');
    req_->path.assign(t.substr(0, q));
    if (req_->path.empty() && !authority_.empty()) req_->path = "/";
    if (q != std::string_view::npos) req_->query.assign(t.substr(q + 1));
  }
  // The absolute-form "http://host[:port]/path?query" (RFC 9112 3.2.2: a
  // server must accept it; what a client sends through a proxy): keeps the
  // authority for on_header_impl, returns the path and query.
  std::string_view AbsoluteForm(std::string_view t) {
    size_t sep = t.find("://");
    if (sep == std::string_view::npos ||
        (!IEquals(t.substr(0, sep), "http") && !IEquals(t.substr(0, sep), "https")))
      return t;  // not a URL: routing refuses it
    std::string_view rest = t.substr(sep + 3);
    size_t end = rest.find_first_of("/?");
    authority_.assign(rest.substr(0, end));
    return end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    std::string_view n(name.data(), name.size());
    req_->header_names.emplace_back(n);
    auto& [k, v] = req_->headers.emplace_back();
    k.resize(n.size());
    for (size_t i = 0; i < n.size(); ++i) {
      char ch = n[i];
      k[i] = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + ('a' - 'A')) : ch;
    }
    v.assign(Trim(std::string_view(value.data(), value.size())));
  }
  void on_header_impl(error_code&) override {
    if (authority_.empty()) return;
    // The request-target's authority replaces any Host field (RFC 9112 3.2.2).
    for (auto& [k, v] : req_->headers)
      if (k == "host") {
        v = authority_;
        return;
      }
    req_->headers.emplace_back("host", authority_);
    req_->header_names.emplace_back("Host");
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(string_view body, error_code& ec) override { return Take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return Take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  size_t Take(string_view body, error_code& ec) {
    size_t n = std::min(body.size(), left_);
    if (n) std::memcpy(body_, body.data(), n);
    body_ += n;
    left_ -= n;
    if (n < body.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  Request* req_;
  int version_ = 11;
  std::string authority_;  // of an absolute-form request-target
  char* body_ = nullptr;
  size_t left_ = 0;
};

}  // namespace strata::http
