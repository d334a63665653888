"""Starting gateways on a shared root: several coordinated gateways share one
root; a --single-gateway process (no file locks) refuses to share it, and
coordinated ones refuse to join it, each with a message saying why. A
gateway starting does not disturb another's uploads in flight."""
import http.client
import os
import subprocess
import tempfile
import time

from email.utils import formatdate

from azure.storage.blob import BlobServiceClient

import signing
from strata_server import StrataServer, strata_binary


def refused_start(root, *extra):
    """Runs `strata serve` on root; expects it to exit at once (non-zero) and
    returns what it printed."""
    p = subprocess.run([strata_binary(), "serve", "--host", "127.0.0.1", "--port", "0",
                        "--root", root] + list(extra), capture_output=True, text=True, timeout=30)
    assert p.returncode != 0, p.stdout + p.stderr
    return p.stdout + p.stderr


def test_Gateways_twoCoordinatedShareARoot():
    root = tempfile.mkdtemp(prefix="strata-gw-")
    a = StrataServer(root=root).start()
    b = StrataServer(root=root).start()
    try:
        sa = BlobServiceClient.from_connection_string(a.connection_string)
        sb = BlobServiceClient.from_connection_string(b.connection_string)
        sa.create_container("shared")
        sa.get_blob_client("shared", "x").upload_blob(b"from a")
        assert sb.get_blob_client("shared", "x").download_blob().readall() == b"from a"
        gateways = os.listdir(os.path.join(root, ".strata", "gateways"))
        assert len(gateways) == 2
        # Each stages in its own directory.
        assert sorted(os.listdir(os.path.join(root, ".strata", "tmp"))) == sorted(gateways)
    finally:
        a.stop()
        b.stop()


def test_Gateways_singleGatewayRefusesASharedRoot():
    root = tempfile.mkdtemp(prefix="strata-gw-")
    a = StrataServer(root=root).start()
    try:
        out = refused_start(root, "--single-gateway")
        assert "--single-gateway" in out and root in out, out
        assert a.alive()
    finally:
        a.stop()


def test_Gateways_coordinatedGatewayRefusesARootASingleOneServes():
    root = tempfile.mkdtemp(prefix="strata-gw-")
    a = StrataServer(root=root, extra_args=["--single-gateway"]).start()
    try:
        out = refused_start(root)
        assert "--single-gateway" in out, out
        out = refused_start(root, "--single-gateway")
        assert "another gateway serves" in out, out
        assert a.alive()
    finally:
        a.stop()
    # Once it is gone, coordinated gateways may start.
    b = StrataServer(root=root).start()
    b.stop()


def test_Gateways_aStartingGatewayLeavesAnUploadInFlightAlone():
    root = tempfile.mkdtemp(prefix="strata-gw-")
    a = StrataServer(root=root).start()
    try:
        BlobServiceClient.from_connection_string(a.connection_string).create_container("upl")
        # A Put Blob whose body is still arriving: staged in a's directory.
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        body = b"x" * (1 << 20)
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Length": str(len(body)),
                   "x-ms-version": "2021-12-02", "x-ms-date": formatdate(usegmt=True)}
        headers["Authorization"] = signing.sign("PUT", "/devstoreaccount1/upl/inflight", "",
                                                headers)
        conn.putrequest("PUT", "/devstoreaccount1/upl/inflight", skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(body[:4096])
        tmp = os.path.join(root, ".strata", "tmp")
        deadline = time.time() + 10
        staged_before = []
        while not staged_before and time.time() < deadline:
            staged_before = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs]
        assert staged_before
        b = StrataServer(root=root).start()
        try:
            staged_after = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs]
            assert set(staged_before) <= set(staged_after)
            conn.send(body[4096:])
            assert conn.getresponse().status == 201
            got = BlobServiceClient.from_connection_string(b.connection_string) \
                .get_blob_client("upl", "inflight").download_blob().readall()
            assert got == body
        finally:
            b.stop()
    finally:
        a.stop()
