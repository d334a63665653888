// The flags of `strata serve` and how they combine with the config file:
// the file sets what it names over the defaults, and every flag given on
// the command line wins over the file (at start and at each reload).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "api/copy_jobs.h"
#include "http/server.h"
#include "server/config.h"

namespace strata::server {

struct ServeFlags {
  Config cfg;  // the flags' values (Config's defaults where not given)
  std::string config_path;
  std::string durability = "fsync";
  std::string tier_policy_file;
  bool check_config = false;
  // Flags the file does not set.
  int admin_port = -1;  // off
  std::string admin_host = "127.0.0.1";
  int io_timeout_s = 0;  // 0: http::ServerOptions' default
  int worker_threads = 0;
  api::CopyJobOptions copy_opt;
  double rehydrate_delay_s = 10;
  uint64_t max_uncommitted_blocks = ns::Store::kMaxUncommittedBlocks;
  http::ServerOptions limits;
  uint64_t body_memory_mib = http::ServerOptions().body_memory_limit >> 20;
  // Observability: the access log and the server's own messages.
  std::string access_log = "off";  // stderr | FILE | off
  std::string access_log_format = "plain";
  std::string log_level = "info";
  double status_interval_s = 10;  // the status page's history (hidden: tests)
  // For each flag the file also sets: copies the flag's value over the
  // file's when the flag was given.
  std::vector<std::pair<CLI::Option*, std::function<void(const Config& flags, Config* out)>>>
      overlays;
};

// Declares the flags of `serve` on `app`, bound to *f (which outlives app).
void AddServeFlags(CLI::App* serve, ServeFlags* f);

// The configuration to run: Config's defaults, then the config file's
// settings (if --config), then the flags given, then the development
// account (AddDefaultAccount); then ValidateConfig. Each problem goes to
// *errors (the result is then not to be served).
Config ComposeConfig(const ServeFlags& f, std::vector<std::string>* errors);

}  // namespace strata::server
