"""Copy sources on other hosts (issue 11, "Accounts"): Copy Blob From URL,
Put Blob From URL and Copy Blob with an http(s) source on another host are
fetched by the server, and the fetch is guarded so that the server cannot
be made to reach into its own network (docs/SECURITY.md, "Copy sources on
other hosts"): only hosts the config allows (copy_sources.hosts, none by
default), only http/https, never loopback or private addresses unless
copy_sources.allow_private, never link-local or metadata addresses, no
redirects followed, size and time limits, no credential of ours sent.

The remote source here is a second strata server on another loopback port
(the stand-in for an Azure account), and a small http.server for the
misbehaving sources. Expectations resting on Azure: "Copy Blob From URL"
(sync copy of a source up to 256 MiB, any Azure account, authorized by a
SAS in the source URL; 202 with x-ms-copy-status: success), "Put Blob From
URL" (201), and the x-ms-copy-source-status-code / -error-code headers
Azure returns when the source's read failed (REST reference, Copy Blob From
URL, "Response headers", version 2023-?+). The refusals of the guard are
this server's own (Azure has no equivalent): 403 CannotVerifyCopySource."""
import base64
import datetime
import hashlib
import http.server
import json
import os
import tempfile
import threading
import time
import re
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (BlobClient, BlobServiceClient, ContainerSasPermissions,
                                ContentSettings, generate_blob_sas, generate_container_sas)

import signing
from blob_util import raw, tmp_files
from strata_server import DEV_ACCOUNT, DEV_KEY, StrataServer

REMOTE_ACCOUNT = "farside"
REMOTE_KEY = base64.b64encode(b"f" * 64).decode()
MAX_BYTES = 1 << 20  # copy_sources.max_bytes of the copying server


def pattern(n):
    """The n bytes the slow sources send."""
    return (bytes(range(251)) * (n // 251 + 1))[:n]


class Misbehaving(http.server.BaseHTTPRequestHandler):
    """Sources that misbehave, by path. Records the headers it was sent,
    and for the slow sources how many bytes each request got out."""
    seen = []
    sent = {}  # request path (with query) -> bytes each request got out before it ended
    vanished = set()

    def log_message(self, *args):
        pass

    def _send_slowly(self, body, stop_at=None, chunk=65536, pause=0.05):
        """Sends body in chunks with a pause (about 1.3 MB/s: above the
        copier's minimum speed); stops at stop_at bytes and closes."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"0x8D0SLOWSOURCE"')
        self.send_header("Content-Type", "application/x-slow")
        self.end_headers()
        done = 0
        try:
            for at in range(0, len(body), chunk):  # bounded by the body's length
                if stop_at is not None and at >= stop_at:
                    break
                self.wfile.write(body[at:at + chunk])
                self.wfile.flush()
                done = at + len(body[at:at + chunk])
                time.sleep(pause)
        except OSError:
            pass
        Misbehaving.sent.setdefault(self.path, []).append(done)
        self.close_connection = True

    def do_GET(self):
        Misbehaving.seen.append({k.lower(): v for k, v in self.headers.items()})
        p = self.path.split("?")[0]
        if p.startswith("/slow/"):
            self._send_slowly(pattern(int(p[len("/slow/"):])))
        elif p == "/cut":
            self._send_slowly(pattern(2 << 20), stop_at=1 << 20, pause=0.02)
        elif p.startswith("/vanishing/"):
            if p in Misbehaving.vanished:
                self.send_response(404)
                self.send_header("x-ms-error-code", "BlobNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                Misbehaving.vanished.add(p)
                self._send_slowly(pattern(2 << 20), pause=0)
        elif p == "/ok":
            body = b"plain http bytes"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)
        elif p == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif p == "/announced-huge":
            self.send_response(200)
            self.send_header("Content-Length", str(300 << 20))
            self.end_headers()
        elif p == "/chunked-big":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(2 * MAX_BYTES // len(chunk)):  # bounded: twice the limit
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        elif p == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "60")
            self.end_headers()
            try:
                for _ in range(60):  # bounded: one byte a second for at most a minute
                    self.wfile.write(b"t")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        elif p == "/forbidden":
            self.send_response(403)
            self.send_header("x-ms-error-code", "AuthenticationFailed")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture(scope="module")
def misbehaving():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def remote():
    """The "other host": a strata server with account farside."""
    base = tempfile.mkdtemp(prefix="strata-remote-")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"accounts": [{"name": REMOTE_ACCOUNT, "key": REMOTE_KEY,
                                 "root": os.path.join(base, REMOTE_ACCOUNT)}]}, f)
    s = StrataServer(root=os.path.join(base, "dev"), config=cfg).start()
    yield s
    s.stop()


def _copying_server(copy_sources, extra_args=()):
    base = tempfile.mkdtemp(prefix="strata-copier-")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"copy_sources": copy_sources}, f)
    return StrataServer(root=os.path.join(base, "dev"), config=cfg,
                        extra_args=extra_args).start()


@pytest.fixture(scope="module")
def copier():
    """Allows loopback sources (the test's allowance), small limits."""
    s = _copying_server({"hosts": ["localhost", "127.0.0.1", "169.254.169.254"],
                         "allow_private": True, "max_bytes": MAX_BYTES,
                         "min_speed_bytes": 1024, "min_speed_window_s": 2,
                         "connect_timeout_s": 5, "timeout_s": 20})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def guarded():
    """Allows every host name ("*") but not loopback or private addresses."""
    s = _copying_server({"hosts": ["*"]})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def closed():
    """No copy_sources at all: the default."""
    s = StrataServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def source(remote):
    """A private blob on the remote with properties and metadata, and a read SAS URL."""
    svc = BlobServiceClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
        "BlobEndpoint=http://localhost:%d/%s;" % (REMOTE_ACCOUNT, REMOTE_KEY, remote.port,
                                                  REMOTE_ACCOUNT))
    c = svc.create_container("src" + uuid.uuid4().hex[:12])
    c.upload_blob("b", b"remote bytes", metadata={"Origin": "farside"},
                  content_settings=ContentSettings(content_type="text/x-remote"))
    sas = generate_blob_sas(REMOTE_ACCOUNT, c.container_name, "b", account_key=REMOTE_KEY,
                            permission="r", expiry=datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=1))
    base = "http://localhost:%d/%s/%s/b" % (remote.port, REMOTE_ACCOUNT, c.container_name)
    return {"sas_url": base + "?" + sas, "url": base, "container": c.container_name}


def _dest(server):
    name = "d" + uuid.uuid4().hex[:16]
    assert raw(server, "PUT", name, query="restype=container").status_code == 201
    return name


def _headers(kind, source):
    h = {"x-ms-copy-source": source}
    if kind == "sync":
        h["x-ms-requires-sync"] = "true"
    elif kind == "put_from_url":
        h["x-ms-blob-type"] = "BlockBlob"
    return h


KINDS = ["sync", "put_from_url", "async"]


def _copy(server, dest, kind, url, extra=None):
    h = _headers(kind, url)
    h.update(extra or {})
    return raw(server, "PUT", dest, "copy", headers=h)


@pytest.mark.parametrize("kind", KINDS)
def test_RemoteCopy_from_another_host_with_its_sas(copier, source, kind):
    dest = _dest(copier)
    r = _copy(copier, dest, kind, source["sas_url"])
    assert r.status_code == (201 if kind == "put_from_url" else 202), r.text
    if kind != "put_from_url":
        assert r.headers["x-ms-copy-status"] == "success"
    g = raw(copier, "GET", dest, "copy")
    assert g.status_code == 200 and g.content == b"remote bytes"
    assert g.headers["Content-Type"] == "text/x-remote"
    if kind == "put_from_url":  # metadata comes from the request only
        assert "x-ms-meta-Origin" not in g.headers
    else:
        assert g.headers.get("x-ms-meta-Origin") == "farside"
        assert g.headers["x-ms-copy-source"] == source["url"]


def test_RemoteCopy_sdk_sync_copy(copier, source):
    svc = BlobServiceClient.from_connection_string(copier.connection_string)
    c = svc.create_container("sdk" + uuid.uuid4().hex[:12])
    b = c.get_blob_client("copied")
    props = b.start_copy_from_url(source["sas_url"], requires_sync=True)
    assert props["copy_status"] == "success"
    assert b.download_blob().readall() == b"remote bytes"
    b2 = c.get_blob_client("fromurl")
    b2.upload_blob_from_url(source["sas_url"])
    assert b2.download_blob().readall() == b"remote bytes"


def test_RemoteCopy_source_not_found_and_forbidden_pass_through(copier, source, remote):
    dest = _dest(copier)
    missing = source["sas_url"].replace("/b?", "/missing?")
    r = _copy(copier, dest, "sync", missing)
    # The remote refuses (the SAS is for blob b): its status passes through.
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert r.headers["x-ms-copy-source-status-code"] == "403"
    assert r.headers["x-ms-copy-source-error-code"] == "AuthenticationFailed"
    # A private blob without a SAS: the remote answers 404, as Azure hides it.
    r = _copy(copier, dest, "put_from_url", source["url"])
    assert r.status_code == 404, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert r.headers["x-ms-copy-source-status-code"] == "404"
    assert raw(copier, "HEAD", dest, "copy").status_code == 404


def test_RemoteCopy_source_conditions(copier, source):
    dest = _dest(copier)
    r = _copy(copier, dest, "sync", source["sas_url"], {"x-ms-source-if-match": '"0x1"'})
    assert r.status_code == 412, r.text
    assert signing.error_code(r) == "SourceConditionNotMet"
    r = _copy(copier, dest, "put_from_url", source["sas_url"],
              {"x-ms-source-if-unmodified-since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert r.status_code == 412, r.text
    assert raw(copier, "HEAD", dest, "copy").status_code == 404


def test_RemoteCopy_sends_no_credentials(copier, misbehaving):
    Misbehaving.seen.clear()
    dest = _dest(copier)
    r = _copy(copier, dest, "sync", "http://127.0.0.1:%d/ok?sv=x" % misbehaving)
    assert r.status_code == 202, r.text
    assert raw(copier, "GET", dest, "copy").content == b"plain http bytes"
    assert len(Misbehaving.seen) == 1
    sent = Misbehaving.seen[0]
    assert "authorization" not in sent
    assert not any(k.startswith("x-ms-") and k != "x-ms-version" for k in sent), sent


@pytest.mark.parametrize("kind", KINDS)
def test_RemoteCopy_refused_by_default(closed, source, kind):
    """No copy_sources: another host is never fetched."""
    dest = _dest(closed)
    r = _copy(closed, dest, kind, source["sas_url"])
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


def test_RemoteCopy_host_not_allowed(copier, misbehaving):
    dest = _dest(copier)
    # A name not in copy_sources.hosts (it would resolve to loopback too).
    r = _copy(copier, dest, "sync", "http://localhost.localdomain:%d/ok" % misbehaving)
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]"])
def test_RemoteCopy_loopback_refused_without_allowance(guarded, misbehaving, host):
    """The name is allowed, the address it reaches is not."""
    Misbehaving.seen.clear()
    dest = _dest(guarded)
    r = _copy(guarded, dest, "sync", "http://%s:%d/ok" % (host, misbehaving))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert "address is not one this server may connect to" in r.text
    assert Misbehaving.seen == []  # nothing reached the source


def test_RemoteCopy_metadata_address_refused_even_with_allowance(copier):
    dest = _dest(copier)
    t0 = time.monotonic()
    r = _copy(copier, dest, "sync", "http://169.254.169.254/latest/meta-data/")
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert "address is not one this server may connect to" in r.text
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:%d/ok",
                                 "ftp://127.0.0.1:%d/ok", "dict://127.0.0.1:%d/",
                                 "http://user:pw@127.0.0.1:%d/ok"])
def test_RemoteCopy_only_http_and_https(copier, misbehaving, url):
    Misbehaving.seen.clear()
    dest = _dest(copier)
    r = _copy(copier, dest, "sync", url.replace("%d", str(misbehaving)))
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert Misbehaving.seen == []


def test_RemoteCopy_redirect_is_not_followed(copier, misbehaving):
    dest = _dest(copier)
    r = _copy(copier, dest, "sync", "http://127.0.0.1:%d/redirect" % misbehaving)
    assert r.status_code == 409, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert r.headers["x-ms-copy-source-status-code"] == "302"
    assert raw(copier, "HEAD", dest, "copy").status_code == 404


@pytest.mark.parametrize("path", ["announced-huge", "chunked-big"])
def test_RemoteCopy_oversize_source(copier, misbehaving, path):
    dest = _dest(copier)
    r = _copy(copier, dest, "put_from_url", "http://127.0.0.1:%d/%s" % (misbehaving, path))
    assert r.status_code == 409, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert raw(copier, "HEAD", dest, "copy").status_code == 404


def test_RemoteCopy_trickling_source_is_cut_off(copier, misbehaving):
    """One byte a second is under min_speed_bytes for min_speed_window_s (2 s)."""
    dest = _dest(copier)
    t0 = time.monotonic()
    r = _copy(copier, dest, "sync", "http://127.0.0.1:%d/trickle" % misbehaving)
    elapsed = time.monotonic() - t0
    assert r.status_code == 409, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert elapsed < 15, elapsed
    assert raw(copier, "HEAD", dest, "copy").status_code == 404


def test_RemoteCopy_plain_source_error_status(copier, misbehaving):
    dest = _dest(copier)
    r = _copy(copier, dest, "sync", "http://127.0.0.1:%d/forbidden" % misbehaving)
    assert r.status_code == 403, r.text
    assert r.headers["x-ms-copy-source-error-code"] == "AuthenticationFailed"
    r = _copy(copier, dest, "sync", "http://127.0.0.1:%d/nothing" % misbehaving)
    assert r.status_code == 404, r.text
    assert r.headers["x-ms-copy-source-status-code"] == "404"


def test_RemoteCopy_own_address_is_still_local(copier):
    """A source on this server's own address names its own account, read
    locally with the local rules (the key of the same account covers it)."""
    dest = _dest(copier)
    assert raw(copier, "PUT", dest, "src", headers={"x-ms-blob-type": "BlockBlob"},
               body=b"local").status_code == 201
    url = "http://127.0.0.1:%d/%s/%s/src" % (copier.port, DEV_ACCOUNT, dest)
    r = _copy(copier, dest, "async", url)
    assert r.status_code == 202, r.text
    assert raw(copier, "GET", dest, "copy").content == b"local"


def test_RemoteCopy_into_missing_container(copier, misbehaving):
    Misbehaving.seen.clear()
    r = _copy(copier, "nosuch" + uuid.uuid4().hex[:8], "sync",
              "http://127.0.0.1:%d/ok" % misbehaving)
    assert r.status_code == 404, r.text
    assert signing.error_code(r) == "ContainerNotFound"
    assert Misbehaving.seen == []


def test_RemoteCopy_put_block_from_url_with_range(copier, source):
    dest = _dest(copier)
    for n, rng in ((1, "bytes=0-5"), (2, "bytes=6-11")):
        r = raw(copier, "PUT", dest, "blocks",
                query="comp=block&blockid=" + base64.b64encode(b"blk%d" % n).decode(),
                headers={"x-ms-copy-source": source["sas_url"], "x-ms-source-range": rng})
        assert r.status_code == 201, r.text
    body = ("<?xml version='1.0' encoding='utf-8'?><BlockList><Latest>%s</Latest>"
            "<Latest>%s</Latest></BlockList>" % (base64.b64encode(b"blk1").decode(),
                                                  base64.b64encode(b"blk2").decode()))
    r = raw(copier, "PUT", dest, "blocks", query="comp=blocklist", body=body.encode())
    assert r.status_code == 201, r.text
    assert raw(copier, "GET", dest, "blocks").content == b"remote bytes"


def test_RemoteCopy_put_block_from_url_source_ignoring_range(copier, misbehaving):
    """A source that answers 200 with the whole body to a range is refused."""
    dest = _dest(copier)
    r = raw(copier, "PUT", dest, "blocks", query="comp=block&blockid=QUFBQQ%3D%3D",
            headers={"x-ms-copy-source": "http://127.0.0.1:%d/ok" % misbehaving,
                     "x-ms-source-range": "bytes=0-3"})
    assert r.status_code == 409, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"


def test_RemoteCopy_put_block_from_url_refused_by_address(guarded, misbehaving):
    Misbehaving.seen.clear()
    dest = _dest(guarded)
    r = raw(guarded, "PUT", dest, "blocks", query="comp=block&blockid=QUFBQQ%3D%3D",
            headers={"x-ms-copy-source": "http://127.0.0.1:%d/ok" % misbehaving})
    assert r.status_code == 403, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert Misbehaving.seen == []


def test_RemoteCopy_concurrent_fetches_are_bounded(misbehaving):
    """copy_sources.max_concurrent: while one slow fetch runs, another is
    answered 503 ServerBusy at once (a retryable status), so slow sources
    cannot take every worker."""
    s = _copying_server({"hosts": ["127.0.0.1"], "allow_private": True, "max_concurrent": 1,
                         "min_speed_bytes": 1024, "min_speed_window_s": 3})
    try:
        dest = _dest(s)
        Misbehaving.seen.clear()
        slow = {}
        t = threading.Thread(target=lambda: slow.setdefault(
            "r", _copy(s, dest, "sync", "http://127.0.0.1:%d/trickle" % misbehaving)))
        t.start()
        deadline = time.monotonic() + 10
        while not Misbehaving.seen and time.monotonic() < deadline:  # bounded
            time.sleep(0.02)
        assert Misbehaving.seen, "the slow fetch never reached the source"
        r = _copy(s, dest, "sync", "http://127.0.0.1:%d/ok" % misbehaving)
        assert r.status_code == 503, r.text
        assert signing.error_code(r) == "ServerBusy"
        t.join(timeout=30)
        assert slow["r"].status_code == 409
        r = _copy(s, dest, "sync", "http://127.0.0.1:%d/ok" % misbehaving)
        assert r.status_code == 202, r.text
    finally:
        s.stop()


# ---- Copy Blob from another host in the background. The background
# threshold is lowered to 1 MiB here (as test_copy_blob.py does for local
# sources), so these sources of a few MiB answer 202 pending at once and are
# fetched in the background. Expectations resting on Azure ("Copy Blob",
# REST reference: "Remarks", copy status; "Get Blob Properties": the
# x-ms-copy-* headers; "Abort Copy Blob"): the 202 carries x-ms-copy-id and
# x-ms-copy-status pending; the destination shows x-ms-copy-progress
# "copied/total" while pending; it ends success (new ETag), or failed with
# x-ms-copy-status-description "<status> <code> \"<message>\"", or
# aborted; a source Azure cannot read is refused before the 202 with
# CannotVerifyCopySource and the source's status (404 for a missing blob).

ASYNC_ARGS = ["--copy-async-threshold", str(1 << 20), "--copy-step", str(256 << 10),
              "--copy-sweep-interval", "1"]
ASYNC_SOURCES = {"hosts": ["localhost", "127.0.0.1", "169.254.169.254"],
                 "allow_private": True, "max_bytes": 64 << 20,
                 "min_speed_bytes": 1024, "min_speed_window_s": 2,
                 "connect_timeout_s": 5, "timeout_s": 30}


@pytest.fixture(scope="module")
def async_copier():
    s = _copying_server(ASYNC_SOURCES, ASYNC_ARGS)
    yield s
    s.stop()


def _wait(cond, timeout=30):
    """Polls cond() (bounded) until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("condition not met within %s s" % timeout)


def _copy_state(server, dest, blob="copy"):
    r = raw(server, "HEAD", dest, blob)
    assert r.status_code == 200, r.status_code
    return r


def _wait_copy_over(server, dest, timeout=30, blob="copy"):
    return _wait(lambda: (lambda r: r if r.headers["x-ms-copy-status"] != "pending" else None)(
        _copy_state(server, dest, blob)), timeout)


def _copy_residue(server):
    copies = os.path.join(server.root, ".strata", "copies")
    return tmp_files(server) + [os.path.join(copies, f) for f in os.listdir(copies)]


def _abort(server, dest, copy_id):
    return raw(server, "PUT", dest, "copy", query="comp=copy&copyid=" + copy_id,
               headers={"x-ms-copy-action": "abort"})


def test_RemoteCopy_async_large_source_pending_then_success(async_copier, remote):
    svc = BlobServiceClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
        "BlobEndpoint=http://localhost:%d/%s;" % (REMOTE_ACCOUNT, REMOTE_KEY, remote.port,
                                                  REMOTE_ACCOUNT))
    c = svc.create_container("big" + uuid.uuid4().hex[:12])
    data = os.urandom(6 << 20)
    c.upload_blob("big", data, metadata={"Origin": "farside"},
                  content_settings=ContentSettings(content_type="application/x-big"))
    sas = generate_blob_sas(REMOTE_ACCOUNT, c.container_name, "big", account_key=REMOTE_KEY,
                            permission="r", expiry=datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=1))
    url = "http://localhost:%d/%s/%s/big" % (remote.port, REMOTE_ACCOUNT, c.container_name)
    mine = BlobServiceClient.from_connection_string(async_copier.connection_string)
    dc = mine.create_container("dst" + uuid.uuid4().hex[:12])
    dest = dc.get_blob_client("copied")
    resp = dest.start_copy_from_url(url + "?" + sas)
    assert resp["copy_status"] == "pending"
    props = dest.get_blob_properties()
    assert props.copy.id == resp["copy_id"]
    assert props.copy.source == url
    done = _wait(lambda: (lambda p: p if p.copy.status != "pending" else None)(
        dest.get_blob_properties()))
    assert done.copy.status == "success", done.copy.status_description
    assert done.copy.progress == "%d/%d" % (len(data), len(data))
    assert done.size == len(data)
    assert done.etag != resp["etag"]  # committed as a new version
    assert bytes(done.content_settings.content_md5) == hashlib.md5(data).digest()
    assert done.content_settings.content_type == "application/x-big"
    assert done.metadata == {"Origin": "farside"}
    assert dest.download_blob().readall() == data
    _wait(lambda: _copy_residue(async_copier) == [])


def test_RemoteCopy_async_progress_while_source_sends(async_copier, misbehaving):
    """3 MiB at about 1.3 MB/s: the progress is seen advancing, and the
    fetches carry no credential of the copier (only the version and the
    ETag the source answered first)."""
    Misbehaving.seen.clear()
    dest = _dest(async_copier)
    total = 3 << 20
    t0 = time.monotonic()
    r = _copy(async_copier, dest, "async", "http://127.0.0.1:%d/slow/%d" % (misbehaving, total))
    assert r.status_code == 202, r.text
    assert r.headers["x-ms-copy-status"] == "pending"  # before the source finished
    seen = set()

    def over():
        h = _copy_state(async_copier, dest).headers
        if h["x-ms-copy-status"] != "pending":
            return h
        done, whole = map(int, h["x-ms-copy-progress"].split("/"))
        assert whole == total and 0 <= done < total
        seen.add(done)
        return None

    h = _wait(over, timeout=20)
    assert h["x-ms-copy-status"] == "success", h.get("x-ms-copy-status-description")
    assert any(0 < d < total for d in seen), seen
    assert time.monotonic() - t0 < 20
    g = raw(async_copier, "GET", dest, "copy")
    assert g.content == pattern(total)
    assert g.headers["Content-Type"] == "application/x-slow"
    assert len(Misbehaving.seen) == 2  # the check before the 202, then the copy
    for sent in Misbehaving.seen:
        assert "authorization" not in sent
        assert not any(k.startswith("x-ms-") and k != "x-ms-version" for k in sent), sent
    assert Misbehaving.seen[1]["if-match"] == '"0x8D0SLOWSOURCE"'
    _wait(lambda: _copy_residue(async_copier) == [])


def test_RemoteCopy_async_abort_mid_fetch(async_copier, misbehaving):
    dest = _dest(async_copier)
    total = 8 << 20  # about 6 s at the source's pace
    path = "/slow/%d?t=%s" % (total, uuid.uuid4().hex)
    r = _copy(async_copier, dest, "async", "http://127.0.0.1:%d%s" % (misbehaving, path))
    assert r.status_code == 202, r.text
    copy_id = r.headers["x-ms-copy-id"]
    _wait(lambda: int(_copy_state(async_copier, dest).headers["x-ms-copy-progress"]
                      .split("/")[0]) > 0, timeout=10)
    a = _abort(async_copier, dest, copy_id)
    assert a.status_code == 204, a.text
    # The fetch ends soon after, long before the source would have finished
    # (two requests: the check before the 202, then the copy).
    _wait(lambda: len(Misbehaving.sent.get(path, [])) == 2, timeout=10)
    assert all(n < total for n in Misbehaving.sent[path]), Misbehaving.sent[path]
    _wait(lambda: _copy_residue(async_copier) == [])
    h = _copy_state(async_copier, dest).headers
    assert h["x-ms-copy-status"] == "aborted"
    assert h["x-ms-copy-id"] == copy_id
    assert h["Content-Length"] == "0"
    assert raw(async_copier, "GET", dest, "copy").content == b""


def test_RemoteCopy_async_source_cut_mid_way_fails(async_copier, misbehaving):
    """The source announces 2 MiB and closes after 1 MiB."""
    dest = _dest(async_copier)
    r = _copy(async_copier, dest, "async", "http://127.0.0.1:%d/cut" % misbehaving)
    assert r.status_code == 202, r.text
    assert r.headers["x-ms-copy-status"] == "pending"
    h = _wait_copy_over(async_copier, dest, timeout=20).headers
    assert h["x-ms-copy-status"] == "failed"
    assert re.fullmatch(r'\d{3} \w+ ".+"', h["x-ms-copy-status-description"]), h
    assert h["Content-Length"] == "0"
    _wait(lambda: _copy_residue(async_copier) == [])


def test_RemoteCopy_async_source_missing(async_copier, source, misbehaving):
    """Missing before the copy: refused at once, 404 CannotVerifyCopySource
    with the source's status, and no destination. Gone between the check
    and the copy: the copy ends failed with the source's status and code."""
    dest = _dest(async_copier)
    r = _copy(async_copier, dest, "async", source["url"].replace("/b", "/missing"))
    assert r.status_code == 404, r.text
    assert signing.error_code(r) == "CannotVerifyCopySource"
    assert r.headers["x-ms-copy-source-status-code"] == "404"
    assert raw(async_copier, "HEAD", dest, "copy").status_code == 404
    r = _copy(async_copier, dest, "async",
              "http://127.0.0.1:%d/vanishing/%s" % (misbehaving, uuid.uuid4().hex))
    assert r.status_code == 202, r.text
    assert r.headers["x-ms-copy-status"] == "pending"
    h = _wait_copy_over(async_copier, dest, timeout=20).headers
    assert h["x-ms-copy-status"] == "failed"
    assert h["x-ms-copy-status-description"].startswith('404 BlobNotFound "'), h


def test_RemoteCopy_async_not_bound_by_whole_fetch_timeout(misbehaving):
    """copy_sources.timeout_s bounds a fetch that holds a worker; a
    background copy holds none and may take longer, as long as the source
    keeps above the minimum speed (3 MiB at about 1.3 MB/s, timeout_s 1)."""
    s = _copying_server(dict(ASYNC_SOURCES, timeout_s=1), ASYNC_ARGS)
    try:
        dest = _dest(s)
        total = 3 << 20
        r = _copy(s, dest, "async", "http://127.0.0.1:%d/slow/%d" % (misbehaving, total))
        assert r.status_code == 202, r.text
        h = _wait_copy_over(s, dest, timeout=20).headers
        assert h["x-ms-copy-status"] == "success", h.get("x-ms-copy-status-description")
        assert raw(s, "GET", dest, "copy").content == pattern(total)
        # A synchronous copy is still cut off after timeout_s.
        r = _copy(s, dest, "sync", "http://127.0.0.1:%d/slow/%d" % (misbehaving, 2 << 20))
        assert r.status_code == 409, r.text
        assert signing.error_code(r) == "CannotVerifyCopySource"
    finally:
        s.stop()


def test_RemoteCopy_async_copy_of_a_dead_gateway_ends(misbehaving):
    """Two gateways on one root: when the one fetching dies, the other marks
    the copy failed and removes what it staged (as for a local source)."""
    base = tempfile.mkdtemp(prefix="strata-copier-")
    cfg = os.path.join(base, "strata.json")
    with open(cfg, "w") as f:
        json.dump({"copy_sources": ASYNC_SOURCES}, f)
    root = os.path.join(base, "dev")
    a = StrataServer(root=root, config=cfg, extra_args=ASYNC_ARGS).start()
    b = StrataServer(root=root, config=cfg, extra_args=ASYNC_ARGS).start()
    try:
        dest = _dest(a)
        r = _copy(a, dest, "async", "http://127.0.0.1:%d/slow/%d" % (misbehaving, 8 << 20))
        assert r.status_code == 202, r.text
        assert r.headers["x-ms-copy-status"] == "pending"
        _wait(lambda: int(_copy_state(b, dest).headers["x-ms-copy-progress"]
                          .split("/")[0]) > 0, timeout=10)
        a.kill()
        h = _wait_copy_over(b, dest, timeout=30).headers
        assert h["x-ms-copy-status"] == "failed"
        assert h["x-ms-copy-status-description"]
        assert h["Content-Length"] == "0"
        _wait(lambda: _copy_residue(b) == [])
    finally:
        a.stop()
        b.stop()


def test_RemoteCopy_async_create_only_sas_never_replaces(async_copier, misbehaving):
    """A SAS granting create (c) but not write (w) may copy onto a new blob
    only ("Create a service SAS": c creates, w is needed to overwrite); the
    background copy commits it, a second copy onto it is refused before 202."""
    dest = _dest(async_copier)
    sas = generate_container_sas(DEV_ACCOUNT, dest, account_key=DEV_KEY,
                                 permission=ContainerSasPermissions(create=True),
                                 expiry=datetime.datetime.now(datetime.timezone.utc)
                                 + datetime.timedelta(hours=1))
    b = BlobClient.from_blob_url("http://127.0.0.1:%d/%s/%s/new?%s"
                                 % (async_copier.port, DEV_ACCOUNT, dest, sas))
    url = "http://127.0.0.1:%d/slow/%d" % (misbehaving, 2 << 20)
    assert b.start_copy_from_url(url)["copy_status"] == "pending"
    h = _wait_copy_over(async_copier, dest, timeout=20, blob="new").headers
    assert h["x-ms-copy-status"] == "success", h
    etag = h["ETag"]
    with pytest.raises(HttpResponseError) as e:
        b.start_copy_from_url(url)
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    assert _copy_state(async_copier, dest, "new").headers["ETag"] == etag


def test_RemoteCopy_async_refused_before_202_and_background_fetches_hold_slots(misbehaving):
    """The guard answers before any 202, and a background fetch holds one
    of copy_sources.max_concurrent until it ends: while it runs, another
    copy from another host is answered 503 ServerBusy at once."""
    s = _copying_server(dict(ASYNC_SOURCES, max_concurrent=1), ASYNC_ARGS)
    try:
        dest = _dest(s)
        t0 = time.monotonic()
        r = _copy(s, dest, "async", "http://169.254.169.254/latest/meta-data/")
        assert r.status_code == 403, r.text
        assert "address is not one this server may connect to" in r.text
        r = _copy(s, dest, "async", "http://127.0.0.1:%d/redirect" % misbehaving)
        assert r.status_code == 409, r.text
        assert r.headers["x-ms-copy-source-status-code"] == "302"
        r = _copy(s, dest, "async", "file:///etc/passwd")
        assert r.status_code == 403, r.text
        assert time.monotonic() - t0 < 10
        assert raw(s, "HEAD", dest, "copy").status_code == 404
        r = _copy(s, dest, "async", "http://127.0.0.1:%d/slow/%d" % (misbehaving, 8 << 20))
        assert r.status_code == 202, r.text
        assert r.headers["x-ms-copy-status"] == "pending"
        other = _dest(s)
        for kind in ("async", "sync"):
            busy = _copy(s, other, kind, "http://127.0.0.1:%d/ok" % misbehaving)
            assert busy.status_code == 503, busy.text
            assert signing.error_code(busy) == "ServerBusy"
        assert _abort(s, dest, r.headers["x-ms-copy-id"]).status_code == 204
        # Its slot comes back once its fetch has ended.
        ok = _wait(lambda: (lambda x: x if x.status_code == 202 else None)(
            _copy(s, other, "sync", "http://127.0.0.1:%d/ok" % misbehaving)),
            timeout=10)
        assert ok.headers["x-ms-copy-status"] == "success"
    finally:
        s.stop()
