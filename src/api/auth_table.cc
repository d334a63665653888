// The authorization table as data: every route of the Blob and dfs tables
// with what it demands of each kind of credential. `strata routes` prints
// it; the authorization walk (tests/integration/test_authorization_walk.py)
// drives a request per row with each credential kind, and docs/SECURITY.md
// is written from it.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/routes.h"
#include "dfs/dfs.h"

namespace strata::api {

namespace {

const char* LevelName(Level l) {
  switch (l) {
    case Level::kService: return "service";
    case Level::kContainer: return "container";
    case Level::kBlob: return "blob";
  }
  return "?";
}

const char* AnonName(Anon a) {
  switch (a) {
    case Anon::kNever: return "never";
    case Anon::kBlobRead: return "blob";  // public access "blob" or "container"
    case Anon::kContainerRead: return "container";  // public access "container" only
  }
  return "?";
}

const char* ResourceName(auth::ResourceType t) {
  switch (t) {
    case auth::ResourceType::kService: return "service";
    case auth::ResourceType::kContainer: return "container";
    case auth::ResourceType::kObject: return "object";
  }
  return "?";
}

// The weakest built-in role whose letters meet the demand ("Owner" for a
// demand no SAS may meet).
const char* BearerRole(const auth::Demand& d) {
  for (auth::Role r : {auth::Role::kReader, auth::Role::kContributor, auth::Role::kOwner}) {
    if (d.permission && *d.permission ? auth::SasPermits(auth::RoleLetters(r), d.permission)
                                      : r == auth::Role::kOwner)
      return auth::RoleName(r);
  }
  return "none";
}

nlohmann::json Row(const Route& r, bool dfs) {
  nlohmann::json j;
  j["name"] = r.name;
  j["api"] = dfs ? "dfs" : "blob";
  j["level"] = LevelName(r.level);
  j["method"] = r.method;
  j["restype"] = r.restype ? nlohmann::json(r.restype) : nlohmann::json(nullptr);
  j["comp"] = r.comp ? nlohmann::json(r.comp) : nlohmann::json(nullptr);
  j["sas_resource_type"] = ResourceName(r.demand.resource_type);
  j["sas_permission"] = r.demand.permission ? r.demand.permission : "";
  j["service_sas"] = r.demand.service_sas_allowed;
  if (r.demand.replace) j["sas_replace_permission"] = r.demand.replace;
  // What a bearer token's principal needs (Azure RBAC, auth/entra.h).
  j["rbac_role"] = BearerRole(r.demand);
  if (r.demand.bearer_only) j["bearer_only"] = true;
  j["anonymous"] = AnonName(r.anon);
  j["write"] = r.write;
  // Reached only on the dfs endpoint (--dfs-port, or a host ACCOUNT.dfs.DOMAIN).
  if (dfs && dfs::OnlyOnDfsEndpoint(r)) j["endpoint"] = "dfs";
  if (r.source != SourceKind::kNone) {
    j["source"] = r.source == SourceKind::kCopy ? "x-ms-copy-source" : "x-ms-rename-source";
    j["source_sas_permission"] = r.source_demand.permission ? r.source_demand.permission : "";
  }
  return j;
}

}  // namespace

std::string AuthorizationTableJson() {
  nlohmann::json rows = nlohmann::json::array();
  for (const Route& r : AllRoutes()) rows.push_back(Row(r, false));
  for (const Route* r : dfs::AllRoutes()) rows.push_back(Row(*r, true));
  return rows.dump(1);
}

}  // namespace strata::api
