// Service operations: account information, service properties (stored as
// XML under .strata/), and CORS for browser clients.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <pugixml.hpp>
#include <sstream>

#include "api/context.h"
#include "common/strings.h"

namespace strata::api {

namespace {

constexpr char kDefaultProperties[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties>"
    "<Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>"
    "<HourMetrics><Version>1.0</Version><Enabled>false</Enabled>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics>"
    "<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics>"
    "<Cors /><DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>"
    "<StaticWebsite><Enabled>false</Enabled></StaticWebsite></StorageServiceProperties>";

std::string PropsPath(Account* a) { return a->store->root() + "/.strata/service-properties.xml"; }

std::string ReadProps(Account* a) {
  auto f = a->store->fs()->OpenRead(PropsPath(a));
  if (!f.ok()) return kDefaultProperties;
  auto st = (*f)->Stat();
  if (!st.ok()) return kDefaultProperties;
  std::string buf(st->size, '\0');
  auto n = (*f)->PRead(buf.data(), buf.size(), 0);
  if (!n.ok()) return kDefaultProperties;
  buf.resize(*n);
  return buf;
}

struct CorsRule {
  std::vector<std::string> origins, methods, allowed_headers, exposed_headers;
  std::string max_age;
};

std::vector<std::string> CommaList(const char* s) {
  std::vector<std::string> out;
  for (auto& p : Split(s, ',')) {
    std::string t(Trim(p));
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

// CORS rules of an account, re-read when the properties file changes.
std::vector<CorsRule> CorsRules(Account* a) {
  static std::mutex mu;
  static std::map<std::string, std::pair<int64_t, std::vector<CorsRule>>> cache;
  auto st = a->store->fs()->Stat(PropsPath(a));
  int64_t stamp = st.ok() ? st->mtime_ns ^ static_cast<int64_t>(st->ino) : 0;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(a->name);
  if (it != cache.end() && it->second.first == stamp) return it->second.second;
  std::vector<CorsRule> rules;
  std::string xml = ReadProps(a);
  pugi::xml_document doc;
  if (doc.load_buffer(xml.data(), xml.size())) {
    for (pugi::xml_node r :
         doc.child("StorageServiceProperties").child("Cors").children("CorsRule")) {
      CorsRule rule;
      rule.origins = CommaList(r.child_value("AllowedOrigins"));
      rule.methods = CommaList(r.child_value("AllowedMethods"));
      rule.allowed_headers = CommaList(r.child_value("AllowedHeaders"));
      rule.exposed_headers = CommaList(r.child_value("ExposedHeaders"));
      rule.max_age = r.child_value("MaxAgeInSeconds");
      rules.push_back(std::move(rule));
    }
  }
  cache[a->name] = {stamp, rules};
  return rules;
}

bool Contains(const std::vector<std::string>& list, const std::string& v, bool icase) {
  for (const auto& x : list)
    if (x == "*" || (icase ? IEquals(x, v) : x == v)) return true;
  return false;
}

// Whether `origin` ("scheme://host[:port]") is the allowed origin `allowed`
// itself, compared case-sensitively as Azure documents (CorsRule
// AllowedOrigins: "an exact case-sensitive match"), or falls under a
// subdomain wildcard: "http://*.contoso.com" takes any http origin whose
// host ends in ".contoso.com" on the same port (not contoso.com itself);
// "*.contoso.com" without a scheme takes any scheme. The lone "*" (any
// origin) is not handled here.
bool OriginMatches(std::string_view allowed, std::string_view origin) {
  if (allowed == origin) return true;
  size_t star = allowed.find("*.");
  if (star == std::string_view::npos || allowed.find('*', star + 1) != std::string_view::npos)
    return false;
  std::string_view prefix = allowed.substr(0, star);  // "" or "scheme://"
  std::string_view suffix = allowed.substr(star + 1);  // ".contoso.com[:port]"
  if (!prefix.empty() && prefix.find("://") != prefix.size() - 3) return false;
  if (prefix.empty()) {
    size_t sep = origin.find("://");
    if (sep == std::string_view::npos) return false;
    origin.remove_prefix(sep + 3);
  } else if (origin.substr(0, prefix.size()) != prefix) {
    return false;
  } else {
    origin.remove_prefix(prefix.size());
  }
  // origin is now "host[:port]": one or more labels, then the suffix.
  if (origin.size() <= suffix.size() || origin.substr(origin.size() - suffix.size()) != suffix)
    return false;
  std::string_view sub = origin.substr(0, origin.size() - suffix.size());
  return sub.find_first_of(":/") == std::string_view::npos && sub.back() != '.';
}

enum class OriginMatch { kNone, kExact, kAny };

// How a rule takes `origin`: by one of its origins (exact or a subdomain
// wildcard: the response names the origin), or by "*" (any origin: "*").
OriginMatch MatchOrigin(const CorsRule& rule, const std::string& origin) {
  bool any = false;
  for (const auto& o : rule.origins) {
    if (o == "*") any = true;
    else if (OriginMatches(o, origin)) return OriginMatch::kExact;
  }
  return any ? OriginMatch::kAny : OriginMatch::kNone;
}

bool HeaderAllowed(const std::vector<std::string>& allowed, const std::string& h) {
  for (const auto& a : allowed) {
    if (a == "*") return true;
    if (!a.empty() && a.back() == '*') {
      if (StartsWith(ToLower(h), ToLower(a.substr(0, a.size() - 1)))) return true;
    } else if (IEquals(a, h)) {
      return true;
    }
  }
  return false;
}

// The first rule that takes the origin and the method (Azure evaluates the
// rules in order), and how it took the origin.
const CorsRule* Match(const std::vector<CorsRule>& rules, const std::string& origin,
                      const std::string& method, OriginMatch* how) {
  for (const auto& r : rules) {
    OriginMatch m = MatchOrigin(r, origin);
    if (m != OriginMatch::kNone && Contains(r.methods, method, false)) {
      *how = m;
      return &r;
    }
  }
  *how = OriginMatch::kNone;
  return nullptr;
}

// Bumped by Set Service Properties, so this gateway sees its own change at once.
std::atomic<uint64_t> cors_generation{0};

// Whether the account has CORS rules, for the Vary header of GET and HEAD
// requests that carry no Origin. Those are most requests, so the answer is
// kept per thread and looked up again (one stat of the properties file)
// at most once a second: a change made through this gateway is seen at once
// (cors_generation), one made through another gateway within a second.
bool HasCorsRules(Account* a) {
  struct Entry {
    Account* account = nullptr;
    uint64_t generation = 0;
    TimeNs checked = 0;
    bool has = false;
  };
  thread_local Entry cache[4];
  TimeNs now = NowNs();
  uint64_t gen = cors_generation.load(std::memory_order_acquire);
  Entry* slot = &cache[0];
  for (Entry& e : cache) {
    if (e.account == a) {
      if (e.generation == gen && now - e.checked < 1'000'000'000) return e.has;
      slot = &e;
      break;
    }
    if (e.checked < slot->checked) slot = &e;  // the stalest, to be replaced
  }
  *slot = Entry{a, gen, now, !CorsRules(a).empty()};
  return slot->has;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

// Vary: Origin follows Azure's rules ("CORS support for the Azure Storage
// services", the Vary header): on GET and HEAD responses, when the origin
// matched a rule by name (the response names it), or when the service has
// CORS rules and none took the request (no Origin, or an origin no rule
// takes); not when a rule taking any origin ("*") matched.
void AddCorsHeaders(Account* account, const http::Request& req, http::Response& r) {
  bool cacheable = req.method == "GET" || req.method == "HEAD";
  const std::string* origin = req.FindHeader("origin");
  if (!origin) {
    if (cacheable && HasCorsRules(account)) r.Set("Vary", "Origin");
    return;
  }
  auto rules = CorsRules(account);
  OriginMatch how;
  const CorsRule* rule = Match(rules, *origin, req.method, &how);
  if (!rule) {
    if (cacheable && !rules.empty()) r.Set("Vary", "Origin");
    return;
  }
  bool any = how == OriginMatch::kAny;
  r.Set("Access-Control-Allow-Origin", any ? "*" : *origin);
  if (!any) r.Set("Access-Control-Allow-Credentials", "true");
  if (!any && cacheable) r.Set("Vary", "Origin");
  if (!rule->exposed_headers.empty())
    r.Set("Access-Control-Expose-Headers", Join(rule->exposed_headers));
}

http::Response Preflight(Ctx& ctx) {
  auto origin = ctx.H("origin");
  auto method = ctx.H("access-control-request-method");
  // A preflight without its two CORS headers is a bad request (400), not a
  // refused one (403).
  if (!origin || !method)
    return ErrorResponse(AzError::kInvalidHeaderValue,
                         "A required CORS header (Origin, Access-Control-Request-Method) is "
                         "not present.");
  auto rules = CorsRules(ctx.account);
  OriginMatch how;
  const CorsRule* rule = Match(rules, *origin, *method, &how);
  std::vector<std::string> req_headers;
  if (auto h = ctx.H("access-control-request-headers")) req_headers = CommaList(h->c_str());
  if (rule) {
    for (const auto& h : req_headers)
      if (!HeaderAllowed(rule->allowed_headers, h)) rule = nullptr;
  }
  if (!rule) return ErrorResponse(AzError::kCorsPreflightFailure);
  http::Response r;
  bool any = how == OriginMatch::kAny;
  r.Set("Access-Control-Allow-Origin", any ? "*" : *origin);
  if (!any) r.Set("Access-Control-Allow-Credentials", "true");
  r.Set("Access-Control-Allow-Methods", *method);
  if (!req_headers.empty()) r.Set("Access-Control-Allow-Headers", Join(req_headers));
  if (!rule->max_age.empty()) r.Set("Access-Control-Max-Age", rule->max_age);
  return r;
}

http::Response GetAccountInfo(Ctx& ctx) {
  http::Response r;
  r.Set("x-ms-sku-name", "Standard_LRS");
  r.Set("x-ms-account-kind", "StorageV2");
  r.Set("x-ms-is-hns-enabled", "true");
  return r;
}

http::Response GetServiceProperties(Ctx& ctx) {
  http::Response r;
  r.Set("Content-Type", "application/xml");
  r.body = ReadProps(ctx.account);
  return r;
}

http::Response SetServiceProperties(Ctx& ctx) {
  pugi::xml_document in;
  if (!in.load_buffer(ctx.req->body.data(), ctx.req->body.size()))
    return ErrorResponse(AzError::kInvalidXmlDocument);
  pugi::xml_node props = in.child("StorageServiceProperties");
  if (!props)
    return ErrorResponse(AzError::kInvalidXmlDocument,
                         "The root element must be StorageServiceProperties.");
  // Booleans and day counts anywhere in the document must be well formed.
  struct Walker : pugi::xml_tree_walker {
    std::string bad;
    bool for_each(pugi::xml_node& n) override {
      if (n.type() != pugi::node_element) return true;
      std::string name = n.name(), v = n.child_value();
      static const char* kBools[] = {"Enabled", "Delete", "Read", "Write", "IncludeAPIs",
                                     "AllowPermanentDelete"};
      for (const char* b : kBools)
        if (name == b && v != "true" && v != "false") bad = name + " must be true or false.";
      if (name == "Days") {
        auto d = ParseUint(v);
        if (!d || *d < 1 || *d > 365) bad = "Days must be between 1 and 365.";
      }
      return bad.empty();
    }
  } walker;
  props.traverse(walker);
  if (!walker.bad.empty()) return ErrorResponse(AzError::kInvalidXmlNodeValue, walker.bad);
  // Validate CORS.
  if (pugi::xml_node cors = props.child("Cors")) {
    int n = 0;
    for (pugi::xml_node rule : cors.children()) {
      if (std::string(rule.name()) != "CorsRule")
        return ErrorResponse(AzError::kInvalidXmlDocument);
      if (++n > 5)
        return ErrorResponse(AzError::kInvalidXmlDocument, "At most 5 CORS rules are allowed.");
      if (!rule.child("AllowedOrigins") || !rule.child("AllowedMethods"))
        return ErrorResponse(AzError::kInvalidXmlDocument,
                             "A CORS rule needs AllowedOrigins and AllowedMethods.");
      // Values that parse but break a rule's limits are InvalidXmlNodeValue.
      for (const auto& m : CommaList(rule.child_value("AllowedMethods"))) {
        static const char* kVerbs[] = {"DELETE", "GET",     "HEAD", "MERGE",
                                       "POST",   "OPTIONS", "PUT",  "PATCH"};
        bool ok = false;
        for (const char* v : kVerbs) ok = ok || m == v;
        if (!ok)
          return ErrorResponse(AzError::kInvalidXmlNodeValue, "Invalid CORS method " + m + ".");
      }
      if (CommaList(rule.child_value("AllowedOrigins")).size() > 64)
        return ErrorResponse(AzError::kInvalidXmlNodeValue, "A maximum of 64 origins are allowed.");
      for (const char* list : {"AllowedHeaders", "ExposedHeaders"}) {
        size_t literal = 0, prefixed = 0;
        for (const auto& h : CommaList(rule.child_value(list)))
          ++(h.back() == '*' ? prefixed : literal);
        if (literal > 64 || prefixed > 2)
          return ErrorResponse(
              AzError::kInvalidXmlNodeValue,
              std::string("Too many headers in ") + list + " (at most 64 literal and 2 prefixed).");
      }
      std::string age = rule.child_value("MaxAgeInSeconds");
      if (!age.empty() && !ParseUint(age))
        return ErrorResponse(AzError::kInvalidXmlNodeValue,
                             "MaxAgeInSeconds must be a non-negative integer.");
    }
  }
  // Merge: elements given replace the stored ones; others stay.
  std::string current = ReadProps(ctx.account);
  pugi::xml_document doc;
  doc.load_buffer(current.data(), current.size());
  pugi::xml_node root = doc.child("StorageServiceProperties");
  if (!root) {
    doc.load_string(kDefaultProperties);
    root = doc.child("StorageServiceProperties");
  }
  for (pugi::xml_node child : props.children()) {
    if (child.type() != pugi::node_element) continue;
    pugi::xml_node old = root.child(child.name());
    if (old) {
      root.insert_copy_after(child, old);
      root.remove_child(old);
    } else {
      root.append_copy(child);
    }
  }
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw);
  std::string text = os.str();
  std::string tmp = ctx.store().NewTempPath();
  {
    auto f = ctx.store().fs()->OpenWrite(tmp, true, true);
    if (!f.ok()) return ErrorResponse(AzError::kInternalError);
    Status s = (*f)->PWrite(text.data(), text.size(), 0);
    if (!s.ok()) {
      (void)ctx.store().fs()->Unlink(tmp);
      return ErrorResponse(FromStatus(s, false), PublicDetail(s));
    }
  }
  Status s = ctx.store().fs()->Rename(tmp, PropsPath(ctx.account));
  if (!s.ok()) return ErrorResponse(FromStatus(s, false), PublicDetail(s));
  cors_generation.fetch_add(1, std::memory_order_release);
  http::Response r;
  r.status = 202;
  return r;
}

}  // namespace strata::api
