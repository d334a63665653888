// The route table: (level, method, restype, comp, copy mode) -> handler and
// its checks. Adding an operation is one row here and one handler.
#pragma once

#include <span>
#include <string>

#include "api/context.h"
#include "auth/auth.h"

namespace strata::api {

enum class Level { kService, kContainer, kBlob };
// Who may call it without credentials, by the container's public access.
enum class Anon { kNever, kBlobRead, kContainerRead };
enum class Body { kNone, kXml, kData };
// How PUT on a blob is told apart: by x-ms-copy-source and friends.
enum class CopyMode { kAny, kNone, kAsync, kSync, kFromUrl };
// A second resource the request names, authorized like the first:
// x-ms-copy-source (a URL) or x-ms-rename-source ("/filesystem/path").
enum class SourceKind { kNone, kCopy, kRename };
// Where the handler runs: on the connection's I/O thread (cheap, bounded
// work: the default), or on the server's worker pool (work that grows with
// the data: copies, recursive changes, listings), so that no request holds
// an I/O thread for long.
enum class Work { kInline, kPool };

struct Route {
  const char* name;
  Level level;
  const char* method;
  const char* restype;  // required value, or nullptr for absent
  const char* comp;     // required value, or nullptr for absent
  CopyMode copy;
  HandlerFn fn;
  auth::Demand demand;
  Anon anon;
  Body body;
  bool write;  // changes state: names that cannot be stored are refused
  Work work = Work::kInline;
  // The source end of a copy or rename, and what it demands of the caller's
  // credential (or of the SAS the source carries). See api/sources.h.
  SourceKind source = SourceKind::kNone;
  auth::Demand source_demand = {};
};

// Every row of the Blob API's table, for walks over it (tests, docs).
std::span<const Route> AllRoutes();

// The row for a request, or nullptr when none matches.
const Route* FindRoute(Level level, const http::Request& req);

// The name Azure Storage analytics logs give the request routed to `route`
// (GetBlob, PutBlob, AcquireBlobLease, CreatePathFile, ...; a Blob or dfs
// row), "BlobPreflightRequest" for an unrouted OPTIONS, "Unknown" for any
// other unrouted request. A static string from a fixed set.
const char* OperationName(const Route* route, const http::Request& req);

}  // namespace strata::api
