// Api: the Blob REST API as an http::Handler. Resolves the account (path- or
// host-style), routes through the route table, authenticates, plans where
// the body goes, calls the handler and stamps the common response headers.
//
// Thread-safety: Prepare/Handle/Fail may run concurrently for different
// connections. The accounts are one immutable snapshot, replaced whole by
// SetAccounts (a reload): a request resolves against the snapshot current
// when it arrives and keeps it (its Account objects stay alive) until it
// ends, so it never sees a half-applied change.
#pragma once

#include <atomic>
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
  using AccountList = std::vector<std::shared_ptr<Account>>;
  explicit Api(AccountList accounts);

  // The accounts now served, and their replacement (a reload). Requests
  // already resolved keep the list they resolved against. Thread-safe.
  std::shared_ptr<const AccountList> accounts() const { return accounts_.load(); }
  void SetAccounts(AccountList accounts) {
    accounts_.store(std::make_shared<const AccountList>(std::move(accounts)));
  }

  // Requests on this listener (http::Request::listener) reach the dfs
  // endpoint, as those whose Host is ACCOUNT.dfs.DOMAIN do anywhere: there a
  // path request naming no Blob operation is a dfs one (Path Get
  // Properties, Read, Delete), other requests that name none are refused
  // with a dfs error, and those naming one (`comp`, `restype`) are served as
  // on the blob endpoint. A Host ACCOUNT.blob.DOMAIN is the blob endpoint
  // on any listener. Call before serving, once per such listener (a plain
  // and an HTTPS one); listeners 0 to 31.
  void ServeDfsEndpointOn(int listener) { dfs_listeners_ |= 1u << listener; }

  // Calls fn for each account's store (maintenance work).
  template <typename Fn>
  void ForEachStore(Fn fn) {
    auto list = accounts();
    for (auto& a : *list) fn(*a->store);
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

  std::atomic<std::shared_ptr<const AccountList>> accounts_;
  // Bit i: listener i is a dfs endpoint.
  uint32_t dfs_listeners_ = 0;
  bool IsDfsListener(int listener) const {
    return listener >= 0 && listener < 32 && ((dfs_listeners_ >> listener) & 1u);
  }
};

// The authorization table (every Blob and dfs route: method, level, query
// discriminators, SAS resource type and permission letters, anonymous
// access, the source end of copies and renames) as a JSON array.
std::string AuthorizationTableJson();

}  // namespace strata::api
