"""FaultProxy: a threaded HTTP/1.1 reverse proxy on a free loopback port, in
front of a real Azurite, that counts what passes and injects network faults.

Requests are forwarded as they come (bodies streamed, never held whole), one
upstream connection per client connection, so keep-alive and connection
reuse by the client are visible (`connections`).

Public API (kept stable; tier tests build on it):

    FaultProxy(upstream_port, upstream_host="127.0.0.1")
        .start() -> self, .stop()
        .port, .url                 # "http://127.0.0.1:PORT"
        .container_url(url) -> str  # url (from Azurite) rewritten onto the proxy

    Counting (every request that reached the proxy, faults included):
        .requests -> [Record]       # snapshot; Record fields: method, path
                                    # (decoded, no query), query (raw), range
                                    # (Range or x-ms-range header or None),
                                    # status (int, or None when dropped before
                                    # a status went out), bytes_in (request body
                                    # bytes read from the client), bytes_out
                                    # (response body bytes sent to the client),
                                    # fault (None | "status" | "drop" | "stall"
                                    # | "ignore_range" | "ignore_conditions"
                                    # | "corrupt"),
                                    # time (time.monotonic() at arrival),
                                    # headers (dict of request headers, names
                                    # lowercased)
        .count(method=None, query_contains=None, path_contains=None,
               status=None) -> int
        .bytes_in(method=None), .bytes_out(method=None) -> int   sums
        .connections -> int         # client connections accepted so far
        .peak_in_flight -> int      # most requests handled at the same time
        .reset_counts()

    Faults (each applies to the next matching requests, in the order given;
    `method` limits a fault to one HTTP method, `query_contains` to requests
    whose raw query contains that text):
        .fail_next(n, status=503, retry_after=None, method=None,
                   query_contains=None)
            answer `status` (Azure's XML error body, ServerBusy etc.) without
            forwarding; retry_after (str) becomes a Retry-After header.
        .drop_next(n=1, after_bytes=0, method=None, query_contains=None)
            forward, send the response head and `after_bytes` body bytes,
            then cut the connection (a mid-body network failure). With
            after_bytes=-1 the cut comes before the response head: the
            remote did act on the request but the client never hears so.
        .stall_next(n=1, seconds=5.0, method=None, query_contains=None)
            hold the request `seconds` before forwarding it (a timeout).
        .ignore_range_next(n=1, method=None, query_contains=None)
            forward without the Range / x-ms-range headers, as a server that
            ignores ranges would (the answer is then a 200 with every byte).
        .ignore_conditions_next(n=1, method=None, query_contains=None)
            forward without If-Match / If-None-Match / If-Modified-Since /
            If-Unmodified-Since, as a server that ignores conditions would.
        .corrupt_next(n=1, at=0, method=None, query_contains=None)
            forward, but flip the bits of the response body's byte `at` in a
            2xx answer, headers (ETag, Content-MD5) untouched: a remote, or
            a path to it, that hands over other bytes than it stored.
        .clear_faults()
        .go_down()      refuse new connections and cut the open ones
        .come_back()    listen again on the same port
        .is_down -> bool

Loopback only; every wait is bounded.
"""
import http.client
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "expect"}
CHUNK = 256 * 1024
CONDITIONS = {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"}

ERROR_CODES = {
    408: "OperationTimedOut", 429: "ServerBusy", 500: "InternalError",
    502: "ServerBusy", 503: "ServerBusy", 504: "OperationTimedOut",
    403: "AuthenticationFailed", 404: "BlobNotFound",
}


@dataclass
class Record:
    method: str
    path: str
    query: str
    range: Optional[str]
    status: Optional[int] = None
    bytes_in: int = 0
    bytes_out: int = 0
    fault: Optional[str] = None
    time: float = 0.0
    headers: Optional[dict] = None


@dataclass
class _Fault:
    kind: str
    remaining: int
    method: Optional[str]
    query_contains: Optional[str]
    status: int = 503
    retry_after: Optional[str] = None
    after_bytes: int = 0
    seconds: float = 0.0

    def matches(self, method, query):
        if self.method and self.method != method:
            return False
        if self.query_contains and self.query_contains not in query:
            return False
        return True


class _Dropped(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, proxy):
        self.proxy = proxy
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.proxy._lock:
            self.proxy._connections += 1
            self.proxy._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.proxy._lock:
            self.proxy._open.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, *args):
        pass

    def handle_expect_100(self):
        return True  # the 100 is the client's business with the proxy only

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None

    def _dispatch(self):
        proxy = self.server.proxy
        split = urllib.parse.urlsplit(self.path)
        rec = Record(method=self.command, path=urllib.parse.unquote(split.path),
                     query=split.query,
                     range=self.headers.get("x-ms-range") or self.headers.get("Range"),
                     time=time.monotonic(),
                     headers={k.lower(): v for k, v in self.headers.items()})
        proxy._record(rec)
        proxy._enter()
        try:
            self._handle(proxy, rec, split)
        finally:
            proxy._leave()

    def _handle(self, proxy, rec, split):
        fault = proxy._take_fault(self.command, split.query)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            if fault and fault.kind == "status":
                rec.fault = "status"
                self._drain(length, rec)
                self._send_error(fault, rec)
                return
            if fault and fault.kind == "stall":
                rec.fault = "stall"
                deadline = time.time() + fault.seconds
                while time.time() < deadline and not proxy._stopping.is_set():
                    time.sleep(0.02)
            strip_range = fault is not None and fault.kind == "ignore_range"
            if strip_range:
                rec.fault = "ignore_range"
            corrupt = fault if fault and fault.kind == "corrupt" else None
            strip_conditions = fault is not None and fault.kind == "ignore_conditions"
            if strip_conditions:
                rec.fault = "ignore_conditions"
            self._forward(length, rec, fault if fault and fault.kind == "drop" else None,
                          strip_range, corrupt, strip_conditions)
        except _Dropped:
            rec.fault = rec.fault or "drop"
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except (ConnectionError, socket.timeout, OSError, http.client.HTTPException):
            self.close_connection = True
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = do_OPTIONS = _dispatch

    def _drain(self, length, rec):
        left = length
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                raise ConnectionError("client closed")
            rec.bytes_in += len(data)
            left -= len(data)

    def _send_error(self, fault, rec):
        code = ERROR_CODES.get(fault.status, "InternalError")
        body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code>"
                "<Message>injected by FaultProxy</Message></Error>" % code).encode()
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-ms-error-code", code)
        if fault.retry_after is not None:
            self.send_header("Retry-After", fault.retry_after)
        # Recorded before the answer leaves: the client may finish, and a test
        # read the counters, before this thread runs again.
        rec.status = fault.status
        if self.command == "HEAD":
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rec.bytes_out += len(body)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, length, rec, drop, strip_range=False, corrupt=None,
                 strip_conditions=False):
        proxy = self.server.proxy
        if self.upstream is None:
            self.upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port,
                                                       timeout=120)
        up = self.upstream
        up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() in HOP_BY_HOP or name.lower() == "host":
                continue
            if strip_range and name.lower() in ("range", "x-ms-range"):
                continue
            if strip_conditions and name.lower() in CONDITIONS:
                continue
            up.putheader(name, value)
        up.putheader("Host", "%s:%d" % (proxy.upstream_host, proxy.upstream_port))
        up.endheaders()
        left = length
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                raise ConnectionError("client closed mid-body")
            rec.bytes_in += len(data)
            left -= len(data)
            up.send(data)
        resp = up.getresponse()
        rec.status = resp.status
        if drop is not None and drop.after_bytes < 0:
            rec.status = None
            up.close()
            self.upstream = None
            raise _Dropped()
        self.send_response_only(resp.status, resp.reason)
        headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        has_length = any(k.lower() == "content-length" for k, _ in headers)
        body = None
        if self.command != "HEAD" and not has_length:
            body = resp.read()  # chunked upstream: small (XML); re-frame it
            headers.append(("Content-Length", str(len(body))))
        for k, v in headers:
            self.send_header(k, v)
        if resp.will_close:
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            resp.read()
            return
        flip = corrupt.after_bytes if corrupt and 200 <= resp.status < 300 else None
        if flip is not None:
            rec.fault = "corrupt"
        sent = 0

        def flipped(data):
            if flip is None or not sent <= flip < sent + len(data):
                return data
            b = bytearray(data)
            b[flip - sent] ^= 0xFF
            return bytes(b)
        if body is not None:
            self._send_body(flipped(body), rec, drop)
        else:
            while True:
                data = resp.read(CHUNK)
                if not data:
                    break
                self._send_body(flipped(data), rec, drop)
                sent += len(data)
        if resp.will_close:
            up.close()
            self.upstream = None

    def _send_body(self, data, rec, drop):
        if drop is not None:
            room = drop.after_bytes - rec.bytes_out
            if room < len(data):
                # Counted before the write: the client may act on the bytes
                # (and a test read the counters) before this thread runs again.
                if room > 0:
                    rec.bytes_out += room
                    self.wfile.write(data[:room])
                self.wfile.flush()
                self.upstream.close()
                self.upstream = None
                raise _Dropped()
        rec.bytes_out += len(data)
        self.wfile.write(data)


class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = None
        self._lock = threading.Lock()
        self._records = []
        self._faults = []
        self._open = set()
        self._connections = 0
        self._in_flight = 0
        self._peak = 0
        self._server = None
        self._thread = None
        self._stopping = threading.Event()

    # -- lifecycle --
    def start(self):
        self._listen(self.port or 0)
        return self

    def _listen(self, port):
        for _ in range(100):  # the port may linger for a moment after go_down
            try:
                self._server = _Server(("127.0.0.1", port), _Handler, self)
                break
            except OSError:
                if port == 0:
                    raise
                time.sleep(0.05)
        else:
            raise RuntimeError("fault proxy could not listen on %d again" % port)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _close(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            open_socks = list(self._open)
        for s in open_socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._server = None

    def stop(self):
        self._stopping.set()
        self._close()

    def go_down(self):
        """Closes the listener (new connections are refused) and cuts every
        open client connection."""
        self._close()

    def come_back(self):
        if self._server is None:
            self._listen(self.port)

    @property
    def is_down(self):
        return self._server is None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def container_url(self, url):
        split = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit((split.scheme, "127.0.0.1:%d" % self.port, split.path,
                                        split.query, split.fragment))

    # -- counting --
    def _enter(self):
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)

    def _leave(self):
        with self._lock:
            self._in_flight -= 1

    @property
    def peak_in_flight(self):
        with self._lock:
            return self._peak

    def _record(self, rec):
        with self._lock:
            self._records.append(rec)

    @property
    def requests(self):
        with self._lock:
            return list(self._records)

    @property
    def connections(self):
        with self._lock:
            return self._connections

    def reset_counts(self):
        with self._lock:
            self._records = []
            self._connections = 0
            self._peak = self._in_flight

    def _select(self, method=None, query_contains=None, path_contains=None, status=None):
        return [r for r in self.requests
                if (method is None or r.method == method)
                and (query_contains is None or query_contains in r.query)
                and (path_contains is None or path_contains in r.path)
                and (status is None or r.status == status)]

    def count(self, method=None, query_contains=None, path_contains=None, status=None):
        return len(self._select(method, query_contains, path_contains, status))

    def bytes_in(self, method=None):
        return sum(r.bytes_in for r in self._select(method))

    def bytes_out(self, method=None):
        return sum(r.bytes_out for r in self._select(method))

    # -- faults --
    def _add(self, fault):
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method, query):
        with self._lock:
            for f in self._faults:
                if f.remaining > 0 and f.matches(method, query):
                    f.remaining -= 1
                    if f.remaining == 0:
                        self._faults.remove(f)
                    return f
        return None

    def fail_next(self, n, status=503, retry_after=None, method=None, query_contains=None):
        self._add(_Fault("status", n, method, query_contains, status=status,
                         retry_after=None if retry_after is None else str(retry_after)))

    def drop_next(self, n=1, after_bytes=0, method=None, query_contains=None):
        self._add(_Fault("drop", n, method, query_contains, after_bytes=after_bytes))

    def stall_next(self, n=1, seconds=5.0, method=None, query_contains=None):
        self._add(_Fault("stall", n, method, query_contains, seconds=seconds))

    def ignore_range_next(self, n=1, method=None, query_contains=None):
        self._add(_Fault("ignore_range", n, method, query_contains))

    def ignore_conditions_next(self, n=1, method=None, query_contains=None):
        self._add(_Fault("ignore_conditions", n, method, query_contains))

    def corrupt_next(self, n=1, at=0, method=None, query_contains=None):
        self._add(_Fault("corrupt", n, method, query_contains, after_bytes=at))

    def clear_faults(self):
        with self._lock:
            self._faults = []
