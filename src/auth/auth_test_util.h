// Shared fixtures for the auth/ unit tests: a dev-account request builder
// and the Python-SDK-signed request used by several suites.
//
// How the signed constants in these tests were derived (account
// devstoreaccount1, the well-known dev key below, azure-storage-blob 12.15
// under /usr/bin/python3):
//   - "SDK SharedKey": azure.core HttpRequest(method, url, headers) run
//     through azure.storage.blob._shared.authentication.
//     SharedKeyCredentialPolicy(account, key).on_request(...), taking the
//     Authorization header it set.
//   - "SDK SAS": azure.storage.blob.generate_account_sas / generate_blob_sas /
//     generate_container_sas (and _shared.shared_access_signature.
//     SharedAccessSignature.generate_account for a non-blob `ss`), with the
//     literal arguments noted beside each token.
//   - "sign_string": azure.storage.blob._shared.sign_string(key, s) over the
//     literal string-to-sign shown in the test (for formats the SDK no longer
//     generates: older SAS versions and directory SAS).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/auth.h"
#include "common/clock.h"
#include "common/strings.h"

namespace strata::auth::testing {

inline constexpr char kAccountName[] = "devstoreaccount1";
// A test key: it differs in one letter ("I6tQ") from the published
// development key ("I6tq"); every expected signature here was computed with it.
inline constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tQ/K1SZFPTOtr/KBHBeksoGMGw==";
inline constexpr char kSdkDate[] = "Mon, 03 Jun 2024 12:00:00 GMT";

using Headers = std::vector<std::pair<std::string, std::string>>;

inline Account DevAccount() { return {kAccountName, *Base64Decode(kDevKey)}; }

inline TimeNs At(std::string_view iso) { return *ParseIso8601(iso); }
inline const TimeNs kNow = At("2024-06-03T12:00:00Z");  // == kSdkDate

// A request for `target` ("/path?query"), routed path-style to the dev
// account, from 127.0.0.1 over plain HTTP. Header names are lowercased as
// the HTTP layer delivers them.
inline RequestView MakeRequest(std::string method, std::string_view target, Headers headers = {},
                               std::string container = "", std::string blob = "") {
  RequestView r;
  r.method = std::move(method);
  size_t q = target.find('?');
  r.raw_path = std::string(target.substr(0, q));
  r.raw_query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  for (auto& h : headers) h.first = ToLower(h.first);
  r.headers = headers;
  r.header = [headers](std::string_view name) -> std::optional<std::string> {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return std::nullopt;
  };
  r.account = kAccountName;
  r.path_style = true;
  r.container = std::move(container);
  r.blob = std::move(blob);
  r.client_ip = "127.0.0.1";
  return r;
}

inline Demand Need(ResourceType type, const char* permission, bool service_sas_allowed = true) {
  Demand d;
  d.resource_type = type;
  d.permission = permission;
  d.service_sas_allowed = service_sas_allowed;
  return d;
}

inline const Demand kReadBlob = Need(ResourceType::kObject, "r");
inline const Demand kListContainer = Need(ResourceType::kContainer, "l");

inline Outcome Check(const RequestView& req, const Demand& demand = kReadBlob,
                     const PolicyLookup& policies = nullptr, TimeNs now = kNow) {
  return Authorize(req, DevAccount(), demand, policies, now);
}

// Replaces header `name` (lowercase), or adds it when absent.
inline void SetHeader(RequestView& req, const std::string& name, std::string value) {
  auto it = std::find_if(req.headers.begin(), req.headers.end(),
                         [&](const auto& h) { return h.first == name; });
  if (it == req.headers.end()) {
    req.headers.emplace_back(name, std::move(value));
  } else {
    it->second = std::move(value);
  }
  Headers copy = req.headers;
  req.header = [copy](std::string_view n) -> std::optional<std::string> {
    for (const auto& [k, v] : copy) {
      if (k == n) return v;
    }
    return std::nullopt;
  };
}

// SDK SharedKey: PUT
// http://127.0.0.1:10000/devstoreaccount1/mycontainer/dir/my%20blob.txt?timeout=30
inline RequestView SdkPutBlob() {
  return MakeRequest("PUT", "/devstoreaccount1/mycontainer/dir/my%20blob.txt?timeout=30",
                     {{"x-ms-date", kSdkDate},
                      {"x-ms-version", "2021-08-06"},
                      {"x-ms-blob-type", "BlockBlob"},
                      {"Content-Length", "11"},
                      {"Content-Type", "text/plain"},
                      {"x-ms-meta-Color", "blue"},
                      {"x-ms-client-request-id", "abc"},
                      {"Authorization",
                       "SharedKey devstoreaccount1:MqSHE+BxbkEho1EIhrH1dn8uGYH14wyP/S7T8rzLz4Y="}},
                     "mycontainer", "dir/my blob.txt");
}

}  // namespace strata::auth::testing
