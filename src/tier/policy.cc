#include "tier/policy.h"

#include <nlohmann/json.hpp>

namespace strata::tier {

using nlohmann::json;

namespace {
constexpr double kDayNs = 24.0 * 3600 * 1e9;

LifecycleCondition ParseCondition(const json& actions, const char* name) {
  LifecycleCondition c;
  if (!actions.contains(name)) return c;
  const json& a = actions.at(name);
  if (!a.is_object()) throw std::runtime_error(std::string(name) + " is not an object");
  static const std::pair<const char*, LifecycleCondition::Basis> kBases[] = {
      {"daysAfterModificationGreaterThan", LifecycleCondition::kModification},
      {"daysAfterLastAccessTimeGreaterThan", LifecycleCondition::kLastAccess},
      {"daysAfterCreationGreaterThan", LifecycleCondition::kCreation}};
  for (const auto& [key, basis] : kBases) {
    if (!a.contains(key)) continue;
    if (c.basis != LifecycleCondition::kNone)
      throw std::runtime_error(std::string(name) + " has more than one condition");
    double d = a.at(key).get<double>();
    if (d < 0) throw std::runtime_error(std::string(key) + " must not be negative");
    c.basis = basis;
    c.days = d;
  }
  if (c.basis == LifecycleCondition::kNone)
    throw std::runtime_error(std::string(name) + " has no condition");
  return c;
}

bool Holds(const LifecycleCondition& c, const ns::BlobRecord& rec, TimeNs now) {
  TimeNs since = 0;
  switch (c.basis) {
    case LifecycleCondition::kNone:
      return false;
    case LifecycleCondition::kModification:
      since = rec.last_modified;
      break;
    case LifecycleCondition::kCreation:
      since = rec.created ? rec.created : rec.last_modified;
      break;
    case LifecycleCondition::kLastAccess:
      since = std::max(rec.last_access, rec.last_modified);
      break;
  }
  return static_cast<double>(now - since) > c.days * kDayNs;
}
}  // namespace

Result<LifecyclePolicy> LifecyclePolicy::Parse(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.contains("policy")) j = j.at("policy");
    if (j.contains("properties") && j.at("properties").contains("policy"))
      j = j.at("properties").at("policy");
    LifecyclePolicy p;
    for (const json& r : j.at("rules")) {
      LifecycleRule rule;
      rule.name = r.value("name", "");
      rule.enabled = r.value("enabled", true);
      if (r.contains("type") && r.at("type").get<std::string>() != "Lifecycle")
        throw std::runtime_error("rule " + rule.name + ": type must be Lifecycle");
      const json& def = r.at("definition");
      if (def.contains("filters")) {
        const json& f = def.at("filters");
        if (f.contains("prefixMatch"))
          rule.prefixes = f.at("prefixMatch").get<std::vector<std::string>>();
        if (f.contains("blobTypes")) {
          rule.block_blobs = rule.append_blobs = false;
          for (const auto& t : f.at("blobTypes").get<std::vector<std::string>>()) {
            if (t == "blockBlob")
              rule.block_blobs = true;
            else if (t == "appendBlob")
              rule.append_blobs = true;
            else
              throw std::runtime_error("rule " + rule.name + ": unknown blob type " + t);
          }
        }
      }
      const json& actions = def.at("actions");
      if (actions.contains("baseBlob")) {
        const json& base = actions.at("baseBlob");
        rule.cool = ParseCondition(base, "tierToCool");
        if (base.contains("tierToCool"))
          rule.auto_hot = base.at("tierToCool").value("enableAutoTierToHotFromCool", false);
        rule.cold = ParseCondition(base, "tierToCold");
        rule.archive = ParseCondition(base, "tierToArchive");
        rule.del = ParseCondition(base, "delete");
      }
      p.rules_.push_back(std::move(rule));
    }
    return p;
  } catch (const std::exception& e) {
    return Status(ErrorKind::kInvalidArgument, std::string("lifecycle policy: ") + e.what());
  }
}

namespace {
bool Matches(const LifecycleRule& r, const std::string& full, const ns::BlobRecord& rec) {
  if (!r.enabled) return false;
  bool block = rec.blob_type == "BlockBlob";
  if ((block && !r.block_blobs) || (!block && !(rec.blob_type == "AppendBlob" && r.append_blobs)))
    return false;
  if (r.prefixes.empty()) return true;
  for (const auto& p : r.prefixes)
    if (full.compare(0, p.size(), p) == 0) return true;
  return false;
}
}  // namespace

bool LifecyclePolicy::AutoTierToHot(const std::string& c, const std::string& b,
                                    const ns::BlobRecord& rec) const {
  std::string full = c + "/" + b;
  for (const auto& r : rules_)
    if (r.auto_hot && Matches(r, full, rec)) return true;
  return false;
}

LifecyclePolicy::Action LifecyclePolicy::Evaluate(const std::string& c, const std::string& b,
                                                  const ns::BlobRecord& rec, TimeNs now) const {
  Action best = Action::kNone;
  std::string full = c + "/" + b;
  for (const auto& r : rules_) {
    if (!Matches(r, full, rec)) continue;
    bool block = rec.blob_type == "BlockBlob";
    // Tiering applies to block blobs only; delete to both.
    if (Holds(r.del, rec, now)) return Action::kDelete;
    if (!block) continue;
    if (Holds(r.archive, rec, now))
      best = std::max(best, Action::kArchive);
    else if (Holds(r.cold, rec, now))
      best = std::max(best, Action::kCold);
    else if (Holds(r.cool, rec, now))
      best = std::max(best, Action::kCool);
  }
  return best;
}

const char* ActionTier(LifecyclePolicy::Action a) {
  switch (a) {
    case LifecyclePolicy::Action::kCool:
      return "Cool";
    case LifecyclePolicy::Action::kCold:
      return "Cold";
    case LifecyclePolicy::Action::kArchive:
      return "Archive";
    default:
      return "";
  }
}

}  // namespace strata::tier
