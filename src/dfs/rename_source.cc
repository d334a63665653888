// x-ms-rename-source of a dfs rename: "/filesystem/path", percent-encoded,
// optionally followed by "?" and a SAS that authorizes the source.
#include "api/sources.h"
#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"
#include "ns/names.h"

namespace strata::dfs {

std::optional<http::Response> ResolveRenameSource(api::Account* acct, const http::Request& req,
                                                  auth::Scheme scheme, const auth::Demand& demand,
                                                  TimeNs now, api::SourceRef* out,
                                                  bool account_in_source,
                                                  const auth::Principal* principal) {
  const std::string* header = req.FindHeader("x-ms-rename-source");
  if (!header) return JsonError(DfsError::kInvalidSourceUri);
  api::SourceRef src;
  src.url = *header;
  std::string path = *header;
  if (size_t q = path.find('?'); q != std::string::npos) {
    src.query = path.substr(q + 1);
    path.resize(q);
  }
  if (account_in_source) {
    // "/ACCOUNT/filesystem/path": the front door matched ACCOUNT to acct.
    std::string prefix = "/" + acct->name + "/";
    if (!StartsWith(path, prefix)) return JsonError(DfsError::kInvalidSourceUri);
    path.erase(0, prefix.size() - 1);
  }
  auto decoded = UrlDecode(path);
  if (!decoded || decoded->size() < 2 || (*decoded)[0] != '/') return JsonError(DfsError::kInvalidSourceUri);
  std::string rest = decoded->substr(1);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return JsonError(DfsError::kInvalidSourceUri);
  src.container = rest.substr(0, slash);
  src.blob = rest.substr(slash + 1);
  while (!src.blob.empty() && src.blob.back() == '/') src.blob.pop_back();
  // The source's names pass the same gate as the URL's own.
  if (!ns::ValidateContainerName(src.container).ok() || !ns::ValidateBlobName(src.blob).ok())
    return JsonError(DfsError::kInvalidSourceUri);
  if (acct->store->IsReservedName(src.container, src.blob))
    return JsonError(DfsError::kSourcePathNotFound);
  // A SAS the source carries speaks for the source; without one, the
  // request's own credential must reach it too.
  bool own_sas = !src.query.empty() && auth::ParseSas(src.query);
  auth::Outcome o = api::AuthorizeAt(acct, req, scheme, src.container, src.blob,
                                     own_sas ? std::string_view(src.query) : std::string_view(),
                                     demand, now, principal);
  if (!o.ok) {
    std::string why = o.message.empty() ? "" : " " + o.message;
    if (own_sas && o.code != "AuthorizationPermissionMismatch")
      return JsonError(api::AzError::kAuthenticationFailed, "The rename source's SAS:" + why);
    return JsonError(api::AzError::kAuthorizationPermissionMismatch,
                     "The credential does not permit moving the rename source." + why);
  }
  *out = std::move(src);
  return std::nullopt;
}

std::string_view RenameSourceAccount(const http::Request& req) {
  if (req.method != "PUT") return {};
  const std::string* header = req.FindHeader("x-ms-rename-source");
  if (!header) return {};
  std::string_view path = *header;
  path = path.substr(0, path.find('?'));
  if (path.size() < 2 || path[0] != '/') return {};
  size_t first = path.find('/', 1);
  if (first == std::string_view::npos || first == 1) return {};
  size_t second = path.find('/', first + 1);
  if (second == std::string_view::npos || second == first + 1 || second + 1 == path.size())
    return {};
  return path.substr(1, first - 1);
}

}  // namespace strata::dfs
