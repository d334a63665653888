// Server configuration: command-line flags and the optional JSON config file.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace strata::server {

inline constexpr char kDevAccount[] = "devstoreaccount1";
inline constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct AccountConfig {
  std::string name;
  std::string key_base64;
  std::string root;  // the account's namespace root
};

struct Config {
  std::string host = "127.0.0.1";
  int port = 10000;
  std::string root = "./data";
  bool fsync = true;
  int threads = 0;
  std::vector<AccountConfig> accounts;  // the first is the default
};

// Reads a JSON config file over `cfg`:
//   {"host": "...", "port": 10000, "root": "...", "durability": "fsync"|"none",
//    "threads": 2,
//    "accounts": [{"name": "acct", "key": "<base64>", "root": "/srv/acct"}]}
// Every account in the file needs a name, a base64 key and its own root.
Status LoadConfigFile(const std::string& path, Config* cfg);

// Adds the development account at cfg->root unless an account of that name
// was configured.
void AddDefaultAccount(Config* cfg);

}  // namespace strata::server
