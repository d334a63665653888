// Conditional headers (If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since) evaluated as Azure does. Pure functions.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "http/message.h"

namespace strata::api {

struct Conditions {
  std::optional<std::string> if_match;       // raw header value
  std::optional<std::string> if_none_match;
  std::optional<TimeNs> if_modified_since;
  std::optional<TimeNs> if_unmodified_since;
  bool bad_date = false;  // a date header that could not be parsed (ignored, as HTTP says)
  bool any() const {
    return if_match || if_none_match || if_modified_since || if_unmodified_since;
  }
};

// Reads the four headers; `prefix` is "" or "x-ms-source-" for copy sources.
Conditions ParseConditions(const http::Request& req, const std::string& prefix = "");

enum class CondOutcome { kOk, kNotModified, kFailed };

// `exists` false: the resource does not exist (etag/lm ignored). Reads
// (GET/HEAD) follow Azure's expression for version 2013-08-15 and later,
//   If-Match && If-Unmodified-Since && (If-None-Match || If-Modified-Since),
// answering kFailed when the first part fails and kNotModified when the
// second does. Writes answer kFailed for any failed condition; of each pair
// (If-Match, If-Unmodified-Since) and (If-None-Match, If-Modified-Since)
// the ETag header, when present, decides.
CondOutcome Evaluate(const Conditions& c, bool exists, const std::string& etag, TimeNs last_modified,
                     bool is_read);

// True when a header list such as "\"a\", \"b\"" or "*" matches etag.
bool EtagListMatches(const std::string& header, const std::string& etag);

}  // namespace strata::api
