#include "tier/remote_url.h"

#include <vector>

#include "common/strings.h"

namespace strata::tier {

namespace {

Status Bad(std::string_view url, std::string_view why) {
  return Status(ErrorKind::kInvalidArgument,
                "remote container URL '" + std::string(url.substr(0, url.find('?'))) + "': " +
                    std::string(why));
}

}  // namespace

std::string EncodeBlobName(std::string_view name) { return UrlEncode(name, "/"); }

std::string ContainerUrl::BlobPath(std::string_view name) const {
  return container_path + "/" + EncodeBlobName(name);
}

std::string ContainerUrl::Url(std::string_view path, std::string_view query) const {
  std::string out = scheme + "://" + authority;
  out.append(path);
  if (!sas.empty() || !query.empty()) {
    out += '?';
    out += sas;
    if (!sas.empty() && !query.empty()) out += '&';
    out.append(query);
  }
  return out;
}

Result<ContainerUrl> ParseContainerUrl(std::string_view url) {
  ContainerUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return Bad(url, "no scheme");
  out.scheme = ToLower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return Bad(url, "scheme must be http(s)");
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return Bad(url, "fragment not allowed");
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    out.sas = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  out.authority = std::string(rest.substr(0, slash));
  if (out.authority.empty()) return Bad(url, "no host");
  if (out.authority.find('@') != std::string::npos) return Bad(url, "user info not allowed");
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string> segments = path.empty() ? std::vector<std::string>{} : Split(path, '/');
  for (const auto& s : segments) {
    if (s.empty()) return Bad(url, "empty path segment");
  }
  auto decode = [&](const std::string& s) { return UrlDecode(s); };
  if (segments.size() == 1) {
    std::string host = out.authority.substr(0, out.authority.rfind(':'));
    size_t dot = host.find('.');
    bool ipv4 = host.find_first_not_of("0123456789.") == std::string::npos;
    if (dot == std::string::npos || dot == 0 || host.front() == '[' || ipv4) {
      return Bad(url, "host-style URL needs the account as the host's first label");
    }
    out.account = host.substr(0, dot);
    auto c = decode(segments[0]);
    if (!c) return Bad(url, "bad percent-encoding");
    out.container = *c;
    out.container_path = "/" + segments[0];
  } else if (segments.size() == 2) {
    auto a = decode(segments[0]);
    auto c = decode(segments[1]);
    if (!a || !c) return Bad(url, "bad percent-encoding");
    out.account = *a;
    out.container = *c;
    out.path_style = true;
    out.container_path = "/" + segments[0] + "/" + segments[1];
  } else {
    return Bad(url, "expected /container or /account/container");
  }
  if (out.account.empty() || out.container.empty()) return Bad(url, "no account or container");
  return out;
}

}  // namespace strata::tier
