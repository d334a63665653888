#include "server/cache_admin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <tuple>

#include "common/log.h"
#include "ns/names.h"

namespace strata::server {

namespace {
using TierState = ns::BlobRecord::TierState;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Walks the blobs of c under prefix in name order, page by page; `fn`
// returns false to stop. `stop` is checked between pages.
template <typename Fn>
Status Walk(ns::Store* store, const std::string& c, const std::string& prefix,
            const std::atomic<bool>* stop, Fn fn) {
  std::string marker;
  for (int page = 0; page < 10'000'000; ++page) {
    if (stop && stop->load()) return Status(ErrorKind::kBusy, "stopped");
    auto list = store->List(c, prefix, "", marker, 5000);
    if (!list.ok()) return list.status();
    for (const auto& item : list->items) {
      if (item.is_prefix || item.is_dir) continue;
      if (!fn(item.info, item.name)) return Status::Ok();
    }
    if (list->next_marker.empty()) break;
    marker = list->next_marker;
  }
  return Status::Ok();
}

std::string MarkerPath(ns::Store* store, const std::string& c) {
  return store->root() + "/.strata/cache/import-" + c + ".marker";
}

// The marker an interrupted import of (c, prefix) left ("" when none, or
// one of another prefix).
std::string LoadMarker(ns::Store* store, const std::string& c, const std::string& prefix) {
  FILE* f = std::fopen(MarkerPath(store, c).c_str(), "rb");
  if (!f) return "";
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && text.size() < (1 << 20))
    text.append(buf, n);
  std::fclose(f);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("prefix") || !j.contains("marker") ||
      !j["prefix"].is_string() || !j["marker"].is_string() || j["prefix"] != prefix)
    return "";
  return j["marker"].get<std::string>();
}

Status SaveMarker(ns::Store* store, const std::string& c, const std::string& prefix,
                  const std::string& marker) {
  std::string dir = store->root() + "/.strata/cache";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Status(ErrorKind::kIo, "mkdir " + dir + ": " + std::strerror(errno));
  std::string path = MarkerPath(store, c);
  std::string tmp = path + ".tmp";
  std::string body = nlohmann::json{{"prefix", prefix}, {"marker", marker}}.dump(
                         -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                     "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status(ErrorKind::kIo, "open " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status(ErrorKind::kIo, "writing " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

void RemoveMarker(ns::Store* store, const std::string& c) {
  ::unlink(MarkerPath(store, c).c_str());
}

nlohmann::json ImportJson(const tier::CapacityTier::ImportStats& s) {
  return {{"pages", s.pages},     {"listed", s.listed},   {"created", s.created},
          {"updated", s.updated}, {"removed", s.removed}, {"skipped", s.skipped},
          {"dirs", s.dirs}};
}
}  // namespace

// ------------------------------------------------------------- parameters

Status ParseCachePath(std::string_view path, CachePath* out) {
  if (path.empty()) return Status(ErrorKind::kInvalidArgument, "path= is required");
  size_t slash = path.find('/');
  std::string_view c = path.substr(0, slash);
  std::string_view p = slash == std::string_view::npos ? "" : path.substr(slash + 1);
  if (Status s = ns::ValidateContainerName(c); !s.ok())
    return Status(ErrorKind::kInvalidArgument, "invalid container name in path: " + s.message());
  if (p.size() > 1024)
    return Status(ErrorKind::kInvalidArgument, "the prefix is longer than a blob name may be");
  out->container = std::string(c);
  out->prefix = std::string(p);
  return Status::Ok();
}

Status ParseBounded(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out) {
  auto bad = [&] {
    return Status(ErrorKind::kInvalidArgument,
                  "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  };
  if (s.empty() || s.size() > 20) return bad();
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return bad();
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10) return bad();
    v = v * 10 + d;
  }
  if (v < lo || v > hi) return bad();
  *out = v;
  return Status::Ok();
}

std::string RedactUrl(std::string_view url) {
  size_t cut = url.find_first_of("?#");
  std::string u(url.substr(0, cut));
  size_t scheme = u.find("://");
  size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  size_t path = u.find('/', host);
  size_t at = u.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at != std::string::npos && at >= host) u.erase(host, at + 1 - host);
  return u;
}

// -------------------------------------------------------------- bandwidth

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst)
    : rate_(rate), burst_(static_cast<double>(std::max<uint64_t>(burst, 1))), tokens_(burst_) {}

int64_t TokenBucket::Reserve(uint64_t bytes, int64_t now_ns) {
  if (rate_ == 0) return 0;
  std::lock_guard<std::mutex> l(mu_);
  if (last_ns_ >= 0 && now_ns > last_ns_)
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * 1e-9 *
                                             static_cast<double>(rate_));
  if (now_ns > last_ns_) last_ns_ = now_ns;
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return 0;
  double wait_s = -tokens_ / static_cast<double>(rate_);
  return wait_s > 9e9 ? INT64_MAX : static_cast<int64_t>(wait_s * 1e9);
}

// ------------------------------------------------------------------ states

bool CacheDirty(const ns::BlobInfo& info, const std::string& name) {
  return !info.has_record || info.rec.tier_state == TierState::kHot ||
         info.rec.remote_name != name;
}
bool CacheStub(const ns::BlobInfo& info) {
  return info.has_record && info.rec.tier_state == TierState::kOffloaded;
}
bool CacheClean(const ns::BlobInfo& info, const std::string& name) {
  return info.has_record && info.rec.tier_state == TierState::kPremigrated &&
         info.rec.remote_name == name;
}

CacheStateCounts WalkCacheStates(ns::Store* store, tier::CapacityTier* tier, const std::string& c,
                                 uint64_t max_entries) {
  CacheStateCounts k;
  uint64_t seen = 0;
  (void)Walk(store, c, "", nullptr, [&](const ns::BlobInfo& info, const std::string& name) {
    if (++seen > max_entries) {
      k.truncated = true;
      return false;
    }
    bool clean = false;
    if (CacheDirty(info, name)) {
      k.dirty_blobs++;
      k.dirty_bytes += info.st.size;
    } else if (CacheStub(info)) {
      k.stub_blobs++;
      k.stub_bytes += info.st.size;
    } else {
      clean = true;
      k.clean_blobs++;
      k.clean_bytes += info.st.size;
    }
    if (!clean && tier && k.errors.size() < CacheStateCounts::kMaxErrors) {
      std::string e = tier->LastError(c, name);
      if (!e.empty()) k.errors.emplace_back(c + "/" + name, std::move(e));
    }
    return true;
  });
  return k;
}

nlohmann::json CacheStatusJson(const std::string& account, tier::CapacityTier* tier,
                               ns::Store* store, const std::map<std::string, std::string>& remotes) {
  nlohmann::json j;
  j["account"] = account;
  auto k = tier->GetCacheCounters();
  j["counters"] = {{"hit_requests", k.hit_requests},
                   {"hit_bytes", k.hit_bytes},
                   {"miss_requests", k.miss_requests},
                   {"miss_bytes", k.miss_bytes},
                   {"hydrations", k.hydrations},
                   {"hydration_bytes", k.hydration_bytes},
                   {"shared_reads", k.shared_reads},
                   {"uploads", k.uploads},
                   {"upload_bytes", k.upload_bytes},
                   {"conflicts", k.conflicts},
                   {"remote_errors", k.remote_errors},
                   {"imported", k.imported},
                   {"evictions", k.evictions},
                   {"writeback_queue", k.dirty}};
  nlohmann::json containers = nlohmann::json::array();
  std::set<std::string> names;
  for (const auto& c : tier->CachedContainers()) {
    names.insert(c);
    const auto* o = tier->CacheOf(c);
    nlohmann::json cj;
    cj["name"] = c;
    auto r = remotes.find(c);
    cj["remote"] = r == remotes.end() ? "" : RedactUrl(r->second);
    cj["write_mode"] = o && o->write_back ? "write_back" : "write_through";
    if (o) {
      cj["revalidate_s"] = o->revalidate_s;
      cj["hydrate_on_range"] = o->hydrate_on_range;
    }
    CacheStateCounts s = WalkCacheStates(store, tier, c);
    cj["states"] = {{"stub", {{"blobs", s.stub_blobs}, {"bytes", s.stub_bytes}}},
                    {"clean", {{"blobs", s.clean_blobs}, {"bytes", s.clean_bytes}}},
                    {"dirty", {{"blobs", s.dirty_blobs}, {"bytes", s.dirty_bytes}}}};
    if (s.truncated) cj["states_truncated"] = true;
    nlohmann::json errs = nlohmann::json::array();
    for (const auto& [p, e] : s.errors) errs.push_back({{"path", p}, {"error", e}});
    cj["errors"] = std::move(errs);
    if (o && o->remote) {
      auto st = o->remote->GetStats();
      cj["remote_stats"] = {{"requests", st.requests},     {"retries", st.retries},
                            {"errors", st.errors},         {"bytes_up", st.bytes_up},
                            {"bytes_down", st.bytes_down}, {"in_flight", st.in_flight}};
    }
    containers.push_back(std::move(cj));
  }
  j["containers"] = std::move(containers);
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : tier->RecentEvents()) {
    std::string c = e.path.substr(0, e.path.find('/'));
    if (!names.count(c)) continue;
    events.push_back({{"t", e.at / 1000000}, {"kind", e.kind}, {"path", e.path}, {"bytes", e.bytes}});
  }
  j["recent"] = std::move(events);
  return j;
}

// -------------------------------------------------------------------- jobs

const char* CacheJobKindName(CacheJobKind k) {
  switch (k) {
    case CacheJobKind::kImport: return "import";
    case CacheJobKind::kPrefetch: return "prefetch";
    case CacheJobKind::kEvict: return "evict";
    case CacheJobKind::kFlush: return "flush";
  }
  return "?";
}

struct CacheJobs::Job {
  uint64_t id = 0;
  CacheJobSpec spec;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  int64_t started_ns = 0;
  std::atomic<int64_t> ended_ns{0};
  std::atomic<uint64_t> blobs_total{0}, blobs_done{0}, blobs_failed{0};
  std::atomic<uint64_t> bytes_total{0}, bytes_done{0};
  std::mutex mu;  // what follows
  std::string phase = "starting";
  std::string error;  // the job as a whole failed
  tier::CapacityTier::ImportStats import;
  bool imported = false;
  std::vector<std::pair<std::string, std::string>> failures;
  uint64_t failure_count = 0;

  void Fail(const std::string& path, const std::string& why) {
    std::lock_guard<std::mutex> l(mu);
    failure_count++;
    if (failures.size() < kMaxFailures) failures.emplace_back(path, why);
  }
  // One blob's outcome: done (with its bytes) or failed (with why).
  void Tally(const std::string& path, uint64_t size, const Status& s) {
    if (s.ok()) {
      blobs_done++;
      bytes_done += size;
    } else {
      blobs_failed++;
      Fail(path, s.message());
    }
  }
  void Phase(const char* p) {
    std::lock_guard<std::mutex> l(mu);
    phase = p;
  }
  std::string Path() const {
    if (spec.kind == CacheJobKind::kFlush && spec.containers.size() != 1) return "";
    return spec.containers.empty() ? "" : spec.containers[0] + (spec.prefix.empty() ? "" : "/" + spec.prefix);
  }
};

CacheJobs::CacheJobs(int max_running) : max_running_(std::max(1, max_running)) {}

CacheJobs::~CacheJobs() { Stop(); }

void CacheJobs::Stop() {
  std::vector<Job*> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopped_ = true;
    for (auto& [id, j] : jobs_) {
      j->stop = true;
      all.push_back(j.get());
    }
  }
  // Jobs are never erased while stopped_ (Reap runs only in Start).
  for (Job* j : all)
    if (j->thread.joinable()) j->thread.join();
}

void CacheJobs::Reap() {
  // REQUIRES: mu_ held.
  size_t finished = 0;
  for (auto& [id, j] : jobs_)
    if (j->finished.load()) {
      if (j->thread.joinable()) j->thread.join();  // it is past its last step
      ++finished;
    }
  for (auto it = jobs_.begin(); it != jobs_.end() && finished > kKeepFinished;) {
    if (it->second->finished.load()) {
      it = jobs_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

Result<uint64_t> CacheJobs::Start(CacheJobSpec spec) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopped_) return Status(ErrorKind::kBusy, "the server is stopping");
  Reap();
  int running = 0;
  for (auto& [id, j] : jobs_) {
    if (j->finished.load()) continue;
    ++running;
    bool lists = j->spec.kind == CacheJobKind::kImport || j->spec.kind == CacheJobKind::kPrefetch;
    bool want = spec.kind == CacheJobKind::kImport || spec.kind == CacheJobKind::kPrefetch;
    if (lists && want && j->spec.account == spec.account && !spec.containers.empty() &&
        j->spec.containers == spec.containers)
      return Status(ErrorKind::kAlreadyExists, "job " + std::to_string(id) + " (" +
                                                   CacheJobKindName(j->spec.kind) + ") imports " +
                                                   spec.containers[0] + " already");
  }
  if (running >= max_running_)
    return Status(ErrorKind::kBusy, std::to_string(running) + " cache jobs are running already");
  auto job = std::make_unique<Job>();
  job->id = next_id_++;
  job->spec = std::move(spec);
  job->spec.concurrency = std::clamp(job->spec.concurrency, 1, 64);
  job->started_ns = SteadyNs();
  Job* j = job.get();
  jobs_[j->id] = std::move(job);
  j->thread = std::thread([this, j] { Run(j); });
  return j->id;
}

std::optional<nlohmann::json> CacheJobs::Progress(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  Job* j = it->second.get();
  bool finished = j->finished.load();
  int64_t end = finished ? j->ended_ns.load() : SteadyNs();
  nlohmann::json out;
  out["id"] = j->id;
  out["kind"] = CacheJobKindName(j->spec.kind);
  out["account"] = j->spec.account;
  out["path"] = j->Path();
  out["blobs_total"] = j->blobs_total.load();
  out["blobs_done"] = j->blobs_done.load();
  out["blobs_failed"] = j->blobs_failed.load();
  out["bytes_total"] = j->bytes_total.load();
  out["bytes_done"] = j->bytes_done.load();
  out["elapsed_s"] = static_cast<double>(end - j->started_ns) / 1e9;
  std::lock_guard<std::mutex> jl(j->mu);
  out["state"] = !finished ? "running" : j->error.empty() && j->failure_count == 0 ? "done" : "failed";
  out["phase"] = j->phase;
  if (j->spec.kind == CacheJobKind::kImport || j->spec.kind == CacheJobKind::kPrefetch)
    out["import"] = ImportJson(j->import);
  nlohmann::json f = nlohmann::json::array();
  for (const auto& [p, e] : j->failures) f.push_back({{"path", p}, {"error", e}});
  out["failures"] = std::move(f);
  out["failure_count"] = j->failure_count;
  if (!j->error.empty()) out["error"] = j->error;
  return out;
}

void CacheJobs::Run(Job* j) {
  switch (j->spec.kind) {
    case CacheJobKind::kImport:
      RunImport(j, j->spec.containers.at(0), true);
      break;
    case CacheJobKind::kPrefetch:
      RunPrefetch(j);
      break;
    case CacheJobKind::kEvict:
      RunEvict(j);
      break;
    case CacheJobKind::kFlush:
      RunFlush(j);
      break;
  }
  if (j->stop.load()) {
    std::lock_guard<std::mutex> l(j->mu);
    if (j->error.empty()) j->error = "stopped";
  }
  {
    std::lock_guard<std::mutex> l(j->mu);
    j->phase = "finished";
  }
  j->ended_ns = SteadyNs();
  j->finished = true;
}

void CacheJobs::RunImport(Job* j, const std::string& c, bool last_phase) {
  j->Phase("import");
  tier::CapacityTier* tier = j->spec.tier;
  ns::Store* store = j->spec.store;
  const std::string& prefix = j->spec.prefix;
  std::string marker = LoadMarker(store, c, prefix);
  if (!marker.empty())
    LOG_INFO("cache: import of %s/%s resumes after an interrupted one\n", c.c_str(), prefix.c_str());
  tier::CapacityTier::ImportStats stats;
  Status save_err;
  Status s = tier->Import(c, prefix, /*one_level=*/false, &stats, &marker,
                          [&](const tier::CapacityTier::ImportStats& st) {
                            {
                              std::lock_guard<std::mutex> l(j->mu);
                              j->import = st;
                            }
                            if (!marker.empty()) {
                              Status w = SaveMarker(store, c, prefix, marker);
                              if (!w.ok() && save_err.ok()) save_err = w;
                            }
                            if (last_phase) j->blobs_done = st.listed;
                            return !j->stop.load();
                          });
  {
    std::lock_guard<std::mutex> l(j->mu);
    j->import = stats;
    j->imported = s.ok() && marker.empty();
  }
  if (last_phase) j->blobs_done = stats.listed;
  if (s.ok() && marker.empty()) RemoveMarker(store, c);
  std::string where = c + (prefix.empty() ? "" : "/" + prefix);
  if (!s.ok()) j->Fail(where, "import: " + s.message());
  else if (!save_err.ok()) j->Fail(where, "import marker: " + save_err.message());
}

bool CacheJobs::Scan(Job* j, const std::string& c, const Pick& pick, Todo* todo) {
  j->Phase("scan");
  Status ws = Walk(j->spec.store, c, j->spec.prefix, &j->stop,
                   [&](const ns::BlobInfo& info, const std::string& name) {
                     if (pick(info, name)) {
                       todo->emplace_back(c, name, info.st.size);
                       j->blobs_total++;
                       j->bytes_total += info.st.size;
                     }
                     return true;
                   });
  if (!ws.ok() && !j->stop.load()) j->Fail(c, "listing: " + ws.message());
  return ws.ok() && !j->stop.load();
}

void CacheJobs::RunPrefetch(Job* j) {
  const std::string c = j->spec.containers.at(0);
  // The list first, so every stub under the prefix is known. A failed
  // import is reported and the stubs already known are still hydrated.
  RunImport(j, c, false);
  if (j->stop.load()) return;
  Todo todo;
  auto stub = [](const ns::BlobInfo& info, const std::string&) { return CacheStub(info); };
  if (!Scan(j, c, stub, &todo)) return;
  j->Phase("hydrate");
  // Bursts of at most one second of the cap (and at least 1 MiB).
  TokenBucket bucket(j->spec.bandwidth, std::max<uint64_t>(j->spec.bandwidth, 1 << 20));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (;;) {
      if (j->stop.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= todo.size()) return;
      const auto& [tc, name, size] = todo[i];
      int64_t wait = bucket.Reserve(size, SteadyNs());
      int64_t until = SteadyNs() + std::min<int64_t>(wait, int64_t{86400} * 1'000'000'000);
      while (wait > 0 && !j->stop.load()) {
        int64_t left = until - SteadyNs();
        if (left <= 0) break;
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
      }
      if (j->stop.load()) return;
      Status s = j->spec.tier->Hydrate(c, name);
      j->Tally(c + "/" + name, size, s);
    }
  };
  int n = std::min<int>(j->spec.concurrency, static_cast<int>(std::max<size_t>(todo.size(), 1)));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
}

void CacheJobs::RunEvict(Job* j) {
  const std::string c = j->spec.containers.at(0);
  Todo todo;
  if (!Scan(j, c, CacheClean, &todo)) return;
  j->Phase("evict");
  for (const auto& [tc, name, size] : todo) {
    if (j->stop.load()) return;
    // The etag is not pinned: a blob written meanwhile is dirty, and
    // Offload uploads it before releasing (never losing it).
    Status s = j->spec.tier->Offload(c, name, "");
    j->Tally(c + "/" + name, size, s);
  }
}

void CacheJobs::RunFlush(Job* j) {
  Todo todo;
  for (const auto& c : j->spec.containers)
    if (!Scan(j, c, CacheDirty, &todo)) return;
  j->Phase("upload");
  for (const auto& [c, name, size] : todo) {
    if (j->stop.load()) return;
    // Still dirty after an Ok (changed again meanwhile): it goes with the
    // next write-back; counted as done, its new version is queued.
    Status s = j->spec.tier->WriteBack(c, name);
    j->Tally(c + "/" + name, size, s);
  }
}

}  // namespace strata::server
