#include "server/admin.h"

#include <nlohmann/json.hpp>

#include <chrono>

#include "common/strings.h"

namespace strata::server {

// The status page (status_page.cc).
const std::string& StatusPageHtml();

namespace {
http::Response Text(int status, std::string body, const char* type = "text/plain; charset=utf-8") {
  http::Response r;
  r.status = status;
  r.Set("Content-Type", type);
  r.body = std::move(body);
  return r;
}

// A Prometheus label value: \\, " and newlines escaped.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

const char* kStates[] = {"hot", "premigrated", "offloaded", "archived"};

// The blobs of `path` (CONTAINER/BLOB, or CONTAINER/PREFIX: all under it).
std::vector<ns::BlobInfo> Expand(ns::Store* store, const std::string& path, std::string* c,
                                 Status* err) {
  std::vector<ns::BlobInfo> out;
  size_t slash = path.find('/');
  *c = path.substr(0, slash);
  std::string b = slash == std::string::npos ? "" : path.substr(slash + 1);
  if (!b.empty()) {
    auto one = store->Head(*c, b);
    if (one.ok()) {
      out.push_back(std::move(*one));
      return out;
    }
  }
  std::string marker;
  for (int page = 0; page < 100000; ++page) {
    auto list = store->List(*c, b, "", marker, 5000);
    if (!list.ok()) {
      *err = list.status();
      return out;
    }
    for (auto& item : list->items)
      if (!item.is_prefix) out.push_back(std::move(item.info));
    if (list->next_marker.empty()) break;
    marker = list->next_marker;
  }
  if (out.empty()) *err = Status(ErrorKind::kNotFound, "no blob at " + path);
  return out;
}
}  // namespace

void AdminHandler::SetAccounts(std::vector<AdminAccount> accounts) {
  std::lock_guard<std::mutex> l(mu_);
  accounts_ = std::move(accounts);
}

void AdminHandler::SetCacheJobs(CacheJobs* jobs) {
  std::lock_guard<std::mutex> l(cache_mu_);
  cache_jobs_ = jobs;
}

void AdminHandler::SetServerStats(std::function<http::ServerStats()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  sources_.server_stats = std::move(fn);
}

std::vector<AdminAccount> AdminHandler::Accounts() {
  std::lock_guard<std::mutex> l(mu_);
  return accounts_;
}

std::optional<http::Response> AdminHandler::Prepare(http::Request& req, http::BodyPlan* plan) {
  plan->kind = http::BodyPlan::kDiscard;
  bool get = req.method == "GET" || req.method == "HEAD";
  if (get && req.path == "/metrics")
    return Text(200, Metrics(), "text/plain; version=0.0.4; charset=utf-8");
  if (get && req.path == "/healthz") return Text(200, "ok\n");
  if (get && req.path == "/readyz") {
    const Health* h = sources_.health;
    if (!h || h->Ready()) return Text(200, "ready\n");
    std::string why = h->draining.load()        ? "draining"
                      : h->replaying.load() > 0 ? "replaying the capacity tier's journals"
                      : !h->serving.load()      ? "starting"
                                                : "not ready";
    return Text(503, "not ready: " + why + "\n");
  }
  if (get && (req.path == "/" || req.path == "/status")) {
    http::Response r = Text(200, StatusPageHtml(), "text/html; charset=utf-8");
    r.Set("Cache-Control", "no-store");
    r.Set("Content-Security-Policy",
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "connect-src 'self'; img-src 'self' data:");
    return r;
  }
  if (get && req.path == "/status/history.json")
    return Text(200, sources_.history ? sources_.history->Json() : "{\"samples\":[]}",
                "application/json");
  if (get && req.path == "/status/tier.json") return Text(200, TierJson(), "application/json");
  if (req.path.rfind("/cache/", 0) == 0) {
    std::string verb = req.path.substr(7);
    if (verb != "status" && verb != "job" && verb != "import" && verb != "prefetch" &&
        verb != "evict" && verb != "flush")
      return Text(404, "not found\n");
    bool get = verb == "status" || verb == "job";
    if ((get && !(req.method == "GET" || req.method == "HEAD")) || (!get && req.method != "POST"))
      return Text(405, "method not allowed\n");
    return Cache(req, verb);
  }
  if (req.path.rfind("/tier/", 0) == 0) {
    std::string verb = req.path.substr(6);
    bool get = verb == "status" || verb == "leader";
    if ((get && req.method != "GET") || (!get && req.method != "POST"))
      return Text(405, "method not allowed\n");
    return Tier(req, verb);
  }
  return Text(404, "not found\n");
}

http::Response AdminHandler::Handle(http::Request& req) { return Text(404, "not found\n"); }

http::Response AdminHandler::Fail(http::Failure, const http::Request*, const Status& detail) {
  http::Response r = Text(400, detail.message() + "\n");
  r.close = true;
  return r;
}

http::Response AdminHandler::Tier(http::Request& req, const std::string& verb) {
  if (verb != "status" && verb != "offload" && verb != "recall" && verb != "verify" &&
      verb != "leader" && verb != "pass")
    return Text(404, "not found\n");
  std::vector<AdminAccount> accounts = Accounts();
  if (accounts.empty()) return Text(503, "starting: the accounts are not open yet\n");
  AdminAccount* acct = accounts.empty() ? nullptr : &accounts.front();
  if (auto name = req.Query("account")) {
    acct = nullptr;
    for (auto& a : accounts)
      if (a.name == *name) acct = &a;
  }
  if (!acct) return Text(404, "no such account\n");
  if (!acct->tier && verb != "status") return Text(409, "no capacity tier is configured\n");
  if (verb == "leader") {
    auto who = acct->tier->Leader();
    nlohmann::json j{{"leader", who.id},
                     {"alive", who.alive},
                     {"self", who.self},
                     {"gateway", acct->tier->id()}};
    return Text(200, j.dump() + "\n", "application/json");
  }
  if (verb == "pass") {
    // Only the leader moves data by policy and watermarks, and it holds
    // the lock for life: another gateway forwards nothing and says who leads.
    if (!acct->scheduler) return Text(409, "no capacity tier is configured\n");
    auto who = acct->tier->Leader();
    if (!who.self)
      return Text(409,
                  "this gateway (" + acct->tier->id() + ") is not the tier leader; the leader is " +
                      (who.id.empty() ? "not chosen yet" : who.id) +
                      (who.id.empty() || who.alive ? "" : " (gone; another takes over)") + "\n");
    acct->scheduler->Trigger();
    return Text(202, "pass started on the tier leader " + who.id + "\n");
  }
  auto path = req.Query("path");
  if (!path || path->empty()) return Text(400, "path= is required\n");
  std::string tier = req.Query("tier").value_or("Cool");
  if (tier != "Cool" && tier != "Cold" && tier != "Archive")
    return Text(400, "tier must be Cool, Cold or Archive\n");
  std::string c;
  Status err;
  auto blobs = Expand(acct->store, *path, &c, &err);
  if (!err.ok()) return Text(404, err.message() + "\n");
  std::string out;
  for (const auto& info : blobs) {
    const ns::BlobRecord& rec = info.rec;
    nlohmann::json j{{"path", c + "/" + info.name},
                     {"size", info.st.size},
                     {"state", tier::StateName(rec.tier_state)},
                     {"tier", rec.tier.empty() ? "Hot" : rec.tier},
                     {"etag", rec.etag}};
    if (!rec.remote_name.empty()) j["remote"] = rec.remote_name;
    if (rec.remote_damaged && rec.tier_state != ns::BlobRecord::TierState::kHot)
      j["damaged"] = true;
    if (acct->tier) {
      std::string e = acct->tier->LastError(c, info.name);
      if (!e.empty()) j["error"] = e;
    }
    if (verb == "offload") {
      acct->tier->Schedule(tier::CapacityTier::JobKind::kOffload, c, info.name, tier, rec.etag);
    } else if (verb == "recall") {
      acct->tier->Schedule(tier::CapacityTier::JobKind::kRecall, c, info.name, "Hot", rec.etag);
    } else if (verb == "verify") {
      Status v = acct->tier->Verify(c, info.name);
      j["verified"] = v.ok();
      if (!v.ok()) j["error"] = v.message();
      auto after = acct->store->Head(c, info.name);
      if (after.ok()) {
        if (after->rec.remote_damaged && after->rec.tier_state != ns::BlobRecord::TierState::kHot)
          j["damaged"] = true;
        else
          j.erase("damaged");
      }
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return Text(200, out, "application/x-ndjson");
}

http::Response AdminHandler::Cache(http::Request& req, const std::string& verb) {
  CacheJobKind kind = CacheJobKind::kImport;
  if (verb == "import") kind = CacheJobKind::kImport;
  else if (verb == "prefetch") kind = CacheJobKind::kPrefetch;
  else if (verb == "evict") kind = CacheJobKind::kEvict;
  else if (verb == "flush") kind = CacheJobKind::kFlush;
  else if (verb != "status" && verb != "job") return Text(404, "not found\n");
  auto json = [](int status, const nlohmann::json& j) {
    return Text(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                "application/json");
  };
  std::lock_guard<std::mutex> hold(cache_mu_);  // cache_jobs_ stays while this runs
  if (verb == "job") {
    auto id = req.Query("id");
    uint64_t n = 0;
    if (!id) return Text(400, "id= is required\n");
    if (Status s = ParseBounded(*id, 1, UINT64_MAX, &n); !s.ok())
      return Text(400, "id: " + s.message() + "\n");
    if (!cache_jobs_) return Text(404, "no such job\n");
    auto p = cache_jobs_->Progress(n);
    if (!p) return Text(404, "no such job\n");
    return json(200, *p);
  }
  std::vector<AdminAccount> accounts = Accounts();
  if (accounts.empty()) return Text(503, "starting: the accounts are not open yet\n");
  AdminAccount* acct = &accounts.front();
  if (auto name = req.Query("account")) {
    acct = nullptr;
    for (auto& a : accounts)
      if (a.name == *name) acct = &a;
  }
  if (!acct) return Text(404, "no such account\n");
  bool cached_any = acct->tier && !acct->tier->CachedContainers().empty();
  if (verb == "status") {
    if (!cached_any) return json(200, {{"account", acct->name}, {"containers", nlohmann::json::array()}});
    return json(200, CacheStatusJson(acct->name, acct->tier, acct->store, acct->cache_remotes));
  }
  CacheJobSpec spec;
  spec.kind = kind;
  spec.account = acct->name;
  spec.tier = acct->tier;
  spec.store = acct->store;
  auto path = req.Query("path");
  if (path && !path->empty()) {
    CachePath cp;
    if (Status s = ParseCachePath(*path, &cp); !s.ok()) return Text(400, s.message() + "\n");
    if (!cached_any || !acct->tier->Cached(cp.container))
      return Text(409, "container " + cp.container + " is not cached\n");
    spec.containers.push_back(cp.container);
    spec.prefix = cp.prefix;
  } else if (kind == CacheJobKind::kFlush) {
    if (!cached_any) return Text(409, "the account has no cached container\n");
    spec.containers = acct->tier->CachedContainers();
  } else {
    return Text(400, "path= is required\n");
  }
  if (auto v = req.Query("concurrency")) {
    uint64_t n = 0;
    if (kind != CacheJobKind::kPrefetch) return Text(400, "concurrency= applies to prefetch only\n");
    if (Status s = ParseBounded(*v, 1, 64, &n); !s.ok())
      return Text(400, "concurrency: " + s.message() + "\n");
    spec.concurrency = static_cast<int>(n);
  }
  if (auto v = req.Query("bandwidth")) {
    uint64_t n = 0;
    if (kind != CacheJobKind::kPrefetch) return Text(400, "bandwidth= applies to prefetch only\n");
    if (Status s = ParseBounded(*v, 0, uint64_t{1} << 50, &n); !s.ok())
      return Text(400, "bandwidth: " + s.message() + "\n");
    spec.bandwidth = n;
  }
  if (!cache_jobs_) return Text(503, "cache jobs are not available (starting or stopping)\n");
  auto id = cache_jobs_->Start(std::move(spec));
  if (!id.ok())
    return Text(id.status().kind() == ErrorKind::kAlreadyExists ? 409 : 503,
                id.status().message() + "\n");
  return json(202, {{"job", *id}});
}

nlohmann::json AdminHandler::CacheJsonCached(const AdminAccount& a) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  {
    std::lock_guard<std::mutex> l(cache_json_mu_);
    auto it = cache_json_.find(a.name);
    if (it != cache_json_.end() && now - it->second.first < 5000) return it->second.second;
  }
  nlohmann::json j = CacheStatusJson(a.name, a.tier, a.store, a.cache_remotes);
  std::lock_guard<std::mutex> l(cache_json_mu_);
  cache_json_[a.name] = {now, j};
  return j;
}

std::string AdminHandler::TierJson() {
  nlohmann::json out = nlohmann::json::array();
  for (auto& a : Accounts()) {
    nlohmann::json j;
    j["account"] = a.name;
    j["tier"] = a.tier != nullptr;
    if (!a.tier) {
      out.push_back(std::move(j));
      continue;
    }
    j["gateway"] = a.tier->id();
    j["leader"] = a.tier->leader();
    if (a.scheduler) {
      auto p = a.scheduler->last_pass();
      nlohmann::json states = nlohmann::json::object();
      for (int st = 0; st < 4; ++st)
        states[kStates[st]] = {{"blobs", p.state_blobs[st]}, {"bytes", p.state_bytes[st]}};
      j["states"] = std::move(states);
    }
    auto c = a.tier->GetCounters();
    j["queue"] = {{"moves", c.queue_depth},
                  {"remote_reads", c.pending_reads},
                  {"journal_entries", c.journal_entries}};
    j["totals"] = {{"offloads", c.offloads},
                   {"offload_bytes", c.offload_bytes},
                   {"recalls", c.recalls},
                   {"recall_bytes", c.recall_bytes},
                   {"remote_reads", c.stream_reads},
                   {"failures", c.failures},
                   {"verify_failures", c.verify_failures},
                   {"damaged", c.damaged}};
    nlohmann::json events = nlohmann::json::array();
    for (const auto& e : a.tier->RecentEvents())
      events.push_back(
          {{"t", e.at / 1000000}, {"kind", e.kind}, {"path", e.path}, {"bytes", e.bytes}});
    j["recent"] = std::move(events);
    if (!a.tier->CachedContainers().empty()) j["cache"] = CacheJsonCached(a);
    out.push_back(std::move(j));
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string AdminHandler::Metrics() {
  std::string m;
  if (sources_.metrics) {
    http::ServerStats st;
    std::function<http::ServerStats()> fn;
    {
      std::lock_guard<std::mutex> l(mu_);
      fn = sources_.server_stats;
    }
    if (fn) st = fn();
    m += sources_.metrics->Prometheus(fn ? &st : nullptr);
  }
  if (sources_.access_log) {
    m += "# HELP strata_access_log_dropped_total Access log lines dropped (the writer fell behind, "
         "or a write failed).\n# TYPE strata_access_log_dropped_total counter\n";
    m += "strata_access_log_dropped_total " + std::to_string(sources_.access_log->dropped()) + "\n";
  }
  if (sources_.health) {
    m += "# HELP strata_ready 1 when /readyz answers 200.\n# TYPE strata_ready gauge\n";
    m += std::string("strata_ready ") + (sources_.health->Ready() ? "1" : "0") + "\n";
  }
  std::vector<AdminAccount> accounts_ = Accounts();
  auto counter = [&m](const char* name, const char* help, const char* type) {
    m += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&m](const std::string& name, const std::string& labels, uint64_t v) {
    m += name + "{" + labels + "} " + std::to_string(v) + "\n";
  };
  counter("strata_tier_leader",
          "1 when this gateway is the tier leader of the account's root (runs the policy and "
          "watermark passes, replays dead gateways' journals), else 0.",
          "gauge");
  for (auto& a : accounts_)
    if (a.tier) line("strata_tier_leader", "account=\"" + a.name + "\"", a.tier->leader() ? 1 : 0);
  counter("strata_tier_blobs", "Blobs per tier state at the last scheduler pass.", "gauge");
  for (auto& a : accounts_) {
    if (!a.scheduler) continue;
    auto p = a.scheduler->last_pass();
    for (int s = 0; s < 4; ++s)
      line("strata_tier_blobs", "account=\"" + a.name + "\",state=\"" + kStates[s] + "\"",
           p.state_blobs[s]);
  }
  counter("strata_tier_bytes", "Blob bytes per tier state at the last scheduler pass.", "gauge");
  for (auto& a : accounts_) {
    if (!a.scheduler) continue;
    auto p = a.scheduler->last_pass();
    for (int s = 0; s < 4; ++s)
      line("strata_tier_bytes", "account=\"" + a.name + "\",state=\"" + kStates[s] + "\"",
           p.state_bytes[s]);
  }
  struct Field {
    const char* name;
    const char* help;
    const char* type;
    uint64_t tier::CapacityTier::Counters::*field;
  };
  static const Field kFields[] = {
      {"strata_tier_offloads_total", "Blobs offloaded.", "counter",
       &tier::CapacityTier::Counters::offloads},
      {"strata_tier_offload_bytes_total", "Bytes uploaded by offloads.", "counter",
       &tier::CapacityTier::Counters::offload_bytes},
      {"strata_tier_recalls_total", "Blobs recalled.", "counter",
       &tier::CapacityTier::Counters::recalls},
      {"strata_tier_recall_bytes_total", "Bytes downloaded by recalls.", "counter",
       &tier::CapacityTier::Counters::recall_bytes},
      {"strata_tier_remote_reads_total", "Get Blob requests served from the remote.", "counter",
       &tier::CapacityTier::Counters::stream_reads},
      {"strata_tier_remote_read_bytes_total", "Bytes streamed from the remote to clients.",
       "counter", &tier::CapacityTier::Counters::stream_bytes},
      {"strata_tier_remote_deletes_total", "Stale or recalled remote copies deleted.", "counter",
       &tier::CapacityTier::Counters::remote_deletes},
      {"strata_tier_failures_total", "Failed tier operations (remote errors included).", "counter",
       &tier::CapacityTier::Counters::failures},
      {"strata_tier_verify_failures_total",
       "Reads, recalls and verifications of a remote copy that failed verification.", "counter",
       &tier::CapacityTier::Counters::verify_failures},
      {"strata_tier_damaged_total",
       "Blobs whose remote copy was newly found damaged (changed, gone, other bytes).", "counter",
       &tier::CapacityTier::Counters::damaged},
      {"strata_tier_queue_depth", "Offloads and recalls queued or running.", "gauge",
       &tier::CapacityTier::Counters::queue_depth},
      {"strata_tier_pending_reads", "Remote reads waiting for a worker.", "gauge",
       &tier::CapacityTier::Counters::pending_reads},
      {"strata_tier_journal_entries", "Tier operations in the journal.", "gauge",
       &tier::CapacityTier::Counters::journal_entries},
  };
  std::vector<std::pair<std::string, tier::CapacityTier::Counters>> counts;
  for (auto& a : accounts_)
    if (a.tier) counts.emplace_back(a.name, a.tier->GetCounters());
  for (const auto& f : kFields) {
    counter(f.name, f.help, f.type);
    for (const auto& [name, c] : counts) line(f.name, "account=\"" + name + "\"", c.*(f.field));
  }
  // Cache mode. The tier counts per account (all its cached containers
  // together), so these carry the account label only.
  struct CacheField {
    const char* name;
    const char* help;
    uint64_t tier::CapacityTier::CacheCounters::*field;
  };
  using CC = tier::CapacityTier::CacheCounters;
  static const CacheField kCacheFields[] = {
      {"strata_cache_hit_requests_total", "Reads of cached containers served from local data.",
       &CC::hit_requests},
      {"strata_cache_hit_bytes_total", "Bytes of reads served from local data.", &CC::hit_bytes},
      {"strata_cache_miss_requests_total", "Reads of cached containers that went to the remote.",
       &CC::miss_requests},
      {"strata_cache_miss_bytes_total", "Bytes of reads that went to the remote.",
       &CC::miss_bytes},
      {"strata_cache_hydrations_total", "Stubs hydrated (downloaded and verified).",
       &CC::hydrations},
      {"strata_cache_hydration_bytes_total", "Bytes hydrated.", &CC::hydration_bytes},
      {"strata_cache_uploads_total", "Local writes uploaded to the remote.", &CC::uploads},
      {"strata_cache_upload_bytes_total", "Bytes uploaded by write-through and write-back.",
       &CC::upload_bytes},
      {"strata_cache_conflicts_total",
       "Uploads that found the remote changed (the remote version kept as NAME.conflict-ETAG).",
       &CC::conflicts},
      {"strata_cache_remote_errors_total", "Remote failures met by the cache (list, head, read, upload).",
       &CC::remote_errors},
      {"strata_cache_imported_total", "Stubs created or updated from remote listings.",
       &CC::imported},
  };
  std::vector<std::pair<const AdminAccount*, CC>> cache_counts;
  for (auto& a : accounts_)
    if (a.tier && !a.tier->CachedContainers().empty())
      cache_counts.emplace_back(&a, a.tier->GetCacheCounters());
  if (!cache_counts.empty()) {
    for (const auto& f : kCacheFields) {
      counter(f.name, f.help, "counter");
      for (const auto& [a, c] : cache_counts)
        line(f.name, "account=\"" + LabelValue(a->name) + "\"", c.*(f.field));
    }
    counter("strata_cache_writeback_queue", "Uploads of dirty cached blobs queued or running.",
            "gauge");
    for (const auto& [a, c] : cache_counts)
      line("strata_cache_writeback_queue", "account=\"" + LabelValue(a->name) + "\"", c.dirty);
    // Per container: what it is, and its own remote client's traffic.
    counter("strata_cache_container_info", "1 per cached container, with its write mode.", "gauge");
    for (const auto& [a, c] : cache_counts)
      for (const auto& name : a->tier->CachedContainers()) {
        const auto* o = a->tier->CacheOf(name);
        line("strata_cache_container_info",
             "account=\"" + LabelValue(a->name) + "\",container=\"" + LabelValue(name) +
                 "\",write_mode=\"" + (o && o->write_back ? "write_back" : "write_through") + "\"",
             1);
      }
    struct RemoteField {
      const char* name;
      const char* help;
      uint64_t tier::RemoteClient::Stats::*field;
    };
    static const RemoteField kRemoteFields[] = {
        {"strata_cache_remote_requests_total", "Requests sent to a cached container's remote.",
         &tier::RemoteClient::Stats::requests},
        {"strata_cache_remote_bytes_down_total", "Bytes received from a cached container's remote.",
         &tier::RemoteClient::Stats::bytes_down},
        {"strata_cache_remote_bytes_up_total", "Bytes sent to a cached container's remote.",
         &tier::RemoteClient::Stats::bytes_up},
    };
    std::vector<std::pair<std::string, tier::RemoteClient::Stats>> rstats;
    for (const auto& [a, c] : cache_counts)
      for (const auto& name : a->tier->CachedContainers())
        if (const auto* o = a->tier->CacheOf(name); o && o->remote)
          rstats.emplace_back("account=\"" + LabelValue(a->name) + "\",container=\"" +
                                  LabelValue(name) + "\"",
                              o->remote->GetStats());
    for (const auto& f : kRemoteFields) {
      counter(f.name, f.help, "counter");
      for (const auto& [labels, st] : rstats) line(f.name, labels, st.*(f.field));
    }
  }
  // The remote client is shared by the accounts.
  tier::RemoteClient* remote = nullptr;
  for (auto& a : accounts_)
    if (a.tier) remote = a.tier->remote();
  if (remote) {
    auto s = remote->GetStats();
    auto one = [&](const char* name, const char* help, const char* type, uint64_t v) {
      counter(name, help, type);
      m += std::string(name) + " " + std::to_string(v) + "\n";
    };
    one("strata_tier_remote_requests_total", "Requests sent to the remote.", "counter", s.requests);
    one("strata_tier_remote_retries_total", "Remote requests retried.", "counter", s.retries);
    one("strata_tier_remote_errors_total", "Remote requests that failed after their retries.",
        "counter", s.errors);
    one("strata_tier_remote_bytes_up_total", "Bytes sent to the remote.", "counter", s.bytes_up);
    one("strata_tier_remote_bytes_down_total", "Bytes received from the remote.", "counter",
        s.bytes_down);
    one("strata_tier_remote_in_flight", "Remote requests in flight.", "gauge", s.in_flight);
  }
  return m;
}

}  // namespace strata::server
