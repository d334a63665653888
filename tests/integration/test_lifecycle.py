"""The server's life cycle: SIGTERM drains (the listeners close, idle
connections close, requests in flight finish within --drain-seconds with
"Connection: close", then the process exits 0; a second signal ends it at
once); SIGHUP reloads the accounts and their keys from the config file,
keeps the old configuration whole when the new one is invalid, and says
what needs a restart."""
import base64
import errno
import json
import os
import select
import signal
import socket
import tempfile
import time

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from blob_util import read_until_closed, signed_put_head
from strata_server import DEV_ACCOUNT, DEV_KEY, StrataServer


class Upload:
    """A PUT whose body is sent piece by piece (above the minimum rate)."""

    def __init__(self, port, container, blob, size, **kw):
        self.size, self.sent = size, 0
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(signed_put_head(port, container, blob, size, **kw))

    def send(self, n, pause=0.05):
        while n > 0 and self.sent < self.size:
            k = min(8192, n, self.size - self.sent)
            self.sock.sendall(b"x" * k)
            self.sent += k
            n -= k
            time.sleep(pause)

    def finish(self):
        self.send(self.size - self.sent)

    def close(self):
        self.sock.close()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except OSError as e:
        return e.errno == errno.ECONNREFUSED


def wait_refused(port, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if refused(port):
            return True
        time.sleep(0.05)
    return False


class Log:
    """Reads the server's output (stdout and stderr) as it comes."""

    def __init__(self, server):
        self.fd = server.proc.stdout.fileno()
        self.text = ""

    def wait_for(self, needle, timeout=10):
        deadline = time.time() + timeout
        while needle not in self.text and time.time() < deadline:
            r, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.time()))
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                self.text += chunk.decode(errors="replace")
        return needle in self.text


def started(extra=(), config=None):
    s = StrataServer(extra_args=["--durability", "none"] + list(extra), config=config).start()
    BlobServiceClient.from_connection_string(s.connection_string).create_container("cnt")
    return s


def staged(root):
    out = []
    for d, _, files in os.walk(os.path.join(root, ".strata", "tmp")):
        out += [os.path.join(d, f) for f in files]
    return out


def test_Drain_inflight_upload_finishes_new_connections_refused_exit_0():
    s = started(["--drain-seconds", "20"])
    try:
        size = 256 * 1024
        up = Upload(s.port, "cnt", "drained", size)
        up.send(64 * 1024)
        s.proc.send_signal(signal.SIGTERM)
        assert wait_refused(s.port), "the listener still accepts while draining"
        assert s.proc.poll() is None  # the upload holds the drain open
        up.finish()
        data, closed = read_until_closed(up.sock, 10)
        up.close()
        assert data.startswith(b"HTTP/1.1 201"), data
        assert b"\r\nConnection: close\r\n" in data
        assert s.proc.wait(timeout=10) == 0
        with open(os.path.join(s.root, "cnt", "drained"), "rb") as f:
            assert f.read() == b"x" * size
    finally:
        s.stop()


def test_Drain_idle_keepalive_connection_closed_at_once():
    s = started(["--drain-seconds", "30"])
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        sock.sendall(b"GET /devstoreaccount1/cnt?restype=container HTTP/1.1\r\nHost: x\r\n\r\n")
        first, _ = read_until_closed(sock, 1)
        assert first.startswith(b"HTTP/1.1 ") and b"Connection: close" not in first
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        data, closed = read_until_closed(sock, 5)
        assert closed and data == b""  # closed, no response to a request never sent
        assert s.proc.wait(timeout=5) == 0
        assert time.time() - t0 < 4
        sock.close()
    finally:
        s.stop()


def test_Drain_deadline_cuts_a_request_that_outlives_it():
    s = started(["--drain-seconds", "1"])
    try:
        up = Upload(s.port, "cnt", "cut", 1 << 20)
        up.send(32 * 1024)
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        closed = False
        while time.time() - t0 < 8 and not closed:
            try:
                up.send(8192, pause=0.1)
            except OSError:
                closed = True
            if s.proc.poll() is not None:
                break
        assert s.proc.wait(timeout=10) == 0
        assert 0.9 < time.time() - t0 < 5
        data, _ = read_until_closed(up.sock, 2)
        assert not data.startswith(b"HTTP/1.1 201")
        up.close()
        assert not os.path.exists(os.path.join(s.root, "cnt", "cut"))
        assert staged(s.root) == []  # the cut upload left nothing behind
    finally:
        s.stop()


def test_Drain_second_signal_stops_at_once():
    s = started(["--drain-seconds", "60"])
    try:
        up = Upload(s.port, "cnt", "second", 1 << 20)
        up.send(16 * 1024)
        s.proc.send_signal(signal.SIGTERM)
        assert wait_refused(s.port)
        assert s.proc.poll() is None
        t0 = time.time()
        s.proc.send_signal(signal.SIGINT)
        assert s.proc.wait(timeout=5) == 0
        assert time.time() - t0 < 3
        up.close()
    finally:
        s.stop()


KEY1 = base64.b64encode(b"1" * 64).decode()
KEY2 = base64.b64encode(b"2" * 64).decode()
KEY3 = base64.b64encode(b"3" * 64).decode()


def svc(server, account, key):
    return BlobServiceClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
        "BlobEndpoint=http://127.0.0.1:%d/%s;" % (account, key, server.port, account))


def works(server, account, key):
    try:
        c = svc(server, account, key)
        list(c.list_containers())
        c.close()
        return True
    except HttpResponseError as e:
        assert e.status_code in (403, 404), e
        return False


def write(path, doc):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.rename(tmp, path)  # the reload reads the old file or the new one


def test_Reload_adds_account_and_rotates_key_in_flight_unaffected():
    base = tempfile.mkdtemp(prefix="strata-reload-")
    cfg = os.path.join(base, "strata.json")
    first = {"accounts": [{"name": "rotating", "key": KEY1, "root": os.path.join(base, "rot")}]}
    write(cfg, first)
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg,
                     extra_args=["--durability", "none"]).start()
    log = Log(s)
    try:
        svc(s, "rotating", KEY1).create_container("cnt")
        assert works(s, "rotating", KEY1) and not works(s, "rotating", KEY2)
        assert not works(s, "added", KEY3)
        # A request signed with the old key is in flight across the reload.
        up = Upload(s.port, "cnt", "inflight", 64 * 1024, account="rotating", key=KEY1)
        up.send(16 * 1024)
        write(cfg, {"accounts": [{"name": "rotating", "key": KEY2, "root": os.path.join(base, "rot")},
                                 {"name": "added", "key": KEY3, "root": os.path.join(base, "add")}]})
        s.proc.send_signal(signal.SIGHUP)
        assert log.wait_for("reloaded " + cfg), log.text
        assert "account rotating: keys changed" in log.text and "account added added" in log.text
        assert KEY1 not in log.text and KEY2 not in log.text and KEY3 not in log.text
        up.finish()
        data, _ = read_until_closed(up.sock, 10)
        up.close()
        assert data.startswith(b"HTTP/1.1 201"), data
        assert works(s, "rotating", KEY2)
        assert not works(s, "rotating", KEY1)  # the old key is refused
        assert works(s, "added", KEY3)
        assert works(s, DEV_ACCOUNT, DEV_KEY)
        svc(s, "added", KEY3).create_container("fresh")
        assert os.path.isdir(os.path.join(base, "add", "fresh"))
        # Removing an account: it is no longer served.
        write(cfg, {"accounts": [{"name": "rotating", "key": KEY2, "root": os.path.join(base, "rot")}]})
        s.proc.send_signal(signal.SIGHUP)
        assert log.wait_for("account added removed"), log.text
        assert not works(s, "added", KEY3)
        assert works(s, "rotating", KEY2)
    finally:
        s.stop()
    assert s.proc.returncode == 0


def test_Reload_invalid_config_keeps_the_old_one_whole():
    base = tempfile.mkdtemp(prefix="strata-reload-bad-")
    cfg = os.path.join(base, "strata.json")
    good = {"accounts": [{"name": "steady", "key": KEY1, "root": os.path.join(base, "steady")}]}
    write(cfg, good)
    os.mkdir(os.path.join(base, "dev"))
    os.mkdir(os.path.join(base, "steady"))
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg, create_root=False).start()
    log = Log(s)
    try:
        assert works(s, "steady", KEY1)
        # Valid accounts but one unknown key: nothing of it applies.
        write(cfg, {"bogus": 1, "accounts": [
            {"name": "steady", "key": KEY2, "root": os.path.join(base, "steady")},
            {"name": "newcomer", "key": KEY3, "root": os.path.join(base, "new")}]})
        s.proc.send_signal(signal.SIGHUP)
        assert log.wait_for("bogus: unknown key"), log.text
        assert "refused; the running configuration stays" in log.text
        assert works(s, "steady", KEY1) and not works(s, "steady", KEY2)
        assert not works(s, "newcomer", KEY3)
        # A missing root for a new account refuses the reload too (not created).
        write(cfg, {"accounts": [
            {"name": "steady", "key": KEY2, "root": os.path.join(base, "steady")},
            {"name": "newcomer", "key": KEY3, "root": "/nonexistent-strata/x"}]})
        s.proc.send_signal(signal.SIGHUP)
        assert log.wait_for("/nonexistent-strata/x does not exist"), log.text
        assert not os.path.exists("/nonexistent-strata")
        assert works(s, "steady", KEY1) and not works(s, "newcomer", KEY3)
        # What cannot change is said to need a restart; the rest applies.
        write(cfg, {"threads": 3, "accounts": [
            {"name": "steady", "key": KEY2, "root": os.path.join(base, "steady")}]})
        s.proc.send_signal(signal.SIGHUP)
        assert log.wait_for("threads changed; needs a restart"), log.text
        assert works(s, "steady", KEY2)
    finally:
        s.stop()
    assert s.proc.returncode == 0
