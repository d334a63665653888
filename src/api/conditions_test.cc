// Conditional headers as Azure documents them ("Specifying conditional
// headers for Blob service operations"): reads (Get Blob, Get Blob
// Properties, version 2013-08-15 and later) evaluate
//   If-Match && If-Unmodified-Since && (If-None-Match || If-Modified-Since)
// answering 412 when the first part fails and 304 when the second does;
// writes answer 412 for any failed condition, and of the pairs If-Match +
// If-Unmodified-Since and If-None-Match + If-Modified-Since evaluate the
// ETag header only.
#include "api/conditions.h"

#include <gtest/gtest.h>

#include <string>

#include "common/strings.h"

namespace strata::api {
namespace {

constexpr TimeNs kSec = 1000000000LL;
const std::string kEtag = "0x8DB0000000000AB";
// Last modified: 2023-11-14T22:13:20.5Z (half a second past a whole second).
constexpr TimeNs kLm = 1700000000LL * kSec + kSec / 2;
constexpr TimeNs kBefore = 1700000000LL * kSec - 60 * kSec;
constexpr TimeNs kSame = 1700000000LL * kSec;  // the HTTP date of kLm (1 s resolution)
constexpr TimeNs kAfter = 1700000000LL * kSec + 60 * kSec;

CondOutcome Read(const Conditions& c, bool exists = true) {
  return Evaluate(c, exists, kEtag, kLm, true);
}
CondOutcome Write(const Conditions& c, bool exists = true) {
  return Evaluate(c, exists, kEtag, kLm, false);
}
std::string Q(const std::string& s) { return "\"" + s + "\""; }

Conditions IfMatch(std::string v) {
  Conditions c;
  c.if_match = std::move(v);
  return c;
}
Conditions IfNoneMatch(std::string v) {
  Conditions c;
  c.if_none_match = std::move(v);
  return c;
}
Conditions IfModifiedSince(TimeNs t) {
  Conditions c;
  c.if_modified_since = t;
  return c;
}
Conditions IfUnmodifiedSince(TimeNs t) {
  Conditions c;
  c.if_unmodified_since = t;
  return c;
}

TEST(Conditions, NoneIsOk) {
  EXPECT_EQ(Read(Conditions()), CondOutcome::kOk);
  EXPECT_EQ(Write(Conditions()), CondOutcome::kOk);
  EXPECT_EQ(Write(Conditions(), false), CondOutcome::kOk);
  EXPECT_FALSE(Conditions().any());
  EXPECT_TRUE(IfMatch("*").any());
}

TEST(Conditions, IfMatch) {
  for (auto eval : {Read, Write}) {
    EXPECT_EQ(eval(IfMatch(Q(kEtag)), true), CondOutcome::kOk);
    EXPECT_EQ(eval(IfMatch(kEtag), true), CondOutcome::kOk);  // unquoted, as older SDKs send
    EXPECT_EQ(eval(IfMatch("*"), true), CondOutcome::kOk);
    EXPECT_EQ(eval(IfMatch(Q("0x1")), true), CondOutcome::kFailed);
    EXPECT_EQ(eval(IfMatch(Q(kEtag + "0")), true), CondOutcome::kFailed);
    EXPECT_EQ(eval(IfMatch(Q(kEtag)), false), CondOutcome::kFailed);  // nothing to match
    EXPECT_EQ(eval(IfMatch("*"), false), CondOutcome::kFailed);
  }
}

TEST(Conditions, IfNoneMatchReadIs304WriteIs412) {
  EXPECT_EQ(Read(IfNoneMatch(Q(kEtag))), CondOutcome::kNotModified);
  EXPECT_EQ(Write(IfNoneMatch(Q(kEtag))), CondOutcome::kFailed);
  EXPECT_EQ(Read(IfNoneMatch(Q("0x1"))), CondOutcome::kOk);
  EXPECT_EQ(Write(IfNoneMatch(Q("0x1"))), CondOutcome::kOk);
  // "*": only if the resource does not exist.
  EXPECT_EQ(Write(IfNoneMatch("*"), false), CondOutcome::kOk);
  EXPECT_EQ(Write(IfNoneMatch("*"), true), CondOutcome::kFailed);
  EXPECT_EQ(Read(IfNoneMatch(Q(kEtag)), false), CondOutcome::kOk);
}

TEST(Conditions, IfModifiedSinceReadIs304WriteIs412) {
  EXPECT_EQ(Read(IfModifiedSince(kBefore)), CondOutcome::kOk);
  EXPECT_EQ(Write(IfModifiedSince(kBefore)), CondOutcome::kOk);
  // Equal at one-second resolution is "not modified since".
  EXPECT_EQ(Read(IfModifiedSince(kSame)), CondOutcome::kNotModified);
  EXPECT_EQ(Write(IfModifiedSince(kSame)), CondOutcome::kFailed);
  EXPECT_EQ(Read(IfModifiedSince(kAfter)), CondOutcome::kNotModified);
  EXPECT_EQ(Write(IfModifiedSince(kAfter)), CondOutcome::kFailed);
  EXPECT_EQ(Write(IfModifiedSince(kAfter), false), CondOutcome::kOk);
}

TEST(Conditions, IfUnmodifiedSinceIs412) {
  for (auto eval : {Read, Write}) {
    EXPECT_EQ(eval(IfUnmodifiedSince(kBefore), true), CondOutcome::kFailed);
    EXPECT_EQ(eval(IfUnmodifiedSince(kSame), true), CondOutcome::kOk);
    EXPECT_EQ(eval(IfUnmodifiedSince(kAfter), true), CondOutcome::kOk);
    EXPECT_EQ(eval(IfUnmodifiedSince(kBefore), false), CondOutcome::kOk);
  }
}

// The pairs that writes accept: the ETag header decides.
TEST(Conditions, WritePairsEvaluateTheEtag) {
  Conditions c = IfMatch(Q(kEtag));
  c.if_unmodified_since = kBefore;
  EXPECT_EQ(Write(c), CondOutcome::kOk);
  c = IfMatch(Q("0x1"));
  c.if_unmodified_since = kAfter;
  EXPECT_EQ(Write(c), CondOutcome::kFailed);
  c = IfNoneMatch(Q("0x1"));
  c.if_modified_since = kAfter;
  EXPECT_EQ(Write(c), CondOutcome::kOk);
  c = IfNoneMatch(Q(kEtag));
  c.if_modified_since = kBefore;
  EXPECT_EQ(Write(c), CondOutcome::kFailed);
}

// Reads: combinations that RFC 7232 precedence and Azure's expression agree on.
TEST(Conditions, ReadCombinations) {
  Conditions c = IfMatch(Q("0x1"));
  c.if_none_match = Q("0x2");
  EXPECT_EQ(Read(c), CondOutcome::kFailed);  // 412 wins over 304
  c = IfMatch(Q(kEtag));
  c.if_none_match = Q(kEtag);
  EXPECT_EQ(Read(c), CondOutcome::kNotModified);
  c = IfMatch(Q(kEtag));
  c.if_modified_since = kAfter;
  EXPECT_EQ(Read(c), CondOutcome::kNotModified);
  c = IfUnmodifiedSince(kBefore);
  c.if_modified_since = kAfter;
  EXPECT_EQ(Read(c), CondOutcome::kFailed);
  c = IfNoneMatch(Q(kEtag));
  c.if_modified_since = kAfter;
  EXPECT_EQ(Read(c), CondOutcome::kNotModified);  // both fail
  c = IfNoneMatch(Q("0x1"));
  c.if_modified_since = kAfter;
  EXPECT_EQ(Read(c), CondOutcome::kOk);  // If-None-Match passes: the OR passes
  c = IfMatch("*");
  c.if_unmodified_since = kAfter;
  c.if_none_match = Q("0x1");
  c.if_modified_since = kBefore;
  EXPECT_EQ(Read(c), CondOutcome::kOk);  // all four pass
}

// Reads: where Azure's expression differs from RFC 7232 precedence (which
// would ignore If-Unmodified-Since and If-Modified-Since here).
TEST(Conditions, ReadCombinationsAzureExpression) {
  Conditions c = IfMatch(Q(kEtag));
  c.if_unmodified_since = kBefore;
  Conditions d = IfNoneMatch(Q(kEtag));
  d.if_modified_since = kBefore;
  // If-Match passes, If-Unmodified-Since fails: the AND fails, 412.
  EXPECT_EQ(Read(c), CondOutcome::kFailed);
  // If-None-Match fails but If-Modified-Since passes: the OR passes.
  EXPECT_EQ(Read(d), CondOutcome::kOk);
}

TEST(EtagList, Parsing) {
  EXPECT_TRUE(EtagListMatches(Q(kEtag), kEtag));
  EXPECT_TRUE(EtagListMatches(kEtag, kEtag));
  EXPECT_TRUE(EtagListMatches("*", kEtag));
  EXPECT_TRUE(EtagListMatches(" * ", kEtag));
  EXPECT_TRUE(EtagListMatches(Q("a") + ", " + Q(kEtag), kEtag));
  EXPECT_TRUE(EtagListMatches(Q("a") + "," + Q(kEtag) + " ,\"b\"", kEtag));
  EXPECT_TRUE(EtagListMatches("W/" + Q(kEtag), kEtag));  // weak comparison
  EXPECT_TRUE(EtagListMatches("  " + Q(kEtag) + "  ", kEtag));
  EXPECT_FALSE(EtagListMatches(Q("a") + ", " + Q("b"), kEtag));
  EXPECT_FALSE(EtagListMatches("", kEtag));
  EXPECT_FALSE(EtagListMatches("\"\"", kEtag));
  EXPECT_FALSE(EtagListMatches(Q(kEtag.substr(1)), kEtag));
  EXPECT_FALSE(EtagListMatches(Q(ToLower(kEtag)), kEtag));  // ETags compare exactly
}

TEST(ParseConditions, ReadsTheFourHeaders) {
  http::Request req;
  req.headers = {{"if-match", Q(kEtag)},
                 {"if-none-match", "*"},
                 {"if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT"},
                 {"if-unmodified-since", "Tue, 14 Nov 2023 22:14:20 GMT"},
                 {"x-ms-source-if-match", Q("src")}};
  Conditions c = ParseConditions(req);
  EXPECT_EQ(c.if_match, Q(kEtag));
  EXPECT_EQ(c.if_none_match, "*");
  EXPECT_EQ(c.if_modified_since, kSame);
  EXPECT_EQ(c.if_unmodified_since, kSame + 60 * kSec);
  EXPECT_FALSE(c.bad_date);
  Conditions src = ParseConditions(req, "x-ms-source-");
  EXPECT_EQ(src.if_match, Q("src"));
  EXPECT_FALSE(src.if_none_match.has_value());
  EXPECT_FALSE(src.if_modified_since.has_value());
}

TEST(ParseConditions, BadDateIsIgnoredAndFlagged) {
  http::Request req;
  req.headers = {{"if-modified-since", "yesterday"}};
  Conditions c = ParseConditions(req);
  EXPECT_FALSE(c.if_modified_since.has_value());
  EXPECT_TRUE(c.bad_date);
  EXPECT_EQ(Read(c), CondOutcome::kOk);
}

}  // namespace
}  // namespace strata::api
