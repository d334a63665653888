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
    size_t q = t.find('?');
    req_->path.assign(t.substr(0, q));
    if (q != std::string_view::npos) req_->query.assign(t.substr(q + 1));
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
  void on_header_impl(error_code&) override {}
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
  char* body_ = nullptr;
  size_t left_ = 0;
};

}  // namespace strata::http
