#include "http/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <limits>
#include <thread>
#include <vector>

#include "common/crc64.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/strings.h"
#include "http/limits.h"
#include "http/request_parser.h"
#include "http/tls.h"

namespace strata::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kBodyChunk = 1 << 20;
constexpr size_t kSendfileChunk = 2 << 20;
// A file sent over TLS is read and written in batches of this (see SendFileTls).
constexpr size_t kTlsFileChunk = 256 << 10;
constexpr size_t kReadBufferLimit = 64 * 1024;  // request header bytes read ahead

// The digests of a body (MD5, CRC-64, or both) computed beside the socket
// reads: each full chunk is hashed on a helper thread while the next one is
// read, so hashing (MD5 runs at about 700 MB/s on one core) overlaps
// receiving and spooling instead of adding to them. The caller must leave a
// fed buffer untouched until the next Feed or Finish.
class PipelinedDigest {
 public:
  PipelinedDigest(bool md5, bool crc64) : want_md5_(md5), want_crc64_(crc64) {}
  void Feed(const char* p, size_t n) {
    Wait();
    if (n < (256u << 10)) {
      Update(p, n);
      return;
    }
    pending_ = std::async(std::launch::async, [this, p, n] { Update(p, n); });
  }
  void Finish(Request* req) {
    Wait();
    if (want_md5_) req->body_md5 = md5_.Final();
    if (want_crc64_) req->body_crc64 = crc64_.Value();
  }
  // Returns once the last fed buffer is hashed (it may then be refilled).
  void Wait() {
    if (pending_.valid()) pending_.get();
  }
  ~PipelinedDigest() { Wait(); }

 private:
  void Update(const char* p, size_t n) {
    if (want_md5_) md5_.Update(p, n);
    if (want_crc64_) crc64_.Update(p, n);
  }
  bool want_md5_, want_crc64_;
  Md5Hasher md5_;
  Crc64 crc64_;
  std::future<void> pending_;
};
// A body the handler refused is drained (to keep the connection) up to this.
constexpr uint64_t kDrainLimit = 64ull << 20;
// After a response that closes the connection, what the client still sends
// is read and dropped for at most this long / this much (see LingeringClose).
constexpr int kLingerSeconds = 5;
constexpr uint64_t kLingerBytes = 64ull << 20;

const char* Reason(int status) {
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status)).data();
}

// The status line and header of r, into *out (cleared first; a
// connection reuses its buffer, so this allocates only while it grows).
void SerializeHead(const Response& r, uint64_t content_length, bool keep_alive, std::string* out) {
  out->clear();
  out->append("HTTP/1.1 ", 9);
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, r.status);
  out->append(num, end);
  out->push_back(' ');
  out->append(Reason(r.status));
  out->append("\r\n", 2);
  out->append(r.fields);
  if (r.status != 304 && r.status != 204 && r.status >= 200) {
    out->append("Content-Length: ", 16);
    auto [lend, lec] = std::to_chars(num, num + sizeof num, content_length);
    out->append(num, lend);
    out->append("\r\n", 2);
  }
  if (!keep_alive) out->append("Connection: close\r\n", 19);
  out->append("\r\n", 2);
}

class Watchdog;

// The watchdogs of one event loop, checked once a second by one timer (see
// Server::Impl::Sweep). Arming a watchdog for every request is then a store
// instead of a timer operation: each of those cost a timerfd_settime and a
// queued completion. A loop's list is only touched on its own thread.
struct Deadlines {
  Watchdog* head = nullptr;
};
thread_local Deadlines* t_deadlines = nullptr;

// Closes a connection's pending I/O (cancels the socket) when it was armed
// and not disarmed within its timeout; caught within the timeout plus 1 s.
class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog(tcp::socket& sock, int seconds) : sock_(&sock), secs_(seconds), list_(t_deadlines) {
    if (!list_) return;
    next_ = list_->head;
    if (next_) next_->prev_ = this;
    list_->head = this;
  }
  ~Watchdog() {
    if (!list_) return;
    if (prev_) prev_->next_ = next_;
    else list_->head = next_;
    if (next_) next_->prev_ = prev_;
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void Arm() { Arm(secs_); }
  void Arm(int seconds) { deadline_ = Clock::now() + std::chrono::seconds(seconds); }
  void Disarm() {
    deadline_ = Clock::time_point::max();
    rate_.Stop();
  }
  // For the reads of a body: from now on, each window must bring at least
  // min_bytes (see MinRate); the bytes counted by Received never move this
  // deadline, so trickling them does not keep a connection.
  void RequireRate(uint64_t min_bytes, int window_s) {
    rate_.Start(Clock::now(), min_bytes, std::chrono::seconds(window_s));
  }
  void Received(size_t n) {
    rate_.Add(n);
    counted_ += n;
  }
  // Every byte Received counted, for the exchange's tally.
  uint64_t counted() const { return counted_; }
  // The same for a response, from its first wait on; later calls do nothing.
  void RequireRateOnce(uint64_t min_bytes, int window_s) {
    if (!rate_.on()) RequireRate(min_bytes, window_s);
  }
  // Around the server's own waits (memory back-pressure): not the client's time.
  void PauseRate() { rate_.Pause(); }
  void ResumeRate() { rate_.Resume(Clock::now()); }

  // While a connection waits for its next request (Server::Drain closes
  // those).
  void SetIdle(bool idle) { idle_ = idle; }
  static void CancelIdle(Deadlines& list) {
    for (Watchdog* w = list.head; w; w = w->next_) {
      if (!w->idle_) continue;
      boost::system::error_code ignored;
      w->sock_->cancel(ignored);
    }
  }

  // Runs a loop's checks: cancels every connection past its deadline or
  // below its minimum rate.
  static void Sweep(Deadlines& list, Clock::time_point now) {
    for (Watchdog* w = list.head; w; w = w->next_) {
      if (now < w->deadline_ && !w->rate_.Expired(now)) continue;
      w->Disarm();
      boost::system::error_code ignored;
      w->sock_->cancel(ignored);
    }
  }

 private:
  tcp::socket* sock_;
  int secs_;
  Deadlines* list_;
  Watchdog* prev_ = nullptr;
  Watchdog* next_ = nullptr;
  Clock::time_point deadline_ = Clock::time_point::max();
  MinRate rate_;
  bool idle_ = false;
  uint64_t counted_ = 0;
};

// One request's Exchange, reported to the handler when this goes (at the
// end of the request's turn in the session loop, however it ends).
// Declared after the Request it reports, so it goes first.
class ExchangeReport {
 public:
  ExchangeReport(Handler* h, std::atomic<uint64_t>* in_flight, const std::string* ip, int listener)
      : handler_(h), in_flight_(in_flight) {
    ex.remote_ip = ip;
    ex.listener = listener;
  }
  // The request's first bytes are here.
  void Begin() {
    ex.start = std::chrono::steady_clock::now();
    ex.wall_start = std::chrono::system_clock::now();
    in_flight_->fetch_add(1, std::memory_order_relaxed);
    begun_ = true;
  }
  // Reports now (once): the response is written, or the request ended.
  void Finish() {
    if (!begun_) return;
    begun_ = false;
    if (ex.end == std::chrono::steady_clock::time_point{})
      ex.end = std::chrono::steady_clock::now();
    in_flight_->fetch_sub(1, std::memory_order_relaxed);
    handler_->Completed(ex);
  }
  ~ExchangeReport() { Finish(); }
  ExchangeReport(const ExchangeReport&) = delete;
  ExchangeReport& operator=(const ExchangeReport&) = delete;
  Exchange ex;

 private:
  Handler* handler_;
  std::atomic<uint64_t>* in_flight_;
  bool begun_ = false;
};


// A connection's byte stream: the socket itself, or TLS with OpenSSL
// reading and writing records straight on the socket's descriptor (no copy
// through a memory BIO, one write() per record, as nginx does). Every call
// is non-blocking: a Try* that cannot go on now returns -1 with errno
// EAGAIN, and Wait() then waits for what it needs (a TLS read may need to
// write, and a write to read). Lives on its connection's thread.
class Conn {
 public:
  explicit Conn(tcp::socket s) : sock(std::move(s)) {}
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  tcp::socket sock;

  bool tls() const { return ssl_ != nullptr; }

  // The server's side of a TLS handshake on the socket, driven to its end
  // (or failure) without blocking. False: the client failed it, went away,
  // or was cut by the watchdog.
  awaitable<bool> Handshake(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    if (!ssl_ || SSL_set_fd(ssl_, sock.native_handle()) != 1) co_return false;
    SSL_set_accept_state(ssl_);
    while (true) {
      ERR_clear_error();
      int r = SSL_do_handshake(ssl_);
      if (r == 1) co_return true;
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        failed_ = true;
        ERR_clear_error();
        co_return false;
      }
      want_write_ = err == SSL_ERROR_WANT_WRITE;
      boost::system::error_code ec;
      co_await Wait(ec);
      if (ec) co_return false;
    }
  }

  // Up to n bytes read: >0, 0 at the end of the stream, or -1 with errno
  // (EAGAIN: call Wait first).
  ssize_t TryRead(char* p, size_t n) {
    if (!ssl_) {
      ssize_t r = ::read(sock.native_handle(), p, n);
      if (r < 0) want_write_ = false;
      return r;
    }
    ERR_clear_error();
    int r = SSL_read(ssl_, p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
    if (r > 0) return r;
    return TlsFailure(r);
  }
  // Up to n bytes written (MSG_MORE when `more` on a plain socket): >0, or
  // -1 with errno (EAGAIN: call Wait first, then retry with the same bytes).
  ssize_t TrySend(const char* p, size_t n, bool more) {
    if (!ssl_) {
      ssize_t r = ::send(sock.native_handle(), p, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
      if (r < 0) want_write_ = true;
      return r;
    }
    ERR_clear_error();
    int r = SSL_write(ssl_, p, static_cast<int>(std::min<size_t>(n, INT_MAX)));
    if (r > 0) return r;
    ssize_t f = TlsFailure(r);
    if (f == 0) errno = EPIPE;
    return -1;
  }
  // Waits until the socket is ready for what the last Try* needed.
  awaitable<void> Wait(boost::system::error_code& ec) {
    co_await sock.async_wait(want_write_ ? tcp::socket::wait_write : tcp::socket::wait_read,
                             asio::redirect_error(use_awaitable, ec));
  }
  // Reads at least one byte into b, waiting as needed; ec says why not
  // (eof at the end of the stream).
  awaitable<size_t> ReadSome(asio::mutable_buffer b, boost::system::error_code& ec) {
    if (!ssl_)
      co_return co_await sock.async_read_some(b, asio::redirect_error(use_awaitable, ec));
    while (true) {
      ssize_t n = TryRead(static_cast<char*>(b.data()), b.size());
      if (n > 0) co_return static_cast<size_t>(n);
      if (n == 0) {
        ec = asio::error::eof;
        co_return 0;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        ec = asio::error::connection_reset;
        co_return 0;
      }
      co_await Wait(ec);
      if (ec) co_return 0;
    }
  }
  // Before the socket stops sending: TLS says it ends (close_notify), once,
  // unless the session failed. Never waits.
  void CloseNotify() {
    if (!ssl_ || failed_) return;
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }

 private:
  // The result of a failed SSL_read or SSL_write, as TryRead returns it.
  ssize_t TlsFailure(int r) {
    int err = SSL_get_error(ssl_, r);
    switch (err) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        want_write_ = err == SSL_ERROR_WANT_WRITE;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      case SSL_ERROR_SYSCALL:
        if (errno == EINTR) return -1;
        [[fallthrough]];
      default:
        failed_ = true;  // no close_notify after a fatal error
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
  }

  SSL* ssl_ = nullptr;
  bool want_write_ = false;
  bool failed_ = false;
};

}  // namespace

struct Server::Impl {
  // One event loop per I/O thread, each with its own SO_REUSEPORT acceptor:
  // the kernel spreads connections over the loops and a connection lives on
  // one thread, so nothing is handed between threads or locked per request.
  struct Loop {
    Deadlines deadlines;  // first: outlives the sessions destroyed with ioc
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    // One more per ServerOptions::extra_ports entry, in that order.
    std::vector<std::unique_ptr<tcp::acceptor>> extra;
  };
  ServerOptions opt;
  Handler* handler;
  // Before the loops: their sessions give memory back as they are destroyed.
  MemoryBudget body_memory;
  std::atomic<uint64_t> sessions{0};  // open connections, all loops
  std::atomic<uint64_t> sessions_total{0};  // accepted, all loops
  std::atomic<uint64_t> in_flight{0};       // requests begun and not yet reported
  // Whether accepting is paused for want of descriptors (logged once).
  std::atomic<bool> accept_starved{false};
  // Drain(): no new connections, no further requests on a connection.
  std::atomic<bool> draining{false};
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<uint16_t> bound;  // by listener, once Listen() succeeded
  // Runs the Handle() calls marked BodyPlan::on_pool. Declared after the
  // loops, so it is joined first: a call in flight still posts its result
  // to its (stopped) loop, whose destruction then frees the session.
  std::unique_ptr<asio::thread_pool> pool;

  Impl(ServerOptions o, Handler* h)
      : opt(std::move(o)), handler(h), body_memory(opt.body_memory_limit) {
    int n = opt.worker_threads > 0 ? opt.worker_threads
                                   : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
    pool = std::make_unique<asio::thread_pool>(static_cast<size_t>(n));
  }
  ~Impl() {
    pool->join();
    pool.reset();
  }

  // handler->Handle(req) on the pool; the calling coroutine waits without
  // holding its thread and resumes on its own executor. `req` lives in the
  // coroutine's frame, which the pending completion keeps alive.
  awaitable<Response> HandleOnPool(Request& req) {
    auto ex = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<decltype(use_awaitable), void(Response)>(
        [this, &req, ex](auto done) {
          asio::post(*pool, [this, &req, ex, done = std::move(done)]() mutable {
            Response r;
            try {
              r = handler->Handle(req);
            } catch (const std::exception&) {
              // A pool thread must not die with the exception: answer 500.
              r = Response();
              r.status = 500;
              r.close = true;
            }
            asio::post(ex, [done = std::move(done), r = std::move(r)]() mutable {
              done(std::move(r));
            });
          });
        },
        use_awaitable);
  }

  void StopLoops() {
    for (auto& loop : loops) {
      Loop* l = loop.get();
      asio::post(l->ioc, [l] {
        boost::system::error_code ec;
        l->acceptor.close(ec);
        for (auto& a : l->extra) a->close(ec);
        l->ioc.stop();
      });
    }
  }

  // Deadlines: a header must arrive within header_timeout_s, and a body
  // keep body_min_rate over each window; io_timeout_s bounds both, so one
  // short stall timeout (tests) shortens every deadline.
  int HeaderSeconds() const {
    return std::max(1, std::min(opt.header_timeout_s, opt.io_timeout_s));
  }
  int RateWindowSeconds() const {
    return std::max(1, std::min(opt.body_rate_window_s, opt.io_timeout_s));
  }

  // Once a second, cancels the I/O of this loop's connections whose
  // watchdog ran out. Runs on the loop's thread, as do its sessions. The
  // first loop's sweep also hands memory back to the system after a burst
  // of bodies or connections (the allocator keeps freed pages otherwise).
  awaitable<void> Sweep(Loop& loop) {
    asio::steady_timer timer(loop.ioc);
    bool trims = &loop == loops.front().get();
    BurstEnd bodies_end(16 << 20), sessions_end(256);
    while (true) {
      timer.expires_after(std::chrono::seconds(1));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      Watchdog::Sweep(loop.deadlines, Watchdog::Clock::now());
      if (trims) {
        bool a = bodies_end.Sample(body_memory.used());
        bool b = sessions_end.Sample(sessions.load(std::memory_order_relaxed));
        if (a || b) ::malloc_trim(0);
      }
    }
  }

  // At the descriptor limit (EMFILE, ENFILE) or out of kernel memory, an
  // accept fails at once while the connection stays queued; retrying at
  // once would spin. Pause this loop's accepts instead (doubling from 10 ms
  // to 1 s), say so once, and go on when descriptors are free again
  // (queued clients wait in the backlog meanwhile).
  // `listener` numbers the acceptor (Request::listener).
  awaitable<void> Accept(Loop& loop, tcp::acceptor& acceptor, int listener) {
    t_deadlines = &loop.deadlines;  // this thread's sessions register here
    asio::steady_timer pause(loop.ioc);
    auto backoff = std::chrono::milliseconds(0);
    while (true) {
      boost::system::error_code ec;
      tcp::socket sock =
          co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        if (ec == asio::error::no_descriptors || ec.value() == ENFILE ||
            ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
          if (!accept_starved.exchange(true))
            LOG_WARN("accept: %s; pausing accepts until connections close\n", ec.message().c_str());
          backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10),
                               std::chrono::milliseconds(1000));
          pause.expires_after(backoff);
          co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
          if (ec) co_return;
        }
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      if (accept_starved.load(std::memory_order_relaxed) && accept_starved.exchange(false))
        LOG_INFO("accepting connections again\n");
      auto ex = sock.get_executor();
      asio::co_spawn(ex, Session(std::move(sock), listener), asio::detached);
    }
  }

  // A write its watchdog cut off (too slow, or stalled) ends in a reset:
  // a graceful close would leave the kernel feeding the unsent queue to the
  // same slow client (holding that memory) long after the server gave up.
  static void AbortIfCut(tcp::socket& sock, const boost::system::error_code& ec) {
    if (ec != asio::error::operation_aborted) return;
    // Set behind asio's back: its destructor undoes a linger set through it.
    ::linger reset{1, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }

  // A response the client takes slowly (see Write): from its first wait
  // on, `rate` requires body_min_rate over windows of io_timeout_s.
  void RequireSendRate(Watchdog* rate) {
    if (rate) rate->RequireRateOnce(uint64_t{opt.body_min_rate} * opt.io_timeout_s, opt.io_timeout_s);
  }

  // Sends all of `data` (with MSG_MORE when more follows), counting what
  // was sent on `rate` (null: not measured; see Write).
  awaitable<bool> SendAll(Conn& c, std::string_view data, bool more, Watchdog* rate = nullptr) {
    while (!data.empty()) {
      ssize_t n = c.TrySend(data.data(), data.size(), more);
      if (n > 0) {
        data.remove_prefix(n);
        if (rate) rate->Received(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        RequireSendRate(rate);
        Watchdog wd(c.sock, opt.io_timeout_s);
        wd.Arm();
        boost::system::error_code ec;
        co_await c.Wait(ec);
        if (ec) {
          AbortIfCut(c.sock, ec);
          co_return false;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      co_return false;
    }
    co_return true;
  }

  // Over TLS a file cannot go by sendfile (no kernel TLS here): it is read
  // into a buffer of up to kTlsFileChunk, behind the response's header (one
  // write for a small response), and each batch written as TLS records.
  awaitable<bool> SendFileTls(Conn& c, const std::string& head, const FileBody& fb,
                              Watchdog* rate) {
    size_t cap = static_cast<size_t>(std::min<uint64_t>(kTlsFileChunk, head.size() + fb.length));
    cap = std::max(cap, head.size());
    std::unique_ptr<char[]> buf(new char[cap]);
    std::memcpy(buf.get(), head.data(), head.size());
    size_t fill = head.size();
    off_t off = static_cast<off_t>(fb.offset);
    uint64_t left = fb.length;
    while (true) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(cap - fill, left));
      while (want > 0) {
        ssize_t n = ::pread(fb.file->fd(), buf.get() + fill, want, off);
        if (n > 0) {
          fill += n;
          off += n;
          left -= n;
          want -= n;
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        co_return false;  // the file shrank underneath us, or failed
      }
      if (!co_await SendAll(c, std::string_view(buf.get(), fill), left > 0, rate)) co_return false;
      if (left == 0) co_return true;
      fill = 0;
    }
  }

  awaitable<bool> SendFile(Conn& c, const FileBody& fb, Watchdog* rate) {
    tcp::socket& sock = c.sock;
    int fd = sock.native_handle();
    off_t off = static_cast<off_t>(fb.offset);
    uint64_t left = fb.length;
    while (left > 0) {
      // At most 2 MiB a call (as nginx's sendfile_max_chunk): one call that
      // fills the whole socket buffer holds the socket's lock while the
      // receiver's acknowledgements wait; a 1 GiB stream over loopback ran
      // about 7% faster in 2 MiB calls than in 1 GiB ones (docs/BENCHMARKS.md).
      size_t want = left > kSendfileChunk ? kSendfileChunk : static_cast<size_t>(left);
      ssize_t n = ::sendfile(fd, fb.file->fd(), &off, want);
      if (n > 0) {
        left -= n;
        rate->Received(static_cast<size_t>(n));
        continue;
      }
      if (n == 0) co_return false;  // file shrank underneath us
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        RequireSendRate(rate);
        Watchdog wd(sock, opt.io_timeout_s);
        wd.Arm();
        boost::system::error_code ec;
        co_await sock.async_wait(tcp::socket::wait_write, asio::redirect_error(use_awaitable, ec));
        if (ec) {
          AbortIfCut(sock, ec);
          co_return false;
        }
        continue;
      }
      if (errno == EINTR) continue;
      co_return false;
    }
    co_return true;
  }

  // Waits until the pipe has data (or EOF), at most io_timeout_s.
  awaitable<bool> WaitReadable(asio::posix::stream_descriptor& sd) {
    auto live = std::make_shared<asio::posix::stream_descriptor*>(&sd);
    asio::steady_timer timer(sd.get_executor());
    timer.expires_after(std::chrono::seconds(opt.io_timeout_s));
    timer.async_wait([live](boost::system::error_code ec) {
      if (!ec && *live) {
        boost::system::error_code ignored;
        (*live)->cancel(ignored);
      }
    });
    boost::system::error_code ec;
    co_await sd.async_wait(asio::posix::descriptor_base::wait_read,
                           asio::redirect_error(use_awaitable, ec));
    *live = nullptr;
    timer.cancel();
    co_return !ec;
  }

  // A PipeBody: the status byte first, then the body as it arrives.
  awaitable<bool> WritePipe(Conn& c, Response& r, bool head, bool keep_alive,
                            std::string& headbytes, Watchdog* rate, Exchange* ex) {
    PipeBody pb = std::move(*r.pipe);
    r.pipe.reset();
    int pfd = *pb.fd;
    asio::posix::stream_descriptor sd(c.sock.get_executor(), ::dup(pfd));
    char code = 0;
    while (true) {
      ssize_t n = ::read(pfd, &code, 1);
      if (n == 1) break;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        if (co_await WaitReadable(sd)) continue;
      }
      code = 0;  // EOF, an error or a stall: the producer failed
      break;
    }
    if (code != 'K') {
      Response f;
      if (pb.on_fail) pb.on_fail(code, r, &f);
      else f.status = 500;
      if (ex) f.note.FillFrom(ex->note);
      co_return co_await Write(c, f, head, keep_alive, headbytes, ex);
    }
    SerializeHead(r, pb.length, keep_alive, &headbytes);
    if (head) co_return co_await SendAll(c, headbytes, false, rate);
    if (!co_await SendAll(c, headbytes, pb.length > 0, rate)) co_return false;
    std::vector<char> buf(256 * 1024);
    uint64_t left = pb.length;
    while (left > 0) {
      ssize_t n = ::read(pfd, buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), left)));
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        if (!co_await SendAll(c, std::string_view(buf.data(), n), left > 0, rate))
          co_return false;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        rate->PauseRate();  // the producer is slow, not the client
        bool readable = co_await WaitReadable(sd);
        rate->ResumeRate();
        if (readable) continue;
      }
      co_return false;  // the producer failed mid-body (or stalled): close
    }
    co_return true;
  }

  // Sends r; `headbytes` is the connection's buffer for the header. A
  // response that does not fit the socket at once must then be taken at
  // body_min_rate, averaged over windows of io_timeout_s (the stall a write
  // was always allowed): a client that reads a little now and then does not
  // keep the connection, nor what the response holds.
  // `ex` (may be null) learns what was sent.
  awaitable<bool> Write(Conn& c, Response& r, bool head, bool keep_alive,
                        std::string& headbytes, Exchange* ex = nullptr) {
    Watchdog rate(c.sock, opt.io_timeout_s);
    struct Tally {
      Watchdog& rate;
      Exchange* ex;
      ~Tally() {
        if (!ex) return;
        ex->bytes_out += rate.counted();
        ex->end = std::chrono::steady_clock::now();  // not the lingering close after it
      }
    } tally{rate, ex};
    if (ex) {
      ex->status = r.status;
      ex->note = std::move(r.note);
    }
    if (r.pipe) co_return co_await WritePipe(c, r, head, keep_alive, headbytes, &rate, ex);
    uint64_t len = r.file ? r.file->length : r.body.size();
    if (r.head_length) len = *r.head_length;
    SerializeHead(r, len, keep_alive, &headbytes);
    if (head || r.status == 304 || r.status == 204)
      co_return co_await SendAll(c, headbytes, false, &rate);
    if (r.file) {
      if (c.tls()) co_return co_await SendFileTls(c, headbytes, *r.file, &rate);
      if (!co_await SendAll(c, headbytes, r.file->length > 0, &rate)) co_return false;
      co_return co_await SendFile(c, *r.file, &rate);
    }
    if (r.body.size() < 16384) {
      headbytes += r.body;
      co_return co_await SendAll(c, headbytes, false, &rate);
    }
    if (!co_await SendAll(c, headbytes, true, &rate)) co_return false;
    co_return co_await SendAll(c, r.body, false, &rate);
  }

  // Ends a connection whose last response said "Connection: close". Closing
  // a socket with unread input makes the kernel send a reset, which can
  // destroy the response before the client reads it; so stop sending, then
  // read and drop whatever the client still sends until it closes (bounded
  // in time and bytes), and only then close.
  // (Over TLS: close_notify first; what follows is read as raw bytes.)
  awaitable<void> LingeringClose(Conn& c) {
    tcp::socket& sock = c.sock;
    c.CloseNotify();
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    Watchdog wd(sock, std::min(kLingerSeconds, std::max(opt.io_timeout_s, 1)));
    wd.Arm();
    std::vector<char> buf(16 * 1024);  // small: many connections may linger at once
    uint64_t total = 0;
    while (total < kLingerBytes) {
      size_t n = co_await sock.async_read_some(asio::buffer(buf),
                                               asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      total += n;
    }
    sock.close(ec);
  }

  // Sends a final response and ends the connection. (Keep the awaits as
  // separate statements with an explicit co_return: GCC 12 miscompiled
  // `if (co_await Write(...)) co_await LingeringClose(sock);` as the last
  // statement of a coroutine, which died with SIGILL.)
  // `report` (may be null) is finished before the lingering close.
  awaitable<void> RespondAndClose(Conn& c, Response& r, bool head,
                                  ExchangeReport* report = nullptr) {
    std::string headbytes;
    bool sent = co_await Write(c, r, head, false, headbytes, report ? &report->ex : nullptr);
    if (report) {
      report->ex.complete = sent;
      report->Finish();
    }
    if (sent) co_await LingeringClose(c);
    co_return;
  }

  // Memory an in-memory body took from the budget; given back with it.
  struct MemoryCharge {
    explicit MemoryCharge(MemoryBudget* b) : budget(b) {}
    ~MemoryCharge() { budget->Give(bytes); }
    MemoryCharge(const MemoryCharge&) = delete;
    MemoryCharge& operator=(const MemoryCharge&) = delete;
    MemoryBudget* budget;
    uint64_t bytes = 0;
  };

  // Calls try_take until it succeeds, waiting in between without reading
  // the socket (back-pressure) while other bodies hold the budget. The
  // wait is not counted against the client's rate. False after
  // io_timeout_s without success.
  awaitable<bool> WaitForMemory(std::function<bool()> try_take, Watchdog& wd) {
    if (try_take()) co_return true;
    wd.PauseRate();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opt.io_timeout_s);
    auto step = std::chrono::milliseconds(5);
    bool ok = false;
    while (!(ok = try_take()) && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(step);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      step = std::min(step * 2, std::chrono::milliseconds(100));
    }
    wd.ResumeRate();
    co_return ok;
  }

  // Makes room in req.body for n more bytes, taking the growth from the
  // budget first (and waiting for it, see WaitForMemory): the body grows
  // geometrically as bytes arrive, never past `limit` (a body over it is
  // refused by its consumer). False when no memory came in time.
  awaitable<bool> GrowMemoryBody(Request& req, size_t n, uint64_t limit, MemoryCharge& charge,
                                 Watchdog& wd) {
    uint64_t need = req.body.size() + n;
    if (need <= req.body.capacity() || need > limit) co_return true;
    uint64_t grown = std::min<uint64_t>(std::max<uint64_t>(need, 2 * charge.bytes), limit);
    uint64_t extra = grown - charge.bytes;
    if (!co_await WaitForMemory([&] { return body_memory.TryTake(extra); }, wd)) co_return false;
    charge.bytes = grown;
    req.body.reserve(static_cast<size_t>(grown));
    co_return true;
  }

  // A TLS listener's connection, before its first request: the handshake,
  // within header_timeout_s of the accept (a client that connects and sends
  // nothing, or stalls mid-handshake, is closed then; the handshake never
  // waits on an I/O thread). A client that speaks plain HTTP to the port
  // gets a 400 in plain HTTP and the connection is closed, as nginx answers
  // ("The plain HTTP request was sent to HTTPS port"). False: closed.
  awaitable<bool> StartTls(Conn& c) {
    Watchdog wd(c.sock, HeaderSeconds());
    wd.Arm();
    unsigned char first = 0;
    while (true) {
      boost::system::error_code ec;
      co_await c.sock.async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
      ssize_t n = ::recv(c.sock.native_handle(), &first, 1, MSG_PEEK);
      if (n == 1) break;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      co_return false;
    }
    FirstByte kind = ClassifyFirstByte(first);
    if (kind == FirstByte::kPlainHttp) {
      wd.Disarm();
      Response r = handler->Fail(
          Failure::kBadRequest, nullptr,
          Status(ErrorKind::kInvalidArgument, "a plain HTTP request was sent to the HTTPS port"));
      co_await RespondAndClose(c, r, false);
      co_return false;
    }
    if (kind != FirstByte::kTls) co_return false;
    bool ok = co_await c.Handshake(opt.tls->native());
    co_return ok;
  }

  bool IsTlsListener(int listener) const {
    return std::find(opt.tls_listeners.begin(), opt.tls_listeners.end(), listener) !=
           opt.tls_listeners.end();
  }

  awaitable<void> Session(tcp::socket accepted, int listener) {
    Conn c(std::move(accepted));
    tcp::socket& sock = c.sock;
    boost::system::error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    sock.native_non_blocking(true, ec);
    std::string ip;
    {
      auto ep = sock.remote_endpoint(ec);
      if (!ec) ip = ep.address().to_string();
    }
    sessions.fetch_add(1, std::memory_order_relaxed);
    sessions_total.fetch_add(1, std::memory_order_relaxed);
    struct Counted {
      std::atomic<uint64_t>* n;
      ~Counted() { n->fetch_sub(1, std::memory_order_relaxed); }
    } counted{&sessions};
    if (IsTlsListener(listener) && !co_await StartTls(c)) co_return;
    beast::flat_buffer buffer(kReadBufferLimit);
    std::string out_head;  // each response's status line and header
    Watchdog wd(sock, opt.idle_timeout_s);
    while (true) {
      Request req;
      MemoryCharge body_charge(&body_memory);  // req.body's share of the budget
      RequestParser parser(&req);
      ExchangeReport report(handler, &in_flight, &ip, listener);
      Exchange* ex = &report.ex;
      parser.header_limit(opt.header_limit);
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      // Waiting for a request may take idle_timeout_s; once its first
      // bytes are here, the whole header must arrive within io_timeout_s.
      // (A read, not a wait: asio re-registers the socket with epoll for
      // every wait, but not for a read that finds nothing yet.)
      if (buffer.size() == 0) {
        if (draining.load()) co_return;  // no next request while draining
        wd.Arm();
        wd.SetIdle(true);
        size_t n;
        if (c.tls())
          n = co_await c.ReadSome(buffer.prepare(kReadBufferLimit / 4), ec);
        else
          n = co_await sock.async_read_some(buffer.prepare(kReadBufferLimit / 4),
                                            asio::redirect_error(use_awaitable, ec));
        wd.SetIdle(false);
        if (ec) co_return;
        buffer.commit(n);
      }
      report.Begin();
      // The header is parsed in place from the read buffer; the usual one
      // arrives in one read, so no second read and no timer then.
      bool io_armed = false;
      while (true) {
        size_t used = parser.put(asio::const_buffer(buffer.data().data(), buffer.size()), ec);
        buffer.consume(used);
        ex->bytes_in += used;
        if (ec != bhttp::error::need_more) break;
        ec = {};
        if (!io_armed) {
          wd.Arm(HeaderSeconds());
          io_armed = true;
        }
        size_t room = buffer.max_size() - buffer.size();
        if (room == 0) {
          ec = bhttp::error::header_limit;
          break;
        }
        size_t n = co_await c.ReadSome(buffer.prepare(std::min(room, kReadBufferLimit / 4)), ec);
        if (ec == asio::error::eof) {
          ec = bhttp::error::partial_message;  // the header was cut short
          break;
        }
        if (ec) break;
        buffer.commit(n);
      }
      wd.Disarm();
      if (ec) {
        if (ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
          co_return;
        Failure kind = ec == bhttp::error::header_limit ? Failure::kHeaderTooLarge
                                                        : Failure::kBadRequest;
        Response r = handler->Fail(kind, nullptr, Status(ErrorKind::kInvalidArgument, ec.message()));
        co_await RespondAndClose(c, r, false, &report);
        co_return;
      }
      ex->request = &req;
      req.remote_ip = ip;
      req.listener = listener;
      req.https = c.tls();
      // A Transfer-Encoding the server cannot frame would leave the body to
      // be read as the next request (smuggling); an HTTP/1.1 request names
      // its host exactly once (RFC 9112, 3.2). Refused, and closed.
      std::optional<Failure> refusal;
      const char* why = "";
      if (!TransferEncodingSupported(req)) {
        refusal = Failure::kNotImplemented;
        why = "unsupported Transfer-Encoding";
      } else if (size_t hosts = CountHeader(req, "host");
                 hosts > 1 || (hosts == 0 && parser.version() >= 11)) {
        refusal = Failure::kBadRequest;
        why = "an HTTP/1.1 request needs exactly one Host header";
      }
      if (refusal) {
        Response r = handler->Fail(*refusal, &req, Status(ErrorKind::kInvalidArgument, why));
        co_await RespondAndClose(c, r, req.method == "HEAD", &report);
        co_return;
      }
      bool keep_alive = parser.keep_alive();
      bool head = req.method == "HEAD";
      BodyPlan plan;
      std::optional<Response> early = handler->Prepare(req, &plan);
      bool has_body = !parser.is_done();
      const std::string* expect = has_body ? req.FindHeader("expect") : nullptr;
      bool expects_continue = has_body && expect && IEquals(*expect, "100-continue");
      std::optional<uint64_t> declared;
      if (auto cl = parser.content_length()) declared = *cl;
      if (early && has_body) {
        if (expects_continue || (declared && *declared > kDrainLimit)) {
          // The client waits for a verdict before sending, or the body is
          // too large to drain: answer now and close.
          co_await RespondAndClose(c, *early, head, &report);
          co_return;
        }
        // Drain a modest body so the client reads the answer; else close.
        plan = BodyPlan{};
        plan.kind = BodyPlan::kDiscard;
        plan.max_size = kDrainLimit;
      } else if (has_body) {
        if (declared && *declared > plan.max_size) {
          // Refuse an oversized body before reading any of it.
          Response r = handler->Fail(Failure::kBodyTooLarge, &req, Status::Ok());
          co_await RespondAndClose(c, r, head, &report);
          co_return;
        }
        if (expects_continue) {
          if (!co_await SendAll(c, "HTTP/1.1 100 Continue\r\n\r\n", false)) co_return;
          ex->bytes_out += 25;
        }
      }
      std::optional<Failure> failure;
      Status failure_detail;
      if (has_body) {
        int fd = -1;
        std::unique_ptr<PipelinedDigest> digest;
        if (plan.md5 || plan.crc64) digest = std::make_unique<PipelinedDigest>(plan.md5, plan.crc64);
        // A reserved target takes a body of exactly its size; any other
        // body (chunked, or not that size) is spooled as usual.
        uint64_t file_off = 0;
        if (req.body_target && (plan.kind != BodyPlan::kFile || parser.chunked() ||
                                parser.content_length() != req.body_target->size()))
          req.body_target.reset();
        if (req.body_target) {
          fd = req.body_target->fd();
          file_off = req.body_target->offset();
        } else if (plan.kind == BodyPlan::kFile) {
          static std::atomic<uint64_t> seq{0};
          static const std::string pid = std::to_string(::getpid());
          req.body_file = plan.spool_dir + "/body." + pid + "." + std::to_string(seq++);
          fd = ::open(req.body_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
          if (fd < 0) {
            failure = Failure::kBodyIo;
            failure_detail = ErrnoStatus(errno, "spool body");
            req.body_file.clear();
          }
        }
        // Two buffers: one fills while the other hashes. They grow, up to
        // the body's size (at most kBodyChunk each), only as bytes arrive,
        // and within the budget all bodies share (see BodyBuffers).
        size_t cap = kBodyChunk;
        if (!parser.chunked() && parser.content_length())
          cap = static_cast<size_t>(
              std::clamp<uint64_t>(*parser.content_length(), kReadBufferLimit, kBodyChunk));
        BodyBuffers bufs(&body_memory, cap);
        uint64_t total = 0;
        // Takes n body bytes: hash, then keep in memory or write to the spool.
        // False when the body is over the plan's limit.
        auto consume = [&](const char* p, size_t n) {
          total += n;
          if (total > plan.max_size) {
            failure = Failure::kBodyTooLarge;
            return false;
          }
          if (digest) digest->Feed(p, n);
          if (plan.kind == BodyPlan::kMemory) {
            req.body.append(p, n);
          } else if (fd >= 0 && !failure) {
            while (n > 0) {
              ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(file_off));
              if (w < 0) {
                if (errno == EINTR) continue;
                failure = Failure::kBodyIo;
                failure_detail = ErrnoStatus(errno, "spool body");
                break;
              }
              p += w;
              n -= w;
              file_off += static_cast<uint64_t>(w);
            }
          }
          return true;
        };
        // Hands on the n bytes of a filled buffer (consume), then picks
        // the buffer to fill next. False when the body is over its limit.
        // (An in-memory body must have room for them first: GrowMemoryBody.)
        auto hand_on = [&](int* cur, size_t n) {
          if (!consume(bufs.data(*cur), n)) return false;
          int next = bufs.Next(*cur, n == bufs.size(*cur));
          if (next == *cur && digest) digest->Wait();  // refilled at once
          *cur = next;
          return true;
        };
        bool in_memory = plan.kind == BodyPlan::kMemory;
        Watchdog body_wd(sock, opt.io_timeout_s);
        body_wd.RequireRate(uint64_t{opt.body_min_rate} * RateWindowSeconds(), RateWindowSeconds());
        size_t first = static_cast<size_t>(std::max<uint64_t>(buffer.size(), 1));
        if (!co_await WaitForMemory([&] { return bufs.Init(first); }, body_wd)) {
          failure = Failure::kBusy;
        } else if (!parser.chunked() && parser.content_length()) {
          // A sized body bypasses the parser: the bytes already buffered,
          // then large reads straight from the socket into one buffer,
          // each taking all that has arrived; a full buffer is spooled and
          // handed to the hasher while the other fills.
          uint64_t left = *parser.content_length();
          int cur = 0;
          size_t fill = 0;
          while (true) {
            size_t size = bufs.size(cur);
            if (fill == size || (left == 0 && fill > 0)) {
              if (in_memory &&
                  !co_await GrowMemoryBody(req, fill, plan.max_size, body_charge, body_wd)) {
                failure = Failure::kBusy;
                break;
              }
              if (!hand_on(&cur, fill)) break;
              fill = 0;
              continue;
            }
            if (left == 0) break;
            size_t want = static_cast<size_t>(std::min<uint64_t>(size - fill, left));
            char* at = bufs.data(cur) + fill;
            size_t got = 0;
            if (buffer.size() > 0) {
              got = std::min(want, buffer.size());
              std::memcpy(at, buffer.data().data(), got);
              buffer.consume(got);
            } else if (ssize_t n = c.TryRead(at, want); n > 0) {
              got = static_cast<size_t>(n);
            } else if (n == 0) {
              ec = bhttp::error::partial_message;
              break;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
              // Wait by reading (see the header read above).
              if (c.tls())
                got = co_await c.ReadSome(asio::buffer(at, want), ec);
              else
                got = co_await sock.async_read_some(asio::buffer(at, want),
                                                    asio::redirect_error(use_awaitable, ec));
              if (ec) break;
            } else if (errno != EINTR) {
              ec = asio::error::connection_reset;
              break;
            }
            body_wd.Received(got);
            ex->bytes_in += got;
            fill += got;
            left -= got;
          }
        } else {
          int cur = 0;
          // Chunked: the parser copies each chunk's data into one buffer;
          // a full buffer is handed on while the other fills.
          while (!parser.is_done()) {
            size_t size = bufs.size(cur);
            parser.SetBodyRegion(bufs.data(cur), size);
            while (!parser.is_done() && parser.BodyRegionLeft() > 0) {
              if (buffer.size() > 0) {
                size_t used =
                    parser.put(asio::const_buffer(buffer.data().data(), buffer.size()), ec);
                buffer.consume(used);
                ex->bytes_in += used;
                if (ec == bhttp::error::need_buffer) {
                  ec = {};
                  break;  // this buffer is full
                }
                if (ec == bhttp::error::need_more) ec = {};
                else if (ec) break;
                else if (used > 0) continue;
              }
              size_t room = buffer.max_size() - buffer.size();
              if (room == 0) {
                ec = bhttp::error::bad_chunk;  // a chunk header that never ends
                break;
              }
              size_t n = co_await c.ReadSome(buffer.prepare(std::min(room, kReadBufferLimit / 4)), ec);
              if (ec == asio::error::eof) ec = bhttp::error::partial_message;
              if (ec) break;
              buffer.commit(n);
              body_wd.Received(n);
            }
            if (ec) break;
            size_t n = size - parser.BodyRegionLeft();
            if (n && in_memory &&
                !co_await GrowMemoryBody(req, n, plan.max_size, body_charge, body_wd)) {
              failure = Failure::kBusy;
              break;
            }
            if (n && !hand_on(&cur, n)) break;
          }
        }
        body_wd.Disarm();
        if (fd >= 0 && !req.body_target) ::close(fd);
        req.body_size = total;
        if (digest) digest->Finish(&req);
        if (ec) {
          // Stalled, too slow, reset or malformed mid-body: nothing is left behind.
          if (!req.body_file.empty()) ::unlink(req.body_file.c_str());
          if (ec == bhttp::error::partial_message || ec == asio::error::eof ||
              ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
            co_return;
          Response r = handler->Fail(Failure::kBadRequest, &req, Status(ErrorKind::kInvalidArgument, ec.message()));
          co_await RespondAndClose(c, r, head, &report);
          co_return;
        }
      }
      Response resp;
      if (early) {
        resp = std::move(*early);
        if (failure) keep_alive = false;
      } else if (failure) {
        resp = handler->Fail(*failure, &req, failure_detail);
        keep_alive = false;
      } else if (plan.on_pool) {
        resp = co_await HandleOnPool(req);
      } else {
        resp = handler->Handle(req);
      }
      req.body_target.reset();
      if (!req.body_file.empty()) ::unlink(req.body_file.c_str());
      if (resp.close || draining.load()) keep_alive = false;
      bool ok = co_await Write(c, resp, head, keep_alive, out_head, ex);
      ex->complete = ok;
      if (!ok) co_return;
      if (!keep_alive) {
        report.Finish();  // not after the lingering close
        co_await LingeringClose(c);
        co_return;
      }
    }
  }
};

Server::Server(ServerOptions options, Handler* handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() = default;

Result<uint16_t> Server::Listen() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(impl_->opt.host, ec);
  if (ec) return Status(ErrorKind::kInvalidArgument, "bad --host: " + impl_->opt.host);
  if (!impl_->opt.tls_listeners.empty() && !impl_->opt.tls)
    return Status(ErrorKind::kInvalidArgument, "TLS listeners without a certificate");
  int n = impl_->opt.threads > 0 ? impl_->opt.threads
                                 : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  std::vector<uint16_t> ports = {impl_->opt.port};
  ports.insert(ports.end(), impl_->opt.extra_ports.begin(), impl_->opt.extra_ports.end());
  auto failed = [&](uint16_t p) {
    impl_->loops.clear();
    return Status(ErrorKind::kIo,
                  "listen on " + impl_->opt.host + ":" + std::to_string(p) + ": " + ec.message());
  };
  for (uint16_t port : ports) {
    if (port == 0) continue;
    // SO_REUSEPORT (below) would let a second strata, or any process of the
    // same user that also sets it, share the port and silently take half of
    // the connections. A plain bind first fails while anyone listens there.
    asio::io_context probe_ctx;
    tcp::acceptor probe(probe_ctx);
    tcp::endpoint ep(addr, port);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec) return failed(port);
  }
  for (int i = 0; i < n; ++i) {
    auto loop = std::make_unique<Impl::Loop>();
    for (size_t l = 0; l < ports.size(); ++l) {
      if (l > 0) loop->extra.push_back(std::make_unique<tcp::acceptor>(loop->ioc));
      tcp::acceptor& a = l == 0 ? loop->acceptor : *loop->extra.back();
      tcp::endpoint ep(addr, ports[l]);
      a.open(ep.protocol(), ec);
      if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) {
        int one = 1;
        if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
          ec = boost::system::error_code(errno, boost::system::system_category());
      }
      if (!ec) a.bind(ep, ec);
      if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return failed(l == 0 ? impl_->opt.port : impl_->opt.extra_ports[l - 1]);
      ports[l] = a.local_endpoint().port();  // later loops share the port the first one got
    }
    impl_->loops.push_back(std::move(loop));
  }
  impl_->bound = ports;
  return ports.front();
}

ServerStats Server::Stats() const {
  ServerStats s;
  s.connections = impl_->sessions.load(std::memory_order_relaxed);
  s.connections_total = impl_->sessions_total.load(std::memory_order_relaxed);
  s.requests_in_flight = impl_->in_flight.load(std::memory_order_relaxed);
  return s;
}

uint16_t Server::BoundPort(int listener) const {
  return static_cast<size_t>(listener) < impl_->bound.size() ? impl_->bound[listener] : 0;
}

void Server::Run() {
  for (auto& loop : impl_->loops) {
    asio::co_spawn(loop->ioc, impl_->Accept(*loop, loop->acceptor, 0), asio::detached);
    for (size_t l = 0; l < loop->extra.size(); ++l)
      asio::co_spawn(loop->ioc, impl_->Accept(*loop, *loop->extra[l], static_cast<int>(l + 1)),
                     asio::detached);
    asio::co_spawn(loop->ioc, impl_->Sweep(*loop), asio::detached);
  }
  // SIGINT and SIGTERM stop the server from inside an event loop (a plain
  // signal handler may not touch the loops safely).
  std::optional<asio::signal_set> signals;
  if (impl_->opt.stop_on_signals) {
    signals.emplace(impl_->loops.front()->ioc, SIGINT, SIGTERM);
    signals->async_wait([this](boost::system::error_code ec, int) {
      if (!ec) Stop();
    });
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->loops.size(); ++i)
    threads.emplace_back([this, i] { impl_->loops[i]->ioc.run(); });
  impl_->loops.front()->ioc.run();
  for (auto& t : threads) t.join();
}

void Server::Stop() { impl_->StopLoops(); }

void Server::Drain(int seconds) {
  if (impl_->draining.exchange(true)) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(0, seconds));
  for (auto& loop : impl_->loops) {
    Impl::Loop* l = loop.get();
    asio::post(l->ioc, [l] {
      boost::system::error_code ec;
      l->acceptor.close(ec);
      for (auto& a : l->extra) a->close(ec);
      Watchdog::CancelIdle(l->deadlines);
    });
  }
  // The first loop watches the connections go, and stops every loop once
  // none is left or the deadline passed.
  Impl* impl = impl_.get();
  asio::co_spawn(
      impl->loops.front()->ioc,
      [impl, deadline]() -> awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (impl->sessions.load() > 0 && std::chrono::steady_clock::now() < deadline) {
          timer.expires_after(std::chrono::milliseconds(20));
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
          if (ec) co_return;
        }
        impl->StopLoops();
      },
      asio::detached);
}

}  // namespace strata::http
