// The operation names of Azure Storage analytics logs (and Azure Monitor's
// OperationName) for the rows of the Blob and dfs route tables: what the
// access log and the metrics call a request. A fixed set, so metrics can
// use it as a label.
#include <string_view>
#include <unordered_map>

#include "api/routes.h"

namespace strata::api {

namespace {

// x-ms-lease-action, capitalized, or "" when absent or unknown.
const char* LeaseVerb(const http::Request& req) {
  const std::string* a = req.FindHeader("x-ms-lease-action");
  if (!a) return "";
  if (*a == "acquire") return "Acquire";
  if (*a == "renew") return "Renew";
  if (*a == "change") return "Change";
  if (*a == "release") return "Release";
  if (*a == "break") return "Break";
  return "";
}

const char* Lease(const http::Request& req, bool container) {
  std::string_view v = LeaseVerb(req);
  if (v == "Acquire") return container ? "AcquireContainerLease" : "AcquireBlobLease";
  if (v == "Renew") return container ? "RenewContainerLease" : "RenewBlobLease";
  if (v == "Change") return container ? "ChangeContainerLease" : "ChangeBlobLease";
  if (v == "Release") return container ? "ReleaseContainerLease" : "ReleaseBlobLease";
  if (v == "Break") return container ? "BreakContainerLease" : "BreakBlobLease";
  return container ? "LeaseContainer" : "LeaseBlob";
}

}  // namespace

const char* OperationName(const Route* route, const http::Request& req) {
  if (!route) return req.method == "OPTIONS" ? "BlobPreflightRequest" : "Unknown";
  // Route names that differ from the analytics name; the rest are the same.
  static const std::unordered_map<std::string_view, const char*> kRenamed = {
      {"GetServiceProperties", "GetBlobServiceProperties"},
      {"SetServiceProperties", "SetBlobServiceProperties"},
      {"GetAccountInfo", "GetAccountInformation"},
      {"GetContainerAcl", "GetContainerACL"},
      {"SetContainerAcl", "SetContainerACL"},
      {"CopyBlobFromUrl", "CopyBlobFromURL"},
      {"PutBlobFromUrl", "PutBlobFromURL"},
      {"PutBlockFromUrl", "PutBlockFromURL"},
      {"AppendBlobSeal", "SealBlob"},
      {"DfsListFilesystems", "ListFilesystems"},
      {"DfsCreateFilesystem", "CreateFilesystem"},
      {"DfsGetFilesystemProperties", "GetFilesystemProperties"},
      {"DfsSetFilesystemProperties", "SetFilesystemProperties"},
      {"DfsDeleteFilesystem", "DeleteFilesystem"},
      {"DfsListPaths", "ListFilesystemDir"},
      {"DfsRenamePath", "RenamePath"},
      {"DfsAppendData", "AppendFile"},
      {"DfsFlushData", "FlushFile"},
      {"DfsSetPathProperties", "SetFileProperties"},
      {"DfsSetAccessControl", "SetPathAccessControl"},
      {"DfsSetOwner", "SetPathAccessControl"},
      {"DfsSetAccessControlAndOwner", "SetPathAccessControl"},
      {"DfsSetAccessControlRecursive", "SetPathAccessControlRecursive"},
      {"DfsUpdatePath", "UpdatePath"},
      {"DfsGetPathProperties", "GetPathProperties"},
      {"DfsGetStatus", "GetPathStatus"},
      {"DfsGetAccessControl", "GetPathAccessControl"},
      {"DfsReadPath", "ReadFile"},
      {"DfsLeasePath", "LeaseFile"},
  };
  std::string_view name = route->name;
  if (name == "LeaseContainer") return Lease(req, true);
  if (name == "LeaseBlob") return Lease(req, false);
  if (name == "DfsCreatePath") {
    const std::string_view* r = req.FindQuery("resource");
    return r && *r == "directory" ? "CreatePathDir" : "CreatePathFile";
  }
  if (name == "DfsDeletePath")
    return req.FindQuery("recursive") ? "DeleteDirectory" : "DeleteFile";
  auto it = kRenamed.find(name);
  return it == kRenamed.end() ? route->name : it->second;
}

}  // namespace strata::api
