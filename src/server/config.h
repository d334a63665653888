// Server configuration: command-line flags and the optional JSON config file.
//
// The file is read strictly: an unknown key anywhere, a value of the wrong
// type or out of range, a bad base64 key, a relative view path, a duplicate
// account name or an invalid container name is an error naming the key's
// path ("accounts[1].containers.data.max_bytes: must be a positive
// integer"). Every problem is reported, not only the first.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "tier/url_fetch.h"

namespace strata::server {

inline constexpr char kDevAccount[] = "devstoreaccount1";
inline constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// A container in cache mode (README, "Cache mode"): it fronts an existing
// remote Azure container.
struct CacheEntry {
  std::string remote;      // the remote container's URL, with a SAS or with `remote_key`
  std::string remote_key;  // base64 account key for SharedKey
  std::string write_mode = "write_through";  // write_through | write_back
  int revalidate_s = 60;         // listings and the leader look again after this
  bool hydrate_on_range = true;  // a ranged read starts a hydration of the whole blob
  int max_concurrency = 8;       // remote requests in flight
  uint64_t bandwidth_bytes_per_sec = 0;  // 0: no cap
  std::string ca_file;                   // HTTPS remote: CA bundle to trust ("" = system)
  bool operator==(const CacheEntry&) const = default;
};

// One entry of an account's "containers": a view, limits, or a cache.
struct ContainerEntry {
  std::string path;  // non-empty: a view over this directory
  bool read_only = false;
  uint64_t max_bytes = 0;  // 0: none
  uint64_t max_files = 0;  // 0: none
  std::optional<CacheEntry> cache;  // "mode": "cache"
};

// Microsoft Entra ID for an account (server/entra_keys.h builds it).
struct EntraConfig {
  std::string tenant;                  // required
  std::vector<std::string> issuers;    // empty: the tenant's v1 and v2 issuers
  std::vector<std::string> audiences;  // besides https://storage.azure.com[/] and the account URLs
  std::string jwks;                    // a JWKS file, or
  std::string openid_config;           // an OpenID configuration file or loopback URL (jwks_uri)
  struct Assignment {
    std::string principal, role, container;  // container "": account scope
  };
  std::vector<Assignment> rbac;
  std::vector<std::string> superusers;
  bool allow_http = false;
  int clock_skew_s = 300;
  int jwks_min_reload_s = 10;
  int jwks_max_age_s = 3600;
};

struct AccountConfig {
  std::string name;
  std::string key_base64;                            // key1
  std::string key2_base64;                           // key2 (rotation); "" when none
  std::string root;                                  // the account's namespace root
  std::map<std::string, ContainerEntry> containers;  // by container name
  std::optional<EntraConfig> entra;  // none: the top-level "entra", if any
};

// The capacity tier (DESIGN.md, "Capacity tier"); off when remote is empty.
struct TierConfig {
  std::string remote;               // container URL, with a SAS or with `key`
  std::string remote_key;           // base64 account key for SharedKey
  std::string prefix = "strata";    // remote names: PREFIX/CONTAINER/BLOB
  std::vector<std::string> pinned;  // "container/prefix": never moves
  std::string policy_json;          // an Azure lifecycle management policy
  int policy_interval_s = 3600;     // how often the policy and watermarks run
  double high_watermark = 0;        // percent of the file system used; 0: off
  double low_watermark = 0;
  uint64_t capacity_bytes =
      0;  // watermarks against this many bytes of blob data; 0: the file system
  int workers = 2;
  int max_concurrency = 8;
  uint64_t bandwidth_bytes_per_sec = 0;
  double clock_offset_days = 0;  // tests: the policy's "now" runs ahead
  int retry_delay_ms = 2000;
};

// A file the configuration names that must be readable (e.g. a TLS
// certificate): checked by ValidateEnvironment.
struct RequiredFile {
  std::string what;  // the flag or key naming it, for the message
  std::string path;
};

inline constexpr char kDefaultRoot[] = "./data";

struct Config {
  std::string host = "127.0.0.1";
  int port = 10000;
  // The dfs endpoint's own listener on `host` (0: none); the shared port
  // serves dfs requests too, told apart by their query.
  int dfs_port = 0;
  // HTTPS (PEM files). With both set and tls_port < 0, the listeners of
  // `port` and `dfs_port` speak HTTPS instead of HTTP; with tls_port >= 0
  // (0 picks one) they stay HTTP and HTTPS listens on tls_port, and on
  // dfs_tls_port (0: none) for the dfs endpoint.
  std::string tls_cert;
  std::string tls_key;
  int tls_port = -1;
  int dfs_tls_port = 0;
  std::string root = kDefaultRoot;
  // Roots (--root, account roots) that do not exist are created; else a
  // missing root is an error (an unmounted shared file system would be
  // served empty). The default root, ./data, is always created.
  bool create_root = false;
  // SIGTERM: in-flight requests get this long to finish (0: cut at once).
  int drain_seconds = 30;
  bool fsync = true;
  // The operator says this is the only gateway on its roots: no file locks.
  bool single_gateway = false;
  int threads = 0;
  std::vector<AccountConfig> accounts;  // the first is the default
  // "containers" at the top level: those of the development account.
  std::map<std::string, ContainerEntry> dev_containers;
  TierConfig tier;
  // Copy sources on other hosts (From-URL copies): off while hosts is empty.
  tier::FetchPolicy copy_sources;
  // Files that must be readable (ValidateEnvironment); TLS adds its own.
  std::vector<RequiredFile> required_files;
  // Microsoft Entra ID for every account that names none of its own.
  std::optional<EntraConfig> entra;
};

// Reads a JSON config file over `cfg`:
//   {"host": "...", "port": 10000, "dfs_port": 0, "root": "...",
//    "create_root": false, "drain_seconds": 30,
//    "cert": "server.pem", "key": "server.key", "tls_port": 10443, "dfs_tls_port": 0,
//    "durability": "fsync"|"none",
//    "single_gateway": false,
//    "threads": 2,
//    "containers": {"NAME": {"path": "/data/set", "read_only": true,
//                            "max_bytes": 1000, "max_files": 10}},
//    "accounts": [{"name": "acct", "key": "<base64>", "key2": "<base64>",
//                  "root": "/srv/acct", "containers": {...}}],
//    "tier": {"remote": "URL", "key": "<base64>", "prefix": "strata",
//             "pinned": ["container/prefix"], "policy": {<lifecycle policy>},
//             "interval": 3600, "high_watermark": 90, "low_watermark": 80,
//             "capacity": 0,
//             "workers": 2, "max_concurrency": 8, "bandwidth": 0},
//    "copy_sources": {"hosts": ["*.blob.core.windows.net"], "allow_private": false,
//                     "connect_timeout_s": 10, "timeout_s": 600,
//                     "min_speed_bytes": 1024, "min_speed_window_s": 30,
//                     "max_bytes": 0, "max_concurrent": 4}}
// Every account in the file needs a name, a base64 key and its own root;
// "key2" (optional) is its second key: signatures made with either verify,
// so clients can move to one key while the other is regenerated.
// "containers" (top level: the development account's) maps valid container
// names to a view ("path", absolute) and/or limits, all optional.
// "copy_sources" lets From-URL copies read other hosts (tier/url_fetch.h):
// host patterns ("name", "*.suffix", "*"); loopback and private addresses
// only with allow_private; the time limits in seconds.
// "entra" (top level: every account without its own; or in an account):
//   {"tenant": "TENANT", "issuers": [...], "audiences": [...],
//    "jwks": "/path/keys.json" | "openid_config": "/path" | "http://127.0.0.1:PORT/...",
//    "rbac": [{"principal": "<oid|appid|group>", "role": "Storage Blob Data Reader",
//              "scope": "account" | "container/NAME"}],
//    "superusers": ["<oid|appid|group>"], "allow_http": false,
//    "clock_skew_s": 300, "jwks_min_reload_s": 10, "jwks_max_age_s": 3600}
// Returns kInvalidArgument with one line per problem ("KEY.PATH: reason").
Status LoadConfigFile(const std::string& path, Config* cfg);
// The same for a document already read; adds each problem to *errors.
void ParseConfigJson(const std::string& text, Config* cfg, std::vector<std::string>* errors);

// Checks of the whole configuration (file and flags together) that need no
// disk: ranges, ports, watermarks, account names and keys. Adds each
// problem to *errors.
void ValidateConfig(const Config& cfg, std::vector<std::string>* errors);

// Checks against the machine, touching nothing: every account root exists
// as a directory (or may be created: create_root, or the default ./data),
// views resolve to directories, required files are readable. REQUIRES:
// AddDefaultAccount(cfg) was called.
void ValidateEnvironment(const Config& cfg, std::vector<std::string>* errors);

// A reload (SIGHUP) applies the accounts (server/served_accounts.h),
// drain_seconds, create_root and what reload hooks take; the settings below
// need a restart. RestartOnlyChanges names those that differ ("port",
// "tier.key": never a value); KeepRestartOnly sets them in *next back to
// the running ones.
std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& next);
void KeepRestartOnly(const Config& running, Config* next);

// Whether `root` may be created when missing (see Config::create_root).
bool MayCreateRoot(const Config& cfg, const std::string& root);

// Adds the development account at cfg->root unless an account of that name
// was configured.
void AddDefaultAccount(Config* cfg);

}  // namespace strata::server
