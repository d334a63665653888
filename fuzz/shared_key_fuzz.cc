// Fuzzes SharedKey / SharedKeyLite canonicalization and checking
// (auth/shared_key.cc) with whole HTTP requests. A request whose
// Authorization is "SharedKey devstoreaccount1:AUTO" is first signed for
// real over SharedKeyStringToSign, so the fuzzer also walks the accepted
// path; such a request must then be accepted whenever its date is fresh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "auth/auth.h"
#include "common/clock.h"
#include "fuzz_request.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto req = fuzz::ParseRequestHead(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  auth::Account account = fuzz::FuzzAccount();
  // A fixed clock, so a seed's x-ms-date stays fresh: Sat, 05 Dec 2026 06:00:00 GMT.
  const TimeNs now = ParseHttpDate("Sat, 05 Dec 2026 06:00:00 GMT").value_or(0);
  auth::Demand demand;
  auto no_policies = [](const std::string&, const std::string&) {
    return std::optional<auth::StoredPolicy>();
  };
  bool auto_signed = false;
  for (auto& [name, value] : req->headers) {
    if (name != "authorization") continue;
    if (value != "SharedKey devstoreaccount1:AUTO") break;  // Authorize reads the first
    auth::RequestView view = fuzz::ViewOf(*req);
    // An empty path is signed as "/", as the SDKs sign it.
    std::string sts = auth::SharedKeyStringToSign(
        view, "/" + account.name + (req->path.empty() ? "/" : req->path));
    value = "SharedKey devstoreaccount1:" + auth::Sign(account.key, sts);
    auto_signed = true;
    break;
  }
  auth::RequestView view = fuzz::ViewOf(*req);
  (void)auth::SharedKeyStringToSign(view, "/" + account.name + view.raw_path);
  auth::Outcome o = auth::Authorize(view, account, demand, no_policies, now);
  // STRATA_FUZZ_VERBOSE=1: say what each input got (to check the seeds).
  static const bool verbose = getenv("STRATA_FUZZ_VERBOSE") != nullptr;
  if (verbose) fprintf(stderr, "ok=%d code=%s %s\n", o.ok, o.code.c_str(), o.message.c_str());
  if (auto_signed && !o.ok && o.message.rfind("The MAC signature found", 0) == 0) {
    // Signed over the string-to-sign, yet refused as a bad signature: the
    // canonicalization and its check disagree.
    abort();
  }
  return 0;
}
