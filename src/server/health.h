// What /healthz and /readyz answer (server/admin.h), set by those who know:
// the capacity tier while it replays journals, main() while it drains.
#pragma once

#include <atomic>

namespace strata::server {

struct Health {
  std::atomic<int> replaying{0};     // journal replays in progress
  std::atomic<bool> draining{false};  // SIGTERM seen: stop taking work
  std::atomic<bool> serving{false};   // listeners up
  bool Ready() const { return serving.load() && !draining.load() && replaying.load() == 0; }
};

}  // namespace strata::server
