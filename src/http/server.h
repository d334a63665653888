// The HTTP/1.1 server: sockets, parsing, keep-alive, limits and body
// streaming. Knows nothing of Azure: a Handler decides what requests mean.
//
// Threading: Run() serves on `threads` I/O threads. Each connection is one
// coroutine, so a Handler call for a connection never overlaps another for
// the same connection; calls for different connections run concurrently.
// Handle() runs on the connection's I/O thread, or, when Prepare set
// BodyPlan::on_pool, on one of `worker_threads` pool threads while the I/O
// thread serves other connections (at most that many such calls at once;
// more wait their turn).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/message.h"
#include "http/tls.h"

namespace strata::http {

enum class Failure {
  kBadRequest,      // malformed request line, header or chunking
  kHeaderTooLarge,  // request header over the limit
  kBodyTooLarge,    // body over the plan's max_size
  kBodyIo,          // the spooled body could not be written (disk full, ...)
  kLengthMismatch,  // the body ended before Content-Length
  kNotImplemented,  // a Transfer-Encoding other than "chunked" (the body
                    // cannot be framed: the connection is closed)
  kBusy,            // no memory came free for the body in time (see
                    // ServerOptions::body_memory_limit)
};

// One request's journey, reported once it ended (Handler::Completed): its
// response fully written, or its connection dropped or cut off.
struct Exchange {
  const Request* request = nullptr;             // null when not even its header parsed
  int status = 0;                               // what was sent (0: no response went out)
  bool complete = false;                        // the whole response was written
  ResponseNote note;                            // the handler's note on the response sent
  uint64_t bytes_in = 0;                        // request bytes read: header, body, framing
  uint64_t bytes_out = 0;                       // response bytes written, body included
  std::chrono::steady_clock::time_point start;  // its first header byte was read
  std::chrono::steady_clock::time_point end;    // its last byte was sent (or it ended)
  std::chrono::system_clock::time_point wall_start;
  const std::string* remote_ip = nullptr;
  int listener = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Called once the header is read. Returns a response to send at once (the
  // body, if any, is then drained or the connection closed), or nullopt and
  // fills `plan` to say where the body goes.
  virtual std::optional<Response> Prepare(Request& req, BodyPlan* plan) = 0;
  // Called with the body in place. Never touches the socket.
  virtual Response Handle(Request& req) = 0;
  // The response for a failure the server detected itself. `req` is null
  // when not even the header could be parsed; `detail` explains.
  virtual Response Fail(Failure kind, const Request* req, const Status& detail) = 0;
  // Called on the connection's I/O thread once a request ended (see
  // Exchange); must not block. Default: nothing.
  virtual void Completed(const Exchange& ex) {}
};

// The server's own counters (all listeners), read at any time.
struct ServerStats {
  uint64_t connections = 0;         // open now
  uint64_t connections_total = 0;   // accepted since start
  uint64_t requests_in_flight = 0;  // header read, response not yet written
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 10000;  // 0 picks a free port
  // Further listeners on the same host, served by the same threads, limits
  // and body memory; a request says which took its connection
  // (Request::listener: 0 for `port`, i for extra_ports[i-1]). 0 picks one.
  std::vector<uint16_t> extra_ports;
  int threads = 0;        // 0: one per core
  int worker_threads = 0; // Handle() calls marked on_pool; 0: one per core, at least 2
  uint32_t header_limit = 64 * 1024;
  int idle_timeout_s = 120;  // waiting for the first byte of the next request
  // Once a request has begun, its whole header must arrive within this.
  int header_timeout_s = 30;
  // A body must bring at least body_min_rate bytes a second, averaged over
  // each window of body_rate_window_s (the first opens when the body
  // starts); else the connection is closed. Trickled bytes never move this
  // deadline; time the server itself spends not reading (waiting for body
  // memory) is not counted against the client.
  uint32_t body_min_rate = 1024;
  int body_rate_window_s = 30;
  // A write must make progress within this, and a body wait no longer for
  // memory. It also bounds header_timeout_s and body_rate_window_s (so one
  // short value shortens every deadline). A body whose Content-Length
  // exceeds the handler's limit is refused before it is read; a connection
  // closed after an error lingers (bounded) to drain what the client still
  // sends, so the client reads the error.
  int io_timeout_s = 60;
  // The memory all request bodies hold together (read buffers, bodies kept
  // in memory). A body's buffers grow only as its bytes arrive; past this
  // cap they stop growing, and a body that needs memory to go on at all
  // (its first buffer, room in memory for its next bytes) waits without
  // reading its socket (back-pressure) until others give memory back, or
  // fails with kBusy after io_timeout_s.
  uint64_t body_memory_limit = 128ull << 20;
  // Run() stops the server on SIGINT and SIGTERM (Stop()). Off when the
  // caller handles signals itself (and calls Drain or Stop).
  bool stop_on_signals = true;
  // The listeners (numbered as Request::listener) that speak HTTPS with
  // `tls`; the others speak plain HTTP. The same limits hold on both: the
  // TLS handshake must end within header_timeout_s of the accept. A
  // request says whether it came over TLS (Request::https).
  // REQUIRES: tls set when tls_listeners is not empty.
  std::vector<int> tls_listeners;
  std::shared_ptr<const TlsContext> tls;
};

class Server {
 public:
  Server(ServerOptions options, Handler* handler);
  ~Server();
  // Binds and listens on every port. Returns the bound `port`; on failure
  // nothing listens.
  Result<uint16_t> Listen();
  // The port a listener (see ServerOptions::extra_ports) is bound to; 0
  // before Listen() succeeded or for no such listener.
  uint16_t BoundPort(int listener) const;
  // Serves until Stop(), the end of a Drain(), or (stop_on_signals) SIGINT
  // or SIGTERM. REQUIRES: Listen() succeeded.
  void Run();
  // Ends Run() at once: connections and requests in flight are cut.
  // Thread-safe.
  void Stop();
  // Ends Run() gracefully: the listeners close (new connections are
  // refused), idle keep-alive connections are closed, and each request in
  // flight finishes with "Connection: close"; once no connection is left,
  // or after `seconds`, the server stops as Stop() does. Thread-safe; a
  // second call does nothing (call Stop() to end at once).
  void Drain(int seconds);
  ServerStats Stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::http
