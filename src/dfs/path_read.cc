// Path - Read: GET on a path with no Blob operation named, as the dfs
// endpoint (its own port, or a host ACCOUNT.dfs.DOMAIN) answers it. The
// body, ranges (Range or x-ms-range), conditions, leases and the capacity
// tier are Get Blob's; the answer adds x-ms-resource-type, and a missing
// path or filesystem is the dfs 404.
#include "dfs/dfs.h"
#include "dfs/errors.h"

namespace strata::dfs {

http::Response ReadPath(api::Ctx& ctx) {
  http::Response r = api::GetBlob(ctx);
  if (r.status == 404) {
    // A directory reads as the HNS blob view shows it (no bytes).
    if (auto dir = DirectoryAsBlob(ctx, "GetBlob")) return std::move(*dir);
    std::optional<std::string> code = r.Get("x-ms-error-code");
    if (code == "BlobNotFound") return JsonError(DfsError::kPathNotFound);
    if (code == "ContainerNotFound") return JsonError(DfsError::kFilesystemNotFound);
    return r;
  }
  // Get Blob names the kind itself from version 2020-10-02; Path - Read
  // always does.
  if ((r.status == 200 || r.status == 206) && !r.Get("x-ms-resource-type"))
    r.Set("x-ms-resource-type", "file");
  return r;
}

}  // namespace strata::dfs
