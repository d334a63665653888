// Builds an account's auth::EntraAccess from its configuration: the token
// rules, the RBAC assignments and a KeySource that reads the signing keys
// from a JWKS file, or from the jwks_uri of an OpenID configuration (a file,
// or an http(s) URL on a loopback address: nothing else is fetched).
//
// Thread-safety: the loader it installs may run on any thread (KeySource
// serializes reloads).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/entra.h"
#include "server/config.h"

namespace strata::server {

std::shared_ptr<const auth::EntraAccess> BuildEntraAccess(const EntraConfig& cfg,
                                                          const std::string& account_name);

// The text of `where`: an absolute path, a file:// URL, or an http(s) URL
// whose host is 127.0.0.1 or [::1] (2 s timeout, 1 MiB at most).
// nullopt on any failure or any other host.
std::optional<std::string> ReadKeyDocument(const std::string& where);

}  // namespace strata::server
