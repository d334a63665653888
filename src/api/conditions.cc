#include "api/conditions.h"

#include "common/strings.h"

namespace strata::api {

namespace {
std::string Unquote(std::string_view s) {
  s = Trim(s);
  if (StartsWith(s, "W/")) s.remove_prefix(2);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}
}  // namespace

bool EtagListMatches(const std::string& header, const std::string& etag) {
  for (const auto& part : Split(header, ',')) {
    std::string v = Unquote(part);
    if (v == "*" || v == etag) return true;
  }
  return false;
}

Conditions ParseConditions(const http::Request& req, const std::string& prefix) {
  Conditions c;
  // The header names without building them: prefix is "" or a source prefix.
  auto find = [&req, &prefix](std::string_view name) -> const std::string* {
    if (prefix.empty()) return req.FindHeader(name);
    return req.FindHeader(prefix + std::string(name));
  };
  if (const std::string* v = find("if-match")) c.if_match = *v;
  if (const std::string* v = find("if-none-match")) c.if_none_match = *v;
  if (const std::string* v = find("if-modified-since")) {
    c.if_modified_since = ParseHttpDate(*v);
    if (!c.if_modified_since) c.bad_date = true;
  }
  if (const std::string* v = find("if-unmodified-since")) {
    c.if_unmodified_since = ParseHttpDate(*v);
    if (!c.if_unmodified_since) c.bad_date = true;
  }
  return c;
}

CondOutcome Evaluate(const Conditions& c, bool exists, const std::string& etag,
                     TimeNs last_modified, bool is_read) {
  // HTTP dates have one-second resolution.
  TimeNs lm_s = last_modified / 1000000000LL * 1000000000LL;
  if (is_read) {
    // Get Blob and Get Blob Properties (version 2013-08-15 and later):
    //   If-Match && If-Unmodified-Since && (If-None-Match || If-Modified-Since)
    // 412 when the first part fails, else 304 when the second does.
    if (c.if_match && (!exists || !EtagListMatches(*c.if_match, etag))) return CondOutcome::kFailed;
    if (c.if_unmodified_since && exists && lm_s > *c.if_unmodified_since)
      return CondOutcome::kFailed;
    if (c.if_none_match || c.if_modified_since) {
      bool none_match_ok =
          c.if_none_match && !(exists && EtagListMatches(*c.if_none_match, etag));
      bool modified_ok = c.if_modified_since && (!exists || lm_s > *c.if_modified_since);
      if (!none_match_ok && !modified_ok) return CondOutcome::kNotModified;
    }
    return CondOutcome::kOk;
  }
  // Writes: of the pairs If-Match + If-Unmodified-Since and If-None-Match +
  // If-Modified-Since the ETag header decides.
  if (c.if_match) {
    if (!exists || !EtagListMatches(*c.if_match, etag)) return CondOutcome::kFailed;
  } else if (c.if_unmodified_since && exists) {
    if (lm_s > *c.if_unmodified_since) return CondOutcome::kFailed;
  }
  if (c.if_none_match) {
    if (exists && EtagListMatches(*c.if_none_match, etag)) return CondOutcome::kFailed;
  } else if (c.if_modified_since && exists) {
    if (lm_s <= *c.if_modified_since) return CondOutcome::kFailed;
  }
  return CondOutcome::kOk;
}

}  // namespace strata::api
