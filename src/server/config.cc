#include "server/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/strings.h"

namespace strata::server {

Status LoadConfigFile(const std::string& path, Config* cfg) {
  std::ifstream in(path);
  if (!in) return Status(ErrorKind::kNotFound, "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto j = nlohmann::json::parse(ss.str());
    if (j.contains("host")) cfg->host = j["host"].get<std::string>();
    if (j.contains("port")) cfg->port = j["port"].get<int>();
    if (j.contains("root")) cfg->root = j["root"].get<std::string>();
    if (j.contains("threads")) cfg->threads = j["threads"].get<int>();
    if (j.contains("durability")) {
      std::string d = j["durability"].get<std::string>();
      if (d != "fsync" && d != "none")
        return Status(ErrorKind::kInvalidArgument, "durability must be fsync or none");
      cfg->fsync = d == "fsync";
    }
    if (j.contains("accounts")) {
      for (const auto& a : j["accounts"]) {
        AccountConfig ac;
        ac.name = a.at("name").get<std::string>();
        ac.key_base64 = a.at("key").get<std::string>();
        ac.root = a.at("root").get<std::string>();
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
  } catch (const std::exception& e) {
    return Status(ErrorKind::kInvalidArgument, "config file " + path + ": " + e.what());
  }
  return Status::Ok();
}

void AddDefaultAccount(Config* cfg) {
  for (const auto& a : cfg->accounts)
    if (a.name == kDevAccount) return;
  cfg->accounts.insert(cfg->accounts.begin(), AccountConfig{kDevAccount, kDevKey, cfg->root});
}

}  // namespace strata::server
