// strata_remote_probe: drives the capacity tier's RemoteClient from tests
// (tests/tier/test_remote_client.py). Not installed; test support only.
//
//   strata_remote_probe --url URL [--key KEY] [options] VERB ARGS...
//     upload NAME FILE [--content-type T] [--meta k=v]... [--md5 BASE64]
//     read NAME OUT [--offset N] [--length N] [--repeat N]
//            [--if-match ETAG] [--if-none-match-any]
//     head NAME | delete NAME | set-tier NAME TIER
//     list PREFIX [--delimiter D] [--marker M] [--max N]
//     copy FROM TO [--if-match ETAG]
//
// Prints one JSON object on stdout: {"ok": true, "props": {...}, "stats": {...}}
// (list: "listing": {"blobs": [{"name", "props"}...], "prefixes", "next_marker"})
// or {"ok": false, "kind": "kBusy", "message": "...", "stats": {...}}, and
// exits 0 on success, 1 on a client error, 2 on a usage error.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "tier/remote.h"

namespace {

using strata::ErrorKind;
using strata::Status;
using strata::tier::RemoteClient;
using strata::tier::RemoteProps;

const char* KindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kOk: return "kOk";
    case ErrorKind::kNotFound: return "kNotFound";
    case ErrorKind::kContainerNotFound: return "kContainerNotFound";
    case ErrorKind::kAlreadyExists: return "kAlreadyExists";
    case ErrorKind::kPathConflict: return "kPathConflict";
    case ErrorKind::kInvalidName: return "kInvalidName";
    case ErrorKind::kInvalidArgument: return "kInvalidArgument";
    case ErrorKind::kNoSpace: return "kNoSpace";
    case ErrorKind::kIo: return "kIo";
    case ErrorKind::kPermission: return "kPermission";
    case ErrorKind::kTooLarge: return "kTooLarge";
    case ErrorKind::kIsDirectory: return "kIsDirectory";
    case ErrorKind::kNotEmpty: return "kNotEmpty";
    case ErrorKind::kBusy: return "kBusy";
    case ErrorKind::kUnsupported: return "kUnsupported";
    case ErrorKind::kLimitReached: return "kLimitReached";
    case ErrorKind::kQuotaExceeded: return "kQuotaExceeded";
  }
  return "unknown";
}

nlohmann::json PropsJson(const RemoteProps& p) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : p.metadata) meta[k] = v;
  return {{"size", p.size},
          {"etag", p.etag},
          {"content_md5", strata::Base64Encode(p.content_md5)},
          {"content_md5_hex", strata::HexEncode(p.content_md5)},
          {"last_modified_ns", p.last_modified_ns},
          {"content_type", p.content_type},
          {"content_encoding", p.content_encoding},
          {"content_language", p.content_language},
          {"content_disposition", p.content_disposition},
          {"cache_control", p.cache_control},
          {"blob_type", p.blob_type},
          {"access_tier", p.access_tier},
          {"archive_status", p.archive_status},
          {"metadata", meta}};
}

nlohmann::json StatsJson(const RemoteClient::Stats& s) {
  return {{"requests", s.requests},         {"retries", s.retries},
          {"errors", s.errors},             {"bytes_up", s.bytes_up},
          {"bytes_down", s.bytes_down},     {"in_flight", s.in_flight},
          {"throttle_waits", s.throttle_waits},
          {"connections_opened", s.connections_opened}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strata_remote_probe: exercise the capacity tier's remote client"};
  app.require_subcommand(1);
  strata::tier::RemoteOptions opt;
  app.add_option("--url", opt.container_url, "container URL, optionally with a SAS")->required();
  app.add_option("--key", opt.account_key, "base64 account key (SharedKey)");
  app.add_option("--concurrency", opt.max_concurrency);
  app.add_option("--bandwidth", opt.bandwidth_bytes_per_sec, "bytes/s, 0: no cap");
  app.add_option("--max-attempts", opt.max_attempts);
  app.add_option("--base-backoff-ms", opt.base_backoff_ms);
  app.add_option("--max-backoff-ms", opt.max_backoff_ms);
  app.add_option("--connect-timeout-ms", opt.connect_timeout_ms);
  app.add_option("--request-timeout-ms", opt.request_timeout_ms);
  app.add_option("--stall-timeout-ms", opt.stall_timeout_ms);
  app.add_option("--block-size", opt.block_size);
  app.add_option("--single-put-limit", opt.single_put_limit);
  app.add_option("--ca-file", opt.ca_file, "PEM CA certificates to trust (HTTPS)");

  std::string name, file, tier, md5_b64;
  strata::tier::RemoteBlobHeaders headers;
  std::vector<std::string> meta;
  uint64_t offset = 0, length = 0;
  int repeat = 1;
  auto* up = app.add_subcommand("upload", "upload FILE as NAME");
  up->add_option("name", name)->required();
  up->add_option("file", file)->required();
  up->add_option("--content-type", headers.content_type);
  up->add_option("--content-encoding", headers.content_encoding);
  up->add_option("--content-language", headers.content_language);
  up->add_option("--content-disposition", headers.content_disposition);
  up->add_option("--cache-control", headers.cache_control);
  up->add_option("--md5", md5_b64, "Content-MD5 to declare (base64)");
  up->add_option("--meta", meta, "metadata k=v (repeatable)");
  up->add_option("--if-match", headers.if_match, "upload only if the blob has this ETag");
  up->add_flag("--if-none-match-any", headers.if_none_match_any,
               "upload only if no blob of that name exists");
  auto* rd = app.add_subcommand("read", "read NAME into OUT");
  rd->add_option("name", name)->required();
  rd->add_option("out", file)->required();
  rd->add_option("--offset", offset);
  rd->add_option("--length", length);
  rd->add_option("--repeat", repeat, "read this many times (connection reuse)");
  auto* hd = app.add_subcommand("head", "properties of NAME");
  hd->add_option("name", name)->required();
  auto* del = app.add_subcommand("delete", "delete NAME");
  del->add_option("name", name)->required();
  auto* st = app.add_subcommand("set-tier", "set NAME's access tier");
  st->add_option("name", name)->required();
  st->add_option("tier", tier)->required();
  std::string prefix, delimiter, marker, to, if_match;
  int max_results = 5000;
  auto* ls = app.add_subcommand("list", "list blobs under PREFIX (one page)");
  ls->add_option("prefix", prefix)->required();
  ls->add_option("--delimiter", delimiter);
  ls->add_option("--marker", marker);
  ls->add_option("--max", max_results);
  auto* cp = app.add_subcommand("copy", "copy blob FROM to TO inside the remote");
  cp->add_option("from", name)->required();
  cp->add_option("to", to)->required();
  cp->add_option("--if-match", if_match, "the source's ETag");
  CLI11_PARSE(app, argc, argv);

  auto client = strata::tier::MakeRemoteClient(opt);
  nlohmann::json out;
  if (!client.ok()) {
    out = {{"ok", false}, {"kind", KindName(client.status().kind())},
           {"message", client.status().message()}};
    std::cout << out.dump() << std::endl;
    return 1;
  }
  RemoteClient& remote = **client;
  Status status;
  RemoteProps props;
  bool have_props = false;
  if (up->parsed()) {
    for (const auto& kv : meta) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--meta wants k=v\n";
        return 2;
      }
      headers.metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (!md5_b64.empty()) {
      auto raw = strata::Base64Decode(md5_b64);
      if (!raw) {
        std::cerr << "--md5 is not base64\n";
        return 2;
      }
      headers.content_md5 = *raw;
    }
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
      std::perror(file.c_str());
      return 2;
    }
    status = remote.Upload(name, fd, static_cast<uint64_t>(sb.st_size), headers, &props);
    have_props = status.ok();
    close(fd);
  } else if (rd->parsed()) {
    for (int i = 0; i < std::max(repeat, 1) && status.ok(); ++i) {
      FILE* f = std::fopen(file.c_str(), "wb");
      if (!f) {
        std::perror(file.c_str());
        return 2;
      }
      status = remote.Read(name, offset, length, [&](const char* data, size_t n) {
        return std::fwrite(data, 1, n, f) == n;
      }, &props);
      std::fclose(f);
    }
    have_props = status.ok();
  } else if (hd->parsed()) {
    auto r = remote.Head(name);
    status = r.status();
    if (r.ok()) {
      props = *r;
      have_props = true;
    }
  } else if (del->parsed()) {
    status = remote.Delete(name);
  } else if (st->parsed()) {
    status = remote.SetTier(name, tier);
  } else if (ls->parsed()) {
    auto r = remote.List(prefix, delimiter, marker, max_results);
    status = r.status();
    if (r.ok()) {
      nlohmann::json blobs = nlohmann::json::array();
      for (const auto& [n, p] : r->blobs) blobs.push_back({{"name", n}, {"props", PropsJson(p)}});
      out["listing"] = {{"blobs", blobs}, {"prefixes", r->prefixes},
                        {"next_marker", r->next_marker}};
    }
  } else if (cp->parsed()) {
    status = remote.Copy(name, to, if_match, &props);
    have_props = status.ok();
  }
  out["ok"] = status.ok();
  if (!status.ok()) {
    out["kind"] = KindName(status.kind());
    out["message"] = status.message();
  }
  if (have_props) out["props"] = PropsJson(props);
  out["stats"] = StatsJson(remote.GetStats());
  // A remote name need not be UTF-8: such bytes print as U+FFFD.
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return status.ok() ? 0 : 1;
}
