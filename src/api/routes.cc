#include "api/routes.h"

namespace strata::api {

namespace {
using auth::ResourceType;
constexpr auth::Demand Svc(const char* p) { return {ResourceType::kService, p, false}; }
constexpr auth::Demand BearerOnly() { return {ResourceType::kService, "r", false, nullptr, true}; }
constexpr auth::Demand Con(const char* p, bool sas = true) { return {ResourceType::kContainer, p, sas}; }
// `replace`: the letters replacing an existing blob needs (auth::Demand).
constexpr auth::Demand Obj(const char* p, const char* replace = nullptr) {
  return {ResourceType::kObject, p, true, replace};
}

// clang-format off
const Route kRoutes[] = {
  // name                    level            method   restype      comp          copy             handler                 demand        anon                 body        write  work
  {"ListContainers",         Level::kService, "GET",   nullptr,     "list",       CopyMode::kAny,  ListContainers,         Svc("l"),     Anon::kNever,        Body::kNone, false, Work::kPool},
  {"GetServiceProperties",   Level::kService, "GET",   "service",   "properties", CopyMode::kAny,  GetServiceProperties,   Svc("r"),     Anon::kNever,        Body::kNone, false},
  {"SetServiceProperties",   Level::kService, "PUT",   "service",   "properties", CopyMode::kAny,  SetServiceProperties,   Svc("w"),     Anon::kNever,        Body::kXml,  false},
  // Only with a bearer token, whose principal holds a role on the account.
  {"GetUserDelegationKey",   Level::kService, "POST",  "service",   "userdelegationkey", CopyMode::kAny, GetUserDelegationKey, BearerOnly(), Anon::kNever, Body::kXml, false},
  {"GetAccountInfo",         Level::kService, "GET",   "account",   "properties", CopyMode::kAny,  GetAccountInfo,         Svc("r"),     Anon::kNever,        Body::kNone, false},
  {"GetAccountInfo",         Level::kService, "HEAD",  "account",   "properties", CopyMode::kAny,  GetAccountInfo,         Svc("r"),     Anon::kNever,        Body::kNone, false},
  {"GetAccountInfo",         Level::kContainer, "GET", "account",   "properties", CopyMode::kAny,  GetAccountInfo,         Con("r"),     Anon::kNever,        Body::kNone, false},
  {"GetAccountInfo",         Level::kContainer, "HEAD","account",   "properties", CopyMode::kAny,  GetAccountInfo,         Con("r"),     Anon::kNever,        Body::kNone, false},
  {"GetAccountInfo",         Level::kBlob,    "GET",   "account",   "properties", CopyMode::kAny,  GetAccountInfo,         Obj("r"),     Anon::kNever,        Body::kNone, false},
  {"GetAccountInfo",         Level::kBlob,    "HEAD",  "account",   "properties", CopyMode::kAny,  GetAccountInfo,         Obj("r"),     Anon::kNever,        Body::kNone, false},

  {"CreateContainer",        Level::kContainer, "PUT", "container", nullptr,      CopyMode::kAny,  CreateContainer,        Con("c|w"),   Anon::kNever,        Body::kNone, true},
  {"GetContainerProperties", Level::kContainer, "GET", "container", nullptr,      CopyMode::kAny,  GetContainerProperties, Con("r", false), Anon::kContainerRead, Body::kNone, false},
  {"GetContainerProperties", Level::kContainer, "HEAD","container", nullptr,      CopyMode::kAny,  GetContainerProperties, Con("r", false), Anon::kContainerRead, Body::kNone, false},
  {"GetContainerMetadata",   Level::kContainer, "GET", "container", "metadata",   CopyMode::kAny,  GetContainerProperties, Con("r", false), Anon::kContainerRead, Body::kNone, false},
  {"GetContainerMetadata",   Level::kContainer, "HEAD","container", "metadata",   CopyMode::kAny,  GetContainerProperties, Con("r", false), Anon::kContainerRead, Body::kNone, false},
  {"SetContainerMetadata",   Level::kContainer, "PUT", "container", "metadata",   CopyMode::kAny,  SetContainerMetadata,   Con("w", false), Anon::kNever,        Body::kNone, false},
  {"DeleteContainer",        Level::kContainer, "DELETE","container", nullptr,    CopyMode::kAny,  DeleteContainer,        Con("d", false), Anon::kNever,        Body::kNone, false, Work::kPool},
  {"GetContainerAcl",        Level::kContainer, "GET", "container", "acl",        CopyMode::kAny,  GetContainerAcl,        Con("r", false), Anon::kNever,     Body::kNone, false},
  {"GetContainerAcl",        Level::kContainer, "HEAD","container", "acl",        CopyMode::kAny,  GetContainerAcl,        Con("r", false), Anon::kNever,     Body::kNone, false},
  {"SetContainerAcl",        Level::kContainer, "PUT", "container", "acl",        CopyMode::kAny,  SetContainerAcl,        Con("w", false), Anon::kNever,     Body::kXml,  false},
  {"ListBlobs",              Level::kContainer, "GET", "container", "list",       CopyMode::kAny,  ListBlobs,              Con("l"),     Anon::kContainerRead, Body::kNone, false, Work::kPool},
  {"LeaseContainer",         Level::kContainer, "PUT", "container", "lease",      CopyMode::kAny,  LeaseContainer,         Con("w", false), Anon::kNever,        Body::kNone, false},

  {"CopyBlobFromUrl",        Level::kBlob,    "PUT",   nullptr,     nullptr,      CopyMode::kSync, CopyBlobFromUrl,        Obj("c|w", "w"), Anon::kNever,        Body::kNone, true, Work::kPool, SourceKind::kCopy, Obj("r")},
  {"PutBlobFromUrl",         Level::kBlob,    "PUT",   nullptr,     nullptr,      CopyMode::kFromUrl, PutBlobFromUrl,      Obj("c|w", "w"), Anon::kNever,        Body::kNone, true, Work::kPool, SourceKind::kCopy, Obj("r")},
  {"CopyBlob",               Level::kBlob,    "PUT",   nullptr,     nullptr,      CopyMode::kAsync, CopyBlob,              Obj("c|w", "w"), Anon::kNever,        Body::kNone, true, Work::kPool, SourceKind::kCopy, Obj("r")},
  {"PutBlob",                Level::kBlob,    "PUT",   nullptr,     nullptr,      CopyMode::kNone, PutBlob,                Obj("c|w", "w"), Anon::kNever,        Body::kData, true},
  {"GetBlob",                Level::kBlob,    "GET",   nullptr,     nullptr,      CopyMode::kAny,  GetBlob,                Obj("r"),     Anon::kBlobRead,     Body::kNone, false},
  {"GetBlobProperties",      Level::kBlob,    "HEAD",  nullptr,     nullptr,      CopyMode::kAny,  GetBlobProperties,      Obj("r"),     Anon::kBlobRead,     Body::kNone, false},
  {"DeleteBlob",             Level::kBlob,    "DELETE", nullptr,    nullptr,      CopyMode::kAny,  DeleteBlob,             Obj("d"),     Anon::kNever,        Body::kNone, false},
  {"SetBlobProperties",      Level::kBlob,    "PUT",   nullptr,     "properties", CopyMode::kAny,  SetBlobProperties,      Obj("w"),     Anon::kNever,        Body::kNone, false},
  {"GetBlobMetadata",        Level::kBlob,    "GET",   nullptr,     "metadata",   CopyMode::kAny,  GetBlobMetadata,        Obj("r"),     Anon::kBlobRead,     Body::kNone, false},
  {"GetBlobMetadata",        Level::kBlob,    "HEAD",  nullptr,     "metadata",   CopyMode::kAny,  GetBlobMetadata,        Obj("r"),     Anon::kBlobRead,     Body::kNone, false},
  {"SetBlobMetadata",        Level::kBlob,    "PUT",   nullptr,     "metadata",   CopyMode::kAny,  SetBlobMetadata,        Obj("w"),     Anon::kNever,        Body::kNone, false},
  {"LeaseBlob",              Level::kBlob,    "PUT",   nullptr,     "lease",      CopyMode::kAny,  LeaseBlob,              Obj("w"),     Anon::kNever,        Body::kNone, false},
  {"SetBlobTier",            Level::kBlob,    "PUT",   nullptr,     "tier",       CopyMode::kAny,  SetBlobTier,            Obj("w"),     Anon::kNever,        Body::kNone, false},
  {"AbortCopyBlob",          Level::kBlob,    "PUT",   nullptr,     "copy",       CopyMode::kAny,  AbortCopyBlob,          Obj("w"),     Anon::kNever,        Body::kNone, false},
  {"PutBlock",               Level::kBlob,    "PUT",   nullptr,     "block",      CopyMode::kNone, PutBlock,               Obj("w"),     Anon::kNever,        Body::kData, true},
  {"PutBlockFromUrl",        Level::kBlob,    "PUT",   nullptr,     "block",      CopyMode::kAsync, PutBlockFromUrl,       Obj("w"),     Anon::kNever,        Body::kNone, true, Work::kPool, SourceKind::kCopy, Obj("r")},
  {"PutBlockList",           Level::kBlob,    "PUT",   nullptr,     "blocklist",  CopyMode::kAny,  PutBlockList,           Obj("c|w", "w"), Anon::kNever,        Body::kXml,  true, Work::kPool},
  {"GetBlockList",           Level::kBlob,    "GET",   nullptr,     "blocklist",  CopyMode::kAny,  GetBlockList,           Obj("r"),     Anon::kBlobRead,     Body::kNone, false},
  {"AppendBlock",            Level::kBlob,    "PUT",   nullptr,     "appendblock", CopyMode::kNone, AppendBlock,           Obj("a"),     Anon::kNever,        Body::kData, true},
  {"AppendBlobSeal",         Level::kBlob,    "PUT",   nullptr,     "seal",       CopyMode::kAny,  AppendBlobSeal,         Obj("w"),     Anon::kNever,        Body::kNone, false},
};
// clang-format on

bool Matches(const char* want, const std::string_view* have) {
  if (!want) return have == nullptr;
  return have && *have == want;
}

CopyMode ModeOf(const http::Request& req) {
  if (!req.FindHeader("x-ms-copy-source")) return CopyMode::kNone;
  const std::string* sync = req.FindHeader("x-ms-requires-sync");
  if (sync && (*sync == "true" || *sync == "True")) return CopyMode::kSync;
  if (req.FindHeader("x-ms-blob-type")) return CopyMode::kFromUrl;
  return CopyMode::kAsync;
}
}  // namespace

std::span<const Route> AllRoutes() { return kRoutes; }

const Route* FindRoute(Level level, const http::Request& req) {
  const std::string_view* restype = req.FindQuery("restype");
  const std::string_view* comp = req.FindQuery("comp");
  CopyMode mode = ModeOf(req);
  for (const auto& r : kRoutes) {
    if (r.level != level || req.method != r.method) continue;
    if (!Matches(r.restype, restype)) continue;
    if (!Matches(r.comp, comp)) continue;
    if (r.copy != CopyMode::kAny && r.copy != mode) continue;
    return &r;
  }
  return nullptr;
}

}  // namespace strata::api
