// strata: an Azure Blob Storage-compatible server over a POSIX namespace.
//
// Signals (handled by one thread; every other thread blocks them):
//   SIGTERM, SIGINT  drain: readiness goes false, the listeners close, idle
//                    connections close, requests in flight get
//                    --drain-seconds to finish (their responses say
//                    "Connection: close"); then the rest is cut and the
//                    process exits 0. A second one ends the drain at once.
//   SIGHUP           reload the config file (server/reload.h).
//   SIGUSR1          run the tier's policy and watermark pass now.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "api/api.h"
#include "api/copy_jobs.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/server.h"
#include "server/access_log.h"
#include "server/admin.h"
#include "server/cache_admin.h"
#include "server/cache_cli.h"
#include "server/config.h"
#include "server/flags.h"
#include "server/health.h"
#include "server/metrics.h"
#include "server/observer.h"
#include "server/reload.h"
#include "server/served_accounts.h"
#include "server/tier_cli.h"
#include "tier/capacity_tier.h"
#include "tier/policy.h"
#include "tier/scheduler.h"

#ifndef STRATA_VERSION
#define STRATA_VERSION "0.0.0"
#endif
#ifndef STRATA_GIT
#define STRATA_GIT ""
#endif

using namespace strata;

namespace {

std::string VersionString() {
  std::string v = std::string("strata ") + STRATA_VERSION;
  if (std::string(STRATA_GIT).size()) v += std::string(" (git ") + STRATA_GIT + ")";
  return v;
}

// The server's messages once it serves: leveled (--log-level), stamped.
void Info(const std::string& line) { LOG_INFO("%s", line.c_str()); }
void Warn(const std::string& line) { LOG_WARN("%s", line.c_str()); }

void Log(const std::string& line) {
  std::fprintf(stderr, "strata: %s\n", line.c_str());
  std::fflush(stderr);
}

// The one thread that takes SIGTERM, SIGINT, SIGHUP and SIGUSR1 (every
// other thread blocks them) and runs the action main() set, one signal at
// a time; with none set (while starting), SIGTERM and SIGINT end the
// process by their default action, the others are ignored. Process-lifetime state: the
// thread may wake after main() returned.
struct SignalState {
  std::mutex mu;
  std::function<void(int)> action;
};
SignalState& Signals() {
  static SignalState* state = new SignalState;  // never destroyed
  return *state;
}

void SetSignalAction(std::function<void(int)> action) {
  std::lock_guard<std::mutex> g(Signals().mu);  // waits for an action running now
  Signals().action = std::move(action);
}

void StartSignalThread() {
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&sigs, s);
  // Every thread started from here on inherits this mask.
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // An ignored signal is discarded even while blocked: nohup leaves SIGHUP
  // ignored, which would make reloads (and log reopens) vanish.
  signal(SIGHUP, SIG_DFL);  // (blocked now: a SIGHUP waits for the thread)
  std::thread([sigs] {
    while (true) {
      int sig = 0;
      if (sigwait(&sigs, &sig) != 0) continue;
      std::lock_guard<std::mutex> g(Signals().mu);
      if (Signals().action) Signals().action(sig);
      else if (sig == SIGTERM || sig == SIGINT) {
        // Not serving yet: end as the signal's default action does.
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
        raise(sig);
      }
    }
  }).detach();
}

int Serve(const server::ServeFlags& flags) {
  {
    LogLevel level = LogLevel::kInfo;
    ParseLogLevel(flags.log_level, &level);  // the flag's check admits only valid names
    SetLogLevel(level);
  }
  StartSignalThread();
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> errors;
  server::Config cfg = server::ComposeConfig(flags, &errors);
  if (errors.empty()) server::ValidateEnvironment(cfg, &errors);
  std::unique_ptr<tier::RemoteClient> remote;
  std::optional<tier::LifecyclePolicy> policy;
  if (!cfg.tier.remote.empty()) {
    tier::RemoteOptions ro;
    ro.container_url = cfg.tier.remote;
    ro.account_key = cfg.tier.remote_key;
    ro.max_concurrency = cfg.tier.max_concurrency;
    ro.bandwidth_bytes_per_sec = cfg.tier.bandwidth_bytes_per_sec;
    auto rc = tier::MakeRemoteClient(ro);
    if (!rc.ok()) errors.push_back("tier.remote (--tier-remote): " + rc.status().message());
    else remote = std::move(*rc);
    if (!cfg.tier.policy_json.empty())
      if (auto p = tier::LifecyclePolicy::Parse(cfg.tier.policy_json); p.ok()) policy = std::move(*p);
  }
  // Cache mode: one remote client per cached container (account, container).
  std::map<std::pair<std::string, std::string>, std::unique_ptr<tier::RemoteClient>> cache_remotes;
  for (const auto& ac : cfg.accounts) {
    for (const auto& [name, entry] : ac.containers) {
      if (!entry.cache) continue;
      tier::RemoteOptions ro;
      ro.container_url = entry.cache->remote;
      ro.account_key = entry.cache->remote_key;
      ro.max_concurrency = entry.cache->max_concurrency;
      ro.bandwidth_bytes_per_sec = entry.cache->bandwidth_bytes_per_sec;
      ro.ca_file = entry.cache->ca_file;
      auto rc = tier::MakeRemoteClient(ro);
      // The message names the key, never the URL (it may hold a SAS).
      if (!rc.ok())
        errors.push_back("account " + ac.name + ", container " + name +
                         ": remote: " + rc.status().message());
      else
        cache_remotes[{ac.name, name}] = std::move(*rc);
    }
  }
  // HTTPS: the certificate and key are loaded now (and so checked by
  // --check-config), before anything else starts.
  std::shared_ptr<http::TlsContext> tls;
  if (errors.empty() && !cfg.tls_cert.empty()) {
    auto t = http::TlsContext::Load(cfg.tls_cert, cfg.tls_key);
    if (!t.ok()) errors.push_back(t.status().message());
    else tls = std::move(*t);
  }
  if (!errors.empty()) {
    for (const auto& e : errors) Log(e);
    return 2;
  }
  if (flags.check_config) {
    std::printf("strata: configuration is valid (%zu account%s)\n", cfg.accounts.size(),
                cfg.accounts.size() == 1 ? "" : "s");
    return 0;
  }

  // What the operator endpoints report: readiness, the data path's metrics
  // (and their history), the access log. The admin listener starts first,
  // so /healthz and /readyz answer while the stores open and the tier
  // replays its journals.
  server::Health health;
  server::RequestMetrics request_metrics;
  server::MetricsHistory history(
      &request_metrics,
      std::chrono::milliseconds(static_cast<int64_t>(flags.status_interval_s * 1000)));
  std::unique_ptr<server::AccessLog> access_log;
  if (flags.access_log != "off") {
    auto al = server::AccessLog::Open(flags.access_log, flags.access_log_format == "json"
                                                            ? server::AccessLogFormat::kJson
                                                            : server::AccessLogFormat::kPlain);
    if (!al.ok()) {
      Log("--access-log: " + al.status().message());
      return 2;
    }
    access_log = std::move(*al);
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
  if (flags.admin_port >= 0) {
    server::AdminSources sources;
    sources.health = &health;
    sources.metrics = &request_metrics;
    sources.history = &history;
    sources.access_log = access_log.get();
    admin = std::make_unique<server::AdminHandler>(std::vector<server::AdminAccount>{}, sources);
    http::ServerOptions ao;
    ao.host = flags.admin_host;
    ao.port = static_cast<uint16_t>(flags.admin_port);
    ao.threads = 1;
    ao.stop_on_signals = false;
    admin_server = std::make_unique<http::Server>(ao, admin.get());
    auto ap = admin_server->Listen();
    if (!ap.ok()) {
      Log("admin: " + ap.status().message());
      admin_server.reset();
      return 1;
    }
    std::printf("strata admin on %s:%u (/metrics, /healthz, /readyz, /status, /tier, /cache)\n",
                flags.admin_host.c_str(), *ap);
    std::fflush(stdout);
    admin_thread = std::thread([&admin_server] { admin_server->Run(); });
  }

  // Copy sources on other hosts: only when the operator named some.
  std::unique_ptr<tier::UrlFetcher> fetcher;
  if (!cfg.copy_sources.hosts.empty()) fetcher = std::make_unique<tier::UrlFetcher>(cfg.copy_sources);
  server::ServedAccounts::Options so;
  so.max_uncommitted_blocks = flags.max_uncommitted_blocks;
  so.rehydrate_delay = static_cast<TimeNs>(flags.rehydrate_delay_s * 1e9);
  so.fetcher = fetcher.get();
  // Declared first: the stores go last, after everything that uses them.
  server::ServedAccounts served(so);
  auto opened = served.Open(cfg);
  if (!opened.ok()) {
    Log(opened.status().message());
    return 1;
  }
  api::Api::AccountList accounts = std::move(*opened);
  // The capacity tier: one remote client, one tier per account.
  std::vector<std::unique_ptr<tier::CapacityTier>> tiers;
  std::vector<std::unique_ptr<tier::TierScheduler>> schedulers;
  for (size_t i = 0; i < accounts.size(); ++i) {
    std::vector<std::pair<std::string, tier::CapacityTier::CacheOptions>> caches;
    for (const auto& ac : cfg.accounts) {
      if (ac.name != accounts[i]->name) continue;
      for (const auto& [name, entry] : ac.containers) {
        if (!entry.cache) continue;
        tier::CapacityTier::CacheOptions co;
        co.remote = cache_remotes[{ac.name, name}].get();
        co.write_back = entry.cache->write_mode == "write_back";
        co.revalidate_s = entry.cache->revalidate_s;
        co.hydrate_on_range = entry.cache->hydrate_on_range;
        caches.emplace_back(name, co);
      }
    }
    if (remote || !caches.empty()) {
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
      for (const auto& [name, co] : caches) t->AddCache(name, co);
      Status s = t->Start();
      if (!s.ok()) {
        Log("tier: " + s.message());
        return 1;
      }
      accounts[i]->tier = t.get();
      tier::SchedulerOptions sch_opt;
      sch_opt.policy = policy;
      sch_opt.interval_s = cfg.tier.policy_interval_s;
      sch_opt.high_watermark = cfg.tier.high_watermark;
      sch_opt.low_watermark = cfg.tier.low_watermark;
      sch_opt.capacity_bytes = cfg.tier.capacity_bytes;
      sch_opt.clock_offset_ns = static_cast<TimeNs>(cfg.tier.clock_offset_days * 86400.0 * 1e9);
      if (policy) {
        tier::LifecyclePolicy rule = *policy;
        t->SetRecallOnRead([rule](const std::string& c, const std::string& b,
                                  const ns::BlobRecord& rec) { return rule.AutoTierToHot(c, b, rec); });
      }
      auto sch = std::make_unique<tier::TierScheduler>(t.get(), sch_opt);
      sch->Start();
      schedulers.push_back(std::move(sch));
      tiers.push_back(std::move(t));
    }
  }
  // Before serving: Start ends the copies an earlier run left pending.
  api::CopyJobs copy_jobs(flags.copy_opt);
  {
    std::vector<ns::Store*> stores;
    for (auto& a : accounts) {
      a->copies = &copy_jobs;
      stores.push_back(a->store.get());
    }
    copy_jobs.Start(std::move(stores));
  }
  served.set_copies(&copy_jobs);
  std::vector<server::AdminAccount> admin_accounts;
  for (size_t i = 0; i < accounts.size(); ++i)
    admin_accounts.push_back({accounts[i]->name, accounts[i]->store.get(), accounts[i]->tier,
                              i < schedulers.size() ? schedulers[i].get() : nullptr, {}});
  for (auto& aa : admin_accounts)  // what /cache/status shows (without the query string)
    for (const auto& ac : cfg.accounts)
      if (ac.name == aa.name)
        for (const auto& [name, entry] : ac.containers)
          if (entry.cache) aa.cache_remotes[name] = server::RedactUrl(entry.cache->remote);
  api::Api handler(std::move(accounts));
  server::ObservedHandler observed(&handler, &request_metrics, access_log.get());
  // The tiers move data of the stores: they stop first, on every way out.
  struct StopTiers {
    std::vector<std::unique_ptr<tier::TierScheduler>>& schedulers;
    std::vector<std::unique_ptr<tier::CapacityTier>>& tiers;
    ~StopTiers() {
      for (auto& s : schedulers) s->Stop();
      for (auto& t : tiers) t->Stop();
    }
  } stop_tiers{schedulers, tiers};
  // Cache jobs (import, prefetch, evict, flush) use the tiers: they stop and
  // are joined first, after the admin listener let go of them.
  server::CacheJobs cache_jobs;
  struct ReleaseCacheJobs {
    server::AdminHandler* admin;
    ~ReleaseCacheJobs() {
      if (!admin) return;
      admin->SetCacheJobs(nullptr);
      admin->SetAccounts({});  // the tiers and stores go soon after
    }
  } release_cache_jobs{admin.get()};
  if (admin) admin->SetCacheJobs(&cache_jobs);
  http::ServerOptions opt;
  opt.host = cfg.host;
  opt.port = static_cast<uint16_t>(cfg.port);
  // Listeners: 0 is --port; then --tls-port, --dfs-port, --dfs-tls-port
  // as configured. Without --tls-port, HTTPS replaces HTTP on --port and
  // --dfs-port (as Azurite does with --cert).
  bool https_beside = tls && cfg.tls_port >= 0;
  int tls_listener = -1, dfs_listener = -1, dfs_tls_listener = -1;
  auto add_listener = [&opt](int port) {
    opt.extra_ports.push_back(static_cast<uint16_t>(port));
    return static_cast<int>(opt.extra_ports.size());
  };
  if (tls && !https_beside) opt.tls_listeners.push_back(0);
  if (https_beside) {
    tls_listener = add_listener(cfg.tls_port);
    opt.tls_listeners.push_back(tls_listener);
  }
  if (cfg.dfs_port > 0) {
    dfs_listener = add_listener(cfg.dfs_port);
    handler.ServeDfsEndpointOn(dfs_listener);
    if (tls && !https_beside) opt.tls_listeners.push_back(dfs_listener);
  }
  if (cfg.dfs_tls_port > 0) {
    dfs_tls_listener = add_listener(cfg.dfs_tls_port);
    handler.ServeDfsEndpointOn(dfs_tls_listener);
    opt.tls_listeners.push_back(dfs_tls_listener);
  }
  opt.tls = tls;
  opt.threads = cfg.threads;
  opt.worker_threads = flags.worker_threads;
  if (flags.io_timeout_s > 0) opt.io_timeout_s = flags.io_timeout_s;
  opt.header_timeout_s = flags.limits.header_timeout_s;
  opt.body_min_rate = flags.limits.body_min_rate;
  opt.body_rate_window_s = flags.limits.body_rate_window_s;
  opt.body_memory_limit = flags.body_memory_mib << 20;
  opt.stop_on_signals = false;  // the signal thread below drains
  http::Server server(opt, &observed);
  // Before the banner: whoever reads it may ask the admin endpoints at once.
  if (admin) {
    admin->SetAccounts(std::move(admin_accounts));
    admin->SetServerStats([&server] { return server.Stats(); });
  }
  auto port = server.Listen();
  if (!port.ok()) {
    if (admin) admin->SetServerStats(nullptr);
    Log(port.status().message());
    return 1;
  }

  // SIGHUP: reload what can change without a restart (server/reload.h).
  // Others register their hooks here.
  server::ReloadHooks hooks;
  std::atomic<int> drain_seconds{cfg.drain_seconds};
  server::Config running = cfg;
  auto reload = [&] {
    // The access log's file is reopened (logrotate), config file or not.
    Info("SIGHUP: reopening the log files");
    if (access_log) access_log->Reopen();
    if (flags.config_path.empty()) {
      Info("SIGHUP: no --config file to reload");
      return;
    }
    std::vector<std::string> errs;
    server::Config next = server::ComposeConfig(flags, &errs);
    if (errs.empty()) server::ValidateEnvironment(next, &errs);
    if (errs.empty()) {
      if (Status s = hooks.Check(next); !s.ok()) errs.push_back(s.message());
    }
    std::optional<server::ServedAccounts::Plan> plan;
    if (errs.empty()) {
      auto p = served.Prepare(running, next, *handler.accounts());
      if (p.ok()) plan = std::move(*p);
      else errs.push_back(p.status().message());
    }
    if (!errs.empty()) {
      Warn("reload of " + flags.config_path + " refused; the running configuration stays:");
      for (const auto& e : errs) Warn("  " + e);
      return;
    }
    std::vector<std::string> restart = server::RestartOnlyChanges(running, next);
    restart.insert(restart.end(), plan->needs_restart.begin(), plan->needs_restart.end());
    handler.SetAccounts(plan->accounts);
    served.Commit(*plan);
    server::KeepRestartOnly(running, &next);
    drain_seconds.store(next.drain_seconds);
    hooks.Apply(next);
    running = std::move(next);
    std::string what;
    for (const auto& c : plan->changes) what += (what.empty() ? "" : "; ") + c;
    Info("reloaded " + flags.config_path + ": " + (what.empty() ? "no account changed" : what));
    for (const auto& r : restart) Warn("reload: " + r + " changed; needs a restart");
  };

  // From here on the signal thread acts on signals (before, SIGTERM and
  // SIGINT end the process as their default action would).
  int terms = 0;
  SetSignalAction([&](int sig) {
    if (sig == SIGUSR1) {
      for (auto& s : schedulers) s->Trigger();
    } else if (sig == SIGHUP) {
      reload();
    } else if (terms++ == 0) {
      // Readiness goes false first, then the listeners close.
      health.draining.store(true);
      Info(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": draining (at most " +
          std::to_string(drain_seconds.load()) + " s; again to stop at once)");
      server.Drain(drain_seconds.load());
    } else {
      Info("stopping now");
      server.Stop();
    }
  });
  // On every way out: the action uses what goes then.
  struct IgnoreSignals {
    ~IgnoreSignals() { SetSignalAction([](int) {}); }
  } ignore_signals;

  std::string host = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
  const char* scheme = tls && !https_beside ? "https" : "http";
  std::printf("strata listening on %s:%u (root %s%s)\n", host.c_str(), *port, cfg.root.c_str(),
              tls && !https_beside ? ", https" : "");
  std::printf(
      "Connection string: DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;"
      "BlobEndpoint=%s://%s:%u/%s;\n",
      scheme, server::kDevAccount, server::kDevKey, scheme, host.c_str(), *port,
      server::kDevAccount);
  if (tls_listener > 0)
    std::printf("strata https on %s:%u (https://%s:%u/%s)\n", host.c_str(),
                server.BoundPort(tls_listener), host.c_str(), server.BoundPort(tls_listener),
                server::kDevAccount);
  if (dfs_listener > 0)
    std::printf("strata dfs endpoint on %s:%u (%s://%s:%u/%s)\n", host.c_str(),
                server.BoundPort(dfs_listener), scheme, host.c_str(),
                server.BoundPort(dfs_listener), server::kDevAccount);
  if (dfs_tls_listener > 0)
    std::printf("strata https dfs endpoint on %s:%u (https://%s:%u/%s)\n", host.c_str(),
                server.BoundPort(dfs_tls_listener), host.c_str(),
                server.BoundPort(dfs_tls_listener), server::kDevAccount);
  std::fflush(stdout);

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
  health.serving.store(true);
  server.Run();
  health.serving.store(false);
  SetSignalAction([](int) {});  // stopping already; what the action used goes now
  if (admin) admin->SetServerStats(nullptr);
  if (access_log) access_log->Flush();
  return 0;  // stop_tiers stops the tiers before the stores they move data of go
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strata: Azure Blob Storage-compatible server for AI training clusters"};
  app.set_version_flag("--version", VersionString(), "Print the version and exit");
  app.require_subcommand(1);
  server::ServeFlags flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve the Blob API");
  server::AddServeFlags(serve, &flags);
  server::TierCliOptions tier_cli;
  CLI::App* tiercmd = app.add_subcommand("tier", "Capacity tier: status|offload|recall|verify PATH...");
  tiercmd->add_option("verb", tier_cli.verb, "status | offload | recall | verify")->required();
  tiercmd->add_option("paths", tier_cli.paths, "CONTAINER/BLOB or CONTAINER/PREFIX")->required();
  tiercmd->add_option("--admin", tier_cli.admin, "The server's admin endpoint, http://HOST:PORT")
      ->required();
  tiercmd->add_option("--tier", tier_cli.tier, "offload: Cool | Cold | Archive")->capture_default_str();
  tiercmd->add_option("--account", tier_cli.account, "An account other than the default");
  tiercmd->add_option("--timeout", tier_cli.timeout_s, "Seconds to wait for offloads/recalls")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  tiercmd->add_flag("--no-wait{false}", tier_cli.wait, "Queue the moves and return");
  server::CacheCliOptions cache_cli;
  int cache_concurrency = 0;
  uint64_t cache_bandwidth = 0;
  CLI::App* cachecmd =
      app.add_subcommand("cache", "Cache mode: status|import|prefetch|evict|flush [PATH]");
  cachecmd->add_option("verb", cache_cli.verb, "status | import | prefetch | evict | flush")
      ->required();
  cachecmd->add_option("path", cache_cli.path, "CONTAINER or CONTAINER/PREFIX");
  cachecmd->add_option("--admin", cache_cli.admin, "The server's admin endpoint, http://HOST:PORT")
      ->required();
  cachecmd->add_option("--account", cache_cli.account, "An account other than the default");
  CLI::Option* cache_conc = cachecmd->add_option("--concurrency", cache_concurrency,
                                                 "prefetch: blobs hydrated at once (1..64, default 4)")
                                ->check(CLI::Range(1, 64));
  CLI::Option* cache_bw = cachecmd->add_option("--bandwidth", cache_bandwidth,
                                               "prefetch: bytes/s for all its hydrations (0: no cap)");
  cachecmd->add_option("--timeout", cache_cli.timeout_s, "Seconds to wait for the job")
      ->check(CLI::Range(1, 86400 * 7))
      ->capture_default_str();
  cachecmd->add_flag("--no-wait{false}", cache_cli.wait, "Start the job and return");
  CLI::App* routes = app.add_subcommand("routes", "Print the authorization table (JSON)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2, as configuration errors do.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*tiercmd) return server::RunTierCli(tier_cli);
  if (*cachecmd) {
    if (*cache_conc) cache_cli.concurrency = cache_concurrency;
    if (*cache_bw) cache_cli.bandwidth = cache_bandwidth;
    return server::RunCacheCli(cache_cli);
  }
  if (*routes) {
    std::puts(api::AuthorizationTableJson().c_str());
    return 0;
  }
  return Serve(flags);
}
