// The List Blobs response of the capacity tier's remote (Azure's
// EnumerationResults XML) as a RemoteListing. Pure and thread-safe; what the
// remote sends is untrusted input (fuzz/remote_list_fuzz.cc).
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"
#include "tier/remote.h"

namespace strata::tier {

// The largest List Blobs body accepted (a page of 5000 blobs with metadata
// is a few MiB): larger fails with kIo before parsing.
inline constexpr size_t kMaxListBody = 64u << 20;

// Parses one page. Blob and BlobPrefix names with Encoded="true" are
// percent-decoded (Azure encodes names holding characters XML cannot
// carry). Per blob: Content-Length, Etag (quotes removed), Last-Modified
// (RFC 1123), Content-MD5 (base64; kept only when it is 16 bytes),
// Content-Type/-Encoding/-Language/-Disposition, Cache-Control, BlobType,
// AccessTier, ArchiveStatus and Metadata (elements named
// x-ms-invalid-name, Azure's stand-in for keys XML cannot carry, are
// skipped). kIo on a body that is not EnumerationResults XML, a missing or
// empty name, a bad escape in an encoded name, an unparseable
// Content-Length or Last-Modified, or a body over kMaxListBody.
Result<RemoteListing> ParseListBlobs(std::string_view xml);

}  // namespace strata::tier
