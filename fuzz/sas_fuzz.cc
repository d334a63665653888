// Fuzzes SAS parsing and checking (auth/sas.cc, and the grant cache of
// auth/auth.cc) with whole HTTP requests. A query whose sig is "AUTO" is
// first signed for real (account SAS, or a container/blob service SAS), so
// the fuzzer gets past the signature to the window, IP, protocol, resource
// type and permission checks. Each request is authorized twice: the second
// answer may come from the grant cache and must be the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "auth/auth.h"
#include "common/clock.h"
#include "common/strings.h"
#include "fuzz_request.h"

using namespace strata;

namespace {

// The query with "sig=AUTO" replaced by the real signature, or as it was.
std::string SignQuery(const auth::RequestView& view, const auth::Account& account) {
  std::string q = view.raw_query;
  size_t at = q.find("sig=AUTO");
  if (at == std::string::npos || (at > 0 && q[at - 1] != '&')) return q;
  auto p = auth::ParseSas(q);
  if (!p) return q;
  std::string sts;
  if (p->is_account_sas()) {
    sts = auth::AccountSasStringToSign(account.name, *p);
  } else {
    std::string resource = "/blob/" + account.name + "/" + view.container;
    if (p->sr == "b" || p->sr == "bs" || p->sr == "bv") resource += "/" + view.blob;
    if (p->sr == "d") {  // the first sdd segments of the path
      std::vector<std::string> segments = Split(view.blob, '/');
      size_t depth = ParseUint(p->sdd).value_or(0);
      std::string dir;
      for (size_t i = 0; i < segments.size() && i < depth; ++i) dir += (i ? "/" : "") + segments[i];
      resource += "/" + dir;
    }
    sts = auth::ServiceSasStringToSign(resource, *p);
  }
  q.replace(at, 8, "sig=" + UrlEncode(auth::Sign(account.key, sts)));
  return q;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto req = fuzz::ParseRequestHead(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  auth::Account account = fuzz::FuzzAccount();
  const TimeNs now = ParseIso8601("2026-12-05T06:00:00Z").value_or(0);
  auto policies = [](const std::string& container, const std::string& id) {
    if (id != "p1") return std::optional<auth::StoredPolicy>();
    return std::optional<auth::StoredPolicy>(
        auth::StoredPolicy{"p1", "", "2027-01-01T00:00:00Z", "rl"});
  };
  {
    auth::RequestView view = fuzz::ViewOf(*req);
    req->query = SignQuery(view, account);
  }
  auth::RequestView view = fuzz::ViewOf(*req);
  (void)auth::ParseSas(view.raw_query);
  auth::Demand demand;
  demand.resource_type = view.container.empty() ? auth::ResourceType::kService
                         : view.blob.empty()    ? auth::ResourceType::kContainer
                                                : auth::ResourceType::kObject;
  // Alternatives and letter sets too (Demand::permission's syntax).
  demand.permission = req->method == "PUT"      ? "c|w"
                      : req->method == "DELETE" ? "m|d"
                      : req->method == "POST"   ? "a"
                      : req->method == "PATCH"  ? "po"
                                                : "r";
  demand.service_sas_allowed = req->method != "OPTIONS";
  auth::Outcome first = auth::Authorize(view, account, demand, policies, now);
  // STRATA_FUZZ_VERBOSE=1: say what each input got (to check the seeds).
  static const bool verbose = getenv("STRATA_FUZZ_VERBOSE") != nullptr;
  if (verbose) fprintf(stderr, "ok=%d code=%s %s\n", first.ok, first.code.c_str(), first.message.c_str());
  auth::Outcome again = auth::Authorize(view, account, demand, policies, now);
  if (first.ok != again.ok || (first.ok && first.scheme != again.scheme)) abort();
  return 0;
}
