#include "server/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/strings.h"
#include "ns/names.h"

namespace strata::server {

namespace {
Status ParseEntra(const nlohmann::json& j, const std::string& where, std::optional<EntraConfig>* out) {
  auto bad = [&where](const std::string& why) {
    return Status(ErrorKind::kInvalidArgument, where + ": " + why);
  };
  if (!j.is_object()) return bad("must be an object");
  EntraConfig e;
  auto strings = [](const nlohmann::json& v) { return v.get<std::vector<std::string>>(); };
  for (const auto& [key, val] : j.items()) {
    if (key == "tenant") {
      e.tenant = val.get<std::string>();
    } else if (key == "issuers") {
      e.issuers = strings(val);
    } else if (key == "audiences") {
      e.audiences = strings(val);
    } else if (key == "jwks") {
      e.jwks = val.get<std::string>();
    } else if (key == "openid_config") {
      e.openid_config = val.get<std::string>();
    } else if (key == "superusers") {
      e.superusers = strings(val);
    } else if (key == "allow_http") {
      e.allow_http = val.get<bool>();
    } else if (key == "clock_skew_s" || key == "jwks_min_reload_s" || key == "jwks_max_age_s") {
      int v = val.get<int>();
      if (v < 0 || v > 86400) return bad(key + " must be 0 to 86400");
      (key == "clock_skew_s" ? e.clock_skew_s
       : key == "jwks_min_reload_s" ? e.jwks_min_reload_s : e.jwks_max_age_s) = v;
    } else if (key == "rbac") {
      if (!val.is_array()) return bad("rbac must be an array");
      for (const auto& r : val) {
        if (!r.is_object()) return bad("rbac entries must be objects");
        EntraConfig::Assignment a;
        for (const auto& [rk, rv] : r.items()) {
          if (rk != "principal" && rk != "role" && rk != "scope") return bad("rbac: unknown key " + rk);
        }
        a.principal = r.at("principal").get<std::string>();
        a.role = r.at("role").get<std::string>();
        std::string scope = r.contains("scope") ? r["scope"].get<std::string>() : "account";
        if (a.principal.empty()) return bad("rbac: principal is empty");
        if (a.role != "Storage Blob Data Reader" && a.role != "Storage Blob Data Contributor" &&
            a.role != "Storage Blob Data Owner")
          return bad("rbac: role '" + a.role +
                     "' is not Storage Blob Data Reader, Contributor or Owner");
        if (scope != "account") {
          if (!StartsWith(scope, "container/") ||
              !ns::ValidateContainerName(scope.substr(10)).ok())
            return bad("rbac: scope '" + scope + "' is not account or container/NAME");
          a.container = scope.substr(10);
        }
        e.rbac.push_back(std::move(a));
      }
    } else {
      return bad("unknown key " + key);
    }
  }
  if (e.tenant.empty() || e.tenant.find_first_of("/?#@: ") != std::string::npos)
    return bad("tenant is required (a tenant id)");
  if (e.jwks.empty() == e.openid_config.empty()) return bad("name one of jwks and openid_config");
  *out = std::move(e);
  return Status::Ok();
}

Status ParseContainers(const nlohmann::json& j, std::map<std::string, ContainerEntry>* out) {
  if (!j.is_object()) return Status(ErrorKind::kInvalidArgument, "containers must be an object");
  for (const auto& [name, v] : j.items()) {
    if (!ns::ValidateContainerName(name).ok())
      return Status(ErrorKind::kInvalidArgument, "containers: invalid container name " + name);
    if (!v.is_object())
      return Status(ErrorKind::kInvalidArgument, "containers." + name + " must be an object");
    ContainerEntry e;
    for (const auto& [key, val] : v.items()) {
      if (key == "path") {
        e.path = val.get<std::string>();
        if (e.path.empty() || e.path[0] != '/')
          return Status(ErrorKind::kInvalidArgument, "containers." + name + ".path must be absolute");
      } else if (key == "read_only") {
        e.read_only = val.get<bool>();
      } else if (key == "max_bytes" || key == "max_files") {
        if (!val.is_number_unsigned() || val.get<uint64_t>() == 0)
          return Status(ErrorKind::kInvalidArgument,
                        "containers." + name + "." + key + " must be a positive integer");
        (key == "max_bytes" ? e.max_bytes : e.max_files) = val.get<uint64_t>();
      } else {
        return Status(ErrorKind::kInvalidArgument, "containers." + name + ": unknown key " + key);
      }
    }
    (*out)[name] = e;
  }
  return Status::Ok();
}
}  // namespace

Status LoadConfigFile(const std::string& path, Config* cfg) {
  std::ifstream in(path);
  if (!in) return Status(ErrorKind::kNotFound, "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto j = nlohmann::json::parse(ss.str());
    if (j.contains("host")) cfg->host = j["host"].get<std::string>();
    if (j.contains("port")) cfg->port = j["port"].get<int>();
    if (j.contains("dfs_port")) cfg->dfs_port = j["dfs_port"].get<int>();
    if (j.contains("cert")) cfg->tls_cert = j["cert"].get<std::string>();
    if (j.contains("key")) cfg->tls_key = j["key"].get<std::string>();
    if (j.contains("tls_port")) cfg->tls_port = j["tls_port"].get<int>();
    if (j.contains("dfs_tls_port")) cfg->dfs_tls_port = j["dfs_tls_port"].get<int>();
    if (j.contains("root")) cfg->root = j["root"].get<std::string>();
    if (j.contains("threads")) cfg->threads = j["threads"].get<int>();
    if (j.contains("durability")) {
      std::string d = j["durability"].get<std::string>();
      if (d != "fsync" && d != "none")
        return Status(ErrorKind::kInvalidArgument, "durability must be fsync or none");
      cfg->fsync = d == "fsync";
    }
    if (j.contains("single_gateway")) cfg->single_gateway = j["single_gateway"].get<bool>();
    if (j.contains("containers")) STRATA_RETURN_IF_ERROR(ParseContainers(j["containers"], &cfg->dev_containers));
    if (j.contains("accounts")) {
      for (const auto& a : j["accounts"]) {
        AccountConfig ac;
        ac.name = a.at("name").get<std::string>();
        ac.key_base64 = a.at("key").get<std::string>();
        ac.root = a.at("root").get<std::string>();
        if (a.contains("key2")) {
          ac.key2_base64 = a["key2"].get<std::string>();
          auto k2 = Base64Decode(ac.key2_base64);
          if (!k2 || k2->empty())
            return Status(ErrorKind::kInvalidArgument, "account " + ac.name + ": key2 is not base64");
        }
        if (a.contains("containers")) STRATA_RETURN_IF_ERROR(ParseContainers(a["containers"], &ac.containers));
        if (a.contains("entra"))
          STRATA_RETURN_IF_ERROR(ParseEntra(a["entra"], "account " + ac.name + ": entra", &ac.entra));
        if (!Base64Decode(ac.key_base64))
          return Status(ErrorKind::kInvalidArgument, "account " + ac.name + ": key is not base64");
        if (ac.name.size() < 3 || ac.name.size() > 24)
          return Status(ErrorKind::kInvalidArgument, "account name must be 3 to 24 characters");
        for (char c : ac.name)
          if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return Status(ErrorKind::kInvalidArgument,
                          "account name may hold only lowercase letters and digits");
        cfg->accounts.push_back(std::move(ac));
      }
    }
    if (j.contains("entra")) STRATA_RETURN_IF_ERROR(ParseEntra(j["entra"], "entra", &cfg->entra));
    if (j.contains("tier")) {
      const auto& t = j["tier"];
      TierConfig& tc = cfg->tier;
      if (t.contains("remote")) tc.remote = t["remote"].get<std::string>();
      if (t.contains("key")) tc.remote_key = t["key"].get<std::string>();
      if (t.contains("prefix")) tc.prefix = t["prefix"].get<std::string>();
      if (t.contains("pinned")) tc.pinned = t["pinned"].get<std::vector<std::string>>();
      if (t.contains("policy")) tc.policy_json = t["policy"].dump();
      if (t.contains("interval")) tc.policy_interval_s = t["interval"].get<int>();
      if (t.contains("high_watermark")) tc.high_watermark = t["high_watermark"].get<double>();
      if (t.contains("low_watermark")) tc.low_watermark = t["low_watermark"].get<double>();
      if (t.contains("capacity")) tc.capacity_bytes = t["capacity"].get<uint64_t>();
      if (t.contains("workers")) tc.workers = t["workers"].get<int>();
      if (t.contains("max_concurrency")) tc.max_concurrency = t["max_concurrency"].get<int>();
      if (t.contains("bandwidth")) tc.bandwidth_bytes_per_sec = t["bandwidth"].get<uint64_t>();
      if (!tc.remote_key.empty() && !Base64Decode(tc.remote_key))
        return Status(ErrorKind::kInvalidArgument, "tier.key is not base64");
    }
    if (j.contains("copy_sources")) {
      const auto& c = j["copy_sources"];
      if (!c.is_object()) return Status(ErrorKind::kInvalidArgument, "copy_sources must be an object");
      tier::FetchPolicy& p = cfg->copy_sources;
      for (const auto& [key, val] : c.items()) {
        if (key == "hosts") {
          p.hosts = val.get<std::vector<std::string>>();
          for (const auto& h : p.hosts) {
            bool ok = !h.empty() && h.find_first_of("/@:?# ") == std::string::npos &&
                      (h == "*" || h.find('*') == std::string::npos ||
                       (StartsWith(h, "*.") && h.find('*', 1) == std::string::npos && h.size() > 2));
            if (!ok)
              return Status(ErrorKind::kInvalidArgument,
                            "copy_sources.hosts: '" + h + "' is not a host name, *.suffix or *");
          }
        } else if (key == "allow_private") {
          p.allow_private = val.get<bool>();
        } else if (key == "connect_timeout_s" || key == "timeout_s" ||
                   key == "min_speed_window_s" || key == "max_concurrent") {
          int v = val.get<int>();
          if (v <= 0)
            return Status(ErrorKind::kInvalidArgument, "copy_sources." + key + " must be positive");
          (key == "connect_timeout_s"   ? p.connect_timeout_s
           : key == "timeout_s"         ? p.timeout_s
           : key == "max_concurrent"    ? p.max_concurrent
                                        : p.min_speed_window_s) = v;
        } else if (key == "min_speed_bytes") {
          p.min_speed_bytes = val.get<uint64_t>();
        } else if (key == "max_bytes") {
          p.max_bytes = val.get<uint64_t>();
        } else {
          return Status(ErrorKind::kInvalidArgument, "copy_sources: unknown key " + key);
        }
      }
    }
  } catch (const std::exception& e) {
    return Status(ErrorKind::kInvalidArgument, "config file " + path + ": " + e.what());
  }
  return Status::Ok();
}

void AddDefaultAccount(Config* cfg) {
  for (const auto& a : cfg->accounts)
    if (a.name == kDevAccount) return;
  cfg->accounts.insert(cfg->accounts.begin(),
                       AccountConfig{kDevAccount, kDevKey, "", cfg->root, cfg->dev_containers});
}

}  // namespace strata::server
