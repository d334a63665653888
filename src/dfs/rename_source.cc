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
                                                  TimeNs now, api::SourceRef* out) {
  const std::string* header = req.FindHeader("x-ms-rename-source");
  if (!header) return JsonError(DfsError::kInvalidSourceUri);
  api::SourceRef src;
  src.url = *header;
  std::string path = *header;
  if (size_t q = path.find('?'); q != std::string::npos) {
    src.query = path.substr(q + 1);
    path.resize(q);
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
                                     demand, now);
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

}  // namespace strata::dfs
