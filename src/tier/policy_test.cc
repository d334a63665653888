#include "tier/policy.h"

#include <gtest/gtest.h>

namespace strata::tier {
namespace {

constexpr TimeNs kDay = 24LL * 3600 * 1000000000LL;

ns::BlobRecord Blob(TimeNs modified, TimeNs accessed = 0) {
  ns::BlobRecord r;
  r.last_modified = modified;
  r.created = modified;
  r.last_access = accessed;
  return r;
}

constexpr char kPolicy[] = R"({"rules": [
  {"name": "logs", "enabled": true, "type": "Lifecycle", "definition": {
    "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["c/logs/"]},
    "actions": {"baseBlob": {
      "tierToCool": {"daysAfterModificationGreaterThan": 30},
      "tierToArchive": {"daysAfterLastAccessTimeGreaterThan": 90},
      "delete": {"daysAfterModificationGreaterThan": 365}}}}},
  {"name": "off", "enabled": false, "type": "Lifecycle", "definition": {
    "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 0}}}}}]})";

TEST(LifecyclePolicy, ParsesAndEvaluatesAzureFormat) {
  auto p = LifecyclePolicy::Parse(kPolicy);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->rules().size(), 2u);
  TimeNs now = 1000 * kDay;
  using A = LifecyclePolicy::Action;
  EXPECT_EQ(p->Evaluate("c", "logs/a", Blob(now - 10 * kDay), now), A::kNone);
  EXPECT_EQ(p->Evaluate("c", "logs/a", Blob(now - 31 * kDay), now), A::kCool);
  EXPECT_EQ(p->Evaluate("c", "other/a", Blob(now - 31 * kDay), now), A::kNone);  // prefix
  EXPECT_EQ(p->Evaluate("d", "logs/a", Blob(now - 31 * kDay), now), A::kNone);   // container
  // Read recently: last access keeps it out of the archive, not out of cool.
  EXPECT_EQ(p->Evaluate("c", "logs/a", Blob(now - 100 * kDay, now - kDay), now), A::kCool);
  EXPECT_EQ(p->Evaluate("c", "logs/a", Blob(now - 100 * kDay), now), A::kArchive);
  EXPECT_EQ(p->Evaluate("c", "logs/a", Blob(now - 400 * kDay), now), A::kDelete);
  ns::BlobRecord append = Blob(now - 40 * kDay);
  append.blob_type = "AppendBlob";
  EXPECT_EQ(p->Evaluate("c", "logs/a", append, now), A::kNone);  // blobTypes
}

TEST(LifecyclePolicy, AcceptsTheManagementApiWrapper) {
  std::string wrapped = std::string(R"({"policy": )") + kPolicy + "}";
  EXPECT_TRUE(LifecyclePolicy::Parse(wrapped).ok());
}

TEST(LifecyclePolicy, RefusesMalformedPolicies) {
  for (
      const char* bad :
      {"not json", "{}", R"({"rules": 3})",
       R"({"rules": [{"name": "x", "type": "Other", "definition": {"actions": {}}}]})",
       R"({"rules": [{"name": "x", "definition": {"actions": {"baseBlob": {"tierToCool": {}}}}}]})",
       R"({"rules": [{"name": "x", "definition": {"actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": -1}}}}}]})",
       R"({"rules": [{"name": "x", "definition": {"filters": {"blobTypes": ["pageBlob"]}, "actions": {}}}]})"}) {
    EXPECT_FALSE(LifecyclePolicy::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace strata::tier
