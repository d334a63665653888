#include "server/tier_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/admin_client.h"

namespace strata::server {

namespace {
// One admin request's whole exchange (a status of many blobs is long).
constexpr long kTierCallTimeoutS = 3600;


std::vector<nlohmann::json> Lines(const std::string& body) {
  std::vector<nlohmann::json> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? body.size() : nl + 1;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

std::string Mib(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", b / 1048576.0);
  return buf;
}

void Bar(size_t done, size_t total, uint64_t done_b, uint64_t total_b) {
  const int width = 30;
  int fill = total ? static_cast<int>(width * done / total) : width;
  std::string bar(fill, '#');
  bar.append(width - fill, '.');
  std::printf("\r[%s] %zu/%zu blobs, %s/%s MiB", bar.c_str(), done, total, Mib(done_b).c_str(),
              Mib(total_b).c_str());
  std::fflush(stdout);
}
}  // namespace

int RunTierCli(const TierCliOptions& o) {
  if (o.verb != "status" && o.verb != "offload" && o.verb != "recall" && o.verb != "verify") {
    std::fprintf(stderr, "strata tier: unknown command %s\n", o.verb.c_str());
    return 2;
  }
  if (o.paths.empty()) {
    std::fprintf(stderr, "strata tier %s: name at least one CONTAINER/BLOB or CONTAINER/PREFIX\n",
                 o.verb.c_str());
    return 2;
  }
  bool tty = ::isatty(STDOUT_FILENO);
  std::string base = o.admin;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto url = [&](const std::string& verb, const std::string& path) {
    std::string u = base + "/tier/" + verb + "?path=" + UrlEscape(path);
    if (verb == "offload") u += "&tier=" + UrlEscape(o.tier);
    if (!o.account.empty()) u += "&account=" + UrlEscape(o.account);
    return u;
  };
  int rc = 0;
  if (o.verb == "status") {
    // Which gateway moves data by policy and watermarks; any gateway answers.
    std::string u = base + "/tier/leader";
    if (!o.account.empty()) u += "?account=" + UrlEscape(o.account);
    AdminReply r = AdminCall("GET", u, kTierCallTimeoutS);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.error.empty() && r.status == 200 && j.is_object()) {
      std::string id = j.value("leader", "");
      std::string note = id.empty()                ? "none yet"
                         : j.value("self", false)  ? id + "  (the gateway asked)"
                         : j.value("alive", false) ? id + "  (another gateway)"
                                                   : id + "  (gone; another gateway takes over)";
      std::printf("leader       %s\n", note.c_str());
    }
  }
  // blob path -> size, for the ones to wait on.
  std::map<std::string, uint64_t> pending;
  for (const auto& p : o.paths) {
    AdminReply r = AdminCall(o.verb == "status" ? "GET" : "POST", url(o.verb, p), kTierCallTimeoutS);
    if (!r.error.empty() || r.status != 200) {
      std::fprintf(stderr, "strata tier %s %s: %s\n", o.verb.c_str(), p.c_str(),
                   r.error.empty() ? r.body.c_str() : r.error.c_str());
      rc = 1;
      continue;
    }
    for (const auto& j : Lines(r.body)) {
      std::string path = j.value("path", "");
      uint64_t size = j.value("size", uint64_t{0});
      bool damaged = j.value("damaged", false);
      if (o.verb == "status") {
        std::printf("%-12s %-8s %12llu  %s%s%s%s\n", j.value("state", "").c_str(),
                    j.value("tier", "").c_str(), static_cast<unsigned long long>(size),
                    path.c_str(), damaged ? "  DAMAGED (remote copy failed verification)" : "",
                    j.contains("error") ? "  error: " : "", j.value("error", "").c_str());
      } else if (o.verb == "verify") {
        bool ok = j.value("verified", false);
        std::printf("%-8s %s%s%s%s\n", ok ? "ok" : "FAILED", path.c_str(),
                    damaged ? "  DAMAGED" : "", ok ? "" : "  ", j.value("error", "").c_str());
        if (!ok) rc = 1;
      } else {
        pending[path] = size;
      }
    }
  }
  if (o.verb == "status" || o.verb == "verify" || !o.wait) return rc;
  // Wait for offloads / recalls to land.
  size_t total = pending.size();
  uint64_t total_b = 0, done_b = 0;
  for (const auto& [p, s] : pending) total_b += s;
  size_t done = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  std::map<std::string, std::string> failed;
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    for (auto it = pending.begin(); it != pending.end();) {
      AdminReply r = AdminCall("GET", url("status", it->first), kTierCallTimeoutS);
      auto lines = Lines(r.body);
      bool finished = false;
      if (r.status == 200 && lines.size() == 1) {
        std::string state = lines[0].value("state", "");
        finished =
            o.verb == "recall" ? state == "hot" : state == "offloaded" || state == "archived";
        if (o.verb == "offload" && o.tier == "Archive") finished = state == "archived";
        if (!finished && lines[0].contains("error")) {
          failed[it->first] = lines[0].value("error", "");
          finished = true;
        }
      } else if (r.status == 404) {
        failed[it->first] = "the blob is gone";
        finished = true;
      }
      if (finished) {
        ++done;
        done_b += it->second;
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    if (tty) Bar(done, total, done_b, total_b);
    if (!pending.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (tty) std::printf("\n");
  for (const auto& [p, e] : failed) {
    std::printf("FAILED   %s  %s\n", p.c_str(), e.c_str());
    rc = 1;
  }
  for (const auto& [p, s] : pending) {
    std::printf("TIMEOUT  %s\n", p.c_str());
    rc = 1;
  }
  if (!tty)
    std::printf("%s: %zu of %zu blobs (%s MiB)\n", o.verb.c_str(),
                total - failed.size() - pending.size(), total, Mib(total_b).c_str());
  return rc;
}

}  // namespace strata::server
