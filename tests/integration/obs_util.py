"""Helpers of the observability tests: a server with an admin port, its
Prometheus text parsed, and raw HTTP exchanges whose exact bytes are known."""
import re
import socket
import time
import urllib.request

from strata_server import StrataServer


class ObservedServer(StrataServer):
    """A StrataServer with --admin-port 0 whose admin URL is known."""

    def __init__(self, extra_args=(), **kw):
        super().__init__(extra_args=["--admin-port", "0"] + list(extra_args), **kw)
        self.admin = None

    def start(self, timeout=20):
        super().start(timeout)
        m = re.search(r"admin on [\d.]+:(\d+)", self.banner)
        assert m, self.banner
        self.admin = "http://127.0.0.1:%s" % m.group(1)
        return self


def admin_get(server, path):
    """(status, body text) of GET on the admin listener."""
    try:
        with urllib.request.urlopen(server.admin + path, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def metrics(server):
    """{(name, frozenset(labels.items())): value} of /metrics."""
    status, text = admin_get(server, "/metrics")
    assert status == 200
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = {}
        if m.group(2):
            for k, v in re.findall(r'(\w+)="([^"]*)"', m.group(2)):
                labels[k] = v
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def value(snapshot, name, **labels):
    return snapshot.get((name, frozenset(labels.items())), 0.0)


def raw_exchange(port, request: bytes):
    """Sends `request` on a fresh connection and reads one response to its
    end (Content-Length). Returns (response bytes, status)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        length = int(m.group(1)) if m else 0
        is_head = request.startswith(b"HEAD ")
        while not is_head and len(body) < length:
            chunk = s.recv(65536)
            assert chunk
            body += chunk
        status = int(head.split(b" ")[1])
        return head + b"\r\n\r\n" + body, status


def wait_for(pred, timeout=10, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
