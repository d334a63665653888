// ReloadHooks: what SIGHUP reloads besides the accounts (server/main.cc).
// A reload re-reads the config file (flags given on the command line still
// win) and validates all of it; then every hook's `check` runs, and only if
// all pass does anything change: the accounts swap, then every hook's
// `apply` runs. A reload that fails anywhere before that keeps the old
// configuration whole (and logs why).
//
// Thread-safety: Add() before serving; Check/Apply run on the one thread
// that handles signals, never two at once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/config.h"

namespace strata::server {

class ReloadHooks {
 public:
  // `check` may refuse the new configuration (its message is logged, named
  // with `name`); `apply` takes it and cannot fail. Either may be empty.
  void Add(std::string name, std::function<Status(const Config&)> check,
           std::function<void(const Config&)> apply) {
    hooks_.push_back({std::move(name), std::move(check), std::move(apply)});
  }
  // The first refusal, as "NAME: reason"; Ok when every hook accepts.
  Status Check(const Config& cfg) const {
    for (const auto& h : hooks_) {
      if (!h.check) continue;
      Status s = h.check(cfg);
      if (!s.ok()) return Status(s.kind(), h.name + ": " + s.message());
    }
    return Status::Ok();
  }
  void Apply(const Config& cfg) const {
    for (const auto& h : hooks_)
      if (h.apply) h.apply(cfg);
  }

 private:
  struct Hook {
    std::string name;
    std::function<Status(const Config&)> check;
    std::function<void(const Config&)> apply;
  };
  std::vector<Hook> hooks_;
};

}  // namespace strata::server
