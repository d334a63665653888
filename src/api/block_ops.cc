// Block blob and append blob operations: Put Block, Put Block List, Get
// Block List, Append Block.
#include <unordered_map>

#include <pugixml.hpp>

#include "api/conditions.h"
#include "api/context.h"
#include "api/xml_bodies.h"
#include "common/crypto.h"
#include "common/strings.h"

namespace strata::api {


namespace {
constexpr size_t kMaxCommittedBlocks = 50000;
constexpr size_t kMaxBlockIdBytes = 64;
}  // namespace

std::optional<http::Response> StoreStagedBlock(Ctx& ctx, const std::string& id,
                                               BlockTarget* target, const std::string& staged) {
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto cont = ctx.store().GetContainer(ctx.container);
  if (!cont.ok()) return ErrorResponse(AzError::kContainerNotFound);
  auto existing = ctx.store().Head(ctx.container, ctx.blob);
  if (existing.ok()) {
    if (existing->rec.blob_type != "BlockBlob") return ErrorResponse(AzError::kInvalidBlobType);
    if (auto e = CheckBlobLeaseForWrite(ctx, existing->rec.lease)) return ErrorResponse(*e);
  }
  auto tally = ctx.store().UncommittedTally(ctx.container, ctx.blob);
  if (!tally.ok()) return ErrorResponse(AzError::kInternalError, tally.status().message());
  // All block ids of a blob have one length.
  size_t want_len = tally->id_len;
  if (!tally->count && existing.ok() && !existing->rec.committed_blocks.empty())
    want_len = existing->rec.committed_blocks.front().id.size();
  if (want_len && want_len != id.size())
    return ErrorResponse(AzError::kInvalidBlobOrBlock,
                         "All block ids of a blob must have the same length.");
  // The store checks the block count (ns::Store::kMaxUncommittedBlocks) and
  // the container's byte limit, from the blob's tally: never a listing.
  Status s = target ? ctx.store().StoreBlockSlot(ctx.container, ctx.blob, id, target->slot())
                    : ctx.store().StoreBlock(ctx.container, ctx.blob, id, staged);
  if (s.kind() == ErrorKind::kLimitReached)
    return ErrorResponse(AzError::kUncommittedBlockCountExceedsLimit);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  return std::nullopt;
}

http::Response PutBlock(Ctx& ctx) {
  auto id_b64 = ctx.Q("blockid");
  if (!id_b64) return QueryError(AzError::kMissingRequiredQueryParameter, *ctx.req, "blockid");
  auto id = Base64Decode(*id_b64);
  if (!id || id->empty() || id->size() > kMaxBlockIdBytes)
    return ErrorResponse(AzError::kInvalidQueryParameterValue,
                         "blockid must be Base64 of at most 64 bytes.");
  if (auto e = CheckContentMd5(ctx)) return ErrorResponse(*e);
  if (auto e = CheckContentCrc64(ctx)) return ErrorResponse(*e);
  // The body is in the blob's assembly file (see Api::Prepare), or spooled.
  auto* target = static_cast<BlockTarget*>(ctx.req->body_target.get());
  Result<std::string> staged = std::string();
  if (!target) staged = StagedBody(ctx);
  if (!staged.ok()) return ErrorResponse(FromStatus(staged.status(), true), PublicDetail(staged.status()));
  if (auto e = StoreStagedBlock(ctx, *id, target, *staged)) return *e;
  ctx.req->body_file.clear();
  http::Response r;
  r.status = 201;
  SetBodyDigest(ctx, r);
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

http::Response PutBlockList(Ctx& ctx) {
  if (auto h = ctx.H("content-md5")) {
    auto raw = Base64Decode(*h);
    if (!raw || raw->size() != 16) return ErrorResponse(AzError::kInvalidMd5);
    if (*raw != Md5(ctx.req->body)) return ErrorResponse(AzError::kMd5Mismatch);
  }
  using Want = BlockListEntry;
  std::vector<Want> wants;
  if (auto e = ParseBlockList(ctx.req->body, &wants)) return ErrorResponse(e->error, e->detail);
  if (wants.size() > kMaxCommittedBlocks) return ErrorResponse(AzError::kBlockCountExceedsLimit);
  ns::BlobRecord rec;
  rec.blob_type = "BlockBlob";
  ApplyContentHeaders(ctx, &rec, true);
  if (rec.content_type.empty()) rec.content_type = "application/octet-stream";
  AzError err;
  if (!ParseMetadata(*ctx.req, &rec.metadata, &err)) return ErrorResponse(err);
  if (auto md5 = ctx.H("x-ms-blob-content-md5")) {
    auto raw = Base64Decode(*md5);
    if (!raw || raw->size() != 16) return ErrorResponse(AzError::kInvalidMd5);
    rec.content_md5 = *raw;
  }
  if (auto tier = ctx.H("x-ms-access-tier")) {
    auto t = ParseAccessTier(*tier);
    if (!t) return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-access-tier");
    rec.tier = *t;
    rec.tier_change_time = ctx.now;
  }

  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto cont = ctx.store().GetContainer(ctx.container);
  if (!cont.ok()) return ErrorResponse(AzError::kContainerNotFound);
  auto old = ctx.store().Open(ctx.container, ctx.blob);
  bool exists = old.ok();
  if (exists && !ctx.may_replace) return ReplaceRefused();
  if (exists) {
    if (auto e = CheckBlobLeaseForWrite(ctx, old->info->rec.lease)) return ErrorResponse(*e);
    rec.lease = old->info->rec.lease;
    rec.created = old->info->rec.created;
    if (!ctx.H("x-ms-access-tier")) KeepTier(old->info->rec, ctx.now, &rec);
  } else if (ctx.H("x-ms-lease-id")) {
    return ErrorResponse(AzError::kLeaseNotPresentWithBlobOperation);
  }
  if (auto e = CheckWriteConditions(ctx, exists, exists ? old->info->rec : ns::BlobRecord{}, true))
    return *e;
  // An archived blob cannot be overwritten until it is rehydrated.
  if (exists && old->info->rec.Archived(ctx.now)) return ArchivedResponse(old->info->rec, ctx.now);
  auto uncommitted = ctx.store().UncommittedBlocks(ctx.container, ctx.blob);
  if (!uncommitted.ok()) return ErrorResponse(AzError::kInternalError);
  // Offsets of committed blocks within the current blob.
  std::vector<std::pair<const ns::BlockInfo*, uint64_t>> committed;
  if (exists) {
    uint64_t off = 0;
    for (const auto& b : old->info->rec.committed_blocks) {
      committed.push_back({&b, off});
      off += b.size;
    }
  }
  // Lookups by id in constant time: a list of 50,000 ids against 100,000
  // uncommitted blocks must not cost their product.
  std::unordered_map<std::string_view, const ns::BlockInfo*> uncommitted_by_id;
  uncommitted_by_id.reserve(uncommitted->size());
  for (const auto& b : *uncommitted) uncommitted_by_id.emplace(b.id, &b);
  std::unordered_map<std::string_view, const std::pair<const ns::BlockInfo*, uint64_t>*>
      committed_by_id;
  committed_by_id.reserve(committed.size());
  for (const auto& c : committed) committed_by_id.emplace(c.first->id, &c);  // the first of an id
  auto find_uncommitted = [&](const std::string& id) -> const ns::BlockInfo* {
    auto it = uncommitted_by_id.find(id);
    return it == uncommitted_by_id.end() ? nullptr : it->second;
  };
  auto find_committed =
      [&](const std::string& id) -> const std::pair<const ns::BlockInfo*, uint64_t>* {
    auto it = committed_by_id.find(id);
    return it == committed_by_id.end() ? nullptr : it->second;
  };
  // Blocks uploaded in list order into the assembly file: that file is the
  // blob, committed without a copy.
  std::vector<ns::BlockInfo> listed;
  for (const Want& w : wants) {
    const ns::BlockInfo* u = w.kind != Want::kCommitted ? find_uncommitted(w.id) : nullptr;
    if (!u) break;
    listed.push_back(*u);
  }
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  if (!rec.created) rec.created = ctx.now;
  auto created = [&] {
    if (ctx.account->tier && !rec.tier.empty() && rec.tier != "Hot")  // committed straight to a cool tier
      ctx.account->tier->Schedule(tier::CapacityTier::JobKind::kOffload, ctx.container, ctx.blob,
                                  rec.tier, rec.etag);
    http::Response r;
    r.status = 201;
    SetEtagHeaders(r, rec.etag, rec.last_modified);
    r.Set("x-ms-request-server-encrypted", "true");
    return r;
  };
  if (listed.size() == wants.size() && !listed.empty()) {
    rec.committed_blocks = listed;
    if (auto s = ctx.store().CommitAssembled(ctx.container, ctx.blob, listed, rec,
                                             ctx.may_replace)) {
      if (!ctx.may_replace && s->kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
      if (!s->ok()) return ErrorResponse(FromStatus(*s, true), PublicDetail(*s));
      return created();
    }
    rec.committed_blocks.clear();
  }
  std::string tmp = ctx.store().NewTempPath(ctx.container);
  auto out = ctx.store().fs()->OpenWrite(tmp, true, true);
  if (!out.ok()) return ErrorResponse(AzError::kInternalError, out.status().message());
  ctx.req->body_file = tmp;  // removed by the server unless committed
  uint64_t pos = 0;
  for (const Want& w : wants) {
    const ns::BlockInfo* u = w.kind != Want::kCommitted ? find_uncommitted(w.id) : nullptr;
    const std::pair<const ns::BlockInfo*, uint64_t>* c =
        (!u && w.kind != Want::kUncommitted) ? find_committed(w.id) : nullptr;
    Status s;
    if (u) {
      auto src = ctx.store().OpenBlock(ctx.container, ctx.blob, u->id);
      if (!src.ok()) {
        if (src.status().kind() == ErrorKind::kNotFound) return ErrorResponse(AzError::kInvalidBlockList);
        return ErrorResponse(FromStatus(src.status(), true), PublicDetail(src.status()));
      }
      s = (*out)->CopyFrom(*src->first, src->second, pos, u->size);
      rec.committed_blocks.push_back({u->id, u->size});
      pos += u->size;
    } else if (c) {
      if (auto e = NeedLocalData(ctx, ctx.container, ctx.blob, old->info->rec)) return ErrorResponse(*e);
      s = (*out)->CopyFrom(*old->file, c->second, pos, c->first->size);
      rec.committed_blocks.push_back(*c->first);
      pos += c->first->size;
    } else {
      return ErrorResponse(AzError::kInvalidBlockList);
    }
    if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  }
  out->reset();
  Status s = ctx.store().Commit(ctx.container, ctx.blob, tmp, rec, true, ctx.may_replace);
  if (!ctx.may_replace && s.kind() == ErrorKind::kAlreadyExists) return ReplaceRefused();
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  ctx.req->body_file.clear();
  return created();
}

http::Response GetBlockList(Ctx& ctx) {
  std::string type = ctx.Q("blocklisttype").value_or("committed");
  if (type != "committed" && type != "uncommitted" && type != "all")
    return QueryError(AzError::kInvalidQueryParameterValue, *ctx.req, "blocklisttype");
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok() && info.status().kind() == ErrorKind::kContainerNotFound)
    return ErrorResponse(AzError::kContainerNotFound);
  auto uncommitted = ctx.store().UncommittedBlocks(ctx.container, ctx.blob);
  if (!uncommitted.ok()) return ErrorResponse(AzError::kInternalError);
  if (!info.ok() && uncommitted->empty()) return ErrorResponse(AzError::kBlobNotFound);
  if (info.ok() && info->rec.blob_type != "BlockBlob") return ErrorResponse(AzError::kInvalidBlobType);
  if (info.ok()) {
    if (auto id = ctx.H("x-ms-lease-id")) {
      if (!info->rec.lease.Held(ctx.now)) return ErrorResponse(AzError::kLeaseNotPresentWithBlobOperation);
      if (!info->rec.lease.Is(*id)) return ErrorResponse(AzError::kLeaseIdMismatchWithBlobOperation);
    }
  }
  auto list = [](std::string& x, const std::vector<ns::BlockInfo>& blocks) {
    for (const auto& b : blocks)
      x += "<Block><Name>" + Base64Encode(b.id) + "</Name><Size>" + std::to_string(b.size) + "</Size></Block>";
  };
  std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  if (type != "uncommitted") {
    x += "<CommittedBlocks>";
    if (info.ok()) list(x, info->rec.committed_blocks);
    x += "</CommittedBlocks>";
  }
  if (type != "committed") {
    x += "<UncommittedBlocks>";
    list(x, *uncommitted);
    x += "</UncommittedBlocks>";
  }
  x += "</BlockList>";
  http::Response r;
  if (info.ok()) {
    SetEtagHeaders(r, info->rec.etag, info->rec.last_modified);
    r.Set("x-ms-blob-content-length", std::to_string(info->st.size));
  }
  r.Set("Content-Type", "application/xml");
  r.body = std::move(x);
  return r;
}

http::Response AppendBlock(Ctx& ctx) {
  if (ctx.req->body_size == 0)
    return ErrorResponse(AzError::kInvalidHeaderValue, "Content-Length must be greater than 0.");
  if (auto e = CheckContentMd5(ctx)) return ErrorResponse(*e);
  if (auto e = CheckContentCrc64(ctx)) return ErrorResponse(*e);
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (info->rec.blob_type != "AppendBlob") return ErrorResponse(AzError::kInvalidBlobType);
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  if (auto e = CheckWriteConditions(ctx, true, info->rec)) return *e;
  if (info->rec.sealed) return ErrorResponse(AzError::kBlobIsSealed);
  uint64_t size = info->st.size;
  if (auto pos = ctx.H("x-ms-blob-condition-appendpos")) {
    auto v = ParseUint(*pos);
    if (!v) return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-blob-condition-appendpos");
    if (*v != size) return ErrorResponse(AzError::kAppendPositionConditionNotMet);
  }
  if (auto max = ctx.H("x-ms-blob-condition-maxsize")) {
    auto v = ParseUint(*max);
    if (!v) return HeaderError(AzError::kInvalidHeaderValue, *ctx.req, "x-ms-blob-condition-maxsize");
    if (size + ctx.req->body_size > *v) return ErrorResponse(AzError::kMaxBlobSizeConditionNotMet);
  }
  if (info->rec.append_block_count >= kMaxCommittedBlocks)
    return ErrorResponse(AzError::kBlockCountExceedsLimit);
  auto src = ctx.store().fs()->OpenRead(ctx.req->body_file);
  if (!src.ok()) return ErrorResponse(AzError::kInternalError);
  ns::BlobRecord rec = info->rec;
  rec.append_block_count++;
  rec.etag = ns::NewEtag();
  rec.last_modified = ctx.now;
  rec.content_md5.clear();
  Status s = ctx.store().AppendFrom(ctx.container, ctx.blob, **src, ctx.req->body_size, rec);
  if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  http::Response r;
  r.status = 201;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  SetBodyDigest(ctx, r);
  r.Set("x-ms-blob-append-offset", std::to_string(size));
  r.Set("x-ms-blob-committed-block-count", std::to_string(rec.append_block_count));
  r.Set("x-ms-request-server-encrypted", "true");
  return r;
}

// Append Blob Seal: marks an append blob read-only to appends, for good
// (until it is replaced or deleted). Azure's recorded responses show a new
// ETag and Last-Modified, and x-ms-blob-sealed: true; sealing a sealed blob
// succeeds again without changing it.
http::Response AppendBlobSeal(Ctx& ctx) {
  auto lock = ctx.store().LockBlob(ctx.container, ctx.blob);
  auto info = ctx.store().Head(ctx.container, ctx.blob);
  if (!info.ok()) return NotFound(info.status());
  if (info->rec.blob_type != "AppendBlob") return ErrorResponse(AzError::kInvalidBlobType);
  if (auto e = CheckBlobLeaseForWrite(ctx, info->rec.lease)) return ErrorResponse(*e);
  if (auto e = CheckWriteConditions(ctx, true, info->rec)) return *e;
  if (auto pos = ctx.H("x-ms-blob-condition-appendpos")) {
    auto v = ParseUint(*pos);
    if (!v) return ErrorResponse(AzError::kInvalidHeaderValue, "x-ms-blob-condition-appendpos");
    if (*v != info->st.size) return ErrorResponse(AzError::kAppendPositionConditionNotMet);
  }
  ns::BlobRecord rec = info->rec;
  if (!rec.sealed) {
    rec.sealed = true;
    rec.etag = ns::NewEtag();
    rec.last_modified = ctx.now;
    Status s = ctx.store().UpdateRecord(ctx.container, ctx.blob, rec);
    if (!s.ok()) return ErrorResponse(FromStatus(s, true), PublicDetail(s));
  }
  http::Response r;
  SetEtagHeaders(r, rec.etag, rec.last_modified);
  r.Set("x-ms-blob-sealed", "true");
  return r;
}

}  // namespace strata::api
