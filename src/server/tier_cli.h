// `strata tier status|offload|recall|verify PATH...`: the capacity tier's
// command line, a client of a running server's admin endpoints
// (--admin-port; see admin.h). PATH is CONTAINER/BLOB or CONTAINER/PREFIX.
// offload and recall wait until every blob got there (or failed), showing a
// progress bar when stdout is a terminal. Returns the process exit code:
// 0 when everything asked for holds, 1 when something failed, 2 on usage.
#pragma once

#include <string>
#include <vector>

namespace strata::server {

struct TierCliOptions {
  std::string verb;   // status | offload | recall | verify
  std::string admin;  // http://127.0.0.1:PORT
  std::vector<std::string> paths;
  std::string tier = "Cool";  // offload: Cool | Cold | Archive
  std::string account;        // "" = the default account
  int timeout_s = 3600;
  bool wait = true;
};

int RunTierCli(const TierCliOptions& o);

}  // namespace strata::server
