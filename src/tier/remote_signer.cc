#include "tier/remote_signer.h"

#include "auth/auth.h"
#include "common/strings.h"

namespace strata::tier {

std::string RemoteStringToSign(const OutgoingRequest& req, std::string_view account) {
  auth::RequestView view;
  view.method = req.method;
  view.raw_path = req.raw_path;
  view.raw_query = req.raw_query;
  for (const auto& [name, value] : req.headers) view.headers.emplace_back(ToLower(name), value);
  return auth::SharedKeyStringToSign(view, "/" + std::string(account) + req.raw_path);
}

std::string SharedKeyAuthorization(const OutgoingRequest& req, std::string_view account,
                                   std::string_view raw_key) {
  return "SharedKey " + std::string(account) + ":" +
         auth::Sign(raw_key, RemoteStringToSign(req, account));
}

}  // namespace strata::tier
