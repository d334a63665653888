"""Raw SharedKey-signed requests sent to chosen gateways at the same instant:
each gateway has one persistent connection, opened before the start, and the
senders leave a barrier together, so the requests reach the gateways within
microseconds of each other."""
import http.client
import threading
import time
import urllib.parse
from email.utils import formatdate

import signing
from strata_server import DEV_ACCOUNT


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def code(self):
        return self.headers.get("x-ms-error-code")

    def __repr__(self):
        return "<%d %s>" % (self.status, self.code or "")


class Racer:
    def __init__(self, servers):
        self.servers = servers  # anything with .port (gateways, the cluster)
        self.conns = {}

    def _conn(self, i):
        c = self.conns.get(i)
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", self.servers[i].port, timeout=30)
            c.connect()
            self.conns[i] = c
        return c

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}

    @staticmethod
    def prepare(method, path, query="", headers=None, body=b""):
        """A signed request; path "/container/blob" (quoted as needed)."""
        h = dict(headers or {})
        h.setdefault("x-ms-version", "2021-12-02")
        h["x-ms-date"] = formatdate(usegmt=True)
        h["Content-Length"] = str(len(body))
        full = "/" + DEV_ACCOUNT + path
        h["Authorization"] = signing.sign(method, full, query, h)
        return (method, full + ("?" + query if query else ""), h, body)

    def send(self, i, req):
        """One request on gateway i's connection (reopened once if the
        gateway closed it meanwhile)."""
        method, url, headers, body = req
        for attempt in (0, 1):
            c = self._conn(i)
            try:
                c.request(method, url, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
                if r.will_close:
                    c.close()
                    self.conns.pop(i, None)
                return resp
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                c.close()
                self.conns.pop(i, None)
                if attempt:
                    raise

    def race(self, pairs):
        """pairs: [(gateway index, prepared request)], gateways distinct.
        Sends all at once; returns the responses in the same order."""
        for i, _ in pairs:
            self._conn(i)
        barrier = threading.Barrier(len(pairs))
        out = [None] * len(pairs)
        errors = []

        def run(k, i, req):
            try:
                barrier.wait(timeout=10)
                out[k] = self.send(i, req)
            except Exception as e:  # reported below, in the test's thread
                errors.append(e)

        threads = [threading.Thread(target=run, args=(k, i, req))
                   for k, (i, req) in enumerate(pairs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        if errors:
            raise errors[0]
        return out


def quote(name):
    return urllib.parse.quote(name, safe="/~")


class Trials:
    """Bounded trial loop: at most `count` trials and `seconds` of time."""

    def __init__(self, count, seconds):
        self.count = count
        self.deadline = time.monotonic() + seconds
        self.done = 0

    def __iter__(self):
        while self.done < self.count and time.monotonic() < self.deadline:
            yield self.done
            self.done += 1
