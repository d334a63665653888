// The metadata records of blobs and containers, and their packed form.
//
// A BlobRecord is stored in one xattr of the blob file (or a sidecar, see
// MetadataStore). It carries a fingerprint (size, inode, mtime) of the file
// it describes: when the file was changed behind strata's back (POSIX
// writes), the fingerprint no longer matches and properties are derived
// from the file instead, so the ETag changes (invariant 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace strata::ns {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// A lease on a blob or container. Times are absolute; 0 means none.
struct Lease {
  std::string id;
  int duration = 0;          // seconds, -1 infinite; meaningful while leased
  TimeNs expiry = 0;         // end of a finite lease
  TimeNs break_time = 0;     // when a breaking lease becomes broken
  bool active = false;       // acquired and not released
  bool breaking = false;     // break requested

  // Azure's lease state and status at `now`:
  // state: available | leased | expired | breaking | broken
  std::string State(TimeNs now) const;
  bool Held(TimeNs now) const;  // leased or breaking (a lease id is required to write)
  // Whether `given` names this lease: the same GUID in any form Azure
  // accepts (hyphens or not, any case), else the same string.
  bool Is(std::string_view given) const;
};

struct BlockInfo {
  std::string id;  // raw (decoded) block id bytes
  uint64_t size = 0;
};

struct BlobRecord {
  std::string blob_type = "BlockBlob";  // BlockBlob | AppendBlob
  std::string content_type;
  std::string content_encoding;
  std::string content_language;
  std::string content_disposition;
  std::string cache_control;
  std::string content_md5;  // raw 16 bytes or empty
  Metadata metadata;
  std::string etag;  // without quotes, e.g. 0x8DB...
  TimeNs last_modified = 0;
  TimeNs created = 0;
  // Fingerprint of the file this record describes.
  uint64_t fp_size = 0;
  uint64_t fp_ino = 0;
  int64_t fp_mtime = 0;
  // The file's ctime is at most this when nothing but strata touched it since
  // the record was written (0: unknown, not checked). A POSIX rewrite that
  // keeps size and restores mtime still moves ctime past it (invariant 2).
  int64_t fp_ctime_bound = 0;
  Lease lease;
  std::vector<BlockInfo> committed_blocks;
  uint64_t append_block_count = 0;
  // An append blob sealed by Append Blob Seal: read-only to appends until
  // it is replaced or deleted.
  bool sealed = false;
  std::string copy_id, copy_source, copy_status;
  TimeNs copy_completion = 0;
  uint64_t copy_length = 0;  // the source's size
  // A pending (background) copy: the bytes copied so far, and who runs it
  // (its marker, see api/copy_jobs.h); why a copy failed or was aborted.
  uint64_t copy_progress = 0;
  std::string copy_status_description;
  std::string tier;  // "" = default (Hot, inferred)
  // Capacity tier (tier/): where the blob's data lives. Only records of
  // blobs that ever left the hot state carry these (one mask bit).
  enum class TierState : uint8_t { kHot = 0, kPremigrated = 1, kOffloaded = 2, kArchived = 3 };
  TierState tier_state = TierState::kHot;
  std::string remote_name;  // PREFIX/CONTAINER/BLOB in the remote container
  std::string remote_etag;  // the remote copy's ETag, without quotes
  std::string remote_md5;   // raw 16 bytes: MD5 of the verified remote copy
  uint64_t remote_size = 0; // length of the verified remote copy
  std::string rehydrate_to; // archived: tier being rehydrated to ("" = none)
  // Access tier bookkeeping (Set Blob Tier, x-ms-access-tier): when the
  // tier last changed (0: never set, the tier is inferred), the priority of
  // a pending rehydration ("Standard" | "High", "" = none), and, for a
  // rehydration whose data is local, when it completes (0: none, or one the
  // capacity tier drives). A due rehydration is applied when the record is
  // read (RehydrationDue), so no timer is needed and every gateway agrees.
  TimeNs tier_change_time = 0;
  std::string rehydrate_priority;
  TimeNs rehydrate_done = 0;
  // The remote copy failed verification after it was recorded (changed,
  // deleted, or other bytes than its length and MD5): its data is lost to
  // strata. Reads answer an error, never its bytes; cleared when a later
  // verification passes or the blob is rewritten.
  bool remote_damaged = false;
  // Last read (ns), kept at day granularity for lifecycle rules (0: never).
  TimeNs last_access = 0;

  // ---- the access tier as clients see it at `now` ----
  // Whether a local rehydration has reached its deadline.
  bool RehydrationDue(TimeNs now) const {
    return rehydrate_done != 0 && now >= rehydrate_done && !rehydrate_to.empty();
  }
  // x-ms-access-tier: the tier, Hot when never set.
  std::string_view AccessTier(TimeNs now) const;
  // Whether the tier was never set (x-ms-access-tier-inferred).
  bool AccessTierInferred(TimeNs now) const { return tier.empty() && !RehydrationDue(now); }
  // When the tier last changed (0: never).
  TimeNs AccessTierChangeTime(TimeNs now) const {
    return RehydrationDue(now) ? rehydrate_done : tier_change_time;
  }
  // The tier a pending rehydration goes to ("" when none is pending).
  std::string_view RehydratingTo(TimeNs now) const;
  // Whether the blob is in the Archive tier: its data can be neither read
  // nor changed until a rehydration completes.
  bool Archived(TimeNs now) const;
  // A copy of an archived source (rehydrate by copy) is a destination in
  // the Archive tier whose copy stays pending while its rehydration does:
  // copy_status "pending" with a local rehydration deadline. It concludes
  // (success, at the deadline) when the rehydration is due.
  bool RehydratingCopy() const { return copy_status == "pending" && rehydrate_done != 0; }
  // x-ms-copy-status and x-ms-copy-completion-time at `now`.
  std::string_view CopyStatus(TimeNs now) const {
    return RehydratingCopy() && RehydrationDue(now) ? std::string_view("success")
                                                    : std::string_view(copy_status);
  }
  TimeNs CopyCompletion(TimeNs now) const {
    return RehydratingCopy() && RehydrationDue(now) ? rehydrate_done : copy_completion;
  }
  // Applies a due local rehydration (and the copy it concludes) to the
  // record itself (before it is written back).
  void SettleRehydration(TimeNs now);

  std::string Pack() const;
  static Result<BlobRecord> Unpack(std::string_view packed);
};

struct SignedIdentifier {
  std::string id, start, expiry, permission;
};

struct ContainerRecord {
  Metadata metadata;
  std::string etag;
  TimeNs last_modified = 0;
  std::string public_access;  // "" (private) | "blob" | "container"
  std::vector<SignedIdentifier> identifiers;
  Lease lease;

  std::string Pack() const;
  static Result<ContainerRecord> Unpack(std::string_view packed);
};

// A fresh ETag value (unique per call within the process, time-ordered).
std::string NewEtag();
// A stable ETag derived from a file's identity, for files without a record.
std::string DerivedEtag(uint64_t ino, uint64_t size, int64_t mtime_ns, int64_t ctime_ns = 0);

}  // namespace strata::ns
