// The ADLS Gen2 (dfs) path API: filesystems and paths over the same
// namespace as the Blob API. Handlers have the api:: signature
// Response(api::Ctx&), reuse its auth, conditions and lease machinery, and
// answer Azure's JSON errors (api::Api converts any XML error of a dfs
// request with ToJson, so handlers may return api::ErrorResponse too).
//
// Thread-safety: as api/: handlers run concurrently and serialize their
// read-modify-write sequences with the store's blob and container locks.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "api/context.h"
#include "api/routes.h"

namespace strata::dfs {

// The dfs route for a request, or nullptr when it is not a dfs request (then
// the Blob API answers it exactly as before).
const api::Route* FindRoute(api::Level level, const http::Request& req);
// The route of a request to the dfs endpoint (its own port, or a host
// ACCOUNT.dfs.DOMAIN), where a path request without a Blob operation
// (`comp`) is a dfs one: HEAD Get Properties, GET Read, DELETE Delete.
// nullptr when the request is no dfs request there either (the caller then
// serves a Blob operation it names, or refuses it).
const api::Route* FindEndpointRoute(api::Level level, const http::Request& req);
// Every row of the dfs table, for walks over it (tests, docs).
std::span<const api::Route* const> AllRoutes();
// Whether a row is reached only on the dfs endpoint (Path Read).
bool OnlyOnDfsEndpoint(const api::Route& route);

// For a Blob API request that found no blob where the namespace holds a
// directory (made through dfs, by a blob commit or with plain tools): the
// HNS blob view of it (a zero-length blob with metadata hdi_isfolder=true),
// which reads, Set Blob Metadata, Lease Blob and Delete Blob act on; Delete Blob removes
// only an empty one (409 DirectoryIsNotEmpty otherwise). nullopt otherwise.
std::optional<http::Response> DirectoryAsBlob(api::Ctx& ctx, const std::string& route_name);

// Parses, validates and authorizes x-ms-rename-source (see api/sources.h)
// into `out`; an error response when the source is malformed (400
// InvalidSourceUri), reserved (404 SourcePathNotFound) or not reachable by
// the caller's credential or by the SAS it carries (403). The source is
// "/filesystem/path"; when `account_in_source`, "/ACCOUNT/filesystem/path"
// with acct's name first (see RenameSourceAccount).
std::optional<http::Response> ResolveRenameSource(api::Account* acct, const http::Request& req,
                                                  auth::Scheme scheme, const auth::Demand& demand,
                                                  TimeNs now, api::SourceRef* out,
                                                  bool account_in_source = false,
                                                  const auth::Principal* principal = nullptr);

// The account a path-style rename names only in its source. The JS SDK's
// move() (DataLakePathClient.move, @azure/storage-file-datalake 12.x) sends
// the source as its own URL's path, "/ACCOUNT/filesystem/path" on a
// path-style endpoint, and the destination to "/filesystem/path" with the
// account dropped (it replaces the whole URL path), signed for
// "/ACCOUNT/filesystem/path" as on a host-style endpoint. For a PUT whose
// x-ms-rename-source has at least three segments: its first segment (not
// decoded; account names are [a-z0-9]); empty otherwise. The caller takes
// it as the account only when the URL's first segment names none.
std::string_view RenameSourceAccount(const http::Request& req);

// Rewrites an XML error response as a dfs JSON error (HEAD: no body).
void ToJson(const http::Request& req, http::Response& r);

// ---- the handlers ----
http::Response CreateFilesystem(api::Ctx&);
http::Response GetFilesystemProperties(api::Ctx&);
http::Response SetFilesystemProperties(api::Ctx&);
http::Response DeleteFilesystem(api::Ctx&);
http::Response ListPaths(api::Ctx&);
http::Response CreatePath(api::Ctx&);   // resource=file|directory, or a rename
http::Response UpdatePath(api::Ctx&);   // action=append|flush|setProperties|setAccessControl
http::Response GetPathProperties(api::Ctx&);  // HEAD; action=getAccessControl|getStatus
http::Response ReadPath(api::Ctx&);     // GET on the dfs endpoint
http::Response DeletePath(api::Ctx&);
http::Response LeasePath(api::Ctx&);
http::Response ListFilesystems(api::Ctx&);            // GET /?resource=account
http::Response SetAccessControlRecursive(api::Ctx&);  // via UpdatePath

// ---- shared by the handlers (common.cc) ----
// Parses x-ms-properties ("n1=base64,n2=base64"); false on a bad list.
bool ParseProperties(const std::string& header, ns::Metadata* out);
std::string FormatProperties(const ns::Metadata& m);
// "$superuser" when unset.
std::string OwnerOf(const ns::PathAcl& acl);
std::string GroupOf(const ns::PathAcl& acl);
// rwx string of a path's mode, with '+' when its ACL has named entries.
std::string PermissionsOf(const ns::PathInfo& info);
// The ACL as getAccessControl returns it: the stored one, its base entries
// kept in step with the mode, or one made from the mode.
std::string AclOf(const ns::PathInfo& info);
// Lease headers (x-ms-lease-state/status/duration).
void LeaseHeaders(http::Response& r, const ns::Lease& lease, TimeNs now);

}  // namespace strata::dfs
