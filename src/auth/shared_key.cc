// SharedKey and SharedKeyLite: canonicalization and verification.
//
// Clients disagree on a few canonicalization details, so the verifier
// accepts a signature over any of a small set of candidate strings:
//   - the resource path as sent, and percent-decoded;
//   - for path-style URLs (/account/container/blob) both with the account
//     segment kept (what the Python SDK and Azurite's clients sign, giving
//     "/account/account/container/blob") and with it removed;
//   - x-ms-* headers sorted by the Azure SDKs' service-emulating weights and
//     by plain byte order (they differ only for unusual characters);
//   - query values with '+' kept, and decoded as a space.
// Each dimension adds a candidate only when it changes the string, so a
// typical request is checked against two or four strings.

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "auth/auth.h"
#include "auth/auth_internal.h"
#include "common/clock.h"
#include "common/strings.h"

namespace strata::auth {

namespace {

using internal::Deny;
using internal::FindHeader;
using internal::kAuthenticationFailed;

constexpr TimeNs kMaxClockSkewNs = TimeNs{15} * 60 * 1'000'000'000;

enum class HeaderOrder { kSdkWeights, kOrdinal };

// Rank of a header-name character in the order the Azure SDKs use to emulate
// the service's sort (azure-storage-blob `_storage_header_sort`): '-' sorts
// first and '_' before digits. Characters outside the table sort last.
int HeaderCharWeight(unsigned char c) {
  static constexpr std::string_view kWeights =
      "-!#$%&*.^_|~+\"'(),/`~0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]"
      "abcdefghijklmnopqrstuvwxyz{}";
  size_t i = kWeights.find(static_cast<char>(c));
  return i == std::string_view::npos ? 256 + c : static_cast<int>(i);
}

bool SdkHeaderLess(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return HeaderCharWeight(static_cast<unsigned char>(x)) <
           HeaderCharWeight(static_cast<unsigned char>(y));
  });
}

// "name:value\n" for every x-ms-* header, names lowercased, values trimmed,
// repeated headers joined with ','.
std::string CanonicalizedHeaders(const RequestView& req, HeaderOrder order) {
  std::vector<std::pair<std::string, std::string>> ms;
  for (const auto& [raw_name, raw_value] : req.headers) {
    std::string name = ToLower(raw_name);
    if (!StartsWith(name, "x-ms-")) continue;
    std::string value(Trim(raw_value));
    auto it = std::find_if(ms.begin(), ms.end(), [&](const auto& h) { return h.first == name; });
    if (it == ms.end()) {
      ms.emplace_back(std::move(name), std::move(value));
    } else {
      it->second += "," + value;
    }
  }
  std::sort(ms.begin(), ms.end(), [order](const auto& a, const auto& b) {
    return order == HeaderOrder::kSdkWeights ? SdkHeaderLess(a.first, b.first) : a.first < b.first;
  });
  std::string out;
  for (const auto& [name, value] : ms) out += name + ":" + value + "\n";
  return out;
}

// The twelve standard-header lines of the SharedKey string-to-sign.
std::string StandardHeaderLines(const RequestView& req) {
  static constexpr std::string_view kNames[] = {"content-encoding",
                                                "content-language",
                                                "content-length",
                                                "content-md5",
                                                "content-type",
                                                "date",
                                                "if-modified-since",
                                                "if-match",
                                                "if-none-match",
                                                "if-unmodified-since",
                                                "range"};
  std::string out;
  for (std::string_view name : kNames) {
    auto value = FindHeader(req, name);
    std::string_view v = value ? Trim(*value) : std::string_view();
    // Since 2015-02-21 a zero Content-Length is signed as empty.
    if (name == "content-length" && v == "0") v = {};
    out.append(v);
    out += '\n';
  }
  return out;
}

// "\nname:value" per query parameter, by lowercase name; repeated names list
// their sorted values joined with ','.
std::string CanonicalizedQuery(std::string_view raw_query, bool plus_as_space) {
  std::map<std::string, std::vector<std::string>> by_name;
  for (auto& p : internal::ParseQuery(raw_query, plus_as_space)) {
    by_name[ToLower(p.name)].push_back(std::move(p.value));
  }
  std::string out;
  for (auto& [name, values] : by_name) {
    std::sort(values.begin(), values.end());
    out += "\n" + name + ":";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out += ',';
      out += values[i];
    }
  }
  return out;
}

std::string SharedKeyStringToSignWith(const RequestView& req, std::string_view canonical_path,
                                      HeaderOrder order, bool plus_as_space) {
  std::string out = req.method + "\n";
  out += StandardHeaderLines(req);
  out += CanonicalizedHeaders(req, order);
  out.append(canonical_path);
  out += CanonicalizedQuery(req.raw_query, plus_as_space);
  return out;
}

// SharedKeyLite: VERB, Content-MD5, Content-Type, Date, x-ms-* headers and
// the resource with only its `comp` parameter ("?comp=metadata").
std::string SharedKeyLiteStringToSign(const RequestView& req, std::string_view canonical_path,
                                      HeaderOrder order) {
  std::string out = req.method + "\n";
  for (std::string_view name : {"content-md5", "content-type", "date"}) {
    auto value = FindHeader(req, name);
    if (value) out.append(Trim(*value));
    out += '\n';
  }
  out += CanonicalizedHeaders(req, order);
  out.append(canonical_path);
  if (auto comp = internal::FindParam(internal::ParseQuery(req.raw_query), "comp")) {
    out += "?comp=" + *comp;
  }
  return out;
}

void AddUnique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// Candidate "/account/path" prefixes, the as-sent form first.
std::vector<std::string> CanonicalPaths(const RequestView& req, const std::string& account) {
  std::string path = req.raw_path.empty() ? "/" : req.raw_path;
  std::vector<std::string> raw = {path};
  const std::string& routed = req.account.empty() ? account : req.account;
  std::string prefix = "/" + routed;
  if (req.path_style && StartsWith(path, prefix) &&
      (path.size() == prefix.size() || path[prefix.size()] == '/')) {
    std::string rest = path.substr(prefix.size());
    raw.push_back(rest.empty() ? "/" : rest);
  }
  std::vector<std::string> out;
  for (const std::string& p : raw) {
    AddUnique(out, "/" + account + p);
    if (auto decoded = UrlDecode(p)) AddUnique(out, "/" + account + *decoded);
  }
  return out;
}

}  // namespace

std::string SharedKeyStringToSign(const RequestView& req, std::string_view canonical_path) {
  return SharedKeyStringToSignWith(req, canonical_path, HeaderOrder::kSdkWeights, false);
}

namespace internal {

Outcome AuthorizeSharedKey(const RequestView& req, const Account& account, Scheme scheme,
                           std::string_view credentials, TimeNs now) {
  const char* scheme_name = scheme == Scheme::kSharedKeyLite ? "SharedKeyLite" : "SharedKey";
  size_t colon = credentials.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == credentials.size()) {
    return Deny(kAuthenticationFailed,
                std::string("Authorization header is malformed; expected '") + scheme_name +
                    " account:signature'.");
  }
  std::string_view name = credentials.substr(0, colon);
  std::string_view signature = credentials.substr(colon + 1);
  if (name != account.name) {
    return Deny(kAuthenticationFailed, "The account '" + std::string(name) +
                                           "' in the Authorization header does not match the "
                                           "request's account '" +
                                           account.name + "'.");
  }

  auto date = FindHeader(req, "x-ms-date");
  if (!date || Trim(*date).empty()) date = FindHeader(req, "date");
  if (!date || Trim(*date).empty()) {
    return Deny(kAuthenticationFailed,
                "Request must contain an x-ms-date or Date header to be authorized.");
  }
  auto when = ParseHttpDate(Trim(*date));
  if (!when) {
    return Deny(kAuthenticationFailed,
                "The request date header '" + *date + "' is not a valid HTTP date.");
  }

  std::vector<HeaderOrder> orders = {HeaderOrder::kSdkWeights};
  if (CanonicalizedHeaders(req, HeaderOrder::kOrdinal) !=
      CanonicalizedHeaders(req, HeaderOrder::kSdkWeights)) {
    orders.push_back(HeaderOrder::kOrdinal);
  }
  std::vector<bool> plus_modes = {false};
  if (req.raw_query.find('+') != std::string::npos) plus_modes.push_back(true);

  bool matched = false;
  std::string first;
  for (const std::string& path : CanonicalPaths(req, account.name)) {
    for (HeaderOrder order : orders) {
      if (scheme == Scheme::kSharedKeyLite) {
        std::string sts = SharedKeyLiteStringToSign(req, path, order);
        if (first.empty()) first = sts;
        matched = matched || SignedByAccount(account, sts, signature);
        continue;
      }
      for (bool plus : plus_modes) {
        std::string sts = SharedKeyStringToSignWith(req, path, order, plus);
        if (first.empty()) first = sts;
        matched = matched || SignedByAccount(account, sts, signature);
      }
    }
  }
  if (!matched) {
    return Deny(kAuthenticationFailed,
                "The MAC signature found in the HTTP request '" + std::string(signature) +
                    "' is not the same as any computed signature. Server used following "
                    "string to sign: '" +
                    first + "'.");
  }

  // As unsigned: a date far from now (up to kMinTimeNs or kMaxTimeNs) is
  // more than an int64_t apart.
  uint64_t skew = *when > now ? static_cast<uint64_t>(*when) - static_cast<uint64_t>(now)
                              : static_cast<uint64_t>(now) - static_cast<uint64_t>(*when);
  if (skew > static_cast<uint64_t>(kMaxClockSkewNs)) {
    return Deny(kAuthenticationFailed,
                "Request date '" + std::string(Trim(*date)) +
                    "' is outside the allowed 15 minute window around the server time '" +
                    FormatHttpDate(now) + "'.");
  }
  return Allow(scheme);
}

}  // namespace internal

}  // namespace strata::auth
