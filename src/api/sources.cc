#include "api/sources.h"

#include "common/strings.h"
#include "ns/names.h"

namespace strata::api {

namespace {

std::optional<auth::StoredPolicy> LookupPolicy(Account* acct, const std::string& container,
                                               const std::string& id) {
  auto rec = acct->store->GetContainer(container);
  if (!rec.ok()) return std::nullopt;
  for (const auto& s : rec->identifiers)
    if (s.id == id) return auth::StoredPolicy{s.id, s.start, s.expiry, s.permission};
  return std::nullopt;
}

http::Response CannotVerify(const std::string& detail) {
  return ErrorResponse(AzError::kCannotVerifyCopySource, detail);
}

}  // namespace

auth::Outcome AuthorizeAt(Account* acct, const http::Request& req, auth::Scheme scheme,
                          const std::string& container, const std::string& blob,
                          std::string_view sas_query, const auth::Demand& demand, TimeNs now,
                          const auth::Principal* principal) {
  if (sas_query.empty()) {
    if (scheme == auth::Scheme::kBearer) {
      if (!principal || !acct->entra) {
        auth::Outcome no;
        no.code = "AuthorizationPermissionMismatch";
        no.message = "This request is not authorized to perform this operation using this permission.";
        return no;
      }
      return auth::AuthorizeBearerPrincipal(*acct->entra, *principal, container, demand);
    }
    if (scheme == auth::Scheme::kSharedKey || scheme == auth::Scheme::kSharedKeyLite) {
      auth::Outcome ok;
      ok.ok = true;
      ok.scheme = scheme;
      ok.status = 200;
      return ok;
    }
    if (scheme == auth::Scheme::kAnonymous) {
      auth::Outcome no;
      no.code = "AuthorizationPermissionMismatch";
      no.message = "An anonymous request cannot act on a second resource.";
      return no;
    }
    sas_query = req.query;  // the request's own SAS, tried on the other resource
  }
  // Only a query that parses as a SAS is one: a parameter that merely
  // contains "sig" makes nothing a signature.
  if (!auth::ParseSas(sas_query)) {
    auth::Outcome no;
    no.code = "AuthenticationFailed";
    no.message = "The source carries no shared access signature.";
    return no;
  }
  auth::RequestView view;
  view.method = "GET";
  view.raw_path = "/" + acct->name + "/" + container + (blob.empty() ? "" : "/" + blob);
  view.raw_query = std::string(sas_query);
  view.header = [](std::string_view) { return std::optional<std::string>(); };
  view.account = acct->name;
  view.container = container;
  view.blob = blob;
  view.client_ip = req.remote_ip;
  view.https = req.https;
  auth::Account aa{acct->name, acct->key, acct->key2, acct->entra.get()};
  auth::Outcome o = auth::Authorize(
      view, aa, demand,
      [acct](const std::string& c, const std::string& id) { return LookupPolicy(acct, c, id); },
      now);
  if (o.ok && o.scheme != auth::Scheme::kAccountSas && o.scheme != auth::Scheme::kServiceSas &&
      o.scheme != auth::Scheme::kUserDelegationSas) {
    // Defence in depth: Authorize grants nothing else to a query.
    o.ok = false;
    o.code = "AuthenticationFailed";
  }
  return o;
}

std::optional<http::Response> ResolveCopySource(Account* acct, const AccountLookup& accounts,
                                                const http::Request& req, auth::Scheme scheme,
                                                bool key_covers_source, bool remote_ok,
                                                const auth::Demand& demand, TimeNs now,
                                                SourceRef* out, const auth::Principal* principal) {
  const std::string* header = req.FindHeader("x-ms-copy-source");
  if (!header) return CannotVerify("x-ms-copy-source is missing.");
  const std::string& url = *header;
  size_t scheme_end = url.find("://");
  // A relative source ("/account/c/b", "c/b") is no URL: Azure answers it as
  // a malformed header, before any authorization.
  if (scheme_end == std::string::npos)
    return HeaderError(AzError::kInvalidHeaderValue, req, "x-ms-copy-source",
                       "The copy source must be an absolute URL.");
  size_t path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string::npos) return CannotVerify("The copy source names no blob.");
  std::string host = ToLower(url.substr(scheme_end + 3, path_start - scheme_end - 3));
  std::string rest = url.substr(path_start + 1);
  SourceRef src;
  src.url = url;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    src.query = rest.substr(q + 1);
    rest.resize(q);
  }
  if (req.FindHeader("x-ms-copy-source-authorization"))
    return CannotVerify("x-ms-copy-source-authorization is not supported here; use a SAS.");
  // Which account of this server the URL names: host-style (the first label
  // of the host) or path-style (the first path segment).
  Account* owner = nullptr;
  std::string_view host_name = host;
  if (size_t colon = host_name.rfind(':');
      colon != std::string_view::npos && host_name.back() != ']')
    host_name = host_name.substr(0, colon);
  if (size_t dot = host_name.find('.'); dot != std::string_view::npos)
    owner = accounts(host_name.substr(0, dot));
  if (!owner) {
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
      if ((owner = accounts(std::string_view(rest).substr(0, slash)))) rest = rest.substr(slash + 1);
    }
  }
  // A URL naming one of our accounts is read here, unless its host is not
  // the one this request came to and is one the operator allows remote
  // copies from (a real Azure account of the same name, say).
  const std::string* our_host = req.FindHeader("host");
  bool addressed_here = our_host && IEquals(*our_host, host);
  if (remote_ok && acct->fetcher && !(owner && addressed_here) &&
      acct->fetcher->HostAllowed(host_name)) {
    // Fetched from another host (api/remote_copy.cc): tier::UrlFetcher
    // checks scheme, address and limits; no credential of ours goes along.
    src.remote = true;
    *out = std::move(src);
    return std::nullopt;
  }
  if (!owner) {
    if (acct->fetcher)
      return CannotVerify("The copy source is not an account of this server, and its host is "
                          "not one this server may copy from (copy_source_hosts).");
    return CannotVerify("The copy source is not an account of this server.");
  }
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return CannotVerify("The copy source names no blob.");
  auto c = UrlDecode(rest.substr(0, slash));
  auto b = UrlDecode(rest.substr(slash + 1));
  if (b) ns::NormalizeBlobName(&*b);
  // The source's names pass the same gate as the URL's own.
  if (!c || !b || !ns::ValidateContainerName(*c).ok() || !ns::ValidateBlobName(*b).ok() ||
      owner->store->IsReservedName(*c, *b))
    return CannotVerify("The copy source is not a valid blob name.");
  src.account = owner;
  src.container = std::move(*c);
  src.blob = std::move(*b);

  // As on Azure, the destination's credential reaches the source only when
  // both are in one account: another account's blob is read with a SAS of
  // that account (verified with its keys) or by its public access.
  bool same_account = owner == acct;
  if (auth::ParseSas(src.query)) {
    auth::Outcome o =
        AuthorizeAt(owner, req, scheme, src.container, src.blob, src.query, demand, now);
    if (!o.ok) return CannotVerify(o.message);
  } else if (scheme == auth::Scheme::kBearer && principal && owner->entra &&
             auth::AuthorizeBearerPrincipal(*owner->entra, *principal, src.container, demand).ok) {
    // A bearer token reaches any source its principal's roles can read (in
    // the source account's Entra configuration), in this account or another.
  } else if (!(same_account && key_covers_source &&
               (scheme == auth::Scheme::kSharedKey || scheme == auth::Scheme::kSharedKeyLite))) {
    // Read as an anonymous caller would: only a public container's blobs.
    auto rec = owner->store->GetContainer(src.container);
    if (!rec.ok() || (rec->public_access != "blob" && rec->public_access != "container"))
      return CannotVerify("The copy source must be public or carry a SAS that grants read.");
  }
  *out = std::move(src);
  return std::nullopt;
}

}  // namespace strata::api
