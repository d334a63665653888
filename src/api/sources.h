// The second resource of a copy or rename. The front door (api.cc) parses
// it from its header, validates and confines its names exactly like the
// URL's own, and authorizes it by the route's source demand before any
// handler runs; handlers only ever see the result (Ctx::source).
//
// Thread-safety: pure functions of their arguments (and of the account's
// store, read for container access levels and stored policies).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/context.h"

namespace strata::api {

// Whether the request's credential, or the SAS in `sas_query` when that is
// not empty, grants `demand` on CONTAINER/BLOB of `acct`. A request signed
// with the account key (SharedKey) may act on anything in its account; a
// SAS must verify for that resource and carry the permission; anonymous
// requests are never granted (the caller applies public access itself). A
// bearer token (scheme kBearer, `principal` its claims) is granted what its
// principal's roles in acct's Entra configuration allow there.
auth::Outcome AuthorizeAt(Account* acct, const http::Request& req, auth::Scheme scheme,
                          const std::string& container, const std::string& blob,
                          std::string_view sas_query, const auth::Demand& demand, TimeNs now,
                          const auth::Principal* principal = nullptr);

// The accounts of this server by name; null for none.
using AccountLookup = std::function<Account*(std::string_view name)>;

// x-ms-copy-source of a Copy Blob, Copy Blob From URL, Put Blob From URL or
// Put Block From URL, into `acct`.
//
// A source in an account of this server (`accounts`; path-style
// http://HOST/ACCOUNT/c/b or host-style http://ACCOUNT.DOMAIN/c/b) must have
// valid names and be readable by the caller as Azure decides it: a SAS in
// the source URL that verifies with the source account's keys and grants
// `demand`; else, for Copy Blob signed with the key of the same account
// (`key_covers_source`), the key; else anonymous read by the source
// container's public access level. The destination's key never reaches
// another account's blobs.
//
// When `remote_ok` and acct->fetcher allows the URL's host (and the URL is
// not this server's own address naming one of its accounts), the source is
// remote: out->remote is set and nothing else is checked here (the fetch
// applies its own guard: tier/url_fetch.h).
//
// Anything else: 403 CannotVerifyCopySource, before anything is read or
// written.
std::optional<http::Response> ResolveCopySource(Account* acct, const AccountLookup& accounts,
                                                const http::Request& req, auth::Scheme scheme,
                                                bool key_covers_source, bool remote_ok,
                                                const auth::Demand& demand, TimeNs now,
                                                SourceRef* out,
                                                const auth::Principal* principal = nullptr);

}  // namespace strata::api
