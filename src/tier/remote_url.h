// Container URLs of the capacity tier's remote: parsing (account, container,
// SAS) and the percent-encoding of blob names. Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace strata::tier {

struct ContainerUrl {
  std::string scheme;     // "http" or "https"
  std::string authority;  // host[:port] as given
  std::string account;    // storage account name
  std::string container;  // container name (decoded)
  // True when the account is the first path segment (Azurite, IP hosts):
  // http://127.0.0.1:10000/devstoreaccount1/cont.
  bool path_style = false;
  // The container's path as sent on the wire: "/cont" or "/acct/cont".
  std::string container_path;
  // The SAS query string without '?', or "" for SharedKey / anonymous.
  std::string sas;

  // Path (encoded) of blob `name` in the container.
  std::string BlobPath(std::string_view name) const;
  // scheme://authority + path + '?' + SAS and `query` joined by '&'.
  std::string Url(std::string_view path, std::string_view query) const;
};

// Accepts http(s)://acct.host/cont[?sas] (host style: the account is the
// host's first label) and http(s)://host/acct/cont[?sas] (path style). A
// trailing '/' is allowed. kInvalidArgument on anything else (no scheme, no
// container, more path segments, a fragment, user info).
Result<ContainerUrl> ParseContainerUrl(std::string_view url);

// Percent-encodes a blob name for a URL path: everything but unreserved
// characters and '/' (which Azure treats as a plain name character).
std::string EncodeBlobName(std::string_view name);

}  // namespace strata::tier
