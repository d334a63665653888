#include "api/api.h"

#include <algorithm>

#include <atomic>
#include <cstdio>
#include <random>

#include "api/context.h"
#include "api/routes.h"
#include "api/sources.h"
#include "common/strings.h"
#include "dfs/dfs.h"
#include "dfs/errors.h"
#include "ns/names.h"

namespace strata::api {

struct Api::Routed {
  // The accounts the request resolved against: `account` and the source's
  // live as long as the request.
  std::shared_ptr<const Api::AccountList> accounts;
  Account* account = nullptr;
  std::string container, blob;
  const Route* route = nullptr;
  auth::Scheme scheme = auth::Scheme::kAnonymous;
  bool may_replace = true;
  std::string base_url;
  bool dfs = false;  // routed to the dfs path API: errors are JSON
  SourceRef source;  // a copy's or rename's source, authorized
  std::shared_ptr<const auth::Principal> principal;  // kBearer
  bool account_in_source = false;  // see dfs::RenameSourceAccount
};

namespace {

// The credential a request presents (whether or not it is good).
const char* AuthKind(const http::Request& req) {
  if (const std::string* a = req.FindHeader("authorization")) {
    if (StartsWith(*a, "SharedKeyLite ")) return "sharedkeylite";
    if (StartsWith(*a, "SharedKey ")) return "sharedkey";
    if (StartsWith(*a, "Bearer ")) return "bearer";
    return "other";
  }
  if (req.FindQuery("sig")) return "sas";
  return "anonymous";
}

// A version-4 UUID, formatted by hand into *out (this runs on every response).
std::string_view NewRequestId(char (&out)[36]) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t a = rng(), b = rng();
  a = (a & ~0xf000ULL) | 0x4000ULL;                            // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;     // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out[pos++] = '-';
    uint64_t word = i < 16 ? a : b;
    out[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
  }
  return std::string_view(out, 36);
}

// "YYYY-MM-DD" with a month and day that exist in some year.
bool WellFormedVersion(std::string_view v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (v[i] < '0' || v[i] > '9') return false;
  int month = (v[5] - '0') * 10 + (v[6] - '0');
  int day = (v[8] - '0') * 10 + (v[9] - '0');
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month >= 1 && month <= 12 && day >= 1 && day <= kDays[month - 1];
}

// The published service versions from 2019-02-02 on, and any well-formed
// later one; anything else is refused as Azure refuses a version it does not
// serve (400 InvalidHeaderValue naming x-ms-version and the value).
bool ValidVersion(const std::string& v) {
  // Sorted (dates sort as text): one binary search per request.
  static constexpr std::string_view kVersions[] = {
      "2009-09-19", "2011-08-18", "2012-02-12", "2013-08-15", "2014-02-14", "2015-02-21",
      "2015-04-05", "2015-07-08", "2015-12-11", "2016-05-31", "2017-04-17", "2017-07-29",
      "2017-11-09", "2018-03-28", "2018-11-09", "2019-02-02", "2019-07-07", "2019-10-10",
      "2019-12-12", "2020-02-10", "2020-04-08", "2020-06-12", "2020-08-04", "2020-10-02",
      "2020-12-06", "2021-02-12", "2021-04-10", "2021-06-08", "2021-08-06", "2021-10-04",
      "2021-12-02", "2022-11-02", "2023-01-03", "2023-05-03", "2023-08-03", "2023-11-03",
      "2024-02-04", "2024-05-04", "2024-08-04", "2024-11-04", "2025-01-05", "2025-05-05",
      "2025-07-05", "2025-11-05"};
  static_assert(std::is_sorted(std::begin(kVersions), std::end(kVersions)));
  // Versions before 2019-02-02 are not served (issue 11), though published
  // and listed above: refused like an unknown one. (A SAS's sv is not this.)
  if (std::string_view(v) < "2019-02-02") return false;
  if (std::binary_search(std::begin(kVersions), std::end(kVersions), std::string_view(v)))
    return true;
  // Azure enables new versions everywhere at once and the SDKs send the
  // newest they know: a well-formed version past the newest known here is
  // served as that one (and said once in the log).
  if (!WellFormedVersion(v) || std::string_view(v) <= std::end(kVersions)[-1]) return false;
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true))
    std::fprintf(stderr, "strata: x-ms-version %s is newer than %s; served as %s\n", v.c_str(),
                 std::string(std::end(kVersions)[-1]).c_str(),
                 std::string(std::end(kVersions)[-1]).c_str());
  return true;
}

std::optional<auth::StoredPolicy> LookupPolicy(Account* acct, const std::string& container,
                                               const std::string& id) {
  auto rec = acct->store->GetContainer(container);
  if (!rec.ok()) return std::nullopt;
  for (const auto& s : rec->identifiers) {
    if (s.id == id) return auth::StoredPolicy{s.id, s.start, s.expiry, s.permission};
  }
  return std::nullopt;
}

// Query parameters that name a path inside the container go through the
// blob-name gate, as the URL's own names do. `directory` (List Paths) names
// a directory: a valid blob name, or nothing (the root). Prefixes and
// markers only bound a walk that starts at the container and compares
// names (ns::Store::List, ListPaths), so they need no gate to stay inside.
std::optional<http::Response> ConfineNamedParams(const http::Request& req, Level level) {
  if (level != Level::kContainer) return std::nullopt;
  if (const std::string_view* dir = req.FindQuery("directory")) {
    std::string_view d = *dir;  // decoded
    while (!d.empty() && d.back() == '/') d.remove_suffix(1);
    while (!d.empty() && d.front() == '/') d.remove_prefix(1);
    if (!d.empty() && !ns::ValidateBlobName(d).ok())
      return ErrorResponse(AzError::kInvalidQueryParameterValue,
                           "directory: not a valid path name in the filesystem.");
  }
  return std::nullopt;
}

AzError AuthError(const std::string& code) {
  if (code == "AuthorizationPermissionMismatch") return AzError::kAuthorizationPermissionMismatch;
  if (code == "AuthorizationResourceTypeMismatch") return AzError::kAuthorizationResourceTypeMismatch;
  if (code == "AuthorizationSourceIPMismatch") return AzError::kAuthorizationSourceIPMismatch;
  if (code == "AuthorizationProtocolMismatch") return AzError::kAuthorizationProtocolMismatch;
  if (code == "AuthorizationServiceMismatch") return AzError::kAuthorizationServiceMismatch;
  if (code == "AuthorizationFailure") return AzError::kAuthorizationFailure;
  if (code == "InvalidAuthenticationInfo") return AzError::kInvalidAuthenticationInfo;
  return AzError::kAuthenticationFailed;
}

// A Put Blob, Put Block or Append Block that cannot fit the container's
// limit, or a Put Block past the blob's most uncommitted blocks, refused
// before its body is read (the commit checks again, exactly). Costs nothing
// but for Put Block (one read of the blob's block tally) in containers
// without a limit.
std::optional<http::Response> QuotaPrecheck(ns::Store& store, const std::string& route,
                                            const std::string& c, const std::string& b,
                                            const http::Request& req) {
  if (route == "PutBlock") {
    const std::string* cl = req.FindHeader("content-length");
    auto n = cl ? ParseUint(*cl) : std::nullopt;
    auto id_b64 = req.Query("blockid");
    auto id = id_b64 ? Base64Decode(*id_b64) : std::nullopt;
    if (!id || id->empty()) return std::nullopt;  // the handler answers
    Status s = store.CheckBlockRoom(c, b, *id, n.value_or(0));
    if (s.ok() || s.kind() == ErrorKind::kContainerNotFound) return std::nullopt;
    if (s.kind() == ErrorKind::kLimitReached)
      return ErrorResponse(AzError::kUncommittedBlockCountExceedsLimit);
    if (s.kind() == ErrorKind::kQuotaExceeded)
      return ErrorResponse(FromStatus(s, true), s.message());
    return std::nullopt;  // (an I/O error: the handler meets it again)
  }
  if (route != "PutBlob" && route != "AppendBlock") return std::nullopt;
  if (!store.IsLimited(c)) return std::nullopt;
  const std::string* cl = req.FindHeader("content-length");
  auto n = cl ? ParseUint(*cl) : std::nullopt;
  if (!n) return std::nullopt;
  int64_t bytes = static_cast<int64_t>(*n), files = 0;
  if (route == "PutBlob") {
    auto old = store.Head(c, b);
    if (old.ok()) {
      bytes -= static_cast<int64_t>(old->st.size);
    } else {
      files = 1;
    }
    // The commit drops the blob's uncommitted blocks: their bytes go.
    if (auto t = store.UncommittedTally(c, b); t.ok()) bytes -= static_cast<int64_t>(t->bytes);
  }
  Status s = store.CheckQuota(c, bytes, files);
  if (s.ok()) return std::nullopt;
  return ErrorResponse(FromStatus(s, true), PublicDetail(s));
}

}  // namespace

Api::Api(AccountList accounts) { SetAccounts(std::move(accounts)); }

Api::Api(std::vector<std::unique_ptr<Account>> accounts) {
  AccountList list;
  for (auto& a : accounts) list.push_back(std::shared_ptr<Account>(std::move(a)));
  SetAccounts(std::move(list));
}

std::optional<http::Response> Api::Resolve(http::Request& req, Routed* out) {
  if (!StartsWith(req.path, "/")) return ErrorResponse(AzError::kInvalidUri);
  // Host-style: the first label of Host names a known account.
  const std::string* host_h = req.FindHeader("host");
  std::string_view host = host_h ? std::string_view(*host_h) : std::string_view();
  size_t colon = host.rfind(':');
  std::string_view host_name =
      colon == std::string_view::npos || host.back() == ']' ? host : host.substr(0, colon);
  out->accounts = accounts_.load();  // once per request
  const AccountList& accounts = *out->accounts;  // this request's snapshot
  Account* acct = nullptr;
  bool path_style = true;
  bool dfs_endpoint = IsDfsListener(req.listener);
  size_t dot = host_name.find('.');
  if (dot != std::string_view::npos) {
    std::string_view label = host_name.substr(0, dot);
    for (auto& a : accounts)
      if (a->name == label) acct = a.get();
    if (acct) {
      path_style = false;
      // ACCOUNT.dfs.DOMAIN is the dfs endpoint, ACCOUNT.blob.DOMAIN the blob
      // one, whichever listener took the request.
      std::string_view service = host_name.substr(dot + 1);
      service = service.substr(0, service.find('.'));
      if (service == "dfs") dfs_endpoint = true;
      if (service == "blob") dfs_endpoint = false;
    }
  }
  out->dfs = dfs_endpoint;  // until routed: the endpoint's errors
  // Segments of the path: [account/]container/blob...
  std::string_view rest = std::string_view(req.path).substr(1);
  auto next_segment = [&rest]() {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    return seg;
  };
  std::string& base = out->base_url;
  base.reserve(8 + host.size() + 1 + 24);
  base = req.https ? "https://" : "http://";
  base += host;
  if (path_style) {
    std::string_view name = next_segment();
    for (auto& a : accounts)
      if (a->name == name) acct = a.get();
    if (!acct && !name.empty()) {
      // A JS SDK move() names the account in its rename source only.
      std::string_view named = dfs::RenameSourceAccount(req);
      for (auto& a : accounts)
        if (!named.empty() && a->name == named) acct = a.get();
      if (acct) {
        out->account_in_source = true;
        path_style = false;  // signed as "/ACCOUNT" + the URL's path
        rest = std::string_view(req.path).substr(1);
      }
    }
    if (!acct) {
      if (name.empty() && !accounts.empty()) {
        acct = accounts.front().get();
      } else {
        return ErrorResponse(AzError::kAccountNotFound);
      }
    }
    base += '/';
    base += acct->name;
  }
  out->account = acct;
  auto c = UrlDecode(next_segment());
  auto b = UrlDecode(rest);
  if (!c || !b) return ErrorResponse(AzError::kInvalidUri);
  out->container = std::move(*c);
  out->blob = std::move(*b);
  ns::NormalizeBlobName(&out->blob);
  Level level = out->container.empty() ? Level::kService
                : out->blob.empty()    ? Level::kContainer
                                       : Level::kBlob;
  if (req.method == "OPTIONS") return std::nullopt;  // CORS preflight; no auth
  if (dfs_endpoint) {
    out->route = dfs::FindEndpointRoute(level, req);
    // A request naming a Blob operation is served as on the blob endpoint:
    // the Data Lake SDKs send theirs to the dfs URL with .dfs. replaced by
    // .blob., which is the same URL on a port of its own.
    if (!out->route && (req.FindQuery("comp") || req.FindQuery("restype"))) {
      out->route = FindRoute(level, req);
      out->dfs = out->route == nullptr;
    }
  } else {
    out->route = dfs::FindRoute(level, req);
    out->dfs = out->route != nullptr;
    if (!out->route) out->route = FindRoute(level, req);
  }
  if (out->account_in_source && (!out->route || out->route->source != SourceKind::kRename))
    return ErrorResponse(AzError::kAccountNotFound);
  if (!out->route) {
    if (level == Level::kContainer && !req.FindQuery("restype") && !req.FindQuery("comp")) {
      // "/account/container" without restype: Azure treats it as a blob in $root.
      return ErrorResponse(AzError::kInvalidUri);
    }
    if (req.method != "GET" && req.method != "PUT" && req.method != "HEAD" &&
        req.method != "DELETE")
      return ErrorResponse(AzError::kUnsupportedHttpVerb);
    // Azure names comp, also when absent (a GET of the account root), and
    // its value as sent (recorded error bodies: comp empty at the root,
    // comp=stats where there is none); an unknown restype is named itself.
    const std::string_view* restype = req.FindQuery("restype");
    bool bad_restype = restype && *restype != "container" && *restype != "service" &&
                       *restype != "account";
    return UnknownOperationError(req, bad_restype ? "restype" : "comp");
  }
  if (const std::string* v = req.FindHeader("x-ms-version"); v && !ValidVersion(*v))
    return HeaderError(AzError::kInvalidHeaderValue, req, "x-ms-version",
                       "x-ms-version '" + *v + "' is not a valid service version.");
  if (auto e = ConfineNamedParams(req, level)) return e;
  if (level != Level::kService) {
    // Azure: a name of a bad length is out of range, not an invalid name.
    if (ns::ContainerNameLengthOutOfRange(out->container))
      return ErrorResponse(AzError::kResourceNameOutOfRange);
    Status s = ns::ValidateContainerName(out->container);
    if (!s.ok()) return ErrorResponse(AzError::kInvalidResourceName, s.message());
  }
  // A name that is not UTF-8 is no URL Azure accepts, whatever the method.
  if (!ns::IsValidUtf8(out->blob)) return ErrorResponse(AzError::kInvalidUri);
  // A blob name past 1024 characters is out of range for every method, a
  // read or delete too (Azure answers no 404 for it).
  if (level == Level::kBlob && ns::BlobNameTooLong(out->blob))
    return ErrorResponse(AzError::kOutOfRangeInput, "The blob name is longer than 1024 characters.");
  if (level == Level::kBlob) {
    Status s = ns::ValidateBlobName(out->blob);
    if (!s.ok()) {
      if (out->route->write) return ErrorResponse(AzError::kInvalidResourceName, s.message());
      if (req.method == "DELETE" || req.method == "GET" || req.method == "HEAD")
        return dfs_endpoint && out->dfs ? dfs::JsonError(dfs::DfsError::kPathNotFound)
                                        : ErrorResponse(AzError::kBlobNotFound);
      return ErrorResponse(AzError::kInvalidResourceName, s.message());
    }
  }
  // No snapshots or versions exist here: naming one names a blob that does not.
  if (level == Level::kBlob && (req.FindQuery("snapshot") || req.FindQuery("versionid")) &&
      !out->route->write && req.method != "PUT")
    return ErrorResponse(AzError::kBlobNotFound);
  // Authenticate.
  auth::RequestView view;
  view.method = req.method;
  view.raw_path = req.path;
  view.raw_query = req.query;
  view.header = [&req](std::string_view n) { return req.Header(n); };
  if (req.FindHeader("authorization")) view.headers = req.headers;  // SharedKey signs them
  view.account = acct->name;
  view.path_style = path_style;
  view.container = out->container;
  view.blob = out->blob;
  view.client_ip = req.remote_ip;
  view.https = req.https;
  auth::Account aa{acct->name, acct->key, acct->key2, acct->entra.get()};
  auth::Outcome o = auth::Authorize(
      view, aa, out->route->demand,
      [acct](const std::string& c, const std::string& id) { return LookupPolicy(acct, c, id); },
      NowNs());
  if (!o.ok) {
    http::Response r = ErrorResponse(AuthError(o.code), o.message);
    if (!o.challenge.empty()) r.Set("WWW-Authenticate", o.challenge);
    return r;
  }
  out->scheme = o.scheme;
  out->principal = o.principal;
  out->may_replace = o.may_replace;
  if (o.scheme == auth::Scheme::kAnonymous) {
    Anon anon = out->route->anon;
    if (anon == Anon::kNever || level == Level::kService) {
      if (level == Level::kService) return ErrorResponse(AzError::kNoAuthenticationInformation);
      return ErrorResponse(AzError::kResourceNotFound);
    }
    auto rec = acct->store->GetContainer(out->container);
    std::string access = rec.ok() ? rec->public_access : "";
    bool allowed = access == "container" || (access == "blob" && anon == Anon::kBlobRead);
    if (!allowed) return ErrorResponse(AzError::kResourceNotFound);
  }
  if (level != Level::kService) {
    // Views (config file): VIEW/.strata is no blob, and a read-only view
    // takes no write of any kind, answered as Azure answers a principal
    // whose role on the container only lets it read.
    const ns::Store& store = *acct->store;
    bool read = req.method == "GET" || req.method == "HEAD";
    if (level == Level::kBlob && store.IsReservedName(out->container, out->blob))
      return read ? ErrorResponse(AzError::kBlobNotFound)
                  : ErrorResponse(AzError::kInvalidResourceName, "The name is reserved in this view.");
    // Deleting a view (the config file owns it) is refused alike.
    bool drop_view = level == Level::kContainer && req.method == "DELETE" && store.IsView(out->container);
    if ((!read && store.IsReadOnly(out->container)) || drop_view)
      return ErrorResponse(AzError::kAuthorizationPermissionMismatch,
                           "This request is not authorized to perform this operation using this "
                           "permission: the container is a view (read-only, or not to be deleted).");
  }
  // The other end of a copy or rename: the same name gate, and the route's
  // source demand checked against the credential that reaches it.
  switch (out->route->source) {
    case SourceKind::kNone: break;
    case SourceKind::kCopy:
      if (auto e = ResolveCopySource(
              acct,
              [&accounts](std::string_view name) -> Account* {
                for (auto& a : accounts)
                  if (a->name == name) return a.get();
                return nullptr;
              },
              req, o.scheme, out->route->fn == CopyBlob, /*remote_ok=*/true,
              out->route->source_demand, NowNs(), &out->source, o.principal.get()))
        return e;
      break;
    case SourceKind::kRename:
      if (auto e = dfs::ResolveRenameSource(acct, req, o.scheme, out->route->source_demand,
                                            NowNs(), &out->source, out->account_in_source,
                                            o.principal.get()))
        return e;
      break;
  }
  return std::nullopt;
}

std::optional<http::Response> Api::Prepare(http::Request& req, http::BodyPlan* plan) {
  auto routed = std::make_shared<Routed>();
  if (auto err = Resolve(req, routed.get())) {
    if (routed->dfs) dfs::ToJson(req, *err);
    Stamp(&req, *err, routed.get());
    return err;
  }
  Routed& r = *routed;
  if (r.route && r.route->body == Body::kData && !r.dfs) {
    if (auto err = QuotaPrecheck(*r.account->store, r.route->name, r.container, r.blob, req)) {
      Stamp(&req, *err, &r);
      return err;
    }
  }
  req.state = routed;
  plan->kind = http::BodyPlan::kMemory;
  plan->max_size = 1 << 20;
  if (r.route) {
    plan->on_pool = r.route->work == Work::kPool;
    // A cached container may ask its remote before the handler runs (an
    // import, a write-through upload): off the I/O thread, unless it is a
    // read of a blob that is here.
    if (r.account->tier && !r.container.empty() && r.account->tier->Cached(r.container)) {
      bool local = false;
      if (!r.blob.empty() && std::string_view(r.route->name).rfind("Get", 0) == 0) {
        auto info = r.account->store->Head(r.container, r.blob);
        local = info.ok() && info->rec.tier_state != ns::BlobRecord::TierState::kOffloaded;
      }
      if (!local) plan->on_pool = true;
    }
    if (r.route->body == Body::kXml) {
      plan->max_size = 16 << 20;
    } else if (r.route->body == Body::kData) {
      plan->kind = http::BodyPlan::kFile;
      plan->spool_dir = r.account->store->TmpDir(r.container);
      std::string comp = req.Query("comp").value_or("");
      // Put Blob stores the body's MD5 as the blob's Content-MD5 and, from
      // version 2019-02-02 on, also answers with its CRC-64; a block or an
      // append block is answered with one of the two (AnswersWithCrc64). A
      // CRC-64 the client sent is checked either way.
      bool block = comp == "block" || comp == "appendblock";
      bool crc_answer = block ? AnswersWithCrc64(req) : ServiceVersionHasCrc64(req);
      plan->md5 = !block || !crc_answer;
      plan->crc64 = crc_answer || req.FindHeader("x-ms-content-crc64") != nullptr;
      plan->max_size = comp == "appendblock" ? (100ull << 20)
                       : comp == "block"     ? (4000ull << 20)
                                             : (5000ull << 20);
      // A sized Put Block body goes straight into the blob's assembly
      // file (ns::Store::ReserveBlock); the server spools any other.
      if (!r.dfs && r.route->fn == PutBlock && !req.FindHeader("transfer-encoding")) {
        const std::string* cl = req.FindHeader("content-length");
        auto n = cl ? ParseUint(*cl) : std::nullopt;
        if (n && *n <= plan->max_size)
          if (auto slot = r.account->store->ReserveBlock(r.container, r.blob, *n))
            req.body_target = std::make_shared<BlockTarget>(std::move(slot));
      }
    }
  }
  return std::nullopt;
}

namespace {

// Routes that change a blob's data, properties or metadata (or remove it):
// what a cached container sends to its remote.
bool ChangesCachedBlob(std::string_view n) {
  for (std::string_view w :
       {"PutBlob", "PutBlockList", "AppendBlock", "CopyBlob", "CopyBlobFromUrl", "PutBlobFromUrl",
        "DeleteBlob", "SetBlobProperties", "SetBlobMetadata", "DfsCreatePath", "DfsFlushData",
        "DfsDeletePath", "DfsRenamePath", "DfsUpdatePath", "DfsSetPathProperties"})
    if (n == w) return true;
  return false;
}

bool ReadsCachedBlob(std::string_view n) {
  for (std::string_view w : {"GetBlob", "GetBlobProperties", "GetBlobMetadata", "GetBlockList",
                             "DfsReadPath", "DfsGetPathProperties"})
    if (n == w) return true;
  return false;
}

// Cache mode, before the handler: the remote's names come in (a listing
// imports its prefix; a request naming a blob imports it), and a cached
// container is never deleted through strata (that would delete the
// remote's blobs). Runs on the worker pool (Prepare).
std::optional<http::Response> BeforeCached(Ctx& ctx, const Route& route,
                                           tier::CapacityTier* cache) {
  std::string_view n = route.name;
  const std::string& c = ctx.container;
  if (n == "DeleteContainer" || n == "DfsDeleteFilesystem")
    return ErrorResponse(AzError::kInvalidOperation,
                         "A cached container cannot be deleted: it fronts a remote container.");
  if (n == "ListBlobs") {
    std::string delimiter = ctx.req->Query("delimiter").value_or("");
    cache->EnsureListed(c, ctx.req->Query("prefix").value_or(""), delimiter == "/");
  } else if (n == "DfsListPaths") {
    std::string dir = ctx.req->Query("directory").value_or("");
    while (!dir.empty() && dir.back() == '/') dir.pop_back();
    bool recursive = ToLower(ctx.req->Query("recursive").value_or("")) == "true";
    cache->EnsureListed(c, dir.empty() ? "" : dir + "/", !recursive);
  } else if (!ctx.blob.empty()) {
    // A read of a stub revalidates it, so the read serves the remote's
    // current version.
    Status s = cache->EnsureImported(c, ctx.blob, n == "GetBlob" || n == "DfsReadPath");
    if (!s.ok() && ReadsCachedBlob(n)) return ErrorResponse(AzError::kServerBusy);
  }
  return std::nullopt;
}

// Cache mode, after the handler: a change goes to the remote (write_through:
// before the answer, which is 503 ServerBusy when the remote is out of
// reach; the change stays local and is uploaded later), and a read served
// from local data counts as a hit.
void AfterCached(Ctx& ctx, const Route& route, tier::CapacityTier* cache, http::Response* resp) {
  std::string_view n = route.name;
  if (resp->status >= 300) return;
  if (ChangesCachedBlob(n) && !ctx.blob.empty()) {
    Status s = cache->AfterWrite(ctx.container, ctx.blob);
    if (!s.ok()) *resp = ErrorResponse(AzError::kServerBusy);
  } else if ((n == "GetBlob" || n == "DfsReadPath") && resp->file) {
    cache->NoteCacheHit(resp->file->length);
  }
}

}  // namespace

http::Response Api::Handle(http::Request& req) {
  std::shared_ptr<Routed> routed = std::static_pointer_cast<Routed>(req.state);
  http::Response resp;
  if (!routed) {
    resp = ErrorResponse(AzError::kInternalError);
  } else {
    Routed& r = *routed;
    Ctx ctx;
    ctx.account = r.account;
    // Routed is not read again after this (Stamp needs only its account).
    ctx.container = std::move(r.container);
    ctx.blob = std::move(r.blob);
    ctx.req = &req;
    ctx.scheme = r.scheme;
    ctx.may_replace = r.may_replace;
    ctx.now = NowNs();
    ctx.base_url = std::move(r.base_url);
    ctx.source = std::move(r.source);
    ctx.principal = r.principal;
    if (req.method == "OPTIONS") {
      resp = Preflight(ctx);
    } else {
      if (const std::string* cl = req.FindHeader("content-length");
          cl && !req.FindHeader("transfer-encoding")) {
        auto n = ParseUint(*cl);
        if (n && *n != req.body_size) {
          resp = ErrorResponse(AzError::kContentLengthMismatch);
          Stamp(&req, resp);
          return resp;
        }
      }
      tier::CapacityTier* cache = ctx.account->tier;
      if (!cache || ctx.container.empty() || !cache->Cached(ctx.container)) cache = nullptr;
      std::optional<http::Response> early;
      if (cache) early = BeforeCached(ctx, *r.route, cache);
      if (early) {
        resp = std::move(*early);
      } else {
        try {
          resp = r.route->fn(ctx);
        } catch (const std::exception& e) {
          resp = ErrorResponse(AzError::kInternalError, e.what());
        }
        if (cache) AfterCached(ctx, *r.route, cache, &resp);
      }
      if (r.dfs) {
        dfs::ToJson(req, resp);
      } else if (resp.status == 404 && r.route->level == Level::kBlob) {
        // No blob there: perhaps a directory, which an HNS account shows as one.
        if (auto dir = dfs::DirectoryAsBlob(ctx, r.route->name)) resp = std::move(*dir);
      }
    }
  }
  Stamp(&req, resp);
  return resp;
}

http::Response Api::Fail(http::Failure kind, const http::Request* req, const Status& detail) {
  http::Response r;
  switch (kind) {
    case http::Failure::kHeaderTooLarge: r = ErrorResponse(AzError::kRequestHeaderTooLarge); break;
    case http::Failure::kBodyTooLarge: r = ErrorResponse(AzError::kRequestBodyTooLarge); break;
    case http::Failure::kBodyIo:
      r = ErrorResponse(detail.kind() == ErrorKind::kNoSpace ? AzError::kInternalError
                                                             : AzError::kInternalError,
                        detail.message());
      break;
    case http::Failure::kLengthMismatch: r = ErrorResponse(AzError::kContentLengthMismatch); break;
    case http::Failure::kNotImplemented:
      r = ErrorResponse(AzError::kTransferEncodingNotImplemented);
      break;
    case http::Failure::kBusy: r = ErrorResponse(AzError::kServerBusy); break;
    default: r = ErrorResponse(AzError::kInvalidInput, "The request is malformed: " + detail.message()); break;
  }
  r.close = true;
  if (req && IsDfsListener(req->listener)) dfs::ToJson(*req, r);  // the dfs port's errors
  Stamp(req, r);
  return r;
}

void Api::Stamp(const http::Request* req, http::Response& r, const Routed* routed) {
  if (!routed && req && req->state) routed = static_cast<const Routed*>(req->state.get());
  // What the access log and the metrics say of it (http::ResponseNote).
  http::ResponseNote& note = r.note;
  note.operation = req ? OperationName(routed ? routed->route : nullptr, *req) : "Unknown";
  note.auth = req ? AuthKind(*req) : nullptr;
  if (routed && routed->account) note.account = &routed->account->name;
  const std::string* version = nullptr;
  if (req) {
    version = req->FindHeader("x-ms-version");
    if (version && !ValidVersion(*version)) version = nullptr;
    if (const std::string* id = req->FindHeader("x-ms-client-request-id"))
      r.Set("x-ms-client-request-id", *id);
  }
  char id[36];
  std::string_view request_id = NewRequestId(id);
  r.Set("x-ms-request-id", request_id);
  std::copy(request_id.begin(), request_id.end(), note.request_id);
  note.request_id[request_id.size()] = '\0';
  if (r.status >= 400 && note.error_code.empty())
    if (auto code = r.Get("x-ms-error-code")) note.error_code = std::move(*code);
  r.Set("x-ms-version", version ? std::string_view(*version) : std::string_view(kDefaultVersion));
  TimeNs now = NowNs();
  HttpDateBuf date;
  r.Set("Date", HttpDate(now, &date));
  if (r.status >= 400) {
    // An error answer to HEAD is bare, as Azure's: x-ms-error-code says
    // it, and neither a body nor its Content-Type follows.
    if (req && req->method == "HEAD") {
      r.body.clear();
      r.head_length.reset();
      http::Headers lines = r.HeaderList();
      r.fields.clear();
      for (const auto& [k, v] : lines)
        if (!IEquals(k, "Content-Type")) r.Set(k, v);
    } else {
      AddRequestLines(r, request_id, now);
    }
  }
  r.Set("Server", "strata");
  // CORS headers for requests with an Origin; Vary: Origin also on GET and
  // HEAD without one (AddCorsHeaders).
  if (req && req->state &&
      (req->method == "GET" || req->method == "HEAD" || req->FindHeader("origin"))) {
    // No shared_ptr copy: this runs on every GET and HEAD.
    const Routed* state = static_cast<const Routed*>(req->state.get());
    if (state->account) AddCorsHeaders(state->account, *req, r);
  }
}

}  // namespace strata::api
