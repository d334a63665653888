#include "server/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/strings.h"
#include "ns/names.h"
#include "tier/policy.h"

namespace strata::server {

namespace {

using nlohmann::json;

// Reads one JSON object strictly: each getter marks its key as known and
// reports a value of the wrong type or range under the key's path; Done()
// reports every key no getter asked for.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path, std::vector<std::string>* errors)
      : j_(j), path_(std::move(path)), errors_(errors) {
    if (!j_.is_object()) Error(path_.empty() ? "the document" : path_, "must be a JSON object");
  }
  ~ObjectReader() { Done(); }

  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  void Error(const std::string& path, const std::string& why) {
    errors_->push_back(path + ": " + why);
  }

  // The value of `key`, or null when absent (or when this is no object).
  const json* Get(const std::string& key) {
    known_.insert(key);
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  void Missing(const std::string& key) {
    if (j_.is_object() && !j_.contains(key)) Error(Path(key), "is required");
  }
  bool Str(const std::string& key, std::string* out, bool non_empty = false) {
    const json* v = Get(key);
    if (!v) return false;
    if (!v->is_string() || (non_empty && v->get<std::string>().empty())) {
      Error(Path(key), non_empty ? "must be a non-empty string" : "must be a string");
      return false;
    }
    *out = v->get<std::string>();
    return true;
  }
  // An absolute path.
  bool AbsPath(const std::string& key, std::string* out) {
    std::string s;
    if (!Str(key, &s, true)) return false;
    if (s[0] != '/') {
      Error(Path(key), "must be an absolute path (got \"" + s + "\")");
      return false;
    }
    *out = s;
    return true;
  }
  bool Bool(const std::string& key, bool* out) {
    const json* v = Get(key);
    if (!v) return false;
    if (!v->is_boolean()) {
      Error(Path(key), "must be true or false");
      return false;
    }
    *out = v->get<bool>();
    return true;
  }
  bool Int(const std::string& key, int* out, int lo, int hi) {
    const json* v = Get(key);
    if (!v) return false;
    bool ok = v->is_number_integer() &&
              (v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(hi)
                                       : v->get<int64_t>() >= lo && v->get<int64_t>() <= hi);
    if (ok) ok = v->get<int64_t>() >= lo;
    if (!ok) {
      Error(Path(key),
            "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return false;
    }
    *out = static_cast<int>(v->get<int64_t>());
    return true;
  }
  bool U64(const std::string& key, uint64_t* out, uint64_t lo) {
    const json* v = Get(key);
    if (!v) return false;
    if (!v->is_number_unsigned() || v->get<uint64_t>() < lo) {
      Error(Path(key), lo == 0 ? "must be a non-negative integer" : "must be a positive integer");
      return false;
    }
    *out = v->get<uint64_t>();
    return true;
  }
  bool Num(const std::string& key, double* out, double lo, double hi) {
    const json* v = Get(key);
    if (!v) return false;
    if (!v->is_number() || v->get<double>() < lo || v->get<double>() > hi) {
      std::ostringstream why;
      why << "must be a number from " << lo << " to " << hi;
      Error(Path(key), why.str());
      return false;
    }
    *out = v->get<double>();
    return true;
  }
  bool Base64Key(const std::string& key, std::string* out) {
    std::string s;
    if (!Str(key, &s)) return false;
    auto raw = Base64Decode(s);
    if (!raw || raw->empty()) {
      Error(Path(key), "must be a base64 key (it is not base64)");  // never echo a key
      return false;
    }
    *out = s;
    return true;
  }

  void Done() {
    if (done_ || !j_.is_object()) return;
    done_ = true;
    for (const auto& [key, v] : j_.items())
      if (!known_.count(key)) Error(Path(key), "unknown key");
  }

 private:
  const json& j_;
  std::string path_;
  std::vector<std::string>* errors_;
  std::set<std::string> known_;
  bool done_ = false;
};

void ParseContainers(const json& j, const std::string& path,
                     std::map<std::string, ContainerEntry>* out, std::vector<std::string>* errors) {
  if (!j.is_object()) {
    errors->push_back(path + ": must be an object of container names");
    return;
  }
  for (const auto& [name, v] : j.items()) {
    std::string p = path + "." + name;
    if (Status s = ns::ValidateContainerName(name); !s.ok() || name == "$root") {
      errors->push_back(p +
                        ": invalid container name (3 to 63 lowercase letters, digits and "
                        "single hyphens, starting and ending with a letter or digit)");
      continue;
    }
    ContainerEntry e;
    ObjectReader r(v, p, errors);
    r.AbsPath("path", &e.path);
    r.Bool("read_only", &e.read_only);
    r.U64("max_bytes", &e.max_bytes, 1);
    r.U64("max_files", &e.max_files, 1);
    std::string mode;
    if (r.Str("mode", &mode) && mode != "cache")
      r.Error(r.Path("mode"), "must be \"cache\" (the only mode)");
    CacheEntry ce;
    bool remote = r.Str("remote", &ce.remote, true);
    r.Base64Key("remote_key", &ce.remote_key);
    if (r.Str("write_mode", &ce.write_mode) && ce.write_mode != "write_through" &&
        ce.write_mode != "write_back")
      r.Error(r.Path("write_mode"), "must be \"write_through\" or \"write_back\"");
    r.Int("revalidate_s", &ce.revalidate_s, 1, 86400 * 30);
    r.Bool("hydrate_on_range", &ce.hydrate_on_range);
    r.Int("max_concurrency", &ce.max_concurrency, 1, 256);
    r.U64("bandwidth_bytes_per_sec", &ce.bandwidth_bytes_per_sec, 0);
    r.AbsPath("ca_file", &ce.ca_file);
    if (mode == "cache") {
      if (!remote) r.Error(r.Path("remote"), "is required in cache mode");
      if (!e.path.empty()) r.Error(r.Path("path"), "a cached container cannot also be a view");
      e.cache = ce;
    } else if (v.is_object()) {
      for (const char* k : {"remote", "remote_key", "write_mode", "revalidate_s",
                            "hydrate_on_range", "max_concurrency", "bandwidth_bytes_per_sec",
                            "ca_file"})
        if (v.contains(k)) r.Error(r.Path(k), "needs \"mode\": \"cache\"");
    }
    r.Done();
    (*out)[name] = e;
  }
}

// "entra": Microsoft Entra ID for the accounts that name none of their own.
void ParseEntra(const json& j, const std::string& path, std::optional<EntraConfig>* out,
                std::vector<std::string>* errors) {
  EntraConfig e;
  ObjectReader r(j, path, errors);
  auto strings = [&r](const std::string& key, std::vector<std::string>* v) {
    const json* a = r.Get(key);
    if (!a) return;
    bool ok = a->is_array();
    for (size_t i = 0; ok && i < a->size(); ++i) ok = (*a)[i].is_string() && !(*a)[i].get<std::string>().empty();
    if (!ok) {
      r.Error(r.Path(key), "must be an array of non-empty strings");
      return;
    }
    *v = a->get<std::vector<std::string>>();
  };
  if (r.Str("tenant", &e.tenant, true) && e.tenant.find_first_of("/?#@: ") != std::string::npos)
    r.Error(r.Path("tenant"), "must be a tenant id (got \"" + e.tenant + "\")");
  r.Missing("tenant");
  strings("issuers", &e.issuers);
  strings("audiences", &e.audiences);
  r.Str("jwks", &e.jwks, true);
  r.Str("openid_config", &e.openid_config, true);
  if (j.is_object() && e.jwks.empty() == e.openid_config.empty())
    r.Error(path, "name exactly one of jwks and openid_config");
  strings("superusers", &e.superusers);
  r.Bool("allow_http", &e.allow_http);
  r.Int("clock_skew_s", &e.clock_skew_s, 0, 86400);
  r.Int("jwks_min_reload_s", &e.jwks_min_reload_s, 0, 86400);
  r.Int("jwks_max_age_s", &e.jwks_max_age_s, 0, 86400);
  if (const json* rb = r.Get("rbac")) {
    if (!rb->is_array()) {
      r.Error(r.Path("rbac"), "must be an array of role assignments");
    } else {
      for (size_t i = 0; i < rb->size(); ++i) {
        std::string p = r.Path("rbac") + "[" + std::to_string(i) + "]";
        EntraConfig::Assignment a;
        ObjectReader ar((*rb)[i], p, errors);
        ar.Str("principal", &a.principal, true);
        ar.Missing("principal");
        if (ar.Str("role", &a.role, true) && a.role != "Storage Blob Data Reader" &&
            a.role != "Storage Blob Data Contributor" && a.role != "Storage Blob Data Owner")
          ar.Error(ar.Path("role"), "\"" + a.role +
                                        "\" is not Storage Blob Data Reader, Contributor or Owner");
        ar.Missing("role");
        std::string scope = "account";
        ar.Str("scope", &scope, true);
        if (scope != "account") {
          if (!StartsWith(scope, "container/") || !ns::ValidateContainerName(scope.substr(10)).ok())
            ar.Error(ar.Path("scope"), "\"" + scope + "\" is not account or container/NAME");
          else
            a.container = scope.substr(10);
        }
        ar.Done();
        e.rbac.push_back(std::move(a));
      }
    }
  }
  r.Done();
  *out = std::move(e);
}

bool ValidAccountName(const std::string& name) {
  if (name.size() < 3 || name.size() > 24) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

void ParseAccounts(const json& j, Config* cfg, std::vector<std::string>* errors) {
  if (!j.is_array()) {
    errors->push_back("accounts: must be an array of accounts");
    return;
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string p = "accounts[" + std::to_string(i) + "]";
    AccountConfig ac;
    ObjectReader r(j[i], p, errors);
    if (r.Str("name", &ac.name)) {
      if (!ValidAccountName(ac.name)) {
        r.Error(p + ".name",
                "must be 3 to 24 lowercase letters and digits (got \"" + ac.name + "\")");
      } else if (auto it = seen.find(ac.name); it != seen.end()) {
        r.Error(p + ".name", "\"" + ac.name + "\" is already the name of accounts[" +
                                 std::to_string(it->second) + "]");
      } else {
        seen[ac.name] = i;
      }
    }
    r.Missing("name");
    r.Base64Key("key", &ac.key_base64);
    r.Missing("key");
    r.Base64Key("key2", &ac.key2_base64);
    r.AbsPath("root", &ac.root);
    r.Missing("root");
    if (const json* c = r.Get("containers"))
      ParseContainers(*c, p + ".containers", &ac.containers, errors);
    if (const json* e = r.Get("entra")) ParseEntra(*e, p + ".entra", &ac.entra, errors);
    r.Done();
    cfg->accounts.push_back(std::move(ac));
  }
}

void ParseTier(const json& j, TierConfig* tc, std::vector<std::string>* errors) {
  ObjectReader r(j, "tier", errors);
  if (r.Str("remote", &tc->remote, true) && !StartsWith(tc->remote, "https://") &&
      !StartsWith(tc->remote, "http://"))
    r.Error("tier.remote", "must be an http(s) URL of a container");
  r.Base64Key("key", &tc->remote_key);
  r.Str("prefix", &tc->prefix);
  if (const json* p = r.Get("pinned")) {
    if (!p->is_array()) {
      r.Error("tier.pinned", "must be an array of \"container/prefix\" strings");
    } else {
      tc->pinned.clear();
      for (size_t i = 0; i < p->size(); ++i) {
        const json& e = (*p)[i];
        std::string path = "tier.pinned[" + std::to_string(i) + "]";
        if (!e.is_string()) {
          r.Error(path, "must be a \"container/prefix\" string");
          continue;
        }
        std::string s = e.get<std::string>();
        if (!ns::ValidateContainerName(s.substr(0, s.find('/'))).ok())
          r.Error(path, "must start with a valid container name (got \"" + s + "\")");
        tc->pinned.push_back(s);
      }
    }
  }
  if (const json* p = r.Get("policy")) {
    if (!p->is_object())
      r.Error("tier.policy", "must be a lifecycle management policy (a JSON object)");
    else
      tc->policy_json = p->dump();
  }
  r.Int("interval", &tc->policy_interval_s, 1, 365 * 86400);
  r.Num("high_watermark", &tc->high_watermark, 0, 100);
  r.Num("low_watermark", &tc->low_watermark, 0, 100);
  r.U64("capacity", &tc->capacity_bytes, 0);
  r.Int("workers", &tc->workers, 1, 1024);
  r.Int("max_concurrency", &tc->max_concurrency, 1, 1024);
  r.U64("bandwidth", &tc->bandwidth_bytes_per_sec, 0);
}

void ParseCopySources(const json& j, tier::FetchPolicy* p, std::vector<std::string>* errors) {
  ObjectReader r(j, "copy_sources", errors);
  if (const json* hosts = r.Get("hosts")) {
    if (!hosts->is_array()) {
      r.Error("copy_sources.hosts", "must be an array of host patterns");
    } else {
      p->hosts.clear();
      for (size_t i = 0; i < hosts->size(); ++i) {
        const json& e = (*hosts)[i];
        std::string path = "copy_sources.hosts[" + std::to_string(i) + "]";
        std::string h = e.is_string() ? e.get<std::string>() : "";
        bool ok = !h.empty() && h.find_first_of("/@:?# ") == std::string::npos &&
                  (h == "*" || h.find('*') == std::string::npos ||
                   (StartsWith(h, "*.") && h.find('*', 1) == std::string::npos && h.size() > 2));
        if (!ok)
          r.Error(path, "'" + h + "' is not a host name, *.suffix or *");
        else
          p->hosts.push_back(h);
      }
    }
  }
  r.Bool("allow_private", &p->allow_private);
  r.Int("connect_timeout_s", &p->connect_timeout_s, 1, 86400);
  r.Int("timeout_s", &p->timeout_s, 1, 7 * 86400);
  r.Int("min_speed_window_s", &p->min_speed_window_s, 1, 86400);
  r.Int("max_concurrent", &p->max_concurrent, 1, 4096);
  r.U64("min_speed_bytes", &p->min_speed_bytes, 0);
  r.U64("max_bytes", &p->max_bytes, 0);
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "/a/b/" and "/a/b" name one directory.
std::string WithoutTrailingSlash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

void ParseConfigJson(const std::string& text, Config* cfg, std::vector<std::string>* errors) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    errors->push_back(std::string("not JSON: ") + e.what());
    return;
  }
  ObjectReader r(j, "", errors);
  if (r.Str("host", &cfg->host, true) && !IsIpAddress(cfg->host))
    r.Error("host", "must be an IPv4 or IPv6 address (got \"" + cfg->host + "\")");
  r.Int("port", &cfg->port, 0, 65535);
  r.Int("dfs_port", &cfg->dfs_port, 0, 65535);
  r.Str("cert", &cfg->tls_cert, true);
  r.Str("key", &cfg->tls_key, true);
  r.Int("tls_port", &cfg->tls_port, 0, 65535);
  r.Int("dfs_tls_port", &cfg->dfs_tls_port, 0, 65535);
  r.AbsPath("root", &cfg->root);
  r.Bool("create_root", &cfg->create_root);
  r.Int("drain_seconds", &cfg->drain_seconds, 0, 86400);
  std::string d;
  if (r.Str("durability", &d)) {
    if (d != "fsync" && d != "none")
      r.Error("durability", "must be \"fsync\" or \"none\"");
    else
      cfg->fsync = d == "fsync";
  }
  r.Bool("single_gateway", &cfg->single_gateway);
  r.Int("threads", &cfg->threads, 0, 1024);
  if (const json* c = r.Get("containers"))
    ParseContainers(*c, "containers", &cfg->dev_containers, errors);
  if (const json* a = r.Get("accounts")) ParseAccounts(*a, cfg, errors);
  if (const json* t = r.Get("tier")) ParseTier(*t, &cfg->tier, errors);
  if (const json* c = r.Get("copy_sources")) ParseCopySources(*c, &cfg->copy_sources, errors);
  if (const json* e = r.Get("entra")) ParseEntra(*e, "entra", &cfg->entra, errors);
  r.Done();
}

Status LoadConfigFile(const std::string& path, Config* cfg) {
  std::ifstream in(path);
  if (!in) return Status(ErrorKind::kNotFound, "cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> errors;
  ParseConfigJson(ss.str(), cfg, &errors);
  if (errors.empty()) return Status::Ok();
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + path + ": " + e;
  return Status(ErrorKind::kInvalidArgument, msg);
}

void ValidateConfig(const Config& cfg, std::vector<std::string>* errors) {
  auto err = [errors](const std::string& s) { errors->push_back(s); };
  if (!IsIpAddress(cfg.host))
    err("host (--host): must be an IPv4 or IPv6 address (got \"" + cfg.host + "\")");
  if (cfg.port < 0 || cfg.port > 65535) err("port (--port): must be from 0 to 65535");
  if (cfg.dfs_port < 0 || cfg.dfs_port > 65535)
    err("dfs_port (--dfs-port): must be from 0 to 65535");
  else if (cfg.dfs_port != 0 && cfg.dfs_port == cfg.port)
    err("dfs_port (--dfs-port): must be a free port other than --port");
  // HTTPS: both files or neither; the ports apart.
  bool https = !cfg.tls_cert.empty() || !cfg.tls_key.empty();
  if (https && (cfg.tls_cert.empty() || cfg.tls_key.empty()))
    err("cert, key: HTTPS needs both --cert and --key (a certificate and its key)");
  if (!https && (cfg.tls_port >= 0 || cfg.dfs_tls_port != 0))
    err("tls_port, dfs_tls_port: --tls-port and --dfs-tls-port need --cert and --key");
  if (cfg.tls_port < -1 || cfg.tls_port > 65535) err("tls_port (--tls-port): must be from 0 to 65535");
  if (cfg.dfs_tls_port < 0 || cfg.dfs_tls_port > 65535)
    err("dfs_tls_port (--dfs-tls-port): must be from 0 to 65535");
  if (cfg.dfs_tls_port != 0 && cfg.tls_port < 0)
    err("dfs_tls_port: --dfs-tls-port needs --tls-port (without it --dfs-port serves HTTPS "
        "itself)");
  {
    std::vector<int> ports = {cfg.port, cfg.dfs_port, cfg.tls_port, cfg.dfs_tls_port};
    bool clash = false;
    for (size_t i = 0; i < ports.size(); ++i)
      for (size_t k = i + 1; k < ports.size(); ++k) clash |= ports[i] > 0 && ports[i] == ports[k];
    if (clash) err("port, dfs_port, tls_port, dfs_tls_port: must be different ports");
  }
  if (cfg.root.empty()) err("root (--root): must not be empty");
  if (cfg.threads < 0) err("threads (--threads): must be 0 (one per core) or more");
  if (cfg.drain_seconds < 0) err("drain_seconds (--drain-seconds): must be 0 or more");
  // Roots: one account, one root (two stores on one root would share its
  // containers and its coordination files).
  std::map<std::string, std::string> roots;
  auto root_of = [&](const std::string& who, const std::string& root) {
    std::string r = WithoutTrailingSlash(root);
    auto [it, fresh] = roots.emplace(r, who);
    if (!fresh) err(who + ".root: " + root + " is already the root of " + it->second);
  };
  bool dev_configured = false;
  for (const auto& a : cfg.accounts) dev_configured |= a.name == kDevAccount;
  if (!dev_configured) root_of("the development account (--root)", cfg.root);
  for (size_t i = 0; i < cfg.accounts.size(); ++i) {
    const AccountConfig& a = cfg.accounts[i];
    std::string who = a.name.empty() ? "accounts[" + std::to_string(i) + "]" : "account " + a.name;
    if (!a.root.empty()) root_of(who, a.root);
  }
  const TierConfig& t = cfg.tier;
  if (!t.remote_key.empty() && !Base64Decode(t.remote_key))
    err("tier.key (--tier-remote-key): is not base64");
  if (t.high_watermark < 0 || t.high_watermark > 100)
    err("tier.high_watermark (--tier-high-watermark): must be from 0 to 100");
  if (t.low_watermark < 0 || t.low_watermark > 100)
    err("tier.low_watermark (--tier-low-watermark): must be from 0 to 100");
  if (t.high_watermark > 0 && (t.low_watermark <= 0 || t.low_watermark >= t.high_watermark))
    err("tier.low_watermark (--tier-low-watermark): the low watermark must lie between 0 and the "
        "high one (" +
        std::to_string(t.high_watermark) + ")");
  if (t.policy_interval_s < 1) err("tier.interval (--tier-interval): must be 1 or more");
  if (t.workers < 1) err("tier.workers (--tier-workers): must be 1 or more");
  if (!t.policy_json.empty()) {
    auto p = tier::LifecyclePolicy::Parse(t.policy_json);
    if (!p.ok()) err("tier.policy (--tier-policy): " + p.status().message());
  }
}

std::vector<std::string> RestartOnlyChanges(const Config& a, const Config& b) {
  std::vector<std::string> out;
  auto diff = [&out](bool changed, const char* name) {
    if (changed) out.push_back(name);
  };
  diff(a.host != b.host, "host");
  diff(a.port != b.port, "port");
  diff(a.dfs_port != b.dfs_port, "dfs_port");
  diff(a.tls_cert != b.tls_cert || a.tls_key != b.tls_key, "cert/key");
  diff(a.tls_port != b.tls_port || a.dfs_tls_port != b.dfs_tls_port, "tls_port/dfs_tls_port");
  diff(a.root != b.root, "root");
  diff(a.threads != b.threads, "threads");
  diff(a.fsync != b.fsync, "durability");
  diff(a.single_gateway != b.single_gateway, "single_gateway");
  const TierConfig &t = a.tier, &u = b.tier;
  diff(t.remote != u.remote, "tier.remote");
  diff(t.remote_key != u.remote_key, "tier.key");
  diff(t.prefix != u.prefix, "tier.prefix");
  diff(t.pinned != u.pinned, "tier.pinned");
  diff(t.policy_json != u.policy_json, "tier.policy");
  diff(t.policy_interval_s != u.policy_interval_s, "tier.interval");
  diff(t.high_watermark != u.high_watermark || t.low_watermark != u.low_watermark,
       "tier watermarks");
  diff(t.capacity_bytes != u.capacity_bytes, "tier.capacity");
  diff(t.workers != u.workers, "tier.workers");
  diff(t.max_concurrency != u.max_concurrency, "tier.max_concurrency");
  diff(t.bandwidth_bytes_per_sec != u.bandwidth_bytes_per_sec, "tier.bandwidth");
  const tier::FetchPolicy &p = a.copy_sources, &q = b.copy_sources;
  diff(p.hosts != q.hosts || p.allow_private != q.allow_private || p.max_bytes != q.max_bytes ||
           p.max_concurrent != q.max_concurrent || p.connect_timeout_s != q.connect_timeout_s ||
           p.timeout_s != q.timeout_s || p.min_speed_bytes != q.min_speed_bytes ||
           p.min_speed_window_s != q.min_speed_window_s,
       "copy_sources");
  return out;
}

void KeepRestartOnly(const Config& running, Config* next) {
  next->host = running.host;
  next->port = running.port;
  next->dfs_port = running.dfs_port;
  next->tls_cert = running.tls_cert;
  next->tls_key = running.tls_key;
  next->tls_port = running.tls_port;
  next->dfs_tls_port = running.dfs_tls_port;
  next->root = running.root;
  next->threads = running.threads;
  next->fsync = running.fsync;
  next->single_gateway = running.single_gateway;
  next->tier = running.tier;
  next->copy_sources = running.copy_sources;
}

bool MayCreateRoot(const Config& cfg, const std::string& root) {
  return cfg.create_root || root == kDefaultRoot;
}

void ValidateEnvironment(const Config& cfg, std::vector<std::string>* errors) {
  for (const auto& a : cfg.accounts) {
    struct stat st;
    std::string who =
        a.name == kDevAccount && a.root == cfg.root ? "--root" : "account " + a.name + " root";
    if (::stat(a.root.c_str(), &st) != 0) {
      if (!MayCreateRoot(cfg, a.root))
        errors->push_back(who + ": " + a.root +
                          " does not exist (is its file system mounted?); create it, or pass "
                          "--create-root (config \"create_root\": true) to have strata create it");
    } else if (!S_ISDIR(st.st_mode)) {
      errors->push_back(who + ": " + a.root + " is not a directory");
    } else if (::access(a.root.c_str(), R_OK | W_OK | X_OK) != 0) {
      errors->push_back(who + ": " + a.root + " is not writable by this user");
    }
    for (const auto& [name, entry] : a.containers) {
      if (entry.path.empty()) continue;
      char* real = ::realpath(entry.path.c_str(), nullptr);
      struct stat vs;
      if (!real || ::stat(real, &vs) != 0 || !S_ISDIR(vs.st_mode))
        errors->push_back("account " + a.name + ", view " + name + ": " + entry.path +
                          " is not a directory");
      std::free(real);
    }
  }
  if (!cfg.tls_cert.empty()) {
    for (const auto& [what, path] : {std::pair<std::string, std::string>{"cert (--cert)", cfg.tls_cert},
                                     {"key (--key)", cfg.tls_key}}) {
      if (::access(path.c_str(), R_OK) != 0)
        errors->push_back(what + ": cannot read " + path + ": " + std::strerror(errno));
    }
  }
  for (const auto& f : cfg.required_files) {
    std::ifstream in(f.path);
    if (!in) errors->push_back(f.what + ": cannot read " + f.path);
  }
}

void AddDefaultAccount(Config* cfg) {
  for (const auto& a : cfg->accounts)
    if (a.name == kDevAccount) return;
  AccountConfig dev;
  dev.name = kDevAccount;
  dev.key_base64 = kDevKey;
  dev.root = cfg->root;
  dev.containers = cfg->dev_containers;  // entra: the top level's, if any
  cfg->accounts.insert(cfg->accounts.begin(), std::move(dev));
}

}  // namespace strata::server
