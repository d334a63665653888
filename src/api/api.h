// Api: the Blob REST API as an http::Handler. Resolves the account (path- or
// host-style), routes through the route table, authenticates, plans where
// the body goes, calls the handler and stamps the common response headers.
//
// Thread-safety: Prepare/Handle/Fail may run concurrently for different
// connections; the accounts are fixed at construction.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/context.h"
#include "http/server.h"

namespace strata::api {

// The newest x-ms-version strata speaks; echoed when a request names none.
inline constexpr char kDefaultVersion[] = "2025-11-05";

class Api : public http::Handler {
 public:
  // The first account is the default (used when neither path nor host
  // names one).
  explicit Api(std::vector<std::unique_ptr<Account>> accounts);

  // Requests on this listener (http::Request::listener) reach the dfs
  // endpoint, as those whose Host is ACCOUNT.dfs.DOMAIN do anywhere: there a
  // path request naming no Blob operation is a dfs one (Path Get
  // Properties, Read, Delete), other requests that name none are refused
  // with a dfs error, and those naming one (`comp`, `restype`) are served as
  // on the blob endpoint. A Host ACCOUNT.blob.DOMAIN is the blob endpoint
  // on any listener. Call before serving.
  void ServeDfsEndpointOn(int listener) { dfs_listener_ = listener; }

  // Calls fn for each account's store (maintenance work).
  template <typename Fn>
  void ForEachStore(Fn fn) {
    for (auto& a : accounts_) fn(*a->store);
  }

  std::optional<http::Response> Prepare(http::Request& req, http::BodyPlan* plan) override;
  http::Response Handle(http::Request& req) override;
  http::Response Fail(http::Failure kind, const http::Request* req, const Status& detail) override;

 private:
  struct Routed;
  // Fills `out` or returns the error response.
  std::optional<http::Response> Resolve(http::Request& req, Routed* out);
  // `routed`: the request's routing when req->state does not hold it yet.
  void Stamp(const http::Request* req, http::Response& r, const Routed* routed = nullptr);

  std::vector<std::unique_ptr<Account>> accounts_;
  int dfs_listener_ = -1;  // none
};

// The authorization table (every Blob and dfs route: method, level, query
// discriminators, SAS resource type and permission letters, anonymous
// access, the source end of copies and renames) as a JSON array.
std::string AuthorizationTableJson();

}  // namespace strata::api
