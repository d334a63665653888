// strata: an Azure Blob Storage-compatible server over a POSIX namespace.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "api/api.h"
#include "api/copy_jobs.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/server.h"
#include "server/access_log.h"
#include "server/admin.h"
#include "server/config.h"
#include "server/health.h"
#include "server/metrics.h"
#include "server/observer.h"
#include "server/tier_cli.h"
#include "tier/capacity_tier.h"
#include "tier/policy.h"
#include "tier/scheduler.h"

using namespace strata;

namespace {

// What SIGHUP reopens (logrotate): the access log's file. Set before the
// signal is unblocked; the waiter thread calls ReopenLogs().
std::atomic<server::AccessLog*> g_access_log{nullptr};

void ReopenLogs() {
  if (server::AccessLog* log = g_access_log.load()) log->Reopen();
}

// SIGHUP: reopen the log files. Blocked in every thread (call before any
// thread starts); one thread waits for it.
void HandleSighup() {
  // An inherited SIG_IGN (nohup) would discard it even while blocked.
  signal(SIGHUP, SIG_DFL);
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  std::thread([hup] {
    while (true) {
      int sig = 0;
      if (sigwait(&hup, &sig) == 0 && sig == SIGHUP) {
        LOG_INFO("SIGHUP: reopening the log files");
        ReopenLogs();
      }
    }
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strata: Azure Blob Storage-compatible server for AI training clusters"};
  app.require_subcommand(1);
  server::Config cfg;
  std::string config_path, durability;
  CLI::App* serve = app.add_subcommand("serve", "Serve the Blob API");
  serve->add_option("--config", config_path, "JSON config file (accounts, defaults)");
  serve->add_option("--host", cfg.host, "Address to listen on")->capture_default_str();
  serve->add_option("--port", cfg.port, "Port to listen on (0 picks one)")->capture_default_str();
  serve->add_option("--dfs-port", cfg.dfs_port,
                    "Port of the dfs endpoint of its own, path-style URLs (0: none; the main port "
                    "serves dfs requests too)")
      ->capture_default_str();
  serve->add_option("--root", cfg.root, "Namespace root of the default account")->capture_default_str();
  serve->add_option("--durability", durability, "fsync (default) or none");
  serve->add_flag("--single-gateway", cfg.single_gateway,
                  "this is the only gateway on its roots: no file locks (refused while "
                  "other gateways serve the root; they are refused while it does)");
  serve->add_option("--threads", cfg.threads, "I/O threads (0: one per core)");
  // Capacity tier.
  std::string tier_policy_file;
  serve->add_option("--tier-remote", cfg.tier.remote,
                    "Remote Azure container URL for the capacity tier (with a SAS, or with --tier-remote-key)");
  serve->add_option("--tier-remote-key", cfg.tier.remote_key, "Base64 account key of the remote (SharedKey)");
  serve->add_option("--tier-prefix", cfg.tier.prefix, "Remote names are PREFIX/CONTAINER/BLOB")
      ->capture_default_str();
  serve->add_option("--tier-pin", cfg.tier.pinned, "CONTAINER/PREFIX whose blobs never move (repeatable)");
  serve->add_option("--tier-policy", tier_policy_file, "Azure lifecycle management policy (JSON file)");
  serve->add_option("--tier-interval", cfg.tier.policy_interval_s,
                    "Seconds between runs of the policy and the watermarks")
      ->capture_default_str();
  serve->add_option("--tier-high-watermark", cfg.tier.high_watermark,
                    "Offload least recently read blobs when the file system is fuller than this percent");
  serve->add_option("--tier-low-watermark", cfg.tier.low_watermark, "... until it is below this percent");
  serve->add_option("--tier-capacity", cfg.tier.capacity_bytes,
                    "Watermarks count local blob bytes against this capacity (0: the file system)");
  serve->add_option("--tier-workers", cfg.tier.workers, "Concurrent offloads and recalls")
      ->capture_default_str();
  // Hidden: tests run the policy's clock ahead instead of waiting days, and
  // retry sooner.
  serve->add_option("--tier-clock-offset-days", cfg.tier.clock_offset_days, "")->group("");
  serve->add_option("--tier-retry-ms", cfg.tier.retry_delay_ms, "")->group("");
  int admin_port = -1;
  std::string admin_host = "127.0.0.1";
  serve->add_option("--admin-port", admin_port,
                    "Port of the operator endpoints: /metrics (Prometheus) and /tier/* (0 picks one; off by default)");
  serve->add_option("--admin-host", admin_host, "Address of the operator endpoints (no auth: keep it local)")
      ->capture_default_str();
  int io_timeout_s = 0;
  // Hidden (empty group): tests shorten the stall timeout to stay fast.
  serve->add_option("--io-timeout", io_timeout_s, "Seconds without progress before a request is dropped")
      ->group("");
  // Long work (copies, recursive changes, listings) runs on worker threads,
  // never on an I/O thread; large Copy Blob copies run in the background.
  int worker_threads = 0;
  api::CopyJobOptions copy_opt;
  serve->add_option("--worker-threads", worker_threads,
                    "Threads for long requests (copies, recursive changes; 0: one per core)");
  serve->add_option("--copy-threads", copy_opt.threads, "Background Copy Blob copies at once")
      ->capture_default_str();
  // Hidden: tests lower the background threshold and slow the copies down.
  serve->add_option("--copy-async-threshold", copy_opt.threshold, "")->group("");
  serve->add_option("--copy-step", copy_opt.step, "")->group("");
  serve->add_option("--copy-step-delay-ms", copy_opt.step_delay_ms, "")->group("");
  serve->add_option("--copy-sweep-interval", copy_opt.sweep_interval_s, "")->group("");
  // A rehydration from Archive of local data completes after this long
  // (High priority: a tenth), so clients see it pending as on Azure.
  double rehydrate_delay_s = 10;
  serve->add_option("--rehydrate-delay", rehydrate_delay_s,
                    "Seconds a rehydration from Archive takes (data is local; High priority: a tenth)")
      ->capture_default_str();
  uint64_t max_uncommitted_blocks = ns::Store::kMaxUncommittedBlocks;
  // Hidden: tests lower Azure's limit of uncommitted blocks per blob.
  serve->add_option("--max-uncommitted-blocks", max_uncommitted_blocks,
                    "Most uncommitted blocks of one blob")
      ->group("");
  // The limits that keep slow clients from holding the server (see
  // http::ServerOptions): tests shorten them; operators rarely need to.
  http::ServerOptions limits;
  serve->add_option("--header-timeout", limits.header_timeout_s,
                    "Seconds a request header may take to arrive, however it trickles")
      ->capture_default_str();
  serve->add_option("--body-min-rate", limits.body_min_rate,
                    "Bytes a second a request body must average over each --body-rate-window")
      ->capture_default_str();
  serve->add_option("--body-rate-window", limits.body_rate_window_s,
                    "Seconds over which a body's rate is measured (a slower body is cut off)")
      ->capture_default_str();
  uint64_t body_memory_mib = limits.body_memory_limit >> 20;
  serve->add_option("--body-memory", body_memory_mib,
                    "MiB all request bodies may hold in memory together (back-pressure beyond)")
      ->capture_default_str();
  server::TierCliOptions tier_cli;
  // Observability: the access log and the server's own messages.
  std::string access_log_dest = "off", access_log_format = "plain", log_level = "info";
  serve
      ->add_option("--access-log", access_log_dest,
                   "One line per request: stderr, a FILE (reopened on SIGHUP), or off")
      ->capture_default_str();
  serve->add_option("--access-log-format", access_log_format, "plain or json")
      ->capture_default_str();
  serve->add_option("--log-level", log_level, "Server messages: error, warn, info or debug")
      ->capture_default_str();
  // Hidden: tests sample the status page's history faster than every 10 s.
  double status_interval_s = 10;
  serve->add_option("--status-interval", status_interval_s, "")->group("");
  CLI::App* tiercmd = app.add_subcommand("tier", "Capacity tier: status|offload|recall|verify PATH...");
  tiercmd->add_option("verb", tier_cli.verb, "status | offload | recall | verify")->required();
  tiercmd->add_option("paths", tier_cli.paths, "CONTAINER/BLOB or CONTAINER/PREFIX")->required();
  tiercmd->add_option("--admin", tier_cli.admin, "The server's admin endpoint, http://HOST:PORT")
      ->required();
  tiercmd->add_option("--tier", tier_cli.tier, "offload: Cool | Cold | Archive")->capture_default_str();
  tiercmd->add_option("--account", tier_cli.account, "An account other than the default");
  tiercmd->add_option("--timeout", tier_cli.timeout_s, "Seconds to wait for offloads/recalls")
      ->capture_default_str();
  tiercmd->add_flag("--no-wait{false}", tier_cli.wait, "Queue the moves and return");
  CLI::App* routes = app.add_subcommand("routes", "Print the authorization table (JSON)");
  CLI11_PARSE(app, argc, argv);
  if (*tiercmd) return server::RunTierCli(tier_cli);
  if (*routes) {
    std::puts(api::AuthorizationTableJson().c_str());
    return 0;
  }

  {
    LogLevel level;
    if (!ParseLogLevel(log_level, &level)) {
      std::fprintf(stderr, "strata: --log-level must be error, warn, info or debug\n");
      return 2;
    }
    SetLogLevel(level);
  }
  if (access_log_format != "plain" && access_log_format != "json") {
    std::fprintf(stderr, "strata: --access-log-format must be plain or json\n");
    return 2;
  }
  if (access_log_dest.empty()) {
    std::fprintf(stderr, "strata: --access-log must be stderr, off or a file\n");
    return 2;
  }
  if (!(status_interval_s > 0.05 && status_interval_s <= 3600)) {
    std::fprintf(stderr, "strata: --status-interval must be within (0.05, 3600] seconds\n");
    return 2;
  }

  if (!config_path.empty()) {
    // The file sets defaults; flags given on the command line win.
    server::Config file_cfg = cfg;
    Status s = server::LoadConfigFile(config_path, &file_cfg);
    if (!s.ok()) {
      LOG_ERROR("%s\n", s.message().c_str());
      return 2;
    }
    if (serve->count("--host") == 0) cfg.host = file_cfg.host;
    if (serve->count("--port") == 0) cfg.port = file_cfg.port;
    if (serve->count("--dfs-port") == 0) cfg.dfs_port = file_cfg.dfs_port;
    if (serve->count("--root") == 0) cfg.root = file_cfg.root;
    if (serve->count("--threads") == 0) cfg.threads = file_cfg.threads;
    cfg.fsync = file_cfg.fsync;
    if (serve->count("--single-gateway") == 0) cfg.single_gateway = file_cfg.single_gateway;
    cfg.accounts = file_cfg.accounts;
    cfg.dev_containers = file_cfg.dev_containers;
    cfg.copy_sources = file_cfg.copy_sources;
    // Tier settings: the file's, except those given as flags.
    server::TierConfig t = file_cfg.tier;
    if (serve->count("--tier-remote")) t.remote = cfg.tier.remote;
    if (serve->count("--tier-remote-key")) t.remote_key = cfg.tier.remote_key;
    if (serve->count("--tier-prefix")) t.prefix = cfg.tier.prefix;
    if (serve->count("--tier-pin")) t.pinned = cfg.tier.pinned;
    if (serve->count("--tier-interval")) t.policy_interval_s = cfg.tier.policy_interval_s;
    if (serve->count("--tier-high-watermark")) t.high_watermark = cfg.tier.high_watermark;
    if (serve->count("--tier-low-watermark")) t.low_watermark = cfg.tier.low_watermark;
    if (serve->count("--tier-workers")) t.workers = cfg.tier.workers;
    if (serve->count("--tier-capacity")) t.capacity_bytes = cfg.tier.capacity_bytes;
    t.clock_offset_days = cfg.tier.clock_offset_days;
    t.retry_delay_ms = cfg.tier.retry_delay_ms;
    cfg.tier = t;
  }
  if (!tier_policy_file.empty()) {
    std::ifstream in(tier_policy_file);
    if (!in) {
      LOG_ERROR("cannot read %s\n", tier_policy_file.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    cfg.tier.policy_json = ss.str();
  }
  if (!durability.empty()) {
    if (durability != "fsync" && durability != "none") {
      LOG_ERROR("--durability must be fsync or none\n");
      return 2;
    }
    cfg.fsync = durability == "fsync";
  }
  if (cfg.dfs_port < 0 || cfg.dfs_port > 65535 || (cfg.dfs_port != 0 && cfg.dfs_port == cfg.port)) {
    LOG_ERROR("--dfs-port must be a free port other than --port\n");
    return 2;
  }
  server::AddDefaultAccount(&cfg);

  // What the operator endpoints report: readiness, the data path's metrics
  // (and their history), the access log. The admin listener starts first,
  // so /healthz and /readyz answer while the stores open and the tier
  // replays its journals.
  // Signals that threads must not take (SIGUSR1: see below; SIGHUP: its
  // waiter) are blocked before the first thread starts.
  {
    sigset_t early;
    sigemptyset(&early);
    sigaddset(&early, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &early, nullptr);
  }
  HandleSighup();
  server::Health health;
  server::RequestMetrics request_metrics;
  server::MetricsHistory history(
      &request_metrics, std::chrono::milliseconds(static_cast<int64_t>(status_interval_s * 1000)));
  std::unique_ptr<server::AccessLog> access_log;
  if (access_log_dest != "off") {
    auto al = server::AccessLog::Open(access_log_dest, access_log_format == "json"
                                                           ? server::AccessLogFormat::kJson
                                                           : server::AccessLogFormat::kPlain);
    if (!al.ok()) {
      LOG_ERROR("--access-log: %s", al.status().message().c_str());
      return 2;
    }
    access_log = std::move(*al);
    g_access_log = access_log.get();
  }
  history.Start();
  std::unique_ptr<server::AdminHandler> admin;
  std::unique_ptr<http::Server> admin_server;
  std::thread admin_thread;
  // Stops the admin listener on every way out (before what it reports goes).
  struct StopAdmin {
    std::unique_ptr<http::Server>& server;
    std::thread& thread;
    ~StopAdmin() {
      if (!server) return;
      server->Stop();
      if (thread.joinable()) thread.join();
    }
  } stop_admin{admin_server, admin_thread};
  if (admin_port >= 0) {
    server::AdminSources sources;
    sources.health = &health;
    sources.metrics = &request_metrics;
    sources.history = &history;
    sources.access_log = access_log.get();
    admin = std::make_unique<server::AdminHandler>(std::vector<server::AdminAccount>{}, sources);
    http::ServerOptions ao;
    ao.host = admin_host;
    ao.port = static_cast<uint16_t>(admin_port);
    ao.threads = 1;
    admin_server = std::make_unique<http::Server>(ao, admin.get());
    auto ap = admin_server->Listen();
    if (!ap.ok()) {
      LOG_ERROR("admin: %s", ap.status().message().c_str());
      admin_server.reset();
      return 1;
    }
    std::printf("strata admin on %s:%u (/metrics, /healthz, /readyz, /status, /tier)\n",
                admin_host.c_str(), *ap);
    std::fflush(stdout);
    admin_thread = std::thread([&admin_server] { admin_server->Run(); });
  }

  // Copy sources on other hosts: only when the operator named some.
  std::unique_ptr<tier::UrlFetcher> fetcher;
  if (!cfg.copy_sources.hosts.empty()) fetcher = std::make_unique<tier::UrlFetcher>(cfg.copy_sources);
  std::vector<std::unique_ptr<api::Account>> accounts;
  for (const auto& ac : cfg.accounts) {
    auto a = std::make_unique<api::Account>();
    a->fetcher = fetcher.get();
    a->name = ac.name;
    a->key = *Base64Decode(ac.key_base64);
    a->rehydrate_delay = static_cast<TimeNs>(rehydrate_delay_s * 1e9);
    if (!ac.key2_base64.empty()) a->key2 = *Base64Decode(ac.key2_base64);
    a->store = std::make_unique<ns::Store>(PosixFs(), ac.root, cfg.fsync);
    for (const auto& [name, entry] : ac.containers) {
      ns::ContainerConfig cc;
      if (!entry.path.empty()) {
        // The view's own path may pass through symlinks; what it names is fixed now.
        char* real = ::realpath(entry.path.c_str(), nullptr);
        if (!real) {
          LOG_ERROR("view %s: cannot resolve %s\n", name.c_str(), entry.path.c_str());
          return 1;
        }
        cc.dir = real;
        std::free(real);
      }
      cc.read_only = entry.read_only;
      cc.max_bytes = entry.max_bytes;
      cc.max_files = entry.max_files;
      a->store->ConfigureContainer(name, cc);
    }
    a->store->SetMaxUncommittedBlocks(max_uncommitted_blocks);
    a->store->SetSingleGateway(cfg.single_gateway);
    Status s = a->store->Open();
    if (!s.ok()) {
      LOG_ERROR("cannot open root %s: %s\n", ac.root.c_str(), s.message().c_str());
      return 1;
    }
    accounts.push_back(std::move(a));
  }
  // SIGUSR1 runs the tier's policy and watermark pass at once (tests,
  // operators). Blocked here, before any thread starts, so every thread
  // inherits the mask and only the waiter below takes it.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
  // The capacity tier: one remote client, one tier per account.
  std::unique_ptr<tier::RemoteClient> remote;
  std::vector<std::unique_ptr<tier::CapacityTier>> tiers;
  std::vector<std::unique_ptr<tier::TierScheduler>> schedulers;
  if (!cfg.tier.remote.empty()) {
    tier::RemoteOptions ro;
    ro.container_url = cfg.tier.remote;
    ro.account_key = cfg.tier.remote_key;
    ro.max_concurrency = cfg.tier.max_concurrency;
    ro.bandwidth_bytes_per_sec = cfg.tier.bandwidth_bytes_per_sec;
    auto rc = tier::MakeRemoteClient(ro);
    if (!rc.ok()) {
      LOG_ERROR("--tier-remote: %s\n", rc.status().message().c_str());
      return 2;
    }
    remote = std::move(*rc);
    std::optional<tier::LifecyclePolicy> policy;
    if (!cfg.tier.policy_json.empty()) {
      auto p = tier::LifecyclePolicy::Parse(cfg.tier.policy_json);
      if (!p.ok()) {
        LOG_ERROR("%s\n", p.status().message().c_str());
        return 2;
      }
      policy = std::move(*p);
    }
    if (cfg.tier.high_watermark > 0 &&
        (cfg.tier.low_watermark <= 0 || cfg.tier.low_watermark >= cfg.tier.high_watermark ||
         cfg.tier.high_watermark > 100)) {
      LOG_ERROR("the low watermark must lie between 0 and the high one\n");
      return 2;
    }
    for (size_t i = 0; i < accounts.size(); ++i) {
      tier::TierOptions to;
      // Names a container cannot have ("@...") keep accounts apart.
      to.prefix = cfg.tier.prefix;
      if (i > 0) to.prefix += (to.prefix.empty() ? "@" : "/@") + accounts[i]->name;
      to.pinned = cfg.tier.pinned;
      to.transfer_workers = cfg.tier.workers;
      to.sync = cfg.fsync;
      to.retry_delay_ms = cfg.tier.retry_delay_ms;
      to.replaying = &health.replaying;
      auto t = std::make_unique<tier::CapacityTier>(accounts[i]->store.get(), remote.get(), to);
      Status s = t->Start();
      if (!s.ok()) {
        LOG_ERROR("tier: %s\n", s.message().c_str());
        return 1;
      }
      accounts[i]->tier = t.get();
      tier::SchedulerOptions so;
      so.policy = policy;
      so.interval_s = cfg.tier.policy_interval_s;
      so.high_watermark = cfg.tier.high_watermark;
      so.low_watermark = cfg.tier.low_watermark;
      so.capacity_bytes = cfg.tier.capacity_bytes;
      so.clock_offset_ns = static_cast<TimeNs>(cfg.tier.clock_offset_days * 86400.0 * 1e9);
      if (policy) {
        tier::LifecyclePolicy rule = *policy;
        t->SetRecallOnRead([rule](const std::string& c, const std::string& b,
                                  const ns::BlobRecord& rec) { return rule.AutoTierToHot(c, b, rec); });
      }
      auto sch = std::make_unique<tier::TierScheduler>(t.get(), so);
      sch->Start();
      schedulers.push_back(std::move(sch));
      tiers.push_back(std::move(t));
    }
  }
  // Before serving: Start ends the copies an earlier run left pending.
  api::CopyJobs copy_jobs(copy_opt);
  {
    std::vector<ns::Store*> stores;
    for (auto& a : accounts) {
      a->copies = &copy_jobs;
      stores.push_back(a->store.get());
    }
    copy_jobs.Start(std::move(stores));
  }
  std::vector<server::AdminAccount> admin_accounts;
  for (size_t i = 0; i < accounts.size(); ++i)
    admin_accounts.push_back({accounts[i]->name, accounts[i]->store.get(), accounts[i]->tier,
                              i < schedulers.size() ? schedulers[i].get() : nullptr});
  api::Api handler(std::move(accounts));
  server::ObservedHandler observed(&handler, &request_metrics, access_log.get());
  // The tiers move data of the stores the handler owns: they stop first,
  // on every way out of here.
  struct StopTiers {
    std::vector<std::unique_ptr<tier::TierScheduler>>& schedulers;
    std::vector<std::unique_ptr<tier::CapacityTier>>& tiers;
    ~StopTiers() {
      for (auto& s : schedulers) s->Stop();
      for (auto& t : tiers) t->Stop();
    }
  } stop_tiers{schedulers, tiers};
  http::ServerOptions opt;
  opt.host = cfg.host;
  opt.port = static_cast<uint16_t>(cfg.port);
  if (cfg.dfs_port > 0) {
    opt.extra_ports.push_back(static_cast<uint16_t>(cfg.dfs_port));
    handler.ServeDfsEndpointOn(1);
  }
  opt.threads = cfg.threads;
  opt.worker_threads = worker_threads;
  if (io_timeout_s > 0) opt.io_timeout_s = io_timeout_s;
  opt.header_timeout_s = std::max(1, limits.header_timeout_s);
  opt.body_min_rate = limits.body_min_rate;
  opt.body_rate_window_s = std::max(1, limits.body_rate_window_s);
  opt.body_memory_limit = std::max<uint64_t>(1, body_memory_mib) << 20;
  http::Server server(opt, &observed);
  // Before the banner: whoever reads it may ask the admin endpoints at once.
  if (admin) {
    admin->SetAccounts(std::move(admin_accounts));
    admin->SetServerStats([&server] { return server.Stats(); });
  }
  auto port = server.Listen();
  if (!port.ok()) {
    if (admin) admin->SetServerStats(nullptr);
    LOG_ERROR("%s\n", port.status().message().c_str());
    return 1;
  }
  std::string host = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
  std::printf("strata listening on %s:%u (root %s)\n", host.c_str(), *port, cfg.root.c_str());
  std::printf(
      "Connection string: DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
      "BlobEndpoint=http://%s:%u/%s;\n",
      server::kDevAccount, server::kDevKey, host.c_str(), *port, server::kDevAccount);
  if (cfg.dfs_port > 0)
    std::printf("strata dfs endpoint on %s:%u (http://%s:%u/%s)\n", host.c_str(), server.BoundPort(1),
                host.c_str(), server.BoundPort(1), server::kDevAccount);
  std::fflush(stdout);
  signal(SIGPIPE, SIG_IGN);
  health.serving = true;
  if (!schedulers.empty()) {
    std::thread([usr1, &schedulers] {
      while (true) {
        int sig = 0;
        if (sigwait(&usr1, &sig) == 0 && sig == SIGUSR1)
          for (auto& s : schedulers) s->Trigger();
      }
    }).detach();
  }
  // Uncommitted blocks expire 7 days after their blob's last Put Block;
  // sweep hourly (and once at start, in Store::Open). What gateways that
  // died on a shared root staged is removed within 10 s.
  // Stopped and joined before the stores go.
  std::mutex sweep_mu;
  std::condition_variable sweep_cv;
  bool sweep_stop = false;
  std::thread sweeper([&] {
    std::unique_lock<std::mutex> l(sweep_mu);
    for (int tick = 1;; ++tick) {
      if (sweep_cv.wait_for(l, std::chrono::seconds(10), [&] { return sweep_stop; })) return;
      l.unlock();
      handler.ForEachStore([](ns::Store& s) { s.ReapDeadGateways(); });
      if (tick % 360 == 0) handler.ForEachStore([](ns::Store& s) { s.ExpireBlocks(NowNs()); });
      l.lock();
    }
  });
  struct JoinSweeper {
    std::mutex& mu;
    std::condition_variable& cv;
    bool& stop;
    std::thread& t;
    ~JoinSweeper() {
      {
        std::lock_guard<std::mutex> g(mu);
        stop = true;
      }
      cv.notify_all();
      t.join();
    }
  } join_sweeper{sweep_mu, sweep_cv, sweep_stop, sweeper};
  server.Run();
  health.serving = false;
  if (admin) admin->SetServerStats(nullptr);
  if (access_log) access_log->Flush();
  g_access_log = nullptr;  // (a SIGHUP now finds nothing to reopen)
  return 0;  // stop_tiers stops the tiers before the stores they move data of go
}
