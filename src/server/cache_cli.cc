#include "server/cache_cli.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "server/admin_client.h"

namespace strata::server {

namespace {
// One admin request: its whole exchange, and the most an answer may hold.
constexpr long kCacheCallTimeoutS = 120;
constexpr uint64_t kMaxAnswer = 64u << 20;


std::string Mib(double b) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", b / 1048576.0);
  return buf;
}

uint64_t U(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>()
         : it != j.end() && it->is_number_integer() && it->get<int64_t>() > 0
             ? static_cast<uint64_t>(it->get<int64_t>())
             : 0;
}

double Secs(const nlohmann::json& j) {
  auto it = j.find("elapsed_s");
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Body(const AdminReply& r) {
  std::string b = r.body;
  while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.pop_back();
  return b.empty() ? "HTTP " + std::to_string(r.status) : b;
}

// Prints the cache status of an account (only `container` when non-empty).
int PrintStatus(const nlohmann::json& j, const std::string& container) {
  if (!j.is_object()) return 1;
  const auto& cs = j.value("containers", nlohmann::json::array());
  if (cs.empty()) {
    std::printf("account %s: no cached container\n", j.value("account", "").c_str());
    return container.empty() ? 0 : 1;
  }
  if (auto c = j.find("counters"); c != j.end() && c->is_object()) {
    const auto& k = *c;
    std::printf("account %s\n", j.value("account", "").c_str());
    std::printf("  hits          %llu requests, %s MiB\n",
                static_cast<unsigned long long>(U(k, "hit_requests")),
                Mib(static_cast<double>(U(k, "hit_bytes"))).c_str());
    std::printf("  misses        %llu requests, %s MiB\n",
                static_cast<unsigned long long>(U(k, "miss_requests")),
                Mib(static_cast<double>(U(k, "miss_bytes"))).c_str());
    std::printf("  hydrations    %llu (%s MiB)\n", static_cast<unsigned long long>(U(k, "hydrations")),
                Mib(static_cast<double>(U(k, "hydration_bytes"))).c_str());
    std::printf("  uploads       %llu (%s MiB), write-back queue %llu\n",
                static_cast<unsigned long long>(U(k, "uploads")),
                Mib(static_cast<double>(U(k, "upload_bytes"))).c_str(),
                static_cast<unsigned long long>(U(k, "writeback_queue")));
    std::printf("  conflicts     %llu, remote errors %llu, imported %llu\n",
                static_cast<unsigned long long>(U(k, "conflicts")),
                static_cast<unsigned long long>(U(k, "remote_errors")),
                static_cast<unsigned long long>(U(k, "imported")));
  }
  bool found = false;
  for (const auto& c : cs) {
    std::string name = c.value("name", "");
    if (!container.empty() && name != container) continue;
    found = true;
    const auto& st = c.value("states", nlohmann::json::object());
    auto one = [&](const char* k) {
      const auto& s = st.value(k, nlohmann::json::object());
      return std::to_string(U(s, "blobs")) + " (" + Mib(static_cast<double>(U(s, "bytes"))) +
             " MiB)";
    };
    std::printf("container %s  %s  remote %s\n", name.c_str(), c.value("write_mode", "").c_str(),
                c.value("remote", "").c_str());
    std::printf("  remote only   %s\n  hydrated      %s\n  dirty         %s%s\n",
                one("stub").c_str(), one("clean").c_str(), one("dirty").c_str(),
                c.value("states_truncated", false) ? "\n  (counts cover the first 5000000 entries)"
                                                   : "");
    for (const auto& e : c.value("errors", nlohmann::json::array()))
      std::printf("  error         %s  %s\n", e.value("path", "").c_str(),
                  e.value("error", "").c_str());
  }
  if (!found) {
    std::fprintf(stderr, "strata cache status: %s is not a cached container\n", container.c_str());
    return 1;
  }
  return 0;
}
}  // namespace

std::string CacheProgressLine(const nlohmann::json& job) {
  std::string kind = job.value("kind", "");
  std::string phase = job.value("phase", "");
  char buf[256];
  if (phase == "import" || phase == "starting" ||
      (kind == "import" && job.value("state", "") != "running")) {
    const auto& im = job.value("import", nlohmann::json::object());
    std::snprintf(buf, sizeof(buf), "%-8s importing: %llu listed, %llu new, %llu changed (%llu pages)",
                  kind.c_str(), static_cast<unsigned long long>(U(im, "listed")),
                  static_cast<unsigned long long>(U(im, "created")),
                  static_cast<unsigned long long>(U(im, "updated")),
                  static_cast<unsigned long long>(U(im, "pages")));
    return buf;
  }
  uint64_t total = U(job, "blobs_total");
  uint64_t done = U(job, "blobs_done") + U(job, "blobs_failed");
  double bytes_total = static_cast<double>(U(job, "bytes_total"));
  double bytes_done = static_cast<double>(U(job, "bytes_done"));
  double secs = Secs(job);
  const int width = 30;
  int fill = total ? static_cast<int>(width * std::min(done, total) / total) : (phase == "scan" ? 0 : width);
  std::string bar(fill, '#');
  bar.append(width - fill, '.');
  std::snprintf(buf, sizeof(buf), "%-8s [%s] %llu/%llu blobs, %s/%s MiB, %s MiB/s", kind.c_str(),
                bar.c_str(), static_cast<unsigned long long>(done),
                static_cast<unsigned long long>(total), Mib(bytes_done).c_str(),
                Mib(bytes_total).c_str(), Mib(secs > 0 ? bytes_done / secs : 0).c_str());
  return buf;
}

std::string CacheJobSummary(const nlohmann::json& job) {
  std::string out;
  char buf[512];
  std::string kind = job.value("kind", "");
  std::string path = job.value("path", "");
  std::string state = job.value("state", "");
  double secs = Secs(job);
  if (auto im = job.find("import"); im != job.end() && im->is_object()) {
    std::snprintf(buf, sizeof(buf), "import: %llu listed, %llu new, %llu changed, %llu removed\n",
                  static_cast<unsigned long long>(U(*im, "listed")),
                  static_cast<unsigned long long>(U(*im, "created")),
                  static_cast<unsigned long long>(U(*im, "updated")),
                  static_cast<unsigned long long>(U(*im, "removed")));
    out += buf;
  }
  if (kind != "import") {
    double bytes = static_cast<double>(U(job, "bytes_done"));
    const char* verb = kind == "prefetch" ? "hydrated" : kind == "evict" ? "evicted" : "uploaded";
    std::snprintf(buf, sizeof(buf), "%s: %llu of %llu blobs, %s of %s MiB in %.1f s (%s MiB/s)\n",
                  verb, static_cast<unsigned long long>(U(job, "blobs_done")),
                  static_cast<unsigned long long>(U(job, "blobs_total")), Mib(bytes).c_str(),
                  Mib(static_cast<double>(U(job, "bytes_total"))).c_str(), secs,
                  Mib(secs > 0 ? bytes / secs : 0).c_str());
    out += buf;
  }
  for (const auto& f : job.value("failures", nlohmann::json::array()))
    out += "FAILED   " + f.value("path", "") + "  " + f.value("error", "") + "\n";
  uint64_t listed = job.value("failures", nlohmann::json::array()).size();
  uint64_t count = U(job, "failure_count");
  if (count > listed)
    out += "... and " + std::to_string(count - listed) + " more failures\n";
  if (job.contains("error") && job["error"].is_string())
    out += "ERROR    " + job["error"].get<std::string>() + "\n";
  std::snprintf(buf, sizeof(buf), "%s %s: %s\n", kind.c_str(), path.empty() ? "(all)" : path.c_str(),
                state.c_str());
  out += buf;
  return out;
}

int CacheJobExitCode(const nlohmann::json& job) {
  return job.value("state", "") == "done" && U(job, "failure_count") == 0 ? 0 : 1;
}

int RunCacheCli(const CacheCliOptions& o) {
  const std::string& v = o.verb;
  if (v != "status" && v != "import" && v != "prefetch" && v != "evict" && v != "flush") {
    std::fprintf(stderr, "strata cache: unknown command %s (status|import|prefetch|evict|flush)\n",
                 v.c_str());
    return 2;
  }
  if (o.path.empty() && v != "status" && v != "flush") {
    std::fprintf(stderr, "strata cache %s: name a CONTAINER or CONTAINER/PREFIX\n", v.c_str());
    return 2;
  }
  if ((o.concurrency || o.bandwidth) && v != "prefetch") {
    std::fprintf(stderr, "strata cache %s: --concurrency and --bandwidth apply to prefetch\n",
                 v.c_str());
    return 2;
  }
  if (o.concurrency && (*o.concurrency < 1 || *o.concurrency > 64)) {
    std::fprintf(stderr, "strata cache: --concurrency must be from 1 to 64\n");
    return 2;
  }
  if (o.timeout_s < 1) {
    std::fprintf(stderr, "strata cache: --timeout must be at least 1\n");
    return 2;
  }
  if (o.admin.rfind("http://", 0) != 0 || o.admin.size() <= 7) {
    std::fprintf(stderr, "strata cache: --admin must be http://HOST:PORT\n");
    return 2;
  }
  std::string base = o.admin;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string account = o.account.empty() ? "" : "account=" + UrlEscape(o.account);

  if (v == "status") {
    AdminReply r = AdminCall("GET", base + "/cache/status" + (account.empty() ? "" : "?" + account),
                             kCacheCallTimeoutS, kMaxAnswer);
    if (!r.error.empty()) {
      std::fprintf(stderr, "strata cache: cannot reach %s: %s\n", base.c_str(), r.error.c_str());
      return 3;
    }
    if (r.status != 200) {
      std::fprintf(stderr, "strata cache status: %s\n", Body(r).c_str());
      return r.status == 400 ? 2 : 1;
    }
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return PrintStatus(j, o.path.substr(0, o.path.find('/')));
  }

  std::string q;
  auto add = [&q](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
  if (!account.empty()) add(account);
  if (!o.path.empty()) add("path=" + UrlEscape(o.path));
  if (o.concurrency) add("concurrency=" + std::to_string(*o.concurrency));
  if (o.bandwidth) add("bandwidth=" + std::to_string(*o.bandwidth));
  AdminReply r = AdminCall("POST", base + "/cache/" + v + q, kCacheCallTimeoutS, kMaxAnswer);
  if (!r.error.empty()) {
    std::fprintf(stderr, "strata cache: cannot reach %s: %s\n", base.c_str(), r.error.c_str());
    return 3;
  }
  auto started = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 202 || !started.is_object() || !started.contains("job") ||
      !started["job"].is_number_unsigned()) {
    std::fprintf(stderr, "strata cache %s: %s\n", v.c_str(), Body(r).c_str());
    return r.status == 400 ? 2 : 1;
  }
  uint64_t id = started["job"].get<uint64_t>();
  if (!o.wait) {
    std::printf("job %llu started (GET %s/cache/job?id=%llu)\n", static_cast<unsigned long long>(id),
                base.c_str(), static_cast<unsigned long long>(id));
    return 0;
  }
  bool tty = ::isatty(STDOUT_FILENO);
  std::string job_url = base + "/cache/job?id=" + std::to_string(id);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  nlohmann::json job;
  int unreachable = 0;
  bool ended = false;
  size_t last_len = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    AdminReply p = AdminCall("GET", job_url, kCacheCallTimeoutS, kMaxAnswer);
    if (!p.error.empty()) {
      // The server went away (or restarted): a few tries, then give up.
      if (++unreachable >= 5) {
        if (tty) std::printf("\n");
        std::fprintf(stderr, "strata cache: lost %s while waiting for job %llu: %s\n",
                     base.c_str(), static_cast<unsigned long long>(id), p.error.c_str());
        return 3;
      }
    } else if (p.status != 200) {
      if (tty) std::printf("\n");
      std::fprintf(stderr, "strata cache: job %llu: %s\n", static_cast<unsigned long long>(id),
                   Body(p).c_str());
      return 1;
    } else {
      unreachable = 0;
      auto j = nlohmann::json::parse(p.body, nullptr, false);
      if (j.is_object()) job = std::move(j);
      if (tty && job.is_object()) {
        std::string line = CacheProgressLine(job);
        std::string pad(line.size() < last_len ? last_len - line.size() : 0, ' ');
        std::printf("\r%s%s", line.c_str(), pad.c_str());
        std::fflush(stdout);
        last_len = line.size();
      }
      if (job.is_object() && job.value("state", "running") != "running") {
        ended = true;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (tty) std::printf("\n");
  if (!job.is_object()) {
    std::fprintf(stderr, "strata cache: no progress of job %llu\n",
                 static_cast<unsigned long long>(id));
    return 1;
  }
  std::fputs(CacheJobSummary(job).c_str(), stdout);
  if (!ended) {
    std::printf("TIMEOUT  job %llu still runs after %d s (GET %s)\n",
                static_cast<unsigned long long>(id), o.timeout_s, job_url.c_str());
    return 1;
  }
  return CacheJobExitCode(job);
}

}  // namespace strata::server
