#include "server/flags.h"

#include <fstream>
#include <sstream>

namespace strata::server {

namespace {

// An option the config file also sets: `get` names the setting in a Config.
template <typename Get>
CLI::Option* Shared(CLI::App* app, ServeFlags* f, const std::string& name, Get get,
                    const std::string& desc) {
  CLI::Option* o = app->add_option(name, get(f->cfg), desc);
  f->overlays.push_back(
      {o, [get](const Config& from, Config* to) { get(*to) = get(const_cast<Config&>(from)); }});
  return o;
}

CLI::Option* SharedFlag(CLI::App* app, ServeFlags* f, const std::string& name, bool Config::*member,
                        const std::string& desc) {
  CLI::Option* o = app->add_flag(name, f->cfg.*member, desc);
  f->overlays.push_back(
      {o, [member](const Config& from, Config* to) { to->*member = from.*member; }});
  return o;
}

}  // namespace

void AddServeFlags(CLI::App* serve, ServeFlags* f) {
  Config& c = f->cfg;
  serve
      ->add_option(
          "--config", f->config_path,
          "JSON config file (accounts, views, quotas, tier, copy sources); SIGHUP reloads it")
      ->default_str("none");
  serve->add_flag(
      "--check-config", f->check_config,
      "Validate the flags and the config file (roots exist, keys decode, views resolve) "
      "and exit: 0 when valid, 2 with the reasons; listens on nothing, touches no root");
  Shared(
      serve, f, "--host", [](Config & c) -> auto& { return c.host; },
      "Address to listen on (an IP address)")
      ->capture_default_str();
  Shared(
      serve, f, "--port", [](Config & c) -> auto& { return c.port; },
      "Port to listen on (0 picks one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  Shared(
      serve, f, "--dfs-port", [](Config & c) -> auto& { return c.dfs_port; },
      "Port of the dfs endpoint of its own, path-style URLs (0: none; the main port serves dfs "
      "requests too)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  Shared(
      serve, f, "--cert", [](Config & c) -> auto& { return c.tls_cert; },
      "PEM certificate chain: serve HTTPS (on --port and --dfs-port, or on --tls-port and "
      "--dfs-tls-port when given)")
      ->default_str("none");
  Shared(
      serve, f, "--key", [](Config & c) -> auto& { return c.tls_key; }, "PEM private key of --cert")
      ->default_str("none");
  Shared(
      serve, f, "--tls-port", [](Config & c) -> auto& { return c.tls_port; },
      "Port of HTTPS beside plain HTTP on --port (0 picks one; needs --cert/--key; -1: HTTPS "
      "replaces HTTP when --cert is given)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  Shared(
      serve, f, "--dfs-tls-port", [](Config & c) -> auto& { return c.dfs_tls_port; },
      "Port of an HTTPS dfs endpoint beside --dfs-port (0: none; needs --tls-port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  Shared(
      serve, f, "--root", [](Config & c) -> auto& { return c.root; },
      "Namespace root of the default account (must exist, unless it is ./data or --create-root)")
      ->capture_default_str();
  SharedFlag(serve, f, "--create-root", &Config::create_root,
             "Create roots that do not exist (else a missing root is an error)");
  Shared(
      serve, f, "--drain-seconds", [](Config & c) -> auto& { return c.drain_seconds; },
      "On SIGTERM, seconds in-flight requests get to finish (new connections are refused); "
      "a second SIGTERM or SIGINT ends at once")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  CLI::Option* dur =
      serve
          ->add_option("--durability", f->durability,
                       "fsync: data is on disk before a write is answered; none: not")
          ->check(CLI::IsMember({"fsync", "none"}))
          ->capture_default_str();
  f->overlays.push_back(
      {dur, [f](const Config&, Config* to) { to->fsync = f->durability == "fsync"; }});
  SharedFlag(serve, f, "--single-gateway", &Config::single_gateway,
             "This is the only gateway on its roots: no file locks (refused while other gateways "
             "serve the root; they are refused while it does)");
  Shared(
      serve, f, "--threads", [](Config & c) -> auto& { return c.threads; },
      "I/O threads (0: one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  // Capacity tier.
  Shared(
      serve, f, "--tier-remote", [](Config & c) -> auto& { return c.tier.remote; },
      "Remote Azure container URL for the capacity tier (with a SAS, or with "
      "--tier-remote-key); none: no tier")
      ->default_str("none");
  Shared(
      serve, f, "--tier-remote-key", [](Config & c) -> auto& { return c.tier.remote_key; },
      "Base64 account key of the remote (SharedKey)")
      ->default_str("none");
  Shared(
      serve, f, "--tier-prefix", [](Config & c) -> auto& { return c.tier.prefix; },
      "Remote names are PREFIX/CONTAINER/BLOB")
      ->capture_default_str();
  Shared(
      serve, f, "--tier-pin", [](Config & c) -> auto& { return c.tier.pinned; },
      "CONTAINER/PREFIX whose blobs never move (repeatable)")
      ->default_str("none");
  serve
      ->add_option("--tier-policy", f->tier_policy_file,
                   "Azure lifecycle management policy (JSON file)")
      ->check(CLI::ExistingFile)
      ->default_str("none");
  Shared(
      serve, f, "--tier-interval", [](Config & c) -> auto& { return c.tier.policy_interval_s; },
      "Seconds between runs of the policy and the watermarks")
      ->check(CLI::Range(1, 365 * 86400))
      ->capture_default_str();
  Shared(
      serve, f, "--tier-high-watermark", [](Config & c) -> auto& { return c.tier.high_watermark; },
      "Offload least recently read blobs when the file system is fuller than this percent (0: off)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  Shared(
      serve, f, "--tier-low-watermark", [](Config & c) -> auto& { return c.tier.low_watermark; },
      "... until it is below this percent")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  Shared(
      serve, f, "--tier-capacity", [](Config & c) -> auto& { return c.tier.capacity_bytes; },
      "Watermarks count local blob bytes against this capacity (0: the file system)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 62))
      ->capture_default_str();
  Shared(
      serve, f, "--tier-workers", [](Config & c) -> auto& { return c.tier.workers; },
      "Concurrent offloads and recalls")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  // Hidden: tests run the policy's clock ahead instead of waiting days, and
  // retry sooner.
  serve->add_option("--tier-clock-offset-days", c.tier.clock_offset_days, "")
      ->check(CLI::Range(0.0, 1e6))
      ->group("");
  serve->add_option("--tier-retry-ms", c.tier.retry_delay_ms, "")
      ->check(CLI::Range(1, 3600000))
      ->group("");
  serve
      ->add_option(
          "--admin-port", f->admin_port,
          "Port of the operator endpoints: /metrics (Prometheus) and /tier/* (0 picks one)")
      ->check(CLI::Range(0, 65535))
      ->default_str("off");
  serve
      ->add_option("--admin-host", f->admin_host,
                   "Address of the operator endpoints (no auth: keep it local)")
      ->capture_default_str();
  // Hidden (empty group): tests shorten the stall timeout to stay fast.
  serve
      ->add_option("--io-timeout", f->io_timeout_s,
                   "Seconds without progress before a request is dropped")
      ->check(CLI::Range(1, 3600))
      ->group("");
  // Long work (copies, recursive changes, listings) runs on worker threads,
  // never on an I/O thread; large Copy Blob copies run in the background.
  serve
      ->add_option("--worker-threads", f->worker_threads,
                   "Threads for long requests (copies, recursive changes; 0: one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  serve->add_option("--copy-threads", f->copy_opt.threads, "Background Copy Blob copies at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  // Hidden: tests lower the background threshold and slow the copies down.
  serve->add_option("--copy-async-threshold", f->copy_opt.threshold, "")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 62))
      ->group("");
  serve->add_option("--copy-step", f->copy_opt.step, "")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->group("");
  serve->add_option("--copy-step-delay-ms", f->copy_opt.step_delay_ms, "")
      ->check(CLI::Range(0, 60000))
      ->group("");
  serve->add_option("--copy-sweep-interval", f->copy_opt.sweep_interval_s, "")
      ->check(CLI::Range(1, 86400))
      ->group("");
  // A rehydration from Archive of local data completes after this long
  // (High priority: a tenth), so clients see it pending as on Azure.
  serve
      ->add_option(
          "--rehydrate-delay", f->rehydrate_delay_s,
          "Seconds a rehydration from Archive takes (data is local; High priority: a tenth)")
      ->check(CLI::Range(0.0, 30.0 * 86400))
      ->capture_default_str();
  // Hidden: tests lower Azure's limit of uncommitted blocks per blob.
  serve
      ->add_option("--max-uncommitted-blocks", f->max_uncommitted_blocks,
                   "Most uncommitted blocks of one blob")
      ->check(CLI::Range(uint64_t{1}, uint64_t{ns::Store::kMaxUncommittedBlocks}))
      ->group("");
  // The limits that keep slow clients from holding the server (see
  // http::ServerOptions): tests shorten them; operators rarely need to.
  serve
      ->add_option("--header-timeout", f->limits.header_timeout_s,
                   "Seconds a request header may take to arrive, however it trickles")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve
      ->add_option("--body-min-rate", f->limits.body_min_rate,
                   "Bytes a second a request body must average over each --body-rate-window")
      ->check(CLI::Range(uint32_t{0}, uint32_t{1} << 30))
      ->capture_default_str();
  serve
      ->add_option("--body-rate-window", f->limits.body_rate_window_s,
                   "Seconds over which a body's rate is measured (a slower body is cut off)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve
      ->add_option("--body-memory", f->body_memory_mib,
                   "MiB all request bodies may hold in memory together (back-pressure beyond)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  serve
      ->add_option("--access-log", f->access_log,
                   "One line per request: stderr, a FILE (reopened on SIGHUP), or off")
      ->capture_default_str();
  serve->add_option("--access-log-format", f->access_log_format, "plain or json")
      ->check(CLI::IsMember({"plain", "json"}))
      ->capture_default_str();
  serve->add_option("--log-level", f->log_level, "Server messages: error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
  // Hidden: tests sample the status page's history faster than every 10 s.
  serve->add_option("--status-interval", f->status_interval_s, "")
      ->check(CLI::Range(0.05, 3600.0))
      ->group("");
}

Config ComposeConfig(const ServeFlags& f, std::vector<std::string>* errors) {
  Config out;
  if (!f.config_path.empty()) {
    std::ifstream in(f.config_path);
    if (!in) {
      errors->push_back("--config: cannot read " + f.config_path);
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      std::vector<std::string> file_errors;
      ParseConfigJson(ss.str(), &out, &file_errors);
      for (const auto& e : file_errors) errors->push_back(f.config_path + ": " + e);
    }
  }
  for (const auto& [opt, copy] : f.overlays)
    if (opt->count() > 0) copy(f.cfg, &out);
  out.tier.clock_offset_days = f.cfg.tier.clock_offset_days;
  out.tier.retry_delay_ms = f.cfg.tier.retry_delay_ms;
  if (!f.tier_policy_file.empty()) {
    std::ifstream in(f.tier_policy_file);
    std::stringstream ss;
    if (!in) errors->push_back("--tier-policy: cannot read " + f.tier_policy_file);
    ss << in.rdbuf();
    out.tier.policy_json = ss.str();
  }
  out.required_files.insert(out.required_files.end(), f.cfg.required_files.begin(),
                            f.cfg.required_files.end());
  AddDefaultAccount(&out);
  ValidateConfig(out, errors);
  return out;
}

}  // namespace strata::server
