"""The harness itself: nginx in front of three gateways spreads the requests
of one keep-alive connection over the gateways, passes requests unchanged
(signatures verify, "//" stays, headers up to strata's 64 KiB limit),
streams bodies without spooling them, and sends a request to another
gateway when the one it picked refuses the connection."""
import hashlib
import http.client
import os
import time
import uuid

import pytest
from azure.storage.blob import BlobServiceClient, LinearRetry

from race import Racer

MiB = 1 << 20


def read_bytes(pid):
    """Bytes process pid has read with read()/recv() so far (its socket
    reads included): the gateway that served a request with a large body is
    the one whose count grew by about the body."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar for %d" % pid)


@pytest.fixture
def container(cluster):
    name = "c" + uuid.uuid4().hex[:16]
    BlobServiceClient.from_connection_string(cluster.connection_string).create_container(name)
    return name


def test_one_connection_reaches_every_gateway_in_turn(cluster, container):
    conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    conn.connect()
    sock = conn.sock
    body = os.urandom(MiB)
    pids = [g.pid for g in cluster.gateways]
    served = []
    before_log = len(cluster.access_log())
    for i in range(6):
        before = [read_bytes(p) for p in pids]
        method, url, headers, data = Racer.prepare(
            "PUT", "/%s/blocks" % container, "comp=block&blockid=%s" % ("YmxrMDA%d" % i),
            body=body)
        conn.request(method, url, body=data, headers=headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 201
        grew = [read_bytes(p) - b for p, b in zip(pids, before)]
        # (most of it: strata may move some of a body without read())
        took = [k for k, g in enumerate(grew) if g >= len(body) // 2]
        assert len(took) == 1, grew  # exactly one gateway read the body
        served.append(took[0])
    assert conn.sock is sock  # one client connection throughout
    conn.close()
    # Round robin: consecutive requests on different gateways, each of the
    # three in every three.
    assert all(x != y for x, y in zip(served, served[1:])), served
    assert sorted(served[:3]) == [0, 1, 2] and sorted(served[3:]) == [0, 1, 2], served
    # nginx says the same: one client connection, the gateways' addresses.
    log = cluster.access_log_when(lambda log: len(log) >= before_log + 6)[before_log:before_log + 6]
    assert len({e["connection"] for e in log}) == 1, log
    ordinals = [e["request"] for e in log]
    assert ordinals == list(range(ordinals[0], ordinals[0] + 6)), log
    assert [e["gateways"] for e in log] == [[k] for k in served], log


def test_request_line_and_host_pass_unchanged(cluster, container):
    """Signatures cover the path and Host-relative resource: they verify
    through nginx, and a doubled slash reaches strata (which refuses it as
    Azure does) instead of being merged into another name."""
    name = "sp ace/ü+plus/%25pct"
    svc = BlobServiceClient.from_connection_string(cluster.connection_string)
    bc = svc.get_blob_client(container, name)
    bc.upload_blob(b"odd name")
    direct = BlobServiceClient.from_connection_string(cluster.gateways[0].connection_string)
    assert direct.get_blob_client(container, name).download_blob().readall() == b"odd name"
    racer = Racer([cluster, cluster.gateways[0]])
    try:
        req = Racer.prepare("PUT", "/%s/a//b" % container, headers={"x-ms-blob-type": "BlockBlob"},
                            body=b"x")
        via_lb, direct_r = racer.send(0, req), racer.send(1, req)
        assert via_lb.status == direct_r.status == 400
        assert via_lb.code == direct_r.code == "InvalidResourceName"
    finally:
        racer.close()


@pytest.mark.parametrize("size,ok", [(60 * 1024, True), (70 * 1024, False)])
def test_large_headers_reach_the_gateway(cluster, container, size, ok):
    """nginx passes headers up to strata's own 64 KiB limit; beyond it, the
    answer is strata's, the same as without the load balancer."""
    racer = Racer([cluster, cluster.gateways[0]])
    try:
        req = Racer.prepare("GET", "/%s" % container, "restype=container",
                            headers={"X-Pad": "p" * size})
        via_lb, direct = racer.send(0, req), racer.send(1, req)
        assert via_lb.status == direct.status
        assert (via_lb.status == 200) == ok, via_lb
    finally:
        racer.close()


def test_bodies_stream_through_without_spooling(cluster, container):
    data = os.urandom(48 * MiB)
    svc = BlobServiceClient.from_connection_string(cluster.connection_string,
                                                   max_single_put_size=64 * MiB)
    bc = svc.get_blob_client(container, "big")
    bc.upload_blob(data)
    got = bc.download_blob(max_concurrency=1).readall()
    assert hashlib.md5(got).digest() == hashlib.md5(data).digest()
    # nginx neither spooled the request body nor buffered the response
    for sub in ("body", "proxy"):
        d = os.path.join(cluster.work, sub)
        left = [f for _, _, fs in os.walk(d) for f in fs]
        assert left == [], (sub, left)


def test_refused_connection_goes_to_another_gateway(cluster, container):
    """A dead gateway refuses connections. A request nginx picked it for
    goes on to the next gateway when nothing of its body had been streamed
    (none, or all of it came with the header): bodyless requests never fail.
    One whose body nginx had begun to stream gets 504, and the dead gateway
    leaves the pool for a second; the client's retry succeeds."""
    cc = BlobServiceClient.from_connection_string(cluster.connection_string) \
        .get_container_client(container)
    for i in range(6):
        cc.upload_blob("r%d" % i, b"v%d" % i)
    cluster.kill(1)
    try:
        before = len(cluster.access_log())
        once = BlobServiceClient.from_connection_string(cluster.connection_string,
                                                        retry_total=0)
        for i in range(6):  # bodyless, no retries by the client
            bc = once.get_blob_client(container, "r%d" % i)
            assert bc.get_blob_properties().size == 2
        log = cluster.access_log_when(lambda log: len(log) >= before + 6)[before:]
        assert all(e["status"] == 200 for e in log), log
        # The request nginx picked gateway 1 for went on to the next one.
        moved = [e["gateways"] for e in log if e["gateways"][0] == 1]
        assert moved and all(len(g) == 2 and g[1] != 1 for g in moved), log
        time.sleep(1.1)  # nginx's fail_timeout: gateway 1 is picked again
        before = len(cluster.access_log())
        retrying = BlobServiceClient.from_connection_string(
            cluster.connection_string, retry_policy=LinearRetry(backoff=0.2, retry_total=3))
        for i in range(6):
            retrying.get_blob_client(container, "w%d" % i).upload_blob(os.urandom(1000))
        log = cluster.access_log_when(lambda log: len(log) >= before + 6)[before:]
        for e in log:
            if e["gateways"][0] == 1:
                assert (len(e["gateways"]) == 2 and e["status"] == 201) or \
                    (e["gateways"] == [1] and e["status"] == 504), log
            else:
                assert e["status"] == 201 and 1 not in e["gateways"], log
    finally:
        cluster.restart(1)
    svc = BlobServiceClient.from_connection_string(cluster.gateways[1].connection_string)
    names = sorted(b.name for b in svc.get_container_client(container).list_blobs())
    assert names == ["r%d" % i for i in range(6)] + ["w%d" % i for i in range(6)]


def test_metadata_names_with_underscores_pass(cluster, container):
    """Azure metadata names are C# identifiers: x-ms-meta-my_key is valid.
    nginx drops headers with underscores by default (underscores_in_headers
    off, ignore_invalid_headers on): the signature then fails."""
    svc = BlobServiceClient.from_connection_string(cluster.connection_string)
    bc = svc.get_blob_client(container, "meta")
    bc.upload_blob(b"m", metadata={"my_key": "one", "_lead": "two"})
    direct = BlobServiceClient.from_connection_string(cluster.gateways[2].connection_string)
    got = direct.get_blob_client(container, "meta").get_blob_properties().metadata
    assert got == {"my_key": "one", "_lead": "two"}
