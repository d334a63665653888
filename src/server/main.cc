// strata: an Azure Blob Storage-compatible server over a POSIX namespace.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/api.h"
#include "common/strings.h"
#include "http/server.h"
#include "server/config.h"

using namespace strata;

int main(int argc, char** argv) {
  CLI::App app{"strata: Azure Blob Storage-compatible server for AI training clusters"};
  app.require_subcommand(1);
  server::Config cfg;
  std::string config_path, durability;
  CLI::App* serve = app.add_subcommand("serve", "Serve the Blob API");
  serve->add_option("--config", config_path, "JSON config file (accounts, defaults)");
  serve->add_option("--host", cfg.host, "Address to listen on")->capture_default_str();
  serve->add_option("--port", cfg.port, "Port to listen on (0 picks one)")->capture_default_str();
  serve->add_option("--root", cfg.root, "Namespace root of the default account")->capture_default_str();
  serve->add_option("--durability", durability, "fsync (default) or none");
  serve->add_option("--threads", cfg.threads, "I/O threads (0: one per core)");
  int io_timeout_s = 0;
  // Hidden (empty group): tests shorten the stall timeout to stay fast.
  serve->add_option("--io-timeout", io_timeout_s, "Seconds without progress before a request is dropped")
      ->group("");
  CLI11_PARSE(app, argc, argv);

  if (!config_path.empty()) {
    // The file sets defaults; flags given on the command line win.
    server::Config file_cfg = cfg;
    Status s = server::LoadConfigFile(config_path, &file_cfg);
    if (!s.ok()) {
      std::fprintf(stderr, "strata: %s\n", s.message().c_str());
      return 2;
    }
    if (serve->count("--host") == 0) cfg.host = file_cfg.host;
    if (serve->count("--port") == 0) cfg.port = file_cfg.port;
    if (serve->count("--root") == 0) cfg.root = file_cfg.root;
    if (serve->count("--threads") == 0) cfg.threads = file_cfg.threads;
    cfg.fsync = file_cfg.fsync;
    cfg.accounts = file_cfg.accounts;
    cfg.dev_containers = file_cfg.dev_containers;
  }
  if (!durability.empty()) {
    if (durability != "fsync" && durability != "none") {
      std::fprintf(stderr, "strata: --durability must be fsync or none\n");
      return 2;
    }
    cfg.fsync = durability == "fsync";
  }
  server::AddDefaultAccount(&cfg);

  std::vector<std::unique_ptr<api::Account>> accounts;
  for (const auto& ac : cfg.accounts) {
    auto a = std::make_unique<api::Account>();
    a->name = ac.name;
    a->key = *Base64Decode(ac.key_base64);
    a->store = std::make_unique<ns::Store>(PosixFs(), ac.root, cfg.fsync);
    for (const auto& [name, entry] : ac.containers) {
      ns::ContainerConfig cc;
      if (!entry.path.empty()) {
        // The view's own path may pass through symlinks; what it names is fixed now.
        char* real = ::realpath(entry.path.c_str(), nullptr);
        if (!real) {
          std::fprintf(stderr, "strata: view %s: cannot resolve %s\n", name.c_str(), entry.path.c_str());
          return 1;
        }
        cc.dir = real;
        std::free(real);
      }
      cc.read_only = entry.read_only;
      cc.max_bytes = entry.max_bytes;
      cc.max_files = entry.max_files;
      a->store->ConfigureContainer(name, cc);
    }
    Status s = a->store->Open();
    if (!s.ok()) {
      std::fprintf(stderr, "strata: cannot open root %s: %s\n", ac.root.c_str(), s.message().c_str());
      return 1;
    }
    accounts.push_back(std::move(a));
  }
  api::Api handler(std::move(accounts));
  http::ServerOptions opt;
  opt.host = cfg.host;
  opt.port = static_cast<uint16_t>(cfg.port);
  opt.threads = cfg.threads;
  if (io_timeout_s > 0) opt.io_timeout_s = io_timeout_s;
  http::Server server(opt, &handler);
  auto port = server.Listen();
  if (!port.ok()) {
    std::fprintf(stderr, "strata: %s\n", port.status().message().c_str());
    return 1;
  }
  std::string host = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
  std::printf("strata listening on %s:%u (root %s)\n", host.c_str(), *port, cfg.root.c_str());
  std::printf(
      "Connection string: DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
      "BlobEndpoint=http://%s:%u/%s;\n",
      server::kDevAccount, server::kDevKey, host.c_str(), *port, server::kDevAccount);
  std::fflush(stdout);
  signal(SIGPIPE, SIG_IGN);
  // Uncommitted blocks expire 7 days after their blob's last Put Block;
  // sweep hourly (and once at start, in Store::Open).
  std::thread sweeper([&handler] {
    while (true) {
      std::this_thread::sleep_for(std::chrono::hours(1));
      handler.ForEachStore([](ns::Store& s) { s.ExpireBlocks(NowNs()); });
    }
  });
  sweeper.detach();
  server.Run();
  return 0;
}
