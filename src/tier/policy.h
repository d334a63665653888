// LifecyclePolicy: an Azure Blob lifecycle management policy (its JSON
// format) and its evaluation for one blob.
//
//   {"rules": [{"name": "r", "enabled": true, "type": "Lifecycle",
//     "definition": {
//       "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["cont/logs/"]},
//       "actions": {"baseBlob": {
//         "tierToCool":    {"daysAfterModificationGreaterThan": 30},
//         "tierToCold":    {"daysAfterLastAccessTimeGreaterThan": 60},
//         "tierToArchive": {"daysAfterModificationGreaterThan": 180},
//         "delete":        {"daysAfterCreationGreaterThan": 365}}}}}]}
//
// (also accepted wrapped as {"policy": {...}}, as the management API sends
// it). prefixMatch entries start with the container name. When several
// actions of the matching rules apply, the most drastic wins (delete, then
// archive, cold, cool), as on Azure. Immutable after Parse; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "ns/record.h"

namespace strata::tier {

struct LifecycleCondition {
  enum Basis { kNone, kModification, kLastAccess, kCreation };
  Basis basis = kNone;
  double days = 0;
};

struct LifecycleRule {
  std::string name;
  bool enabled = true;
  std::vector<std::string> prefixes;  // "container/prefix"; empty: every blob
  bool block_blobs = true;            // blobTypes holds blockBlob
  bool append_blobs = false;          // blobTypes holds appendBlob
  LifecycleCondition cool, cold, archive, del;
  bool auto_hot = false;  // tierToCool.enableAutoTierToHotFromCool
};

class LifecyclePolicy {
 public:
  // kInvalidArgument (with the reason) for JSON that is not a policy.
  static Result<LifecyclePolicy> Parse(const std::string& json);

  enum class Action { kNone, kCool, kCold, kArchive, kDelete };
  // What the policy does to blob c/b with record `rec` at `now`.
  // `last_access` 0 means never read since tracking began (the
  // modification time stands in for it).
  Action Evaluate(const std::string& c, const std::string& b, const ns::BlobRecord& rec,
                  TimeNs now) const;

  // Whether a read of blob c/b brings it back to hot
  // (enableAutoTierToHotFromCool in a matching rule).
  bool AutoTierToHot(const std::string& c, const std::string& b, const ns::BlobRecord& rec) const;

  const std::vector<LifecycleRule>& rules() const { return rules_; }

 private:
  std::vector<LifecycleRule> rules_;
};

const char* ActionTier(LifecyclePolicy::Action a);  // "Cool" | "Cold" | "Archive" | ""

}  // namespace strata::tier
