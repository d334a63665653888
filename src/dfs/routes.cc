// The dfs route table. A request is a dfs request when its query or method
// says so: resource=filesystem|file|directory, action=..., recursive on
// DELETE (or a DELETE that accepts only JSON), x-ms-rename-source on PUT, the PATCH and POST methods, or upn on
// HEAD. Anything else is left to the Blob API's table.
//
// The dfs endpoint (its own port, or a host ACCOUNT.dfs.DOMAIN) reads a
// path request that names no Blob operation as a dfs one too (see
// FindEndpointRoute); kReadPath is reached only there.
#include "common/strings.h"
#include "dfs/dfs.h"

namespace strata::dfs {

namespace {
using api::Anon;
using api::Body;
using api::CopyMode;
using api::Level;
using auth::ResourceType;
constexpr auth::Demand Svc(const char* p) { return {ResourceType::kService, p, false}; }
constexpr auth::Demand Con(const char* p) { return {ResourceType::kContainer, p, true}; }
constexpr auth::Demand Obj(const char* p) { return {ResourceType::kObject, p, true}; }

// clang-format off
//                                       name                        level              method    restype  comp     copy            handler                  demand    anon                  body         write
const api::Route kListFs              = {"DfsListFilesystems",       Level::kService,   "GET",    nullptr, nullptr, CopyMode::kAny, ListFilesystems,         Svc("l"), Anon::kNever,         Body::kNone, false, api::Work::kPool};
const api::Route kCreateFs            = {"DfsCreateFilesystem",      Level::kContainer, "PUT",    nullptr, nullptr, CopyMode::kAny, CreateFilesystem,        Con("c"), Anon::kNever,         Body::kNone, true};
const api::Route kGetFs               = {"DfsGetFilesystemProperties", Level::kContainer, "HEAD", nullptr, nullptr, CopyMode::kAny, GetFilesystemProperties, Con("r"), Anon::kNever,         Body::kNone, false};
const api::Route kSetFs               = {"DfsSetFilesystemProperties", Level::kContainer, "PATCH", nullptr, nullptr, CopyMode::kAny, SetFilesystemProperties, Con("w"), Anon::kNever,        Body::kNone, false};
const api::Route kDeleteFs            = {"DfsDeleteFilesystem",      Level::kContainer, "DELETE", nullptr, nullptr, CopyMode::kAny, DeleteFilesystem,        Con("d"), Anon::kNever,         Body::kNone, false, api::Work::kPool};
const api::Route kListPaths           = {"DfsListPaths",             Level::kContainer, "GET",    nullptr, nullptr, CopyMode::kAny, ListPaths,               Con("l"), Anon::kContainerRead, Body::kNone, false, api::Work::kPool};
const api::Route kCreatePath          = {"DfsCreatePath",            Level::kBlob,      "PUT",    nullptr, nullptr, CopyMode::kAny, CreatePath,              Obj("c|w"), Anon::kNever,       Body::kNone, true};
// The destination is created or replaced; the source is moved away (SAS m, or
// d where the SAS kind has no m), by the request's credential or by the SAS
// that x-ms-rename-source carries.
const api::Route kRenamePath          = {"DfsRenamePath",            Level::kBlob,      "PUT",    nullptr, nullptr, CopyMode::kAny, CreatePath,              Obj("c|w"), Anon::kNever,       Body::kNone, true, api::Work::kInline, api::SourceKind::kRename, Obj("m|d")};
const api::Route kAppend              = {"DfsAppendData",            Level::kBlob,      "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("a|w"), Anon::kNever,       Body::kData, true, api::Work::kPool};
const api::Route kFlush               = {"DfsFlushData",             Level::kBlob,      "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("w"), Anon::kNever,         Body::kNone, true, api::Work::kPool};
const api::Route kSetProperties       = {"DfsSetPathProperties",     Level::kBlob,      "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("w"), Anon::kNever,         Body::kNone, true, api::Work::kPool};
// setAccessControl: p to set permissions or an ACL, o to set owner or group.
const api::Route kSetAcl              = {"DfsSetAccessControl",      Level::kBlob,      "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("p"), Anon::kNever,         Body::kNone, true, api::Work::kPool};
const api::Route kSetOwner            = {"DfsSetOwner",              Level::kBlob,      "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("o"), Anon::kNever,         Body::kNone, true, api::Work::kPool};
const api::Route kSetAclAndOwner      = {"DfsSetAccessControlAndOwner", Level::kBlob,   "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("po"), Anon::kNever,        Body::kNone, true, api::Work::kPool};
const api::Route kSetAclRecursive     = {"DfsSetAccessControlRecursive", Level::kBlob,  "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("p"), Anon::kNever,         Body::kNone, true, api::Work::kPool};
// Any other action: the handler refuses it; it demands the most a write can.
const api::Route kUpdate              = {"DfsUpdatePath",            Level::kBlob,      "PATCH",  nullptr, nullptr, CopyMode::kAny, UpdatePath,              Obj("wpo"), Anon::kNever,       Body::kNone, true, api::Work::kPool};
const api::Route kGetProps            = {"DfsGetPathProperties",     Level::kBlob,      "HEAD",   nullptr, nullptr, CopyMode::kAny, GetPathProperties,       Obj("r"), Anon::kBlobRead,      Body::kNone, false};
// getStatus: the system properties (e, or r, which reads all properties);
// getAccessControl: the ACL (e only, as Azure's SAS table says).
const api::Route kGetStatus           = {"DfsGetStatus",             Level::kBlob,      "HEAD",   nullptr, nullptr, CopyMode::kAny, GetPathProperties,       Obj("e|r"), Anon::kBlobRead,    Body::kNone, false};
const api::Route kGetAccessControl    = {"DfsGetAccessControl",      Level::kBlob,      "HEAD",   nullptr, nullptr, CopyMode::kAny, GetPathProperties,       Obj("e"), Anon::kNever,         Body::kNone, false};
const api::Route kDeletePath          = {"DfsDeletePath",            Level::kBlob,      "DELETE", nullptr, nullptr, CopyMode::kAny, DeletePath,              Obj("d"), Anon::kNever,         Body::kNone, false, api::Work::kPool};
// Path Read: only the dfs endpoint has it (elsewhere a GET is Get Blob).
const api::Route kReadPath            = {"DfsReadPath",              Level::kBlob,      "GET",    nullptr, nullptr, CopyMode::kAny, ReadPath,                Obj("r"), Anon::kBlobRead,      Body::kNone, false};
const api::Route kLeasePath           = {"DfsLeasePath",             Level::kBlob,      "POST",   nullptr, nullptr, CopyMode::kAny, LeasePath,               Obj("w"), Anon::kNever,         Body::kNone, false};

const api::Route* const kAll[] = {&kListFs, &kCreateFs, &kGetFs, &kSetFs, &kDeleteFs, &kListPaths,
                                  &kCreatePath, &kRenamePath, &kAppend, &kFlush, &kSetProperties,
                                  &kSetAcl, &kSetOwner, &kSetAclAndOwner, &kSetAclRecursive, &kUpdate,
                                  &kGetProps, &kGetStatus, &kGetAccessControl, &kDeletePath,
                                  &kLeasePath, &kReadPath};
// clang-format on
}  // namespace

std::span<const api::Route* const> AllRoutes() { return kAll; }

const api::Route* FindRoute(api::Level level, const http::Request& req) {
  const std::string& m = req.method;
  if (level == Level::kService) {
    auto resource = req.Query("resource");
    return resource && *resource == "account" && m == "GET" ? &kListFs : nullptr;
  }
  if (level == Level::kContainer) {
    auto resource = req.Query("resource");
    if (!resource || *resource != "filesystem") return nullptr;
    if (m == "PUT") return &kCreateFs;
    if (m == "HEAD") return &kGetFs;
    if (m == "PATCH") return &kSetFs;
    if (m == "DELETE") return &kDeleteFs;
    if (m == "GET") return &kListPaths;
    return nullptr;
  }
  if (level != Level::kBlob) return nullptr;
  if (m == "PATCH") {
    std::string action = req.Query("action").value_or("");
    if (action == "append") return &kAppend;
    if (action == "flush") return &kFlush;
    if (action == "setProperties") return &kSetProperties;
    if (action == "setAccessControlRecursive") return &kSetAclRecursive;
    if (action == "setAccessControl") {
      bool owner = req.FindHeader("x-ms-owner") || req.FindHeader("x-ms-group");
      bool acl = req.FindHeader("x-ms-permissions") || req.FindHeader("x-ms-acl");
      if (owner && acl) return &kSetAclAndOwner;
      return owner ? &kSetOwner : &kSetAcl;
    }
    return &kUpdate;
  }
  if (m == "POST") return &kLeasePath;
  if (m == "PUT") {
    if (req.Header("x-ms-rename-source")) return &kRenamePath;
    auto resource = req.Query("resource");
    if (resource && (*resource == "file" || *resource == "directory")) return &kCreatePath;
    return nullptr;
  }
  if (m == "HEAD") {
    auto action = req.Query("action");
    if (action && *action == "getAccessControl") return &kGetAccessControl;
    if (action && *action == "getStatus") return &kGetStatus;
    if (req.Query("upn")) return &kGetProps;
    return nullptr;
  }
  if (m == "DELETE") {
    if (req.Query("recursive") || req.Query("continuation")) return &kDeletePath;
    // The Data Lake SDK deletes a file with no query at all; it asks for JSON.
    auto accept = req.Header("accept");
    if (accept && *accept == "application/json") return &kDeletePath;
    return nullptr;
  }
  return nullptr;
}

const api::Route* FindEndpointRoute(api::Level level, const http::Request& req) {
  if (const api::Route* r = dfs::FindRoute(level, req)) return r;
  if (level != Level::kBlob || req.FindQuery("comp")) return nullptr;
  const std::string& m = req.method;
  if (m == "HEAD") return &kGetProps;
  if (m == "GET") return &kReadPath;
  if (m == "DELETE") return &kDeletePath;
  return nullptr;
}

bool OnlyOnDfsEndpoint(const api::Route& route) { return &route == &kReadPath; }

}  // namespace strata::dfs
