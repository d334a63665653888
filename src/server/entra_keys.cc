#include "server/entra_keys.h"

#include <curl/curl.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/strings.h"

namespace strata::server {

namespace {

constexpr size_t kMaxDocument = 1 << 20;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxDocument + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxDocument) return std::nullopt;
  return text;
}

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * n > kMaxDocument) return 0;  // aborts the transfer
  out->append(data, size * n);
  return size * n;
}

bool LoopbackUrl(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  std::string scheme = ToLower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  std::string rest = url.substr(scheme_end + 3);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos) return false;
  std::string host;
  if (StartsWith(authority, "[")) {
    host = authority.substr(0, authority.find(']') + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  host = ToLower(host);
  return host == "127.0.0.1" || host == "[::1]";
}

std::optional<std::string> Fetch(const std::string& url) {
  if (!LoopbackUrl(url)) return std::nullopt;
  CURL* curl = curl_easy_init();
  if (!curl) return std::nullopt;
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || status != 200) return std::nullopt;
  return body;
}

}  // namespace

std::optional<std::string> ReadKeyDocument(const std::string& where) {
  if (StartsWith(where, "file://")) return ReadFile(where.substr(7));
  if (StartsWith(where, "/")) return ReadFile(where);
  return Fetch(where);
}

std::shared_ptr<const auth::EntraAccess> BuildEntraAccess(const EntraConfig& cfg,
                                                          const std::string& account_name) {
  auto e = std::make_shared<auth::EntraAccess>();
  e->tenant = cfg.tenant;
  e->rules.issuers = cfg.issuers.empty() ? auth::DefaultIssuers(cfg.tenant) : cfg.issuers;
  e->rules.audiences =
      auth::DefaultAudiences({"https://" + account_name + ".blob.core.windows.net",
                              "https://" + account_name + ".dfs.core.windows.net"});
  for (const std::string& a : cfg.audiences) e->rules.audiences.push_back(a);
  e->rules.skew_seconds = cfg.clock_skew_s;
  for (const auto& a : cfg.rbac)
    e->rbac.push_back(
        {a.principal, auth::ParseRole(a.role).value_or(auth::Role::kNone), a.container});
  e->superusers = cfg.superusers;
  e->allow_http = cfg.allow_http;
  auth::KeySource::Loader load;
  if (!cfg.jwks.empty()) {
    std::string where = cfg.jwks;
    load = [where] { return ReadKeyDocument(where); };
  } else {
    std::string where = cfg.openid_config;
    load = [where]() -> std::optional<std::string> {
      auto doc = ReadKeyDocument(where);
      if (!doc) return std::nullopt;
      nlohmann::json j = nlohmann::json::parse(*doc, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("jwks_uri") ||
          !j["jwks_uri"].is_string())
        return std::nullopt;
      return ReadKeyDocument(j["jwks_uri"].get<std::string>());
    };
  }
  constexpr TimeNs kSecond = 1000000000LL;
  e->keys = std::make_shared<auth::KeySource>(std::move(load), cfg.jwks_min_reload_s * kSecond,
                                              cfg.jwks_max_age_s * kSecond);
  return e;
}

}  // namespace strata::server
