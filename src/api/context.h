// What every handler gets: the routed account, container and blob, the
// request, and helpers shared by the handlers. Handlers are functions
// Response(Ctx&) that never touch the socket.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/errors.h"
#include "auth/auth.h"
#include "http/message.h"
#include "ns/store.h"
#include "tier/capacity_tier.h"
#include "tier/url_fetch.h"

namespace strata::api {

class CopyJobs;  // copy_jobs.h

struct Account {
  std::string name;
  std::string key;   // raw bytes (key1)
  std::string key2;  // raw bytes of the second key; "" when none
  // Shared by the versions of one account (a reload that rotates its keys
  // builds a new Account over the same store).
  std::shared_ptr<ns::Store> store;
  tier::CapacityTier* tier = nullptr;  // the capacity tier, when one is configured
  // Runs large Copy Blob copies in the background; null: every copy
  // completes before its response.
  CopyJobs* copies = nullptr;
  // How long a rehydration from Archive takes when the data is local
  // (Standard priority; High takes a tenth). Not 0: clients see it pending.
  TimeNs rehydrate_delay = 10LL * 1000000000LL;
  // Fetches copy sources on other hosts (From-URL copies), within the
  // operator's allowances; null: sources must be on this server.
  const tier::UrlFetcher* fetcher = nullptr;
  // Microsoft Entra ID for this account (bearer tokens, RBAC, user
  // delegation keys); null: none accepted.
  std::shared_ptr<const auth::EntraAccess> entra;
};

// The source of a copy or rename (x-ms-copy-source, x-ms-rename-source),
// parsed, validated and authorized by the front door (api/sources.h).
struct SourceRef {
  // The account holding the source: this server's, possibly not the
  // destination's; null for a rename source (the request's own account) and
  // for a remote source.
  Account* account = nullptr;
  bool remote = false;          // on another host: `url` is fetched (tier::UrlFetcher)
  std::string container, blob;  // decoded, valid names in `account`
  std::string query;            // the source's own query (a SAS), raw
  std::string url;              // the header's value, as sent
};

struct Ctx {
  Account* account = nullptr;
  std::string container;  // decoded; "" for service requests
  std::string blob;       // decoded; "" for container requests
  http::Request* req = nullptr;
  auth::Scheme scheme = auth::Scheme::kAnonymous;
  // Whether the credential may replace an existing blob (auth::Outcome::
  // may_replace): false for a SAS holding c but not w, which may only create.
  bool may_replace = true;
  TimeNs now = 0;
  std::string base_url;  // "http://host:port/account" as the client addressed us
  SourceRef source;      // set for routes with a source (Route::source)
  // scheme kBearer: the token's principal.
  std::shared_ptr<const auth::Principal> principal;
  ns::Store& store() { return *account->store; }
  std::optional<std::string> H(std::string_view name) const { return req->Header(name); }
  std::optional<std::string> Q(std::string_view name) const { return req->Query(name); }
};

using HandlerFn = http::Response (*)(Ctx&);

// ---- helpers shared by handlers (handlers.cc) ----

// x-ms-lease-state, -status and -duration of a blob or container.
void LeaseHeaders(http::Response& r, const ns::Lease& lease, TimeNs now);
// 404 ContainerNotFound or BlobNotFound, by what a lookup reported.
http::Response NotFound(const Status& s);
// Sets a record's content headers from x-ms-blob-content-*; `reset` clears
// the ones the request does not name.
void ApplyContentHeaders(const Ctx& ctx, ns::BlobRecord* rec, bool reset);
// The request's staged body file, or a new empty one when it had no body
// (the server removes it unless a handler commits it).
Result<std::string> StagedBody(Ctx& ctx);
// A Put Block body's place in the blob's assembly file (ns::BlockSlot), as
// the server's body target.
class BlockTarget : public http::BodyTarget {
 public:
  explicit BlockTarget(std::unique_ptr<ns::BlockSlot> slot) : slot_(std::move(slot)) {}
  int fd() const override { return slot_->fd(); }
  uint64_t offset() const override { return slot_->offset(); }
  uint64_t size() const override { return slot_->size(); }
  ns::BlockSlot& slot() { return *slot_; }

 private:
  std::unique_ptr<ns::BlockSlot> slot_;
};
// Stores block `id` (raw) of the request's blob from its assembly slot
// (`target`) or from the staged file `staged`, under the blob's lock: the
// container exists, an existing blob is a block blob whose lease the
// request holds, all block ids have one length, and the store's block count
// and byte limits hold. nullopt on success (the staged file is taken).
std::optional<http::Response> StoreStagedBlock(Ctx& ctx, const std::string& id,
                                               BlockTarget* target, const std::string& staged);
// ETag in quotes, as sent on the wire.
std::string QuoteEtag(const std::string& etag);
// Adds ETag and Last-Modified.
void SetEtagHeaders(http::Response& r, const std::string& etag, TimeNs last_modified);
// x-ms-meta-* headers of the request, in order; false with `err` set when a
// name is invalid or names and values together pass 8 KiB.
bool ParseMetadata(const http::Request& req, ns::Metadata* out, AzError* err);
void SetMetadataHeaders(http::Response& r, const ns::Metadata& m);
// 403 AuthorizationPermissionMismatch for a write that would replace an
// existing blob when the credential may only create (Ctx::may_replace).
http::Response ReplaceRefused();
// Checks a write against the blob's lease (x-ms-lease-id). nullopt when allowed.
std::optional<AzError> CheckBlobLeaseForWrite(const Ctx& ctx, const ns::Lease& lease);
// Checks the four conditional headers for a write to a blob that may not
// exist; nullopt when allowed. `creates`: the write creates or replaces the
// blob (Put Blob, Put Block List, copies), where If-None-Match: * on an
// existing blob is 409 BlobAlreadyExists rather than 412 ConditionNotMet.
std::optional<http::Response> CheckWriteConditions(const Ctx& ctx, bool exists,
                                                   const ns::BlobRecord& rec,
                                                   bool creates = false);
// Validates Content-MD5 against the body's computed MD5.
std::optional<AzError> CheckContentMd5(const Ctx& ctx);
// The request body's CRC-64 as the 8 bytes x-ms-content-crc64 carries.
std::string BodyCrc64(const Ctx& ctx);
// x-ms-content-crc64 of the request: 8 Base64 bytes, not beside a
// Content-MD5, and equal to the body's CRC-64.
std::optional<AzError> CheckContentCrc64(const Ctx& ctx);
// Whether the request's service version (x-ms-version, else a SAS's sv) is
// 2019-02-02 or later, from which Azure reports x-ms-content-crc64.
bool ServiceVersionHasCrc64(const http::Request& req);
// Whether the request's service version (as above) is `version` or later.
bool ServiceVersionAtLeast(const http::Request& req, std::string_view version);
// Whether a Put Block or Append Block is answered with the CRC-64 of its
// body (x-ms-content-crc64) instead of its MD5: Azure does so from service
// version 2019-02-02 on, for a request that carries no Content-MD5.
bool AnswersWithCrc64(const http::Request& req);
// Sets the digest header such a response carries.
void SetBodyDigest(const Ctx& ctx, http::Response& r);

// Applies the request's lease action (x-ms-lease-action and friends) to
// `lease`, the one state machine of Lease Blob, Lease Container and the dfs
// Path Lease. Returns an error response, or fills `ok` with the success
// status and lease headers.
std::optional<http::Response> ApplyLeaseAction(const Ctx& ctx, ns::Lease& lease,
                                               http::Response* ok);

// CORS: adds Access-Control-* headers when the request's Origin matches a
// rule of the account's service properties (by name, by a subdomain
// wildcard such as "https://*.contoso.com", or by "*"), and Vary: Origin on
// GET and HEAD responses as Azure sends it (service_ops.cc).
void AddCorsHeaders(Account* account, const http::Request& req, http::Response& r);

// ---- capacity tier (tier_ops.cc) ----
// x-ms-access-tier, -inferred, -change-time, x-ms-archive-status (and, with
// `with_priority`, x-ms-rehydrate-priority) at `now`, and x-strata-tier-state.
void TierHeaders(http::Response& r, const ns::BlobRecord& rec, TimeNs now, bool with_priority);
// The canonical name of an access tier given in any case (Hot, Cool, Cold,
// Archive), as Azure accepts it; nullopt for anything else.
std::optional<std::string> ParseAccessTier(std::string_view value);
// A block blob written over `old` (Put Blob, Put Block List) without
// x-ms-access-tier keeps the tier set on `old`, as Azure does (the service
// preserves an overwritten blob's tier: microsoft/AzureStorageExplorer
// #7726, #187); an inferred tier stays inferred. The tier is set anew at
// `now`. `rec` is the new record, REQUIRES: without a tier of its own.
void KeepTier(const ns::BlobRecord& old, TimeNs now, ns::BlobRecord* rec);
// 409 BlobArchived, with x-ms-archive-status while a rehydration is pending:
// the answer to reading or changing an archived blob's data or properties.
http::Response ArchivedResponse(const ns::BlobRecord& rec, TimeNs now);
// The body of a Get Blob of an offloaded or archived blob: 409 BlobArchived,
// 503 ServerBusy without a reachable tier, else a PipeBody streaming
// [offset, offset+length) from the remote. `r` has the headers already.
http::Response RemoteBody(Ctx& ctx, const ns::BlobInfo& info, http::Response r,
                          uint64_t offset, uint64_t length);
// For operations that read a blob's data from its local file (copies, Put
// Block List reusing committed blocks, dfs appends): nullopt when the data
// is local; for an offloaded blob, queues a recall that keeps the remote
// copy (the blob becomes premigrated) and returns kServerBusy, so the
// client's retry finds the data local; kBlobArchived for archived blobs.
std::optional<AzError> NeedLocalData(Ctx& ctx, const std::string& c, const std::string& b,
                                     const ns::BlobRecord& rec);
// Records the read time of a blob in its record, at most once a day (for
// lifecycle rules on last access); only with a capacity tier.
void NoteAccess(Ctx& ctx, const ns::BlobInfo& info);

// ---- the handlers ----
http::Response ListContainers(Ctx&);
http::Response GetAccountInfo(Ctx&);
http::Response GetServiceProperties(Ctx&);
http::Response GetUserDelegationKey(Ctx&);
http::Response SetServiceProperties(Ctx&);
http::Response Preflight(Ctx&);

http::Response CreateContainer(Ctx&);
http::Response GetContainerProperties(Ctx&);
http::Response SetContainerMetadata(Ctx&);
http::Response DeleteContainer(Ctx&);
http::Response GetContainerAcl(Ctx&);
http::Response SetContainerAcl(Ctx&);
http::Response ListBlobs(Ctx&);
http::Response LeaseContainer(Ctx&);

http::Response PutBlob(Ctx&);
http::Response GetBlob(Ctx&);
http::Response GetBlobProperties(Ctx&);
http::Response SetBlobProperties(Ctx&);
http::Response GetBlobMetadata(Ctx&);
http::Response SetBlobMetadata(Ctx&);
http::Response DeleteBlob(Ctx&);
http::Response LeaseBlob(Ctx&);
http::Response SetBlobTier(Ctx&);
http::Response CopyBlob(Ctx&);
http::Response CopyBlobFromUrl(Ctx&);
http::Response PutBlobFromUrl(Ctx&);
http::Response PutBlockFromUrl(Ctx&);
http::Response AbortCopyBlob(Ctx&);

http::Response PutBlock(Ctx&);
http::Response PutBlockList(Ctx&);
http::Response GetBlockList(Ctx&);
http::Response AppendBlock(Ctx&);
http::Response AppendBlobSeal(Ctx&);

}  // namespace strata::api
